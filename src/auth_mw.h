/*
 * Authentication of protected methods: the Bearer token, the session's
 * revocation state and the per-user rate limit.
 */
#ifndef ELENCHUS_AUTH_MW_H
#define ELENCHUS_AUTH_MW_H

#include "rq.h"

/* RQ_CONT: rq->user is set; RQ_WAIT: retry later; RQ_DONE: answered. */
int	auth_require(struct http_request *, struct rq *);

#endif
