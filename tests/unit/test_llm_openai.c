/*
 * OpenAI Chat Completions codec: request URL, headers and body built
 * field by field, complete answers, streams (fed through the SSE parser
 * split at every byte boundary) and error classification, against the
 * hand-made real-format fixtures in fixtures/llm.
 */

#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "llm.h"
#include "sse.h"
#include "fixtures/llm/load.h"

struct run {
	struct llm_stream	st;
	enum llm_err		rc;
	struct llm_error	err;
	int			events;
};

static const struct llm_msg two_msgs[] = {
	{ LLM_ROLE_USER, "What does clause 7.3 say?" },
	{ LLM_ROLE_ASSISTANT, "It sets a notice period." },
	{ LLM_ROLE_USER, "How long is it? \xc3\xa9" }
};

static struct llm_request
base_req(void)
{
	struct llm_request r;

	memset(&r, 0, sizeof(r));
	r.model = "gpt-4o-mini";
	r.system = "You are careful.";
	r.msgs = two_msgs;
	r.nmsgs = 3;
	r.temperature = 0.2;
	r.max_tokens = 512;
	return (r);
}

static char *
fx(const char *name, size_t *len)
{
	char	*b;

	b = fixture_load(__FILE__, name, len);
	cr_assert_not_null(b, "fixture %s missing", name);
	return (b);
}

static json_t *
body_json(const struct llm_request *r)
{
	char		*body;
	size_t		 len;
	json_t		*j;
	json_error_t	 e;

	cr_assert_eq(llm_openai_body(r, &body, &len), LLM_OK);
	cr_assert_eq(strlen(body), len);
	j = json_loadb(body, len, 0, &e);
	cr_assert_not_null(j, "body is not JSON: %s", body);
	free(body);
	return (j);
}

static int
on_event(void *arg, const char *ev, const char *data, size_t len)
{
	struct run		*r = arg;
	struct llm_delta	 d;

	cr_assert_str_eq(ev, "message");
	r->events++;
	r->rc = llm_openai_parse_event(data, len, &d, &r->err);
	if (r->rc != LLM_OK)
		return (1);
	r->rc = llm_stream_apply(&r->st, &d);
	llm_delta_free(&d);
	return (r->rc != LLM_OK);
}

/* Feeds buf in pieces cut at `cut` (0: whole) and finishes the stream. */
static enum llm_err
run_stream(const char *buf, size_t len, size_t cut, size_t step,
    struct llm_result *res)
{
	struct sse_parser	p;
	struct run		r;
	struct llm_request	req;
	size_t			i, n;
	enum llm_err		rc;

	memset(&r, 0, sizeof(r));
	llm_stream_init(&r.st);
	sse_init(&p, LLM_MAX_EVENT_BYTES, on_event, &r);
	req = base_req();
	if (cut > 0) {
		(void)sse_feed(&p, buf, cut);
		buf += cut;
		len -= cut;
	}
	for (i = 0; i < len; i += n) {
		n = step == 0 || len - i < step ? len - i : step;
		if (sse_feed(&p, buf + i, n) != SSE_OK)
			break;
	}
	if (r.rc != LLM_OK)
		rc = r.rc;
	else
		rc = llm_stream_finish(&r.st, &req, res);
	sse_free(&p);
	llm_stream_free(&r.st);
	return (rc);
}

Test(openai_url, appends_chat_completions_to_a_base_that_has_v1)
{
	struct llm_request	 r = base_req();
	char			*u;

	cr_assert_eq(llm_openai_url("https://api.openai.com/v1", &r, &u),
	    LLM_OK);
	cr_assert_str_eq(u, "https://api.openai.com/v1/chat/completions");
	free(u);
	cr_assert_eq(llm_openai_url("http://127.0.0.1:9/v1//", &r, &u),
	    LLM_OK);
	cr_assert_str_eq(u, "http://127.0.0.1:9/v1/chat/completions");
	free(u);
}

Test(openai_url, refuses_empty_or_header_breaking_bases)
{
	struct llm_request	 r = base_req();
	char			*u;

	cr_assert_eq(llm_openai_url("", &r, &u), LLM_ERR_INVALID);
	cr_assert_eq(llm_openai_url(NULL, &r, &u), LLM_ERR_INVALID);
	cr_assert_eq(llm_openai_url("http://x/v1\r\nHost: y", &r, &u),
	    LLM_ERR_INVALID);
}

Test(openai_headers, carry_a_bearer_key_and_json_types)
{
	struct llm_request	r = base_req();
	struct llm_headers	h;

	cr_assert_eq(llm_openai_headers("sk-test", &r, &h), LLM_OK);
	cr_assert_eq(h.n, 3);
	cr_assert_str_eq(h.h[0], "Content-Type: application/json");
	cr_assert_str_eq(h.h[1], "Accept: application/json");
	cr_assert_str_eq(h.h[2], "Authorization: Bearer sk-test");
	llm_headers_free(&h);
	r.stream = 1;
	cr_assert_eq(llm_openai_headers("sk-test", &r, &h), LLM_OK);
	cr_assert_str_eq(h.h[1], "Accept: text/event-stream");
	llm_headers_free(&h);
}

Test(openai_headers, omit_authorization_without_a_key)
{
	struct llm_request	r = base_req();
	struct llm_headers	h;

	cr_assert_eq(llm_openai_headers("", &r, &h), LLM_OK);
	cr_assert_eq(h.n, 2);
	llm_headers_free(&h);
}

Test(openai_headers, refuse_a_key_that_would_inject_headers)
{
	struct llm_request	r = base_req();
	struct llm_headers	h;

	cr_assert_eq(llm_openai_headers("sk\r\nX-Evil: 1", &r, &h),
	    LLM_ERR_INVALID);
	cr_assert_eq(h.n, 0);
}

Test(openai_body, holds_model_messages_and_options_field_by_field)
{
	struct llm_request	 r = base_req();
	json_t			*j, *m;

	j = body_json(&r);
	cr_assert_str_eq(json_string_value(json_object_get(j, "model")),
	    "gpt-4o-mini");
	m = json_object_get(j, "messages");
	cr_assert_eq(json_array_size(m), 4);
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(m, 0), "role")), "system");
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(m, 0), "content")), "You are careful.");
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(m, 1), "role")), "user");
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(m, 2), "role")), "assistant");
	cr_assert_str_eq(json_string_value(json_object_get(
	    json_array_get(m, 3), "content")), "How long is it? \xc3\xa9");
	cr_assert(json_is_false(json_object_get(j, "stream")));
	cr_assert_null(json_object_get(j, "stream_options"));
	cr_assert_float_eq(json_real_value(json_object_get(j,
	    "temperature")), 0.2, 1e-9);
	cr_assert_eq(json_integer_value(json_object_get(j, "max_tokens")),
	    512);
	cr_assert_null(json_object_get(j, "response_format"));
	json_decref(j);
}

Test(openai_body, leaves_provider_defaults_when_unset)
{
	struct llm_request	 r = base_req();
	json_t			*j;

	r.temperature = -1;
	r.max_tokens = 0;
	r.system = NULL;
	j = body_json(&r);
	cr_assert_null(json_object_get(j, "temperature"));
	cr_assert_null(json_object_get(j, "max_tokens"));
	cr_assert_eq(json_array_size(json_object_get(j, "messages")), 3);
	json_decref(j);
}

Test(openai_body, streaming_asks_for_the_usage_chunk)
{
	struct llm_request	 r = base_req();
	json_t			*j;

	r.stream = 1;
	j = body_json(&r);
	cr_assert(json_is_true(json_object_get(j, "stream")));
	cr_assert(json_is_true(json_object_get(json_object_get(j,
	    "stream_options"), "include_usage")));
	json_decref(j);
}

Test(openai_body, json_mode_sets_response_format_and_names_json)
{
	struct llm_request	 r = base_req();
	json_t			*j, *m;
	size_t			 i;
	int			 seen;

	r.json_mode = 1;
	j = body_json(&r);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "response_format"), "type")), "json_object");
	m = json_object_get(j, "messages");
	seen = 0;
	for (i = 0; i < json_array_size(m); i++) {
		if (strstr(json_string_value(json_object_get(
		    json_array_get(m, i), "content")), "JSON") != NULL)
			seen = 1;
	}
	cr_assert(seen, "OpenAI refuses json_object without the word JSON");
	json_decref(j);
}

Test(openai_body, refuses_requests_outside_bounds)
{
	struct llm_request	 r = base_req();
	struct llm_msg		 bad = { LLM_ROLE_USER, "\xff\xfe" };
	struct llm_msg		 only_asst = { LLM_ROLE_ASSISTANT, "hi" };
	char			*b;
	size_t			 n;

	r.model = NULL;
	cr_assert_eq(llm_openai_body(&r, &b, &n), LLM_ERR_INVALID);
	r = base_req();
	r.nmsgs = LLM_MAX_MESSAGES + 1;
	cr_assert_eq(llm_openai_body(&r, &b, &n), LLM_ERR_INVALID);
	r = base_req();
	r.msgs = &bad;
	r.nmsgs = 1;
	cr_assert_eq(llm_openai_body(&r, &b, &n), LLM_ERR_INVALID,
	    "invalid UTF-8 must not reach the provider");
	r.msgs = &only_asst;
	cr_assert_eq(llm_openai_body(&r, &b, &n), LLM_ERR_INVALID);
}

Test(openai_response, reads_content_finish_model_and_usage)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("openai_response.json", &n);

	cr_assert_eq(llm_openai_parse_response(b, n, &r, &res, &err), LLM_OK);
	cr_assert_str_eq(res.content, "Clause 7.3 requires 30 days' written "
	    "notice before termination [1].\nI am not a lawyer \xe2\x80\x94 "
	    "\xe2\x80\x9c" "confirm locally\xe2\x80\x9d.");
	cr_assert_str_eq(res.finish_reason, "stop");
	cr_assert_str_eq(res.model, "gpt-4o-mini-2024-07-18");
	cr_assert_eq(res.prompt_tokens, 412);
	cr_assert_eq(res.completion_tokens, 27);
	cr_assert_eq(res.total_tokens, 439);
	cr_assert_eq(res.usage_estimated, 0);
	llm_result_free(&res);
	free(b);
}

Test(openai_response, without_usage_estimates_four_chars_per_token)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("openai_response_no_usage.json", &n);

	cr_assert_eq(llm_openai_parse_response(b, n, &r, &res, NULL), LLM_OK);
	cr_assert_str_eq(res.content, "Twelve chars");
	cr_assert_eq(res.usage_estimated, 1);
	cr_assert_eq(res.completion_tokens, 3);
	cr_assert_eq(res.prompt_tokens,
	    (long)((llm_request_chars(&r) + 3) / 4));
	cr_assert_eq(res.total_tokens, res.prompt_tokens + 3);
	cr_assert_str_eq(res.finish_reason, "length");
	llm_result_free(&res);
	free(b);
}

Test(openai_response, json_mode_content_is_the_json_text)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("openai_response_json_mode.json", &n);
	json_t			*j;

	cr_assert_eq(llm_openai_parse_response(b, n, &r, &res, NULL), LLM_OK);
	j = json_loads(res.content, 0, NULL);
	cr_assert_str_eq(json_string_value(json_object_get(j, "risk")),
	    "high");
	json_decref(j);
	llm_result_free(&res);
	free(b);
}

Test(openai_response, rejects_malformed_bodies)
{
	struct llm_request	r = base_req();
	struct llm_result	res;
	struct llm_error	err;
	const char		*bad[] = {
		"{\"choices\":[{\"message\":", "[1,2]", "{}",
		"{\"choices\":[]}", "{\"choices\":[{\"message\":{\"content\":5}}]}",
		"{\"choices\":[{\"message\":{\"content\":\"x\"}}],"
		    "\"usage\":{\"prompt_tokens\":\"many\"}}"
	};
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(llm_openai_parse_response(bad[i], strlen(bad[i]),
		    &r, &res, &err), LLM_ERR_MALFORMED, "case %zu", i);
		cr_assert_null(res.content);
		cr_assert_eq(err.code, LLM_ERR_MALFORMED);
	}
}

Test(openai_response, refuses_a_body_past_the_bound)
{
	struct llm_request	r = base_req();
	struct llm_result	res;

	cr_assert_eq(llm_openai_parse_response("{}",
	    (size_t)LLM_MAX_RESPONSE_BYTES + 1, &r, &res, NULL),
	    LLM_ERR_TOO_LARGE);
}

Test(openai_response, an_error_object_under_200_is_classified)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("openai_error_server.json", &n);

	cr_assert_eq(llm_openai_parse_response(b, n, &r, &res, &err),
	    LLM_ERR_UPSTREAM_5XX);
	cr_assert_str_eq(err.message, "The server had an error while "
	    "processing your request. Sorry about that!");
	free(b);
}

Test(openai_stream, assembles_text_finish_and_real_usage)
{
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("openai_stream.sse", &n);

	cr_assert_eq(run_stream(b, n, 0, 0, &res), LLM_OK);
	cr_assert_str_eq(res.content,
	    "Clause 7.3 requires 30 days\xe2\x80\x99 notice [1].");
	cr_assert_str_eq(res.finish_reason, "stop");
	cr_assert_str_eq(res.model, "gpt-4o-mini-2024-07-18");
	cr_assert_eq(res.prompt_tokens, 412);
	cr_assert_eq(res.completion_tokens, 9);
	cr_assert_eq(res.total_tokens, 421);
	cr_assert_eq(res.usage_estimated, 0);
	llm_result_free(&res);
	free(b);
}

Test(openai_stream, gives_the_same_result_split_at_every_byte)
{
	struct llm_result	 whole, res;
	size_t			 n, cut;
	char			*b = fx("openai_stream.sse", &n);

	cr_assert_eq(run_stream(b, n, 0, 0, &whole), LLM_OK);
	for (cut = 1; cut < n; cut++) {
		cr_assert_eq(run_stream(b, n, cut, 0, &res), LLM_OK,
		    "cut at %zu", cut);
		cr_assert_str_eq(res.content, whole.content, "cut at %zu", cut);
		cr_assert_eq(res.total_tokens, whole.total_tokens);
		llm_result_free(&res);
	}
	cr_assert_eq(run_stream(b, n, 0, 1, &res), LLM_OK, "byte by byte");
	cr_assert_str_eq(res.content, whole.content);
	llm_result_free(&res);
	llm_result_free(&whole);
	free(b);
}

Test(openai_stream, cut_before_the_finish_is_truncated)
{
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("openai_stream.sse", &n);
	char			*fin = strstr(b, "\"finish_reason\":\"stop\"");

	cr_assert_not_null(fin);
	while (fin > b && fin[-1] != '\n')
		fin--;
	cr_assert_eq(run_stream(b, (size_t)(fin - b), 0, 0, &res),
	    LLM_ERR_TRUNCATED);
	free(b);
}

Test(openai_stream, without_the_usage_chunk_estimates_usage)
{
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("openai_stream.sse", &n);
	char			*u = strstr(b, "\"choices\":[]");

	cr_assert_not_null(u);
	while (u > b && u[-1] != '\n')
		u--;
	/* Keep everything up to the usage chunk, then only [DONE]. */
	memmove(u, "data: [DONE]\n\n", 15);
	cr_assert_eq(run_stream(b, strlen(b), 0, 0, &res), LLM_OK);
	cr_assert_eq(res.usage_estimated, 1);
	cr_assert_eq(res.completion_tokens,
	    (long)((strlen(res.content) + 3) / 4));
	llm_result_free(&res);
	free(b);
}

Test(openai_event, done_marker_ends_the_stream)
{
	struct llm_delta	d;

	cr_assert_eq(llm_openai_parse_event("[DONE]", 6, &d, NULL), LLM_OK);
	cr_assert_eq(d.done, 1);
	cr_assert_null(d.text);
	cr_assert_eq(llm_openai_parse_event(" [DONE]\n", 8, &d, NULL), LLM_OK);
	cr_assert_eq(d.done, 1);
}

Test(openai_event, an_error_event_mid_stream_is_classified)
{
	struct llm_delta	 d;
	struct llm_error	 err;
	const char		*e = "{\"error\":{\"message\":\"overloaded\","
	    "\"type\":\"server_error\",\"code\":null}}";

	cr_assert_eq(llm_openai_parse_event(e, strlen(e), &d, &err),
	    LLM_ERR_UPSTREAM_5XX);
	cr_assert(llm_err_retryable(err.code));
	cr_assert_str_eq(err.message, "overloaded");
}

Test(openai_event, answer_past_the_content_bound_is_refused)
{
	struct llm_stream	 st;
	struct llm_delta	 d;
	char			*big;

	big = malloc(LLM_MAX_CONTENT_BYTES + 1);
	memset(big, 'a', LLM_MAX_CONTENT_BYTES);
	big[LLM_MAX_CONTENT_BYTES] = '\0';
	llm_stream_init(&st);
	llm_delta_init(&d);
	d.text = big;
	cr_assert_eq(llm_stream_apply(&st, &d), LLM_OK);
	d.text = "b";
	cr_assert_eq(llm_stream_apply(&st, &d), LLM_ERR_TOO_LARGE);
	llm_stream_free(&st);
	free(big);
}

Test(openai_classify, insufficient_quota_is_not_retried)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("openai_error_quota.json", &n);

	llm_openai_classify(429, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_QUOTA);
	cr_assert_not(llm_err_retryable(err.code));
	cr_assert_eq(err.http_status, 429);
	cr_assert_eq(llm_err_http_status(err.code), 502);
	free(b);
}

Test(openai_classify, rate_limit_is_retried_with_no_body_delay)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("openai_error_rate_limit.json", &n);

	llm_openai_classify(429, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_RATE_LIMITED);
	cr_assert(llm_err_retryable(err.code));
	cr_assert_eq(err.retry_after_ms, LLM_RETRY_UNKNOWN);
	free(b);
}

Test(openai_classify, statuses_map_to_their_classes)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b;

	b = fx("openai_error_auth.json", &n);
	llm_openai_classify(401, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_AUTH);
	cr_assert_not(llm_err_retryable(err.code));
	free(b);
	b = fx("openai_error_server.json", &n);
	llm_openai_classify(500, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_UPSTREAM_5XX);
	free(b);
	b = fx("openai_error_context.json", &n);
	llm_openai_classify(400, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_BAD_REQUEST);
	free(b);
	b = "{\"error\":{\"message\":\"no model\","
	    "\"code\":\"model_not_found\"}}";
	llm_openai_classify(404, b, strlen(b), &err);
	cr_assert_eq(err.code, LLM_ERR_NOT_FOUND);
	llm_openai_classify(502, "<html>Bad gateway</html>", 24, &err);
	cr_assert_eq(err.code, LLM_ERR_UPSTREAM_5XX);
	cr_assert_str_eq(err.message, "non-JSON error body");
	llm_openai_classify(503, NULL, 0, &err);
	cr_assert_eq(err.code, LLM_ERR_UPSTREAM_5XX);
}

Test(openai_classify, message_is_made_safe_for_one_log_line)
{
	struct llm_error	 err;
	const char		*b = "{\"error\":{\"message\":\"a\\nb\\u001b[31m\"}}";

	llm_openai_classify(400, b, strlen(b), &err);
	cr_assert_str_eq(err.message, "a b [31m");
}

Test(llm_codec, table_dispatches_to_each_provider)
{
	enum llm_provider	p;

	cr_assert_eq(llm_provider_parse("openai", &p), 0);
	cr_assert_eq(llm_codec(p)->body, llm_openai_body);
	cr_assert_eq(llm_provider_parse("gemini", &p), 0);
	cr_assert_eq(llm_codec(p)->parse_event, llm_gemini_parse_event);
	cr_assert_neq(llm_provider_parse("claude", &p), 0);
	cr_assert_str_eq(llm_err_name(LLM_ERR_QUOTA), "quota");
	cr_assert_eq(llm_err_http_status(LLM_ERR_TIMEOUT), 504);
}
