/*
 * Gemini generateContent codec: URL, headers and body field by field,
 * complete answers (thought parts, blocked prompts), SSE streams with
 * CRLF line ends split at every byte, and google.rpc.Status errors
 * (RetryInfo delays, per-minute vs per-day quota, invalid key).
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
};

static const struct llm_msg conv[] = {
	{ LLM_ROLE_SYSTEM, "Excerpt [1]: notice is 30 days." },
	{ LLM_ROLE_USER, "First question" },
	{ LLM_ROLE_ASSISTANT, "First answer" },
	{ LLM_ROLE_USER, "Second question" },
	{ LLM_ROLE_USER, "and a follow-up" }
};

static struct llm_request
base_req(void)
{
	struct llm_request r;

	memset(&r, 0, sizeof(r));
	r.model = "gemini-2.0-flash";
	r.system = "You are careful.";
	r.msgs = conv;
	r.nmsgs = 5;
	r.temperature = 0.25;
	r.max_tokens = 1024;
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
	char	*body;
	size_t	 len;
	json_t	*j;

	cr_assert_eq(llm_gemini_body(r, &body, &len), LLM_OK);
	j = json_loadb(body, len, 0, NULL);
	cr_assert_not_null(j);
	free(body);
	return (j);
}

static const char *
part_text(json_t *content, size_t i)
{
	return (json_string_value(json_object_get(json_array_get(
	    json_object_get(content, "parts"), i), "text")));
}

static int
on_event(void *arg, const char *ev, const char *data, size_t len)
{
	struct run		*r = arg;
	struct llm_delta	 d;

	(void)ev;
	r->rc = llm_gemini_parse_event(data, len, &d, &r->err);
	if (r->rc != LLM_OK)
		return (1);
	r->rc = llm_stream_apply(&r->st, &d);
	llm_delta_free(&d);
	return (r->rc != LLM_OK);
}

static enum llm_err
run_stream(const char *buf, size_t len, size_t cut, struct llm_result *res)
{
	struct sse_parser	p;
	struct run		r;
	struct llm_request	req = base_req();
	enum llm_err		rc;

	memset(&r, 0, sizeof(r));
	sse_init(&p, LLM_MAX_EVENT_BYTES, on_event, &r);
	if (cut > 0)
		(void)sse_feed(&p, buf, cut);
	(void)sse_feed(&p, buf + cut, len - cut);
	rc = r.rc != LLM_OK ? r.rc : llm_stream_finish(&r.st, &req, res);
	sse_free(&p);
	llm_stream_free(&r.st);
	return (rc);
}

Test(gemini_url, names_the_model_and_method_under_v1beta)
{
	struct llm_request	 r = base_req();
	char			*u;

	cr_assert_eq(llm_gemini_url("https://generativelanguage.googleapis.com",
	    &r, &u), LLM_OK);
	cr_assert_str_eq(u, "https://generativelanguage.googleapis.com"
	    "/v1beta/models/gemini-2.0-flash:generateContent");
	free(u);
	r.stream = 1;
	r.model = "models/gemini-2.5-pro";
	cr_assert_eq(llm_gemini_url("http://127.0.0.1:8/", &r, &u), LLM_OK);
	cr_assert_str_eq(u, "http://127.0.0.1:8/v1beta/models/gemini-2.5-pro"
	    ":streamGenerateContent?alt=sse");
	free(u);
}

Test(gemini_url, refuses_a_model_that_would_change_the_path)
{
	struct llm_request	 r = base_req();
	char			*u;

	r.model = "../../v1/files";
	cr_assert_eq(llm_gemini_url("http://h", &r, &u), LLM_ERR_INVALID);
	r.model = "gemini?key=x";
	cr_assert_eq(llm_gemini_url("http://h", &r, &u), LLM_ERR_INVALID);
	r.model = "";
	cr_assert_eq(llm_gemini_url("http://h", &r, &u), LLM_ERR_INVALID);
}

Test(gemini_headers, put_the_key_in_x_goog_api_key)
{
	struct llm_request	r = base_req();
	struct llm_headers	h;

	cr_assert_eq(llm_gemini_headers("AIzaTest", &r, &h), LLM_OK);
	cr_assert_eq(h.n, 3);
	cr_assert_str_eq(h.h[0], "Content-Type: application/json");
	cr_assert_str_eq(h.h[2], "x-goog-api-key: AIzaTest");
	llm_headers_free(&h);
	cr_assert_eq(llm_gemini_headers("", &r, &h), LLM_ERR_INVALID);
	cr_assert_eq(llm_gemini_headers("a\nb", &r, &h), LLM_ERR_INVALID);
}

Test(gemini_body, maps_roles_system_text_and_generation_config)
{
	struct llm_request	 r = base_req();
	json_t			*j, *c, *sys, *gc;

	j = body_json(&r);
	sys = json_object_get(j, "systemInstruction");
	cr_assert_eq(json_array_size(json_object_get(sys, "parts")), 2);
	cr_assert_str_eq(part_text(sys, 0), "You are careful.");
	cr_assert_str_eq(part_text(sys, 1), "Excerpt [1]: notice is 30 days.");
	c = json_object_get(j, "contents");
	cr_assert_eq(json_array_size(c), 3, "consecutive user turns merge");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c,
	    0), "role")), "user");
	cr_assert_str_eq(part_text(json_array_get(c, 0), 0), "First question");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(c,
	    1), "role")), "model");
	cr_assert_str_eq(part_text(json_array_get(c, 2), 0), "Second question");
	cr_assert_str_eq(part_text(json_array_get(c, 2), 1), "and a follow-up");
	gc = json_object_get(j, "generationConfig");
	cr_assert_float_eq(json_real_value(json_object_get(gc,
	    "temperature")), 0.25, 1e-9);
	cr_assert_eq(json_integer_value(json_object_get(gc,
	    "maxOutputTokens")), 1024);
	cr_assert_null(json_object_get(gc, "responseMimeType"));
	cr_assert_null(json_object_get(j, "model"), "the model is in the URL");
	json_decref(j);
}

Test(gemini_body, json_mode_asks_for_application_json)
{
	struct llm_request	 r = base_req();
	json_t			*j;

	r.json_mode = 1;
	j = body_json(&r);
	cr_assert_str_eq(json_string_value(json_object_get(json_object_get(j,
	    "generationConfig"), "responseMimeType")), "application/json");
	json_decref(j);
}

Test(gemini_body, omits_what_is_unset)
{
	struct llm_request	 r = base_req();
	json_t			*j;

	r.system = NULL;
	r.msgs = conv + 1;
	r.nmsgs = 1;
	r.temperature = -1;
	r.max_tokens = 0;
	j = body_json(&r);
	cr_assert_null(json_object_get(j, "systemInstruction"));
	cr_assert_null(json_object_get(j, "generationConfig"));
	cr_assert_eq(json_array_size(json_object_get(j, "contents")), 1);
	json_decref(j);
}

Test(gemini_response, joins_parts_and_reads_usage)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_response.json", &n);

	cr_assert_eq(llm_gemini_parse_response(b, n, &r, &res, &err), LLM_OK);
	cr_assert_str_eq(res.content, "Clause 7.3 requires 30 days' written "
	    "notice [1]. Confirm with a local lawyer.");
	cr_assert_str_eq(res.finish_reason, "STOP");
	cr_assert_str_eq(res.model, "gemini-2.0-flash");
	cr_assert_eq(res.prompt_tokens, 398);
	cr_assert_eq(res.completion_tokens, 19);
	cr_assert_eq(res.total_tokens, 417);
	cr_assert_eq(res.usage_estimated, 0);
	llm_result_free(&res);
	free(b);
}

Test(gemini_response, skips_thought_parts_and_bills_thinking_as_output)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("gemini_response_thinking.json", &n);

	cr_assert_eq(llm_gemini_parse_response(b, n, &r, &res, NULL), LLM_OK);
	cr_assert_str_eq(res.content, "The notice period is 30 days [1].");
	cr_assert_eq(res.completion_tokens, 49);
	cr_assert_eq(res.total_tokens, 149);
	llm_result_free(&res);
	free(b);
}

Test(gemini_response, a_blocked_prompt_is_reported_as_blocked)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_response_blocked.json", &n);

	cr_assert_eq(llm_gemini_parse_response(b, n, &r, &res, &err),
	    LLM_ERR_BLOCKED);
	cr_assert_not(llm_err_retryable(err.code));
	cr_assert_null(res.content);
	free(b);
}

Test(gemini_response, without_usage_estimates)
{
	struct llm_request	 r = base_req();
	struct llm_result	 res;
	const char		*b = "{\"candidates\":[{\"content\":{\"parts\":"
	    "[{\"text\":\"12345\"}],\"role\":\"model\"},\"finishReason\":"
	    "\"MAX_TOKENS\"}]}";

	cr_assert_eq(llm_gemini_parse_response(b, strlen(b), &r, &res, NULL),
	    LLM_OK);
	cr_assert_eq(res.usage_estimated, 1);
	cr_assert_eq(res.completion_tokens, 2);
	cr_assert_str_eq(res.finish_reason, "MAX_TOKENS");
	llm_result_free(&res);
}

Test(gemini_response, rejects_malformed_bodies)
{
	struct llm_request	r = base_req();
	struct llm_result	res;
	const char		*bad[] = {
		"not json", "[]", "{}", "{\"candidates\":[]}",
		"{\"candidates\":[{\"finishReason\":7}]}",
		"{\"candidates\":[{\"finishReason\":\"STOP\"}],"
		    "\"usageMetadata\":[]}"
	};
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(llm_gemini_parse_response(bad[i], strlen(bad[i]),
		    &r, &res, NULL), LLM_ERR_MALFORMED, "case %zu", i);
}

Test(gemini_stream, assembles_text_and_keeps_the_last_usage)
{
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("gemini_stream.sse", &n);

	cr_assert_not_null(strstr(b, "\r\n\r\n"), "fixture keeps CRLF");
	cr_assert_eq(run_stream(b, n, 0, &res), LLM_OK);
	cr_assert_str_eq(res.content,
	    "Clause 7.3 requires 30 days\xe2\x80\x99 notice [1].");
	cr_assert_str_eq(res.finish_reason, "STOP");
	cr_assert_eq(res.prompt_tokens, 398);
	cr_assert_eq(res.completion_tokens, 11);
	cr_assert_eq(res.total_tokens, 409);
	llm_result_free(&res);
	free(b);
}

Test(gemini_stream, gives_the_same_result_split_at_every_byte)
{
	struct llm_result	 res;
	size_t			 n, cut;
	char			*b = fx("gemini_stream.sse", &n);

	for (cut = 1; cut < n; cut++) {
		cr_assert_eq(run_stream(b, n, cut, &res), LLM_OK, "cut %zu",
		    cut);
		cr_assert_str_eq(res.content, "Clause 7.3 requires 30 "
		    "days\xe2\x80\x99 notice [1].", "cut %zu", cut);
		cr_assert_eq(res.total_tokens, 409);
		llm_result_free(&res);
	}
	free(b);
}

Test(gemini_stream, ending_before_a_finish_reason_is_truncated)
{
	struct llm_result	 res;
	size_t			 n;
	char			*b = fx("gemini_stream.sse", &n);
	char			*last = strstr(b, "\" [1].\"");

	cr_assert_not_null(last);
	while (last > b && last[-1] != '\n')
		last--;
	cr_assert_eq(run_stream(b, (size_t)(last - b), 0, &res),
	    LLM_ERR_TRUNCATED);
	free(b);
}

Test(gemini_stream, an_error_event_is_classified)
{
	struct llm_delta	 d;
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_error_unavailable.json", &n);

	cr_assert_eq(llm_gemini_parse_event(b, n, &d, &err),
	    LLM_ERR_UPSTREAM_5XX);
	cr_assert_str_eq(err.message,
	    "The model is overloaded. Please try again later.");
	free(b);
}

Test(gemini_classify, rate_limit_carries_the_retry_delay)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_error_rate_limit.json", &n);

	llm_gemini_classify(429, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_RATE_LIMITED);
	cr_assert(llm_err_retryable(err.code));
	cr_assert_eq(err.retry_after_ms, 30000);
	free(b);
}

Test(gemini_classify, a_per_day_limit_is_quota_and_not_retried)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_error_daily_quota.json", &n);

	llm_gemini_classify(429, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_QUOTA);
	cr_assert_not(llm_err_retryable(err.code));
	cr_assert_eq(err.retry_after_ms, 1500);
	free(b);
}

Test(gemini_classify, an_invalid_key_under_400_is_auth)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_error_bad_key.json", &n);

	llm_gemini_classify(400, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_AUTH);
	cr_assert_str_eq(err.message,
	    "API key not valid. Please pass a valid API key.");
	free(b);
}

Test(gemini_classify, other_statuses_map_to_their_classes)
{
	struct llm_error	 err;
	size_t			 n;
	char			*b = fx("gemini_error_unavailable.json", &n);

	llm_gemini_classify(503, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_UPSTREAM_5XX);
	cr_assert_eq(err.retry_after_ms, LLM_RETRY_UNKNOWN);
	free(b);
	b = fx("gemini_error_stream_array.json", &n);
	llm_gemini_classify(429, b, n, &err);
	cr_assert_eq(err.code, LLM_ERR_RATE_LIMITED);
	cr_assert_str_eq(err.message,
	    "Resource has been exhausted (e.g. check quota).");
	free(b);
	b = "{\"error\":{\"code\":404,\"status\":\"NOT_FOUND\","
	    "\"message\":\"models/x is not found\"}}";
	llm_gemini_classify(404, b, strlen(b), &err);
	cr_assert_eq(err.code, LLM_ERR_NOT_FOUND);
	b = "{\"error\":{\"code\":400,\"status\":\"INVALID_ARGUMENT\"}}";
	llm_gemini_classify(400, b, strlen(b), &err);
	cr_assert_eq(err.code, LLM_ERR_BAD_REQUEST);
	llm_gemini_classify(403, "", 0, &err);
	cr_assert_eq(err.code, LLM_ERR_AUTH);
}

Test(gemini_duration, parses_protobuf_durations_to_ms)
{
	cr_assert_eq(llm_gemini_parse_duration("30s"), 30000);
	cr_assert_eq(llm_gemini_parse_duration("1.5s"), 1500);
	cr_assert_eq(llm_gemini_parse_duration("0.000001s"), 1);
	cr_assert_eq(llm_gemini_parse_duration("25.465784708s"), 25466);
	cr_assert_eq(llm_gemini_parse_duration("0s"), 0);
	cr_assert_eq(llm_gemini_parse_duration("s"), LLM_RETRY_UNKNOWN);
	cr_assert_eq(llm_gemini_parse_duration("30"), LLM_RETRY_UNKNOWN);
	cr_assert_eq(llm_gemini_parse_duration("-1s"), LLM_RETRY_UNKNOWN);
	cr_assert_eq(llm_gemini_parse_duration("99999999999999s"),
	    LLM_RETRY_UNKNOWN);
}
