-- Chat (docs/API.md §5): conversations, their messages, the documents attached
-- to them, and llm_calls, the ledger of every provider call (chat now;
-- analysis and workflow steps later) that quotas and analytics read.

CREATE TABLE conversations (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title           text NOT NULL,
    metadata        jsonb NOT NULL DEFAULT '{}',
    is_archived     boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    last_message_at timestamptz,
    deleted_at      timestamptz
);
-- The list: a user's live conversations, newest activity first.
CREATE INDEX conversations_user_activity ON conversations
    (user_id, (coalesce(last_message_at, created_at)) DESC, id DESC)
    WHERE deleted_at IS NULL;

-- seq orders a conversation's messages exactly (created_at is the
-- transaction time).  status 'failed' marks a user message whose answer
-- failed (error_code says why); failed answers are not stored as
-- assistant messages, and failed messages are left out of later prompts.
CREATE TABLE messages (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    seq               bigint GENERATED ALWAYS AS IDENTITY,
    conversation_id   uuid NOT NULL
                      REFERENCES conversations(id) ON DELETE CASCADE,
    user_id           uuid NOT NULL,
    role              text NOT NULL CHECK (role IN ('user', 'assistant')),
    content           text NOT NULL,
    model_used        text,
    provider          text,
    prompt_tokens     integer,
    completion_tokens integer,
    total_tokens      integer,
    usage_estimated   boolean NOT NULL DEFAULT false,
    latency_ms        integer,
    trace_id          text,
    citations         jsonb NOT NULL DEFAULT '[]',
    status            text NOT NULL DEFAULT 'ok'
                      CHECK (status IN ('ok', 'failed')),
    error_code        text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX messages_conversation ON messages (conversation_id, seq);

-- No foreign key to documents yet: that table comes in 005, which adds
-- the constraint (ALTER TABLE ... ADD FOREIGN KEY ... ON DELETE CASCADE).
CREATE TABLE conversation_documents (
    conversation_id uuid NOT NULL
                    REFERENCES conversations(id) ON DELETE CASCADE,
    document_id     uuid NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (conversation_id, document_id)
);

-- One row per provider call, successful or not.  kind: chat, analysis,
-- workflow.  Token counts are the provider's (usage_estimated when it
-- gave none); a failed call counts 0 tokens.
CREATE TABLE llm_calls (
    id                bigserial PRIMARY KEY,
    user_id           uuid REFERENCES users(id) ON DELETE CASCADE,
    kind              text NOT NULL,
    provider          text NOT NULL,
    model             text NOT NULL,
    prompt_tokens     integer NOT NULL DEFAULT 0,
    completion_tokens integer NOT NULL DEFAULT 0,
    total_tokens      integer NOT NULL DEFAULT 0,
    usage_estimated   boolean NOT NULL DEFAULT false,
    latency_ms        integer NOT NULL DEFAULT 0,
    attempts          integer NOT NULL DEFAULT 1,
    status            text NOT NULL CHECK (status IN ('ok', 'failed')),
    error_code        text,
    conversation_id   uuid,
    message_id        uuid,
    trace_id          text,
    created_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX llm_calls_user_time ON llm_calls (user_id, created_at);
CREATE INDEX llm_calls_time ON llm_calls (created_at);

-- THE message object of docs/API.md §5.
CREATE OR REPLACE FUNCTION chat_message_json(m messages) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', m.id,
        'conversation_id', m.conversation_id,
        'role', m.role,
        'content', m.content,
        'model_used', m.model_used,
        'provider', m.provider,
        'prompt_tokens', m.prompt_tokens,
        'completion_tokens', m.completion_tokens,
        'total_tokens', m.total_tokens,
        'usage_estimated', m.usage_estimated,
        'latency_ms', m.latency_ms,
        'trace_id', m.trace_id,
        'citations', m.citations,
        'status', m.status,
        'error_code', m.error_code,
        'created_at', rfc3339(m.created_at))
$$;

CREATE OR REPLACE FUNCTION chat_conversation_json(c conversations)
RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', c.id,
        'user_id', c.user_id,
        'title', c.title,
        'metadata', c.metadata,
        'is_archived', c.is_archived,
        'message_count', (SELECT count(*) FROM messages m
                          WHERE m.conversation_id = c.id),
        'document_ids', coalesce((SELECT json_agg(d.document_id
                          ORDER BY d.created_at, d.document_id)
                          FROM conversation_documents d
                          WHERE d.conversation_id = c.id), '[]'::json),
        'created_at', rfc3339(c.created_at),
        'updated_at', rfc3339(c.updated_at),
        'last_message_at', rfc3339(c.last_message_at))
$$;

-- Tokens a user spent today (UTC), for the daily quota.
CREATE OR REPLACE FUNCTION llm_tokens_today(uid uuid) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(total_tokens), 0)::bigint FROM llm_calls
    WHERE user_id = uid
      AND created_at >= (date_trunc('day', now() AT TIME ZONE 'UTC')
                         AT TIME ZONE 'UTC')
$$;

-- HOOKS FOR THE DOCUMENTS MIGRATION (005).  Until the documents table
-- exists these answer "no such document" and "no excerpts"; 005 replaces
-- both with CREATE OR REPLACE FUNCTION, keeping the signatures.
--
-- Whether doc is a live document owned by uid (conversation attach).
CREATE OR REPLACE FUNCTION chat_document_owned(doc uuid, uid uuid)
RETURNS boolean LANGUAGE plpgsql STABLE AS $$
DECLARE
    found boolean;
BEGIN
    IF to_regclass('documents') IS NULL THEN
        RETURN false;
    END IF;
    EXECUTE 'SELECT EXISTS (SELECT 1 FROM documents '
            'WHERE id = $1 AND user_id = $2)'
        INTO found USING doc, uid;
    RETURN found;
END $$;

-- The best chunks of the user's documents for a question: the documents
-- attached to the conversation plus those named in the request (docs),
-- best first, at most lim rows.  Chat puts them into the prompt and
-- answers them as citations.
CREATE OR REPLACE FUNCTION chat_context_chunks(uid uuid, conv uuid,
    docs uuid[], question text, lim integer)
RETURNS TABLE (document_id uuid, filename text, chunk_index integer,
    start_char integer, end_char integer, page_start integer,
    page_end integer, content text)
LANGUAGE sql STABLE AS $$
    SELECT NULL::uuid, NULL::text, NULL::integer, NULL::integer,
        NULL::integer, NULL::integer, NULL::integer, NULL::text
    WHERE false
$$;
