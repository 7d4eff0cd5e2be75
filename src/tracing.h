/*
 * OpenTelemetry in the server: each request's trace (a W3C traceparent
 * adopted, else a new trace), the request span, and provider-call spans
 * under it.  Spans are encoded here and appended to the instance's
 * outbox (ELENCHUS_OTEL_OUTBOX, shared memory); the job runner exports
 * them.  Nothing is encoded when no endpoint is configured.
 */
#ifndef ELENCHUS_TRACING_H
#define ELENCHUS_TRACING_H

#include <sys/types.h>

#include "lib/otel.h"

struct http_request;
struct rq;

/* In the parent, before the workers fork; exits on a bad setting. */
void		tracing_init(void);
int		tracing_enabled(void);
int		tracing_capture(void);
u_int64_t	tracing_now_ns(void);

void		tracing_request_begin(struct http_request *, struct rq *);
void		tracing_request_end(struct http_request *, struct rq *);
/* The request span as the parent of a child; it will be exported. */
void		tracing_request_parent(struct rq *, struct otel_ctx *);
/* Encode and queue a provider-call span. */
void		tracing_emit_llm(const struct otel_ctx *,
		    const struct otel_llm *);

#endif
