/*
 * A chat turn after its provider call is set up: the call, the storing
 * of its outcome, the answer.  Streaming answers go out as Server-Sent
 * Events over a chunked response written straight onto Kore's
 * connection: the headers when the provider call starts, one `delta`
 * event per piece of text as the provider thread reports it, then `done`
 * (or `error`) and the last chunk when the answer is stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat_turn.h"
#include "circuit.h"
#include "dbcb.h"

static json_t	*chat_payload(struct chat_turn *);
static void	chat_on_delta(struct llm_job *, const char *, size_t);
static void	chat_on_done(struct llm_job *);
static void	chat_span(struct chat_turn *, struct llm_job *);
static void	chat_stored(void *, int, PGresult *);
static const char *chat_err_code(enum llm_err);
static const char *chat_err_message(enum llm_err);

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

void
chat_turn_submit(struct http_request *req, struct rq *rq,
    struct chat_turn *t)
{
	t->job->arg = t;
	t->job->on_done = chat_on_done;
	t->job->on_delta = t->stream ? chat_on_delta : NULL;
	t->phase = CHAT_CALLING;
	if (t->stream) {
		rq_sse_open(req, rq);
		t->sse_open = 1;
	}
	llm_job_submit(t->job);
}

void
chat_turn_store(struct chat_turn *t, struct llm_job *job)
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

int
chat_turn_answer(struct http_request *req, struct rq *rq,
    struct chat_turn *t)
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

void
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
	chat_turn_store(t, job);
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
