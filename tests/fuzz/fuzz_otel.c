/*
 * W3C traceparent (a request header) and span encoding of arbitrary text
 * (prompts, answers, paths): a parsed traceparent formats back to what
 * was read, and every encoded span is valid JSON.
 */
#include <jansson.h>

#include "otel.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct otel_ctx		 c;
	struct otel_span	 sp;
	json_t			*j;
	char			*s, *json, out[OTEL_TRACEPARENT_LEN + 1];
	size_t			 n;

	s = fuzz_str(data, len);
	if (otel_traceparent_parse(s, &c) == 0) {
		FUZZ_CHECK(!otel_id_zero(c.trace_id, OTEL_TRACE_LEN));
		FUZZ_CHECK(!otel_id_zero(c.span_id, OTEL_SPAN_LEN));
		otel_traceparent_format(&c, out);
		/* Version, then the same ids and flags as read. */
		FUZZ_CHECK(memcmp(out + 2, s + 2, OTEL_TRACEPARENT_LEN - 2) ==
		    0);
	}

	memset(&sp, 0, sizeof(sp));
	memcpy(sp.trace_id, "0123456789abcdef", OTEL_TRACE_LEN);
	memcpy(sp.span_id, "01234567", OTEL_SPAN_LEN);
	sp.name = s;
	sp.kind = OTEL_KIND_CLIENT;
	sp.start_ns = 1;
	sp.end_ns = 2;
	otel_attr_strn(&sp, "gen_ai.prompt", (const char *)data, len);
	otel_attr_strarr1(&sp, s, s);
	if ((json = otel_span_json(&sp, &n)) != NULL) {
		j = json_loadb(json, n, JSON_ALLOW_NUL, NULL);
		FUZZ_CHECK(j != NULL && json_is_object(j));
		json_decref(j);
		free(json);
	}
	free(s);
	return (0);
}
