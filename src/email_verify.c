/*
 * Email verification (README "Accounts and sessions"), turned on by
 * EMAIL_VERIFICATION=optional|required: POST /api/v1/auth/email/request
 * mails a 6-digit code to the caller's address, POST
 * /api/v1/auth/email/verify {code} checks it and marks the address
 * verified.  The rules are the phone codes' (src/vcode.h): hashed,
 * 10-minute expiry, 5 tries, 3 sends per 10 minutes and 60 s apart per
 * address; issue and check are SQL functions (sql/015_accounts.sql).
 * With "required", an unverified account may log in, refresh, log out,
 * read /auth/me and use these two routes; everything else answers 403
 * email_unverified (src/auth_mw.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rq.h"
#include "audit.h"
#include "auth_mw.h"
#include "mail.h"
#include "vcode.h"
#include "lib/authtok.h"

#define EMAIL_SUBJECT	"Your Elenchus verification code"

struct email_st {
	struct mail_job	*job;
	char		body[MAIL_BODY_MAX];	/* holds the code: cleansed */
	char		address[MAIL_ADDR_MAX];
	char		code_id[40];
};

static int	email_request(struct http_request *, struct rq *);
static int	email_verify(struct http_request *, struct rq *);
static int	email_off(struct http_request *, struct rq *);
static int	email_issue(struct http_request *, struct rq *, void *);
static int	email_send(struct http_request *, struct rq *, void *);
static int	email_sent(struct http_request *, struct rq *, void *);
static int	email_answer(struct http_request *, struct rq *, void *);
static void	email_st_free(void *);

ROUTE(page_email_request, "/api/v1/auth/email/request",
    { HTTP_METHOD_POST, email_request,
      RQ_USER | RQ_UNVERIFIED | RQ_IPLIMIT })
ROUTE(page_email_verify, "/api/v1/auth/email/verify",
    { HTTP_METHOD_POST, email_verify,
      RQ_USER | RQ_UNVERIFIED | RQ_IPLIMIT })

static const struct vcode_channel email_channel = {
	"email", email_issue, email_send, email_sent, email_answer
};

static const char sql_issue[] =
    "SELECT retry_after, code_id, address, verified FROM "
    "email_code_issue($1, $2, $3::int, $4::int, $5::int, $6::int)";

static const char sql_sent[] =
    VCODE_SQL_SENT("'email_code_sent'", "'email'");
static const char sql_failed[] =
    VCODE_SQL_FAILED("email_codes", "'email_code_failed'", "'email'");

static const char sql_check[] =
    "SELECT result, tries_left FROM email_code_check($1, $2, $3::int, "
    "$4, $5)";

/* Issue a code, mail it, audit the send, answer. */
static int
email_request(struct http_request *req, struct rq *rq)
{
	if (cfg.email_verification == CONFIG_EMAIL_OFF)
		return (email_off(req, rq));
	return (vcode_request(req, rq, &email_channel,
	    rq_state(rq, sizeof(struct email_st), email_st_free)));
}

/*
 * A code bound to the account (its row to the address) into the mail
 * body, and the issue started; 0 when it has answered.
 */
static int
email_issue(struct http_request *req, struct rq *rq, void *arg)
{
	struct email_st		*st = arg;
	struct vcode_rules	 vr;
	const char		*params[6];
	char			 code[AUTHTOK_CODE_SIZE];
	char			 hash[AUTHTOK_HASH_SIZE];

	if (!vcode_new(rq->user.id, code, hash)) {
		(void)rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL);
		return (0);
	}
	(void)snprintf(st->body, sizeof(st->body), "Your Elenchus "
	    "verification code is %s.\n\nIt expires in %d minutes. "
	    "If you did not ask for it, ignore this message.\n",
	    code, VCODE_TTL_S / 60);
	OPENSSL_cleanse(code, sizeof(code));
	memset(&vr, 0, sizeof(vr));	/* cppcheck: vcode_rules only writes */
	vcode_rules(&vr);
	params[0] = rq->user.id;
	params[1] = hash;
	params[2] = vr.ttl;
	params[3] = vr.max;
	params[4] = vr.window;
	params[5] = vr.gap;
	db_start(req, &rq->q, sql_issue, 6, params);
	return (1);
}

/*
 * Issued: 404 without an address, 200 when already verified, 429 over
 * the limits; else the mail started.  0 when it has answered.
 */
static int
email_send(struct http_request *req, struct rq *rq, void *arg)
{
	struct email_st	*st = arg;

	if (db_isnull(&rq->q, 0, 2)) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	(void)kore_strlcpy(st->address, db_val(&rq->q, 0, 2),
	    sizeof(st->address));
	if (!strcmp(db_val(&rq->q, 0, 3), "t")) {
		(void)rq_ok(req, rq, 200, "Email already verified",
		    json_pack("{s:s, s:b}", "email", st->address,
		    "email_verified", 1));
		return (0);
	}
	if (atoi(db_val(&rq->q, 0, 0)) > 0) {
		(void)vcode_too_many(req, rq, db_val(&rq->q, 0, 0),
		    "email address");
		return (0);
	}
	(void)kore_strlcpy(st->code_id, db_val(&rq->q, 0, 1),
	    sizeof(st->code_id));
	st->job = mail_start(req, st->address, EMAIL_SUBJECT, st->body);
	OPENSSL_cleanse(st->body, sizeof(st->body));
	return (1);
}

/* The mail server answered: the audit started. */
static int
email_sent(struct http_request *req, struct rq *rq, void *arg)
{
	struct email_st	*st = arg;
	int		 sent;

	if (!mail_done(st->job))
		return (0);
	sent = st->job->result == MAIL_SENT;
	/* Logged here: the task thread may not write the log. */
	if (!sent)
		mail_log_failure(st->job, rq->id);
	vcode_record(req, rq, sent ? sql_sent : sql_failed, st->address,
	    mail_provider(), sent ? NULL : st->code_id);
	return (1);
}

static int
email_answer(struct http_request *req, struct rq *rq, void *arg)
{
	struct email_st	*st = arg;

	if (st->job->result == MAIL_SENT)
		return (rq_ok(req, rq, 202, "Verification code sent",
		    json_pack("{s:s, s:i, s:i}", "email", st->address,
		    "expires_in", VCODE_TTL_S, "resend_after",
		    VCODE_SEND_GAP_S)));
	if (st->job->result == MAIL_REJECTED)
		return (rq_error(req, rq, 422, "email_undeliverable",
		    "The mail server refuses this address",
		    json_pack("{s:s, s:I}", "email", st->address,
		    "smtp_code", (json_int_t)st->job->smtp_code)));
	return (rq_error(req, rq, 502, "email_upstream_error",
	    "The mail server failed; try again later",
	    json_pack("{s:s}", "provider", mail_provider())));
}

static int
email_verify(struct http_request *req, struct rq *rq)
{
	struct vcode_rules	 vr;
	struct verr		 v;
	json_t			*obj;
	const char		*params[5], *code, *res;
	char			 hash[AUTHTOK_HASH_SIZE], ua[AUDIT_UA_SIZE];
	int			 r;

	if (cfg.email_verification == CONFIG_EMAIL_OFF)
		return (email_off(req, rq));
	if (rq->step == 0) {
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		if (jsonx_get_str(obj, "code", JF_REQUIRED, 1, 32, &v,
		    &code) && !authtok_code_valid(code))
			verr_add(&v, "code", "invalid", "code must be 6 digits");
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		if (!vcode_hash(code, rq->user.id, hash))
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		vcode_rules(&vr);
		params[0] = rq->user.id;
		params[1] = hash;
		params[2] = vr.tries;
		params[3] = rq->ip[0] ? rq->ip : NULL;
		params[4] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_check, 5, params);
		rq->step = 1;
	}
	if (!rq_polled_row(req, rq, &r))
		return (r);
	res = db_val(&rq->q, 0, 0);
	if (!strcmp(res, "ok") || !strcmp(res, "verified"))
		return (rq_ok(req, rq, 200, !strcmp(res, "ok") ?
		    "Email verified" : "Email already verified",
		    json_pack("{s:b}", "email_verified", 1)));
	return (vcode_refused(req, rq, res, db_val(&rq->q, 0, 1),
	    "email address"));
}

static int
email_off(struct http_request *req, struct rq *rq)
{
	return (rq_error(req, rq, 404, "feature_disabled",
	    "Email verification is not enabled (EMAIL_VERIFICATION=off)",
	    json_pack("{s:s}", "feature", "email_verification")));
}

static void
email_st_free(void *arg)
{
	struct email_st	*st = arg;

	OPENSSL_cleanse(st->body, sizeof(st->body));
	mail_release(st->job);
	st->job = NULL;
}
