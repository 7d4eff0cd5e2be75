-- Analyses served from a stored result.  An analysis of a document whose
-- bytes (content_hash) the same user has already had analysed, with the
-- same type, instructions and requested model, copies that result
-- instead of calling the model: cached = true, no tokens, no llm_calls
-- row.  Only the same user's documents are looked at: a result shared
-- across users would tell one user that another holds the same file.
ALTER TABLE document_analyses
    ADD COLUMN cached boolean NOT NULL DEFAULT false,
    -- The model the runner asked for (model_used is what the provider
    -- answered, e.g. a dated snapshot name); the cache matches on this.
    ADD COLUMN model_requested text;

-- The lookup: the user's documents with those bytes (documents_hash),
-- then their completed analyses of that type.
CREATE INDEX document_analyses_cache ON document_analyses
    (document_id, analysis_type, completed_at DESC)
    WHERE status = 'completed';
