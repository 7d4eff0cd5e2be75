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

-- What a step runs (copied from the template at submission) and what it
-- cited (the document excerpts its prompt carried, as chat's citations).
ALTER TABLE workflow_steps ADD COLUMN type text NOT NULL DEFAULT 'llm';
ALTER TABLE workflow_steps ADD COLUMN prompt text NOT NULL DEFAULT '';
ALTER TABLE workflow_steps ADD COLUMN citations jsonb NOT NULL DEFAULT '[]';
CREATE INDEX workflow_executions_user_status ON workflow_executions
    (user_id, status, created_at DESC, id DESC);

-- The templates of API.md §7.  input_schema is the JSON Schema subset the
-- server checks (type, required, properties, enum, minLength, maxLength,
-- items, minItems, maxItems, minimum, maximum); steps run in order, each
-- one provider call; estimated_duration is in seconds.
CREATE TABLE workflow_templates (
    name               text PRIMARY KEY,
    title              text NOT NULL,
    description        text NOT NULL,
    category           text NOT NULL,
    input_schema       jsonb NOT NULL,
    steps              jsonb NOT NULL
                       CHECK (jsonb_typeof(steps) = 'array'
                              AND jsonb_array_length(steps) BETWEEN 1 AND 16),
    estimated_duration integer NOT NULL,
    position           integer NOT NULL DEFAULT 0
);

CREATE FUNCTION workflow_template_json(t workflow_templates) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('name', t.name, 'title', t.title,
        'description', t.description, 'category', t.category,
        'input_schema', t.input_schema, 'steps', t.steps,
        'estimated_duration', t.estimated_duration)
$$;

-- One step of an execution (API.md §7 steps[]).  Indices are 0-based.
CREATE FUNCTION workflow_step_json(s workflow_steps) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('step_index', s.step_index, 'name', s.name,
        'type', s.type, 'status', s.status, 'output', s.output,
        'citations', s.citations,
        'prompt_tokens', s.prompt_tokens,
        'completion_tokens', s.completion_tokens,
        'total_tokens', s.total_tokens, 'attempts', s.attempts,
        'error_message', s.error_message,
        'started_at', rfc3339(s.started_at),
        'completed_at', rfc3339(s.completed_at),
        'duration_seconds', CASE WHEN s.started_at IS NULL THEN NULL
            ELSE round(extract(epoch FROM coalesce(s.completed_at, now())
                - s.started_at)::numeric, 3) END)
$$;

-- The execution object of API.md §7, true at the moment it is read:
-- current_step is the 0-based index of the step running (or next to
-- run), total_steps once every step completed; progress_percentage is
-- the share of completed steps; duration_seconds runs until the end.
CREATE FUNCTION workflow_execution_json(e workflow_executions,
    with_steps boolean) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object('id', e.id, 'template', e.template,
        'status', e.status, 'input', e.input, 'output', e.output,
        'current_step', CASE WHEN e.status = 'completed'
            THEN e.total_steps ELSE e.current_step END,
        'total_steps', e.total_steps,
        'progress_percentage', round(100.0 * (SELECT count(*) FROM
            workflow_steps s WHERE s.execution_id = e.id
            AND s.status = 'completed') / e.total_steps, 1),
        'error_message', e.error_message, 'error_step', e.error_step,
        'created_at', rfc3339(e.created_at),
        'started_at', rfc3339(e.started_at),
        'completed_at', rfc3339(e.completed_at),
        'duration_seconds', CASE WHEN e.started_at IS NULL THEN NULL
            ELSE round(extract(epoch FROM coalesce(e.completed_at, now())
                - e.started_at)::numeric, 3) END,
        'steps', CASE WHEN with_steps THEN (SELECT coalesce(json_agg(
            workflow_step_json(s) ORDER BY s.step_index), '[]'::json)
            FROM workflow_steps s WHERE s.execution_id = e.id) END)
$$;

-- Token quota reservations (issue: quota checked but not reserved).  A
-- provider call reserves an estimate of its tokens before it starts and
-- the row is deleted by the statement that records the real usage in
-- llm_calls, so at every moment today's llm_calls plus the live
-- reservations bound what the user may still spend.  A reservation whose
-- caller died expires by itself.
CREATE TABLE llm_reservations (
    id          bigserial PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    tokens      bigint NOT NULL CHECK (tokens >= 0),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX llm_reservations_user ON llm_reservations (user_id, expires_at);

-- Tokens spent today plus those reserved by calls under way.
CREATE FUNCTION llm_tokens_committed(uid uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT llm_tokens_today(uid) + coalesce((SELECT sum(tokens)
        FROM llm_reservations WHERE user_id = uid
        AND expires_at > now()), 0)::bigint
$$;

-- Reserve estimate tokens for uid (quota: the user's own, else dflt;
-- 0 is unlimited).  Returns the reservation id, 0 when the quota is
-- unlimited (nothing to reserve), or -1 when spent plus reserved plus
-- the estimate would pass the quota.  Concurrent callers for one user
-- queue on an advisory lock; each statement of a VOLATILE function takes
-- a fresh snapshot, so the second sees the first one's reservation.
CREATE FUNCTION llm_reserve(uid uuid, dflt bigint, estimate bigint,
    ttl_s integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    q  bigint;
    r  bigint;
BEGIN
    SELECT coalesce(token_quota_daily, dflt) INTO q FROM users
    WHERE id = uid;
    IF NOT FOUND OR q IS NULL OR q = 0 THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('llm_quota:' ||
        uid::text, 0));
    IF llm_tokens_committed(uid) + greatest(estimate, 0) > q THEN
        RETURN -1;
    END IF;
    INSERT INTO llm_reservations (user_id, tokens, expires_at)
    VALUES (uid, greatest(estimate, 0),
            now() + make_interval(secs => greatest(ttl_s, 1)))
    RETURNING id INTO r;
    RETURN r;
END $$;

-- The seeded templates.  Every step is one provider call under chat's
-- legal system prompt: it sees the input, the outputs of the steps
-- before it, and excerpts of the documents named in document_ids, which
-- it cites as [n].
INSERT INTO workflow_templates (name, title, description, category,
    input_schema, steps, estimated_duration, position) VALUES
('contract_review', 'Contract review',
 'Reviews a contract for the party you represent: its key terms, the '
 'risks they carry, and the changes to negotiate.',
 'contracts',
 '{"type": "object", "required": ["contract_text"],
   "properties": {
     "contract_text": {"type": "string", "minLength": 1, "maxLength": 100000,
       "description": "The contract, or a short description of it when document_ids carry the text"},
     "party": {"type": "string", "minLength": 1, "maxLength": 200,
       "description": "The party you represent"},
     "jurisdiction": {"type": "string", "maxLength": 100},
     "risk_tolerance": {"type": "string", "enum": ["low", "medium", "high"]},
     "document_ids": {"type": "array", "maxItems": 20,
       "items": {"type": "string", "minLength": 36, "maxLength": 36}}}}',
 '[{"name": "extract_key_terms", "type": "extraction",
    "prompt": "Identify the parties, the subject matter, the term and termination rights, payment obligations, liability caps and indemnities, governing law and dispute resolution, and any unusual clause. Quote each term''s clause reference as written."},
   {"name": "assess_risks", "type": "analysis",
    "prompt": "Using the key terms identified earlier, assess the legal and commercial risks for the party represented. For each risk give the clause reference, a severity (low, medium or high) and why, taking the stated risk tolerance and jurisdiction into account."},
   {"name": "recommend_changes", "type": "drafting",
    "prompt": "Propose concrete changes to negotiate for the risks assessed earlier, highest severity first: for each, the clause, the proposed wording, and a one-line rationale. End with a short overall recommendation (sign, sign with changes, or do not sign)."}]',
 90, 1),
('case_brief', 'Case brief',
 'Briefs a court decision: facts, procedural history, issues, holding, '
 'reasoning and significance.',
 'litigation',
 '{"type": "object", "required": ["case_name", "case_text"],
   "properties": {
     "case_name": {"type": "string", "minLength": 1, "maxLength": 300},
     "court": {"type": "string", "maxLength": 200},
     "jurisdiction": {"type": "string", "maxLength": 100},
     "case_text": {"type": "string", "minLength": 1, "maxLength": 100000,
       "description": "The decision, or a short description of it when document_ids carry the text"},
     "document_ids": {"type": "array", "maxItems": 20,
       "items": {"type": "string", "minLength": 36, "maxLength": 36}}}}',
 '[{"name": "facts_and_history", "type": "extraction",
    "prompt": "State the material facts of the case and its procedural history, neutrally and in order, citing the passages they come from."},
   {"name": "issues_and_holding", "type": "analysis",
    "prompt": "Building on the facts stated earlier, frame the legal issues the court decided as questions, and give the holding on each."},
   {"name": "reasoning", "type": "analysis",
    "prompt": "Explain the court''s reasoning for each holding stated earlier: the rules applied, how the facts met them, and any concurrence or dissent."},
   {"name": "brief", "type": "drafting",
    "prompt": "Assemble a case brief from the earlier steps with the headings Facts, Procedural History, Issues, Holding, Reasoning and Significance; in Significance, say what the decision means for later cases."}]',
 120, 2),
('legal_research_memo', 'Legal research memo',
 'Answers a legal question in a memorandum: question presented, short '
 'answer, applicable law, analysis and conclusion.',
 'research',
 '{"type": "object", "required": ["question"],
   "properties": {
     "question": {"type": "string", "minLength": 10, "maxLength": 4000},
     "facts": {"type": "string", "maxLength": 50000},
     "jurisdiction": {"type": "string", "maxLength": 100},
     "audience": {"type": "string", "enum": ["client", "partner", "court"]},
     "document_ids": {"type": "array", "maxItems": 20,
       "items": {"type": "string", "minLength": 36, "maxLength": 36}}}}',
 '[{"name": "frame_issues", "type": "analysis",
    "prompt": "Restate the question presented precisely, list the sub-issues it raises, and the facts that matter to each."},
   {"name": "applicable_law", "type": "research",
    "prompt": "For the issues framed earlier, set out the applicable legal rules in the stated jurisdiction: statutes, regulations and leading principles. Cite only what the documents provided or well-known law supports, and say where authority must be verified."},
   {"name": "analysis", "type": "analysis",
    "prompt": "Apply the law identified earlier to the facts, issue by issue, with the strongest arguments on each side and how a court would likely decide."},
   {"name": "memo", "type": "drafting",
    "prompt": "Write the memorandum for the stated audience from the earlier steps, with the headings Question Presented, Short Answer, Facts, Applicable Law, Analysis and Conclusion."}]',
 150, 3),
('compliance_checklist', 'Compliance checklist',
 'Turns a regulation into a checklist of obligations for a business, '
 'with the gaps to close.',
 'compliance',
 '{"type": "object", "required": ["regulation", "business_description"],
   "properties": {
     "regulation": {"type": "string", "minLength": 2, "maxLength": 500,
       "description": "The regulation or standard, e.g. GDPR"},
     "business_description": {"type": "string", "minLength": 10, "maxLength": 20000},
     "jurisdiction": {"type": "string", "maxLength": 100},
     "industry": {"type": "string", "maxLength": 200},
     "document_ids": {"type": "array", "maxItems": 20,
       "items": {"type": "string", "minLength": 36, "maxLength": 36}}}}',
 '[{"name": "applicable_obligations", "type": "analysis",
    "prompt": "Decide which obligations of the regulation apply to the business described, and why; note exemptions and thresholds that may apply."},
   {"name": "checklist", "type": "drafting",
    "prompt": "Turn the obligations identified earlier into a checklist: one line per obligation with the legal reference, the action required, the evidence that shows compliance, and an owner role."},
   {"name": "gap_analysis", "type": "review",
    "prompt": "Compare the checklist written earlier with what the business description and documents show, mark each item met, partly met or not met, and list the gaps to close first."}]',
 90, 4);

-- A cancel drops the queued job of its execution's next step.
CREATE INDEX jobs_workflow_execution ON jobs ((payload->>'execution_id'))
    WHERE kind = 'workflow_step';
