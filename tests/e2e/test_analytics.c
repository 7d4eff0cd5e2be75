/*
 * Analytics (API.md §8) on the main instance: figures checked against
 * the usage the LLM stand-in reported for each call, failures counted
 * as failures with no tokens, isolation between users, the quota
 * fields, day rows that add up to the usage, the activity order, admin
 * only for /system, 400s for out-of-range parameters, and the rollup
 * kept equal to the ledger through inserts, deletes and a purge.
 *
 * The suite runner sets AI_PRICE_TABLE=gpt-test=1.5:2.25 (USD per
 * million tokens), so a cost is 1.5 * prompt + 2.25 * completion, / 1e6.
 */
#include "fixture.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define USAGE		"/api/v1/analytics/usage"
#define TOKENS		"/api/v1/analytics/tokens"
#define ACTIVITY	"/api/v1/analytics/activity"
#define SYSTEM		"/api/v1/analytics/system"
#define PRICE_IN	1.5
#define PRICE_OUT	2.25
#define WAIT_S		60

struct usage {
	long long	prompt;
	long long	completion;
	long long	total;
};

static double
cost_of(long long p, long long c)
{
	return (((double)p * PRICE_IN + (double)c * PRICE_OUT) / 1e6);
}

static double
jreal(struct resp *r, const char *path)
{
	return (json_number_value(jpath(r->json, path)));
}

static long long
jget(json_t *o, const char *key)
{
	return (json_integer_value(json_object_get(o, key)));
}

/* One chat call; adds the provider's usage to u when it succeeded. */
static long
chat(const struct user *a, const char *content, struct usage *u)
{
	struct resp	*r;
	char		*body;
	long		 status;

	body = fx_dump(json_pack("{s:s}", "content", content));
	r = fx_call("POST", a, body, "/api/v1/chat/chat");
	free(body);
	status = r->status;
	if (status == 200 && u != NULL) {
		u->prompt += jint(r, "data.usage.prompt_tokens");
		u->completion += jint(r, "data.usage.completion_tokens");
		u->total += jint(r, "data.usage.total_tokens");
		cr_assert_gt(jint(r, "data.usage.total_tokens"), 0, "%s",
		    r->body);
	}
	resp_free(r);
	return (status);
}

static struct resp *
get(const struct user *a, const char *path)
{
	struct resp	*r;

	r = fx_call("GET", a, NULL, "%s", path);
	return (r);
}

static void
sql1(const char *sql, const char *p1)
{
	(void)fx_sql(sql, p1);
}

static long long
sql_num(const char *sql, const char *p1)
{
	char	out[64];

	(void)snprintf(out, sizeof(out), "%s", fx_sql(sql, p1));
	return (strtoll(out, NULL, 10));
}

/* The usage figures of a /usage or a day row equal those of u. */
static void
expect_usage(json_t *o, long long q, long long ok, long long failed,
    const struct usage *u)
{
	cr_expect_eq(jget(o, "total_queries"), q, "total_queries");
	cr_expect_eq(jget(o, "successful_queries"), ok, "successful_queries");
	cr_expect_eq(jget(o, "failed_queries"), failed, "failed_queries");
	cr_expect_eq(jget(o, "prompt_tokens"), u->prompt, "prompt_tokens");
	cr_expect_eq(jget(o, "completion_tokens"), u->completion,
	    "completion_tokens");
	cr_expect_eq(jget(o, "total_tokens"), u->total, "total_tokens");
	cr_expect(fabs(json_number_value(json_object_get(o,
	    "estimated_cost_usd")) - cost_of(u->prompt, u->completion)) <
	    1e-12, "cost %f, want %f", json_number_value(json_object_get(o,
	    "estimated_cost_usd")), cost_of(u->prompt, u->completion));
}

static void
today(char out[11], int minus_days)
{
	time_t		t;
	struct tm	tm;

	t = time(NULL) - (time_t)minus_days * 86400;
	(void)gmtime_r(&t, &tm);
	(void)strftime(out, 11, "%Y-%m-%d", &tm);
}

Test(analytics, usage_counts_calls_tokens_and_failures)
{
	struct user	 a;
	struct usage	 u;
	struct resp	*r;
	json_t		*m;
	char		 msg[128];

	memset(&u, 0, sizeof(u));
	fx_new(&a, "an-usage");
	cr_assert_eq(chat(&a, "What is consideration in contract law?", &u),
	    200);
	cr_assert_eq(chat(&a, "Define estoppel briefly please", &u), 200);
	cr_assert_eq(chat(&a, "And promissory estoppel?", &u), 200);
	/* Retried by the server, then a failure: one failed query. */
	(void)snprintf(msg, sizeof(msg), "%s [[status:500]]", uniq("fail"));
	cr_assert_eq(chat(&a, msg, NULL), 502);

	r = get(&a, USAGE "?days=1");
	fx_status(r, 200);
	expect_usage(jpath(r->json, "data"), 4, 3, 1, &u);
	cr_expect_eq(jint(r, "data.period_days"), 1);
	cr_expect_gt(jreal(r, "data.avg_response_time_ms"), 0.0);
	cr_expect_eq(jint(r, "data.documents_uploaded"), 0);
	cr_expect_eq(jint(r, "data.workflows_executed"), 0);
	cr_expect_not_null(jstr(r, "data.period_start"));
	m = jpath(r->json, "data.models.0");
	cr_assert_not_null(m, "%s", r->body);
	cr_expect_eq(json_array_size(jpath(r->json, "data.models")), 1);
	cr_expect_str_eq(json_string_value(json_object_get(m, "model")),
	    "gpt-test");
	cr_expect_str_eq(json_string_value(json_object_get(m, "provider")),
	    "openai");
	cr_expect(json_is_true(json_object_get(m, "priced")));
	expect_usage(m, 4, 3, 1, &u);
	resp_free(r);

	/* The ledger says the same: one row per call, the failure at 0. */
	cr_expect_eq(sql_num("SELECT count(*) FROM llm_calls WHERE "
	    "user_id = $1 AND status = 'failed' AND total_tokens = 0", a.id),
	    1);
}

Test(analytics, users_see_only_their_own_figures)
{
	struct user	 a, b;
	struct usage	 u, none;
	struct resp	*r;

	memset(&u, 0, sizeof(u));
	memset(&none, 0, sizeof(none));
	fx_new(&a, "an-iso-a");
	fx_new(&b, "an-iso-b");
	cr_assert_eq(chat(&a, "Is a verbal contract binding?", &u), 200);

	r = get(&b, USAGE "?days=90");
	fx_status(r, 200);
	expect_usage(jpath(r->json, "data"), 0, 0, 0, &none);
	cr_expect_eq(json_array_size(jpath(r->json, "data.models")), 0);
	resp_free(r);
	r = get(&b, ACTIVITY);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 0, "%s", r->body);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 0);
	resp_free(r);

	r = get(&a, USAGE "?days=90");
	fx_status(r, 200);
	expect_usage(jpath(r->json, "data"), 1, 1, 0, &u);
	resp_free(r);
}

Test(analytics, quota_fields_follow_the_budget)
{
	struct user	 a, admin;
	struct usage	 u;
	struct resp	*r;
	char		*body, next[64];
	time_t		 t;
	struct tm	 tm;

	memset(&u, 0, sizeof(u));
	fx_new(&a, "an-quota");
	fx_admin(&admin);
	r = get(&a, USAGE);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.quota_daily"), 0, "unlimited by default");
	cr_expect(json_is_null(jpath(r->json, "data.quota_remaining")),
	    "%s", r->body);
	cr_expect_eq(jint(r, "data.period_days"), 7);
	resp_free(r);

	body = fx_dump(json_pack("{s:i}", "token_quota_daily", 100000));
	r = fx_call("PATCH", &admin, body, "/api/v1/users/%s", a.id);
	free(body);
	fx_status(r, 200);
	resp_free(r);
	cr_assert_eq(chat(&a, "What is a tort?", &u), 200);

	r = get(&a, USAGE);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.quota_daily"), 100000);
	cr_expect_eq(jint(r, "data.tokens_used_today"), u.total);
	cr_expect_eq(jint(r, "data.quota_remaining"), 100000 - u.total);
	t = time(NULL) + 86400;
	(void)gmtime_r(&t, &tm);
	(void)strftime(next, sizeof(next), "%Y-%m-%dT00:00:00.000Z", &tm);
	cr_expect_str_eq(jstr(r, "data.quota_resets_at"), next);
	resp_free(r);

	/* Over the budget: nothing left, and chat refuses. */
	body = fx_dump(json_pack("{s:I}", "token_quota_daily",
	    (json_int_t)u.total));
	r = fx_call("PATCH", &admin, body, "/api/v1/users/%s", a.id);
	free(body);
	fx_status(r, 200);
	resp_free(r);
	r = get(&a, USAGE);
	cr_expect_eq(jint(r, "data.quota_remaining"), 0, "%s", r->body);
	resp_free(r);
	cr_expect_eq(chat(&a, "One more?", NULL), 429);
}

Test(analytics, day_rows_add_up_to_the_usage)
{
	struct user	 a;
	struct usage	 u, sum, day3;
	struct resp	*r, *t;
	json_t		*items, *it;
	char		 d[11];
	size_t		 i;
	double		 cost;

	memset(&u, 0, sizeof(u));
	fx_new(&a, "an-days");
	cr_assert_eq(chat(&a, "What is the statute of frauds?", &u), 200);
	/* Calls on earlier days, written as the ledger holds them. */
	sql1("INSERT INTO llm_calls (user_id, kind, provider, model, "
	    "prompt_tokens, completion_tokens, total_tokens, latency_ms, "
	    "status, created_at) VALUES "
	    "($1, 'chat', 'openai', 'gpt-test', 100, 50, 150, 400, 'ok', "
	    "now() - interval '3 days'), "
	    "($1, 'analysis', 'openai', 'gpt-test', 1000, 10, 1010, 900, 'ok',"
	    " now() - interval '3 days'), "
	    "($1, 'chat', 'openai', 'gpt-test', 0, 0, 0, 30, 'failed', "
	    "now() - interval '5 days'), "
	    "($1, 'chat', 'gemini', 'unpriced-model', 7, 3, 10, 20, 'ok', "
	    "now() - interval '5 days'), "
	    "($1, 'chat', 'openai', 'gpt-test', 9999, 9999, 19998, 5, 'ok', "
	    "now() - interval '12 days')", a.id);
	day3.prompt = 1100;
	day3.completion = 60;
	day3.total = 1160;

	r = get(&a, USAGE "?days=7");
	t = get(&a, TOKENS "?days=7");
	fx_status(r, 200);
	fx_status(t, 200);
	cr_expect_eq(jint(r, "data.total_queries"), 5, "%s", r->body);
	cr_expect_eq(jint(r, "data.failed_queries"), 1);
	cr_expect_eq(jint(r, "data.total_tokens"), u.total + 1160 + 10);

	items = jpath(t->json, "data.items");
	cr_assert_eq(json_array_size(items), 7, "%s", t->body);
	memset(&sum, 0, sizeof(sum));
	cost = 0;
	json_array_foreach(items, i, it) {
		today(d, 6 - (int)i);
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "date")), d, "row %zu", i);
		sum.prompt += jget(it, "prompt_tokens");
		sum.completion += jget(it, "completion_tokens");
		sum.total += jget(it, "total_tokens");
		cost += json_number_value(json_object_get(it,
		    "estimated_cost_usd"));
	}
	cr_expect_eq(sum.prompt, jint(r, "data.prompt_tokens"));
	cr_expect_eq(sum.completion, jint(r, "data.completion_tokens"));
	cr_expect_eq(sum.total, jint(r, "data.total_tokens"));
	cr_expect(fabs(cost - jreal(r, "data.estimated_cost_usd")) < 1e-12);
	/* The unpriced model's tokens count, at no cost. */
	cr_expect(fabs(cost - cost_of(u.prompt + 1100, u.completion + 60)) <
	    1e-12, "cost %.12f", cost);
	expect_usage(json_array_get(items, 3), 2, 2, 0, &day3);
	expect_usage(json_array_get(items, 6), 1, 1, 0, &u);
	cr_expect_eq(jget(json_array_get(items, 0), "total_queries"), 0);
	cr_expect_eq(jint(t, "data.totals.total_tokens"), sum.total);
	resp_free(t);
	resp_free(r);

	r = get(&a, USAGE "?days=30");
	cr_expect_eq(jint(r, "data.total_tokens"), u.total + 1170 + 19998);
	cr_expect_eq(json_array_size(jpath(r->json, "data.models")), 2);
	resp_free(r);
}

/* A text upload through the real API; its id into id. */
static void
upload(const struct user *a, const char *name, char *id, size_t len)
{
	fx_doc_new(NULL, a, name, "The lessee shall pay rent monthly. The "
	    "lessor shall keep the roof in repair.", id, len);
}

Test(analytics, activity_lists_everything_newest_first)
{
	struct user	 a;
	struct resp	*r;
	json_t		*items, *it;
	char		 doc[64], wf[64];
	const char	*want[] = { "chat", "workflow", "upload", "chat" };
	size_t		 i;

	fx_new(&a, "an-act");
	cr_assert_eq(chat(&a, "First question on leases", NULL), 200);
	upload(&a, "lease.txt", doc, sizeof(doc));
	cr_assert_str_eq(fx_doc_wait(NULL, &a, doc, WAIT_S), "completed");
	(void)snprintf(wf, sizeof(wf), "%s",
	    fx_sql("INSERT INTO workflow_executions (user_id, template, "
	    "status, total_steps, started_at, completed_at) VALUES ($1, "
	    "'contract_review', 'completed', 3, now() - interval '2 s', now()) "
	    "RETURNING id", a.id));
	(void)usleep(20000);
	cr_assert_eq(chat(&a, "Second question on leases", NULL), 200);

	r = get(&a, ACTIVITY "?limit=10");
	fx_status(r, 200);
	items = jpath(r->json, "data.items");
	cr_assert_eq(json_array_size(items), 4, "%s", r->body);
	cr_expect_eq(jint(r, "data.total"), 4);
	cr_expect_eq(jint(r, "data.limit"), 10);
	json_array_foreach(items, i, it) {
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "type")), want[i], "item %zu: %s", i, r->body);
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "status")), "completed", "item %zu", i);
		cr_expect(json_is_integer(json_object_get(it, "duration_ms")),
		    "item %zu has a duration: %s", i, r->body);
		cr_expect_not_null(json_object_get(it, "created_at"));
	}
	cr_expect_str_eq(jstr(r, "data.items.1.id"), wf);
	cr_expect_eq(jint(r, "data.items.1.duration_ms") / 1000, 2);
	cr_expect_str_eq(jstr(r, "data.items.2.id"), doc);
	cr_expect_str_eq(jstr(r, "data.items.2.title"), "lease.txt");
	resp_free(r);

	r = get(&a, ACTIVITY "?limit=2&offset=1");
	fx_status(r, 200);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 2);
	cr_expect_str_eq(jstr(r, "data.items.0.type"), "workflow");
	cr_expect_str_eq(jstr(r, "data.items.1.type"), "upload");
	resp_free(r);

	r = get(&a, USAGE);
	cr_expect_eq(jint(r, "data.documents_uploaded"), 1, "%s", r->body);
	cr_expect_eq(jint(r, "data.workflows_executed"), 1);
	cr_expect_eq(jint(r, "data.workflows_completed"), 1);
	cr_expect_eq(jint(r, "data.workflows_failed"), 0);
	resp_free(r);
}

Test(analytics, system_is_for_admins_and_covers_everyone)
{
	struct user	 a, b, admin;
	struct usage	 u;
	struct resp	*r;
	json_t		*p, *top;
	size_t		 i;
	char		 msg[128];
	int		 seen;

	memset(&u, 0, sizeof(u));
	fx_new(&a, "an-sys-a");
	fx_new(&b, "an-sys-b");
	fx_admin(&admin);
	r = get(&a, SYSTEM);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("GET", NULL, NULL, SYSTEM);
	fx_error(r, 401, "unauthorized");
	resp_free(r);

	/* b becomes the heaviest user of the day. */
	sql1("INSERT INTO llm_calls (user_id, kind, provider, model, "
	    "prompt_tokens, completion_tokens, total_tokens, latency_ms, "
	    "status) VALUES ($1, 'chat', 'openai', 'gpt-test', 900000000, "
	    "100000000, 1000000000, 10, 'ok')", b.id);
	cr_assert_eq(chat(&a, "Who owns the fixtures in a lease?", &u), 200);
	(void)snprintf(msg, sizeof(msg), "%s [[status:500]]", uniq("sysf"));
	cr_assert_eq(chat(&a, msg, NULL), 502);

	r = get(&admin, SYSTEM "?days=1");
	fx_status(r, 200);
	/*
	 * Other tests add and purge calls meanwhile: the totals hold at
	 * least ours.
	 */
	cr_expect_geq(jint(r, "data.total_queries"), 3);
	cr_expect_geq(jint(r, "data.failed_queries"), 1);
	cr_expect_geq(jint(r, "data.total_tokens"), 1000000000 + u.total);
	cr_expect_geq(jint(r, "data.active_users"), 2);
	cr_expect_geq(jint(r, "data.total_users"), 3);
	top = jpath(r->json, "data.top_users.0");
	cr_assert_not_null(top, "%s", r->body);
	cr_expect_str_eq(json_string_value(json_object_get(top, "user_id")),
	    b.id);
	cr_expect_eq(jget(top, "total_tokens"), 1000000000);
	seen = 0;
	json_array_foreach(jpath(r->json, "data.providers"), i, p) {
		if (strcmp(json_string_value(json_object_get(p, "provider")),
		    "openai"))
			continue;
		seen = 1;
		cr_expect_gt(json_number_value(json_object_get(p,
		    "error_rate")), 0.0);
		cr_expect_geq(jget(p, "failed_queries"), 1);
	}
	cr_expect(seen, "no openai row: %s", r->body);
	resp_free(r);
}

Test(analytics, out_of_range_parameters_are_400)
{
	struct user	 a, admin;
	struct resp	*r;
	const char	*bad[] = { USAGE "?days=0", USAGE "?days=91",
	    USAGE "?days=abc", USAGE "?days=", USAGE "?days=-1",
	    TOKENS "?days=100", TOKENS "?days=1.5", ACTIVITY "?limit=0",
	    ACTIVITY "?limit=101", ACTIVITY "?offset=-1" };
	size_t		 i;

	fx_new(&a, "an-400");
	fx_admin(&admin);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = get(&a, bad[i]);
		fx_error(r, 400, "validation_error");
		cr_expect_not_null(fx_issue(r, strstr(bad[i], "days") ?
		    "days" : strstr(bad[i], "offset") ? "offset" : "limit"),
		    "%s: %s", bad[i], r->body);
		resp_free(r);
	}
	r = get(&admin, SYSTEM "?days=91");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = get(&a, USAGE "?days=90");
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.period_days"), 90);
	resp_free(r);
	r = fx_call("POST", &a, "{}", USAGE);
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
	r = fx_call("GET", NULL, NULL, USAGE);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
}

Test(analytics, rollup_stays_equal_to_the_ledger)
{
	struct user	 a, admin;
	struct resp	*r;
	const char	*cmp = "SELECT (SELECT coalesce(sum(total_tokens), 0) "
	    "FROM llm_calls WHERE user_id = $1) - (SELECT "
	    "coalesce(sum(total_tokens), 0) FROM llm_usage_daily WHERE "
	    "user_id = $1) + (SELECT count(*) FROM llm_calls WHERE "
	    "user_id = $1) - (SELECT coalesce(sum(calls), 0) FROM "
	    "llm_usage_daily WHERE user_id = $1)";

	fx_new(&a, "an-roll");
	fx_admin(&admin);
	cr_assert_eq(chat(&a, "What is adverse possession?", NULL), 200);
	sql1("INSERT INTO llm_calls (user_id, kind, provider, model, "
	    "prompt_tokens, completion_tokens, total_tokens, status, "
	    "created_at) SELECT $1, 'chat', 'openai', 'gpt-test', 1, 2, 3, "
	    "'ok', now() - (g % 40) * interval '1 day' "
	    "FROM generate_series(1, 500) g", a.id);
	cr_expect_eq(sql_num(cmp, a.id), 0);
	sql1("DELETE FROM llm_calls WHERE user_id = $1 AND "
	    "created_at < now() - interval '20 days'", a.id);
	cr_expect_eq(sql_num(cmp, a.id), 0);
	sql1("UPDATE llm_calls SET total_tokens = total_tokens + 1 WHERE "
	    "user_id = $1 AND total_tokens = 3", a.id);
	cr_expect_eq(sql_num(cmp, a.id), 0);

	/* A purge removes the user's calls and rollup alike. */
	r = fx_call("DELETE", &admin, NULL, "/api/v1/users/%s", a.id);
	fx_status(r, 200);
	resp_free(r);
	cr_expect_eq(sql_num("SELECT count(*) FROM llm_usage_daily WHERE "
	    "user_id = $1", a.id), 0);
}
