/*
 * Prometheus metrics of provider calls, jobs and the database pool, on
 * the main instance.  One test, run alone in its binary, so the counter
 * deltas are exactly what it did: a chat that succeeds, one that fails
 * after its retries, and a document analysis whose calls the job runner
 * makes (the runner shares the instance's counters through
 * ELENCHUS_METRICS_FILE).
 */
#include "fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WAIT_S		60

/* The value of the sample whose name and labels are exactly key. */
static double
sample(const char *body, const char *key)
{
	const char	*p;
	size_t		 n;

	n = strlen(key);
	for (p = body; (p = strstr(p, key)) != NULL; p += n) {
		if ((p == body || p[-1] == '\n') && p[n] == ' ')
			return (strtod(p + n + 1, NULL));
	}
	return (0);
}

static char *
scrape(void)
{
	struct resp	*r;
	char		*s;

	r = http_get("/metrics");
	cr_assert_eq(r->status, 200);
	s = strdup(r->body);
	resp_free(r);
	return (s);
}

static long long
chat(const struct user *a, const char *content, long *status)
{
	struct resp	*r;
	char		*body;
	long long	 tokens;

	body = fx_dump(json_pack("{s:s}", "content", content));
	r = fx_call("POST", a, body, "/api/v1/chat/chat");
	free(body);
	*status = r->status;
	tokens = r->status == 200 ? jint(r, "data.usage.prompt_tokens") : 0;
	resp_free(r);
	return (tokens);
}

static void
analysis(const struct user *a)
{
	struct resp	*r;
	char		 id[64], st[32];
	int		 i;

	fx_doc_new(NULL, a, "nda.txt", "The recipient shall keep the "
	    "information confidential for five years.", id, sizeof(id));
	cr_assert_str_eq(fx_doc_wait(NULL, a, id, WAIT_S), "completed");
	r = fx_call("POST", a, "{\"analysis_type\":\"summary\"}",
	    "/api/v1/documents/%s/analyze", id);
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
	for (i = 0; i < WAIT_S * 10; i++) {
		r = fx_call("GET", a, NULL, "/api/v1/documents/%s/analysis",
		    id);
		(void)snprintf(st, sizeof(st), "%s", jstr(r, "data.status"));
		resp_free(r);
		if (!strcmp(st, "completed") || !strcmp(st, "failed"))
			break;
		(void)usleep(100000);
	}
	cr_assert_str_eq(st, "completed");
}

#define OK	"elenchus_llm_requests_total{provider=\"openai\"," \
		"model=\"gpt-test\",status=\"ok\"}"
#define E5XX	"elenchus_llm_requests_total{provider=\"openai\"," \
		"model=\"gpt-test\",status=\"upstream_5xx\"}"
#define PTOK	"elenchus_llm_tokens_total{provider=\"openai\"," \
		"model=\"gpt-test\",kind=\"prompt\"}"
#define HCOUNT	"elenchus_llm_request_duration_seconds_count{" \
		"provider=\"openai\"}"
#define HINF	"elenchus_llm_request_duration_seconds_bucket{" \
		"provider=\"openai\",le=\"+Inf\"}"
#define DOCDONE	"elenchus_job_outcomes_total{kind=\"document_process\"," \
		"outcome=\"done\"}"

Test(metrics, provider_calls_jobs_and_pool)
{
	struct user	 a;
	char		*m0, *m1, *m2, *m3, msg[128], calls[32], ptok[32];
	long		 status;
	long long	 pt;

	fx_new(&a, "metrics");
	m0 = scrape();
	pt = chat(&a, "What makes a contract void?", &status);
	cr_assert_eq(status, 200);
	(void)snprintf(msg, sizeof(msg), "%s [[status:503]]", uniq("m5"));
	(void)chat(&a, msg, &status);
	cr_assert_eq(status, 502);
	m1 = scrape();
	cr_expect_eq(sample(m1, OK) - sample(m0, OK), 1.0, "%s", m1);
	cr_expect_eq(sample(m1, E5XX) - sample(m0, E5XX), 1.0);
	cr_expect_eq(sample(m1, PTOK) - sample(m0, PTOK), (double)pt);
	cr_expect_eq(sample(m1, HCOUNT) - sample(m0, HCOUNT), 2.0);
	cr_expect_eq(sample(m1, HINF), sample(m1, HCOUNT));
	cr_expect_not_null(strstr(m1, "# TYPE elenchus_llm_request_duration_"
	    "seconds histogram"));

	/* Background calls: counted by the runner in the same counters. */
	analysis(&a);
	m2 = scrape();
	(void)snprintf(calls, sizeof(calls), "%s",
	    fx_sql("SELECT count(*) FROM llm_calls WHERE user_id = $1 AND "
	    "kind = 'analysis' AND status = 'ok'", a.id));
	(void)snprintf(ptok, sizeof(ptok), "%s",
	    fx_sql("SELECT sum(prompt_tokens) FROM llm_calls WHERE "
	    "user_id = $1 AND kind = 'analysis'", a.id));
	cr_assert_gt(atoi(calls), 0);
	cr_expect_eq(sample(m2, OK) - sample(m1, OK), atof(calls), "%s", m2);
	cr_expect_eq(sample(m2, PTOK) - sample(m1, PTOK), atof(ptok));
	cr_expect_geq(sample(m2, DOCDONE) - sample(m1, DOCDONE), 1.0);

	/* A due job nobody serves: queued, with its age. */
	(void)snprintf(msg, sizeof(msg), "%s",
	    fx_sql("INSERT INTO jobs (kind, queue, run_after) VALUES "
	    "('metrics_probe', $1, now() - interval '30 s') RETURNING id",
	    uniq("nobody")));
	m3 = scrape();
	cr_expect_eq(sample(m3, "elenchus_jobs_queued{kind=\"metrics_probe\"}"),
	    1.0, "%s", m3);
	cr_expect_geq(sample(m3, "elenchus_job_oldest_pending_seconds{kind="
	    "\"metrics_probe\"}"), 30.0);
	(void)fx_sql("DELETE FROM jobs WHERE id = $1", msg);
	cr_expect_gt(sample(m3, "elenchus_db_pool_connections_max"), 0.0);
	cr_expect_not_null(strstr(m3, "\nelenchus_db_pool_connections_busy "));
	cr_expect_not_null(strstr(m3, "\nelenchus_db_pool_waiting "));
	free(m0);
	free(m1);
	free(m2);
	free(m3);
}

/* Every metric the Grafana dashboard in docs/ queries is served. */
Test(metrics, the_dashboard_queries_served_metrics)
{
	json_t		*d, *p, *t;
	const char	*e, *s;
	char		*m, name[128], want[160];
	size_t		 i, j, n;
	int		 seen;

	d = json_load_file("docs/grafana-dashboard.json", 0, NULL);
	cr_assert_not_null(d, "docs/grafana-dashboard.json");
	m = scrape();
	seen = 0;
	json_array_foreach(json_object_get(d, "panels"), i, p) {
		json_array_foreach(json_object_get(p, "targets"), j, t) {
			e = json_string_value(json_object_get(t, "expr"));
			for (s = e; (s = strstr(s, "elenchus_")) != NULL;
			    s += n) {
				n = strspn(s, "abcdefghijklmnopqrstuvwxyz_");
				(void)snprintf(name, sizeof(name), "%.*s",
				    (int)n, s);
				if (strlen(name) > 7 && !strcmp(name +
				    strlen(name) - 7, "_bucket"))
					name[strlen(name) - 7] = '\0';
				(void)snprintf(want, sizeof(want),
				    "# TYPE %s ", name);
				cr_expect_not_null(strstr(m, want),
				    "dashboard queries %s, not served", name);
				seen++;
			}
		}
	}
	cr_expect_gt(seen, 10);
	free(m);
	json_decref(d);
}
