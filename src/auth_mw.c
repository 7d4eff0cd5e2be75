/*
 * Authentication middleware.  Until accounts exist (issue 3) there is no
 * way to obtain a token, so every protected method is refused.
 */
#include "auth_mw.h"

int
auth_require(struct http_request *req, struct rq *rq)
{
	(void)rq_error(req, rq, 401, "unauthorized",
	    "Authentication required", NULL);
	return (RQ_DONE);
}
