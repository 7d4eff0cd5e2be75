/*
 * OpenTelemetry traces: an instance of our own exports to a local OTLP
 * stand-in (tests/standins/otlp_standin.py), which checks the OTLP/JSON
 * structure of every export.  Checked here: the GenAI attributes of a
 * provider-call span, its parent (the request's span, itself under the
 * caller's W3C traceparent), a job's spans under the request that queued
 * it, failures as error spans, the OTLP headers, trace_id in the log,
 * prompt and answer text only with OTEL_CAPTURE_CONTENT=1, and export
 * that keeps requests fast while the collector is down and catches up
 * when it is back.
 */
#include "fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define TRACE		"4bf92f3577b34da6a3ce929d0e0e4736"
#define PARENT		"00f067aa0ba902b7"
#define TP		"00-" TRACE "-" PARENT "-01"
#define TRACE2		"0af7651916cd43dd8448eb211c80319c"
#define TP2		"00-" TRACE2 "-b7ad6b7169203331-01"
#define WAIT_S		40

struct otlp {
	pid_t	pid;
	char	base[64];
};

static void
otlp_start(struct otlp *o)
{
	const char	*argv[] = { "python3", "-u",
			    "tests/standins/otlp_standin.py", "--port", "0",
			    NULL };
	char		 out[192], line[128];
	FILE		*fp;
	int		 i, port;

	(void)snprintf(out, sizeof(out), "%s/%s.out",
	    env_or("E2E_TMP", "/tmp"), uniq("otlp"));
	o->pid = fx_spawn(argv, NULL, out);
	for (i = 0, port = 0; i < 100 && port == 0; i++) {
		if ((fp = fopen(out, "r")) != NULL) {
			while (port == 0 && fgets(line, sizeof(line), fp))
				if (sscanf(line, "READY %d", &port) != 1)
					port = 0;
			(void)fclose(fp);
		}
		if (port == 0)
			(void)usleep(100000);
	}
	cr_assert_gt(port, 0, "the OTLP stand-in did not start (%s)", out);
	(void)snprintf(o->base, sizeof(o->base), "http://127.0.0.1:%d", port);
}

static void
otlp_stop(struct otlp *o)
{
	fx_stop(&o->pid);
}

/* An instance exporting to o, with extra settings. */
static void
instance(struct srv *s, const struct otlp *o, const char *capture)
{
	static char	ep[128], queue[64];
	const char	*env[] = { ep, "OTEL_EXPORTER_OTLP_HEADERS="
	    "Authorization=Basic%20cGs6c2s=", "OTEL_SERVICE_NAME="
	    "elenchus-otel-e2e", "OTEL_BSP_SCHEDULE_DELAY=100", capture,
	    queue, NULL };

	(void)snprintf(ep, sizeof(ep), "OTEL_EXPORTER_OTLP_ENDPOINT=%s",
	    o->base);
	/* Its own job queue: its runner, not the main one, runs its jobs. */
	(void)snprintf(queue, sizeof(queue), "JOB_QUEUE=%s", uniq("otelq"));
	fx_srv_start(s, env);
}

static struct resp *
call(const struct srv *s, const char *method, const char *path,
    const char *token, const char *traceparent, const char *body)
{
	const char	*hdrs[4];
	char		 auth[4200], tp[128];
	int		 n;

	n = 0;
	hdrs[n++] = "Content-Type: application/json";
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs[n++] = auth;
	if (traceparent != NULL) {
		(void)snprintf(tp, sizeof(tp), "traceparent: %s", traceparent);
		hdrs[n++] = tp;
	}
	hdrs[n] = NULL;
	return (http_req_to(s->base, method, path, hdrs, body,
	    body ? strlen(body) : 0));
}

static void
account(const struct srv *s, struct user *a)
{
	fx_new_at(s->base, NULL, a, "otel-");
}

static const char *
sattr(json_t *span, const char *key)
{
	json_t	*a;
	size_t	 i;

	json_array_foreach(json_object_get(span, "attributes"), i, a) {
		if (!strcmp(json_string_value(json_object_get(a, "key")), key))
			return (json_string_value(json_object_get(
			    json_object_get(a, "value"), "stringValue")));
	}
	return (NULL);
}

static long long
iattr(json_t *span, const char *key)
{
	json_t		*a, *v;
	size_t		 i;

	json_array_foreach(json_object_get(span, "attributes"), i, a) {
		if (strcmp(json_string_value(json_object_get(a, "key")), key))
			continue;
		v = json_object_get(json_object_get(a, "value"), "intValue");
		return (json_is_string(v) ? atoll(json_string_value(v)) :
		    json_integer_value(v));
	}
	return (-1);
}

static int
has_attr(json_t *span, const char *key)
{
	json_t	*a;
	size_t	 i;

	json_array_foreach(json_object_get(span, "attributes"), i, a) {
		if (!strcmp(json_string_value(json_object_get(a, "key")), key))
			return (1);
	}
	return (0);
}

static const char *
sget(json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/* The spans of trace (all when NULL) once there are at least n. */
static json_t *
spans_of(const struct otlp *o, const char *trace, size_t n)
{
	struct resp	*r;
	json_t		*out, *sp;
	size_t		 i;
	int		 t;

	for (t = 0; t < WAIT_S * 10; t++) {
		r = http_req_to(o->base, "GET", "/__spans", NULL, NULL, 0);
		cr_assert_eq(r->status, 200);
		out = json_array();
		json_array_foreach(r->json, i, sp) {
			if (trace == NULL || !strcmp(sget(sp, "traceId"),
			    trace))
				(void)json_array_append(out, sp);
		}
		resp_free(r);
		if (json_array_size(out) >= n)
			return (out);
		json_decref(out);
		(void)usleep(100000);
	}
	cr_assert_fail("fewer than %zu spans of %s arrived", n,
	    trace ? trace : "any trace");
	return (NULL);
}

static json_t *
span_named(json_t *spans, const char *prefix)
{
	json_t	*sp;
	size_t	 i;

	json_array_foreach(spans, i, sp) {
		if (!strncmp(sget(sp, "name"), prefix, strlen(prefix)))
			return (sp);
	}
	cr_assert_fail("no span named %s*", prefix);
	return (NULL);
}

static void
no_structure_errors(const struct otlp *o)
{
	struct resp	*r;

	r = http_req_to(o->base, "GET", "/__errors", NULL, NULL, 0);
	cr_expect_eq(json_array_size(r->json), 0, "OTLP errors: %s", r->body);
	resp_free(r);
}

static void
analyze(const struct srv *s, const struct user *a)
{
	struct resp	*r;
	char		 id[64], path[256];

	fx_doc_new(s->base, a, "lease.txt", "The tenant shall pay rent on the "
	    "first day of each month.", id, sizeof(id));
	cr_assert_str_eq(fx_doc_wait(s->base, a, id, WAIT_S), "completed");
	(void)snprintf(path, sizeof(path), "/api/v1/documents/%s/analyze", id);
	r = call(s, "POST", path, a->token, TP2,
	    "{\"analysis_type\":\"summary\"}");
	cr_assert_eq(r->status, 202, "%s", r->body);
	resp_free(r);
}

Test(otel, provider_calls_are_genai_spans_in_the_callers_trace,
    .timeout = 180)
{
	struct otlp	 o;
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	json_t		*spans, *srvsp, *llm, *job, *sp;
	char		 msg[128], log[256], want[128];
	long long	 pt, ct;
	size_t		 i;

	otlp_start(&o);
	instance(&s, &o, "OTEL_CAPTURE_CONTENT=0");
	account(&s, &a);

	r = call(&s, "POST", "/api/v1/chat/chat", a.token, TP,
	    "{\"content\":\"What is a lien?\"}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	pt = jint(r, "data.usage.prompt_tokens");
	ct = jint(r, "data.usage.completion_tokens");
	cr_expect_str_eq(jstr(r, "data.message.trace_id"), TRACE);

	spans = spans_of(&o, TRACE, 2);
	cr_assert_eq(json_array_size(spans), 2, "%s",
	    json_dumps(spans, 0));
	srvsp = span_named(spans, "POST /api/v1/chat/chat");
	llm = span_named(spans, "chat gpt-test");
	cr_expect_eq(json_integer_value(json_object_get(srvsp, "kind")), 2);
	cr_expect_str_eq(sget(srvsp, "parentSpanId"), PARENT);
	cr_expect_eq(iattr(srvsp, "http.response.status_code"), 200);
	cr_expect_str_eq(sget(srvsp, "service"), "elenchus-otel-e2e");
	cr_expect_eq(json_integer_value(json_object_get(llm, "kind")), 3);
	cr_expect_str_eq(sget(llm, "parentSpanId"), sget(srvsp, "spanId"));
	cr_expect_str_eq(sattr(llm, "gen_ai.system"), "openai");
	cr_expect_str_eq(sattr(llm, "gen_ai.operation.name"), "chat");
	cr_expect_str_eq(sattr(llm, "gen_ai.request.model"), "gpt-test");
	cr_expect_not_null(sattr(llm, "gen_ai.response.model"));
	cr_expect_eq(iattr(llm, "gen_ai.usage.input_tokens"), pt);
	cr_expect_eq(iattr(llm, "gen_ai.usage.output_tokens"), ct);
	cr_expect(has_attr(llm, "gen_ai.response.finish_reasons"));
	cr_expect_geq(iattr(llm, "elenchus.llm.latency_ms"), 0);
	cr_expect_str_eq(sattr(llm, "user.id"), a.id);
	cr_expect_str_eq(sattr(llm, "session.id"),
	    jstr(r, "data.conversation_id"));
	cr_expect(!has_attr(llm, "gen_ai.prompt"), "content without capture");
	cr_expect(!has_attr(llm, "gen_ai.completion"));
	resp_free(r);
	json_decref(spans);

	/* A failed call: an error span, the request span a 502. */
	(void)snprintf(msg, sizeof(msg), "{\"content\":\"%s [[status:500]]\"}",
	    uniq("of"));
	r = call(&s, "POST", "/api/v1/chat/chat", a.token,
	    "00-" TRACE "-1111111111111111-01", msg);
	cr_assert_eq(r->status, 502, "%s", r->body);
	resp_free(r);
	spans = spans_of(&o, TRACE, 4);
	json_array_foreach(spans, i, sp) {
		if (strcmp(sget(sp, "parentSpanId"), "1111111111111111"))
			continue;
		cr_expect_eq(iattr(sp, "http.response.status_code"), 502);
		srvsp = sp;
	}
	json_array_foreach(spans, i, sp) {
		if (!strcmp(sget(sp, "parentSpanId"), sget(srvsp, "spanId"))) {
			cr_expect_eq(json_integer_value(json_object_get(
			    json_object_get(sp, "status"), "code")), 2);
			cr_expect_str_eq(sattr(sp, "error.type"),
			    "upstream_5xx");
		}
	}
	json_decref(spans);

	/* A job queued by a traced request: its spans join that trace. */
	analyze(&s, &a);
	spans = spans_of(&o, TRACE2, 3);
	srvsp = span_named(spans, "POST /api/v1/documents/");
	job = span_named(spans, "job document_analysis");
	llm = span_named(spans, "chat ");
	cr_expect_str_eq(sget(srvsp, "parentSpanId"), "b7ad6b7169203331");
	cr_expect_str_eq(sget(job, "parentSpanId"), sget(srvsp, "spanId"));
	cr_expect_eq(json_integer_value(json_object_get(job, "kind")), 5);
	cr_expect_str_eq(sget(llm, "parentSpanId"), sget(job, "spanId"));
	cr_expect_str_eq(sattr(llm, "elenchus.llm.kind"), "analysis");
	cr_expect_gt(iattr(llm, "gen_ai.usage.input_tokens"), 0);
	json_decref(spans);

	/* The exporter's headers, the log's trace ids, a clean structure. */
	r = http_req_to(o.base, "GET", "/__requests", NULL, NULL, 0);
	cr_expect_str_eq(json_string_value(jpath(r->json,
	    "0.headers.authorization")), "Basic cGs6c2s=");
	resp_free(r);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	(void)snprintf(want, sizeof(want), "\"trace_id\":\"%s\"", TRACE);
	cr_expect(fx_file_has(log, want), "no %s in %s", want, log);
	no_structure_errors(&o);
	fx_srv_stop(&s);
	otlp_stop(&o);
}

Test(otel, prompt_and_answer_text_only_with_capture, .timeout = 120)
{
	struct otlp	 o;
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	json_t		*spans, *llm;
	char		 body[128], *m;

	otlp_start(&o);
	instance(&s, &o, "OTEL_CAPTURE_CONTENT=1");
	account(&s, &a);
	m = uniq("privileged");
	(void)snprintf(body, sizeof(body), "{\"content\":\"Is %s covered?\"}",
	    m);
	r = call(&s, "POST", "/api/v1/chat/chat", a.token, TP2, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	spans = spans_of(&o, TRACE2, 2);
	llm = span_named(spans, "chat gpt-test");
	cr_expect_not_null(strstr(sattr(llm, "gen_ai.prompt"), m), "%s",
	    sattr(llm, "gen_ai.prompt"));
	cr_expect_str_eq(sattr(llm, "gen_ai.completion"),
	    jstr(r, "data.message.content"));
	resp_free(r);
	json_decref(spans);
	no_structure_errors(&o);
	fx_srv_stop(&s);
	otlp_stop(&o);
}

Test(otel, export_waits_out_a_collector_outage, .timeout = 180)
{
	struct otlp	 o;
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	json_t		*spans;
	char		 tp[64], trace[40];
	double		 t0;
	int		 i;

	otlp_start(&o);
	instance(&s, &o, "OTEL_CAPTURE_CONTENT=0");
	account(&s, &a);
	(void)snprintf(trace, sizeof(trace), "%08x%024d", (unsigned)getpid(),
	    7);
	r = http_req_to(o.base, "POST", "/__down?mode=drop&ms=5000", NULL,
	    NULL, 0);
	resp_free(r);
	for (i = 0; i < 6; i++) {
		if (i == 3) {
			/* Then failing with 503 instead of silence. */
			r = http_req_to(o.base, "POST",
			    "/__down?mode=503&ms=3000", NULL, NULL, 0);
			resp_free(r);
		}
		(void)snprintf(tp, sizeof(tp), "00-%s-%016x-01", trace, i + 1);
		t0 = fx_now();
		r = call(&s, "POST", "/api/v1/chat/chat", a.token, tp,
		    "{\"content\":\"Outage question\"}");
		cr_expect_eq(r->status, 200, "%s", r->body);
		/* The stand-in LLM answers at once: nothing waits on export. */
		cr_expect_lt(fx_now() - t0, 5.0, "chat took %.1f s",
		    fx_now() - t0);
		resp_free(r);
		(void)usleep(300000);
	}
	/* Every span arrives once the collector is back, none twice. */
	spans = spans_of(&o, trace, 12);
	cr_expect_eq(json_array_size(spans), 12);
	json_decref(spans);
	no_structure_errors(&o);
	fx_srv_stop(&s);
	otlp_stop(&o);
}
