/*
 * The workflow_step job: one step of a workflow execution, one provider
 * call.  Each step is its own job, so a step has its own lease and a
 * runner that dies mid-step loses only that step: the job is claimed
 * again after the lease and the step runs again, nothing before it.
 *
 * A step is stored by one statement, fenced on the job's lock (locked_by
 * and attempts) and on the execution still running at this step: the
 * output, the usage, the execution's progress, and the job of the next
 * step (or the final state and its audit row) commit together.  A runner
 * that lost its lease, or a step of a cancelled execution, stores
 * nothing.  Transient provider errors are retried inside the call
 * (WF_MAX_TRIES tries, honouring Retry-After); what still fails ends the
 * execution failed at this step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "lib/prompt.h"
#include "lib/utf8.h"

/* Tries of one step's provider call: the first and 3 retries. */
#define WF_MAX_TRIES		4
/* Document excerpts a step sees at most. */
#define WF_EXCERPTS		8
/* Bytes of the search text (prompt and input) used to pick excerpts. */
#define WF_QUERY_MAX		2000
/* Bytes of one input value or earlier output copied into a prompt. */
#define WF_VALUE_MAX		(48 * 1024)
#define WF_TEMPERATURE		0.2

struct wf_step {
	const char	*exec_id;
	int		 index;
	int		 total;
	char		 user_id[40];
	char		 template[64];
	char		 name[64];
	json_t		*input;
	json_t		*earlier;	/* [{name, output}] of steps before */
	char		*prompt;
	json_t		*excerpts;
	json_t		*citations;
};

static enum job_res	wf_run(struct jctx *, struct job *, struct jout *);
static enum job_res	wf_begin(struct jctx *, struct job *,
			    struct wf_step *, struct jout *);
static int		wf_prompt(struct wf_step *, const char *,
			    struct prompt_excerpt *, struct prompt *);
static enum job_res	wf_call_failed(struct jctx *, struct wf_step *,
			    enum llm_err, const struct llm_error *,
			    struct jout *);
static void		wf_failed(struct jctx *, struct job *, const char *);
static int		wf_load(struct jctx *, struct wf_step *);
static int		wf_excerpts(struct jctx *, struct wf_step *);
static char		*wf_message(const struct wf_step *);
static enum job_res	wf_store(struct jctx *, struct job *,
			    struct wf_step *, struct llm_result *,
			    struct jout *);
static json_t		*wf_final_output(const struct wf_step *,
			    const char *);
static size_t		 wf_clip(const char *);
static void		 wf_append(char **, size_t *, size_t *, const char *,
			    size_t);

const struct job_kind	job_kind_workflow_step = {
	"workflow_step", wf_run, wf_failed
};

/*
 * $1 execution, $2 step.  Only while the execution runs (or waits) at
 * this step and no cancel was asked for.
 */
static const char sql_start[] =
    "WITH e AS (UPDATE workflow_executions SET status = 'running', "
    "started_at = coalesce(started_at, now()), updated_at = now() "
    "WHERE id = $1 AND status IN ('pending', 'running') "
    "AND NOT cancel_requested AND current_step = $2::int "
    "RETURNING id, user_id, template, input, total_steps), "
    "s AS (UPDATE workflow_steps w SET status = 'running', "
    "started_at = now(), completed_at = NULL, "
    "attempts = w.attempts + 1, error_message = NULL FROM e "
    "WHERE w.execution_id = e.id AND w.step_index = $2::int "
    "RETURNING w.name, w.prompt) "
    "SELECT e.user_id, e.template, e.input::text, e.total_steps, s.name, "
    "s.prompt, (SELECT coalesce(json_agg(json_build_object('name', "
    "p.name, 'output', p.output) ORDER BY p.step_index), '[]'::json) "
    "FROM workflow_steps p WHERE p.execution_id = e.id "
    "AND p.step_index < $2::int)::text FROM e, s";

static const char sql_excerpts[] =
    "SELECT coalesce(json_agg(row_to_json(x)), '[]'::json)::text FROM "
    "doc_search_chunks($1::uuid, $2::uuid[], $3, $4::int) x";

/*
 * $1 execution, $2 step, $3 output, $4-$6 tokens, $7 citations, $8 job,
 * $9 runner, $10 attempts, $11 final output (the last step) or NULL,
 * $12 max attempts.
 */
static const char sql_store[] =
    "WITH j AS (SELECT queue FROM jobs WHERE id = $8::uuid "
    "AND locked_by = $9 AND attempts = $10::int AND status = 'running'), "
    "e AS (UPDATE workflow_executions SET "
    "current_step = $2::int + 1, updated_at = now(), "
    "status = CASE WHEN $2::int + 1 >= total_steps THEN 'completed' "
    "ELSE status END, "
    "output = CASE WHEN $2::int + 1 >= total_steps THEN $11::jsonb "
    "ELSE output END, "
    "completed_at = CASE WHEN $2::int + 1 >= total_steps THEN now() END "
    "WHERE id = $1 AND status = 'running' AND NOT cancel_requested "
    "AND current_step = $2::int AND EXISTS (SELECT 1 FROM j) "
    "RETURNING id, user_id, template, status, total_steps), "
    "s AS (UPDATE workflow_steps w SET status = 'completed', output = $3, "
    "prompt_tokens = $4::int, completion_tokens = $5::int, "
    "total_tokens = $6::int, citations = $7::jsonb, completed_at = now() "
    "FROM e WHERE w.execution_id = e.id AND w.step_index = $2::int), "
    "n AS (INSERT INTO jobs (kind, queue, payload, max_attempts) "
    "SELECT 'workflow_step', (SELECT queue FROM j), "
    "jsonb_build_object('execution_id', e.id::text, 'step_index', "
    "$2::int + 1), $12::int FROM e WHERE e.status = 'running'), "
    "a AS (INSERT INTO audit_events (user_id, event, details) "
    "SELECT e.user_id, 'workflow_completed', jsonb_build_object("
    "'execution_id', e.id, 'template', e.template, 'total_steps', "
    "e.total_steps) FROM e WHERE e.status = 'completed') "
    "SELECT status FROM e";

/* $1 execution, $2 step, $3 error.  The steps after it never run. */
static const char sql_fail[] =
    "WITH e AS (UPDATE workflow_executions SET status = 'failed', "
    "error_message = $3, error_step = $2::int, completed_at = now(), "
    "updated_at = now() WHERE id = $1 AND status IN ('pending', "
    "'running') RETURNING id, user_id, template), "
    "s AS (UPDATE workflow_steps w SET status = CASE WHEN "
    "w.step_index = $2::int THEN 'failed' ELSE 'cancelled' END, "
    "error_message = CASE WHEN w.step_index = $2::int THEN $3 END, "
    "completed_at = CASE WHEN w.step_index = $2::int THEN now() END "
    "FROM e WHERE w.execution_id = e.id AND w.step_index >= $2::int "
    "AND w.status IN ('pending', 'running')), "
    "a AS (INSERT INTO audit_events (user_id, event, details) "
    "SELECT e.user_id, 'workflow_failed', jsonb_build_object("
    "'execution_id', e.id, 'template', e.template, 'error_step', "
    "$2::int, 'error', $3) FROM e) "
    "SELECT count(*) FROM e";

/* A step whose call a cancel cut short: it ends cancelled, not failed. */
static const char sql_step_cancelled[] =
    "UPDATE workflow_steps SET status = 'cancelled', error_message = "
    "'cancelled', completed_at = now() WHERE execution_id = $1 "
    "AND step_index = $2::int AND status = 'running'";

static enum job_res
wf_run(struct jctx *c, struct job *j, struct jout *o)
{
	struct wf_step		 w;
	struct prompt		 pr;
	struct prompt_excerpt	 ex[WF_EXCERPTS];
	struct llm_result	 res;
	struct llm_error	 err;
	enum llm_err		 rc;
	enum job_res		 r;
	char			*msg = NULL;

	memset(&w, 0, sizeof(w));
	memset(&pr, 0, sizeof(pr));
	if ((r = wf_begin(c, j, &w, o)) != JOB_DONE || o->result != NULL)
		goto out;
	if (wf_excerpts(c, &w) == -1 || (msg = wf_message(&w)) == NULL) {
		jout_err(o, "database error reading the documents");
		r = JOB_RETRY;
		goto out;
	}
	if (wf_prompt(&w, msg, ex, &pr) == -1) {
		jout_err(o, "invalid_request: the step's prompt is too long");
		r = JOB_FAIL;
		goto out;
	}
	c->exec_id = w.exec_id;
	c->step_index = w.index;
	c->max_tries = WF_MAX_TRIES;
	rc = jllm_call(c, w.user_id, "workflow", &pr.req, &res, &err,
	    j->deadline);
	if (rc == LLM_OK)
		r = wf_store(c, j, &w, &res, o);
	else
		r = wf_call_failed(c, &w, rc, &err, o);
	llm_result_free(&res);
out:
	c->exec_id = NULL;
	prompt_free(&pr);
	free(msg);
	free(w.prompt);
	json_decref(w.input);
	json_decref(w.earlier);
	json_decref(w.excerpts);
	json_decref(w.citations);
	return (r);
}

/*
 * The payload and the step's row: JOB_DONE with o->result NULL to go
 * on; otherwise the job's outcome (JOB_DONE with a result: skipped).
 */
static enum job_res
wf_begin(struct jctx *c, struct job *j, struct wf_step *w, struct jout *o)
{
	json_t		*si;
	int		 l;

	w->exec_id = json_string_value(json_object_get(j->payload,
	    "execution_id"));
	si = json_object_get(j->payload, "step_index");
	if (w->exec_id == NULL || !json_is_integer(si)) {
		jout_err(o, "payload without execution_id and step_index");
		return (JOB_FAIL);
	}
	w->index = (int)json_integer_value(si);
	if (!jllm_configured()) {
		jout_err(o, "ai_not_configured: no AI provider is configured");
		return (JOB_FAIL);
	}
	if ((l = wf_load(c, w)) == 1)
		return (JOB_DONE);
	if (l == 0) {
		o->result = json_pack("{s:s}", "skipped", "execution "
		    "finished, cancelled or past this step");
		return (JOB_DONE);
	}
	jout_err(o, "database error");
	return (JOB_RETRY);
}

/*
 * The step's prompt (msg and the excerpts, which ex holds) and the
 * citations of the excerpts it kept: 0, or -1 when it cannot be built.
 */
static int
wf_prompt(struct wf_step *w, const char *msg, struct prompt_excerpt *ex,
    struct prompt *pr)
{
	struct prompt_input	in;

	memset(&in, 0, sizeof(in));
	in.excerpts = ex;
	in.nexcerpts = prompt_excerpts_json(w->excerpts, ex, WF_EXCERPTS);
	in.user_message = msg;
	if (prompt_build(&in, pr) != PROMPT_OK)
		return (-1);
	/* Citations: the excerpts that made it into the prompt. */
	w->citations = prompt_citations(w->excerpts, pr->nexcerpts_used, 0);
	pr->req.temperature = WF_TEMPERATURE;
	return (0);
}

/* The call failed: deferred, cancelled, to retry, or the step fails. */
static enum job_res
wf_call_failed(struct jctx *c, struct wf_step *w, enum llm_err rc,
    const struct llm_error *err, struct jout *o)
{
	const char	*p[2];
	char		 si[16];

	if (c->circuit_wait_s > 0) {
		jout_err(o, "%s", err->message);
		return (JOB_DEFER);
	}
	if (c->cancelled) {
		(void)snprintf(si, sizeof(si), "%d", w->index);
		p[0] = w->exec_id;
		p[1] = si;
		(void)jdb_cmd(c, sql_step_cancelled, 2, p);
		o->result = json_pack("{s:s}", "cancelled", "during the call");
		return (JOB_DONE);
	}
	if (PQstatus(c->db) != CONNECTION_OK || jobs_stopping) {
		jout_err(o, "%s: %s", llm_err_name(rc), err->message);
		return (jobs_stopping ? JOB_RELEASE : JOB_RETRY);
	}
	if (c->over_quota)
		jout_err(o, "quota_exceeded: daily token quota exceeded");
	else
		jout_err(o, "%s: %s", llm_err_name(rc), err->message);
	return (JOB_FAIL);
}

/* 1 loaded, 0 nothing to do (finished, cancelled, past), -1 error. */
static int
wf_load(struct jctx *c, struct wf_step *w)
{
	PGresult	*res;
	const char	*p[2];
	char		 si[16];

	(void)snprintf(si, sizeof(si), "%d", w->index);
	p[0] = w->exec_id;
	p[1] = si;
	if ((res = jdb_exec(c, sql_start, 2, p)) == NULL)
		return (-1);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return (0);
	}
	(void)snprintf(w->user_id, sizeof(w->user_id), "%s",
	    PQgetvalue(res, 0, 0));
	(void)snprintf(w->template, sizeof(w->template), "%s",
	    PQgetvalue(res, 0, 1));
	w->input = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	w->total = atoi(PQgetvalue(res, 0, 3));
	(void)snprintf(w->name, sizeof(w->name), "%s", PQgetvalue(res, 0, 4));
	w->prompt = strdup(PQgetvalue(res, 0, 5));
	w->earlier = json_loads(PQgetvalue(res, 0, 6), 0, NULL);
	PQclear(res);
	if (w->input == NULL)
		w->input = json_object();
	if (w->earlier == NULL)
		w->earlier = json_array();
	return (w->prompt == NULL ? -1 : 1);
}

/* The excerpts of input.document_ids best matching the step: 0 or -1. */
static int
wf_excerpts(struct jctx *c, struct wf_step *w)
{
	PGresult	*res;
	json_t		*ids, *it;
	const char	*p[4], *key, *s;
	char		 lit[21 * 40 + 4], q[WF_QUERY_MAX + 1], k[16];
	size_t		 i, off, ql, n;

	w->excerpts = json_array();
	ids = json_object_get(w->input, "document_ids");
	if (!json_is_array(ids) || json_array_size(ids) == 0)
		return (0);
	off = (size_t)snprintf(lit, sizeof(lit), "{");
	json_array_foreach(ids, i, it) {
		if (i == 20 || (s = json_string_value(it)) == NULL ||
		    strlen(s) > 36 || strspn(s, "0123456789abcdefABCDEF-") !=
		    strlen(s))
			continue;
		off += (size_t)snprintf(lit + off, sizeof(lit) - off, "%s%s",
		    off > 1 ? "," : "", s);
	}
	(void)snprintf(lit + off, sizeof(lit) - off, "}");
	/* What to look for: the step's task and the input's text. */
	ql = (size_t)snprintf(q, sizeof(q), "%s", w->prompt);
	json_object_foreach(w->input, key, it) {
		if ((s = json_string_value(it)) == NULL || ql >= WF_QUERY_MAX)
			continue;
		n = strlen(s);
		if (n > WF_QUERY_MAX - ql - 1)
			n = WF_QUERY_MAX - ql - 1;
		q[ql++] = ' ';
		memcpy(q + ql, s, n);
		ql += n;
		q[ql] = '\0';
	}
	/* Cut on a character boundary: PostgreSQL refuses broken UTF-8. */
	while (ql > 0 && ((unsigned char)q[ql - 1] & 0xc0) == 0x80)
		q[--ql] = '\0';
	if (ql > 0 && (unsigned char)q[ql - 1] >= 0xc0)
		q[--ql] = '\0';
	(void)snprintf(k, sizeof(k), "%d", WF_EXCERPTS);
	p[0] = w->user_id;
	p[1] = lit;
	p[2] = q;
	p[3] = k;
	if ((res = jdb_exec(c, sql_excerpts, 4, p)) == NULL)
		return (-1);
	if (PQntuples(res) == 1) {
		json_decref(w->excerpts);
		w->excerpts = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
		if (w->excerpts == NULL)
			w->excerpts = json_array();
	}
	PQclear(res);
	return (0);
}

/*
 * The step's user message.  Its first line names the template and the
 * step; then the task, the input, and the outputs of the earlier steps.
 */
static char *
wf_message(const struct wf_step *w)
{
	json_t		*it;
	const char	*key, *s;
	char		*buf = NULL, line[512], *dump;
	size_t		 len = 0, cap = 0, i;

	(void)snprintf(line, sizeof(line), "Workflow %s, step=%s (%d of %d)\n"
	    "\nYour task in this step: ", w->template, w->name, w->index + 1,
	    w->total);
	wf_append(&buf, &len, &cap, line, strlen(line));
	wf_append(&buf, &len, &cap, w->prompt, strlen(w->prompt));
	s = "\n\nThe user's input:\n";
	wf_append(&buf, &len, &cap, s, strlen(s));
	json_object_foreach(w->input, key, it) {
		if (strcmp(key, "document_ids") == 0)
			continue;
		(void)snprintf(line, sizeof(line), "- %s: ", key);
		wf_append(&buf, &len, &cap, line, strlen(line));
		if ((s = json_string_value(it)) != NULL)
			wf_append(&buf, &len, &cap, s, wf_clip(s));
		else if ((dump = json_dumps(it, JSON_COMPACT |
		    JSON_ENCODE_ANY)) != NULL) {
			wf_append(&buf, &len, &cap, dump, wf_clip(dump));
			free(dump);
		}
		wf_append(&buf, &len, &cap, "\n", 1);
	}
	if (json_array_size(w->earlier) > 0) {
		s = "\nThe results of the earlier steps:\n";
		wf_append(&buf, &len, &cap, s, strlen(s));
	}
	json_array_foreach(w->earlier, i, it) {
		(void)snprintf(line, sizeof(line), "\n### %s\n",
		    json_string_value(json_object_get(it, "name")) ?
		    json_string_value(json_object_get(it, "name")) : "step");
		wf_append(&buf, &len, &cap, line, strlen(line));
		if ((s = json_string_value(json_object_get(it, "output"))) !=
		    NULL)
			wf_append(&buf, &len, &cap, s, wf_clip(s));
		wf_append(&buf, &len, &cap, "\n", 1);
	}
	return (buf);
}

/* Bytes of s kept in a prompt: WF_VALUE_MAX, cut between characters. */
static size_t
wf_clip(const char *s)
{
	return (utf8_clip(s, strlen(s), WF_VALUE_MAX));
}

static void
wf_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	char	*nb;
	size_t	 want;

	if (*buf == NULL || *len + n + 1 > *cap) {
		want = (*cap ? *cap * 2 : 4096);
		while (want < *len + n + 1)
			want *= 2;
		if ((nb = realloc(*buf, want)) == NULL)
			return;
		*buf = nb;
		*cap = want;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

/* The execution's output: the last step's text and every step's. */
static json_t *
wf_final_output(const struct wf_step *w, const char *last)
{
	json_t		*steps, *it;
	size_t		 i;

	steps = json_object();
	json_array_foreach(w->earlier, i, it) {
		if (json_string_value(json_object_get(it, "name")) != NULL)
			(void)json_object_set(steps, json_string_value(
			    json_object_get(it, "name")),
			    json_object_get(it, "output"));
	}
	(void)json_object_set_new(steps, w->name, json_string(last));
	return (json_pack("{s:s, s:o}", "result", last, "steps", steps));
}

static enum job_res
wf_store(struct jctx *c, struct job *j, struct wf_step *w,
    struct llm_result *res, struct jout *o)
{
	PGresult	*pr;
	json_t		*final = NULL;
	const char	*p[12], *text;
	char		 si[16], pt[24], ct[24], tt[24], att[16], ma[16];
	char		*cit = NULL, *fin = NULL;
	enum job_res	 r;

	text = res->content != NULL ? res->content : "";
	if (w->index + 1 >= w->total) {
		final = wf_final_output(w, text);
		fin = json_dumps(final, JSON_COMPACT);
	}
	cit = json_dumps(w->citations, JSON_COMPACT);
	(void)snprintf(si, sizeof(si), "%d", w->index);
	(void)snprintf(pt, sizeof(pt), "%ld", res->prompt_tokens);
	(void)snprintf(ct, sizeof(ct), "%ld", res->completion_tokens);
	(void)snprintf(tt, sizeof(tt), "%ld", res->total_tokens);
	(void)snprintf(att, sizeof(att), "%d", j->attempts);
	(void)snprintf(ma, sizeof(ma), "%d", j->max_attempts);
	p[0] = w->exec_id;
	p[1] = si;
	p[2] = text;
	p[3] = pt;
	p[4] = ct;
	p[5] = tt;
	p[6] = cit != NULL ? cit : "[]";
	p[7] = j->id;
	p[8] = c->runner;
	p[9] = att;
	p[10] = fin;
	p[11] = ma;
	if ((pr = jdb_exec(c, sql_store, 12, p)) == NULL) {
		jout_err(o, "database error storing the step");
		r = JOB_RETRY;
	} else {
		o->result = json_pack("{s:s, s:i, s:s}", "execution_id",
		    w->exec_id, "step_index", w->index, "stored",
		    PQntuples(pr) == 1 ? PQgetvalue(pr, 0, 0) : "no "
		    "(cancelled or lease lost)");
		PQclear(pr);
		r = JOB_DONE;
	}
	json_decref(final);
	free(fin);
	free(cit);
	return (r);
}

/* The job ends failed: so does the execution, at this step. */
static void
wf_failed(struct jctx *c, struct job *j, const char *err)
{
	const char	*p[3];
	char		 si[16];
	json_t		*s;

	p[0] = json_string_value(json_object_get(j->payload, "execution_id"));
	s = json_object_get(j->payload, "step_index");
	if (p[0] == NULL || !json_is_integer(s))
		return;
	(void)snprintf(si, sizeof(si), "%d", (int)json_integer_value(s));
	p[1] = si;
	p[2] = err;
	(void)jdb_cmd(c, sql_fail, 3, p);
}
