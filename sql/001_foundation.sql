-- Foundation: extensions, the timestamp format of docs/API.md §1, and the
-- durable job queue every background task uses (DESIGN.md principle 3).

CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- RFC 3339 UTC with milliseconds: 2026-11-23T18:14:06.123Z
CREATE OR REPLACE FUNCTION rfc3339(ts timestamptz) RETURNS text
-- STABLE, as to_char is: so the planner inlines it into each query.
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;

-- Jobs are claimed with FOR UPDATE SKIP LOCKED; a running job whose lease
-- ran out (its process died) is claimed again.
CREATE TABLE jobs (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    kind          text NOT NULL,
    payload       jsonb NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'queued'
                  CHECK (status IN ('queued', 'running', 'done', 'failed',
                                    'cancelled')),
    attempts      int NOT NULL DEFAULT 0,
    max_attempts  int NOT NULL DEFAULT 3,
    run_after     timestamptz NOT NULL DEFAULT now(),
    locked_by     text,
    lease_until   timestamptz,
    last_error    text,
    result        jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz
);

CREATE INDEX jobs_ready ON jobs (run_after)
    WHERE status IN ('queued', 'running');
