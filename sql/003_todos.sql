-- Todos (docs/API.md §4).  A todo belongs to one user and goes with them: an
-- admin purge of the user removes their todos by FK cascade.
--
-- The handlers (src/todos.c) validate everything before it gets here; the
-- checks below are the same rules, kept so that no other writer can
-- store what the API would refuse.  They must never be stricter than the
-- C validation, or a valid request becomes a 500.

CREATE TABLE todos (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 1-200 code points, not only ASCII whitespace (jsonx's "blank").
    title         text NOT NULL
                  CHECK (char_length(title) BETWEEN 1 AND 200
                         AND btrim(title, E' \t\n\r\f\x0b') <> ''),
    description   text CHECK (char_length(description) <= 1000),
    priority      text NOT NULL DEFAULT 'medium'
                  CHECK (priority IN ('high', 'medium', 'low')),
    -- Sorting by priority means high > medium > low, not the alphabet:
    -- a stored rank lets an index deliver that order.
    priority_rank smallint NOT NULL GENERATED ALWAYS AS (
                      CASE priority WHEN 'high' THEN 3
                                    WHEN 'medium' THEN 2
                                    ELSE 1 END) STORED,
    completed     boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    CHECK (completed = (completed_at IS NOT NULL))
);

-- The single GET / PUT / PATCH / DELETE is "WHERE id = $1 AND user_id =
-- $2": the primary key finds the row, user_id is a filter on that one row.
--
-- The list is one statement: a count(*) and a LIMIT/OFFSET page over the
-- same predicate.  Each index below leads with user_id and carries the
-- sort key and the id tie-break, so the page is read in order (forwards
-- for asc, backwards for desc) and stops after offset + limit rows, and
-- the count is an index-only scan.  Sorting by title is a top-N sort of
-- one user's rows (no index: it would be paid on every write).
CREATE INDEX todos_user_created ON todos (user_id, created_at, id);
CREATE INDEX todos_user_status_created
    ON todos (user_id, completed, created_at, id);
CREATE INDEX todos_user_priority
    ON todos (user_id, priority_rank, created_at, id);
