-- Documents (docs/API.md §6): uploads with their bytes, extracted text,
-- chunks indexed for full-text search, analyses; and what the background
-- runner (build/elenchus-jobs, src/jobs/) needs from the job queue.
--
-- FOR THE CHAT CODE (src/chat.c): 004's hooks are replaced at the end of
-- this file, signatures kept: chat_document_owned(doc, uid) and
-- chat_context_chunks(uid, conv, docs, question, lim), the latter over
-- the general retrieval function
--
--     SELECT document_id, filename, chunk_index, start_char, end_char,
--            page_start, page_end, content, rank
--     FROM doc_search_chunks($1::uuid, $2::uuid[], $3, $4)
--
-- $1 the caller's user id, $2 the document ids (attached to the
-- conversation and/or passed as document_ids; ids of other users'
-- documents are silently ignored), $3 the question text, $4 how many
-- chunks (k, capped at 50).  Best first.  Only processed documents have
-- chunks.
-- Matching: every word of the question (stemmed English OR exact token)
-- first; when that finds nothing, any word (ranked by how many and how
-- well); when the question has no searchable word at all, the first
-- chunks of the documents in order, so the model still sees context.
--
-- Full-text configuration.  Each chunk's tsvector is the union of the
-- 'english' (stemmed, stop words dropped: "terminated" finds
-- "termination") and the 'simple' (every token as written, lower-cased)
-- parsings.  Both keep references such as "7.3.2", "§ 4" or "GmbH" as
-- tokens, so a query for "clause 7.3.2" matches that clause exactly, not
-- 7.3.1; the simple half keeps words English stemming would conflate or
-- drop, and non-English words (German, French contracts) unstemmed.

-- The job queue: a queue name lets a runner serve only its own queue
-- (JOB_QUEUE; tests isolate their runners with it), and each execution
-- is logged so "ran exactly once" can be checked and audited.
ALTER TABLE jobs ADD COLUMN queue text NOT NULL DEFAULT 'default';
CREATE INDEX jobs_claim ON jobs (queue, run_after)
    WHERE status IN ('queued', 'running');

CREATE TABLE job_runs (
    id            bigserial PRIMARY KEY,
    job_id        uuid NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt       int NOT NULL,
    runner        text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    outcome       text CHECK (outcome IN ('done', 'retry', 'failed',
                                          'released', 'lost')),
    error         text
);
CREATE INDEX job_runs_job ON job_runs (job_id, attempt);

-- Runners LISTEN on jobs_ready; the payload is the queue name.
CREATE FUNCTION jobs_notify_ready() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('jobs_ready', NEW.queue);
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_ready_notify AFTER INSERT ON jobs
    FOR EACH ROW EXECUTE FUNCTION jobs_notify_ready();

CREATE TABLE documents (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    filename           text NOT NULL,
    original_filename  text NOT NULL,
    file_type          text NOT NULL
                       CHECK (file_type IN ('pdf', 'docx', 'txt', 'md')),
    mime_type          text NOT NULL,
    file_size          bigint NOT NULL,
    content_hash       text NOT NULL,
    processing_status  text NOT NULL DEFAULT 'pending'
                       CHECK (processing_status IN ('pending', 'processing',
                                                    'completed', 'failed')),
    processing_error   text,
    has_text           boolean,
    page_count         int,
    document_category  text,
    jurisdiction       text,
    practice_area      text,
    keywords           text[] NOT NULL DEFAULT '{}',
    chunk_count        int NOT NULL DEFAULT 0,
    content            text,
    warnings           text[] NOT NULL DEFAULT '{}',
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX documents_user ON documents (user_id, created_at DESC);
CREATE INDEX documents_hash ON documents (user_id, content_hash);

-- The original bytes, apart so lists never touch them; PDF and DOCX are
-- compressed already, so no second compression attempt (EXTERNAL).
CREATE TABLE document_blobs (
    document_id  uuid PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    data         bytea NOT NULL
);
ALTER TABLE document_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE document_chunks (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id  uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    user_id      uuid NOT NULL,
    chunk_index  int NOT NULL,
    content      text NOT NULL,
    start_char   int NOT NULL,
    end_char     int NOT NULL,
    page_start   int,
    page_end     int,
    tsv          tsvector GENERATED ALWAYS AS
                 (to_tsvector('english', content) ||
                  to_tsvector('simple', content)) STORED,
    UNIQUE (document_id, chunk_index)
);
CREATE INDEX document_chunks_tsv ON document_chunks USING gin (tsv);
CREATE INDEX document_chunks_user ON document_chunks (user_id);

CREATE TABLE document_analyses (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    document_id        uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    user_id            uuid NOT NULL,
    analysis_type      text NOT NULL CHECK (analysis_type IN
                       ('summary', 'key_clauses', 'risks', 'classification')),
    instructions       text,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'running', 'completed',
                                         'failed')),
    result             jsonb,
    error              text,
    model_used         text,
    prompt_tokens      int NOT NULL DEFAULT 0,
    completion_tokens  int NOT NULL DEFAULT 0,
    total_tokens       int NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    completed_at       timestamptz
);
CREATE INDEX document_analyses_doc ON document_analyses
    (document_id, created_at DESC);

-- The document object of docs/API.md §6.
CREATE FUNCTION document_json(d documents) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', d.id, 'user_id', d.user_id, 'filename', d.filename,
        'original_filename', d.original_filename,
        'file_type', d.file_type, 'file_size', d.file_size,
        'content_hash', d.content_hash,
        'processing_status', d.processing_status,
        'processing_error', d.processing_error,
        'has_text', d.has_text, 'page_count', d.page_count,
        'document_category', d.document_category,
        'jurisdiction', d.jurisdiction, 'practice_area', d.practice_area,
        'keywords', to_json(d.keywords), 'chunk_count', d.chunk_count,
        'created_at', rfc3339(d.created_at),
        'updated_at', rfc3339(d.updated_at))
$$;

CREATE FUNCTION chunk_json(c document_chunks) RETURNS json
LANGUAGE sql STABLE AS $$
    SELECT json_build_object(
        'id', c.id, 'document_id', c.document_id,
        'chunk_index', c.chunk_index, 'content', c.content,
        'start_char', c.start_char, 'end_char', c.end_char,
        'page_start', c.page_start, 'page_end', c.page_end)
$$;

-- The query of a search box (all words) and of a question (any word),
-- each over both configurations; NULL when q has no searchable word.
CREATE FUNCTION doc_tsquery_all(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(websearch_to_tsquery('english', q)::text, '')::tsquery ||
           nullif(websearch_to_tsquery('simple', q)::text, '')::tsquery
$$;

CREATE FUNCTION doc_tsquery_any(q text) RETURNS tsquery
LANGUAGE sql IMMUTABLE AS $$
    SELECT nullif(replace(plainto_tsquery('english', q)::text, ' & ',
                          ' | '), '')::tsquery ||
           nullif(replace(plainto_tsquery('simple', q)::text, ' & ',
                          ' | '), '')::tsquery
$$;

CREATE FUNCTION doc_search_chunks(uid uuid, doc_ids uuid[], q text, k int)
RETURNS TABLE (document_id uuid, filename text, chunk_index int,
               start_char int, end_char int, page_start int, page_end int,
               content text, rank real)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    qa  tsquery := doc_tsquery_all(coalesce(q, ''));
    qo  tsquery := doc_tsquery_any(coalesce(q, ''));
    lim int := least(greatest(coalesce(k, 5), 1), 50);
BEGIN
    IF qa IS NOT NULL THEN
        RETURN QUERY
        SELECT c.document_id, d.original_filename, c.chunk_index,
               c.start_char, c.end_char, c.page_start, c.page_end,
               c.content, ts_rank(c.tsv, qa)
        FROM document_chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.user_id = uid AND d.user_id = uid
          AND c.document_id = ANY (doc_ids) AND c.tsv @@ qa
        ORDER BY 9 DESC, c.document_id, c.chunk_index
        LIMIT lim;
        IF FOUND THEN
            RETURN;
        END IF;
    END IF;
    IF qo IS NOT NULL THEN
        RETURN QUERY
        SELECT c.document_id, d.original_filename, c.chunk_index,
               c.start_char, c.end_char, c.page_start, c.page_end,
               c.content, ts_rank(c.tsv, qo)
        FROM document_chunks c JOIN documents d ON d.id = c.document_id
        WHERE c.user_id = uid AND d.user_id = uid
          AND c.document_id = ANY (doc_ids) AND c.tsv @@ qo
        ORDER BY 9 DESC, c.document_id, c.chunk_index
        LIMIT lim;
        RETURN;
    END IF;
    RETURN QUERY
    SELECT c.document_id, d.original_filename, c.chunk_index,
           c.start_char, c.end_char, c.page_start, c.page_end,
           c.content, 0::real
    FROM document_chunks c JOIN documents d ON d.id = c.document_id
    WHERE c.user_id = uid AND d.user_id = uid
      AND c.document_id = ANY (doc_ids)
    ORDER BY c.chunk_index, c.document_id
    LIMIT lim;
END $$;

-- Conversations may hold documents (chat, 004): a deleted document leaves
-- every conversation it was attached to.
DO $$
BEGIN
    IF to_regclass('conversation_documents') IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'conversation_documents'::regclass
          AND contype = 'f'
          AND confrelid = 'documents'::regclass) THEN
        ALTER TABLE conversation_documents
            ADD CONSTRAINT conversation_documents_document_fk
            FOREIGN KEY (document_id) REFERENCES documents(id)
            ON DELETE CASCADE;
    END IF;
END $$;

-- 004's hooks, now over the real tables.
CREATE OR REPLACE FUNCTION chat_document_owned(doc uuid, uid uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM documents WHERE id = doc AND user_id = uid)
$$;

CREATE OR REPLACE FUNCTION chat_context_chunks(uid uuid, conv uuid,
    docs uuid[], question text, lim integer)
RETURNS TABLE (document_id uuid, filename text, chunk_index integer,
    start_char integer, end_char integer, page_start integer,
    page_end integer, content text)
LANGUAGE sql STABLE AS $$
    SELECT s.document_id, s.filename, s.chunk_index, s.start_char,
           s.end_char, s.page_start, s.page_end, s.content
    FROM doc_search_chunks(uid,
        ARRAY(SELECT cd.document_id FROM conversation_documents cd
              JOIN conversations c ON c.id = cd.conversation_id
              WHERE cd.conversation_id = conv AND c.user_id = uid
              UNION SELECT unnest(coalesce(docs, '{}'::uuid[]))),
        question, lim) s
$$;
