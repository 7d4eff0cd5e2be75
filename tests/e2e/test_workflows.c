/*
 * Workflows (docs/API.md §7) against the real server, its job runner and the
 * LLM stand-in: the templates, executions run step by step in the
 * background, retries, failures, cancel, listing, bad input, the quota,
 * a runner killed mid-step, two instances sharing the work, and the
 * progress stream through nginx.
 *
 * Each step's message starts with "Workflow <template>, step=<name>", so
 * a stand-in directive [[when:step=<name> ...]] in the input acts on one
 * step only; a unique marker in the input finds an execution's requests.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fixture.h"

#define WF		"/api/v1/workflows"
#define EXECS		WF "/executions"
#define WAIT_S		60

static const char *const review_steps[] = {
	"extract_key_terms", "assess_risks", "recommend_changes"
};

/* POST /executions for contract_review with contract_text = text. */
static struct resp *
submit_review(const char *base, const char *tok, const char *text)
{
	struct resp	*r;
	json_t		*b;
	char		*s;

	b = json_pack("{s:s, s:{s:s, s:s, s:s}}", "template",
	    "contract_review", "input", "contract_text", text, "party",
	    "Tenant GmbH", "risk_tolerance", "low");
	s = json_dumps(b, 0);
	json_decref(b);
	r = fx_req(base, "POST", EXECS, tok, NULL, s);
	free(s);
	return (r);
}

static void
exec_path(char *out, size_t len, const char *id, const char *tail)
{
	(void)snprintf(out, len, EXECS "/%s%s", id, tail ? tail : "");
}

/* GET the execution until its status is want (or the time is up). */
static struct resp *
wait_exec(const char *base, const char *tok, const char *id,
    const char *want, int seconds)
{
	struct resp	*r;
	char		 path[256];
	int		 i;

	exec_path(path, sizeof(path), id, NULL);
	for (i = 0; i < seconds * 10; i++) {
		r = fx_req(base, "GET", path, tok, NULL, NULL);
		cr_assert_eq(r->status, 200, "%s", r->body);
		if (strcmp(jstr(r, "data.status"), want) == 0)
			return (r);
		resp_free(r);
		(void)usleep(100000);
	}
	r = fx_req(base, "GET", path, tok, NULL, NULL);
	cr_assert_str_eq(jstr(r, "data.status"), want, "%s", r->body);
	return (r);
}

/* The last user message of a recorded OpenAI request. */
static const char *
last_user(json_t *req)
{
	json_t		*m, *it;
	const char	*s = "";
	size_t		 i;

	m = json_object_get(json_object_get(req, "body"), "messages");
	json_array_foreach(m, i, it) {
		if (strcmp(json_string_value(json_object_get(it, "role")) ?
		    json_string_value(json_object_get(it, "role")) : "",
		    "user") == 0)
			s = json_string_value(json_object_get(it, "content"));
	}
	return (s ? s : "");
}

/* Whether a request is for step name (its first line names it). */
static int
is_step(json_t *req, const char *name)
{
	char		 tag[128];
	const char	*m, *nl;

	(void)snprintf(tag, sizeof(tag), "step=%s ", name);
	m = last_user(req);
	nl = strchr(m, '\n');
	return (strstr(m, tag) != NULL && (nl == NULL || strstr(m, tag) < nl));
}

static int
step_requests(json_t *reqs, const char *name)
{
	json_t		*it;
	size_t		 i;
	int		 n = 0;

	json_array_foreach(reqs, i, it) {
		if (is_step(it, name))
			n++;
	}
	return (n);
}

static char *
q1(const char *sql, const char *p)
{
	return (strdup(fx_sql(sql, p)));
}

static void
expect_q(const char *sql, const char *p, const char *want)
{
	char	*v;

	v = q1(sql, p);
	cr_expect_str_eq(v, want, "%s -> %s (want %s)", sql, v, want);
	free(v);
}

/* Wait until the query's first value is want. */
static void
wait_q(const char *sql, const char *p, const char *want, int seconds)
{
	char	*v;
	int	 i;

	for (i = 0; i < seconds * 10; i++) {
		v = q1(sql, p);
		if (strcmp(v, want) == 0) {
			free(v);
			return;
		}
		free(v);
		(void)usleep(100000);
	}
	expect_q(sql, p, want);
}

Test(workflows, templates_have_their_shape)
{
	struct user	 a;
	struct resp	*r;
	json_t		*items, *t, *st, *s;
	const char	*want[] = { "contract_review", "case_brief",
			    "legal_research_memo", "compliance_checklist" };
	size_t		 i, k;
	int		 found;

	fx_new(&a, "wf-tpl");
	r = fx_req(NULL, "GET", WF "/templates", a.token, NULL, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	items = jpath(r->json, "data.items");
	cr_assert(json_array_size(items) >= 4);
	for (k = 0; k < 4; k++) {
		found = 0;
		json_array_foreach(items, i, t) {
			if (strcmp(json_string_value(json_object_get(t,
			    "name")), want[k]) == 0)
				found = 1;
		}
		cr_expect(found, "template %s", want[k]);
	}
	json_array_foreach(items, i, t) {
		cr_expect(json_is_string(json_object_get(t, "title")));
		cr_expect(json_is_string(json_object_get(t, "description")));
		cr_expect(json_is_string(json_object_get(t, "category")));
		cr_expect(json_integer_value(json_object_get(t,
		    "estimated_duration")) > 0);
		s = json_object_get(t, "input_schema");
		cr_expect_str_eq(json_string_value(json_object_get(s, "type")),
		    "object");
		cr_expect(json_array_size(json_object_get(s, "required")) > 0);
		cr_expect(json_is_object(json_object_get(s, "properties")));
		st = json_object_get(t, "steps");
		cr_expect(json_array_size(st) >= 3);
		json_array_foreach(st, k, s) {
			cr_expect(json_is_string(json_object_get(s, "name")));
			cr_expect(json_is_string(json_object_get(s, "type")));
			cr_expect(strlen(json_string_value(json_object_get(s,
			    "prompt"))) > 40);
		}
	}
	resp_free(r);
	r = fx_req(NULL, "GET", WF "/templates", NULL, NULL, NULL);
	cr_expect_eq(r->status, 401);
	resp_free(r);
}

Test(workflows, execution_completes_with_every_step, .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	json_t		*reqs, *steps, *s;
	char		 id[64], text[256];
	const char	*m, *out0;
	size_t		 i;

	fx_new(&a, "wf-run");
	m = uniq("mk");
	(void)snprintf(text, sizeof(text), "Lease %s: the tenant pays rent "
	    "monthly; clause 7 caps liability.", m);
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.template"), "contract_review");
	cr_expect_str_eq(jstr(r, "data.status"), "pending");
	cr_expect_eq(jint(r, "data.total_steps"), 3);
	cr_expect_eq(jint(r, "data.current_step"), 0);
	cr_expect_eq(json_array_size(jpath(r->json, "data.steps")), 3);
	cr_expect_str_eq(jstr(r, "data.steps.1.status"), "pending");
	cr_expect_str_eq(jstr(r, "data.input.party"), "Tenant GmbH");
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);

	r = wait_exec(NULL, a.token, id, "completed", WAIT_S);
	cr_expect_eq(jint(r, "data.current_step"), 3);
	cr_expect(json_real_value(jpath(r->json, "data.progress_percentage"))
	    == 100.0 || jint(r, "data.progress_percentage") == 100, "%s",
	    r->body);
	cr_expect_not_null(jstr(r, "data.started_at"));
	cr_expect_not_null(jstr(r, "data.completed_at"));
	cr_expect(json_is_number(jpath(r->json, "data.duration_seconds")));
	cr_expect_null(jpath(r->json, "data.error_message") &&
	    !json_is_null(jpath(r->json, "data.error_message")) ?
	    jpath(r->json, "data.error_message") : NULL);
	steps = jpath(r->json, "data.steps");
	cr_assert_eq(json_array_size(steps), 3);
	json_array_foreach(steps, i, s) {
		cr_expect_str_eq(json_string_value(json_object_get(s,
		    "status")), "completed");
		cr_expect_str_eq(json_string_value(json_object_get(s,
		    "name")), review_steps[i]);
		cr_expect(strlen(json_string_value(json_object_get(s,
		    "output"))) > 0);
		cr_expect(json_integer_value(json_object_get(s,
		    "total_tokens")) > 0);
		cr_expect(json_is_string(json_object_get(s, "started_at")));
		cr_expect(json_is_string(json_object_get(s, "completed_at")));
		cr_expect_eq(json_integer_value(json_object_get(s,
		    "attempts")), 1);
	}
	cr_expect_str_eq(jstr(r, "data.output.result"),
	    json_string_value(json_object_get(json_array_get(steps, 2),
	    "output")));
	out0 = json_string_value(json_object_get(json_array_get(steps, 0),
	    "output"));

	/* One provider call per step, in order, each fed by the earlier. */
	reqs = fx_llm_requests(m);
	cr_assert_eq(json_array_size(reqs), 3, "requests: %zu",
	    json_array_size(reqs));
	for (i = 0; i < 3; i++)
		cr_expect_eq(step_requests(reqs, review_steps[i]), 1);
	cr_expect(strstr(last_user(json_array_get(reqs, 0)),
	    "step=extract_key_terms ") != NULL);
	cr_expect(strstr(last_user(json_array_get(reqs, 1)),
	    "step=assess_risks ") != NULL);
	cr_expect(strstr(last_user(json_array_get(reqs, 1)), out0) != NULL,
	    "step 2 sees step 1's output");
	cr_expect(strstr(last_user(json_array_get(reqs, 2)), out0) != NULL);
	cr_expect(strstr(last_user(json_array_get(reqs, 2)),
	    json_string_value(json_object_get(json_array_get(steps, 1),
	    "output"))) != NULL, "step 3 sees step 2's output");
	json_decref(reqs);
	resp_free(r);

	expect_q("SELECT string_agg(step_index::text || ':' || status || ':' "
	    "|| kind, ',' ORDER BY step_index) FROM llm_calls WHERE "
	    "execution_id = $1::uuid", id, "0:ok:workflow,1:ok:workflow,"
	    "2:ok:workflow");
	expect_q("SELECT string_agg(event, ',' ORDER BY created_at, event) "
	    "FROM audit_events WHERE details->>'execution_id' = $1", id,
	    "workflow_started,workflow_completed");
	r = http_get("/metrics");
	cr_expect(strstr(r->body, "elenchus_workflow_executions{template="
	    "\"contract_review\",status=\"completed\"} ") != NULL);
	resp_free(r);
}

Test(workflows, transient_failure_is_retried_not_finished_steps,
    .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	json_t		*reqs, *it;
	char		 id[64], text[256];
	const char	*m;
	double		 t[8];
	size_t		 i, n;

	fx_new(&a, "wf-retry");
	m = uniq("mk");
	(void)snprintf(text, sizeof(text), "Contract %s [[when:step="
	    "assess_risks fail-times:2 status:429 retry-after:1]]", m);
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = wait_exec(NULL, a.token, id, "completed", WAIT_S);
	cr_expect_eq(jint(r, "data.steps.1.attempts"), 1);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(step_requests(reqs, "extract_key_terms"), 1);
	cr_expect_eq(step_requests(reqs, "assess_risks"), 3);
	cr_expect_eq(step_requests(reqs, "recommend_changes"), 1);
	/* Retry-After: 1 honoured between the tries of step 2. */
	n = 0;
	json_array_foreach(reqs, i, it) {
		if (is_step(it, "assess_risks") && n < 8)
			t[n++] = json_real_value(json_object_get(it, "time"));
	}
	cr_assert_eq(n, 3);
	cr_expect(t[1] - t[0] >= 0.9 && t[2] - t[1] >= 0.9,
	    "gaps %.2f %.2f", t[1] - t[0], t[2] - t[1]);
	json_decref(reqs);
	expect_q("SELECT string_agg(step_index || ':' || attempts, ',' ORDER "
	    "BY step_index) FROM llm_calls WHERE execution_id = $1::uuid",
	    id, "0:1,1:3,2:1");
}

Test(workflows, permanent_failure_stops_the_later_steps, .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	json_t		*reqs;
	char		 id[64], text[256];
	const char	*m;

	fx_new(&a, "wf-fail");
	m = uniq("mk");
	(void)snprintf(text, sizeof(text), "Contract %s [[when:step="
	    "assess_risks status:400]]", m);
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = wait_exec(NULL, a.token, id, "failed", WAIT_S);
	cr_expect_eq(jint(r, "data.error_step"), 1);
	cr_expect(jstr(r, "data.error_message") != NULL &&
	    strlen(jstr(r, "data.error_message")) > 0);
	cr_expect_not_null(jstr(r, "data.completed_at"));
	cr_expect_str_eq(jstr(r, "data.steps.0.status"), "completed");
	cr_expect_str_eq(jstr(r, "data.steps.1.status"), "failed");
	cr_expect_str_eq(jstr(r, "data.steps.2.status"), "cancelled");
	cr_expect(json_real_value(jpath(r->json, "data.progress_percentage"))
	    < 34.0);
	resp_free(r);
	(void)sleep(1);
	reqs = fx_llm_requests(m);
	cr_expect_eq(step_requests(reqs, "assess_risks"), 1, "not retried");
	cr_expect_eq(step_requests(reqs, "recommend_changes"), 0);
	json_decref(reqs);
	expect_q("SELECT count(*) FROM audit_events WHERE event = "
	    "'workflow_failed' AND details->>'execution_id' = $1", id, "1");
}

Test(workflows, cancel_aborts_a_slow_step_in_flight, .timeout = 90)
{
	struct user	 a, b;
	struct resp	*r;
	json_t		*reqs;
	char		 id[64], text[256], path[256];
	const char	*m;
	int		 i;

	fx_new(&a, "wf-cancel");
	fx_new(&b, "wf-other");
	m = uniq("mk");
	(void)snprintf(text, sizeof(text), "Contract %s [[when:step="
	    "assess_risks delay:30000]]", m);
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	/* Wait until the slow call reached the provider. */
	for (i = 0; i < WAIT_S * 10; i++) {
		reqs = fx_llm_requests(m);
		if (step_requests(reqs, "assess_risks") == 1)
			i = WAIT_S * 10;
		json_decref(reqs);
		(void)usleep(100000);
	}
	exec_path(path, sizeof(path), id, "/cancel");
	r = fx_req(NULL, "POST", path, b.token, NULL, "");
	cr_expect_eq(r->status, 404, "another user's execution");
	resp_free(r);
	r = fx_req(NULL, "POST", path, a.token, NULL, "");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.status"), "cancelled");
	cr_expect_str_eq(jstr(r, "data.steps.0.status"), "completed");
	cr_expect_str_eq(jstr(r, "data.steps.1.status"), "cancelled");
	cr_expect_str_eq(jstr(r, "data.steps.2.status"), "cancelled");
	resp_free(r);
	/* The runner aborted the call in flight (it would take 30 s). */
	wait_q("SELECT coalesce(string_agg(status || ':' || "
	    "coalesce(error_code, ''), ','), '') FROM llm_calls WHERE "
	    "execution_id = $1::uuid AND step_index = 1", id,
	    "failed:cancelled", 10);
	r = fx_req(NULL, "POST", path, a.token, NULL, "");
	cr_expect_eq(r->status, 409, "%s", r->body);
	cr_expect_str_eq(err_code(r), "conflict");
	resp_free(r);
	(void)sleep(1);
	reqs = fx_llm_requests(m);
	cr_expect_eq(step_requests(reqs, "recommend_changes"), 0);
	json_decref(reqs);
	r = wait_exec(NULL, a.token, id, "cancelled", 1);
	cr_expect_str_eq(jstr(r, "data.steps.2.status"), "cancelled");
	resp_free(r);
	expect_q("SELECT count(*) FROM audit_events WHERE event = "
	    "'workflow_cancelled' AND details->>'execution_id' = $1", id, "1");
}

Test(workflows, listing_filters_and_isolates, .timeout = 90)
{
	struct user	 a, b;
	struct resp	*r;
	char		 id1[64], id2[64], path[256];

	fx_new(&a, "wf-list");
	fx_new(&b, "wf-list-b");
	r = submit_review(NULL, a.token, "First [[delay:1500]]");
	cr_assert_eq(r->status, 202);
	(void)snprintf(id1, sizeof(id1), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = submit_review(NULL, a.token, "Second [[delay:1500]]");
	cr_assert_eq(r->status, 202);
	(void)snprintf(id2, sizeof(id2), "%s", jstr(r, "data.id"));
	resp_free(r);
	exec_path(path, sizeof(path), id2, "/cancel");
	r = fx_req(NULL, "POST", path, a.token, NULL, "");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);

	r = fx_req(NULL, "GET", EXECS, a.token, NULL, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.total"), 2);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id2, "newest first");
	cr_expect_null(jpath(r->json, "data.items.0.steps") &&
	    !json_is_null(jpath(r->json, "data.items.0.steps")) ?
	    jpath(r->json, "data.items.0.steps") : NULL);
	resp_free(r);
	r = fx_req(NULL, "GET", EXECS "?status=cancelled", a.token, NULL, NULL);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id2);
	resp_free(r);
	r = fx_req(NULL, "GET", EXECS "?limit=1&offset=1", a.token, NULL, NULL);
	cr_expect_eq(jint(r, "data.total"), 2);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id1);
	resp_free(r);
	r = fx_req(NULL, "GET", EXECS "?status=done", a.token, NULL, NULL);
	cr_expect_eq(r->status, 400);
	cr_expect_str_eq(err_code(r), "validation_error");
	resp_free(r);

	r = fx_req(NULL, "GET", EXECS, b.token, NULL, NULL);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);
	exec_path(path, sizeof(path), id1, NULL);
	r = fx_req(NULL, "GET", path, b.token, NULL, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = fx_req(NULL, "GET", EXECS "/not-a-uuid", a.token, NULL, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = fx_req(NULL, "GET", EXECS, NULL, NULL, NULL);
	cr_expect_eq(r->status, 401);
	resp_free(r);
	resp_free(wait_exec(NULL, a.token, id1, "completed", WAIT_S));
}

Test(workflows, bad_input_is_400_with_every_field)
{
	struct user	 a;
	struct resp	*r;
	json_t		*f;
	char		*n;

	fx_new(&a, "wf-bad");
	r = fx_req(NULL, "POST", EXECS, a.token, NULL, "{\"template\": "
	    "\"no_such_template\", \"input\": {}}");
	cr_expect_eq(r->status, 400, "%s", r->body);
	cr_expect_str_eq(err_code(r), "validation_error");
	cr_expect_str_eq(jstr(r, "error.details.fields.0.field"), "template");
	resp_free(r);

	r = fx_req(NULL, "POST", EXECS, a.token, NULL, "{\"template\": "
	    "\"contract_review\", \"input\": {\"party\": 7, "
	    "\"risk_tolerance\": \"reckless\", \"document_ids\": "
	    "[\"not-a-uuid\"]}}");
	cr_assert_eq(r->status, 400, "%s", r->body);
	f = jpath(r->json, "error.details.fields");
	n = json_dumps(f, JSON_COMPACT);
	cr_expect(strstr(n, "\"input.contract_text\"") != NULL, "%s", n);
	cr_expect(strstr(n, "\"input.party\"") != NULL, "%s", n);
	cr_expect(strstr(n, "\"input.risk_tolerance\"") != NULL, "%s", n);
	cr_expect(strstr(n, "\"input.document_ids") != NULL, "%s", n);
	cr_expect_geq(json_array_size(f), 4);
	free(n);
	resp_free(r);

	r = fx_req(NULL, "POST", EXECS, a.token, NULL, "{\"template\": "
	    "\"contract_review\", \"input\": \"text\"}");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = fx_req(NULL, "POST", EXECS, a.token, NULL, "{\"input\": {}}");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = fx_req(NULL, "POST", EXECS, a.token, NULL, "{nope");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = fx_req(NULL, "POST", EXECS, NULL, NULL, "{\"template\": "
	    "\"contract_review\", \"input\": {\"contract_text\": \"x\"}}");
	cr_expect_eq(r->status, 401);
	resp_free(r);
	expect_q("SELECT count(*) FROM workflow_executions WHERE user_id = "
	    "$1::uuid", a.id, "0");
}

Test(workflows, quota_is_checked_at_submission)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "wf-quota");
	(void)fx_sql("WITH u AS (UPDATE users SET token_quota_daily = 100 "
	    "WHERE id = $1::uuid RETURNING id) INSERT INTO llm_calls "
	    "(user_id, kind, provider, model, total_tokens, status) "
	    "SELECT id, 'chat', 'openai', 'gpt-test', 100, 'ok' FROM u",
	    a.id);
	r = submit_review(NULL, a.token, "Over quota");
	cr_expect_eq(r->status, 429, "%s", r->body);
	cr_expect_str_eq(err_code(r), "quota_exceeded");
	cr_expect_not_null(resp_header(r, "retry-after"));
	resp_free(r);
	expect_q("SELECT count(*) FROM workflow_executions WHERE user_id = "
	    "$1::uuid", a.id, "0");
}

Test(workflows, killed_runner_resumes_at_the_step, .timeout = 180)
{
	struct user	 a;
	struct srv	 s;
	struct resp	*r;
	json_t		*reqs;
	const char	*env[3];
	char		 id[64], text[256], *runner, *p, *queue;
	const char	*m;
	pid_t		 pid;

	queue = strdup(uniq("wfkill-"));
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = "JOB_TIMEOUT_S=5";
	env[2] = NULL;
	fx_srv_start(&s, env);
	fx_new_at(s.base, NULL, &a, "wf-kill");
	m = uniq("mk");
	(void)snprintf(text, sizeof(text), "Contract %s [[when:step="
	    "assess_risks delay-times:1 delay:60000]]", m);
	r = submit_review(s.base, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	wait_q("SELECT status FROM workflow_steps WHERE execution_id = "
	    "$1::uuid AND step_index = 1", id, "running", WAIT_S);
	runner = q1("SELECT locked_by FROM jobs WHERE kind = 'workflow_step' "
	    "AND status = 'running' AND payload->>'execution_id' = $1", id);
	p = strchr(runner, ':');
	cr_assert_not_null(p, "runner %s", runner);
	pid = (pid_t)atoi(p + 1);
	cr_assert(pid > 1);
	(void)sleep(1);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	fx_srv_stop(&s);

	/* A new instance takes the step over once the lease ran out. */
	fx_srv_start(&s, env);
	r = wait_exec(s.base, a.token, id, "completed", 90);
	cr_expect_eq(jint(r, "data.steps.0.attempts"), 1);
	cr_expect_eq(jint(r, "data.steps.1.attempts"), 2);
	cr_expect_eq(jint(r, "data.steps.2.attempts"), 1);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(step_requests(reqs, "extract_key_terms"), 1,
	    "the finished step did not run again");
	cr_expect_eq(step_requests(reqs, "assess_risks"), 2);
	cr_expect_eq(step_requests(reqs, "recommend_changes"), 1);
	json_decref(reqs);
	expect_q("SELECT string_agg(r.outcome, ',' ORDER BY r.id) FROM "
	    "job_runs r JOIN jobs j ON j.id = r.job_id WHERE "
	    "j.payload->>'execution_id' = $1 AND "
	    "j.payload->>'step_index' = '1'", id, "lost,done");
	expect_q("SELECT count(*) FROM llm_calls WHERE execution_id = $1::uuid "
	    "AND status = 'ok'", id, "3");
	fx_srv_stop(&s);
	free(runner);
	free(queue);
}

Test(workflows, two_instances_run_every_step_once, .timeout = 180)
{
	struct user	 a;
	struct srv	 s1, s2;
	struct resp	*r;
	json_t		*reqs;
	const char	*env[3], *m;
	char		 ids[8][64], text[256], *queue;
	int		 i;

	queue = strdup(uniq("wfpair-"));
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = "JOB_THREADS=2";
	env[2] = NULL;
	fx_srv_start(&s1, env);
	fx_srv_start(&s2, env);
	fx_new_at(s1.base, NULL, &a, "wf-pair");
	m = uniq("mk");
	for (i = 0; i < 8; i++) {
		(void)snprintf(text, sizeof(text), "Contract %s number %d "
		    "[[delay:200]]", m, i);
		r = submit_review(i % 2 ? s2.base : s1.base, a.token, text);
		cr_assert_eq(r->status, 202, "%s", r->body);
		(void)snprintf(ids[i], sizeof(ids[i]), "%s",
		    jstr(r, "data.id"));
		resp_free(r);
	}
	for (i = 0; i < 8; i++)
		resp_free(wait_exec(s1.base, a.token, ids[i], "completed",
		    90));
	expect_q("SELECT count(*) || ':' || count(DISTINCT (execution_id, "
	    "step_index)) FROM llm_calls WHERE user_id = $1::uuid", a.id,
	    "24:24");
	expect_q("SELECT count(*) FROM (SELECT r.job_id FROM job_runs r "
	    "JOIN jobs j ON j.id = r.job_id WHERE j.kind = 'workflow_step' "
	    "AND j.payload->>'execution_id' IN (SELECT id::text FROM "
	    "workflow_executions WHERE user_id = $1::uuid) GROUP BY r.job_id "
	    "HAVING count(*) > 1) x", a.id, "0");
	expect_q("SELECT count(*) FROM workflow_steps s JOIN "
	    "workflow_executions e ON e.id = s.execution_id WHERE "
	    "e.user_id = $1::uuid AND s.attempts = 1 AND "
	    "s.status = 'completed'", a.id, "24");
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 24);
	json_decref(reqs);
	/* Both runners took part (runner = host:pid:thread). */
	expect_q("SELECT count(DISTINCT split_part(r.runner, ':', 2)) FROM "
	    "job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.queue = $1",
	    queue, "2");
	fx_srv_stop(&s1);
	fx_srv_stop(&s2);
	free(queue);
}

/* GET an execution's event stream at base (Kore or the TLS front). */
static struct resp *
events_get(const char *base, const char *token, const char *id)
{
	const char	*hdrs[3];
	char		 path[256], auth[FX_TOKEN_MAX + 64];

	exec_path(path, sizeof(path), id, "/events");
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs[0] = auth;
	hdrs[1] = "Accept: text/event-stream";
	hdrs[2] = NULL;
	return (http_req_to(base, "GET", path, hdrs, NULL, 0));
}

Test(workflows, progress_streams_through_nginx, .timeout = 90)
{
	struct user	 a, b;
	struct resp	*r;
	const char	*tls, *p, *ev[9];
	char		 id[64], text[256];
	int		 i, n;

	tls = env_or("E2E_TLS", "");
	cr_assert(tls[0] != '\0');
	fx_new(&a, "wf-sse");
	fx_new(&b, "wf-sse-b");
	(void)snprintf(text, sizeof(text), "Stream %s [[delay:300]]",
	    uniq("mk"));
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);

	r = events_get(tls, a.token, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(strstr(resp_header(r, "content-type"),
	    "text/event-stream") != NULL);
	/* In order: the state, each step started then completed, the end. */
	ev[0] = "event: execution\n";
	ev[1] = "event: step_started\n";
	ev[2] = "event: step_completed\n";
	ev[3] = "event: step_started\n";
	ev[4] = "event: step_completed\n";
	ev[5] = "event: step_started\n";
	ev[6] = "event: step_completed\n";
	ev[7] = "event: completed\n";
	ev[8] = NULL;
	p = r->body;
	for (i = 0; ev[i] != NULL; i++) {
		p = strstr(p, ev[i]);
		cr_assert_not_null(p, "missing %s in %s", ev[i], r->body);
		p += strlen(ev[i]);
	}
	n = 0;
	for (p = r->body; (p = strstr(p, "event: step_completed")); p++)
		n++;
	cr_expect_eq(n, 3);
	cr_expect(strstr(r->body, "\"progress_percentage\":100") != NULL,
	    "%s", r->body);
	resp_free(r);

	r = events_get(tls, b.token, id);
	cr_expect_eq(r->status, 404, "another user's stream");
	resp_free(r);
}

Test(workflows, runner_checks_the_quota_before_each_step)
{
	struct user	 a;
	struct resp	*r;
	char		 path[256];
	int		 i;

	fx_new(&a, "quota-step");
	/* Below one step's estimate: submission passes, the step may not. */
	(void)fx_sql("UPDATE users SET token_quota_daily = 500 WHERE id = "
	    "$1::uuid", a.id);
	r = fx_req(NULL, "POST", "/api/v1/workflows/executions", a.token,
	    NULL, "{\"template\": \"legal_research_memo\", \"input\": "
	    "{\"question\": \"May a landlord keep the deposit?\"}}");
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(path, sizeof(path), "/api/v1/workflows/executions/%s",
	    jstr(r, "data.id"));
	resp_free(r);
	for (i = 0; i < 600; i++) {
		r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
		if (strcmp(jstr(r, "data.status"), "failed") == 0)
			break;
		resp_free(r);
		r = NULL;
		(void)usleep(100000);
	}
	cr_assert_not_null(r, "the execution did not fail");
	cr_expect_eq(jint(r, "data.error_step"), 0);
	cr_expect(strstr(jstr(r, "data.error_message"), "quota") != NULL,
	    "%s", r->body);
	resp_free(r);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM llm_calls WHERE "
	    "user_id = $1::uuid", a.id), "0", "no provider call was made");
}

Test(workflows, steps_cite_the_documents_named_in_the_input, .timeout = 90)
{
	struct user	 a, o;
	struct resp	*r;
	json_t		*reqs, *b;
	const char	*hdrs[3], *m;
	char		 auth[FX_TOKEN_MAX + 64], mp[1024], doc[64], path[256];
	char		 id[64], *s;
	int		 n, i;

	fx_new(&a, "wf-docs");
	m = uniq("mk");
	n = snprintf(mp, sizeof(mp), "--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"file\"; filename=\"lease.txt\"\r\n\r\n"
	    "Clause 9.4 Indemnity: the tenant indemnifies the landlord "
	    "against every claim arising from %s.\r\n--XyZ--\r\n", m);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    a.token);
	hdrs[0] = "Content-Type: multipart/form-data; boundary=XyZ";
	hdrs[1] = auth;
	hdrs[2] = NULL;
	r = http_req("POST", "/api/v1/documents", hdrs, mp, (size_t)n);
	cr_assert_eq(r->status, 201, "%s", r->body);
	(void)snprintf(doc, sizeof(doc), "%s", jstr(r, "data.id"));
	resp_free(r);
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s", doc);
	for (i = 0; i < WAIT_S * 10; i++) {
		r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
		if (strcmp(jstr(r, "data.processing_status"), "completed") == 0)
			i = WAIT_S * 10;
		resp_free(r);
		(void)usleep(100000);
	}

	b = json_pack("{s:s, s:{s:s, s:[s]}}", "template", "contract_review",
	    "input", "contract_text", "The attached lease; check the "
	    "indemnity.", "document_ids", doc);
	s = json_dumps(b, 0);
	json_decref(b);
	r = fx_req(NULL, "POST", EXECS, a.token, NULL, s);
	free(s);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = wait_exec(NULL, a.token, id, "completed", WAIT_S);
	cr_expect_str_eq(jstr(r, "data.steps.0.citations.0.document_id"), doc,
	    "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.steps.0.citations.0.filename"),
	    "lease.txt");
	resp_free(r);
	/* The excerpt went to the provider with each step. */
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 3);
	json_decref(reqs);

	/* Another user naming that document gets nothing of it. */
	fx_new(&o, "wf-docs-b");
	b = json_pack("{s:s, s:{s:s, s:[s]}}", "template", "contract_review",
	    "input", "contract_text", "Somebody else's lease.",
	    "document_ids", doc);
	s = json_dumps(b, 0);
	json_decref(b);
	r = fx_req(NULL, "POST", EXECS, o.token, NULL, s);
	free(s);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = wait_exec(NULL, o.token, id, "completed", WAIT_S);
	cr_expect_eq(json_array_size(jpath(r->json,
	    "data.steps.0.citations")), 0);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 3, "the text did not leak");
	json_decref(reqs);
}

/*
 * A stream that outlives Kore's header timeout (http_header_timeout 10)
 * runs to its end: before, Kore armed that timeout for the next request
 * as the headers went out, and cut the stream with a 408 after 10 s.
 */
Test(workflows, a_stream_longer_than_the_header_timeout_runs_to_its_end,
    .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	char		 id[64], text[256];

	fx_new(&a, "wf-long");
	(void)snprintf(text, sizeof(text), "Long %s [[delay:4000]]",
	    uniq("lg"));
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	r = events_get(env_or("E2E_BASE", ""), a.token, id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(strstr(r->body, "408") == NULL, "%s", r->body);
	cr_expect(strstr(r->body, "event: completed\n") != NULL, "%s",
	    r->body);
	resp_free(r);
}

Test(workflows, a_client_leaving_the_stream_costs_nothing, .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	struct curl_slist *h = NULL;
	CURL		*c;
	char		 id[64], url[512], auth[FX_TOKEN_MAX + 64], path[256];
	int		 i;

	fx_new(&a, "wf-leave");
	r = submit_review(NULL, a.token, "Slow [[delay:4000]]");
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    a.token);
	h = curl_slist_append(h, auth);
	for (i = 0; i < 5; i++) {
		(void)snprintf(url, sizeof(url), "%s" EXECS "/%s/events",
		    i % 2 ? env_or("E2E_TLS", "") : env_or("E2E_BASE", ""), id);
		c = curl_easy_init();
		(void)curl_easy_setopt(c, CURLOPT_URL, url);
		(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_discard);
		(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 400L + 300L * i);
		(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		(void)curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
		(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
		cr_expect_eq(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
		curl_easy_cleanup(c);
	}
	curl_slist_free_all(h);
	(void)sleep(1);
	r = http_get("/health");
	cr_expect_eq(r->status, 200);
	resp_free(r);
	exec_path(path, sizeof(path), id, "/cancel");
	r = fx_req(NULL, "POST", path, a.token, NULL, "");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
}

Test(workflows, progress_is_true_while_a_step_runs, .timeout = 90)
{
	struct user	 a;
	struct resp	*r;
	char		 id[64], text[256], path[256];
	double		 d1, d2;

	fx_new(&a, "wf-progress");
	(void)snprintf(text, sizeof(text), "Contract %s [[when:step="
	    "assess_risks delay:4000]]", uniq("mk"));
	r = submit_review(NULL, a.token, text);
	cr_assert_eq(r->status, 202, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	cr_expect_null(jpath(r->json, "data.started_at") &&
	    !json_is_null(jpath(r->json, "data.started_at")) ?
	    jpath(r->json, "data.started_at") : NULL);
	resp_free(r);
	wait_q("SELECT status FROM workflow_steps WHERE execution_id = "
	    "$1::uuid AND step_index = 1", id, "running", WAIT_S);
	exec_path(path, sizeof(path), id, NULL);
	r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
	cr_expect_str_eq(jstr(r, "data.status"), "running");
	cr_expect_eq(jint(r, "data.current_step"), 1);
	cr_expect(json_number_value(jpath(r->json,
	    "data.progress_percentage")) == 33.3, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.steps.1.status"), "running");
	cr_expect(json_is_null(jpath(r->json, "data.steps.1.completed_at")));
	d1 = json_number_value(jpath(r->json, "data.duration_seconds"));
	resp_free(r);
	(void)sleep(1);
	r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
	d2 = json_number_value(jpath(r->json, "data.duration_seconds"));
	cr_expect(d2 >= d1 + 0.9, "duration runs: %.3f then %.3f", d1, d2);
	cr_expect(json_number_value(jpath(r->json,
	    "data.steps.1.duration_seconds")) >= 0.9);
	resp_free(r);
	r = wait_exec(NULL, a.token, id, "completed", WAIT_S);
	d1 = json_number_value(jpath(r->json, "data.duration_seconds"));
	resp_free(r);
	(void)sleep(1);
	r = fx_req(NULL, "GET", path, a.token, NULL, NULL);
	cr_expect(json_number_value(jpath(r->json, "data.duration_seconds"))
	    == d1, "a finished execution's duration stays");
	resp_free(r);
}
