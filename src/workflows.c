/*
 * Workflows (docs/API.md §7): the seeded legal templates, and executions of
 * them.  POST /executions checks the input against the template's
 * input_schema (lib/jschema.h) and the caller's daily token quota, then
 * stores the execution, its steps and the job of its first step in one
 * statement (202).  The job runner (cmd/jobs/workflow.c) runs the steps,
 * one job and one provider call each.  Cancel marks the execution, drops
 * its queued job and NOTIFYs the runner, which aborts a call in flight.
 * GET /executions/{id}/events streams the progress as Server-Sent Events.
 * Everything is scoped to the caller: another user's execution is 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "audit.h"
#include "lib/jschema.h"
#include "lib/uuid.h"

#define WF_TEMPLATE_MAX		64	/* code points of a template name */
#define WF_MAX_DOCS		20
#define WF_SEG_EXEC		4	/* /api/v1/workflows/executions/ID */
/* The event stream: how often it looks, when it pings, when it ends. */
#define WF_EV_POLL_MS		300
#define WF_EV_PING_MS		15000
#define WF_EV_MAX_MS		(3600 * 1000)
#define WF_EV_MAX_STEPS		32

enum wf_ev_step {
	WF_EV_QUERY = 1,	/* the execution's state asked for */
	WF_EV_WAIT		/* asleep until the timer */
};

/* What a client of the event stream has been told. */
struct wf_ev {
	struct http_request	*req;
	struct kore_timer	*timer;
	int			 open;
	u_int64_t		 started;
	u_int64_t		 last_sent;
	char			 sent[WF_EV_MAX_STEPS];	/* per step: 0, r, e */
};

static int	wf_templates(struct http_request *, struct rq *);
static int	wf_list(struct http_request *, struct rq *);
static int	wf_submit(struct http_request *, struct rq *);
static int	wf_get(struct http_request *, struct rq *);
static int	wf_cancel(struct http_request *, struct rq *);
static int	wf_submit_read(struct http_request *, struct rq *);
static int	wf_submit_checked(struct http_request *, struct rq *);
static int	wf_quota_ok(struct http_request *, struct rq *);
static int	wf_cancelled(struct http_request *, struct rq *);
static int	wf_exec_id(struct http_request *, char *, size_t);
static void	wf_doc_ids(json_t *, struct verr *);
static int	wf_events(struct http_request *, struct rq *);
static int	wf_ev_state(struct http_request *, struct rq *,
		    struct wf_ev *);
static void	wf_ev_steps(struct http_request *, struct wf_ev *, json_t *);
static int	wf_ev_sleep(struct http_request *, struct rq *,
		    struct wf_ev *);
static void	wf_ev_tick(void *, u_int64_t);
static void	wf_ev_free(void *);

ROUTE(page_wf_templates, "/api/v1/workflows/templates",
    { HTTP_METHOD_GET, wf_templates, RQ_USER })
ROUTE(page_wf_executions, "/api/v1/workflows/executions",
    { HTTP_METHOD_GET, wf_list, RQ_USER },
    { HTTP_METHOD_POST, wf_submit, RQ_USER })
ROUTE(page_wf_execution, "/api/v1/workflows/executions/{execution_id}",
    { HTTP_METHOD_GET, wf_get, RQ_USER })
ROUTE(page_wf_events, "/api/v1/workflows/executions/{execution_id}/events",
    { HTTP_METHOD_GET, wf_events, RQ_USER | RQ_NOLIMIT })
ROUTE(page_wf_cancel, "/api/v1/workflows/executions/{execution_id}/cancel",
    { HTTP_METHOD_POST, wf_cancel, RQ_USER })

static const char sql_templates[] =
    "SELECT json_build_object('items', coalesce(json_agg("
    "workflow_template_json(t) ORDER BY t.position, t.name), '[]'::json), "
    "'total', count(*)) FROM workflow_templates t";

/* $1 template, $2 user, $3 default quota. */
static const char sql_template[] =
    "SELECT t.input_schema::text, coalesce(u.token_quota_daily, "
    "$3::bigint), llm_tokens_committed(u.id), "
    "ceil(extract(epoch FROM (date_trunc('day', now() AT TIME ZONE 'UTC')"
    " + interval '1 day') - (now() AT TIME ZONE 'UTC')))::bigint "
    "FROM users u LEFT JOIN workflow_templates t ON t.name = $1 "
    "WHERE u.id = $2";

/*
 * $1 user, $2 template, $3 input, $4 queue, $5 max attempts, $6 ip,
 * $7 user agent.  The execution, a row per step copied from the
 * template, the first step's job and the audit row commit together.
 */
static const char sql_submit[] =
    "WITH t AS (SELECT name, steps FROM workflow_templates "
    "WHERE name = $2), "
    "e AS (INSERT INTO workflow_executions (user_id, template, input, "
    "total_steps) SELECT $1, t.name, $3::jsonb, "
    "jsonb_array_length(t.steps) FROM t RETURNING *), "
    "s AS (INSERT INTO workflow_steps (execution_id, step_index, name, "
    "type, prompt) SELECT e.id, x.o - 1, x.v->>'name', "
    "coalesce(x.v->>'type', 'llm'), coalesce(x.v->>'prompt', '') "
    "FROM e, t, jsonb_array_elements(t.steps) WITH ORDINALITY x(v, o) "
    "RETURNING *), "
    "j AS (INSERT INTO jobs (kind, queue, payload, max_attempts) "
    "SELECT 'workflow_step', $4, jsonb_build_object('execution_id', "
    "e.id::text, 'step_index', 0), $5::int FROM e), "
    "a AS (" AUDIT_INSERT_FROM("$1::uuid", "'workflow_started'", "$6", "$7",
    "jsonb_build_object('execution_id', e.id, 'template', e.template, "
    "'total_steps', e.total_steps)", "e") ") "
    "SELECT (workflow_execution_json(e::workflow_executions, false)::jsonb "
    "|| jsonb_build_object('steps', (SELECT jsonb_agg("
    "workflow_step_json(s::workflow_steps)::jsonb ORDER BY s.step_index) "
    "FROM s)))::text FROM e";

/* $1 user, $2 status, $3 limit, $4 offset: newest first. */
static const char sql_list[] =
    "WITH f AS (SELECT e AS ex, e.id, e.created_at FROM "
    "workflow_executions e WHERE e.user_id = $1 "
    "AND ($2::text IS NULL OR e.status = $2)), "
    "p AS (SELECT * FROM f ORDER BY created_at DESC, id DESC "
    "LIMIT $3::int OFFSET $4::int) "
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "workflow_execution_json(p.ex, false) ORDER BY p.created_at DESC, "
    "p.id DESC) FROM p), '[]'::json), 'total', (SELECT count(*) FROM f), "
    "'limit', $3::int, 'offset', $4::int)";

static const char sql_get[] =
    "SELECT workflow_execution_json(e, true) FROM workflow_executions e "
    "WHERE e.id = $1 AND e.user_id = $2";

/*
 * $1 execution, $2 user, $3 ip, $4 user agent.  Answers the status it
 * had (NULL: not the caller's) and whether this call cancelled it.  The
 * queued job of the next step goes; a runner in the middle of a call
 * hears the NOTIFY and aborts it.
 */
static const char sql_cancel[] =
    "WITH x AS (SELECT status FROM workflow_executions "
    "WHERE id = $1 AND user_id = $2), "
    "e AS (UPDATE workflow_executions SET status = 'cancelled', "
    "cancel_requested = true, completed_at = now(), updated_at = now() "
    "WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'running') "
    "RETURNING id, user_id, template, current_step), "
    "s AS (UPDATE workflow_steps w SET status = 'cancelled', "
    "completed_at = CASE WHEN w.status = 'running' THEN now() END, "
    "error_message = CASE WHEN w.status = 'running' THEN 'cancelled' END "
    "FROM e WHERE w.execution_id = e.id "
    "AND w.status IN ('pending', 'running')), "
    "j AS (UPDATE jobs SET status = 'cancelled', finished_at = now(), "
    "updated_at = now() FROM e WHERE jobs.kind = 'workflow_step' "
    "AND jobs.status = 'queued' "
    "AND jobs.payload->>'execution_id' = e.id::text), "
    "n AS (SELECT pg_notify('workflow_cancel', e.id::text) FROM e), "
    "a AS (" AUDIT_INSERT_FROM("e.user_id", "'workflow_cancelled'", "$3",
    "$4", "jsonb_build_object('execution_id', e.id, 'template', "
    "e.template, 'current_step', e.current_step)", "e") ") "
    "SELECT (SELECT status FROM x), (SELECT count(*) FROM e), "
    "(SELECT count(*) FROM n)";

static int
wf_templates(struct http_request *req, struct rq *rq)
{
	if (rq->step == 0) {
		db_start(req, &rq->q, sql_templates, 0, NULL);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Workflow templates"));
}

static int
wf_list(struct http_request *req, struct rq *rq)
{
	const char	*p[4], *status;
	char		 l[RQ_NUM], o[RQ_NUM];

	if (rq->step == 0) {
		if (!q_page_text(req, rq, l, o))
			return (KORE_RESULT_OK);
		status = q_get(req, "status");
		p[0] = rq->user.id;
		p[1] = status;
		p[2] = l;
		p[3] = o;
		db_start(req, &rq->q, sql_list, 4, p);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Workflow executions"));
}

/* Check the body, look the template up, check the input, store. */
static int
wf_submit(struct http_request *req, struct rq *rq)
{
	int		r;

	if (rq->step == 0) {
		if (!wf_submit_read(req, rq))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!rq_polled_row(req, rq, &r))
			return (r);
		if (!wf_submit_checked(req, rq))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	return (rq_answer(req, rq, 202, "Workflow execution queued"));
}

/* The envelope of the body; the template looked up.  0: answered. */
static int
wf_submit_read(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*body, *input;
	const char	*name, *p[3];
	char		 quota[RQ_NUM];

	if (rq_json(req, rq, &body) != KORE_RESULT_OK)
		return (0);
	verr_init(&v);
	name = NULL;
	input = NULL;
	(void)jsonx_get_str(body, "template", JF_REQUIRED | JF_NOTBLANK, 1,
	    WF_TEMPLATE_MAX, &v, &name);
	(void)jsonx_get_object(body, "input", JF_REQUIRED, &v, &input);
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
	p[0] = name;
	p[1] = rq->user.id;
	p[2] = quota;
	db_start(req, &rq->q, sql_template, 3, p);
	return (1);
}

/*
 * The template is known (or not): check the input against its schema
 * and the quota, then store.  0 when it has answered.
 */
static int
wf_submit_checked(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*schema, *input;
	const char	*p[7];
	char		 att[RQ_NUM], ua[AUDIT_UA_SIZE], *in;

	verr_init(&v);
	if (db_isnull(&rq->q, 0, 0)) {
		verr_add(&v, "template", "unknown_template", "no template "
		    "named %s (see /api/v1/workflows/templates)",
		    json_string_value(json_object_get(rq->body, "template")));
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	input = json_object_get(rq->body, "input");
	schema = json_loads(db_val(&rq->q, 0, 0), 0, NULL);
	(void)jschema_check(schema, input, "input", &v);
	json_decref(schema);
	wf_doc_ids(input, &v);
	if (verr_count(&v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	if (!wf_quota_ok(req, rq))
		return (0);
	if ((in = json_dumps(input, JSON_COMPACT)) == NULL) {
		(void)rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL);
		return (0);
	}
	(void)snprintf(att, sizeof(att), "%d", cfg.job_max_attempts);
	p[0] = rq->user.id;
	p[1] = json_string_value(json_object_get(rq->body, "template"));
	p[2] = in;
	p[3] = cfg.job_queue;
	p[4] = att;
	p[5] = rq->ip[0] ? rq->ip : NULL;
	p[6] = audit_ua(req, ua, sizeof(ua));
	db_start(req, &rq->q, sql_submit, 7, p);
	free(in);
	return (1);
}

/* Today's tokens under the quota (columns 1-3 of the template row). */
static int
wf_quota_ok(struct http_request *req, struct rq *rq)
{
	long long	quota, used;

	quota = strtoll(db_val(&rq->q, 0, 1) ? db_val(&rq->q, 0, 1) : "0",
	    NULL, 10);
	used = strtoll(db_val(&rq->q, 0, 2), NULL, 10);
	if (quota > 0 && used >= quota) {
		http_response_header(req, "retry-after", db_val(&rq->q, 0, 3));
		(void)rq_error(req, rq, 429, "quota_exceeded",
		    "Daily token quota exceeded", json_pack("{s:I, s:I}",
		    "quota_daily", (json_int_t)quota, "used_today",
		    (json_int_t)used));
		return (0);
	}
	return (1);
}

/* input.document_ids, when the schema let it through: UUIDs only. */
static void
wf_doc_ids(json_t *input, struct verr *v)
{
	json_t		*a, *it;
	size_t		 i;

	a = json_object_get(input, "document_ids");
	if (a == NULL || json_is_null(a))
		return;
	if (!json_is_array(a) || json_array_size(a) > WF_MAX_DOCS) {
		verr_add(v, "input.document_ids", "invalid", "document_ids "
		    "must be a list of at most %d document ids", WF_MAX_DOCS);
		return;
	}
	json_array_foreach(a, i, it) {
		if (!json_is_string(it) || !uuid_valid(json_string_value(it))) {
			verr_add(v, "input.document_ids", "invalid",
			    "document_ids must hold UUIDs");
			return;
		}
	}
}

static int
wf_exec_id(struct http_request *req, char *id, size_t len)
{
	return (rq_path_id(req, WF_SEG_EXEC, id, len) && uuid_valid(id));
}

static int
wf_get(struct http_request *req, struct rq *rq)
{
	if (rq->step == 0) {
		if (!rq_owned(req, rq, WF_SEG_EXEC, sql_get))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Workflow execution"));
}

/* Cancel, then answer the execution as it now is. */
static int
wf_cancel(struct http_request *req, struct rq *rq)
{
	const char	*p[4];
	char		 id[40], ua[AUDIT_UA_SIZE];
	int		 r;

	if (rq->step == 0) {
		if (!wf_exec_id(req, id, sizeof(id)))
			return (rq_not_found(req, rq));
		p[0] = id;
		p[1] = rq->user.id;
		p[2] = rq->ip[0] ? rq->ip : NULL;
		p[3] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_cancel, 4, p);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!rq_polled_row(req, rq, &r))
			return (r);
		if (!wf_cancelled(req, rq))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	return (rq_answer(req, rq, 200, "Workflow execution cancelled"));
}

/* 404, 409 when it had finished, else the execution read again. */
static int
wf_cancelled(struct http_request *req, struct rq *rq)
{
	const char	*p[2], *was;
	char		 id[40];

	if ((was = db_val(&rq->q, 0, 0)) == NULL) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	if (strcmp(db_val(&rq->q, 0, 1), "0") == 0) {
		(void)rq_error(req, rq, 409, "conflict", "The execution has "
		    "finished already", json_pack("{s:s}", "status", was));
		return (0);
	}
	if (!wf_exec_id(req, id, sizeof(id))) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	p[0] = id;
	p[1] = rq->user.id;
	db_start(req, &rq->q, sql_get, 2, p);
	return (1);
}

/*
 * GET /executions/{id}/events: Server-Sent Events.  The handler reads the
 * execution every WF_EV_POLL_MS (a Kore timer wakes the sleeping request;
 * the loop stays free), and tells what changed since the last look:
 * `execution` (the whole state, first), `step_started`, `step_completed`,
 * `step_failed`, `step_cancelled`, then the final state as `completed`,
 * `failed` or `cancelled`, and the stream ends.  A comment line every
 * WF_EV_PING_MS keeps proxies from closing an idle stream.
 */
static int
wf_events(struct http_request *req, struct rq *rq)
{
	struct wf_ev	*ev;
	const char	*p[2];
	char		 id[40];

	ev = rq_state(rq, sizeof(*ev), wf_ev_free);
	if (rq->step == WF_EV_WAIT && ev->timer != NULL) {
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	}
	if (rq->step == 0 || rq->step == WF_EV_WAIT) {
		if (!wf_exec_id(req, id, sizeof(id)))
			return (rq_not_found(req, rq));
		if (rq->step == 0) {
			ev->req = req;
			ev->started = kore_time_ms();
		}
		p[0] = id;
		p[1] = rq->user.id;
		db_start(req, &rq->q, sql_get, 2, p);
		rq->step = WF_EV_QUERY;
	}
	return (wf_ev_state(req, rq, ev));
}

static int
wf_ev_state(struct http_request *req, struct rq *rq, struct wf_ev *ev)
{
	json_t		*e;
	const char	*st;
	int		 r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (!ev->open) {
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		if (db_rows(&rq->q) == 0)
			return (rq_not_found(req, rq));
	}
	if (r == DB_FAIL)		/* mid-stream: look again later */
		return (wf_ev_sleep(req, rq, ev));
	if (db_rows(&rq->q) == 0) {	/* deleted with its user */
		rq_sse_raw(req, NULL, 0);
		return (KORE_RESULT_OK);
	}
	if ((e = json_loads(db_val(&rq->q, 0, 0), 0, NULL)) == NULL)
		return (wf_ev_sleep(req, rq, ev));
	if (!ev->open) {
		rq_sse_open(req, rq);
		ev->open = 1;
		rq_sse_event(req, "execution", e);
		ev->last_sent = kore_time_ms();
	}
	wf_ev_steps(req, ev, e);
	st = json_string_value(json_object_get(e, "status"));
	if (st != NULL && (strcmp(st, "completed") == 0 ||
	    strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0)) {
		rq_sse_event(req, st, e);
		json_decref(e);
		rq_sse_raw(req, NULL, 0);
		return (KORE_RESULT_OK);
	}
	json_decref(e);
	if (kore_time_ms() - ev->started > WF_EV_MAX_MS) {
		rq_sse_raw(req, NULL, 0);
		return (KORE_RESULT_OK);
	}
	return (wf_ev_sleep(req, rq, ev));
}

/* One event per step whose state moved since the last look. */
static void
wf_ev_steps(struct http_request *req, struct wf_ev *ev, json_t *e)
{
	json_t		*s, *d;
	const char	*st, *name;
	size_t		 i;

	json_array_foreach(json_object_get(e, "steps"), i, s) {
		if (i >= WF_EV_MAX_STEPS)
			break;
		st = json_string_value(json_object_get(s, "status"));
		if (st == NULL || strcmp(st, "pending") == 0 ||
		    ev->sent[i] == 'e')
			continue;
		if (ev->sent[i] == 0 && (strcmp(st, "running") == 0 ||
		    json_is_string(json_object_get(s, "started_at")))) {
			d = json_pack("{s:O, s:O, s:O, s:s, s:O, s:O, s:O}",
			    "execution_id", json_object_get(e, "id"),
			    "step_index", json_object_get(s, "step_index"),
			    "name", json_object_get(s, "name"),
			    "status", "running",
			    "started_at", json_object_get(s, "started_at"),
			    "current_step", json_object_get(e, "current_step"),
			    "progress_percentage",
			    json_object_get(e, "progress_percentage"));
			if (d != NULL)
				rq_sse_event(req, "step_started", d);
			json_decref(d);
			ev->sent[i] = 'r';
			ev->last_sent = kore_time_ms();
		}
		if (strcmp(st, "running") == 0)
			continue;
		name = strcmp(st, "completed") == 0 ? "step_completed" :
		    strcmp(st, "failed") == 0 ? "step_failed" :
		    "step_cancelled";
		d = json_deep_copy(s);
		(void)json_object_set(d, "execution_id",
		    json_object_get(e, "id"));
		(void)json_object_set(d, "current_step",
		    json_object_get(e, "current_step"));
		(void)json_object_set(d, "progress_percentage",
		    json_object_get(e, "progress_percentage"));
		rq_sse_event(req, name, d);
		json_decref(d);
		ev->sent[i] = 'e';
		ev->last_sent = kore_time_ms();
	}
}

static int
wf_ev_sleep(struct http_request *req, struct rq *rq, struct wf_ev *ev)
{
	static const char	ping[] = ": ping\n\n";

	if (kore_time_ms() - ev->last_sent >= WF_EV_PING_MS) {
		rq_sse_raw(req, ping, sizeof(ping) - 1);
		ev->last_sent = kore_time_ms();
	}
	ev->timer = kore_timer_add(wf_ev_tick, WF_EV_POLL_MS, ev,
	    KORE_TIMER_ONESHOT);
	rq->step = WF_EV_WAIT;
	http_request_sleep(req);
	return (KORE_RESULT_RETRY);
}

static void
wf_ev_tick(void *arg, u_int64_t now)
{
	struct wf_ev	*ev = arg;

	(void)now;
	ev->timer = NULL;	/* a one-shot timer is freed by Kore */
	if (ev->req != NULL)
		http_request_wakeup(ev->req);
}

static void
wf_ev_free(void *arg)
{
	struct wf_ev	*ev = arg;

	if (ev->timer != NULL)
		kore_timer_remove(ev->timer);
	ev->timer = NULL;
	ev->req = NULL;
}
