/*
 * Verification codes shared by the phone and email flows (src/vcode.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vcode.h"

void
vcode_rules(struct vcode_rules *r)
{
	(void)snprintf(r->ttl, sizeof(r->ttl), "%d", VCODE_TTL_S);
	(void)snprintf(r->max, sizeof(r->max), "%d", VCODE_SEND_MAX);
	(void)snprintf(r->window, sizeof(r->window), "%d",
	    VCODE_SEND_WINDOW_S);
	(void)snprintf(r->gap, sizeof(r->gap), "%d", VCODE_SEND_GAP_S);
	(void)snprintf(r->tries, sizeof(r->tries), "%d", VCODE_TRIES_MAX);
}

int
vcode_new(const char *subject, char code[AUTHTOK_CODE_SIZE],
    char hash[AUTHTOK_HASH_SIZE])
{
	if (authtok_code6(code) != 0)
		return (0);
	return (vcode_hash(code, subject, hash));
}

int
vcode_hash(const char *code, const char *subject,
    char hash[AUTHTOK_HASH_SIZE])
{
	return (authtok_code_hash(code, subject,
	    (const unsigned char *)cfg.jwt_secret, strlen(cfg.jwt_secret),
	    hash) == 0);
}

int
vcode_too_many(struct http_request *req, struct rq *rq, const char *retry,
    const char *target)
{
	char		num[16], msg[96];

	(void)kore_strlcpy(num, retry, sizeof(num));
	(void)snprintf(msg, sizeof(msg), "Too many codes sent to this %s; "
	    "try later", target);
	http_response_header(req, "retry-after", num);
	return (rq_error(req, rq, 429, "rate_limited", msg,
	    json_pack("{s:i}", "retry_after", atoi(num))));
}

int
vcode_refused(struct http_request *req, struct rq *rq, const char *result,
    const char *tries_left, const char *target)
{
	struct verr	v;
	int		left;

	verr_init(&v);
	left = 0;
	if (!strcmp(result, "invalid")) {
		left = tries_left ? atoi(tries_left) : 0;
		if (left > 0)
			verr_add(&v, "code", "invalid", "The code is wrong; "
			    "%d attempt%s left", left, left == 1 ? "" : "s");
		else
			verr_add(&v, "code", "invalid", "The code is wrong and "
			    "no longer valid; request a new one");
	} else {
		verr_add(&v, "code", "expired", "No valid code for this "
		    "%s: it expired, was used, or was never sent", target);
	}
	return (rq_error(req, rq, 400, "validation_error",
	    "Request validation failed", json_pack("{s:o, s:i}",
	    "fields", verr_take(&v), "attempts_left", left)));
}

void
vcode_record(struct http_request *req, struct rq *rq, const char *sql,
    const char *target, const char *provider, const char *code_id)
{
	const char	*params[6];
	char		ua[AUDIT_UA_SIZE];

	params[0] = rq->user.id;
	params[1] = rq->ip[0] ? rq->ip : NULL;
	params[2] = audit_ua(req, ua, sizeof(ua));
	params[3] = target;
	params[4] = provider;
	params[5] = code_id;
	db_start(req, &rq->q, sql, code_id != NULL ? 6 : 5, params);
}

int
vcode_recorded(struct http_request *req, struct rq *rq, const char *what)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (0);
	if (r == DB_FAIL)
		kore_log(LOG_WARNING, "%s: audit failed (%s)", what, rq->id);
	return (1);
}

int
vcode_request(struct http_request *req, struct rq *rq,
    const struct vcode_channel *ch, void *st)
{
	int		r;

	if (rq->step == 0) {
		if (!ch->issue(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!rq_polled(req, rq, &r))
			return (r);
		if (db_rows(&rq->q) != 1)
			return (rq_db_error(req, rq));
		if (!ch->send(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	if (rq->step == 2) {
		if (!ch->sent(req, rq, st))
			return (KORE_RESULT_RETRY);
		rq->step = 3;
	}
	if (!vcode_recorded(req, rq, ch->name))
		return (KORE_RESULT_RETRY);
	return (ch->answer(req, rq, st));
}
