/*
 * OpenTelemetry without an SDK: W3C traceparent, the OTEL_* settings,
 * spans as OTLP/JSON (GenAI attributes, content only when captured),
 * and the outbox ring (peek and commit, wrap-around, overflow, one ring
 * through two mappings).
 */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "llm.h"
#include "otel.h"

#define TP	"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static const char	*envv[16][2];

static const char *
fake_env(const char *name)
{
	int	i;

	for (i = 0; i < 16 && envv[i][0] != NULL; i++) {
		if (!strcmp(envv[i][0], name))
			return (envv[i][1]);
	}
	return (NULL);
}

static void
set_env(const char *const *kv)
{
	int	i;

	memset(envv, 0, sizeof(envv));
	for (i = 0; kv[i * 2] != NULL; i++) {
		envv[i][0] = kv[i * 2];
		envv[i][1] = kv[i * 2 + 1];
	}
}

Test(otel_traceparent, parses_and_formats_the_w3c_header)
{
	struct otel_ctx	c;
	char		out[OTEL_TRACEPARENT_LEN + 1], hex[33];

	cr_assert_eq(otel_traceparent_parse(TP, &c), 0);
	otel_hex(c.trace_id, OTEL_TRACE_LEN, hex);
	cr_expect_str_eq(hex, "4bf92f3577b34da6a3ce929d0e0e4736");
	otel_hex(c.span_id, OTEL_SPAN_LEN, hex);
	cr_expect_str_eq(hex, "00f067aa0ba902b7");
	cr_expect_eq(c.flags, 1);
	otel_traceparent_format(&c, out);
	cr_expect_str_eq(out, TP);
	/* A later version may carry more fields after a dash. */
	cr_expect_eq(otel_traceparent_parse("01-4bf92f3577b34da6a3ce929d0e0e"
	    "4736-00f067aa0ba902b7-00-extra", &c), 0);
}

Test(otel_traceparent, refuses_what_the_spec_refuses)
{
	struct otel_ctx	 c;
	const char	*bad[] = { NULL, "", "00", TP "0", TP "-x",
	    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
	    "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
	    "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x" };
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(otel_traceparent_parse(bad[i], &c), -1, "%zu",
		    i);
}

Test(otel_config, standard_variables)
{
	struct otel_config	 c;
	const char		*what;
	const char *const	 kv[] = {
		"OTEL_EXPORTER_OTLP_ENDPOINT", "https://cloud.langfuse.com/"
		    "api/public/otel/",
		"OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Basic%20cGs6c2s=,"
		    " x-tenant = acme ",
		"OTEL_SERVICE_NAME", "elenchus-prod",
		"OTEL_CAPTURE_CONTENT", "1",
		"OTEL_BSP_SCHEDULE_DELAY", "200",
		NULL, NULL };

	set_env(kv);
	cr_assert_eq(otel_config_load(&c, fake_env, &what), 0);
	cr_expect(c.enabled);
	cr_expect_str_eq(c.url,
	    "https://cloud.langfuse.com/api/public/otel/v1/traces");
	cr_assert_eq(c.nheaders, 2);
	cr_expect_str_eq(c.headers[0], "Authorization: Basic cGs6c2s=");
	cr_expect_str_eq(c.headers[1], "x-tenant: acme");
	cr_expect_str_eq(c.service_name, "elenchus-prod");
	cr_expect(c.capture_content);
	cr_expect_eq(c.schedule_delay_ms, 200);
	cr_expect_eq(c.batch_max, 512);
}

Test(otel_config, nothing_set_means_off_and_bad_values_are_named)
{
	struct otel_config	 c;
	const char		*what;
	const char *const	 none[] = { NULL, NULL };
	const char *const	 scheme[] = { "OTEL_EXPORTER_OTLP_ENDPOINT",
	    "ftp://x", NULL, NULL };
	const char *const	 split[] = { "OTEL_EXPORTER_OTLP_ENDPOINT",
	    "http://x", "OTEL_EXPORTER_OTLP_HEADERS", "a=b%0d%0aX-Evil:1",
	    NULL, NULL };
	const char *const	 delay[] = { "OTEL_BSP_SCHEDULE_DELAY", "soon",
	    NULL, NULL };
	const char *const	 full[] = { "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
	    "http://c:4318/custom", "OTEL_EXPORTER_OTLP_ENDPOINT",
	    "http://ignored", NULL, NULL };

	set_env(none);
	cr_assert_eq(otel_config_load(&c, fake_env, &what), 0);
	cr_expect(!c.enabled);
	cr_expect(!c.capture_content);
	cr_expect_str_eq(c.service_name, "elenchus");
	set_env(scheme);
	cr_expect_eq(otel_config_load(&c, fake_env, &what), -1);
	cr_expect_str_eq(what, "OTEL_EXPORTER_OTLP_ENDPOINT");
	set_env(split);
	cr_expect_eq(otel_config_load(&c, fake_env, &what), -1);
	cr_expect_str_eq(what, "OTEL_EXPORTER_OTLP_HEADERS");
	set_env(delay);
	cr_expect_eq(otel_config_load(&c, fake_env, &what), -1);
	set_env(full);
	cr_assert_eq(otel_config_load(&c, fake_env, &what), 0);
	cr_expect_str_eq(c.url, "http://c:4318/custom");
}

static json_t *
attr(json_t *span, const char *key)
{
	json_t	*a;
	size_t	 i;

	json_array_foreach(json_object_get(span, "attributes"), i, a) {
		if (!strcmp(json_string_value(json_object_get(a, "key")), key))
			return (json_object_get(a, "value"));
	}
	return (NULL);
}

static json_t *
genai(int err, int capture, const char *prompt)
{
	struct otel_span	 sp;
	struct otel_llm		 l;
	struct otel_ctx		 parent;
	uint8_t			 id[OTEL_SPAN_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	json_t			*j;
	char			*s;
	size_t			 len;

	cr_assert_eq(otel_traceparent_parse(TP, &parent), 0);
	memset(&l, 0, sizeof(l));
	l.provider = "openai";
	l.request_model = "gpt-test";
	l.response_model = "gpt-test-2025";
	l.kind = "chat";
	l.err = err;
	l.start_ns = 1700000000000000000ULL;
	l.end_ns = 1700000001500000000ULL;
	l.prompt_tokens = 12;
	l.completion_tokens = 34;
	l.finish_reason = "stop";
	l.attempts = 2;
	l.user_id = "u-1";
	l.conversation_id = "c-1";
	l.step_index = -1;
	l.prompt = prompt;
	l.completion = "The answer";
	otel_genai_span(&sp, &parent, id, &l, capture);
	s = otel_span_json(&sp, &len);
	cr_assert_not_null(s);
	cr_expect_eq(strlen(s), len);
	j = json_loads(s, 0, NULL);
	cr_assert_not_null(j, "not JSON: %s", s);
	free(s);
	return (j);
}

Test(otel_span, genai_attributes_and_links)
{
	json_t	*j;

	j = genai(LLM_OK, 0, "secret prompt");
	cr_expect_str_eq(json_string_value(json_object_get(j, "traceId")),
	    "4bf92f3577b34da6a3ce929d0e0e4736");
	cr_expect_str_eq(json_string_value(json_object_get(j,
	    "parentSpanId")), "00f067aa0ba902b7");
	cr_expect_str_eq(json_string_value(json_object_get(j, "spanId")),
	    "0102030405060708");
	cr_expect_str_eq(json_string_value(json_object_get(j, "name")),
	    "chat gpt-test");
	cr_expect_eq(json_integer_value(json_object_get(j, "kind")), 3);
	cr_expect_str_eq(json_string_value(json_object_get(j,
	    "startTimeUnixNano")), "1700000000000000000");
	cr_expect_str_eq(json_string_value(json_object_get(j,
	    "endTimeUnixNano")), "1700000001500000000");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.system"), "stringValue")), "openai");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.request.model"), "stringValue")), "gpt-test");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.response.model"), "stringValue")), "gpt-test-2025");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.usage.input_tokens"), "intValue")), "12");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.usage.output_tokens"), "intValue")), "34");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(json_object_get(attr(j,
	    "gen_ai.response.finish_reasons"), "arrayValue"), "values"), 0),
	    "stringValue")), "stop");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "elenchus.llm.latency_ms"), "intValue")), "1500");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "session.id"), "stringValue")), "c-1");
	cr_expect_null(attr(j, "gen_ai.prompt"), "content without capture");
	cr_expect_null(attr(j, "gen_ai.completion"));
	cr_expect_null(attr(j, "elenchus.step_index"));
	cr_expect_eq(json_object_size(json_object_get(j, "status")), 0);
	json_decref(j);
}

Test(otel_span, failures_and_captured_content)
{
	json_t	*j;

	j = genai(LLM_ERR_UPSTREAM_5XX, 1, "What is \"estoppel\"?\n");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(j,
	    "status"), "code")), 2);
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "error.type"), "stringValue")), "upstream_5xx");
	cr_expect_null(attr(j, "gen_ai.usage.input_tokens"));
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.prompt"), "stringValue")), "What is \"estoppel\"?\n");
	cr_expect_null(attr(j, "gen_ai.completion"), "no answer on failure");
	json_decref(j);

	/* Found by fuzz_otel: an explicit length of 0 is an empty value. */
	{
		struct otel_span	sp;
		char			*t;
		size_t			 n;

		memset(&sp, 0, sizeof(sp));
		sp.name = "x";
		otel_attr_strn(&sp, "k", "abc", 0);
		t = otel_span_json(&sp, &n);
		cr_expect_not_null(strstr(t, "\"stringValue\":\"\""), "%s", t);
		free(t);
	}
	j = genai(LLM_OK, 1, "bad \xff utf-8");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.prompt"), "stringValue")), "");
	cr_expect_str_eq(json_string_value(json_object_get(attr(j,
	    "gen_ai.completion"), "stringValue")), "The answer");
	json_decref(j);
}

Test(otel_span, batch_is_an_export_request)
{
	json_t	*j, *rs;
	char	*b;
	size_t	 len;

	b = otel_batch_json("svc", "1.2", "{\"a\":1},{\"b\":2}", 15, &len);
	j = json_loads(b, 0, NULL);
	cr_assert_not_null(j, "%s", b);
	rs = json_array_get(json_object_get(j, "resourceSpans"), 0);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(json_object_get(rs, "resource"),
	    "attributes"), 0), "value"), "stringValue")), "svc");
	cr_expect_eq(json_array_size(json_object_get(json_array_get(
	    json_object_get(rs, "scopeSpans"), 0), "spans")), 2);
	json_decref(j);
	free(b);
}

Test(otel_ring, peek_commit_wrap_and_overflow)
{
	struct otel_ring	*r;
	static char		 buf[OTEL_RING_BYTES];
	char			 span[1000];
	size_t			 n, len, i, total;
	uint64_t		 taken;

	r = otel_ring_map(NULL);
	cr_assert_not_null(r);
	cr_assert_eq(otel_ring_put(r, "{\"a\":1}", 7), 0);
	cr_assert_eq(otel_ring_put(r, "{\"b\":2}", 7), 0);
	n = otel_ring_peek(r, buf, sizeof(buf), 10, &len, &taken);
	cr_assert_eq(n, 2);
	cr_expect_eq(len, 15);
	cr_expect(!memcmp(buf, "{\"a\":1},{\"b\":2}", 15));
	/* Not consumed until committed. */
	cr_expect_eq(otel_ring_peek(r, buf, sizeof(buf), 1, &len, &taken),
	    1);
	cr_expect_eq(len, 7);
	otel_ring_commit(r, taken, 1);
	cr_expect_eq(otel_ring_peek(r, buf, sizeof(buf), 10, &len, &taken),
	    1);
	cr_expect(!memcmp(buf, "{\"b\":2}", 7));
	otel_ring_commit(r, taken, 1);

	/* Fill past the end: spans that do not fit are dropped, counted. */
	memset(span, 'x', sizeof(span));
	for (i = 0; i < OTEL_RING_BYTES / sizeof(span) + 10; i++)
		(void)otel_ring_put(r, span, sizeof(span));
	cr_expect_gt(r->dropped, 0);
	/* Drain everything, across the wrap, in batches. */
	total = 0;
	while ((n = otel_ring_peek(r, buf, 64 * 1024, 100, &len,
	    &taken)) > 0) {
		cr_expect_eq(len, n * sizeof(span) + n - 1);
		otel_ring_commit(r, taken, n);
		total += n;
	}
	cr_expect_eq(total + r->dropped, OTEL_RING_BYTES / sizeof(span) + 10);
	cr_expect_eq(r->head, r->tail);
	for (i = 0; i < 20; i++)
		cr_expect_eq(otel_ring_put(r, span, sizeof(span)), 0);
	cr_expect_eq(otel_ring_peek(r, buf, sizeof(buf), 100, &len, &taken),
	    20);
}

Test(otel_ring, one_ring_through_two_mappings)
{
	struct otel_ring	*a, *b;
	static char		 buf[4096];
	char			 path[] = "/tmp/otel-ring-XXXXXX";
	size_t			 len;
	uint64_t		 taken;
	int			 fd;

	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)close(fd);
	a = otel_ring_map(path);
	b = otel_ring_map(path);
	cr_assert_not_null(a);
	cr_assert_not_null(b);
	cr_assert_eq(otel_ring_put(a, "{\"w\":1}", 7), 0);
	cr_expect_eq(otel_ring_peek(b, buf, sizeof(buf), 10, &len, &taken),
	    1);
	otel_ring_commit(b, taken, 1);
	cr_expect_eq(a->spans_out, 1);
	(void)unlink(path);
}
