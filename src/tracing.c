/*
 * OpenTelemetry glue for the module (see tracing.h).  Appending to the
 * outbox is a memcpy under a spin lock in shared memory: no system
 * call, no I/O on the event loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rq_ctx.h"
#include "tracing.h"
#include "lib/hex.h"

static struct otel_config	 tracing_cfg;
static struct otel_ring		*tracing_ring;

static const char	*tracing_env(const char *);
static void		 tracing_emit(const struct otel_span *);
static void		 tracing_random(u_int8_t *, size_t);

void
tracing_init(void)
{
	const char	*what, *path;

	if (otel_config_load(&tracing_cfg, tracing_env, &what) == -1) {
		fprintf(stderr, "elenchus: %s: not a valid setting\n", what);
		exit(1);
	}
	if (!tracing_cfg.enabled)
		return;
	path = getenv("ELENCHUS_OTEL_OUTBOX");
	if ((tracing_ring = otel_ring_map(path)) == NULL) {
		fprintf(stderr, "elenchus: ELENCHUS_OTEL_OUTBOX %s: %s\n",
		    path, errno_s);
		exit(1);
	}
	if (path == NULL || *path == '\0')
		kore_log(LOG_WARNING, "otel: ELENCHUS_OTEL_OUTBOX not set: "
		    "spans are kept but nothing exports them (start with "
		    "scripts/serve.sh, which shares it with the job runner)");
	kore_log(LOG_NOTICE, "otel: traces to %s as %s%s", tracing_cfg.url,
	    tracing_cfg.service_name, tracing_cfg.capture_content ?
	    ", with prompt and answer text" : "");
}

int
tracing_enabled(void)
{
	return (tracing_ring != NULL);
}

int
tracing_capture(void)
{
	return (tracing_cfg.capture_content);
}

u_int64_t
tracing_now_ns(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return ((u_int64_t)ts.tv_sec * 1000000000ULL +
	    (u_int64_t)ts.tv_nsec);
}

/*
 * The trace: the caller's traceparent when valid, else the request id
 * when we made it (32 random hex digits), else new random bytes.
 */
void
tracing_request_begin(struct http_request *req, struct rq *rq)
{
	struct otel_ctx		 in;
	struct rq_trace		*t = &rq->trace;

	t->start_ns = tracing_now_ns();
	if (otel_traceparent_parse(rq_header(req, "traceparent"), &in) == 0) {
		memcpy(t->ctx.trace_id, in.trace_id, OTEL_TRACE_LEN);
		memcpy(t->parent, in.span_id, OTEL_SPAN_LEN);
		t->ctx.flags = in.flags;
	} else if (strlen(rq->id) == OTEL_TRACE_LEN * 2 &&
	    hex_decode(rq->id, t->ctx.trace_id, OTEL_TRACE_LEN,
	    HEX_LOWER) == 0) {
		t->ctx.flags = 1;
	} else {
		tracing_random(t->ctx.trace_id, OTEL_TRACE_LEN);
		t->ctx.flags = 1;
	}
	if (otel_id_zero(t->ctx.trace_id, OTEL_TRACE_LEN))
		t->ctx.trace_id[OTEL_TRACE_LEN - 1] = 1;
	otel_hex(t->ctx.trace_id, OTEL_TRACE_LEN, t->id);
}

void
tracing_request_parent(struct rq *rq, struct otel_ctx *out)
{
	struct rq_trace		*t = &rq->trace;

	if (otel_id_zero(t->ctx.span_id, OTEL_SPAN_LEN))
		tracing_random(t->ctx.span_id, OTEL_SPAN_LEN);
	t->export = 1;
	*out = t->ctx;
}

/* The request span, for requests that have a child span. */
void
tracing_request_end(struct http_request *req, struct rq *rq)
{
	struct otel_span	 sp;
	struct rq_trace		*t = &rq->trace;

	if (!t->export || tracing_ring == NULL)
		return;
	memset(&sp, 0, sizeof(sp));
	memcpy(sp.trace_id, t->ctx.trace_id, OTEL_TRACE_LEN);
	memcpy(sp.span_id, t->ctx.span_id, OTEL_SPAN_LEN);
	memcpy(sp.parent_id, t->parent, OTEL_SPAN_LEN);
	(void)snprintf(sp.namebuf, sizeof(sp.namebuf), "%s %s",
	    http_method_text(req->method), rq->route->label);
	sp.name = sp.namebuf;
	sp.kind = OTEL_KIND_SERVER;
	sp.start_ns = t->start_ns;
	sp.end_ns = tracing_now_ns();
	if (req->status >= 500)
		sp.status = OTEL_STATUS_ERROR;
	otel_attr_str(&sp, "http.request.method",
	    http_method_text(req->method));
	otel_attr_str(&sp, "http.route", rq->route->label);
	otel_attr_int(&sp, "http.response.status_code", req->status);
	otel_attr_str(&sp, "elenchus.request_id", rq->id);
	if (rq->authed)
		otel_attr_str(&sp, "user.id", rq->user.id);
	tracing_emit(&sp);
	t->export = 0;
}

void
tracing_emit_llm(const struct otel_ctx *parent, const struct otel_llm *l)
{
	struct otel_span	sp;
	u_int8_t		id[OTEL_SPAN_LEN];

	if (tracing_ring == NULL)
		return;
	tracing_random(id, sizeof(id));
	otel_genai_span(&sp, parent, id, l, tracing_cfg.capture_content);
	tracing_emit(&sp);
}

static void
tracing_emit(const struct otel_span *sp)
{
	char	*json;
	size_t	 len;

	if ((json = otel_span_json(sp, &len)) == NULL)
		return;
	(void)otel_ring_put(tracing_ring, json, len);
	free(json);
}

static void
tracing_random(u_int8_t *b, size_t n)
{
	do {
		if (RAND_bytes(b, (int)n) != 1)
			fatal("RAND_bytes failed");
	} while (otel_id_zero(b, n));
}

static const char *
tracing_env(const char *name)
{
	return (getenv(name));
}
