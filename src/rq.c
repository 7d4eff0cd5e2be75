/*
 * Every route goes through rq_dispatch: a context per request (request
 * id, client ip, timing), CORS preflight, method dispatch with 405 and
 * Allow, authentication and rate limits for protected methods, then the
 * handler.  Every answer leaves through rq_send, which adds the common
 * headers; the access log line and the metrics are written when Kore
 * frees the request.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "rq.h"
#include <kore/tasks.h>

#include "auth_mw.h"
#include "metrics.h"
#include "revoke.h"
#include "tracing.h"
#include "lib/etag.h"
#include "lib/feature.h"
#include "lib/jsonw.h"
#include "lib/sse.h"
#include "lib/utf8.h"

#define RQ_ALLOW_MAX		96
#define RQ_QS_MAX		32
#define RQ_CSP_API		"default-src 'none'; frame-ancestors 'none'"
#define RQ_LOG_FLUSH		(32 * 1024)
#define RQ_LOG_MS		50
#define RQ_JSTR_STACK		512	/* escaped strings this short: on the stack */
#define RQ_REAL_PRECISION	6	/* duration_ms: JSON_REAL_PRECISION(6) */
#define RQ_REAL_MAX		40
#define RQ_ROUTES_MAX		256

#define RQ_LIT(b, lit)		kore_buf_append((b), (lit), sizeof(lit) - 1)

static struct rq	*rq_new(struct http_request *, struct route *);
static void		 rq_free(struct http_request *);
static int		 rq_preflight(struct http_request *, struct rq *);
static int		 rq_method_not_allowed(struct http_request *,
			    struct rq *);
static void		 rq_allow(struct route *, char *, size_t);
static void		 rq_peer(struct http_request *, char *, size_t);
static void		 rq_log(struct http_request *, struct rq *);
static const char	*rq_method_name(int);
static void		 rq_log_flush(void *, u_int64_t);
static size_t		 rq_real(char *, size_t, double);
static void		 rq_id_next(char *);
static int		 rq_feature_off(struct http_request *, struct rq *);
static void		 rq_served_init(void);

static struct kore_buf	 rq_logbuf;
static u_int64_t	 rq_id_prefix;	/* random, per worker */
static u_int64_t	 rq_id_seq;

/* Every ROUTE of the module, registered as it loads. */
static struct {
	struct route	*route;
	const char	*page;
}			 rq_routes[RQ_ROUTES_MAX];
static int		 rq_nroutes;
static unsigned int	 rq_served;

u_int64_t
rq_now_us(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((u_int64_t)ts.tv_sec * 1000000 + (u_int64_t)ts.tv_nsec / 1000);
}

int
rq_dispatch(struct http_request *req, struct route *route)
{
	struct rq			*rq;
	const struct route_method	*m;
	int				method, r;

	if ((rq = req->hdlr_extra) == NULL) {
		rq = rq_new(req, route);
		if (route->features & ~cfg.features)
			return (rq_feature_off(req, rq));
		if (req->method == HTTP_METHOD_OPTIONS)
			return (rq_preflight(req, rq));

		method = req->method == HTTP_METHOD_HEAD ?
		    HTTP_METHOD_GET : req->method;
		for (m = route->methods; m->fn != NULL; m++) {
			if (m->method == method)
				break;
		}
		if (m->fn == NULL)
			return (rq_method_not_allowed(req, rq));
		rq->m = m;
		rq->phase = 1;
	}

	if (rq->phase == 1) {
		if ((rq->m->flags & 0x0f) != RQ_PUBLIC) {
			r = auth_require(req, rq);
			if (r == RQ_WAIT)
				return (KORE_RESULT_RETRY);
			if (r == RQ_DONE)
				return (KORE_RESULT_OK);
		}
		rq->phase = 2;
		rq->step = 0;
	}

	return (rq->m->fn(req, rq));
}

/* Called by each ROUTE's constructor when the module loads. */
void
rq_route_register(struct route *route, const char *page)
{
	if (rq_nroutes >= RQ_ROUTES_MAX)
		fatal("more than %d routes", RQ_ROUTES_MAX);
	route->features = feature_route_mask(route->label);
	rq_routes[rq_nroutes].route = route;
	rq_routes[rq_nroutes].page = page;
	rq_nroutes++;
}

/*
 * The features that have at least one route in Kore's route table (from
 * kore.conf): a feature whose routes are not configured is not served,
 * whatever its toggle says.
 */
unsigned int
rq_features_served(void)
{
	return (rq_served);
}

static void
rq_served_init(void)
{
	struct kore_server		*srv;
	struct kore_domain		*dom;
	struct kore_module_handle	*h;
	int				 i;

	rq_served = 0;
	LIST_FOREACH(srv, &kore_servers, list) {
		TAILQ_FOREACH(dom, &srv->domains, list) {
			TAILQ_FOREACH(h, &dom->handlers, list) {
				for (i = 0; i < rq_nroutes; i++) {
					if (!strcmp(h->func, rq_routes[i].page))
						rq_served |=
						    rq_routes[i].route->features;
				}
			}
		}
	}
}

/* A route of a feature switched off answers as if it were not there. */
static int
rq_feature_off(struct http_request *req, struct rq *rq)
{
	unsigned int	off;
	int		f;

	off = rq->route->features & ~cfg.features;
	for (f = 0; f < FEATURE_COUNT; f++) {
		if (off & FEATURE_BIT(f))
			break;
	}
	return (rq_error(req, rq, 404, "feature_disabled",
	    "This feature is disabled on this server",
	    json_pack("{s:s}", "feature", feature_name(f))));
}

static struct rq *
rq_new(struct http_request *req, struct route *route)
{
	struct rq	*rq;
	const char	*h, *p;
	char		peer[NETADDR_STRLEN + 1];
	size_t		n;

	rq = http_state_create(req, sizeof(*rq), rq_free);
	rq->start_us = rq_now_us();
	rq->route = route;
	rq->csp = RQ_CSP_API;
	kore_pgsql_init(&rq->q.sql);
	metrics_request_begin();
	if (route->metric_id < 0)
		route->metric_id = metrics_route_id(route->label);

	h = rq_header(req, "x-request-id");
	n = h ? strlen(h) : 0;
	if (n > 0 && n <= RQ_ID_MAX) {
		for (p = h; *p != '\0'; p++) {
			if (!isalnum((unsigned char)*p) && *p != '-' &&
			    *p != '_' && *p != '.')
				break;
		}
		if (*p == '\0')
			(void)kore_strlcpy(rq->id, h, sizeof(rq->id));
	}
	if (rq->id[0] == '\0')
		rq_id_next(rq->id);

	rq_peer(req, peer, sizeof(peer));
	netaddr_client_ip(&cfg, peer, rq_header(req, "x-forwarded-for"),
	    rq->ip, sizeof(rq->ip));
	rq->proto = "http";
	h = rq_header(req, "x-forwarded-proto");
	if (h != NULL && !strcmp(h, "https") && netaddr_trusted(&cfg, peer))
		rq->proto = "https";
	tracing_request_begin(req, rq);
	return (rq);
}

/*
 * Kore calls this when it frees the request, and again later when tasks
 * were still running: log once, and free the handler's state only when
 * no task can still be writing into it.
 */
static void
rq_free(struct http_request *req)
{
	struct kore_task	*t;
	struct rq		*rq;

	if ((rq = req->hdlr_extra) == NULL)
		return;
	db_unqueue(&rq->q);
	if (!rq->logged) {
		rq->logged = 1;
		rq_log(req, rq);
		metrics_request_end(rq->route->metric_id, req->status,
		    rq_now_us() - rq->start_us);
		tracing_request_end(req, rq);
	}
	LIST_FOREACH(t, &req->tasks, rlist) {
		if (!kore_task_finished(t))
			return;
	}

	if (rq->st != NULL) {
		if (rq->st_free != NULL)
			rq->st_free(rq->st);
		kore_free(rq->st);
		rq->st = NULL;
	}
	json_decref(rq->warnings);
	rq->warnings = NULL;
	json_decref(rq->body);
	rq->body = NULL;
	db_reset(&rq->q);
}

void *
rq_state(struct rq *rq, size_t len, void (*onfree)(void *))
{
	if (rq->st == NULL) {
		rq->st = kore_calloc(1, len);
		rq->st_free = onfree;
	}
	return (rq->st);
}

const char *
rq_header(struct http_request *req, const char *name)
{
	const char	*v;

	if (!http_request_header(req, name, &v))
		return (NULL);
	return (v);
}

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

int
rq_ok(struct http_request *req, struct rq *rq, int status,
    const char *message, json_t *data)
{
	json_t		*env, *w;

	w = rq->warnings ? json_incref(rq->warnings) : json_array();
	env = json_pack("{s:b, s:s, s:o, s:o}", "success", 1,
	    "message", message, "data", data ? data : json_null(),
	    "warnings", w);
	return (rq_envelope(req, rq, status, env));
}

/*
 * The envelope written directly (as json_dumps would write it, compact):
 * this is every successful answer, so no JSON objects are built for it.
 */
int
rq_ok_raw(struct http_request *req, struct rq *rq, int status,
    const char *message, const char *data, size_t len)
{
	struct kore_buf	buf;
	json_t		*w;
	size_t		i;
	int		r;

	kore_buf_init(&buf, len + 128);
	RQ_LIT(&buf, "{\"success\":true,\"message\":");
	rq_buf_strz(&buf, message);
	RQ_LIT(&buf, ",\"data\":");
	kore_buf_append(&buf, data, len);
	RQ_LIT(&buf, ",\"warnings\":[");
	/* rq_warn puts only strings there. */
	json_array_foreach(rq->warnings, i, w) {
		if (i > 0)
			RQ_LIT(&buf, ",");
		rq_buf_str(&buf, json_string_value(w), json_string_length(w));
	}
	RQ_LIT(&buf, "]}");

	r = rq_send(req, rq, status, "application/json; charset=utf-8",
	    buf.data, buf.offset);
	kore_buf_cleanup(&buf);
	return (r);
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
 * The body as a JSON object.  On failure the 4xx has been sent and the
 * handler returns KORE_RESULT_OK.  The object belongs to rq.
 */
int
rq_json(struct http_request *req, struct rq *rq, json_t **out)
{
	char		*buf;
	ssize_t		r;
	size_t		len, off;
	int		err;

	*out = NULL;
	if (rq->body != NULL) {
		*out = rq->body;
		return (KORE_RESULT_OK);
	}
	len = req->http_body_length;
	if (len > cfg.json_body_max) {
		(void)rq_error(req, rq, 413, "payload_too_large",
		    "Request body is too large", NULL);
		return (KORE_RESULT_ERROR);
	}

	buf = kore_malloc(len + 1);
	off = 0;
	while (off < len) {
		r = http_body_read(req, buf + off, len - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	err = jsonx_parse_object(buf, off, &rq->body);
	explicit_bzero(buf, off);	/* it may hold a password */
	kore_free(buf);
	if (err != JSONX_OK) {
		(void)rq_error(req, rq, 400, err == JSONX_INVALID ||
		    err == JSONX_EMPTY ? "invalid_json" : "validation_error",
		    jsonx_err_message(err), NULL);
		return (KORE_RESULT_ERROR);
	}
	*out = rq->body;
	return (KORE_RESULT_OK);
}

/* The n-th '/'-separated segment of the path (0 is "api"), checked. */
int
rq_path_id(struct http_request *req, int n, char *out, size_t len)
{
	const char	*p, *e;
	size_t		l;
	int		i;

	p = req->path;
	for (i = 0; i <= n; i++) {
		if (*p != '/')
			return (0);
		p++;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (i == n) {
			l = (size_t)(e - p);
			if (l == 0 || l >= len)
				return (0);
			memcpy(out, p, l);
			out[l] = '\0';
			for (i = 0; out[i] != '\0'; i++) {
				if (!isalnum((unsigned char)out[i]) &&
				    out[i] != '-' && out[i] != '_')
					return (0);
			}
			return (1);
		}
		p = e;
	}
	return (0);
}

/*
 * A query-string parameter, percent-decoded into a buffer owned by the
 * request's Kore arguments (Kore frees it).  NULL when absent.
 */
const char *
rq_query(struct http_request *req, const char *name)
{
	struct rq	*rq = req->hdlr_extra;
	struct http_arg	*arg;
	char		*qs, *pair, *val, *save, *c, *copy;

	if (req->query_string == NULL)
		return (NULL);
	if (!rq->qs_parsed) {
		rq->qs_parsed = 1;
		copy = kore_strdup(req->query_string);
		qs = copy;
		while ((pair = strtok_r(qs, "&", &save)) != NULL) {
			qs = NULL;
			if ((val = strchr(pair, '=')) != NULL)
				*val++ = '\0';
			else
				val = pair + strlen(pair);
			if (*pair == '\0')
				continue;
			for (c = val; *c != '\0'; c++) {
				if (*c == '+')
					*c = ' ';
			}
			if (http_argument_urldecode(val) != KORE_RESULT_OK)
				continue;
			arg = kore_calloc(1, sizeof(*arg));
			arg->name = kore_strdup(pair);
			arg->s_value = kore_strdup(val);
			TAILQ_INSERT_TAIL(&req->arguments, arg, list);
		}
		kore_free(copy);
	}
	TAILQ_FOREACH(arg, &req->arguments, list) {
		if (!strcmp(arg->name, name))
			return (arg->s_value);
	}
	return (NULL);
}

/* ?limit= (1-100, default 50), ?offset= or ?skip= (>= 0). */
int
rq_paging(struct http_request *req, struct rq *rq, struct verr *v,
    int *limit, int *offset)
{
	const char	*s;
	long long	n;
	char		*ep;

	(void)rq;
	*limit = 50;
	*offset = 0;
	if ((s = rq_query(req, "limit")) != NULL) {
		n = strtoll(s, &ep, 10);
		if (*s == '\0' || *ep != '\0' || n < 1 || n > 100)
			verr_add(v, "limit", "out_of_range",
			    "limit must be an integer from 1 to 100");
		else
			*limit = (int)n;
	}
	if ((s = rq_query(req, "offset")) == NULL)
		s = rq_query(req, "skip");
	if (s != NULL) {
		n = strtoll(s, &ep, 10);
		if (*s == '\0' || *ep != '\0' || n < 0 || n > 1000000000)
			verr_add(v, "offset", "out_of_range",
			    "offset must be a non-negative integer");
		else
			*offset = (int)n;
	}
	return (verr_count(v) == 0);
}

/*
 * rq_paging as the two text parameters a list query takes; on a bad
 * value the 400 has been sent and it returns 0.
 */
int
rq_page_text(struct http_request *req, struct rq *rq, char lim[RQ_NUM],
    char off[RQ_NUM])
{
	struct verr	v;

	verr_init(&v);
	if (!rq_paging_text(req, rq, &v, lim, off)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/* rq_paging, the values written as text for query parameters. */
int
rq_paging_text(struct http_request *req, struct rq *rq, struct verr *v,
    char lim[RQ_NUM], char off[RQ_NUM])
{
	int		limit, offset, ok;

	ok = rq_paging(req, rq, v, &limit, &offset);
	(void)snprintf(lim, RQ_NUM, "%d", limit);
	(void)snprintf(off, RQ_NUM, "%d", offset);
	return (ok);
}

static int
rq_preflight(struct http_request *req, struct rq *rq)
{
	const char	*origin;
	char		allow[RQ_ALLOW_MAX];

	rq_allow(rq->route, allow, sizeof(allow));
	origin = rq_header(req, "origin");
	if (origin != NULL && config_origin_allowed(&cfg, origin)) {
		http_response_header(req, "access-control-allow-methods",
		    allow);
		http_response_header(req, "access-control-allow-headers",
		    "Authorization, Content-Type, X-Request-ID, Accept");
		http_response_header(req, "access-control-max-age", "600");
	}
	http_response_header(req, "allow", allow);
	return (rq_send(req, rq, 204, NULL, NULL, 0));
}

static int
rq_method_not_allowed(struct http_request *req, struct rq *rq)
{
	char		allow[RQ_ALLOW_MAX];

	rq_allow(rq->route, allow, sizeof(allow));
	http_response_header(req, "allow", allow);
	return (rq_error(req, rq, 405, "method_not_allowed",
	    "Method not allowed", NULL));
}

static void
rq_allow(struct route *route, char *out, size_t len)
{
	const struct route_method	*m;
	size_t				off;
	int				n;

	off = 0;
	out[0] = '\0';
	for (m = route->methods; m->fn != NULL && off < len; m++) {
		n = snprintf(out + off, len - off, "%s%s%s",
		    off ? ", " : "", rq_method_name(m->method),
		    m->method == HTTP_METHOD_GET ? ", HEAD" : "");
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off > 0 && off < len)
		(void)snprintf(out + off, len - off, ", OPTIONS");
}

static const char *
rq_method_name(int m)
{
	switch (m) {
	case HTTP_METHOD_GET:
		return ("GET");
	case HTTP_METHOD_POST:
		return ("POST");
	case HTTP_METHOD_PUT:
		return ("PUT");
	case HTTP_METHOD_PATCH:
		return ("PATCH");
	case HTTP_METHOD_DELETE:
		return ("DELETE");
	case HTTP_METHOD_HEAD:
		return ("HEAD");
	case HTTP_METHOD_OPTIONS:
		return ("OPTIONS");
	}
	return ("UNKNOWN");
}

static void
rq_peer(struct http_request *req, char *out, size_t len)
{
	struct connection	*c = req->owner;

	out[0] = '\0';
	if (c == NULL)
		return;
	switch (c->family) {
	case AF_INET:
		(void)inet_ntop(AF_INET, &c->addr.ipv4.sin_addr, out,
		    (socklen_t)len);
		break;
	case AF_INET6:
		(void)inet_ntop(AF_INET6, &c->addr.ipv6.sin6_addr, out,
		    (socklen_t)len);
		break;
	default:
		(void)kore_strlcpy(out, "unix", len);
		break;
	}
}

/*
 * One JSON line per request, written straight into the log buffer with
 * the keys, order and number format json_dumps gave it (user_id only
 * when authenticated).  A path that is not UTF-8 gets no line, as
 * before (jansson refused it).
 */
static void
rq_log(struct http_request *req, struct rq *rq)
{
	const char	*path;
	char		ts[32], num[RQ_REAL_MAX];
	struct timespec	now;
	struct tm	tm;
	size_t		n, plen;

	(void)clock_gettime(CLOCK_REALTIME, &now);
	(void)gmtime_r(&now.tv_sec, &tm);
	n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	(void)snprintf(ts + n, sizeof(ts) - n, ".%03ldZ",
	    now.tv_nsec / 1000000);

	path = req->path ? req->path : "";
	plen = strlen(path);
	if (!utf8_valid(path, plen))
		return;

	RQ_LIT(&rq_logbuf, "{\"time\":");
	rq_buf_strz(&rq_logbuf, ts);
	RQ_LIT(&rq_logbuf, ",\"request_id\":");
	rq_buf_strz(&rq_logbuf, rq->id);
	RQ_LIT(&rq_logbuf, ",\"trace_id\":");
	rq_buf_strz(&rq_logbuf, rq->trace.id);
	RQ_LIT(&rq_logbuf, ",\"method\":");
	rq_buf_strz(&rq_logbuf, rq_method_name(req->method));
	RQ_LIT(&rq_logbuf, ",\"path\":");
	rq_buf_str(&rq_logbuf, path, plen);
	n = (size_t)snprintf(num, sizeof(num), "%d", req->status);
	RQ_LIT(&rq_logbuf, ",\"status\":");
	kore_buf_append(&rq_logbuf, num, n);
	n = rq_real(num, sizeof(num),
	    (double)(rq_now_us() - rq->start_us) / 1000.0);
	RQ_LIT(&rq_logbuf, ",\"duration_ms\":");
	kore_buf_append(&rq_logbuf, num, n);
	RQ_LIT(&rq_logbuf, ",\"ip\":");
	rq_buf_strz(&rq_logbuf, rq->ip);
	RQ_LIT(&rq_logbuf, ",\"proto\":");
	rq_buf_strz(&rq_logbuf, rq->proto);
	if (rq->authed) {
		RQ_LIT(&rq_logbuf, ",\"user_id\":");
		rq_buf_strz(&rq_logbuf, rq->user.id);
	}
	RQ_LIT(&rq_logbuf, "}\n");
	if (rq_logbuf.offset >= RQ_LOG_FLUSH)
		rq_log_flush(NULL, 0);
}

/*
 * v as jansson writes a real with JSON_REAL_PRECISION(6): "%.6g", ".0"
 * added when that looks like an integer, the exponent without '+' and
 * leading zeros.  Returns the length written into out (len bytes).
 */
static size_t
rq_real(char *out, size_t len, double v)
{
	char		*e, *d;
	size_t		n;

	n = (size_t)snprintf(out, len, "%.*g", RQ_REAL_PRECISION, v);
	if (n >= len - 2)
		n = len - 3;
	out[n] = '\0';
	if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL) {
		out[n++] = '.';
		out[n++] = '0';
		out[n] = '\0';
	}
	if ((e = strchr(out, 'e')) != NULL) {
		e++;
		d = e + 1;
		if (*e == '-')
			e++;
		while (*d == '0')
			d++;
		if (d != e) {
			memmove(e, d, n - (size_t)(d - out) + 1);
			n -= (size_t)(d - e);
		}
	}
	return (n);
}

/*
 * Access-log lines are written in batches (at RQ_LOG_FLUSH bytes or every
 * RQ_LOG_MS): one write(2) per request is a syscall too many at tens of
 * thousands of requests a second.
 */
void
rq_init(void)
{
	if (RAND_bytes((unsigned char *)&rq_id_prefix,
	    sizeof(rq_id_prefix)) != 1)
		fatal("RAND_bytes failed");
	kore_buf_init(&rq_logbuf, RQ_LOG_FLUSH + 4096);
	(void)kore_timer_add(rq_log_flush, RQ_LOG_MS, NULL, 0);
	rq_served_init();
}

/*
 * A request id: this worker's random prefix, then a sequence number, in
 * hex (RQ_ID_LEN characters).  Unique without a RAND_bytes per request
 * (OpenSSL's DRBG checks for a fork with getpid(2) on every call).
 */
_Static_assert(RQ_ID_LEN == 32, "rq_id_next writes two 64-bit values");

static void
rq_id_next(char *id)
{
	static const char hex[] = "0123456789abcdef";
	u_int64_t	v[2];
	int		i, j;

	v[0] = rq_id_prefix;
	v[1] = ++rq_id_seq;
	for (i = 0; i < 2; i++) {
		for (j = 0; j < 16; j++)
			id[i * 16 + j] = hex[(v[i] >> (60 - j * 4)) & 0x0f];
	}
	id[RQ_ID_LEN] = '\0';
}

void
rq_flush(void)
{
	rq_log_flush(NULL, 0);
}

static void
rq_log_flush(void *arg, u_int64_t now)
{
	ssize_t		r;
	size_t		off;

	(void)arg;
	(void)now;
	for (off = 0; off < rq_logbuf.offset; off += (size_t)r) {
		r = write(STDOUT_FILENO, rq_logbuf.data + off,
		    rq_logbuf.offset - off);
		if (r <= 0)
			break;
	}
	kore_buf_reset(&rq_logbuf);
}

/*
 * Server-Sent Events over a chunked response written straight onto
 * Kore's connection (chat streaming, workflow progress): rq_sse_open
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
	http_response_header(req, "x-accel-buffering", "no");
	http_response_header(req, "transfer-encoding", "chunked");
	req->flags |= HTTP_REQUEST_NO_CONTENT_LENGTH;
	http_response(req, 200, NULL, 0);
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
	n = snprintf(hdr, sizeof(hdr), "%zx\r\n", len);
	net_send_queue(c, hdr, (size_t)n);
	if (len > 0)
		net_send_queue(c, data, len);
	net_send_queue(c, "\r\n", 2);
	if (net_send_flush(c) != KORE_RESULT_OK)
		kore_connection_disconnect(c);
}
