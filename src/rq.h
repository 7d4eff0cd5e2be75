/*
 * Routes: ROUTE defines a Kore page handler whose requests go through
 * rq_dispatch (the context, CORS preflight, 405, authentication and rate
 * limits, then the method's handler); the access log line and the
 * metrics are written when Kore frees the request.  The context and the
 * answers are in rq_ctx.h.
 */
#ifndef ELENCHUS_RQ_H
#define ELENCHUS_RQ_H

#include "rq_ctx.h"

/*
 * Define a Kore page handler named fn for a route: label is the path
 * template used in metrics and the OpenAPI document, the rest are
 * struct route_method entries.  The route registers itself when the
 * module loads, so the features kore.conf really serves are known
 * (rq_features_served).
 */
#define ROUTE(fn, label, ...)						\
	static const struct route_method fn##_methods[] = {		\
		__VA_ARGS__, { 0, NULL, 0 }				\
	};								\
	static struct route fn##_route = { label, fn##_methods, -1, 0 };\
	static void fn##_register(void) __attribute__((constructor));	\
	static void							\
	fn##_register(void)						\
	{								\
		rq_route_register(&fn##_route, #fn);			\
	}								\
	int fn(struct http_request *);					\
	int								\
	fn(struct http_request *req)					\
	{								\
		return (rq_dispatch(req, &fn##_route));			\
	}

void	rq_init(void);
void	rq_route_register(struct route *, const char *);
unsigned int	rq_features_served(void);
void	rq_flush(void);
int	rq_dispatch(struct http_request *, struct route *);

/* rq_log.c: the access log. */
void	rq_log_init(void);
void	rq_log(struct http_request *, struct rq *);
const char *rq_method_name(int);

u_int64_t	rq_now_us(void);

#endif
