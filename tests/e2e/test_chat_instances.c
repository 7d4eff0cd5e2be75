/*
 * Chat settings that need an instance of their own: AI_TIMEOUT_S (a
 * provider slower than the deadline is 504 ai_timeout) and no provider
 * configured at all (chat is 503 ai_not_configured, the rest works).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

/* A fresh user's access token on s (free()). */
static char *
token_on(struct srv *s)
{
	struct user	u;

	fx_new_at(s->base, NULL, &u, "chati-");
	return (strdup(u.token));
}

Test(chat_instances, provider_slower_than_ai_timeout_is_504, .timeout = 90)
{
	const char	*env[] = { "AI_TIMEOUT_S=1", NULL };
	struct srv	 s;
	struct resp	*r;
	struct timespec	 a, b;
	char		*tok;
	double		 secs;

	fx_srv_start(&s, env);
	tok = token_on(&s);
	(void)clock_gettime(CLOCK_MONOTONIC, &a);
	r = fx_req(s.base, "POST", "/api/v1/chat/chat", tok, NULL,
	    "{\"content\":\"[[delay:3000]] too slow\"}");
	(void)clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec -
	    a.tv_nsec) / 1e9;
	cr_expect_eq(r->status, 504, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_timeout");
	cr_expect_lt(secs, 2.5, "answered after %.2f s", secs);
	resp_free(r);

	/* Streaming: the error arrives as an event. */
	r = fx_req(s.base, "POST", "/api/v1/chat/chat", tok, NULL,
	    "{\"content\":\"[[delay:3000]] too slow\",\"stream\":true}");
	cr_expect_eq(r->status, 200);
	cr_expect_not_null(strstr(r->body, "event: error"), "%s", r->body);
	cr_expect_not_null(strstr(r->body, "ai_timeout"));
	resp_free(r);

	r = fx_req(s.base, "POST", "/api/v1/chat/chat", tok, NULL,
	    "{\"content\":\"quick one\"}");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	free(tok);
	fx_srv_stop(&s);
}

Test(chat_instances, no_provider_configured_is_503_and_the_rest_works,
    .timeout = 90)
{
	const char	*env[] = { "OPENAI_API_KEY=", "GEMINI_API_KEY=",
			    "OPENAI_BASE_URL=https://api.openai.com/v1",
			    "AI_PROVIDER=", NULL };
	struct srv	 s;
	struct resp	*r;
	char		*tok;

	fx_srv_start(&s, env);
	tok = token_on(&s);
	r = fx_req(s.base, "POST", "/api/v1/chat/chat", tok, NULL,
	    "{\"content\":\"anyone there?\"}");
	cr_expect_eq(r->status, 503, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_not_configured");
	resp_free(r);

	r = fx_req(s.base, "POST", "/api/v1/chat/conversations", tok, NULL,
	    "{\"title\":\"still works\"}");
	cr_expect_eq(r->status, 201, "%s", r->body);
	resp_free(r);
	r = fx_req(s.base, "GET", "/api/v1/chat/models", tok, NULL, NULL);
	cr_expect_eq(r->status, 200);
	cr_expect(json_is_false(jpath(r->json, "data.configured")));
	cr_expect_eq(json_array_size(jpath(r->json, "data.providers")), 0);
	resp_free(r);
	r = http_req_to(s.base, "GET", "/health", NULL, NULL, 0);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	free(tok);
	fx_srv_stop(&s);
}
