/*
 * Authentication of protected methods: the Bearer token, the session's
 * revocation state and the per-user rate limit; and the per-IP limit of
 * the public auth endpoints.
 */
#ifndef ELENCHUS_AUTH_MW_H
#define ELENCHUS_AUTH_MW_H

#include "rq_ctx.h"
#include "lib/jwt.h"

/* Longest endpoint name in an IP rate-limit key. */
#define AUTH_ENDPOINT_MAX	32

/*
 * RQ_CONT: rq->user is set; RQ_WAIT: retry later; RQ_DONE: answered.
 * Runs in the dispatcher's phase 1 (it uses rq->step and rq->q).
 */
int	auth_require(struct http_request *, struct rq *);

/*
 * The per client IP and endpoint limit (AUTH_RATE_LIMIT_PER_MINUTE) of
 * the auth endpoints, shared by every worker and instance (table
 * rate_limits, key "ip:<ip>:<endpoint>", fixed one-minute windows).
 * rq_dispatch calls it for a method flagged RQ_IPLIMIT, the route label
 * as endpoint, after auth_require: RQ_WAIT: retry later; RQ_DONE: it
 * has answered (429 rate_limited with Retry-After, or 503/500);
 * RQ_CONT: go on (the X-RateLimit-* headers are set).  It uses rq->q.
 */
int	auth_ip_limit(struct http_request *, struct rq *, const char *);

/*
 * Access tokens under the configured key set (JWT_KEYS / JWT_SECRET):
 * auth_token_sign sets c->kid to the signing key's id and signs (the
 * token in *out, free() it; 0 or -1); auth_token_verify checks tok
 * against the key its kid names, as jwt_verify_keys.
 */
int		auth_token_sign(struct jwt_claims *, char **);
enum jwt_result	auth_token_verify(const char *, struct jwt_claims *);

#endif
