/*
 * The document_analysis job: ask the model for a JSON analysis of a
 * document (summary, classification, key clauses, risks), validate what
 * comes back, store it; a classification also fills the document's own
 * fields.  A text past ANALYSIS_DIRECT_MAX is analysed part by part (map)
 * and the partial analyses combined by one more call (reduce).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

/* Text sent in one call; longer documents go through map-reduce. */
#define ANALYSIS_DIRECT_MAX	(48 * 1024)
/* One part of the map step, in bytes of chunk text. */
#define ANALYSIS_PART_MAX	(40 * 1024)
/* Parts analysed at most; the rest of a huge document is left out. */
#define ANALYSIS_MAX_PARTS	12
/* Bounds on what is kept from the model's answer. */
#define ANALYSIS_MAX_ITEMS	50
#define ANALYSIS_MAX_KEYWORDS	20
#define ANALYSIS_MAX_STR	8192
#define ANALYSIS_TEMPERATURE	0.2

struct an_ctx {
	char		 id[40];
	char		 user_id[40];
	char		 doc_id[40];
	char		 type[32];
	char		*instructions;
	char		*filename;
	long		 prompt_tokens;
	long		 completion_tokens;
	long		 total_tokens;
	char		 model[LLM_MAX_SHORT_STR];
	int		 parts;
};

static enum job_res	an_run(struct jctx *, struct job *, struct jout *);
static void		an_failed(struct jctx *, struct job *, const char *);
static enum job_res	an_ask(struct jctx *, struct job *, struct an_ctx *,
			    const char *, const char *, const char *,
			    json_t **, struct jout *);
static char		*an_system(const struct an_ctx *, int);
static json_t		*an_normalise(json_t *, const char *, char *, size_t);
static enum job_res	an_map_reduce(struct jctx *, struct job *,
			    struct an_ctx *, json_t **, struct jout *);
static enum job_res	an_map(struct jctx *, struct job *, struct an_ctx *,
			    PGresult *, json_t *, struct jout *);
static enum job_res	an_load(struct jctx *, const char *, struct an_ctx *,
			    char **, struct jout *);
static enum job_res	an_store(struct jctx *, struct an_ctx *, json_t *,
			    struct jout *);
static enum job_res	an_from_cache(struct jctx *, struct an_ctx *,
			    struct jout *);

const struct job_kind	job_kind_analysis = {
	"document_analysis", an_run, an_failed
};

static const char sql_start[] =
    "UPDATE document_analyses a SET status = 'running', updated_at = now() "
    "FROM documents d WHERE a.id = $1 AND d.id = a.document_id "
    "AND a.status IN ('pending', 'running') "
    "RETURNING a.user_id, a.analysis_type, coalesce(a.instructions, ''), "
    "d.original_filename, coalesce(d.content, ''), d.id";

static const char sql_chunks[] =
    "SELECT content FROM document_chunks WHERE document_id = $1 "
    "ORDER BY chunk_index";

/*
 * A stored result for the same bytes: a completed analysis of a document
 * of the same user with the same content_hash, type, instructions and
 * requested model ($2).  Its result and model_used.
 */
static const char sql_cached[] =
    "SELECT b.result::text, b.model_used FROM document_analyses a "
    "JOIN documents d ON d.id = a.document_id "
    "JOIN documents d2 ON d2.user_id = d.user_id "
    "AND d2.content_hash = d.content_hash "
    "JOIN document_analyses b ON b.document_id = d2.id "
    "AND b.analysis_type = a.analysis_type AND b.status = 'completed' "
    "WHERE a.id = $1 AND b.id <> a.id AND b.result IS NOT NULL "
    "AND b.model_requested = $2 "
    "AND coalesce(b.instructions, '') = coalesce(a.instructions, '') "
    "ORDER BY b.completed_at DESC LIMIT 1";

/*
 * The result, the usage, whether it came from the cache ($7) and the
 * model asked for ($8), and for a classification the document itself.
 */
static const char sql_done[] =
    "WITH a AS (UPDATE document_analyses SET status = 'completed', "
    "result = $2::jsonb, model_used = $3, prompt_tokens = $4::int, "
    "completion_tokens = $5::int, total_tokens = $6::int, error = NULL, "
    "cached = $7::boolean, model_requested = $8, "
    "completed_at = now(), updated_at = now() WHERE id = $1 "
    "RETURNING document_id, analysis_type) "
    "UPDATE documents d SET "
    "document_category = coalesce($2::jsonb->>'document_category', "
    "d.document_category), "
    "jurisdiction = coalesce($2::jsonb->>'jurisdiction', d.jurisdiction), "
    "practice_area = coalesce($2::jsonb->>'practice_area', "
    "d.practice_area), "
    "keywords = CASE WHEN jsonb_array_length($2::jsonb->'keywords') > 0 "
    "THEN ARRAY(SELECT jsonb_array_elements_text($2::jsonb->'keywords')) "
    "ELSE d.keywords END, updated_at = now() "
    "FROM a WHERE d.id = a.document_id "
    "AND a.analysis_type = 'classification'";

static const char sql_failed[] =
    "UPDATE document_analyses SET status = 'failed', error = $2, "
    "updated_at = now() WHERE id = $1";

static const char *an_focus[][2] = {
	{ "summary", "Above all a faithful summary of the document: parties, "
	    "subject, obligations, dates, amounts." },
	{ "key_clauses", "Above all the key clauses: for each, a short title, "
	    "what it says, and its reference as written in the document "
	    "(for example \"clause 7.3.2\")." },
	{ "risks", "Above all the legal risks for the party receiving the "
	    "document: for each a title, a severity (low, medium or high) and "
	    "why." },
	{ "classification", "Above all the classification: the document's "
	    "category, jurisdiction, practice area and keywords." },
};

static enum job_res
an_run(struct jctx *c, struct job *j, struct jout *o)
{
	struct an_ctx	 a;
	json_t		*out = NULL;
	const char	*aid;
	char		*text = NULL, *sys = NULL;
	enum job_res	 r;

	memset(&a, 0, sizeof(a));
	aid = json_string_value(json_object_get(j->payload, "analysis_id"));
	if (aid == NULL) {
		jout_err(o, "payload without analysis_id");
		return (JOB_FAIL);
	}
	if (!jllm_configured()) {
		jout_err(o, "ai_not_configured");
		return (JOB_FAIL);
	}
	if ((r = an_load(c, aid, &a, &text, o)) != JOB_DONE ||
	    o->result != NULL)
		goto out;
	if ((r = an_from_cache(c, &a, o)) != JOB_FAIL)
		goto out;
	if (strlen(text) <= ANALYSIS_DIRECT_MAX) {
		a.parts = 1;
		sys = an_system(&a, 0);
		r = an_ask(c, j, &a, "analysis", sys, text, &out, o);
	} else
		r = an_map_reduce(c, j, &a, &out, o);
	if (r == JOB_DONE)
		r = an_store(c, &a, out, o);
out:
	json_decref(out);
	free(sys);
	free(text);
	free(a.instructions);
	free(a.filename);
	return (r);
}

/*
 * The analysis and its document's text (*text): JOB_DONE with
 * o->result NULL to go on, JOB_DONE with a result when there is nothing
 * to do, JOB_RETRY on a database error.
 */
static enum job_res
an_load(struct jctx *c, const char *aid, struct an_ctx *a, char **text,
    struct jout *o)
{
	PGresult	*res;
	const char	*p[1];

	p[0] = aid;
	if ((res = jdb_exec(c, sql_start, 1, p)) == NULL) {
		jout_err(o, "database error");
		return (JOB_RETRY);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		o->result = json_pack("{s:s}", "skipped", "analysis gone or "
		    "already finished");
		return (JOB_DONE);
	}
	(void)snprintf(a->id, sizeof(a->id), "%s", aid);
	(void)snprintf(a->user_id, sizeof(a->user_id), "%s",
	    PQgetvalue(res, 0, 0));
	(void)snprintf(a->type, sizeof(a->type), "%s", PQgetvalue(res, 0, 1));
	a->instructions = strdup(PQgetvalue(res, 0, 2));
	a->filename = strdup(PQgetvalue(res, 0, 3));
	*text = strdup(PQgetvalue(res, 0, 4));
	(void)snprintf(a->doc_id, sizeof(a->doc_id), "%s",
	    PQgetvalue(res, 0, 5));
	PQclear(res);
	if (a->instructions == NULL || a->filename == NULL || *text == NULL) {
		jout_err(o, "out of memory");
		return (JOB_RETRY);
	}
	return (JOB_DONE);
}

/* The validated answer out and its usage, stored. */
static enum job_res
an_store(struct jctx *c, struct an_ctx *a, json_t *out, struct jout *o)
{
	const char	*p[8];
	char		*rs;
	char		 pt[24], ct[24], tt[24];
	enum job_res	 r = JOB_DONE;

	if ((rs = json_dumps(out, JSON_COMPACT)) == NULL) {
		jout_err(o, "out of memory");
		return (JOB_RETRY);
	}
	(void)snprintf(pt, sizeof(pt), "%ld", a->prompt_tokens);
	(void)snprintf(ct, sizeof(ct), "%ld", a->completion_tokens);
	(void)snprintf(tt, sizeof(tt), "%ld", a->total_tokens);
	p[0] = a->id;
	p[1] = rs;
	p[2] = a->model[0] ? a->model : jllm_model();
	p[3] = pt;
	p[4] = ct;
	p[5] = tt;
	p[6] = "false";
	p[7] = jllm_model();
	if (jdb_cmd(c, sql_done, 8, p) == -1) {
		jout_err(o, "database error storing the analysis");
		r = JOB_RETRY;
	} else
		o->result = json_pack("{s:s, s:i, s:I}", "analysis_id", a->id,
		    "calls", a->parts > 1 ? a->parts + 1 : 1,
		    "total_tokens", (json_int_t)a->total_tokens);
	free(rs);
	return (r);
}

/*
 * The analysis answered from a stored result, without a call: JOB_DONE
 * when it was, JOB_RETRY on a database error, JOB_FAIL when there is no
 * stored result (the caller goes on to the model).
 */
static enum job_res
an_from_cache(struct jctx *c, struct an_ctx *a, struct jout *o)
{
	PGresult	*res;
	const char	*p[8];
	enum job_res	 r;

	p[0] = a->id;
	p[1] = jllm_model();
	if ((res = jdb_exec(c, sql_cached, 2, p)) == NULL) {
		jout_err(o, "database error");
		return (JOB_RETRY);
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		return (JOB_FAIL);
	}
	p[0] = a->id;
	p[1] = PQgetvalue(res, 0, 0);
	p[2] = PQgetisnull(res, 0, 1) ? jllm_model() : PQgetvalue(res, 0, 1);
	p[3] = "0";
	p[4] = "0";
	p[5] = "0";
	p[6] = "true";
	p[7] = jllm_model();
	r = JOB_DONE;
	if (jdb_cmd(c, sql_done, 8, p) == -1) {
		jout_err(o, "database error storing the analysis");
		r = JOB_RETRY;
	} else
		o->result = json_pack("{s:s, s:b, s:i}", "analysis_id", a->id,
		    "cached", 1, "total_tokens", 0);
	PQclear(res);
	return (r);
}

/*
 * One call: system text, user text; the answer validated into *out.
 * Usage is added to a whatever the outcome.
 */
static enum job_res
an_ask(struct jctx *c, struct job *j, struct an_ctx *a, const char *kind,
    const char *sys, const char *user, json_t **out, struct jout *o)
{
	struct llm_request	 req;
	struct llm_result	 res;
	struct llm_error	 err;
	struct llm_msg		 msg;
	json_t			*ans;
	json_error_t		 jerr;
	enum llm_err		 rc;
	char			 why[128];

	memset(&req, 0, sizeof(req));
	msg.role = LLM_ROLE_USER;
	msg.content = user;
	req.system = sys;
	req.msgs = &msg;
	req.nmsgs = 1;
	req.temperature = ANALYSIS_TEMPERATURE;
	req.json_mode = 1;
	rc = jllm_call(c, a->user_id, kind, &req, &res, &err, j->deadline);
	a->prompt_tokens += res.prompt_tokens;
	a->completion_tokens += res.completion_tokens;
	a->total_tokens += res.total_tokens;
	if (res.model != NULL)
		(void)snprintf(a->model, sizeof(a->model), "%s", res.model);
	if (rc != LLM_OK) {
		jout_err(o, "%s: %s", llm_err_name(rc), err.message);
		llm_result_free(&res);
		if (c->circuit_wait_s > 0)
			return (JOB_DEFER);
		if (jobs_stopping)
			return (JOB_RELEASE);
		return (llm_err_retryable(rc) || rc == LLM_ERR_TIMEOUT ||
		    rc == LLM_ERR_MALFORMED ? JOB_RETRY : JOB_FAIL);
	}
	ans = json_loads(res.content != NULL ? res.content : "", 0, &jerr);
	llm_result_free(&res);
	if (ans == NULL) {
		jout_err(o, "invalid_model_output: not JSON");
		return (JOB_RETRY);
	}
	*out = an_normalise(ans, strcmp(kind, "analysis_map") == 0 ?
	    "map" : a->type, why,
	    sizeof(why));
	json_decref(ans);
	if (*out == NULL) {
		jout_err(o, "invalid_model_output: %s", why);
		return (JOB_RETRY);
	}
	return (JOB_DONE);
}

/*
 * A long text: each part of ANALYSIS_PART_MAX bytes of chunks analysed
 * alone (map), then the partial analyses combined (reduce).
 */
static enum job_res
an_map_reduce(struct jctx *c, struct job *j, struct an_ctx *a,
    json_t **out, struct jout *o)
{
	PGresult	*res;
	json_t		*parts;
	const char	*p[1];
	char		*sys = NULL, *user = NULL, *ps = NULL;
	size_t		 n;
	enum job_res	 r;

	p[0] = a->doc_id;
	if ((res = jdb_exec(c, sql_chunks, 1, p)) == NULL) {
		jout_err(o, "database error");
		return (JOB_RETRY);
	}
	parts = json_array();
	r = an_map(c, j, a, res, parts, o);
	PQclear(res);
	if (r != JOB_DONE)
		goto out;
	sys = an_system(a, 2);
	ps = json_dumps(parts, JSON_COMPACT | JSON_INDENT(0));
	n = (ps ? strlen(ps) : 0) + strlen(a->filename) + 256;
	if (sys == NULL || ps == NULL || (user = malloc(n)) == NULL) {
		jout_err(o, "out of memory");
		r = JOB_RETRY;
		goto out;
	}
	(void)snprintf(user, n, "Partial analyses of the %zu parts of the "
	    "document \"%s\", in order, as a JSON array:\n%s",
	    json_array_size(parts), a->filename, ps);
	r = an_ask(c, j, a, "analysis", sys, user, out, o);
out:
	json_decref(parts);
	free(sys);
	free(user);
	free(ps);
	return (r);
}

/* The map step over the chunk rows: one analysis per part into parts. */
static enum job_res
an_map(struct jctx *c, struct job *j, struct an_ctx *a, PGresult *res,
    json_t *parts, struct jout *o)
{
	json_t		*one = NULL;
	char		*buf, *sys;
	size_t		 len = 0, cl;
	int		 row, nrows;
	enum job_res	 r = JOB_DONE;

	nrows = PQntuples(res);
	buf = malloc(ANALYSIS_PART_MAX + 1);
	sys = an_system(a, 1);
	if (buf == NULL || sys == NULL) {
		jout_err(o, "out of memory");
		r = JOB_RETRY;
		goto out;
	}
	for (row = 0; row <= nrows; row++) {
		cl = row < nrows ? (size_t)PQgetlength(res, row, 0) : 0;
		if (row == nrows || (len > 0 && len + 2 + cl >
		    ANALYSIS_PART_MAX)) {
			if (len == 0)
				break;
			buf[len] = '\0';
			a->parts++;
			if ((r = an_ask(c, j, a, "analysis_map", sys, buf,
			    &one, o)) != JOB_DONE)
				goto out;
			(void)json_array_append_new(parts, one);
			len = 0;
			if (row == nrows ||
			    json_array_size(parts) == ANALYSIS_MAX_PARTS)
				break;
		}
		if (cl > ANALYSIS_PART_MAX)
			cl = ANALYSIS_PART_MAX;
		if (len > 0) {
			memcpy(buf + len, "\n\n", 2);
			len += 2;
		}
		memcpy(buf + len, PQgetvalue(res, row, 0), cl);
		len += cl;
	}
out:
	free(buf);
	free(sys);
	return (r);
}

/* The system text: stage 0 whole document, 1 one part, 2 combine. */
static char *
an_system(const struct an_ctx *a, int stage)
{
	const char	*focus = an_focus[0][1], *st;
	char		*s;
	size_t		 i, n;

	for (i = 0; i < sizeof(an_focus) / sizeof(an_focus[0]); i++)
		if (strcmp(an_focus[i][0], a->type) == 0)
			focus = an_focus[i][1];
	st = stage == 1 ? "You see one part of a longer document: analyse "
	    "only this part; another step combines the parts. " :
	    stage == 2 ? "You receive partial analyses of the consecutive "
	    "parts of one document: combine them into one analysis of the "
	    "whole document, without repeating items. " : "";
	n = strlen(focus) + strlen(st) + strlen(a->instructions) + 2048;
	if ((s = malloc(n)) == NULL)
		return (NULL);
	(void)snprintf(s, n,
	    "You are a careful legal analyst. %sAnswer with one JSON object "
	    "and nothing else, with exactly these keys: \"summary\" "
	    "(string), \"document_category\" (string such as contract, "
	    "lease, employment_agreement, nda, court_filing, statute, "
	    "policy, correspondence or other), \"jurisdiction\" (string or "
	    "null), \"practice_area\" (string or null), \"keywords\" (array "
	    "of at most 10 strings), \"key_clauses\" (array of objects "
	    "{\"title\", \"text\", \"reference\"}), \"risks\" (array of "
	    "objects {\"title\", \"severity\": \"low\"|\"medium\"|\"high\", "
	    "\"description\"}). Use only what the document says. %s%s%s",
	    st, focus, a->instructions[0] ? " The user adds: " : "",
	    a->instructions);
	return (s);
}

/* A string of at most ANALYSIS_MAX_STR bytes, or JSON null. */
static int
an_str(json_t *in, const char *key, json_t *out, int required)
{
	json_t		*v;

	v = json_object_get(in, key);
	if (v == NULL || json_is_null(v)) {
		if (required)
			return (-1);
		(void)json_object_set_new(out, key, json_null());
		return (0);
	}
	if (!json_is_string(v) || json_string_length(v) > ANALYSIS_MAX_STR ||
	    (required && json_string_length(v) == 0))
		return (-1);
	(void)json_object_set(out, key, v);
	return (0);
}

/* An array of objects (strings are wrapped as {"text": s}). */
static int
an_items(json_t *in, const char *key, json_t *out, int required)
{
	json_t		*v, *e, *arr;
	size_t		 i;

	v = json_object_get(in, key);
	arr = json_array();
	if (v == NULL || json_is_null(v)) {
		(void)json_object_set_new(out, key, arr);
		return (required ? -1 : 0);
	}
	if (!json_is_array(v)) {
		json_decref(arr);
		return (-1);
	}
	json_array_foreach(v, i, e) {
		if (i >= ANALYSIS_MAX_ITEMS)
			break;
		if (json_is_string(e))
			(void)json_array_append_new(arr, json_pack("{s:O}",
			    "text", e));
		else if (json_is_object(e))
			(void)json_array_append(arr, e);
		else {
			json_decref(arr);
			return (-1);
		}
	}
	(void)json_object_set_new(out, key, arr);
	return (0);
}

/*
 * Check the model's answer against the schema of the system text and
 * return a new object with every key (NULL with why on a violation).
 * The key the analysis type is about must be there.
 */
static json_t *
an_normalise(json_t *in, const char *type, char *why, size_t whylen)
{
	json_t		*out, *v, *e, *kw;
	size_t		 i;
	int		 map = strcmp(type, "map") == 0;

	if (!json_is_object(in)) {
		(void)snprintf(why, whylen, "not a JSON object");
		return (NULL);
	}
	out = json_object();
	if (an_str(in, "summary", out, !map &&
	    strcmp(type, "summary") == 0) == -1) {
		(void)snprintf(why, whylen, "summary missing or invalid");
		goto bad;
	}
	if (an_str(in, "document_category", out, !map &&
	    strcmp(type, "classification") == 0) == -1 ||
	    an_str(in, "jurisdiction", out, 0) == -1 ||
	    an_str(in, "practice_area", out, 0) == -1) {
		(void)snprintf(why, whylen, "classification fields invalid");
		goto bad;
	}
	kw = json_array();
	(void)json_object_set_new(out, "keywords", kw);
	if ((v = json_object_get(in, "keywords")) != NULL &&
	    !json_is_null(v)) {
		if (!json_is_array(v)) {
			(void)snprintf(why, whylen, "keywords not an array");
			goto bad;
		}
		json_array_foreach(v, i, e) {
			if (!json_is_string(e) ||
			    json_string_length(e) > ANALYSIS_MAX_STR) {
				(void)snprintf(why, whylen,
				    "keywords not strings");
				goto bad;
			}
			if (i < ANALYSIS_MAX_KEYWORDS)
				(void)json_array_append(kw, e);
		}
	}
	if (an_items(in, "key_clauses", out, !map &&
	    strcmp(type, "key_clauses") == 0) == -1 ||
	    an_items(in, "risks", out, !map &&
	    strcmp(type, "risks") == 0) == -1) {
		(void)snprintf(why, whylen, "key_clauses or risks invalid");
		goto bad;
	}
	return (out);
bad:
	json_decref(out);
	return (NULL);
}

static void
an_failed(struct jctx *c, struct job *j, const char *err)
{
	const char	*p[2];

	p[0] = json_string_value(json_object_get(j->payload, "analysis_id"));
	p[1] = err;
	if (p[0] != NULL)
		(void)jdb_cmd(c, sql_failed, 2, p);
}
