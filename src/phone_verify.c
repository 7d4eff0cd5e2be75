/*
 * Phone verification (docs/API.md §2): POST /api/v1/auth/phone/request sends
 * a 6-digit code by SMS, POST /api/v1/auth/phone/verify checks it and
 * makes the number the caller's verified phone.  Codes are stored only
 * as keyed hashes (src/vcode.h, the rules email codes share); the
 * per-phone send limits and the attempt counting live in SQL functions
 * (sql/008_users.sql) so that they hold across workers and instances.
 * A number is the verified phone of one active account at most (a unique
 * index, sql/015_accounts.sql): a second account gets 409 phone_taken,
 * and only once it has proved it holds the number, so the answer tells
 * nothing to anyone else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "rq.h"
#include "audit.h"
#include "circuit.h"
#include "auth_mw.h"
#include "sms.h"
#include "users.h"
#include "vcode.h"
#include "lib/authtok.h"
#include "lib/phone.h"

#define PHONE_MASKED_SIZE	(PHONE_SIZE + 1)

struct phone_st {
	struct sms_job	*job;
	char		body[SMS_BODY_MAX];	/* holds the code: cleansed */
	char		phone[PHONE_SIZE];
	char		masked[PHONE_MASKED_SIZE];
	char		code_id[40];
	int		probe;		/* the SMS breaker's half-open probe */
};

static int	phone_request(struct http_request *, struct rq *);
static int	phone_verify(struct http_request *, struct rq *);
static int	phone_issue(struct http_request *, struct rq *, void *);
static int	phone_send(struct http_request *, struct rq *, void *);
static int	phone_sent(struct http_request *, struct rq *, void *);
static int	phone_answer(struct http_request *, struct rq *, void *);
static int	phone_read(struct http_request *, struct rq *, const char **,
		    const char **);
static int	phone_circuit_open(struct http_request *, struct rq *,
		    struct phone_st *);
static int	phone_checked(struct http_request *, struct rq *);
static void	phone_st_free(void *);

ROUTE(page_phone_request, "/api/v1/auth/phone/request",
    { HTTP_METHOD_POST, phone_request, RQ_USER | RQ_IPLIMIT })
ROUTE(page_phone_verify, "/api/v1/auth/phone/verify",
    { HTTP_METHOD_POST, phone_verify, RQ_USER | RQ_IPLIMIT })

static const struct vcode_channel phone_channel = {
	"phone", phone_issue, phone_send, phone_sent, phone_answer
};

static const char sql_issue[] =
    "SELECT retry_after, code_id FROM phone_code_issue($1, $2, $3, "
    "$4::int, $5::int, $6::int, $7::int)";

static const char sql_sent[] =
    VCODE_SQL_SENT("'phone_code_sent'", "'phone'");
static const char sql_failed[] =
    VCODE_SQL_FAILED("phone_codes", "'phone_code_failed'", "'phone'");

static const char sql_check[] =
    "SELECT result, tries_left FROM phone_code_check($1, $2, $3, $4::int, "
    "$5, $6, jsonb_build_object('phone', $7::text))";

/* Issue a code, send it by SMS, audit the send, answer. */
static int
phone_request(struct http_request *req, struct rq *rq)
{
	return (vcode_request(req, rq, &phone_channel,
	    rq_state(rq, sizeof(struct phone_st), phone_st_free)));
}

/*
 * The phone read, a code bound to it in the SMS body, and (unless the
 * provider's breaker is open) the issue started; 0 when it has answered.
 */
static int
phone_issue(struct http_request *req, struct rq *rq, void *arg)
{
	struct phone_st	*st = arg;
	struct vcode_rules vr;
	const char	*params[7], *phone;
	char		code[AUTHTOK_CODE_SIZE], hash[AUTHTOK_HASH_SIZE];

	if (!phone_read(req, rq, &phone, NULL))
		return (0);
	(void)kore_strlcpy(st->phone, phone, sizeof(st->phone));
	if (phone_mask(st->phone, st->masked, sizeof(st->masked)) != 0)
		(void)kore_strlcpy(st->masked, "?", sizeof(st->masked));
	if (!vcode_new(st->phone, code, hash)) {
		(void)rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL);
		return (0);
	}
	(void)snprintf(st->body, sizeof(st->body), "Your Elenchus "
	    "verification code is %s. It expires in %d minutes.",
	    code, VCODE_TTL_S / 60);
	OPENSSL_cleanse(code, sizeof(code));
	if (phone_circuit_open(req, rq, st))
		return (0);
	vcode_rules(&vr);
	params[0] = rq->user.id;
	params[1] = st->phone;
	params[2] = hash;
	params[3] = vr.ttl;
	params[4] = vr.max;
	params[5] = vr.window;
	params[6] = vr.gap;
	db_start(req, &rq->q, sql_issue, 7, params);
	return (1);
}

/*
 * The SMS provider's breaker (the console sender never fails): when it
 * is open, answer 503 with Retry-After before a code is issued, and
 * return 1.
 */
static int
phone_circuit_open(struct http_request *req, struct rq *rq,
    struct phone_st *st)
{
	char		num[16];
	int		retry;

	if (!strcmp(sms_provider(), "console") ||
	    circuit_allow(CIRCUIT_SMS, &st->probe, &retry))
		return (0);
	(void)snprintf(num, sizeof(num), "%d", retry);
	http_response_header(req, "retry-after", num);
	(void)rq_error(req, rq, 503, "sms_unavailable", "The SMS provider is "
	    "failing; try again later", json_pack("{s:s, s:i}", "provider",
	    sms_provider(), "retry_after", retry));
	return (1);
}

/* Issued: 429 over the limits, else the SMS started. */
static int
phone_send(struct http_request *req, struct rq *rq, void *arg)
{
	struct phone_st	*st = arg;

	if (atoi(db_val(&rq->q, 0, 0)) > 0) {
		(void)vcode_too_many(req, rq, db_val(&rq->q, 0, 0), "phone");
		return (0);
	}
	(void)kore_strlcpy(st->code_id, db_val(&rq->q, 0, 1),
	    sizeof(st->code_id));
	st->job = sms_start(req, st->phone, st->body);
	OPENSSL_cleanse(st->body, sizeof(st->body));
	return (1);
}

/* The provider answered: the breaker told, the audit started. */
static int
phone_sent(struct http_request *req, struct rq *rq, void *arg)
{
	struct phone_st	*st = arg;
	int		sent;

	if (!sms_done(st->job))
		return (0);
	if (strcmp(sms_provider(), "console") != 0)
		circuit_record(CIRCUIT_SMS, st->job->result != SMS_FAILED,
		    st->probe);
	sent = st->job->result == SMS_SENT;
	/* Logged here: the task thread may not write the log. */
	if (!sent)
		sms_log_failure(st->job, st->masked, rq->id);
	vcode_record(req, rq, sent ? sql_sent : sql_failed, st->masked,
	    sms_provider(), sent ? NULL : st->code_id);
	return (1);
}

static int
phone_answer(struct http_request *req, struct rq *rq, void *arg)
{
	struct phone_st	*st = arg;
	struct verr	v;

	if (st->job->result == SMS_SENT)
		return (rq_ok(req, rq, 202, "Verification code sent",
		    json_pack("{s:s, s:i, s:i}", "phone", st->masked,
		    "expires_in", VCODE_TTL_S,
		    "resend_after", VCODE_SEND_GAP_S)));
	if (st->job->result == SMS_REJECTED) {
		verr_init(&v);
		verr_add(&v, "phone", "undeliverable", "The SMS "
		    "provider cannot deliver to this number");
		return (rq_invalid(req, rq, &v));
	}
	return (rq_error(req, rq, 502, "sms_upstream_error",
	    "The SMS provider failed; try again later",
	    json_pack("{s:s}", "provider", sms_provider())));
}

static int
phone_verify(struct http_request *req, struct rq *rq)
{
	const char	*params[7], *phone, *code;
	char		hash[AUTHTOK_HASH_SIZE];
	char		ua[AUDIT_UA_SIZE], masked[PHONE_MASKED_SIZE];
	struct vcode_rules vr;

	if (rq->step == 0) {
		if (!phone_read(req, rq, &phone, &code))
			return (KORE_RESULT_OK);
		if (!vcode_hash(code, phone, hash))
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		if (phone_mask(phone, masked, sizeof(masked)) != 0)
			(void)kore_strlcpy(masked, "?", sizeof(masked));
		vcode_rules(&vr);
		params[0] = rq->user.id;
		params[1] = phone;
		params[2] = hash;
		params[3] = vr.tries;
		params[4] = rq->ip[0] ? rq->ip : NULL;
		params[5] = audit_ua(req, ua, sizeof(ua));
		params[6] = masked;
		db_start(req, &rq->q, sql_check, 7, params);
		rq->step = 1;
	}
	return (phone_checked(req, rq));
}

/* The check's answer: verified, 409 phone_taken, or the code refused. */
static int
phone_checked(struct http_request *req, struct rq *rq)
{
	const char	*phone, *res;
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL && db_sqlstate_is(&rq->q, "23505"))
		return (rq_error(req, rq, 409, "phone_taken",
		    "This phone number is already verified by another "
		    "account", NULL));
	if (r == DB_FAIL || db_rows(&rq->q) != 1)
		return (rq_db_error(req, rq));
	res = db_val(&rq->q, 0, 0);
	if (!strcmp(res, "ok")) {
		phone = json_string_value(json_object_get(rq->body, "phone"));
		return (rq_ok(req, rq, 200, "Phone verified",
		    json_pack("{s:s, s:b}", "phone", phone,
		    "phone_verified", 1)));
	}
	return (vcode_refused(req, rq, res, db_val(&rq->q, 0, 1), "phone"));
}

/*
 * {phone} or, when code is not NULL, {phone, code}; on a problem the 400
 * has been sent.
 */
static int
phone_read(struct http_request *req, struct rq *rq, const char **phone,
    const char **code)
{
	json_t		*obj;
	struct verr	v;

	if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
		return (0);
	verr_init(&v);
	*phone = NULL;
	(void)users_phone_read(obj, JF_REQUIRED, &v, phone);
	if (code != NULL && jsonx_get_str(obj, "code", JF_REQUIRED, 1, 32,
	    &v, code) && !authtok_code_valid(*code))
		verr_add(&v, "code", "invalid", "code must be 6 digits");
	if (verr_count(&v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

static void
phone_st_free(void *arg)
{
	struct phone_st	*st = arg;

	OPENSSL_cleanse(st->body, sizeof(st->body));
	sms_release(st->job);
	st->job = NULL;
}
