/*
 * Chat (docs/API.md §5): POST /chat, which stores the user's message, asks
 * the provider (src/llm_client.c) and stores the answer.  The models on
 * offer are src/llm_models.c.
 *
 * A chat turn outlives its request: the answer is stored by a query not
 * bound to the request (src/dbcb.c) whether or not the client is still
 * there, so a client that disconnects mid-stream finds the message
 * stored.  The turn (src/chat_turn.c) is reference counted: one
 * reference for the request, one for the provider call and the storing
 * that follows it.  Streamed answers are Server-Sent Events.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "chat.h"
#include "chat_turn.h"
#include "circuit.h"
#include "llm_models.h"
#include "lib/prompt.h"
#include "lib/utf8.h"
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

static int	chat_post(struct http_request *, struct rq *);

static int	chat_input(struct http_request *, struct rq *,
		    struct chat_st *);
static int	chat_check(struct http_request *, struct rq *,
		    struct chat_st *);
static void	chat_docs(struct chat_st *, json_t *, struct verr *);
static void	chat_sources(struct chat_st *, json_t *, struct verr *);
static int	chat_wants_stream(struct http_request *, json_t *,
		    struct verr *);
static int	chat_pick(struct http_request *, struct rq *,
		    struct chat_st *, struct verr *, const char *,
		    const char *);
static int	chat_breaker(struct http_request *, struct rq *,
		    struct chat_st *);
static void	chat_reserve(struct http_request *, struct rq *,
		    struct chat_st *);
static int	chat_call(struct http_request *, struct rq *,
		    struct chat_st *);
static struct chat_turn *chat_turn_new(struct http_request *, struct rq *,
		    struct chat_st *);
static enum llm_err chat_prompt(struct chat_turn *, struct chat_st *,
		    const char *, const char *);
static void	chat_st_free(void *);

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
		return (chat_turn_answer(req, rq, st->turn));
	}
}

/* Validate, pick provider and model, then check quota and ownership. */
static int
chat_input(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	struct verr	 v;
	json_t		*body;
	const char	*pname, *model;

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
	chat_docs(st, json_object_get(body, "document_ids"), &v);
	chat_sources(st, json_object_get(body, "sources"), &v);
	pname = model = NULL;
	(void)jsonx_get_enum(body, "provider", JF_NULLABLE,
	    (const char *const[]){ "openai", "gemini", NULL }, &v, &pname);
	(void)jsonx_get_str(body, "model", JF_NULLABLE, 1, LLM_MAX_MODEL_LEN,
	    &v, &model);
	st->stream = chat_wants_stream(req, body, &v);
	if (verr_count(&v))
		return (rq_invalid(req, rq, &v));
	if (!chat_pick(req, rq, st, &v, pname, model))
		return (KORE_RESULT_OK);
	verr_clear(&v);
	if (!chat_breaker(req, rq, st))
		return (KORE_RESULT_OK);
	chat_reserve(req, rq, st);
	rq->step = 1;
	return (chat_check(req, rq, st));
}

/* document_ids: at most CHAT_MAX_DOCS UUIDs, as a text[] literal. */
static void
chat_docs(struct chat_st *st, json_t *a, struct verr *v)
{
	json_t		*it;
	const char	*s;
	size_t		 i, off;

	off = 0;
	st->docs[off++] = '{';
	if (a != NULL && !json_is_null(a)) {
		if (!json_is_array(a) || json_array_size(a) > CHAT_MAX_DOCS)
			verr_add(v, "document_ids", "invalid",
			    "document_ids must be a list of at most %d "
			    "document ids", CHAT_MAX_DOCS);
		else {
			json_array_foreach(a, i, it) {
				s = json_string_value(it);
				if (s == NULL || !uuid_valid(s)) {
					verr_add(v, "document_ids", "invalid",
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
}

/* sources: at most PROMPT_MAX_SOURCES strings of CHAT_SOURCE_MAX. */
static void
chat_sources(struct chat_st *st, json_t *a, struct verr *v)
{
	json_t		*it;
	const char	*s;
	size_t		 i;

	if (a == NULL || json_is_null(a))
		return;
	if (!json_is_array(a) || json_array_size(a) > PROMPT_MAX_SOURCES) {
		verr_add(v, "sources", "invalid",
		    "sources must be a list of at most %d strings",
		    PROMPT_MAX_SOURCES);
		return;
	}
	json_array_foreach(a, i, it) {
		s = json_string_value(it);
		if (s == NULL || jsonx_codepoints(s) > CHAT_SOURCE_MAX) {
			verr_add(v, "sources", "invalid", "each source must "
			    "be a string of at most %d characters",
			    CHAT_SOURCE_MAX);
			return;
		}
	}
	st->sources = a;
}

/* stream, or else an Accept of text/event-stream. */
static int
chat_wants_stream(struct http_request *req, json_t *body, struct verr *v)
{
	const char	*accept;
	int		 stream, present;

	stream = 0;
	present = 0;
	(void)jsonx_get_bool(body, "stream", JF_NULLABLE, v, &stream,
	    &present);
	accept = rq_header(req, "accept");
	if (!present && accept != NULL &&
	    strstr(accept, "text/event-stream") != NULL)
		stream = 1;
	return (stream);
}

/*
 * The provider (pname, else the default) and model (model, else the
 * provider's default): 1 to go on, 0 when the answer has been sent.
 */
static int
chat_pick(struct http_request *req, struct rq *rq, struct chat_st *st,
    struct verr *v, const char *pname, const char *model)
{
	int		explicit;

	/* No provider at all: everything else works, chat answers 503. */
	if (!config_ai_configured(&cfg, "openai") &&
	    !config_ai_configured(&cfg, "gemini")) {
		verr_clear(v);
		(void)rq_error(req, rq, 503, "ai_not_configured",
		    "No AI provider is configured", NULL);
		return (0);
	}
	explicit = pname != NULL;
	if (pname == NULL)
		pname = cfg.ai_provider;
	if (llm_provider_parse(pname, &st->prov) != 0 ||
	    !config_ai_configured(&cfg, pname)) {
		if (!explicit) {
			verr_clear(v);
			(void)rq_error(req, rq, 503, "ai_not_configured",
			    "The default AI provider is not configured",
			    NULL);
			return (0);
		}
		verr_add(v, "provider", "not_configured",
		    "provider %s is not configured", pname);
		(void)rq_invalid(req, rq, v);
		return (0);
	}
	if (model == NULL)
		model = llm_default_model(st->prov);
	else if (!llm_model_allowed(st->prov, model)) {
		verr_add(v, "model", "not_allowed",
		    "model is not offered by provider %s (see /chat/models)",
		    pname);
		(void)rq_invalid(req, rq, v);
		return (0);
	}
	(void)kore_strlcpy(st->provider, pname, sizeof(st->provider));
	(void)kore_strlcpy(st->model, model, sizeof(st->model));
	return (1);
}

/* The provider's breaker: 1 to call, 0 when 503 has been sent. */
static int
chat_breaker(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	char		num[CHAT_NUM];
	int		retry;

	if (circuit_allow(circuit_llm(st->prov), &st->probe, &retry))
		return (1);
	(void)snprintf(num, sizeof(num), "%d", retry);
	http_response_header(req, "retry-after", num);
	(void)rq_error(req, rq, 503, "ai_unavailable", "The AI provider is "
	    "failing; try again later", json_pack("{s:s, s:i}", "provider",
	    st->provider, "retry_after", retry));
	return (0);
}

/* Ownership and the quota reservation of the call's estimate. */
static void
chat_reserve(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	const char	*params[5];
	char		 quota[CHAT_NUM], est[CHAT_NUM], ttl[CHAT_NUM];

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

	if (!rq_polled_row(req, rq, &r))
		return (r);
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
	n = utf8_head(st->content, CHAT_AUTO_TITLE);
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
	struct chat_turn	*t;
	enum llm_err		 rc;
	int			 r;

	if (!rq_polled_row(req, rq, &r))
		return (r);

	t = chat_turn_new(req, rq, st);
	st->turn = t;
	rc = chat_prompt(t, st, db_val(&rq->q, 0, 3), db_val(&rq->q, 0, 4));
	t->refs++;		/* the call and the storing after it */
	rq->step = 3;
	if (t->job == NULL) {
		/* Recorded like a failed call, then answered. */
		kore_log(LOG_NOTICE, "chat: cannot build the request: %s",
		    llm_err_name(rc));
		t->code = rc;
		chat_turn_store(t, NULL);
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}

	if (tracing_enabled()) {
		tracing_request_parent(rq, &t->span_parent);
		t->start_ns = tracing_now_ns();
		if (tracing_capture())
			t->prompt = kore_strdup(st->content);
	}
	chat_turn_submit(req, rq, t);
	http_request_sleep(req);
	return (KORE_RESULT_RETRY);
}

/* The turn, from the request and the row that stored its message. */
static struct chat_turn *
chat_turn_new(struct http_request *req, struct rq *rq, struct chat_st *st)
{
	struct chat_turn	*t;

	t = kore_calloc(1, sizeof(*t));
	t->refs = 1;
	t->req = req;
	t->stream = st->stream;
	t->circuit = circuit_llm(st->prov);
	t->probe = st->probe;
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
	return (t);
}

/*
 * The prompt from the history and the excerpts the statement read (JSON
 * text), the provider job for it (t->job, NULL on failure: the reason
 * is returned) and the citations of the excerpts it kept.
 */
static enum llm_err
chat_prompt(struct chat_turn *t, struct chat_st *st, const char *hjson,
    const char *ejson)
{
	struct prompt_input	 in;
	struct prompt		 pr;
	struct prompt_excerpt	 ex[PROMPT_MAX_EXCERPTS];
	struct llm_msg		 hist[PROMPT_MAX_HISTORY];
	const char		*srcs[PROMPT_MAX_SOURCES];
	json_t			*history, *excerpts, *it;
	enum llm_err		 rc;
	size_t			 i;

	history = json_loads(hjson, 0, NULL);
	excerpts = json_loads(ejson, 0, NULL);
	memset(&in, 0, sizeof(in));
	in.history = hist;
	in.nhistory = prompt_history_json(history, hist, PROMPT_MAX_HISTORY);
	/* Document excerpts: whatever chat_context_chunks() found. */
	in.excerpts = ex;
	in.nexcerpts = prompt_excerpts_json(excerpts, ex,
	    PROMPT_MAX_EXCERPTS);
	json_array_foreach(st->sources, i, it) {
		if (in.nsources < PROMPT_MAX_SOURCES && json_is_string(it))
			srcs[in.nsources++] = json_string_value(it);
	}
	in.sources = srcs;
	in.user_message = st->content;

	rc = LLM_ERR_INVALID;
	if (prompt_build(&in, &pr) == PROMPT_OK) {
		pr.req.model = st->model;
		pr.req.stream = st->stream;
		pr.req.temperature = -1;
		pr.req.max_tokens = 0;
		pr.req.json_mode = 0;
		t->job = llm_job_new(st->prov, &pr.req, &rc);
		/* Citations: the excerpts that made it into the prompt. */
		t->citations = prompt_citations(excerpts, pr.nexcerpts_used,
		    CHAT_SNIPPET);
		prompt_free(&pr);
	}
	json_decref(history);
	json_decref(excerpts);
	if (t->citations == NULL)
		t->citations = json_array();
	return (rc);
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
