/*
 * Every route goes through rq_dispatch: a context per request (request
 * id, client ip, timing), CORS preflight, method dispatch with 405 and
 * Allow, authentication and rate limits for protected methods
 * (auth_mw.c), then the handler.  The access log line and the metrics
 * are written when Kore frees the request.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "rq.h"
#include <kore/tasks.h>

#include "auth_mw.h"
#include "metrics.h"
#include "tracing.h"
#include "lib/feature.h"

#define RQ_ALLOW_MAX		96
#define RQ_CSP_API		"default-src 'none'; frame-ancestors 'none'"
#define RQ_ROUTES_MAX		256

static struct rq	*rq_new(struct http_request *, struct route *);
static void		 rq_free(struct http_request *);
static int		 rq_preflight(struct http_request *, struct rq *);
static int		 rq_method_not_allowed(struct http_request *,
			    struct rq *);
static void		 rq_allow(struct route *, char *, size_t);
static void		 rq_peer(struct http_request *, char *, size_t);
static void		 rq_id_next(char *);
static int		 rq_feature_off(struct http_request *, struct rq *);
static void		 rq_served_init(void);

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

	if (rq->phase == 2) {
		if (rq->m->flags & RQ_IPLIMIT) {
			r = auth_ip_limit(req, rq, rq->route->label);
			if (r == RQ_WAIT)
				return (KORE_RESULT_RETRY);
			if (r == RQ_DONE)
				return (KORE_RESULT_OK);
		}
		rq->phase = 3;
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
	json_decref(rq->qerr);
	rq->qerr = NULL;
	db_reset(&rq->q);
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

const char *
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

void
rq_init(void)
{
	if (RAND_bytes((unsigned char *)&rq_id_prefix,
	    sizeof(rq_id_prefix)) != 1)
		fatal("RAND_bytes failed");
	rq_log_init();
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
