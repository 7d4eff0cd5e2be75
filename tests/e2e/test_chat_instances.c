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

#include "harness.h"

#define PW	"Str0ng-Passw0rd!"

static struct resp *
req_json(struct srv *s, const char *method, const char *path,
    const char *tok, const char *body)
{
	const char	*h[3];
	char		 auth[2048];

	h[0] = "Content-Type: application/json";
	h[1] = NULL;
	h[2] = NULL;
	if (tok != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    tok);
		h[1] = auth;
	}
	return (http_req_to(s->base, method, path, h, body,
	    body ? strlen(body) : 0));
}

static char *
token_on(struct srv *s)
{
	struct resp	*r;
	char		 body[512], *tok;

	(void)snprintf(body, sizeof(body), "{\"email\":\"%s-%ld@example.com\","
	    "\"password\":\"" PW "\",\"full_name\":\"Chat Tester\"}",
	    uniq("chati"), random());
	r = req_json(s, "POST", "/api/v1/auth/register", NULL, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	tok = strdup(jstr(r, "data.access_token"));
	resp_free(r);
	return (tok);
}

Test(chat_instances, provider_slower_than_ai_timeout_is_504, .timeout = 90)
{
	const char	*env[] = { "AI_TIMEOUT_S=1", NULL };
	struct srv	 s;
	struct resp	*r;
	struct timespec	 a, b;
	char		*tok;
	double		 secs;

	cr_assert(srv_start(&s, env), "instance did not start");
	tok = token_on(&s);
	(void)clock_gettime(CLOCK_MONOTONIC, &a);
	r = req_json(&s, "POST", "/api/v1/chat/chat", tok,
	    "{\"content\":\"[[delay:3000]] too slow\"}");
	(void)clock_gettime(CLOCK_MONOTONIC, &b);
	secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec -
	    a.tv_nsec) / 1e9;
	cr_expect_eq(r->status, 504, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_timeout");
	cr_expect_lt(secs, 2.5, "answered after %.2f s", secs);
	resp_free(r);

	/* Streaming: the error arrives as an event. */
	r = req_json(&s, "POST", "/api/v1/chat/chat", tok,
	    "{\"content\":\"[[delay:3000]] too slow\",\"stream\":true}");
	cr_expect_eq(r->status, 200);
	cr_expect_not_null(strstr(r->body, "event: error"), "%s", r->body);
	cr_expect_not_null(strstr(r->body, "ai_timeout"));
	resp_free(r);

	r = req_json(&s, "POST", "/api/v1/chat/chat", tok,
	    "{\"content\":\"quick one\"}");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	free(tok);
	srv_stop(&s);
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

	cr_assert(srv_start(&s, env), "instance did not start");
	tok = token_on(&s);
	r = req_json(&s, "POST", "/api/v1/chat/chat", tok,
	    "{\"content\":\"anyone there?\"}");
	cr_expect_eq(r->status, 503, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_not_configured");
	resp_free(r);

	r = req_json(&s, "POST", "/api/v1/chat/conversations", tok,
	    "{\"title\":\"still works\"}");
	cr_expect_eq(r->status, 201, "%s", r->body);
	resp_free(r);
	r = req_json(&s, "GET", "/api/v1/chat/models", tok, NULL);
	cr_expect_eq(r->status, 200);
	cr_expect(json_is_false(jpath(r->json, "data.configured")));
	cr_expect_eq(json_array_size(jpath(r->json, "data.providers")), 0);
	resp_free(r);
	r = http_req_to(s.base, "GET", "/health", NULL, NULL, 0);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	free(tok);
	srv_stop(&s);
}
