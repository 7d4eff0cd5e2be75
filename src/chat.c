/*
 * Chat (docs/API.md §5): the models on offer, and POST /chat, which stores the
 * user's message, asks the provider (src/llm_client.c) and stores the
 * answer.
 *
 * A chat turn outlives its request: the answer is stored by a query not
 * bound to the request (src/dbcb.c) whether or not the client is still
 * there, so a client that disconnects mid-stream finds the message
 * stored.  The turn is reference counted: one reference for the request,
 * one for the provider call and the storing that follows it.
 *
 * Streaming answers go out as Server-Sent Events over a chunked
 * response written straight onto Kore's connection: the headers when the
 * provider call starts, one `delta` event per piece of text as the
 * provider thread reports it, then `done` (or `error`) and the last
 * chunk when the answer is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "chat.h"
#include "circuit.h"
#include "dbcb.h"
#include "llm_client.h"
#include "tracing.h"
#include "lib/prompt.h"
#include "lib/sse.h"
#include "lib/uuid.h"

#define CHAT_AUTO_TITLE		50	/* code points of the first message */
#define CHAT_DEFAULT_TITLE	"New conversation"
#define CHAT_CONTENT_MIN	1
#define CHAT_CONTENT_MAX	32000
#define CHAT_MAX_DOCS		20
#define CHAT_SOURCE_MAX		4000	/* code points per source */
#define CHAT_SNIPPET		200	/* code points of a citation snippet */
#define CHAT_DOCS_LITERAL	(CHAT_MAX_DOCS * (UUID_STRLEN + 1) + 3)
/*
 * Bytes of history and document excerpts assumed when the call's tokens
 * are reserved against the daily quota, before the prompt is built (the
 * reservation is settled with the real usage).
 */
#define CHAT_RESERVE_CONTEXT	4096

enum chat_phase {
	CHAT_CALLING = 0,	/* provider call running */
	CHAT_STORING,		/* answer (or failure) being stored */
	CHAT_STORED
};

struct chat_turn {
	int			 refs;
	struct http_request	*req;		/* NULL once it is gone */
	struct llm_job		*job;
	enum chat_phase		 phase;
	int			 stream;
	int			 sse_open;
	int			 circuit;	/* circuit.h id */
	int			 probe;		/* the half-open probe */
	int			 store_ok;
	enum llm_err		 code;
	char			 user_id[40];
	char			 conv_id[40];
	char			 umsg_id[40];
	char			 trace[RQ_ID_MAX + 1];
	char			 provider[16];
	char			 model[LLM_MAX_MODEL_LEN + 1];
	char			 resv[CHAT_NUM];	/* quota reservation */
	json_t			*user_message;
	json_t			*citations;
	json_t			*message;	/* the stored answer */
	struct otel_ctx		 span_parent;	/* the request's span */
	u_int64_t		 start_ns;
	char			*prompt;	/* for the span, when captured */
};

struct chat_st {
	struct chat_turn	*turn;
	const char		*content;	/* borrowed from rq->body */
	const char		*conv_id;
	json_t			*sources;
	char			 docs[CHAT_DOCS_LITERAL];
	enum llm_provider	 prov;
	char			 provider[16];
	char			 model[LLM_MAX_MODEL_LEN + 1];
	char			 resv[CHAT_NUM];
	int			 stream;
	int			 probe;		/* the breaker's half-open probe */
};

static int	chat_models(struct http_request *, struct rq *);
static int	chat_post(struct http_request *, struct rq *);

static int	chat_input(struct http_request *, struct rq *,
		    struct chat_st *);
static int	chat_check(struct http_request *, struct rq *,
		    struct chat_st *);
static int	chat_call(struct http_request *, struct rq *,
		    struct chat_st *);
static int	chat_finish(struct http_request *, struct rq *,
		    struct chat_turn *);
static json_t	*chat_payload(struct chat_turn *);
static void	chat_st_free(void *);
static void	chat_turn_unref(struct chat_turn *);
static void	chat_on_delta(struct llm_job *, const char *, size_t);
static void	chat_on_done(struct llm_job *);
static void	chat_span(struct chat_turn *, struct llm_job *);
static void	chat_store(struct chat_turn *, struct llm_job *);
static void	chat_stored(void *, int, PGresult *);
static const char *chat_err_code(enum llm_err);
static const char *chat_err_message(enum llm_err);
static size_t	chat_clip(const char *, size_t);
static json_t	*chat_provider_json(enum llm_provider);

ROUTE(page_chat_models, "/api/v1/chat/models",
    { HTTP_METHOD_GET, chat_models, RQ_USER })
ROUTE(page_chat, "/api/v1/chat/chat",
    { HTTP_METHOD_POST, chat_post, RQ_USER })
/* The same endpoint at the section's root, for clients that read it so. */
ROUTE(page_chat_root, "/api/v1/chat",
    { HTTP_METHOD_POST, chat_post, RQ_USER })

/*
 * Ownership, then the quota, before anything is stored: the call's
 * estimate ($4 tokens, lapsing after $5 s) is reserved atomically
 * against the daily quota (llm_reserve, 012): the reservation id, 0 for
 * no quota, -1 when it does not fit.  The statement that records the
 * call deletes the reservation.
 */
static const char sql_chat_check[] =
    "SELECT coalesce(u.token_quota_daily, $2::bigint), "
    "llm_tokens_committed(u.id), "
    "ceil(extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC')"
    " + interval '1 day') - (now() AT TIME ZONE 'UTC')))::bigint, "
    "o.owned, CASE WHEN o.owned THEN llm_reserve(u.id, $2::bigint, "
    "$4::bigint, $5::int) END "
    "FROM users u, LATERAL (SELECT ($3::uuid IS NULL OR EXISTS (SELECT 1 "
    "FROM conversations c WHERE c.id = $3::uuid AND c.user_id = u.id "
    "AND c.deleted_at IS NULL)) AS owned) o WHERE u.id = $1";

/*
 * The user's message is stored (and the conversation created) before
 * the provider is called.  The same statement reads the history (its
 * snapshot does not see the new message) and the document excerpts
 * (chat_context_chunks(), the documents migration's hook).
 */
static const char sql_chat_user[] =
    "WITH nc AS (INSERT INTO conversations (user_id, title, "
    "last_message_at) SELECT $1, $3, now() WHERE $2::uuid IS NULL "
    "RETURNING id), "
    "cid AS (SELECT id FROM nc UNION ALL SELECT $2::uuid "
    "WHERE $2::uuid IS NOT NULL), "
    "um AS (INSERT INTO messages (conversation_id, user_id, role, "
    "content, trace_id) SELECT id, $1, 'user', $4, $5 FROM cid "
    "RETURNING *), "
    "tc AS (UPDATE conversations SET last_message_at = now(), "
    "updated_at = now() WHERE id = $2::uuid RETURNING id) "
    "SELECT um.conversation_id, chat_message_json(um::messages), um.id, "
    "(SELECT coalesce(json_agg(json_build_object('role', h.role, "
    "'content', h.content) ORDER BY h.seq), '[]'::json) FROM "
    "(SELECT role, content, seq FROM messages WHERE conversation_id = "
    "um.conversation_id AND status = 'ok' ORDER BY seq DESC "
    "LIMIT $8::int) h), "
    "(SELECT coalesce(json_agg(row_to_json(x)), '[]'::json) FROM "
    "chat_context_chunks($1::uuid, um.conversation_id, $6::uuid[], $4, "
    "$7::int) x) "
    "FROM um";

static const char sql_chat_answer[] =
    "WITH r AS (DELETE FROM llm_reservations WHERE id = $14::bigint), "
    "m AS (INSERT INTO messages (conversation_id, user_id, role, "
    "content, model_used, provider, prompt_tokens, completion_tokens, "
    "total_tokens, usage_estimated, latency_ms, trace_id, citations) "
    "VALUES ($1, $2, 'assistant', $3, $4, $5, $6, $7, $8, $9, $10, $11, "
    "$12::jsonb) RETURNING *), "
    "c AS (INSERT INTO llm_calls (user_id, kind, provider, model, "
    "prompt_tokens, completion_tokens, total_tokens, usage_estimated, "
    "latency_ms, attempts, status, conversation_id, message_id, "
    "trace_id) SELECT $2, 'chat', $5, $4, $6, $7, $8, $9, $10, $13, "
    "'ok', $1, m.id, $11 FROM m), "
    "u AS (UPDATE conversations SET last_message_at = now(), "
    "updated_at = now() WHERE id = $1) "
    "SELECT chat_message_json(m::messages) FROM m";

/* A failed call: in the ledger, and on the user's message. */
static const char sql_chat_failed[] =
    "WITH r AS (DELETE FROM llm_reservations WHERE id = $11::bigint), "
    "c AS (INSERT INTO llm_calls (user_id, kind, provider, model, "
    "latency_ms, attempts, status, error_code, conversation_id, "
    "message_id, trace_id) VALUES ($1, 'chat', $2, $3, $4, $5, "
    "'failed', $6, $7, $8, $9)), "
    "u AS (UPDATE messages SET status = 'failed', error_code = $10 "
    "WHERE id = $8) "
    "SELECT 1";

/* ---- models --------------------------------------------------------- */

static json_t *
chat_provider_json(enum llm_provider p)
{
	const char	*list, *dflt;
	json_t		*models;
	char		 word[LLM_MAX_MODEL_LEN + 1];
	size_t		 n;

	dflt = llm_default_model(p);
	list = p == LLM_PROVIDER_GEMINI ? cfg.gemini_models :
	    cfg.openai_models;
	models = json_array();
	(void)json_array_append_new(models, json_string(dflt));
	while (*list != '\0') {
		list += strspn(list, ", ");
		n = strcspn(list, ", ");
		if (n > 0 && n < sizeof(word)) {
			memcpy(word, list, n);
			word[n] = '\0';
			if (strcmp(word, dflt) && json_is_string(
			    json_string(word)))
				(void)json_array_append_new(models,
				    json_string(word));
		}
		list += n;
	}
	return (json_pack("{s:s, s:s, s:o}", "name",
	    llm_codec(p)->name, "default_model", dflt, "models", models));
}

static int
chat_models(struct http_request *req, struct rq *rq)
{
	json_t		*providers, *data;
	int		 dflt_ok;

	providers = json_array();
	if (config_ai_configured(&cfg, "openai"))
		(void)json_array_append_new(providers,
		    chat_provider_json(LLM_PROVIDER_OPENAI));
	if (config_ai_configured(&cfg, "gemini"))
		(void)json_array_append_new(providers,
		    chat_provider_json(LLM_PROVIDER_GEMINI));
	dflt_ok = config_ai_configured(&cfg, cfg.ai_provider);
	data = json_pack("{s:b, s:s?, s:o}", "configured",
	    json_array_size(providers) > 0, "default_provider",
	    dflt_ok ? cfg.ai_provider : NULL, "providers", providers);
	return (rq_ok(req, rq, 200, "Models", data));
}

/* ---- POST /chat ----------------------------------------------------- */

static int
chat_post(struct http_request *req, struct rq *rq)
{
	struct chat_st	*st;

	st = rq_state(rq, sizeof(*st), chat_st_free);
	switch (rq->step) {
	case 0:
		return (chat_input(req, rq, st));
	case 1:
		return (chat_check(req, rq, st));
	case 2:
		return (chat_call(req, rq, st));
	default:
		if (st->turn->phase != CHAT_STORED) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		return (chat_finish(req, rq, st->turn));
	}
}

/* Validate, pick provider and model, then check quota and ownership. */
static int
chat_input(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	struct verr	 v;
	json_t		*body, *a, *it;
	const char	*params[5], *pname, *model, *accept, *s;
	char		 quota[CHAT_NUM], est[CHAT_NUM], ttl[CHAT_NUM];
	char		 num[CHAT_NUM];
	size_t		 i, off;
	int		 stream, present, explicit, retry;

	if (rq_json(req, rq, &body) != KORE_RESULT_OK)
		return (KORE_RESULT_OK);
	verr_init(&v);
	(void)jsonx_get_str(body, "content", JF_REQUIRED | JF_NOTBLANK,
	    CHAT_CONTENT_MIN, CHAT_CONTENT_MAX, &v, &st->content);
	if (jsonx_get_str(body, "conversation_id", JF_NULLABLE, 1,
	    UUID_STRLEN, &v, &st->conv_id) && st->conv_id != NULL &&
	    !uuid_valid(st->conv_id))
		verr_add(&v, "conversation_id", "invalid",
		    "conversation_id must be a UUID");

	off = 0;
	st->docs[off++] = '{';
	a = json_object_get(body, "document_ids");
	if (a != NULL && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) > CHAT_MAX_DOCS)
			verr_add(&v, "document_ids", "invalid",
			    "document_ids must be a list of at most %d "
			    "document ids", CHAT_MAX_DOCS);
		else {
			json_array_foreach(a, i, it) {
				s = json_string_value(it);
				if (s == NULL || !uuid_valid(s)) {
					verr_add(&v, "document_ids", "invalid",
					    "document_ids must hold UUIDs");
					break;
				}
				off += (size_t)snprintf(st->docs + off,
				    sizeof(st->docs) - off, "%s%s",
				    i ? "," : "", s);
			}
		}
	}
	(void)snprintf(st->docs + off, sizeof(st->docs) - off, "}");

	a = json_object_get(body, "sources");
	if (a != NULL && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) >
		    PROMPT_MAX_SOURCES)
			verr_add(&v, "sources", "invalid",
			    "sources must be a list of at most %d strings",
			    PROMPT_MAX_SOURCES);
		else {
			json_array_foreach(a, i, it) {
				s = json_string_value(it);
				if (s == NULL ||
				    jsonx_codepoints(s) > CHAT_SOURCE_MAX) {
					verr_add(&v, "sources", "invalid",
					    "each source must be a string of "
					    "at most %d characters",
					    CHAT_SOURCE_MAX);
					break;
				}
			}
			st->sources = a;
		}
	}

	pname = model = NULL;
	(void)jsonx_get_enum(body, "provider", JF_NULLABLE,
	    (const char *const[]){ "openai", "gemini", NULL }, &v, &pname);
	(void)jsonx_get_str(body, "model", JF_NULLABLE, 1, LLM_MAX_MODEL_LEN,
	    &v, &model);
	stream = 0;
	present = 0;
	(void)jsonx_get_bool(body, "stream", JF_NULLABLE, &v, &stream,
	    &present);
	accept = rq_header(req, "accept");
	if (!present && accept != NULL &&
	    strstr(accept, "text/event-stream") != NULL)
		stream = 1;
	st->stream = stream;
	if (verr_count(&v))
		return (rq_invalid(req, rq, &v));

	/* No provider at all: everything else works, chat answers 503. */
	if (!config_ai_configured(&cfg, "openai") &&
	    !config_ai_configured(&cfg, "gemini")) {
		verr_clear(&v);
		return (rq_error(req, rq, 503, "ai_not_configured",
		    "No AI provider is configured", NULL));
	}
	explicit = pname != NULL;
	if (pname == NULL)
		pname = cfg.ai_provider;
	if (llm_provider_parse(pname, &st->prov) != 0 ||
	    !config_ai_configured(&cfg, pname)) {
		if (!explicit) {
			verr_clear(&v);
			return (rq_error(req, rq, 503, "ai_not_configured",
			    "The default AI provider is not configured",
			    NULL));
		}
		verr_add(&v, "provider", "not_configured",
		    "provider %s is not configured", pname);
		return (rq_invalid(req, rq, &v));
	}
	if (model == NULL)
		model = llm_default_model(st->prov);
	else if (!llm_model_allowed(st->prov, model)) {
		verr_add(&v, "model", "not_allowed",
		    "model is not offered by provider %s (see /chat/models)",
		    pname);
		return (rq_invalid(req, rq, &v));
	}
	verr_clear(&v);
	if (!circuit_allow(circuit_llm(st->prov), &st->probe, &retry)) {
		(void)snprintf(num, sizeof(num), "%d", retry);
		http_response_header(req, "retry-after", num);
		return (rq_error(req, rq, 503, "ai_unavailable", "The AI "
		    "provider is failing; try again later", json_pack(
		    "{s:s, s:i}", "provider", pname, "retry_after", retry)));
	}
	(void)kore_strlcpy(st->provider, pname, sizeof(st->provider));
	(void)kore_strlcpy(st->model, model, sizeof(st->model));

	(void)snprintf(quota, sizeof(quota), "%d",
	    cfg.default_daily_token_quota);
	(void)snprintf(est, sizeof(est), "%ld",
	    llm_estimate_tokens(strlen(prompt_system()) + strlen(st->content) +
	    CHAT_RESERVE_CONTEXT) + LLM_RESERVE_COMPLETION);
	(void)snprintf(ttl, sizeof(ttl), "%d", cfg.ai_timeout_s + 60);
	params[0] = rq->user.id;
	params[1] = quota;
	params[2] = st->conv_id;
	params[3] = est;
	params[4] = ttl;
	db_start(req, &rq->q, sql_chat_check, 5, params);
	rq->step = 1;
	return (chat_check(req, rq, st));
}

/* Quota and ownership known: store the user's message. */
static int
chat_check(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	const char	*params[8], *s;
	char		 title[CHAT_AUTO_TITLE * 4 + 1], lim[CHAT_NUM];
	char		 hist[CHAT_NUM];
	long long	 quota, used;
	size_t		 n;
	int		 r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL || db_rows(&rq->q) != 1)
		return (rq_db_error(req, rq));
	if ((s = db_val(&rq->q, 0, 3)) == NULL || strcmp(s, "t"))
		return (rq_not_found(req, rq));
	quota = strtoll(db_val(&rq->q, 0, 0) ? db_val(&rq->q, 0, 0) : "0",
	    NULL, 10);
	used = strtoll(db_val(&rq->q, 0, 1), NULL, 10);
	(void)kore_strlcpy(st->resv, db_val(&rq->q, 0, 4) ?
	    db_val(&rq->q, 0, 4) : "0", sizeof(st->resv));
	if (strcmp(st->resv, "-1") == 0) {
		http_response_header(req, "retry-after", db_val(&rq->q, 0, 2));
		return (rq_error(req, rq, 429, "quota_exceeded",
		    "Daily token quota exceeded", json_pack("{s:I, s:I}",
		    "quota_daily", (json_int_t)quota, "used_today",
		    (json_int_t)used)));
	}

	/* Title of a new conversation: the first characters, one line. */
	n = chat_clip(st->content, CHAT_AUTO_TITLE);
	while (n > 0 && (st->content[n - 1] == ' ' ||
	    st->content[n - 1] == '\n' || st->content[n - 1] == '\r' ||
	    st->content[n - 1] == '\t'))
		n--;
	memcpy(title, st->content, n);
	title[n] = '\0';
	for (s = title; *s != '\0'; s++) {
		if (*s == '\n' || *s == '\r' || *s == '\t')
			title[s - title] = ' ';
	}
	if (strspn(title, " ") == n)
		(void)kore_strlcpy(title, CHAT_DEFAULT_TITLE, sizeof(title));
	(void)snprintf(lim, sizeof(lim), "%d", PROMPT_MAX_EXCERPTS);
	(void)snprintf(hist, sizeof(hist), "%d", PROMPT_MAX_HISTORY);
	params[0] = rq->user.id;
	params[1] = st->conv_id;
	params[2] = title;
	params[3] = st->content;
	params[4] = rq->trace.id;
	params[5] = st->docs;
	params[6] = lim;
	params[7] = hist;
	db_start(req, &rq->q, sql_chat_user, 8, params);
	rq->step = 2;
	return (chat_call(req, rq, st));
}

/* The user's message is stored: build the prompt and call. */
static int
chat_call(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	struct prompt_input	 in;
	struct prompt		 pr;
	struct prompt_excerpt	 ex[PROMPT_MAX_EXCERPTS];
	struct llm_msg		 hist[PROMPT_MAX_HISTORY];
	const char		*srcs[PROMPT_MAX_SOURCES];
	struct chat_turn	*t;
	json_t			*history, *excerpts, *it, *c;
	const char		*role, *text;
	enum llm_err		 rc;
	size_t			 i, n;
	int			 r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL || db_rows(&rq->q) != 1)
		return (rq_db_error(req, rq));

	t = kore_calloc(1, sizeof(*t));
	t->refs = 1;
	t->req = req;
	t->stream = st->stream;
	t->circuit = circuit_llm(st->prov);
	t->probe = st->probe;
	st->turn = t;
	(void)kore_strlcpy(t->user_id, rq->user.id, sizeof(t->user_id));
	(void)kore_strlcpy(t->conv_id, db_val(&rq->q, 0, 0),
	    sizeof(t->conv_id));
	(void)kore_strlcpy(t->umsg_id, db_val(&rq->q, 0, 2),
	    sizeof(t->umsg_id));
	(void)kore_strlcpy(t->trace, rq->trace.id, sizeof(t->trace));
	(void)kore_strlcpy(t->provider, st->provider, sizeof(t->provider));
	(void)kore_strlcpy(t->model, st->model, sizeof(t->model));
	(void)kore_strlcpy(t->resv, st->resv, sizeof(t->resv));
	t->user_message = json_loads(db_val(&rq->q, 0, 1), 0, NULL);
	history = json_loads(db_val(&rq->q, 0, 3), 0, NULL);
	excerpts = json_loads(db_val(&rq->q, 0, 4), 0, NULL);

	memset(&in, 0, sizeof(in));
	n = 0;
	json_array_foreach(history, i, it) {
		if (n == PROMPT_MAX_HISTORY)
			break;
		role = json_string_value(json_object_get(it, "role"));
		text = json_string_value(json_object_get(it, "content"));
		if (role == NULL || text == NULL)
			continue;
		hist[n].role = strcmp(role, "assistant") ?
		    LLM_ROLE_USER : LLM_ROLE_ASSISTANT;
		hist[n++].content = text;
	}
	in.history = hist;
	in.nhistory = n;

	/* Document excerpts: whatever chat_context_chunks() found. */
	n = 0;
	json_array_foreach(excerpts, i, it) {
		if (n == PROMPT_MAX_EXCERPTS)
			break;
		text = json_string_value(json_object_get(it, "content"));
		if (text == NULL)
			continue;
		ex[n].filename = json_string_value(json_object_get(it,
		    "filename"));
		if (ex[n].filename == NULL)
			ex[n].filename = "document";
		ex[n].chunk_index = (int)json_integer_value(
		    json_object_get(it, "chunk_index"));
		ex[n].page_start = (int)json_integer_value(
		    json_object_get(it, "page_start"));
		ex[n].page_end = (int)json_integer_value(
		    json_object_get(it, "page_end"));
		ex[n++].text = text;
	}
	in.excerpts = ex;
	in.nexcerpts = n;

	n = 0;
	json_array_foreach(st->sources, i, it) {
		if (n < PROMPT_MAX_SOURCES && json_is_string(it))
			srcs[n++] = json_string_value(it);
	}
	in.sources = srcs;
	in.nsources = n;
	in.user_message = st->content;

	t->job = NULL;
	rc = LLM_ERR_INVALID;
	if (prompt_build(&in, &pr) == PROMPT_OK) {
		pr.req.model = st->model;
		pr.req.stream = st->stream;
		pr.req.temperature = -1;
		pr.req.max_tokens = 0;
		pr.req.json_mode = 0;
		t->job = llm_job_new(st->prov, &pr.req, &rc);

		/* Citations: the excerpts that made it into the prompt. */
		t->citations = json_array();
		for (i = 0; i < pr.nexcerpts_used; i++) {
			it = json_array_get(excerpts, i);
			text = json_string_value(json_object_get(it,
			    "content"));
			c = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:O?, "
			    "s:O?, s:s%}",
			    "document_id", json_object_get(it, "document_id"),
			    "filename", json_object_get(it, "filename"),
			    "chunk_index", json_object_get(it, "chunk_index"),
			    "start_char", json_object_get(it, "start_char"),
			    "end_char", json_object_get(it, "end_char"),
			    "page_start", json_object_get(it, "page_start"),
			    "page_end", json_object_get(it, "page_end"),
			    "snippet", text ? text : "",
			    text ? chat_clip(text, CHAT_SNIPPET) : 0);
			if (c != NULL)
				(void)json_array_append_new(t->citations, c);
		}
		prompt_free(&pr);
	}
	json_decref(history);
	json_decref(excerpts);
	if (t->citations == NULL)
		t->citations = json_array();

	t->refs++;		/* the call and the storing after it */
	rq->step = 3;
	if (t->job == NULL) {
		/* Recorded like a failed call, then answered. */
		kore_log(LOG_NOTICE, "chat: cannot build the request: %s",
		    llm_err_name(rc));
		t->code = rc;
		chat_store(t, NULL);
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	if (tracing_enabled()) {
		tracing_request_parent(rq, &t->span_parent);
		t->start_ns = tracing_now_ns();
		if (tracing_capture())
			t->prompt = kore_strdup(st->content);
	}
	t->job->arg = t;
	t->job->on_done = chat_on_done;
	t->job->on_delta = t->stream ? chat_on_delta : NULL;
	t->phase = CHAT_CALLING;
	if (t->stream) {
		rq_sse_open(req, rq);
		t->sse_open = 1;
	}
	llm_job_submit(t->job);
	rq->step = 3;
	http_request_sleep(req);
	return (KORE_RESULT_RETRY);
}

/* Streamed text from the provider thread: one delta event. */
static void
chat_on_delta(struct llm_job *job, const char *text, size_t len)
{
	struct chat_turn	*t = job->arg;
	json_t			*d;

	if (t->req == NULL || !t->sse_open)
		return;
	d = json_pack("{s:s%}", "content", text, len);
	if (d != NULL)
		rq_sse_event(t->req, "delta", d);
	json_decref(d);
}

/* The provider call ended, on the event loop. */
static void
chat_on_done(struct llm_job *job)
{
	struct chat_turn	*t = job->arg;

	t->code = job->code;
	chat_span(t, job);
	circuit_record(t->circuit, circuit_llm_ok(job->code), t->probe);
	chat_store(t, job);
}

/* The provider call as a span under the request's. */
static void
chat_span(struct chat_turn *t, struct llm_job *job)
{
	struct otel_llm		l;

	if (t->start_ns == 0)
		return;
	memset(&l, 0, sizeof(l));
	l.provider = t->provider;
	l.request_model = t->model;
	l.response_model = job->res.model;
	l.kind = "chat";
	l.err = job->code;
	l.end_ns = tracing_now_ns();
	l.start_ns = l.end_ns - job->latency_ms * 1000000ULL;
	if (l.start_ns < t->start_ns)
		l.start_ns = t->start_ns;
	l.prompt_tokens = job->res.prompt_tokens;
	l.completion_tokens = job->res.completion_tokens;
	l.finish_reason = job->res.finish_reason;
	l.attempts = job->tries;
	l.user_id = t->user_id;
	l.conversation_id = t->conv_id;
	l.step_index = -1;
	l.prompt = t->prompt;
	l.completion = job->res.content;
	tracing_emit_llm(&t->span_parent, &l);
}

/*
 * Store the outcome (job NULL: the call never started) with a query of
 * our own: the request may be gone already.
 */
static void
chat_store(struct chat_turn *t, struct llm_job *job)
{
	struct llm_result	*res;
	const char		*params[14];
	char			 pt[CHAT_NUM], ct[CHAT_NUM], tt[CHAT_NUM];
	char			 lat[CHAT_NUM], tries[CHAT_NUM];
	char			*cit;

	t->phase = CHAT_STORING;
	(void)snprintf(lat, sizeof(lat), "%llu",
	    job ? (unsigned long long)job->latency_ms : 0ULL);
	(void)snprintf(tries, sizeof(tries), "%d", job ? job->tries : 0);

	if (t->code != LLM_OK) {
		params[0] = t->user_id;
		params[1] = t->provider;
		params[2] = t->model;
		params[3] = lat;
		params[4] = tries;
		params[5] = llm_err_name(t->code);
		params[6] = t->conv_id;
		params[7] = t->umsg_id;
		params[8] = t->trace;
		params[9] = chat_err_code(t->code);
		params[10] = t->resv;
		dbcb_start(sql_chat_failed, 11, params, chat_stored, t);
		return;
	}

	res = &job->res;
	(void)snprintf(pt, sizeof(pt), "%ld", res->prompt_tokens);
	(void)snprintf(ct, sizeof(ct), "%ld", res->completion_tokens);
	(void)snprintf(tt, sizeof(tt), "%ld", res->total_tokens);
	cit = json_dumps(t->citations, JSON_COMPACT);
	params[0] = t->conv_id;
	params[1] = t->user_id;
	params[2] = res->content ? res->content : "";
	params[3] = t->model;
	params[4] = t->provider;
	params[5] = pt;
	params[6] = ct;
	params[7] = tt;
	params[8] = res->usage_estimated ? "true" : "false";
	params[9] = lat;
	params[10] = t->trace;
	params[11] = cit ? cit : "[]";
	params[12] = tries;
	params[13] = t->resv;
	dbcb_start(sql_chat_answer, 14, params, chat_stored, t);
	free(cit);
}

/* The outcome is stored (or storing failed): wake the request, if any. */
static void
chat_stored(void *arg, int ok, PGresult *res)
{
	struct chat_turn	*t = arg;

	t->store_ok = ok;
	if (ok && t->code == LLM_OK && res != NULL && PQntuples(res) == 1)
		t->message = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
	if (t->code == LLM_OK && t->message == NULL)
		t->store_ok = 0;
	t->phase = CHAT_STORED;
	if (t->req != NULL)
		http_request_wakeup(t->req);
	chat_turn_unref(t);
}

static json_t *
chat_payload(struct chat_turn *t)
{
	struct llm_result	*r = &t->job->res;

	return (json_pack("{s:s, s:O, s:O, s:{s:I, s:I, s:I}, s:O}",
	    "conversation_id", t->conv_id,
	    "user_message", t->user_message ? t->user_message : json_null(),
	    "message", t->message,
	    "usage", "prompt_tokens", (json_int_t)r->prompt_tokens,
	    "completion_tokens", (json_int_t)r->completion_tokens,
	    "total_tokens", (json_int_t)r->total_tokens,
	    "citations", t->citations));
}

/* Answer the request once the outcome is stored. */
static int
chat_finish(struct http_request *req, struct rq *rq, struct chat_turn *t)
{
	const char	*code, *msg;
	json_t		*d;
	int		 status;

	if (t->code == LLM_OK && t->store_ok) {
		if (!t->sse_open)
			return (rq_ok(req, rq, 200, "Answer", chat_payload(t)));
		d = chat_payload(t);
		rq_sse_event(req, "done", d);
		json_decref(d);
	} else {
		if (t->code != LLM_OK) {
			code = chat_err_code(t->code);
			msg = chat_err_message(t->code);
			status = llm_err_http_status(t->code);
		} else {
			code = "internal_error";
			msg = "The answer could not be stored";
			status = 500;
		}
		if (!t->sse_open) {
			return (rq_error(req, rq, status, code, msg,
			    json_pack("{s:s, s:s}", "conversation_id",
			    t->conv_id, "user_message_id", t->umsg_id)));
		}
		d = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s}", "code", code,
		    "message", msg, "status", status, "request_id", rq->id,
		    "conversation_id", t->conv_id, "user_message_id",
		    t->umsg_id);
		rq_sse_event(req, "error", d);
		json_decref(d);
	}
	rq_sse_raw(req, NULL, 0);
	return (KORE_RESULT_OK);
}

static const char *
chat_err_code(enum llm_err e)
{
	switch (llm_err_http_status(e)) {
	case 504:
		return ("ai_timeout");
	case 500:
		return ("internal_error");
	default:
		return ("ai_upstream_error");
	}
}

static const char *
chat_err_message(enum llm_err e)
{
	switch (llm_err_http_status(e)) {
	case 504:
		return ("The AI provider did not answer in time");
	case 500:
		return ("Internal server error");
	default:
		return ("The AI provider failed to answer");
	}
}

/* ---- the turn's lifetime ------------------------------------------- */

static void
chat_st_free(void *arg)
{
	struct chat_st	*st = arg;

	if (st->turn != NULL) {
		st->turn->req = NULL;
		chat_turn_unref(st->turn);
		st->turn = NULL;
	}
}

static void
chat_turn_unref(struct chat_turn *t)
{
	if (--t->refs > 0)
		return;
	if (t->job != NULL)
		llm_job_release(t->job);
	json_decref(t->user_message);
	json_decref(t->citations);
	json_decref(t->message);
	kore_free(t->prompt);
	kore_free(t);
}

/* Bytes of the first max code points of s. */
static size_t
chat_clip(const char *s, size_t max)
{
	size_t	i, n;

	n = 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == max)
				break;
			n++;
		}
	}
	return (i);
}
