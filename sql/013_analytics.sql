-- Analytics (API.md §8): an exact daily rollup of the llm_calls ledger,
-- and the indexes the analytics reads need.
--
-- llm_usage_daily holds, per user, UTC day, kind, provider and model,
-- the sums of the ledger's rows.  Statement triggers keep it equal to
-- the ledger inside the writing transaction (insert, update, delete,
-- and the cascade of a purged user), so a heavy user's 90-day usage
-- reads at most 90 × models rows instead of every call, and stays
-- exact.  Tokens are summed as the ledger holds them: a failed call is
-- written with 0 tokens.

CREATE TABLE llm_usage_daily (
    user_id           uuid REFERENCES users(id) ON DELETE CASCADE,
    day               date NOT NULL,
    kind              text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    calls             bigint NOT NULL DEFAULT 0,
    ok_calls          bigint NOT NULL DEFAULT 0,
    failed_calls      bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    total_tokens      bigint NOT NULL DEFAULT 0,
    ok_latency_ms     bigint NOT NULL DEFAULT 0
);
-- A call without a user (user_id NULL) has its own rows.
CREATE UNIQUE INDEX llm_usage_daily_key ON llm_usage_daily
    (user_id, day, kind, provider, model) NULLS NOT DISTINCT;
CREATE INDEX llm_usage_daily_day ON llm_usage_daily (day);

CREATE FUNCTION llm_usage_add() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO llm_usage_daily AS u (user_id, day, kind, provider, model,
        calls, ok_calls, failed_calls, prompt_tokens, completion_tokens,
        total_tokens, ok_latency_ms)
    SELECT n.user_id, (n.created_at AT TIME ZONE 'UTC')::date, n.kind,
        n.provider, n.model, count(*),
        count(*) FILTER (WHERE n.status = 'ok'),
        count(*) FILTER (WHERE n.status <> 'ok'),
        sum(n.prompt_tokens), sum(n.completion_tokens),
        sum(n.total_tokens),
        coalesce(sum(n.latency_ms) FILTER (WHERE n.status = 'ok'), 0)
    FROM llm_new n
    -- A row whose user is gone (a purge racing the insert) adds nothing.
    WHERE n.user_id IS NULL OR EXISTS (SELECT 1 FROM users WHERE
        id = n.user_id)
    GROUP BY 1, 2, 3, 4, 5
    ON CONFLICT (user_id, day, kind, provider, model) DO UPDATE SET
        calls = u.calls + EXCLUDED.calls,
        ok_calls = u.ok_calls + EXCLUDED.ok_calls,
        failed_calls = u.failed_calls + EXCLUDED.failed_calls,
        prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,
        completion_tokens = u.completion_tokens +
            EXCLUDED.completion_tokens,
        total_tokens = u.total_tokens + EXCLUDED.total_tokens,
        ok_latency_ms = u.ok_latency_ms + EXCLUDED.ok_latency_ms;
    RETURN NULL;
END $$;

-- Only an update of rows that exist: a purge deletes the rollup rows by
-- its own cascade, in either order.
CREATE FUNCTION llm_usage_sub() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE llm_usage_daily u SET
        calls = u.calls - o.calls,
        ok_calls = u.ok_calls - o.ok_calls,
        failed_calls = u.failed_calls - o.failed_calls,
        prompt_tokens = u.prompt_tokens - o.prompt_tokens,
        completion_tokens = u.completion_tokens - o.completion_tokens,
        total_tokens = u.total_tokens - o.total_tokens,
        ok_latency_ms = u.ok_latency_ms - o.ok_latency_ms
    FROM (SELECT user_id, (created_at AT TIME ZONE 'UTC')::date AS day,
            kind, provider, model, count(*) AS calls,
            count(*) FILTER (WHERE status = 'ok') AS ok_calls,
            count(*) FILTER (WHERE status <> 'ok') AS failed_calls,
            sum(prompt_tokens) AS prompt_tokens,
            sum(completion_tokens) AS completion_tokens,
            sum(total_tokens) AS total_tokens,
            coalesce(sum(latency_ms) FILTER (WHERE status = 'ok'), 0)
                AS ok_latency_ms
          FROM llm_old GROUP BY 1, 2, 3, 4, 5) o
    WHERE (u.user_id = o.user_id OR
           (u.user_id IS NULL AND o.user_id IS NULL))
      AND u.day = o.day AND u.kind = o.kind AND u.provider = o.provider
      AND u.model = o.model;
    RETURN NULL;
END $$;

CREATE TRIGGER llm_usage_ins AFTER INSERT ON llm_calls
    REFERENCING NEW TABLE AS llm_new
    FOR EACH STATEMENT EXECUTE FUNCTION llm_usage_add();
CREATE TRIGGER llm_usage_del AFTER DELETE ON llm_calls
    REFERENCING OLD TABLE AS llm_old
    FOR EACH STATEMENT EXECUTE FUNCTION llm_usage_sub();
-- An update is the old rows out and the new rows in.
CREATE TRIGGER llm_usage_upd_old AFTER UPDATE ON llm_calls
    REFERENCING OLD TABLE AS llm_old
    FOR EACH STATEMENT EXECUTE FUNCTION llm_usage_sub();
CREATE TRIGGER llm_usage_upd_new AFTER UPDATE ON llm_calls
    REFERENCING NEW TABLE AS llm_new
    FOR EACH STATEMENT EXECUTE FUNCTION llm_usage_add();

-- What the ledger holds already.
INSERT INTO llm_usage_daily (user_id, day, kind, provider, model, calls,
    ok_calls, failed_calls, prompt_tokens, completion_tokens, total_tokens,
    ok_latency_ms)
SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, kind, provider,
    model, count(*), count(*) FILTER (WHERE status = 'ok'),
    count(*) FILTER (WHERE status <> 'ok'), sum(prompt_tokens),
    sum(completion_tokens), sum(total_tokens),
    coalesce(sum(latency_ms) FILTER (WHERE status = 'ok'), 0)
FROM llm_calls GROUP BY 1, 2, 3, 4, 5;

-- Activity: a user's recent chat calls, analyses and workflow runs.
CREATE INDEX llm_calls_user_chat ON llm_calls (user_id, created_at DESC,
    id DESC) WHERE kind = 'chat';
CREATE INDEX document_analyses_user ON document_analyses
    (user_id, created_at DESC);
-- Usage over all users (admin): uploads and runs by time.
CREATE INDEX workflow_executions_time ON workflow_executions (created_at);
CREATE INDEX document_analyses_time ON document_analyses (created_at);

-- When a document's processing ended, for its real duration in the
-- activity list: set by a trigger on the status change, so the runner
-- needs no change.
ALTER TABLE documents ADD COLUMN processed_at timestamptz;
UPDATE documents SET processed_at = updated_at
    WHERE processing_status IN ('completed', 'failed');
CREATE FUNCTION documents_processed_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.processing_status IN ('completed', 'failed') AND
       NEW.processing_status IS DISTINCT FROM OLD.processing_status THEN
        NEW.processed_at := now();
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER documents_processed_at BEFORE UPDATE OF processing_status
    ON documents FOR EACH ROW EXECUTE FUNCTION documents_processed_at();

-- Today's tokens (the daily quota) from the rollup: the same sum as
-- 004's scan of the ledger, one row per model instead of every call.
CREATE OR REPLACE FUNCTION llm_tokens_today(uid uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(total_tokens), 0)::bigint FROM llm_usage_daily
    WHERE user_id = uid AND day = (now() AT TIME ZONE 'UTC')::date
$$;

-- Job outcomes per kind for /metrics: counted when a run's outcome is
-- written, so a scrape reads kinds × outcomes rows, not the run log.
CREATE TABLE job_outcome_totals (
    kind     text NOT NULL,
    outcome  text NOT NULL,
    n        bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, outcome)
);
CREATE FUNCTION job_outcome_count() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_outcome_totals AS t (kind, outcome, n)
    SELECT j.kind, NEW.outcome, 1 FROM jobs j WHERE j.id = NEW.job_id
    ON CONFLICT (kind, outcome) DO UPDATE SET n = t.n + 1;
    RETURN NULL;
END $$;
CREATE TRIGGER job_outcome_count AFTER UPDATE OF outcome ON job_runs
    FOR EACH ROW WHEN (OLD.outcome IS NULL AND NEW.outcome IS NOT NULL)
    EXECUTE FUNCTION job_outcome_count();
INSERT INTO job_outcome_totals (kind, outcome, n)
SELECT j.kind, r.outcome, count(*) FROM job_runs r JOIN jobs j
    ON j.id = r.job_id WHERE r.outcome IS NOT NULL GROUP BY 1, 2;
