/*
 * Document analysis requests: POST /{id}/analyze checks the provider and
 * the caller's daily token quota and enqueues the job (202); the job
 * runner (cmd/jobs/analysis.c) does the work.  GET /{id}/analysis answers
 * the latest analysis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "documents.h"
#include "tracing.h"
#include "lib/uuid.h"

static int	an_start(struct http_request *, struct rq *);
static int	an_answer(struct http_request *, struct rq *);

static const char *const an_types[] = {
	"summary", "key_clauses", "risks", "classification", NULL
};

/*
 * $1 document, $2 user, $3 default quota, $4 type, $5 instructions,
 * $6 queue, $7 max attempts, $8 the traceparent the job's spans go
 * under (NULL: not traced).  The analysis and its job are created only
 * when the document is processed and today's (UTC) tokens are under the
 * quota (0: unlimited); the answer says which condition failed.
 */
static const char sql_analyze[] =
    "WITH d AS (SELECT id, processing_status, has_text FROM documents "
    "WHERE id = $1 AND user_id = $2), "
    "q AS (SELECT coalesce(u.token_quota_daily, $3::bigint) AS quota, "
    "llm_tokens_committed($2) AS used, "
    "ceil(extract(epoch FROM date_trunc('day', now() AT TIME "
    "ZONE 'UTC') + interval '1 day' - (now() AT TIME ZONE 'UTC')))::int "
    "AS reset FROM users u WHERE u.id = $2), "
    "ok AS (SELECT d.id FROM d, q WHERE d.processing_status = 'completed' "
    "AND d.has_text AND (q.quota = 0 OR q.used < q.quota)), "
    "an AS (INSERT INTO document_analyses (document_id, user_id, "
    "analysis_type, instructions) SELECT id, $2, $4, $5 FROM ok "
    "RETURNING id, document_id, analysis_type, status, created_at), "
    "j AS (INSERT INTO jobs (kind, queue, payload, max_attempts) "
    "SELECT 'document_analysis', $6, jsonb_build_object('analysis_id', "
    "an.id::text, 'document_id', an.document_id::text, 'traceparent', "
    "$8::text, 'user_id', $2::text), $7::int FROM an) "
    "SELECT (SELECT processing_status FROM d), (SELECT has_text FROM d), "
    "(SELECT quota FROM q), (SELECT used FROM q), (SELECT reset FROM q), "
    "(SELECT json_build_object('analysis_id', id, 'document_id', "
    "document_id, 'analysis_type', analysis_type, 'status', status, "
    "'created_at', rfc3339(created_at)) FROM an)";

static const char sql_latest[] =
    "SELECT json_build_object('id', a.id, 'document_id', a.document_id, "
    "'analysis_type', a.analysis_type, 'status', a.status, "
    "'error', a.error, "
    "'summary', a.result->'summary', "
    "'document_category', a.result->'document_category', "
    "'jurisdiction', a.result->'jurisdiction', "
    "'practice_area', a.result->'practice_area', "
    "'keywords', coalesce(a.result->'keywords', '[]'::jsonb), "
    "'key_clauses', coalesce(a.result->'key_clauses', '[]'::jsonb), "
    "'risks', coalesce(a.result->'risks', '[]'::jsonb), "
    "'model_used', a.model_used, 'cached', a.cached, "
    "'usage', json_build_object('prompt_tokens', a.prompt_tokens, "
    "'completion_tokens', a.completion_tokens, 'total_tokens', "
    "a.total_tokens), "
    "'created_at', rfc3339(a.created_at), "
    "'completed_at', rfc3339(a.completed_at)) "
    "FROM documents d JOIN document_analyses a ON a.document_id = d.id "
    "WHERE d.id = $1 AND d.user_id = $2 "
    "ORDER BY a.created_at DESC, a.id LIMIT 1";

int
doc_analyze(struct http_request *req, struct rq *rq)
{
	if (rq->step == 0) {
		if (!an_start(req, rq))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	return (an_answer(req, rq));
}

/* The body checked, the statement started; 0 when it has answered. */
static int
an_start(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*body;
	const char	*type, *instr, *p[8];
	char		 id[40], quota[24], att[16];
	char		 tp[OTEL_TRACEPARENT_LEN + 1];
	struct otel_ctx	 ctx;

	if (!rq_path_id(req, DOC_SEG_ID, id, sizeof(id)) || !uuid_valid(id)) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	if (rq_json(req, rq, &body) != KORE_RESULT_OK)
		return (0);
	verr_init(&v);
	type = instr = NULL;
	(void)jsonx_get_enum(body, "analysis_type", JF_REQUIRED, an_types,
	    &v, &type);
	(void)jsonx_get_str(body, "instructions", JF_NULLABLE, 0,
	    DOC_INSTRUCTIONS_MAX, &v, &instr);
	if (verr_count(&v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	if (!config_ai_configured(&cfg, cfg.ai_provider)) {
		(void)rq_error(req, rq, 503, "ai_not_configured",
		    "No AI provider is configured", NULL);
		return (0);
	}
	(void)snprintf(quota, sizeof(quota), "%d",
	    cfg.default_daily_token_quota);
	(void)snprintf(att, sizeof(att), "%d", cfg.job_max_attempts);
	p[0] = id;
	p[1] = rq->user.id;
	p[2] = quota;
	p[3] = type;
	p[4] = instr;
	p[5] = cfg.job_queue;
	p[6] = att;
	p[7] = NULL;
	if (tracing_enabled()) {
		tracing_request_parent(rq, &ctx);
		otel_traceparent_format(&ctx, tp);
		p[7] = tp;
	}
	db_start(req, &rq->q, sql_analyze, 8, p);
	return (1);
}

/* 202 with the analysis, or which condition failed: 404, 409, 429. */
static int
an_answer(struct http_request *req, struct rq *rq)
{
	const char	*status;
	char		 reset[16];
	int		 r;

	if (!rq_polled(req, rq, &r))
		return (r);
	if (db_isnull(&rq->q, 0, 0))
		return (rq_not_found(req, rq));
	if (!db_isnull(&rq->q, 0, 5))
		return (rq_ok_raw(req, rq, 202, "Analysis queued",
		    db_val(&rq->q, 0, 5), (size_t)db_len(&rq->q, 0, 5)));
	status = db_val(&rq->q, 0, 0);
	if (strcmp(status, "completed") != 0)
		return (rq_error(req, rq, 409, "conflict", "The document is "
		    "not processed yet", json_pack("{s:s}",
		    "processing_status", status)));
	if (strcmp(db_val(&rq->q, 0, 1), "t") != 0)
		return (rq_error(req, rq, 409, "conflict", "The document has "
		    "no text to analyse", json_pack("{s:b}", "has_text", 0)));
	(void)snprintf(reset, sizeof(reset), "%s", db_val(&rq->q, 0, 4));
	http_response_header(req, "retry-after", reset);
	return (rq_error(req, rq, 429, "quota_exceeded", "Daily token quota "
	    "exceeded", json_pack("{s:s, s:s}", "quota_daily",
	    db_val(&rq->q, 0, 2), "used_today", db_val(&rq->q, 0, 3))));
}

int
doc_analysis_get(struct http_request *req, struct rq *rq)
{
	if (rq->step == 0) {
		if (!rq_owned(req, rq, DOC_SEG_ID, sql_latest))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Analysis"));
}
