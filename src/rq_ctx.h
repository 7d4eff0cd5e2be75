/*
 * The request context every route shares (struct rq), the envelope and
 * every answer, and the request's input: body, path, query string.  The
 * dispatcher (rq.h) sits above authentication (auth_mw.h), which sits
 * above this.
 */
#ifndef ELENCHUS_RQ_CTX_H
#define ELENCHUS_RQ_CTX_H

#include <kore/kore.h>
#include <kore/http.h>
#include <jansson.h>

#include "cfg.h"
#include "db.h"
#include "ratelimit.h"
#include "lib/jsonx.h"
#include "lib/netaddr.h"
#include "lib/otel.h"

#define RQ_ID_MAX		64
#define RQ_ID_LEN		32
#define RQ_NUM			16	/* a decimal int with sign and NUL */

/* Who may call a method. */
#define RQ_PUBLIC		0
#define RQ_USER			1
#define RQ_ADMIN		2
#define RQ_NOLIMIT		0x10	/* authenticated, but not rate limited */
#define RQ_RAWBODY		0x20	/* body is not JSON (uploads, forms) */
/* Open to an account whose email is unverified (EMAIL_VERIFICATION=required). */
#define RQ_UNVERIFIED		0x40
/*
 * Counted against AUTH_RATE_LIMIT_PER_MINUTE per client IP and route
 * (auth_ip_limit) before the handler runs, after authentication.
 */
#define RQ_IPLIMIT		0x80

/* What the dispatcher's pre-handler steps answer. */
#define RQ_CONT			0
#define RQ_WAIT			1
#define RQ_DONE			2

struct rq;

struct route_method {
	int		method;
	int		(*fn)(struct http_request *, struct rq *);
	int		flags;
};

struct route {
	const char			*label;
	const struct route_method	*methods;
	int				metric_id;
	unsigned int			features;	/* lib/feature.h */
};

struct rq_user {
	char		id[40];
	char		sid[40];
	char		role[32];
	int		admin;
};

/* The request's place in a trace (src/otel.c). */
struct rq_trace {
	struct otel_ctx		ctx;		/* trace id, request span id */
	u_int8_t		parent[OTEL_SPAN_LEN];	/* the caller's */
	u_int64_t		start_ns;
	int			export;		/* a child span refers to it */
	char			id[OTEL_TRACE_LEN * 2 + 1];	/* for logs */
};

struct rq {
	char				id[RQ_ID_MAX + 1];
	u_int64_t			start_us;
	char				ip[NETADDR_STRLEN + 1];
	const char			*proto;
	struct rq_trace			trace;
	struct route			*route;
	const struct route_method	*m;
	int				phase;
	int				logged;
	int				qs_parsed;	/* query.c */
	json_t				*qerr;		/* fields refused (query.c) */
	int				authed;
	struct rq_user			user;

	struct rl_verdict		rl;	/* X-RateLimit-* headers */

	const char			*csp;
	int				cacheable;	/* has an ETag */
	json_t				*warnings;
	json_t				*body;

	int				step;
	void				*st;
	void				(*st_free)(void *);
	struct dbq			q;
};

/* A string literal onto a kore_buf. */
#define RQ_LIT(b, lit)		kore_buf_append((b), (lit), sizeof(lit) - 1)

/* Answers.  Each returns KORE_RESULT_OK for the handler to return. */
int	rq_ok(struct http_request *, struct rq *, int, const char *,
	    json_t *);
int	rq_ok_raw(struct http_request *, struct rq *, int, const char *,
	    const char *, size_t);
/* The same, the data written by the caller into buf between the two. */
void	rq_ok_begin(struct kore_buf *, const char *, size_t);
int	rq_ok_end(struct http_request *, struct rq *, int, struct kore_buf *);
int	rq_error(struct http_request *, struct rq *, int, const char *,
	    const char *, json_t *);
int	rq_invalid(struct http_request *, struct rq *, struct verr *);
int	rq_db_error(struct http_request *, struct rq *);
int	rq_answer(struct http_request *, struct rq *, int, const char *);
int	rq_polled(struct http_request *, struct rq *, int *);
int	rq_polled_row(struct http_request *, struct rq *, int *);
int	rq_answer_revoked(struct http_request *, struct rq *, const char *);
int	rq_not_found(struct http_request *, struct rq *);
int	rq_send(struct http_request *, struct rq *, int, const char *,
	    const void *, size_t);
void	rq_headers(struct http_request *, struct rq *);
void	rq_warn(struct rq *, const char *);

/* Server-Sent Events onto the connection (see rq.c). */
#define RQ_CHUNK_HDR		24
void	rq_stream_open(struct http_request *);
void	rq_stream_close(struct connection *);
void	rq_sse_open(struct http_request *, struct rq *);
void	rq_sse_event(struct http_request *, const char *, json_t *);
void	rq_sse_raw(struct http_request *, const void *, size_t);

/* JSON built by hand onto a kore_buf (see lib/jsonw.h). */
void	rq_buf_str(struct kore_buf *, const char *, size_t);
void	rq_buf_strz(struct kore_buf *, const char *);

/* Request helpers. */
int	rq_json(struct http_request *, struct rq *, json_t **);
char	*rq_body(struct http_request *, struct rq *, size_t, size_t *);
void	*rq_state(struct rq *, size_t, void (*)(void *));
const char *rq_header(struct http_request *, const char *);
int	rq_path_id(struct http_request *, int, char *, size_t);
int	rq_owned(struct http_request *, struct rq *, int, const char *);

#endif
