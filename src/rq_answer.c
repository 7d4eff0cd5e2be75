/*
 * Every answer: the envelope ({success, message, data, warnings} or the
 * error form with its code and request id), the common headers, the
 * ETag and 304, and Server-Sent Events.  Every answer leaves through
 * rq_send, which adds the common headers.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq_ctx.h"
#include "revoke.h"
#include "lib/etag.h"
#include "lib/jsonw.h"
#include "lib/sse.h"

#define RQ_JSTR_STACK		512	/* escaped strings this short: on the stack */
#define RQ_IOV			16	/* send buffers per writev */

static int	rq_envelope(struct http_request *, struct rq *, int, json_t *);
static int	rq_net_write(struct connection *, size_t, size_t *);

void
rq_warn(struct rq *rq, const char *w)
{
	if (rq->warnings == NULL)
		rq->warnings = json_array();
	(void)json_array_append_new(rq->warnings, json_string(w));
}

/*
 * s (len bytes, valid UTF-8) as a quoted JSON string onto buf.  Text
 * that needs no escaping (nearly all) is copied as it is.
 */
void
rq_buf_str(struct kore_buf *buf, const char *s, size_t len)
{
	char		 stack[RQ_JSTR_STACK], *tmp;
	size_t		 n;

	n = jsonw_escape_len(s, len);
	if (n == len + 2) {
		kore_buf_append(buf, "\"", 1);
		kore_buf_append(buf, s, len);
		kore_buf_append(buf, "\"", 1);
		return;
	}
	tmp = n <= sizeof(stack) ? stack : kore_malloc(n);
	(void)jsonw_escape(tmp, s, len);
	kore_buf_append(buf, tmp, n);
	if (tmp != stack)
		kore_free(tmp);
}

/* A NUL-terminated string as rq_buf_str; NULL is JSON null. */
void
rq_buf_strz(struct kore_buf *buf, const char *s)
{
	if (s == NULL)
		kore_buf_append(buf, "null", 4);
	else
		rq_buf_str(buf, s, strlen(s));
}

void
rq_headers(struct http_request *req, struct rq *rq)
{
	const char	*origin;
	char		num[32];

	if (req->owner->write == net_write)
		req->owner->write = rq_net_write;
	http_response_header(req, "x-request-id", rq->id);
	http_response_header(req, "x-content-type-options", "nosniff");
	http_response_header(req, "x-frame-options", "DENY");
	http_response_header(req, "referrer-policy", "no-referrer");
	http_response_header(req, "content-security-policy", rq->csp);
	/*
	 * An answer with an ETag may be kept by the client (not by a shared
	 * cache) and must be revalidated each time; anything else under
	 * /api/ or for a user is never stored.
	 */
	if (rq->cacheable)
		http_response_header(req, "cache-control",
		    "private, no-cache");
	else if (rq->authed || !strncmp(req->path, "/api/", 5))
		http_response_header(req, "cache-control", "no-store");

	origin = rq_header(req, "origin");
	if (origin != NULL && config_origin_allowed(&cfg, origin)) {
		http_response_header(req, "access-control-allow-origin",
		    origin);
		http_response_header(req, "access-control-allow-credentials",
		    "true");
		http_response_header(req, "access-control-expose-headers",
		    "X-Request-ID, X-RateLimit-Limit, X-RateLimit-Remaining, "
		    "X-RateLimit-Reset, Retry-After, Content-Disposition");
		http_response_header(req, "vary", "Origin");
	}

	if (rq->rl.set) {
		(void)snprintf(num, sizeof(num), "%ld", rq->rl.limit);
		http_response_header(req, "x-ratelimit-limit", num);
		(void)snprintf(num, sizeof(num), "%ld",
		    rq->rl.remaining < 0 ? 0 : rq->rl.remaining);
		http_response_header(req, "x-ratelimit-remaining", num);
		(void)snprintf(num, sizeof(num), "%ld", rq->rl.reset);
		http_response_header(req, "x-ratelimit-reset", num);
	}
}

/*
 * Every answer leaves here.  A successful GET (or HEAD) under /api/
 * carries a strong ETag computed from its bytes; when the client's
 * If-None-Match names it, the answer is 304 without a body.  The tag
 * changes exactly when the bytes do, so a change of the data is seen at
 * the next request, whoever made it and through whichever instance.
 */
int
rq_send(struct http_request *req, struct rq *rq, int status,
    const char *ctype, const void *body, size_t len)
{
	char		etag[ETAG_LEN + 1];

	etag[0] = '\0';
	if (status == 200 && body != NULL && (req->method == HTTP_METHOD_GET ||
	    req->method == HTTP_METHOD_HEAD) &&
	    !strncmp(req->path, "/api/", 5)) {
		etag_make(body, len, etag);
		rq->cacheable = 1;
	}
	rq_headers(req, rq);
	if (rq->cacheable) {
		http_response_header(req, "etag", etag);
		if (etag_match(rq_header(req, "if-none-match"), etag)) {
			req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
			http_response(req, 304, NULL, 0);
			return (KORE_RESULT_OK);
		}
	}
	if (ctype != NULL)
		http_response_header(req, "content-type", ctype);
	if (req->method == HTTP_METHOD_HEAD)
		len = 0;
	http_response(req, status, body, len);
	return (KORE_RESULT_OK);
}

/*
 * The connection's writer (c->write) in place of Kore's net_write, which
 * net_send calls for one send buffer at a time and at most 8 kB
 * (NETBUF_SEND_PAYLOAD_MAX): a list of 50 todos (16 kB) took two
 * send(2) calls, each one a trip through the TCP stack.  This sends what
 * is queued, from c->snb on, in one writev; *written is what went of
 * c->snb, the buffers after it are moved on here, and net_send removes
 * each once it reaches it (it calls this with nothing left to send).
 */
static int
rq_net_write(struct connection *c, size_t len, size_t *written)
{
	struct iovec	 iov[RQ_IOV];
	struct netbuf	*nb;
	ssize_t		 r;
	size_t		 n, left;
	int		 i;

	if (c->snb->flags & NETBUF_IS_FILEREF)
		return (net_write(c, len, written));
	i = 0;
	for (nb = c->snb; nb != NULL && i < RQ_IOV; nb = TAILQ_NEXT(nb, list)) {
		if (nb->flags & NETBUF_IS_FILEREF)
			break;
		iov[i].iov_base = nb->buf + nb->s_off;
		iov[i++].iov_len = nb->b_len - nb->s_off;
	}
	if (iov[0].iov_len == 0) {
		*written = 0;
		return (KORE_RESULT_OK);
	}
	if ((r = writev(c->fd, iov, i)) == -1) {
		if (errno == EINTR) {
			*written = 0;
			return (KORE_RESULT_OK);
		}
		if (errno != EAGAIN)
			return (KORE_RESULT_ERROR);
		c->evt.flags &= ~KORE_EVENT_WRITE;
		return (KORE_RESULT_OK);
	}
	left = (size_t)r;
	*written = MIN(left, iov[0].iov_len);
	left -= *written;
	for (nb = TAILQ_NEXT(c->snb, list); left > 0; nb = TAILQ_NEXT(nb, list)) {
		n = MIN(left, nb->b_len - nb->s_off);
		nb->s_off += n;
		left -= n;
	}
	return (KORE_RESULT_OK);
}

static int
rq_envelope(struct http_request *req, struct rq *rq, int status,
    json_t *env)
{
	char		*s;
	int		r;

	s = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if (s == NULL)
		fatal("json_dumps failed");
	r = rq_send(req, rq, status, "application/json; charset=utf-8", s,
	    strlen(s));
	free(s);
	return (r);
}

/* Only data is built as JSON; the envelope is written around it. */
int
rq_ok(struct http_request *req, struct rq *rq, int status,
    const char *message, json_t *data)
{
	char		*s;
	int		 r;

	if (data == NULL)
		return (rq_ok_raw(req, rq, status, message, "null", 4));
	s = json_dumps(data, JSON_COMPACT | JSON_ENCODE_ANY);
	json_decref(data);
	if (s == NULL)
		fatal("json_dumps failed");
	r = rq_ok_raw(req, rq, status, message, s, strlen(s));
	free(s);
	return (r);
}

/*
 * The envelope written directly (as json_dumps would write it, compact):
 * this is every successful answer, so no JSON objects are built for it.
 * rq_ok_begin starts it in buf (hint: the data's expected size), the
 * caller writes the data after it, rq_ok_end closes and sends it.
 */
void
rq_ok_begin(struct kore_buf *buf, const char *message, size_t hint)
{
	kore_buf_init(buf, hint + 128);
	RQ_LIT(buf, "{\"success\":true,\"message\":");
	rq_buf_strz(buf, message);
	RQ_LIT(buf, ",\"data\":");
}

int
rq_ok_end(struct http_request *req, struct rq *rq, int status,
    struct kore_buf *buf)
{
	json_t		*w;
	size_t		i;
	int		r;

	RQ_LIT(buf, ",\"warnings\":[");
	/* rq_warn puts only strings there. */
	json_array_foreach(rq->warnings, i, w) {
		if (i > 0)
			RQ_LIT(buf, ",");
		rq_buf_str(buf, json_string_value(w), json_string_length(w));
	}
	RQ_LIT(buf, "]}");
	r = rq_send(req, rq, status, "application/json; charset=utf-8",
	    buf->data, buf->offset);
	kore_buf_cleanup(buf);
	return (r);
}

int
rq_ok_raw(struct http_request *req, struct rq *rq, int status,
    const char *message, const char *data, size_t len)
{
	struct kore_buf	buf;

	rq_ok_begin(&buf, message, len);
	kore_buf_append(&buf, data, len);
	return (rq_ok_end(req, rq, status, &buf));
}

int
rq_error(struct http_request *req, struct rq *rq, int status,
    const char *code, const char *message, json_t *details)
{
	json_t		*env;

	if (status == 401)
		http_response_header(req, "www-authenticate", "Bearer");
	env = json_pack("{s:b, s:s, s:{s:s, s:o}, s:i, s:s}",
	    "success", 0, "message", message,
	    "error", "code", code, "details", details ? details : json_object(),
	    "status", status, "request_id", rq->id);
	return (rq_envelope(req, rq, status, env));
}

int
rq_invalid(struct http_request *req, struct rq *rq, struct verr *v)
{
	json_t		*d;

	d = json_pack("{s:o}", "fields", verr_take(v));
	return (rq_error(req, rq, 400, "validation_error",
	    "Request validation failed", d));
}

int
rq_db_error(struct http_request *req, struct rq *rq)
{
	if (db_unavailable(&rq->q)) {
		http_response_header(req, "retry-after", "5");
		return (rq_error(req, rq, 503, "db_unavailable",
		    "The database is unavailable", NULL));
	}
	return (rq_error(req, rq, 500, "internal_error",
	    "Internal server error", NULL));
}

/*
 * The usual end of a handler: wait for rq->q, then answer its one JSON
 * value (row 0, column 0) with status, 404 when there is no row, 503 or
 * 500 when the query failed.
 */
int
rq_answer(struct http_request *req, struct rq *rq, int status,
    const char *message)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL)
		return (rq_db_error(req, rq));
	if (db_rows(&rq->q) == 0)
		return (rq_not_found(req, rq));
	return (rq_ok_raw(req, rq, status, message, db_val(&rq->q, 0, 0),
	    (size_t)db_len(&rq->q, 0, 0)));
}

/*
 * A step's wait for rq->q: 1 once the result is there; else 0, and *ret
 * is what the handler returns (KORE_RESULT_RETRY while it waits,
 * KORE_RESULT_OK once a failure is answered, 503 or 500).
 */
int
rq_polled(struct http_request *req, struct rq *rq, int *ret)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT) {
		*ret = KORE_RESULT_RETRY;
		return (0);
	}
	if (r == DB_FAIL) {
		*ret = rq_db_error(req, rq);
		return (0);
	}
	return (1);
}

/* rq_polled, and a result of one row; else answered 503 or 500. */
int
rq_polled_row(struct http_request *req, struct rq *rq, int *ret)
{
	if (!rq_polled(req, rq, ret))
		return (0);
	if (db_rows(&rq->q) != 1) {
		*ret = rq_db_error(req, rq);
		return (0);
	}
	return (1);
}

/*
 * rq_answer for a statement that revokes sessions: its second column
 * lists them (uuid[] text), and they are recorded first, so no worker of
 * this instance accepts them once the answer is out.
 */
int
rq_answer_revoked(struct http_request *req, struct rq *rq, const char *msg)
{
	if (db_poll(req, &rq->q) == DB_OK && db_rows(&rq->q) > 0 &&
	    PQnfields(rq->q.res) > 1)
		revoke_add_list(db_val(&rq->q, 0, 1));
	return (rq_answer(req, rq, 200, msg));
}

int
rq_not_found(struct http_request *req, struct rq *rq)
{
	return (rq_error(req, rq, 404, "not_found", "Resource not found",
	    NULL));
}

/*
 * A chunked response written straight onto Kore's connection (server-
 * sent events, the data export): rq_stream_open sends the headers set so
 * far and 200, rq_stream_close hands the connection back.  Until then it
 * is busy: http_response would otherwise start reading the next request
 * and arm its header timeout, which cuts a stream longer than
 * http_header_timeout with a 408 (Kore's own streaming does the same).
 */
void
rq_stream_open(struct http_request *req)
{
	http_response_header(req, "x-accel-buffering", "no");
	http_response_header(req, "transfer-encoding", "chunked");
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	if (req->method != HTTP_METHOD_HEAD)
		req->owner->flags |= CONN_IS_BUSY;
	http_response(req, 200, NULL, 0);
}

void
rq_stream_close(struct connection *c)
{
	if (c->flags & CONN_IS_BUSY) {
		c->flags &= ~CONN_IS_BUSY;
		http_start_recv(c);
	}
}

/*
 * Server-Sent Events (chat streaming, workflow progress): rq_sse_open
 * sends the headers, rq_sse_event one event as one chunk, and
 * rq_sse_raw(req, NULL, 0) the last chunk.
 */
void
rq_sse_open(struct http_request *req, struct rq *rq)
{
	rq_headers(req, rq);
	http_response_header(req, "content-type",
	    "text/event-stream; charset=utf-8");
	http_response_header(req, "cache-control", "no-cache");
	rq_stream_open(req);
	/* The response is now ours to write, chunk by chunk. */
	net_send_flush(req->owner);
}

/* One event as one chunk; a send failure drops the connection. */
void
rq_sse_event(struct http_request *req, const char *event, json_t *data)
{
	char		*s, *f;
	size_t		 n;

	if ((s = json_dumps(data, JSON_COMPACT)) == NULL)
		return;
	f = sse_format(event, s, &n);
	free(s);
	if (f == NULL)
		return;
	rq_sse_raw(req, f, n);
	free(f);
}

void
rq_sse_raw(struct http_request *req, const void *data, size_t len)
{
	struct connection	*c = req->owner;
	char			 hdr[RQ_CHUNK_HDR];
	int			 n;

	if (c == NULL || c->state != CONN_STATE_ESTABLISHED)
		return;
	/* len 0 is the last chunk of a chunked body. */
	if (len == 0)
		rq_stream_close(c);
	n = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
	net_send_queue(c, hdr, (size_t)n);
	if (len > 0)
		net_send_queue(c, data, len);
	net_send_queue(c, "\r\n", 2);
	if (net_send_flush(c) != KORE_RESULT_OK)
		kore_connection_disconnect(c);
}
