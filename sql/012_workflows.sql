-- Workflows (docs/API.md §7): executions of a template, one row per
-- step, and the link from llm_calls to the step that made the call.
-- Templates live in workflow_templates (seeded by this migration's
-- successors or the workflow module); executions copy the steps they
-- run, so a template edited later never changes a run under way.

CREATE TABLE workflow_executions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    template        text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed',
                                      'failed', 'cancelled')),
    input           jsonb NOT NULL DEFAULT '{}',
    output          jsonb,
    current_step    integer NOT NULL DEFAULT 0,
    total_steps     integer NOT NULL,
    error_message   text,
    error_step      integer,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    completed_at    timestamptz,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- The caller's list, newest first, optionally by status.
CREATE INDEX workflow_executions_user ON workflow_executions
    (user_id, created_at DESC, id DESC);

CREATE TABLE workflow_steps (
    execution_id    uuid NOT NULL
                    REFERENCES workflow_executions(id) ON DELETE CASCADE,
    step_index      integer NOT NULL,
    name            text NOT NULL,
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'running', 'completed',
                                      'failed', 'cancelled')),
    output          text,
    prompt_tokens   integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    total_tokens    integer NOT NULL DEFAULT 0,
    attempts        integer NOT NULL DEFAULT 0,
    error_message   text,
    started_at      timestamptz,
    completed_at    timestamptz,
    PRIMARY KEY (execution_id, step_index)
);

-- Every provider call a step makes is in the ledger, linked to its step.
ALTER TABLE llm_calls ADD COLUMN execution_id uuid;
ALTER TABLE llm_calls ADD COLUMN step_index integer;
CREATE INDEX llm_calls_execution ON llm_calls (execution_id)
    WHERE execution_id IS NOT NULL;
