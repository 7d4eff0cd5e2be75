/*
 * OpenTelemetry traces without an SDK: W3C traceparent parsing, spans
 * encoded as OTLP/JSON, the OTEL_* settings, and the outbox, a ring of
 * encoded spans in shared memory that request paths append to and one
 * exporter thread drains in batches (peek, send, commit), so a slow or
 * absent collector never touches a request.  Pure code: no Kore.
 */
#ifndef ELENCHUS_OTEL_H
#define ELENCHUS_OTEL_H

#include <stddef.h>
#include <stdint.h>

#define OTEL_TRACE_LEN		16
#define OTEL_SPAN_LEN		8
#define OTEL_TRACEPARENT_LEN	55
#define OTEL_ATTRS_MAX		32
#define OTEL_URL_MAX		1024
#define OTEL_HEADERS_MAX	16
#define OTEL_HEADER_LEN		1024
#define OTEL_NAME_MAX		128
/* Prompt and answer text exported with OTEL_CAPTURE_CONTENT=1, at most. */
#define OTEL_CONTENT_MAX	(64 * 1024)

#define OTEL_RING_MAGIC		0x4f54454c52494e47ULL	/* "OTELRING" */
#define OTEL_RING_BYTES		(8 * 1024 * 1024)
/* One encoded span, at most (larger ones are dropped and counted). */
#define OTEL_SPAN_BYTES_MAX	(256 * 1024)

/* SpanKind of the OTLP protocol. */
enum otel_kind {
	OTEL_KIND_INTERNAL = 1,
	OTEL_KIND_SERVER = 2,
	OTEL_KIND_CLIENT = 3,
	OTEL_KIND_PRODUCER = 4,
	OTEL_KIND_CONSUMER = 5
};

/* Status.code of the OTLP protocol. */
enum otel_status {
	OTEL_STATUS_UNSET = 0,
	OTEL_STATUS_OK = 1,
	OTEL_STATUS_ERROR = 2
};

enum otel_attr_type {
	OTEL_ATTR_STR = 0,
	OTEL_ATTR_INT,
	OTEL_ATTR_STRARR1	/* an array of one string */
};

struct otel_attr {
	const char		*key;
	enum otel_attr_type	 type;
	const char		*s;
	size_t			 slen;
	int64_t			 i;
};

/* Where a span sits: its trace and its parent (zero: a root). */
struct otel_ctx {
	uint8_t		trace_id[OTEL_TRACE_LEN];
	uint8_t		span_id[OTEL_SPAN_LEN];
	uint8_t		flags;
};

struct otel_span {
	uint8_t			 trace_id[OTEL_TRACE_LEN];
	uint8_t			 span_id[OTEL_SPAN_LEN];
	uint8_t			 parent_id[OTEL_SPAN_LEN];	/* 0: root */
	const char		*name;
	enum otel_kind		 kind;
	uint64_t		 start_ns;	/* Unix epoch nanoseconds */
	uint64_t		 end_ns;
	enum otel_status	 status;
	const char		*status_message;
	struct otel_attr	 attrs[OTEL_ATTRS_MAX];
	int			 nattrs;
	char			 namebuf[OTEL_NAME_MAX + 8];
};

/* A provider call, for otel_genai_span. */
struct otel_llm {
	const char	*provider;	/* gen_ai.system */
	const char	*request_model;
	const char	*response_model;	/* may be NULL */
	const char	*kind;		/* chat, analysis, workflow */
	int		 err;		/* enum llm_err; 0: LLM_OK */
	uint64_t	 start_ns;
	uint64_t	 end_ns;
	long		 prompt_tokens;
	long		 completion_tokens;
	const char	*finish_reason;	/* may be NULL */
	int		 attempts;
	const char	*user_id;
	const char	*conversation_id;	/* may be NULL */
	const char	*execution_id;		/* may be NULL */
	int		 step_index;		/* < 0: none */
	const char	*prompt;	/* exported only when capturing */
	const char	*completion;
};

struct otel_config {
	int		enabled;	/* an endpoint is set */
	char		url[OTEL_URL_MAX];	/* .../v1/traces */
	char		headers[OTEL_HEADERS_MAX][OTEL_HEADER_LEN];
	int		nheaders;	/* "Name: value" lines for curl */
	char		service_name[OTEL_NAME_MAX];
	int		capture_content;
	long		schedule_delay_ms;	/* OTEL_BSP_SCHEDULE_DELAY */
	long		batch_max;	/* OTEL_BSP_MAX_EXPORT_BATCH_SIZE */
	long		timeout_ms;	/* OTEL_EXPORTER_OTLP_TIMEOUT */
};

struct otel_ring {
	uint64_t		magic;
	volatile int		lock;
	uint32_t		size;
	uint64_t		head;	/* bytes ever written */
	uint64_t		tail;	/* bytes ever consumed */
	uint64_t		spans_in;
	uint64_t		spans_out;
	uint64_t		dropped;
	unsigned char		data[OTEL_RING_BYTES];
};

/*
 * Read OTEL_EXPORTER_OTLP_ENDPOINT (base URL; /v1/traces is added) or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is),
 * OTEL_EXPORTER_OTLP_HEADERS (k=v,… with %-encoded values),
 * OTEL_SERVICE_NAME, OTEL_CAPTURE_CONTENT, OTEL_BSP_SCHEDULE_DELAY,
 * OTEL_BSP_MAX_EXPORT_BATCH_SIZE, OTEL_EXPORTER_OTLP_TIMEOUT.  -1 with
 * *what naming the variable at fault.
 */
int	otel_config_load(struct otel_config *,
	    const char *(*getenv_fn)(const char *), const char **what);

/* W3C traceparent: 0 and the context, or -1 when it is not valid. */
int	otel_traceparent_parse(const char *, struct otel_ctx *);
/* The traceparent of ctx (55 characters and a NUL). */
void	otel_traceparent_format(const struct otel_ctx *,
	    char out[OTEL_TRACEPARENT_LEN + 1]);
void	otel_hex(const uint8_t *, size_t, char *out);
int	otel_id_zero(const uint8_t *, size_t);

/* Add an attribute; silently ignored past OTEL_ATTRS_MAX. */
void	otel_attr_str(struct otel_span *, const char *, const char *);
void	otel_attr_strn(struct otel_span *, const char *, const char *,
	    size_t);
void	otel_attr_int(struct otel_span *, const char *, int64_t);
void	otel_attr_strarr1(struct otel_span *, const char *, const char *);

/*
 * A CLIENT span of the GenAI semantic conventions for one provider call
 * (after its retries), under parent, with span_id as its id.  Prompt and
 * answer text go in only when capture is set.  sp borrows l's strings.
 */
void	otel_genai_span(struct otel_span *sp, const struct otel_ctx *parent,
	    const uint8_t span_id[OTEL_SPAN_LEN], const struct otel_llm *l,
	    int capture);

/* The span as one OTLP/JSON span object; malloc'd, NULL on failure. */
char	*otel_span_json(const struct otel_span *, size_t *len);
/*
 * A request body (ExportTraceServiceRequest) around n encoded spans laid
 * end to end in spans (each as otel_span_json wrote it), comma-joined;
 * malloc'd.
 */
char	*otel_batch_json(const char *service_name, const char *version,
	    const char *spans, size_t len, size_t *outlen);

/* The outbox: a file (shared by processes) or anonymous memory. */
struct otel_ring *otel_ring_map(const char *path);
/* Append one encoded span; -1 when it does not fit (counted dropped). */
int	otel_ring_put(struct otel_ring *, const char *, size_t);
/*
 * Copy up to max spans from the oldest, comma-joined, into buf (cap
 * bytes) without consuming them; returns the count and sets *taken to
 * the ring bytes they use, for otel_ring_commit once they are sent.
 */
size_t	otel_ring_peek(struct otel_ring *, char *buf, size_t cap,
	    size_t max, size_t *buflen, uint64_t *taken);
void	otel_ring_commit(struct otel_ring *, uint64_t taken, size_t n);

#endif
