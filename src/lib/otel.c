/*
 * OpenTelemetry without an SDK (see otel.h): traceparent, OTLP/JSON
 * spans, the OTEL_* settings and the shared-memory outbox.
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hex.h"
#include "jsonw.h"
#include "llm.h"
#include "otel.h"
#include "utf8.h"

#define OTEL_DEFAULT_SERVICE	"elenchus"
#define OTEL_DEFAULT_DELAY_MS	5000
#define OTEL_DEFAULT_BATCH	512
#define OTEL_DEFAULT_TIMEOUT_MS	10000
#define OTEL_TRACES_PATH	"/v1/traces"
#define OTEL_REC_HDR		4

struct obuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 oom;
};

static void	ob_need(struct obuf *, size_t);
static void	ob_add(struct obuf *, const char *, size_t);
static void	ob_str(struct obuf *, const char *);
static void	otel_attr_json(struct obuf *, const struct otel_attr *);
static void	ob_json(struct obuf *, const char *, size_t);
static void	ob_hex(struct obuf *, const uint8_t *, size_t);
static void	ob_u64(struct obuf *, uint64_t);
static void	ob_i64(struct obuf *, int64_t);
static long	otel_env_long(const char *(*)(const char *), const char *,
		    long, long, long, int *);
static int	otel_header(const char *, size_t, char *, size_t);
static void	ring_lock(struct otel_ring *);
static void	ring_unlock(struct otel_ring *);
static void	ring_write(struct otel_ring *, uint64_t, const void *,
		    size_t);
static void	ring_read(const struct otel_ring *, uint64_t, void *,
		    size_t);
static int	otel_config_url(struct otel_config *,
		    const char *(*)(const char *));
static int	otel_config_headers(struct otel_config *, const char *);

int
otel_config_load(struct otel_config *c, const char *(*env)(const char *),
    const char **what)
{
	const char	*v;
	int		 bad;

	memset(c, 0, sizeof(*c));
	*what = NULL;
	bad = 0;
	if (otel_config_url(c, env) == -1) {
		*what = "OTEL_EXPORTER_OTLP_ENDPOINT";
		return (-1);
	}
	if (otel_config_headers(c, env("OTEL_EXPORTER_OTLP_HEADERS")) == -1) {
		*what = "OTEL_EXPORTER_OTLP_HEADERS";
		return (-1);
	}
	v = env("OTEL_SERVICE_NAME");
	(void)snprintf(c->service_name, sizeof(c->service_name), "%s",
	    v != NULL && *v != '\0' ? v : OTEL_DEFAULT_SERVICE);
	v = env("OTEL_CAPTURE_CONTENT");
	c->capture_content = v != NULL && (!strcmp(v, "1") ||
	    !strcasecmp(v, "true"));
	c->schedule_delay_ms = otel_env_long(env, "OTEL_BSP_SCHEDULE_DELAY",
	    OTEL_DEFAULT_DELAY_MS, 1, 3600000, &bad);
	if (bad) {
		*what = "OTEL_BSP_SCHEDULE_DELAY";
		return (-1);
	}
	c->batch_max = otel_env_long(env, "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
	    OTEL_DEFAULT_BATCH, 1, 100000, &bad);
	if (bad) {
		*what = "OTEL_BSP_MAX_EXPORT_BATCH_SIZE";
		return (-1);
	}
	c->timeout_ms = otel_env_long(env, "OTEL_EXPORTER_OTLP_TIMEOUT",
	    OTEL_DEFAULT_TIMEOUT_MS, 1, 600000, &bad);
	if (bad) {
		*what = "OTEL_EXPORTER_OTLP_TIMEOUT";
		return (-1);
	}
	return (0);
}

int
otel_traceparent_parse(const char *s, struct otel_ctx *ctx)
{
	uint8_t		ver, fl;
	size_t		len;

	if (s == NULL)
		return (-1);
	len = strlen(s);
	if (len < OTEL_TRACEPARENT_LEN || s[2] != '-' || s[35] != '-' ||
	    s[52] != '-')
		return (-1);
	if (hex_decode(s, &ver, 1, HEX_LOWER) == -1 || ver == 0xff)
		return (-1);
	/* Version 00 is exactly 55 long; a later one may carry more. */
	if ((ver == 0 && len != OTEL_TRACEPARENT_LEN) ||
	    (ver != 0 && len > OTEL_TRACEPARENT_LEN &&
	    s[OTEL_TRACEPARENT_LEN] != '-'))
		return (-1);
	if (hex_decode(s + 3, ctx->trace_id, OTEL_TRACE_LEN, HEX_LOWER) ||
	    hex_decode(s + 36, ctx->span_id, OTEL_SPAN_LEN, HEX_LOWER) ||
	    hex_decode(s + 53, &fl, 1, HEX_LOWER))
		return (-1);
	if (otel_id_zero(ctx->trace_id, OTEL_TRACE_LEN) ||
	    otel_id_zero(ctx->span_id, OTEL_SPAN_LEN))
		return (-1);
	ctx->flags = fl;
	return (0);
}

void
otel_traceparent_format(const struct otel_ctx *ctx,
    char out[OTEL_TRACEPARENT_LEN + 1])
{
	memcpy(out, "00-", 3);
	otel_hex(ctx->trace_id, OTEL_TRACE_LEN, out + 3);
	out[35] = '-';
	otel_hex(ctx->span_id, OTEL_SPAN_LEN, out + 36);
	out[52] = '-';
	otel_hex(&ctx->flags, 1, out + 53);
	out[OTEL_TRACEPARENT_LEN] = '\0';
}

void
otel_hex(const uint8_t *b, size_t n, char *out)
{
	static const char	hex[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		out[i * 2] = hex[b[i] >> 4];
		out[i * 2 + 1] = hex[b[i] & 0x0f];
	}
	out[n * 2] = '\0';
}

int
otel_id_zero(const uint8_t *b, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (b[i] != 0)
			return (0);
	}
	return (1);
}

void
otel_attr_str(struct otel_span *sp, const char *key, const char *v)
{
	if (v != NULL)
		otel_attr_strn(sp, key, v, strlen(v));
}

void
otel_attr_strn(struct otel_span *sp, const char *key, const char *v,
    size_t len)
{
	struct otel_attr	*a;

	if (sp->nattrs == OTEL_ATTRS_MAX || v == NULL)
		return;
	a = &sp->attrs[sp->nattrs++];
	a->key = key;
	a->type = OTEL_ATTR_STR;
	a->s = v;
	a->slen = len;
}

void
otel_attr_int(struct otel_span *sp, const char *key, int64_t v)
{
	struct otel_attr	*a;

	if (sp->nattrs == OTEL_ATTRS_MAX)
		return;
	a = &sp->attrs[sp->nattrs++];
	a->key = key;
	a->type = OTEL_ATTR_INT;
	a->i = v;
}

void
otel_attr_strarr1(struct otel_span *sp, const char *key, const char *v)
{
	if (v == NULL || sp->nattrs == OTEL_ATTRS_MAX)
		return;
	otel_attr_str(sp, key, v);
	sp->attrs[sp->nattrs - 1].type = OTEL_ATTR_STRARR1;
}

void
otel_genai_span(struct otel_span *sp, const struct otel_ctx *parent,
    const uint8_t span_id[OTEL_SPAN_LEN], const struct otel_llm *l,
    int capture)
{
	memset(sp, 0, sizeof(*sp));
	memcpy(sp->trace_id, parent->trace_id, OTEL_TRACE_LEN);
	memcpy(sp->parent_id, parent->span_id, OTEL_SPAN_LEN);
	memcpy(sp->span_id, span_id, OTEL_SPAN_LEN);
	(void)snprintf(sp->namebuf, sizeof(sp->namebuf), "chat %s",
	    l->request_model);
	sp->name = sp->namebuf;
	sp->kind = OTEL_KIND_CLIENT;
	sp->start_ns = l->start_ns;
	sp->end_ns = l->end_ns;
	otel_attr_str(sp, "gen_ai.operation.name", "chat");
	otel_attr_str(sp, "gen_ai.system", l->provider);
	otel_attr_str(sp, "gen_ai.provider.name", l->provider);
	otel_attr_str(sp, "gen_ai.request.model", l->request_model);
	if (l->err == LLM_OK) {
		otel_attr_str(sp, "gen_ai.response.model",
		    l->response_model != NULL ? l->response_model :
		    l->request_model);
		otel_attr_int(sp, "gen_ai.usage.input_tokens",
		    l->prompt_tokens);
		otel_attr_int(sp, "gen_ai.usage.output_tokens",
		    l->completion_tokens);
		otel_attr_strarr1(sp, "gen_ai.response.finish_reasons",
		    l->finish_reason != NULL ? l->finish_reason : "stop");
	} else {
		sp->status = OTEL_STATUS_ERROR;
		sp->status_message = llm_err_name((enum llm_err)l->err);
		otel_attr_str(sp, "error.type",
		    llm_err_name((enum llm_err)l->err));
	}
	otel_attr_int(sp, "elenchus.llm.latency_ms",
	    (int64_t)((l->end_ns - l->start_ns) / 1000000));
	otel_attr_int(sp, "elenchus.llm.attempts", l->attempts);
	otel_attr_str(sp, "elenchus.llm.kind", l->kind);
	/* Langfuse reads user.id and session.id. */
	otel_attr_str(sp, "user.id", l->user_id);
	otel_attr_str(sp, "session.id", l->conversation_id);
	otel_attr_str(sp, "elenchus.conversation_id", l->conversation_id);
	otel_attr_str(sp, "elenchus.execution_id", l->execution_id);
	if (l->step_index >= 0)
		otel_attr_int(sp, "elenchus.step_index", l->step_index);
	if (capture) {
		otel_attr_str(sp, "gen_ai.prompt", l->prompt);
		if (l->err == LLM_OK)
			otel_attr_str(sp, "gen_ai.completion", l->completion);
	}
}

char *
otel_span_json(const struct otel_span *sp, size_t *len)
{
	struct obuf	b;
	int		i;

	memset(&b, 0, sizeof(b));
	ob_str(&b, "{\"traceId\":\"");
	ob_hex(&b, sp->trace_id, OTEL_TRACE_LEN);
	ob_str(&b, "\",\"spanId\":\"");
	ob_hex(&b, sp->span_id, OTEL_SPAN_LEN);
	ob_str(&b, "\"");
	if (!otel_id_zero(sp->parent_id, OTEL_SPAN_LEN)) {
		ob_str(&b, ",\"parentSpanId\":\"");
		ob_hex(&b, sp->parent_id, OTEL_SPAN_LEN);
		ob_str(&b, "\"");
	}
	ob_str(&b, ",\"name\":");
	ob_json(&b, sp->name, strlen(sp->name));
	ob_str(&b, ",\"kind\":");
	ob_i64(&b, sp->kind);
	ob_str(&b, ",\"startTimeUnixNano\":\"");
	ob_u64(&b, sp->start_ns);
	ob_str(&b, "\",\"endTimeUnixNano\":\"");
	ob_u64(&b, sp->end_ns < sp->start_ns ? sp->start_ns : sp->end_ns);
	ob_str(&b, "\",\"attributes\":[");
	for (i = 0; i < sp->nattrs; i++) {
		if (i > 0)
			ob_str(&b, ",");
		otel_attr_json(&b, &sp->attrs[i]);
	}
	ob_str(&b, "],\"status\":{");
	if (sp->status != OTEL_STATUS_UNSET) {
		ob_str(&b, "\"code\":");
		ob_i64(&b, sp->status);
		if (sp->status_message != NULL) {
			ob_str(&b, ",\"message\":");
			ob_json(&b, sp->status_message,
			    strlen(sp->status_message));
		}
	}
	ob_str(&b, "}}");
	if (b.oom) {
		free(b.p);
		return (NULL);
	}
	*len = b.len;
	return (b.p);
}

char *
otel_batch_json(const char *service, const char *version,
    const char *spans, size_t len, size_t *outlen)
{
	struct obuf	b;

	memset(&b, 0, sizeof(b));
	ob_need(&b, len + 512);
	ob_str(&b, "{\"resourceSpans\":[{\"resource\":{\"attributes\":["
	    "{\"key\":\"service.name\",\"value\":{\"stringValue\":");
	ob_json(&b, service, strlen(service));
	ob_str(&b, "}},{\"key\":\"service.version\",\"value\":"
	    "{\"stringValue\":");
	ob_json(&b, version, strlen(version));
	ob_str(&b, "}},{\"key\":\"telemetry.sdk.language\",\"value\":"
	    "{\"stringValue\":\"c\"}}]},\"scopeSpans\":[{\"scope\":"
	    "{\"name\":\"elenchus\",\"version\":");
	ob_json(&b, version, strlen(version));
	ob_str(&b, "},\"spans\":[");
	ob_add(&b, spans, len);
	ob_str(&b, "]}]}]}");
	if (b.oom) {
		free(b.p);
		return (NULL);
	}
	*outlen = b.len;
	return (b.p);
}

struct otel_ring *
otel_ring_map(const char *path)
{
	struct otel_ring	*r;
	struct stat		 st;
	void			*p;
	int			 fd, fresh, saved;

	if (path == NULL || *path == '\0') {
		p = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return (NULL);
		r = p;
		r->size = OTEL_RING_BYTES;
		r->magic = OTEL_RING_MAGIC;
		return (r);
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return (NULL);
	if (fstat(fd, &st) == -1)
		goto fail;
	fresh = st.st_size != (off_t)sizeof(*r);
	if (fresh && ftruncate(fd, (off_t)sizeof(*r)) == -1)
		goto fail;
	p = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto fail;
	(void)close(fd);
	r = p;
	if (fresh || __atomic_load_n(&r->magic, __ATOMIC_ACQUIRE) !=
	    OTEL_RING_MAGIC || r->size != OTEL_RING_BYTES ||
	    r->head - r->tail > r->size) {
		memset(r, 0, offsetof(struct otel_ring, data));
		r->size = OTEL_RING_BYTES;
		__atomic_store_n(&r->magic, OTEL_RING_MAGIC,
		    __ATOMIC_RELEASE);
	}
	return (r);
fail:
	saved = errno;
	(void)close(fd);
	errno = saved;
	return (NULL);
}

int
otel_ring_put(struct otel_ring *r, const char *span, size_t len)
{
	uint32_t	n;

	if (r == NULL)
		return (-1);
	ring_lock(r);
	if (len > OTEL_SPAN_BYTES_MAX ||
	    OTEL_REC_HDR + len > r->size - (r->head - r->tail)) {
		r->dropped++;
		ring_unlock(r);
		return (-1);
	}
	n = (uint32_t)len;
	ring_write(r, r->head, &n, OTEL_REC_HDR);
	ring_write(r, r->head + OTEL_REC_HDR, span, len);
	r->head += OTEL_REC_HDR + len;
	r->spans_in++;
	ring_unlock(r);
	return (0);
}

size_t
otel_ring_peek(struct otel_ring *r, char *buf, size_t cap, size_t max,
    size_t *buflen, uint64_t *taken)
{
	uint64_t	head, at;
	uint32_t	n;
	size_t		count, off;

	ring_lock(r);
	head = r->head;
	at = r->tail;
	ring_unlock(r);

	count = off = 0;
	while (at < head && count < max) {
		ring_read(r, at, &n, OTEL_REC_HDR);
		if (n + (count ? 1 : 0) > cap - off) {
			/* Larger than a whole batch: skip it. */
			if (count == 0 && n + 1 > cap) {
				at += OTEL_REC_HDR + n;
				continue;
			}
			break;
		}
		if (count > 0)
			buf[off++] = ',';
		ring_read(r, at + OTEL_REC_HDR, buf + off, n);
		off += n;
		at += OTEL_REC_HDR + n;
		count++;
	}
	*buflen = off;
	*taken = at - r->tail;
	return (count);
}

void
otel_ring_commit(struct otel_ring *r, uint64_t taken, size_t n)
{
	ring_lock(r);
	r->tail += taken;
	r->spans_out += n;
	ring_unlock(r);
}

static void
ring_write(struct otel_ring *r, uint64_t at, const void *src, size_t len)
{
	size_t	off, first;

	off = (size_t)(at % r->size);
	first = r->size - off < len ? r->size - off : len;
	memcpy(r->data + off, src, first);
	memcpy(r->data, (const unsigned char *)src + first, len - first);
}

static void
ring_read(const struct otel_ring *r, uint64_t at, void *dst, size_t len)
{
	size_t	off, first;

	off = (size_t)(at % r->size);
	first = r->size - off < len ? r->size - off : len;
	memcpy(dst, r->data + off, first);
	memcpy((unsigned char *)dst + first, r->data, len - first);
}

static void
ring_lock(struct otel_ring *r)
{
	while (__atomic_exchange_n(&r->lock, 1, __ATOMIC_ACQUIRE))
		;
}

static void
ring_unlock(struct otel_ring *r)
{
	__atomic_store_n(&r->lock, 0, __ATOMIC_RELEASE);
}

/* "Name=value" (value %-encoded) to a curl header line "Name: value". */
static int
otel_header(const char *s, size_t n, char *out, size_t cap)
{
	const char	*eq;
	size_t		 k, i, o;
	int		 hi, lo;

	if ((eq = memchr(s, '=', n)) == NULL || eq == s)
		return (-1);
	k = (size_t)(eq - s);
	while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
		k--;
	for (i = 0; i < k; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return (-1);
	}
	if (k == 0 || k + 3 > cap)
		return (-1);
	memcpy(out, s, k);
	o = k;
	out[o++] = ':';
	out[o++] = ' ';
	i = (size_t)(eq - s) + 1;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	for (; i < n; i++) {
		if (o + 1 >= cap)
			return (-1);
		if (s[i] == '%' && i + 2 < n &&
		    (hi = hex_val(s[i + 1])) >= 0 &&
		    (lo = hex_val(s[i + 2])) >= 0) {
			out[o] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o] = s[i];
		}
		/* No header splitting through an encoded line break. */
		if (out[o] == '\r' || out[o] == '\n' || out[o] == '\0')
			return (-1);
		o++;
	}
	while (o > k + 2 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
		o--;
	out[o] = '\0';
	return (0);
}

static long
otel_env_long(const char *(*env)(const char *), const char *name,
    long def, long lo, long hi, int *bad)
{
	const char	*v;
	char		*ep;
	long		 n;

	if ((v = env(name)) == NULL || *v == '\0')
		return (def);
	errno = 0;
	n = strtol(v, &ep, 10);
	if (errno != 0 || *ep != '\0' || n < lo || n > hi) {
		*bad = 1;
		return (def);
	}
	return (n);
}

static void
ob_need(struct obuf *b, size_t n)
{
	char	*np;
	size_t	 cap;

	if (b->oom || b->len + n + 1 <= b->cap)
		return;
	cap = b->cap ? b->cap : 1024;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((np = realloc(b->p, cap)) == NULL) {
		b->oom = 1;
		return;
	}
	b->p = np;
	b->cap = cap;
}

static void
ob_add(struct obuf *b, const char *s, size_t n)
{
	ob_need(b, n);
	if (b->oom)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
ob_str(struct obuf *b, const char *s)
{
	ob_add(b, s, strlen(s));
}

/* A JSON string; text that is not UTF-8 is written as "". */
static void
ob_json(struct obuf *b, const char *s, size_t n)
{
	if (!utf8_valid(s, n))
		n = 0;
	ob_need(b, jsonw_escape_len(s, n));
	if (b->oom)
		return;
	b->len += jsonw_escape(b->p + b->len, s, n);
	b->p[b->len] = '\0';
}

static void
ob_hex(struct obuf *b, const uint8_t *id, size_t n)
{
	char	hex[OTEL_TRACE_LEN * 2 + 1];

	otel_hex(id, n, hex);
	ob_add(b, hex, n * 2);
}

static void
ob_u64(struct obuf *b, uint64_t v)
{
	char	num[24];

	(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	ob_str(b, num);
}

static void
ob_i64(struct obuf *b, int64_t v)
{
	char	num[24];

	(void)snprintf(num, sizeof(num), "%lld", (long long)v);
	ob_str(b, num);
}

/*
 * The traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT as is, else
 * OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces; http(s) only.  0, or -1.
 */
static int
otel_config_url(struct otel_config *c, const char *(*env)(const char *))
{
	const char	*v;
	size_t		 len;

	if ((v = env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")) != NULL && *v) {
		if (strlen(v) >= sizeof(c->url))
			return (-1);
		(void)snprintf(c->url, sizeof(c->url), "%s", v);
	} else if ((v = env("OTEL_EXPORTER_OTLP_ENDPOINT")) != NULL && *v) {
		len = strlen(v);
		while (len > 0 && v[len - 1] == '/')
			len--;
		if (len + sizeof(OTEL_TRACES_PATH) > sizeof(c->url))
			return (-1);
		(void)snprintf(c->url, sizeof(c->url), "%.*s%s", (int)len, v,
		    OTEL_TRACES_PATH);
	}
	if (c->url[0] == '\0')
		return (0);
	if (strncasecmp(c->url, "http://", 7) != 0 &&
	    strncasecmp(c->url, "https://", 8) != 0)
		return (-1);
	c->enabled = 1;
	return (0);
}

/* OTEL_EXPORTER_OTLP_HEADERS: comma separated key=value.  0, or -1. */
static int
otel_config_headers(struct otel_config *c, const char *v)
{
	const char	*p, *item;
	size_t		 n;

	for (p = v; p != NULL && *p != '\0';) {
		n = strcspn(p, ",");
		item = p;
		p += n;
		if (*p == ',')
			p++;
		while (n > 0 && (*item == ' ' || *item == '\t')) {
			item++;
			n--;
		}
		if (n == 0)
			continue;
		if (c->nheaders == OTEL_HEADERS_MAX ||
		    otel_header(item, n, c->headers[c->nheaders],
		    sizeof(c->headers[0])) == -1)
			return (-1);
		c->nheaders++;
	}
	return (0);
}

/* {"key": …, "value": {…}}: an integer, a string, or [string]. */
static void
otel_attr_json(struct obuf *b, const struct otel_attr *a)
{
	size_t	n;

	ob_str(b, "{\"key\":");
	ob_json(b, a->key, strlen(a->key));
	ob_str(b, ",\"value\":{");
	switch (a->type) {
	case OTEL_ATTR_INT:
		ob_str(b, "\"intValue\":\"");
		ob_i64(b, a->i);
		ob_str(b, "\"");
		break;
	case OTEL_ATTR_STR:
	case OTEL_ATTR_STRARR1:
		/* Never a split character, never invalid UTF-8. */
		n = utf8_clip(a->s, a->slen, OTEL_CONTENT_MAX);
		if (!utf8_valid(a->s, n))
			n = 0;
		if (a->type == OTEL_ATTR_STRARR1)
			ob_str(b, "\"arrayValue\":{\"values\":[{");
		ob_str(b, "\"stringValue\":");
		ob_json(b, a->s, n);
		if (a->type == OTEL_ATTR_STRARR1)
			ob_str(b, "}]}");
		break;
	}
	ob_str(b, "}}");
}
