/*
 * Circuit breakers around the providers: after BREAKER_THRESHOLD
 * consecutive failures the LLM provider's breaker opens for
 * BREAKER_OPEN_S; calls fail fast with 503 ai_unavailable and
 * Retry-After without reaching the provider; then one probe goes
 * through and its success closes the breaker.  The state is shown in
 * /api/v1/health/detailed and /metrics.  An instance of its own.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

static struct resp *
chat(struct srv *s, struct user *a, const char *content)
{
	char		body[512];

	(void)snprintf(body, sizeof(body), "{\"content\": \"%s\", "
	    "\"provider\": \"openai\"}", content);
	return (fx_req(s->base, "POST", "/api/v1/chat", a->token, NULL,
	    body));
}

static const char *
circuit_state(struct srv *s)
{
	static char	 st[32];
	struct resp	*r;

	r = http_req_to(s->base, "GET", "/api/v1/health/detailed", NULL,
	    NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	(void)snprintf(st, sizeof(st), "%s",
	    jstr(r, "data.circuits.openai.state") ?
	    jstr(r, "data.circuits.openai.state") : "?");
	resp_free(r);
	return (st);
}

Test(breaker, llm_breaker_opens_fails_fast_and_closes_after_a_probe,
    .timeout = 120)
{
	static const char *const env[] = { "BREAKER_THRESHOLD=2",
	    "BREAKER_OPEN_S=3", "AI_TIMEOUT_S=2", "JOBS_DISABLED=1", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 msg[128], *m;
	int		 i;

	fx_new(&a, "breaker");
	fx_srv_start(&s, env);
	cr_expect_str_eq(circuit_state(&s), "closed");

	for (i = 0; i < 2; i++) {
		(void)snprintf(msg, sizeof(msg), "%s [[status:500]]",
		    uniq("down"));
		r = chat(&s, &a, msg);
		fx_error(r, 502, "ai_upstream_error");
		resp_free(r);
	}
	cr_expect_str_eq(circuit_state(&s), "open");

	/* Fail fast: 503, Retry-After, and the provider never hears of it. */
	m = strdup(uniq("refused"));
	r = chat(&s, &a, m);
	fx_error(r, 503, "ai_unavailable");
	cr_assert_not_null(resp_header(r, "retry-after"));
	cr_expect_gt(atoi(resp_header(r, "retry-after")), 0);
	cr_expect_leq(atoi(resp_header(r, "retry-after")), 3);
	cr_expect_lt(r->seconds, 1.0, "not fast: %.2fs", r->seconds);
	resp_free(r);
	cr_expect_not(fx_llm_saw(m), "the provider was called while open");
	free(m);

	r = http_req_to(s.base, "GET", "/metrics", NULL, NULL, 0);
	cr_expect_not_null(strstr(r->body,
	    "elenchus_circuit_state{dependency=\"openai\"} 1"), "%s", r->body);
	cr_expect_not_null(strstr(r->body,
	    "elenchus_circuit_opens_total{dependency=\"openai\"} 1"));
	cr_expect_not_null(strstr(r->body,
	    "elenchus_circuit_rejected_total{dependency=\"openai\"} 1"));
	resp_free(r);

	/* After BREAKER_OPEN_S one probe goes through; success closes it. */
	(void)sleep(3);
	m = strdup(uniq("probe"));
	r = chat(&s, &a, m);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	cr_expect(fx_llm_saw(m));
	free(m);
	cr_expect_str_eq(circuit_state(&s), "closed");
	r = chat(&s, &a, uniq("after"));
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);

	/* A failed probe opens it again. */
	for (i = 0; i < 2; i++) {
		(void)snprintf(msg, sizeof(msg), "%s [[status:503]]",
		    uniq("down"));
		r = chat(&s, &a, msg);
		cr_expect_eq(r->status, 502, "%s", r->body);
		resp_free(r);
	}
	cr_expect_str_eq(circuit_state(&s), "open");
	(void)sleep(3);
	(void)snprintf(msg, sizeof(msg), "%s [[status:500]]", uniq("probe"));
	r = chat(&s, &a, msg);
	cr_expect_eq(r->status, 502, "%s", r->body);
	resp_free(r);
	cr_expect_str_eq(circuit_state(&s), "open");
	r = chat(&s, &a, uniq("refused"));
	fx_error(r, 503, "ai_unavailable");
	resp_free(r);

	/* The main instance (another process) has its own breakers. */
	r = http_get("/api/v1/health/detailed");
	cr_expect_str_eq(jstr(r, "data.circuits.openai.state"), "closed");
	resp_free(r);
	fx_srv_stop(&s);
}
