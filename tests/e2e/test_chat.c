/*
 * Chat (docs/API.md §5) on the main instance, against the LLM stand-in:
 * conversations and ownership, the exact provider requests (OpenAI and
 * Gemini wire formats, system prompt, history), token accounting,
 * streaming, retries and failures, quotas, a client that goes away,
 * and many slow answers at once.  Every test marks its messages with a
 * unique word and reads back only the stand-in requests carrying it.
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "fixture.h"
#include "lib/prompt.h"

#define CHAT		"/api/v1/chat/chat"
#define CONVS		"/api/v1/chat/conversations"
#define SLOW_N		100
#define SLOW_MS		2000

/* A fresh user's access token (free()). */
static char *
user_token(void)
{
	struct user	u;

	fx_new(&u, "chat-");
	return (strdup(u.token));
}

static struct resp *
chat(const char *tok, json_t *body)
{
	struct resp	*r;
	char		*s;

	s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	r = http_json("POST", CHAT, tok, s);
	free(s);
	return (r);
}

static const char *
sget(json_t *j, const char *path)
{
	return (json_string_value(jpath(j, path)));
}

static void
psql(const char *sql)
{
	char	cmd[2048];

	(void)snprintf(cmd, sizeof(cmd), "psql '%s' -X -q -c \"%s\" "
	    ">/dev/null", env_or("DATABASE_URL", ""), sql);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

Test(chat, conversations_crud_and_ownership)
{
	struct resp	*r;
	char		*a, *b, path[256], id[64];

	a = user_token();
	b = user_token();
	r = http_json("POST", CONVS, a,
	    "{\"title\":\"Lease review\",\"metadata\":{\"matter\":\"42\"}}");
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.title"), "Lease review");
	cr_expect_str_eq(jstr(r, "data.metadata.matter"), "42");
	cr_expect(json_is_false(jpath(r->json, "data.is_archived")));
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	(void)snprintf(path, sizeof(path), CONVS "/%s", id);

	r = http_json("POST", CONVS, a, "{\"title\":\"\"}");
	cr_expect_eq(r->status, 400);
	cr_expect_str_eq(err_code(r), "validation_error");
	resp_free(r);

	r = http_json("GET", path, a, NULL);
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.id"), id);
	resp_free(r);
	r = http_json("GET", path, b, NULL);
	cr_expect_eq(r->status, 404, "another user's conversation");
	resp_free(r);
	r = http_json("PATCH", path, b, "{\"title\":\"mine\"}");
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = http_json("DELETE", path, b, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);

	r = http_json("PATCH", path, a,
	    "{\"title\":\"Lease v2\",\"is_archived\":true}");
	cr_expect_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.title"), "Lease v2");
	cr_expect(json_is_true(jpath(r->json, "data.is_archived")));
	resp_free(r);

	r = http_json("GET", CONVS "?archived=true", a, NULL);
	cr_expect_eq(r->status, 200);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.id"), id);
	resp_free(r);
	r = http_json("GET", CONVS, a, NULL);
	cr_expect_eq(jint(r, "data.total"), 0, "archived are not listed");
	resp_free(r);
	r = http_json("GET", CONVS "?archived=true", b, NULL);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);

	r = http_json("DELETE", path, a, NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	r = http_json("GET", path, a, NULL);
	cr_expect_eq(r->status, 404, "soft-deleted");
	resp_free(r);
	r = http_json("GET", "/api/v1/chat/conversations/not-a-uuid", a, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	r = http_json("GET", CONVS, NULL, NULL);
	cr_expect_eq(r->status, 401);
	resp_free(r);
	free(a);
	free(b);
}

Test(chat, chat_creates_conversation_and_sends_exact_openai_request)
{
	struct resp	*r;
	json_t		*reqs, *body, *msgs;
	char		*tok, content[128], path[256];
	const char	*m;

	tok = user_token();
	m = uniq("w");
	(void)snprintf(content, sizeof(content), "What is estoppel %s", m);
	r = chat(tok, json_pack("{s:s}", "content", content));
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_not_null(jstr(r, "data.conversation_id"));
	cr_expect_str_eq(jstr(r, "data.user_message.content"), content);
	cr_expect_str_eq(jstr(r, "data.user_message.role"), "user");
	cr_expect_str_eq(jstr(r, "data.message.role"), "assistant");
	cr_expect_str_eq(jstr(r, "data.message.model_used"), "gpt-test");
	cr_expect_str_eq(jstr(r, "data.message.trace_id"),
	    resp_header(r, "x-request-id"));
	cr_expect(json_is_array(jpath(r->json, "data.citations")));

	reqs = fx_llm_requests(m);
	cr_assert_eq(json_array_size(reqs), 1);
	cr_expect_str_eq(sget(reqs, "0.path"), "/v1/chat/completions");
	cr_expect(json_is_true(jpath(reqs, "0.key_ok")));
	body = jpath(reqs, "0.body");
	cr_expect_str_eq(sget(body, "model"), "gpt-test");
	msgs = json_object_get(body, "messages");
	cr_assert_eq(json_array_size(msgs), 2);
	cr_expect_str_eq(sget(msgs, "0.role"), "system");
	cr_expect_str_eq(sget(msgs, "0.content"), prompt_system());
	cr_expect_str_eq(sget(msgs, "1.role"), "user");
	cr_expect_str_eq(sget(msgs, "1.content"), content);
	cr_expect(!json_is_true(json_object_get(body, "stream")));

	/* The provider's own counts: words of every message and answer. */
	{
		char	echo[256];

		(void)snprintf(echo, sizeof(echo), "Echo: %s (2 messages)",
		    content);
		cr_expect_str_eq(jstr(r, "data.message.content"), echo);
		cr_expect_eq(jint(r, "data.usage.completion_tokens"), 7);
		cr_expect_gt(jint(r, "data.usage.prompt_tokens"), 4);
		cr_expect_eq(jint(r, "data.usage.total_tokens"),
		    jint(r, "data.usage.prompt_tokens") + 7);
		cr_expect_eq(jint(r, "data.message.total_tokens"),
		    jint(r, "data.usage.total_tokens"));
		cr_expect(json_is_false(jpath(r->json,
		    "data.message.usage_estimated")));
	}

	(void)snprintf(path, sizeof(path), CONVS "/%s",
	    jstr(r, "data.conversation_id"));
	resp_free(r);
	r = http_json("GET", path, tok, NULL);
	cr_expect_eq(r->status, 200);
	cr_expect_str_eq(jstr(r, "data.title"), content);
	resp_free(r);
	(void)strncat(path, "/messages", sizeof(path) - strlen(path) - 1);
	r = http_json("GET", path, tok, NULL);
	cr_expect_eq(jint(r, "data.total"), 2);
	cr_expect_str_eq(jstr(r, "data.items.0.role"), "user");
	cr_expect_str_eq(jstr(r, "data.items.1.role"), "assistant");
	cr_expect_eq(jint(r, "data.items.1.completion_tokens"), 7);
	resp_free(r);
	json_decref(reqs);
	free(tok);
}

Test(chat, history_is_the_last_ten_messages_oldest_first)
{
	struct resp	*r;
	json_t		*reqs, *msgs;
	char		*tok, conv[64], c[128], want[128];
	const char	*m;
	int		 i;

	tok = user_token();
	m = uniq("h");
	conv[0] = '\0';
	for (i = 1; i <= 7; i++) {
		(void)snprintf(c, sizeof(c), "turn%d %s", i, m);
		r = chat(tok, conv[0] ? json_pack("{s:s, s:s}", "content", c,
		    "conversation_id", conv) : json_pack("{s:s}", "content",
		    c));
		cr_assert_eq(r->status, 200, "%s", r->body);
		(void)snprintf(conv, sizeof(conv), "%s",
		    jstr(r, "data.conversation_id"));
		resp_free(r);
	}
	reqs = fx_llm_requests(m);
	cr_assert_eq(json_array_size(reqs), 7);
	msgs = jpath(reqs, "6.body.messages");
	/* System, the last 10 of 12 stored messages, the new one. */
	cr_assert_eq(json_array_size(msgs), 12);
	cr_expect_str_eq(sget(msgs, "0.role"), "system");
	(void)snprintf(want, sizeof(want), "turn2 %s", m);
	cr_expect_str_eq(sget(msgs, "1.content"), want);
	cr_expect_str_eq(sget(msgs, "2.role"), "assistant");
	(void)snprintf(want, sizeof(want), "turn6 %s", m);
	cr_expect_str_eq(sget(msgs, "9.content"), want);
	(void)snprintf(want, sizeof(want), "turn7 %s", m);
	cr_expect_str_eq(sget(msgs, "11.content"), want);
	cr_expect_str_eq(sget(msgs, "11.role"), "user");
	json_decref(reqs);
	free(tok);
}

Test(chat, gemini_is_selected_per_request_with_its_wire_format)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128];
	const char	*m;

	tok = user_token();
	m = uniq("g");
	(void)snprintf(c, sizeof(c), "Gemini please %s", m);
	r = chat(tok, json_pack("{s:s, s:s}", "content", c, "provider",
	    "gemini"));
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.message.provider"), "gemini");
	cr_expect_str_eq(jstr(r, "data.message.model_used"), "gemini-test");
	reqs = fx_llm_requests(m);
	cr_assert_eq(json_array_size(reqs), 1);
	cr_expect_str_eq(sget(reqs, "0.path"),
	    "/v1beta/models/gemini-test:generateContent");
	cr_expect(json_is_true(jpath(reqs, "0.key_ok")));
	cr_expect_str_eq(sget(reqs, "0.body.systemInstruction.parts.0.text"),
	    prompt_system());
	cr_expect_str_eq(sget(reqs, "0.body.contents.0.role"), "user");
	cr_expect_str_eq(sget(reqs, "0.body.contents.0.parts.0.text"), c);
	cr_expect_eq(jint(r, "data.usage.total_tokens"),
	    jint(r, "data.usage.prompt_tokens") +
	    jint(r, "data.usage.completion_tokens"));
	resp_free(r);
	json_decref(reqs);

	r = chat(tok, json_pack("{s:s, s:s, s:s}", "content", c, "provider",
	    "gemini", "model", "gpt-test"));
	cr_expect_eq(r->status, 400, "a model the provider does not offer");
	cr_expect_str_eq(err_code(r), "validation_error");
	resp_free(r);
	r = chat(tok, json_pack("{s:s, s:s}", "content", c, "provider",
	    "claude"));
	cr_expect_eq(r->status, 400);
	resp_free(r);
	r = chat(tok, json_pack("{s:s}", "content", ""));
	cr_expect_eq(r->status, 400);
	resp_free(r);
	free(tok);
}

Test(chat, models_lists_configured_providers)
{
	struct resp	*r;
	char		*tok;

	tok = user_token();
	r = http_json("GET", "/api/v1/chat/models", tok, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "data.configured")));
	cr_expect_str_eq(jstr(r, "data.default_provider"), "openai");
	cr_expect_str_eq(jstr(r, "data.providers.0.name"), "openai");
	cr_expect_str_eq(jstr(r, "data.providers.0.default_model"),
	    "gpt-test");
	cr_expect_str_eq(jstr(r, "data.providers.1.name"), "gemini");
	cr_expect_str_eq(jstr(r, "data.providers.1.models.0"),
	    "gemini-test");
	resp_free(r);
	free(tok);
}

/* Split an SSE body into events; deltas concatenated into *text. */
static json_t *
sse_events(const char *body, char *text, size_t len)
{
	json_t		*out, *d;
	const char	*p, *e, *nl;
	char		 ev[64], data[65536];

	out = json_array();
	text[0] = '\0';
	for (p = body; (e = strstr(p, "\n\n")) != NULL; p = e + 2) {
		ev[0] = data[0] = '\0';
		for (; p < e; p = nl + 1) {
			nl = memchr(p, '\n', (size_t)(e - p));
			if (nl == NULL)
				nl = e;
			if (!strncmp(p, "event: ", 7))
				(void)snprintf(ev, sizeof(ev), "%.*s",
				    (int)(nl - p - 7), p + 7);
			else if (!strncmp(p, "data: ", 6))
				(void)snprintf(data, sizeof(data), "%.*s",
				    (int)(nl - p - 6), p + 6);
			if (nl == e)
				break;
		}
		d = json_loads(data, 0, NULL);
		(void)json_array_append_new(out, json_pack("{s:s, s:o*}",
		    "event", ev, "data", d));
		if (!strcmp(ev, "delta"))
			(void)strncat(text, json_string_value(
			    json_object_get(d, "content")),
			    len - strlen(text) - 1);
	}
	return (out);
}

Test(chat, streaming_sends_deltas_then_done_and_stores_the_answer)
{
	struct resp	*r;
	json_t		*reqs, *ev, *last;
	char		*tok, c[128], text[4096], path[256];
	const char	*m;
	size_t		 n;

	tok = user_token();
	m = uniq("s");
	(void)snprintf(c, sizeof(c), "Stream me an answer %s", m);
	r = chat(tok, json_pack("{s:s, s:b}", "content", c, "stream", 1));
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(resp_header(r, "content-type"),
	    "text/event-stream; charset=utf-8");
	cr_expect_str_eq(resp_header(r, "x-accel-buffering"), "no");
	cr_expect_not_null(resp_header(r, "x-request-id"));
	ev = sse_events(r->body, text, sizeof(text));
	n = json_array_size(ev);
	cr_assert_gt(n, 2, "%s", r->body);
	cr_expect_str_eq(sget(ev, "0.event"), "delta");
	last = json_array_get(ev, n - 1);
	cr_assert_str_eq(sget(last, "event"), "done", "%s", r->body);
	cr_expect_str_eq(sget(last, "data.message.content"), text);
	cr_expect_gt(json_integer_value(jpath(last,
	    "data.usage.total_tokens")), 0);
	cr_expect(json_is_false(jpath(last, "data.message.usage_estimated")));

	reqs = fx_llm_requests(m);
	cr_assert_eq(json_array_size(reqs), 1);
	cr_expect(json_is_true(jpath(reqs, "0.body.stream")));
	cr_expect(json_is_true(jpath(reqs,
	    "0.body.stream_options.include_usage")));

	(void)snprintf(path, sizeof(path), CONVS "/%s/messages",
	    sget(last, "data.conversation_id"));
	resp_free(r);
	r = http_json("GET", path, tok, NULL);
	cr_expect_eq(jint(r, "data.total"), 2);
	cr_expect_str_eq(jstr(r, "data.items.1.content"), text);
	resp_free(r);
	json_decref(ev);
	json_decref(reqs);

	/* Accept: text/event-stream asks for the same. */
	{
		const char	*h[] = { "Content-Type: application/json",
				    "Accept: text/event-stream", NULL, NULL };
		char		 auth[2048], *b;

		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    tok);
		h[2] = auth;
		b = "{\"content\":\"accept header\"}";
		r = http_req("POST", CHAT, h, b, strlen(b));
		cr_expect_eq(r->status, 200);
		cr_expect_not_null(strstr(r->body, "event: done"));
		resp_free(r);

		/* The same stream through nginx (TLS front). */
		if (getenv("E2E_TLS") != NULL) {
			r = http_req_to(getenv("E2E_TLS"), "POST", CHAT, h, b,
			    strlen(b));
			cr_expect_eq(r->status, 200, "%s", r->body);
			cr_expect_not_null(strstr(r->body, "event: delta"));
			cr_expect_not_null(strstr(r->body, "event: done"),
			    "%s", r->body);
			resp_free(r);
		}
	}
	free(tok);
}

Test(chat, rate_limited_answer_is_retried_after_retry_after)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128];
	const char	*m;
	double		 t0;

	tok = user_token();
	m = uniq("r");
	(void)snprintf(c, sizeof(c),
	    "[[status:429 retry-after:1 fail-times:1]] %s", m);
	t0 = fx_now();
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_expect_eq(r->status, 200, "%s", r->body);
	cr_expect_geq(fx_now() - t0, 0.95, "Retry-After honoured");
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 2);
	resp_free(r);
	json_decref(reqs);
	free(tok);
}

Test(chat, server_errors_are_tried_three_times_then_502)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128], path[256];
	const char	*m;

	tok = user_token();
	m = uniq("f");
	(void)snprintf(c, sizeof(c), "[[status:500]] %s", m);
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_assert_eq(r->status, 502, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_upstream_error");
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 3);
	json_decref(reqs);

	/* The user's message stays, marked failed. */
	(void)snprintf(path, sizeof(path), CONVS "/%s/messages",
	    jstr(r, "error.details.conversation_id"));
	resp_free(r);
	r = http_json("GET", path, tok, NULL);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.content"), c);
	cr_expect_str_eq(jstr(r, "data.items.0.status"), "failed");
	cr_expect_str_eq(jstr(r, "data.items.0.error_code"),
	    "ai_upstream_error");
	resp_free(r);
	free(tok);
}

Test(chat, exhausted_provider_quota_is_502_without_retry)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128];
	const char	*m;

	tok = user_token();
	m = uniq("q");
	(void)snprintf(c, sizeof(c), "[[quota]] %s", m);
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_expect_eq(r->status, 502, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_upstream_error");
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 1);
	json_decref(reqs);

	m = uniq("q");
	(void)snprintf(c, sizeof(c), "[[quota]] %s", m);
	r = chat(tok, json_pack("{s:s, s:s}", "content", c, "provider",
	    "gemini"));
	cr_expect_eq(r->status, 502, "%s", r->body);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 1);
	json_decref(reqs);
	free(tok);
}

Test(chat, dropped_and_malformed_answers_are_502)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128];
	const char	*m;

	tok = user_token();
	m = uniq("d");
	(void)snprintf(c, sizeof(c), "[[drop]] %s", m);
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_expect_eq(r->status, 502, "%s", r->body);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 3, "a cut answer is retried");
	json_decref(reqs);

	m = uniq("d");
	(void)snprintf(c, sizeof(c), "[[malformed]] %s", m);
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_expect_eq(r->status, 502, "%s", r->body);
	cr_expect_str_eq(err_code(r), "ai_upstream_error");
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 1);
	json_decref(reqs);

	/* Cut mid-stream: deltas went out, so an error event, no retry. */
	m = uniq("d");
	(void)snprintf(c, sizeof(c), "one two three four five [[drop]] %s", m);
	r = chat(tok, json_pack("{s:s, s:b}", "content", c, "stream", 1));
	cr_expect_eq(r->status, 200);
	cr_expect_not_null(strstr(r->body, "event: delta"));
	cr_expect_not_null(strstr(r->body, "event: error"), "%s", r->body);
	cr_expect_null(strstr(r->body, "event: done"));
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 1);
	json_decref(reqs);
	free(tok);
}

Test(chat, daily_quota_is_429_before_the_provider_is_called)
{
	struct resp	*r;
	json_t		*reqs;
	char		*tok, c[128], sql[512];
	const char	*m;
	long		 ra;

	tok = user_token();
	r = chat(tok, json_pack("{s:s}", "content", "spend some tokens"));
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	r = http_json("GET", "/api/v1/auth/me", tok, NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_assert_not_null(jstr(r, "data.id"), "%s", r->body);
	(void)snprintf(sql, sizeof(sql), "UPDATE users SET "
	    "token_quota_daily = 1 WHERE id = '%s'", jstr(r, "data.id"));
	resp_free(r);
	psql(sql);

	m = uniq("x");
	(void)snprintf(c, sizeof(c), "over quota %s", m);
	r = chat(tok, json_pack("{s:s}", "content", c));
	cr_assert_eq(r->status, 429, "%s", r->body);
	cr_expect_str_eq(err_code(r), "quota_exceeded");
	cr_assert_not_null(resp_header(r, "retry-after"));
	ra = atol(resp_header(r, "retry-after"));
	cr_expect(ra > 0 && ra <= 86400, "retry-after %ld", ra);
	resp_free(r);
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 0);
	json_decref(reqs);
	free(tok);
}

Test(chat, attaching_an_unknown_document_is_404)
{
	struct resp	*r;
	char		*tok, path[256];

	tok = user_token();
	r = http_json("POST", CONVS, tok, "{\"title\":\"docs\"}");
	cr_assert_eq(r->status, 201);
	(void)snprintf(path, sizeof(path), CONVS "/%s/documents",
	    jstr(r, "data.id"));
	resp_free(r);
	r = http_json("POST", path, tok,
	    "{\"document_id\":\"00000000-0000-4000-8000-000000000000\"}");
	cr_expect_eq(r->status, 404, "%s", r->body);
	resp_free(r);
	r = http_json("POST", path, tok, "{\"document_id\":\"nope\"}");
	cr_expect_eq(r->status, 400);
	resp_free(r);
	(void)strncat(path, "/00000000-0000-4000-8000-000000000000",
	    sizeof(path) - strlen(path) - 1);
	r = http_json("DELETE", path, tok, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);
	free(tok);
}

Test(chat, a_client_that_leaves_mid_answer_still_gets_it_stored)
{
	struct resp	*r;
	struct curl_slist *h;
	CURL		*c;
	json_t		*reqs;
	char		*tok, body[256], url[512], auth[2048], path[256];
	const char	*m;
	int		 i, found;

	tok = user_token();
	r = http_json("POST", CONVS, tok, "{\"title\":\"leaving\"}");
	cr_assert_eq(r->status, 201);
	(void)snprintf(path, sizeof(path), CONVS "/%s/messages",
	    jstr(r, "data.id"));
	m = uniq("l");
	(void)snprintf(body, sizeof(body), "{\"content\":\"[[delay:1500]] %s\","
	    "\"stream\":true,\"conversation_id\":\"%s\"}", m,
	    jstr(r, "data.id"));
	resp_free(r);

	/* Hang up after 500 ms, while the provider is still thinking. */
	(void)snprintf(url, sizeof(url), "%s" CHAT,
	    env_or("E2E_BASE", ""));
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	c = curl_easy_init();
	(void)curl_easy_setopt(c, CURLOPT_URL, url);
	(void)curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	(void)curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	(void)curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 500L);
	(void)curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fx_discard);
	cr_expect_eq(curl_easy_perform(c), CURLE_OPERATION_TIMEDOUT);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);

	found = 0;
	for (i = 0; i < 50 && !found; i++) {
		(void)usleep(100000);
		r = http_json("GET", path, tok, NULL);
		found = jint(r, "data.total") == 2;
		if (found)
			cr_expect_str_eq(jstr(r, "data.items.1.role"),
			    "assistant");
		resp_free(r);
	}
	cr_expect(found, "the answer was stored after the client left");
	reqs = fx_llm_requests(m);
	cr_expect_eq(json_array_size(reqs), 1);
	json_decref(reqs);
	free(tok);
}

/*
 * Many slow answers at once complete together (no batching by a thread
 * pool), and the event loop stays free for /health meanwhile.
 */
Test(chat, slow_answers_run_concurrently_and_health_stays_fast,
    .timeout = 60)
{
	CURLM		*multi;
	CURL		*c[SLOW_N];
	struct curl_slist *h;
	struct resp	*r;
	char		*tok, url[512], auth[2048], *bodies[SLOW_N];
	const char	*m;
	double		 t0, total, worst, hs[64];
	long		 code;
	int		 i, running, ok, nh, left;
	CURLMsg		*msg;

	tok = user_token();
	m = uniq("c");
	(void)snprintf(url, sizeof(url), "%s" CHAT, env_or("E2E_BASE", ""));
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	h = curl_slist_append(NULL, auth);
	h = curl_slist_append(h, "Content-Type: application/json");
	h = curl_slist_append(h, "Expect:");
	multi = curl_multi_init();
	for (i = 0; i < SLOW_N; i++) {
		bodies[i] = malloc(256);
		cr_assert_not_null(bodies[i]);
		(void)snprintf(bodies[i], 256,
		    "{\"content\":\"[[delay:%d]] %s n%d\"}", SLOW_MS, m, i);
		c[i] = curl_easy_init();
		(void)curl_easy_setopt(c[i], CURLOPT_URL, url);
		(void)curl_easy_setopt(c[i], CURLOPT_HTTPHEADER, h);
		(void)curl_easy_setopt(c[i], CURLOPT_POSTFIELDS, bodies[i]);
		(void)curl_easy_setopt(c[i], CURLOPT_WRITEFUNCTION, fx_discard);
		(void)curl_easy_setopt(c[i], CURLOPT_TIMEOUT, 30L);
		(void)curl_easy_setopt(c[i], CURLOPT_NOSIGNAL, 1L);
		(void)curl_multi_add_handle(multi, c[i]);
	}
	t0 = fx_now();
	nh = 0;
	worst = 0;
	ok = 0;
	running = 1;
	while (running) {
		(void)curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			code = 0;
			(void)curl_easy_getinfo(msg->easy_handle,
			    CURLINFO_RESPONSE_CODE, &code);
			if (msg->data.result == CURLE_OK && code == 200)
				ok++;
		}
		if (running && fx_now() - t0 > 0.5 && nh < 64 &&
		    fx_now() - t0 < 1.5 + nh * 0.1) {
			r = http_get("/health");
			cr_expect_eq(r->status, 200);
			hs[nh++] = r->seconds;
			if (r->seconds > worst)
				worst = r->seconds;
			resp_free(r);
		}
		(void)curl_multi_poll(multi, NULL, 0, 50, NULL);
	}
	total = fx_now() - t0;
	for (i = 0; i < SLOW_N; i++) {
		curl_multi_remove_handle(multi, c[i]);
		curl_easy_cleanup(c[i]);
		free(bodies[i]);
	}
	curl_multi_cleanup(multi);
	curl_slist_free_all(h);

	cr_expect_eq(ok, SLOW_N, "%d of %d answered", ok, SLOW_N);
	cr_expect_lt(total, 8.0, "%d answers of %d ms took %.2f s", SLOW_N,
	    SLOW_MS, total);
	cr_expect_gt(nh, 3);
	/* Sort for the median; the worst sample may catch a CPU stall. */
	for (i = 1; i < nh; i++) {
		double	x = hs[i];
		int	j = i - 1;

		while (j >= 0 && hs[j] > x) {
			hs[j + 1] = hs[j];
			j--;
		}
		hs[j + 1] = x;
	}
	if (nh > 0)
		cr_expect_lt(hs[nh / 2], 0.1, "/health median %.3f s",
		    hs[nh / 2]);
	cr_expect_lt(worst, 0.5, "/health worst %.3f s", worst);
	fprintf(stderr, "chat concurrency: %d x %d ms in %.2f s; /health "
	    "median %.1f ms, worst %.1f ms over %d samples\n", SLOW_N,
	    SLOW_MS, total, nh ? hs[nh / 2] * 1000 : 0, worst * 1000, nh);
	free(tok);
}
