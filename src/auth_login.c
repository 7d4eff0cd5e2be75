/*
 * POST /api/v1/auth/login (docs/API.md §2): JSON {email, password} or
 * an OAuth2 password form.
 *
 * Lockout: LOCKOUT_THRESHOLD failures for one email within
 * LOCKOUT_WINDOW lock it for LOCKOUT_WINDOW counted from the failure that
 * reached the threshold: Retry-After is the time left until then.  Each
 * attempt is recorded as a failure before bcrypt, in the statement that
 * checks the lock (serialised per email), and cleared when the login
 * succeeds: concurrent wrong passwords get at most LOCKOUT_THRESHOLD
 * guesses.  Locked attempts run no bcrypt and record nothing, so once the
 * lock ends every counted failure is older than the window and the count
 * starts afresh.  The failing attempt that reaches the threshold still
 * answers 401; the next ones 423.  account_locked is audited by that
 * attempt, once per lock.  An unknown email is verified against a dummy
 * hash: the same time as a wrong password.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rq.h"
#include "audit.h"
#include "auth.h"
#include "auth_int.h"
#include "lib/form.h"

/* An OAuth2 login form is a few short fields. */
#define AUTH_FORM_MAX		4096

static int	auth_login(struct http_request *, struct rq *);
static int	auth_login_lookup(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_login_verify(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_login_locked(struct http_request *, struct rq *);
static int	auth_login_finish(struct http_request *, struct rq *,
		    struct auth_st *);
static void	auth_login_failed(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_login_answer(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_login_input(struct http_request *, struct rq *,
		    struct auth_st *, const char **, const char **);
static void	auth_form_check(struct auth_st *, struct verr *);
static int	auth_form(struct http_request *, struct rq *,
		    struct auth_st *);

ROUTE(page_auth_login, "/api/v1/auth/login",
    { HTTP_METHOD_POST, auth_login, RQ_PUBLIC | RQ_RAWBODY | RQ_IPLIMIT })

/*
 * A login attempt, recorded before bcrypt (login_attempt() in
 * sql/011_security.sql serialises one email's attempts), and the account.
 * $1 email, $2 ip, $3 threshold, $4 window (seconds).  Columns: locked,
 * retry, user id, hash, active, reached (this attempt reached the
 * threshold).
 */
static const char sql_login_lookup[] =
    "SELECT l.locked, l.retry, u.id, u.password_hash, "
    "u.is_active AND u.deleted_at IS NULL, l.reached "
    "FROM login_attempt($1, $2, $3::int, $4::int) l "
    "LEFT JOIN users u ON u.email = $1";

/*
 * A failed login: the attempt is already recorded; audited, and the lock
 * audited by the attempt that reached the threshold.  $1 email, $2 ip,
 * $3 user agent, $4 threshold, $5 window (s), $6 user id or NULL,
 * $7 reason, $8 reached.
 */
static const char sql_login_failed[] =
    "WITH a AS (" AUDIT_INSERT("$6::uuid", "'login_failed'", "$2", "$3",
    "jsonb_build_object('email', $1::text, 'reason', $7::text)") "), "
    "b AS (" AUDIT_INSERT_FROM("$6::uuid", "'account_locked'", "$2", "$3",
    "jsonb_build_object('email', $1::text, 'failures', $4::int, "
    "'until', rfc3339(now() + make_interval(secs => $5::int)))",
    "(SELECT 1) one WHERE $8::boolean") ") "
    "SELECT $8::boolean";

/*
 * A successful login.  $1 user id, $2 refresh TTL (days), $3 ip, $4 user
 * agent, $5 refresh token hash, $6 email, $7 new password hash or NULL
 * (rehash at the configured cost), $8 the hash the password was verified
 * against: compare-and-set, so a password changed while this login was
 * hashing makes it fail (no session after the change revoked the others,
 * and no rehash of the old password written over the new one).
 */
static const char sql_login_ok[] =
    "WITH u AS (UPDATE users SET last_login = now(), "
    "password_hash = COALESCE($7, password_hash) "
    "WHERE id = $1::uuid AND password_hash = $8 "
    "AND is_active AND deleted_at IS NULL "
    "RETURNING *), "
    AUTH_NEW_SESSION("$2", "$3", "$4", "$5")
    "d AS (DELETE FROM login_failures WHERE email = $6 "
    "AND EXISTS (SELECT 1 FROM u)), "
    "a AS (" AUDIT_INSERT_FROM("u.id", "'login_success'", "$3", "$4",
    "jsonb_build_object('session_id', s.id)", "u, s") ") "
    "SELECT s.id, u.id, u.role, u.is_superuser, " AUTH_USER_JSON("u")
    " FROM u, s";

/*
 * Look the email up (and count the attempt), verify the password off the
 * loop, record the outcome; the tokens, or 401 (423 while locked).
 */
static int
auth_login(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;
	int		 r;

	st = auth_state(rq);
	if (rq->step == 0) {
		if (!auth_login_lookup(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!rq_polled(req, rq, &r))
			return (r);
		if (!auth_login_verify(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	if (rq->step == 2) {
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		if (!auth_login_finish(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 3;
	}
	return (auth_login_answer(req, rq, st));
}

/* The tokens, or 401 for a failure recorded or a password changed since. */
static int
auth_login_answer(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	int		r;

	if (!rq_polled(req, rq, &r))
		return (r);
	if (st->failed || db_rows(&rq->q) != 1)
		return (rq_error(req, rq, 401, "invalid_credentials",
		    "Incorrect email or password", NULL));
	return (auth_tokens(req, rq, 200, "Logged in", st, 0));
}

/* The input read, the lookup started; 0 when it has answered. */
static int
auth_login_lookup(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	const char	*email, *pw, *params[4];
	char		 n1[RQ_NUM], n2[RQ_NUM];

	if (!auth_login_input(req, rq, st, &email, &pw))
		return (0);
	(void)kore_strlcpy(st->email, email, sizeof(st->email));
	st->password = pw;
	(void)snprintf(n1, sizeof(n1), "%d", cfg.lockout_threshold);
	(void)snprintf(n2, sizeof(n2), "%d", cfg.lockout_window_s);
	params[0] = st->email;
	params[1] = rq->ip;
	params[2] = n1;
	params[3] = n2;
	db_start(req, &rq->q, sql_login_lookup, 4, params);
	return (1);
}

/* Looked up: 423 while locked, else the bcrypt job started. */
static int
auth_login_verify(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	if (!strcmp(db_val(&rq->q, 0, 0), "t"))
		return (auth_login_locked(req, rq));
	st->known = !db_isnull(&rq->q, 0, 2);
	if (st->known) {
		(void)kore_strlcpy(st->user_id, db_val(&rq->q, 0, 2),
		    sizeof(st->user_id));
		(void)kore_strlcpy(st->hash, db_val(&rq->q, 0, 3),
		    sizeof(st->hash));
		st->active = !strcmp(db_val(&rq->q, 0, 4), "t");
	}
	st->reached = !strcmp(db_val(&rq->q, 0, 5), "t");
	/* An unknown email verifies against the dummy: same time. */
	if (pwjob_start(req, &st->job, PWJOB_VERIFY, st->password, NULL,
	    st->known ? st->hash : NULL) == NULL) {
		(void)auth_internal(req, rq);
		return (0);
	}
	auth_wipe(req, rq, st);
	return (1);
}

/* 423 account_locked with Retry-After; returns 0 (answered). */
static int
auth_login_locked(struct http_request *req, struct rq *rq)
{
	char		num[32];
	long		retry;

	retry = strtol(db_val(&rq->q, 0, 1), NULL, 10);
	if (retry < 1)
		retry = 1;
	(void)snprintf(num, sizeof(num), "%ld", retry);
	http_response_header(req, "retry-after", num);
	(void)rq_error(req, rq, 423, "account_locked",
	    "Too many failed logins; try again later",
	    json_pack("{s:I}", "retry_after", (json_int_t)retry));
	return (0);
}

/*
 * The password checked: record a failure (st->failed), or open the
 * session; 0 when it has answered.
 */
static int
auth_login_finish(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	const char	*params[8];
	char		 days[RQ_NUM], ua[AUDIT_UA_SIZE];

	if (!st->job->ok || !st->known || !st->active) {
		auth_login_failed(req, rq, st);
		return (1);
	}
	(void)kore_strlcpy(st->newhash, st->job->out, sizeof(st->newhash));
	pwjob_release(&st->job);
	if (!auth_new_refresh(req, rq, st))
		return (0);
	(void)snprintf(days, sizeof(days), "%d", cfg.refresh_ttl_days);
	params[0] = st->user_id;
	params[1] = days;
	params[2] = rq->ip;
	params[3] = audit_ua(req, ua, sizeof(ua));
	params[4] = st->refresh_hash;
	params[5] = st->email;
	params[6] = st->newhash[0] != '\0' ? st->newhash : NULL;
	params[7] = st->hash;
	db_start(req, &rq->q, sql_login_ok, 8, params);
	return (1);
}

static void
auth_login_failed(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	const char	*params[8], *reason;
	char		 n1[RQ_NUM], n2[RQ_NUM], ua[AUDIT_UA_SIZE];

	reason = !st->known ? "unknown_email" :
	    !st->job->ok ? "bad_password" : "inactive";
	pwjob_release(&st->job);
	st->failed = 1;
	(void)snprintf(n1, sizeof(n1), "%d", cfg.lockout_threshold);
	(void)snprintf(n2, sizeof(n2), "%d", cfg.lockout_window_s);
	params[0] = st->email;
	params[1] = rq->ip;
	params[2] = audit_ua(req, ua, sizeof(ua));
	params[3] = n1;
	params[4] = n2;
	params[5] = st->known ? st->user_id : NULL;
	params[6] = reason;
	params[7] = st->reached ? "true" : "false";
	db_start(req, &rq->q, sql_login_failed, 8, params);
}

/*
 * The login's email and password, from JSON or the OAuth2 form.  On a
 * bad input it has answered and returns 0.
 */
static int
auth_login_input(struct http_request *req, struct rq *rq, struct auth_st *st,
    const char **email, const char **pw)
{
	struct verr	 v;
	json_t		*in;
	const char	*ct;

	*email = *pw = NULL;
	ct = rq_header(req, "content-type");
	if (ct != NULL && !strncasecmp(ct, "application/x-www-form-urlencoded",
	    33)) {
		if (!auth_form(req, rq, st))
			return (0);
		verr_init(&v);
		auth_form_check(st, &v);
		*email = st->form_user;
		*pw = st->form_pw;
	} else {
		if (rq_json(req, rq, &in) != KORE_RESULT_OK)
			return (0);
		verr_init(&v);
		(void)jsonx_get_str(in, "email", JF_REQUIRED | JF_NOTBLANK, 1,
		    AUTH_EMAIL_MAX, &v, email);
		(void)jsonx_get_str(in, "password", JF_REQUIRED, 1,
		    PASSWD_MAX_CHARS, &v, pw);
	}
	if (verr_count(&v) > 0) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/* The form's username and password: present, and within bounds. */
static void
auth_form_check(struct auth_st *st, struct verr *v)
{
	if (st->form_user == NULL)
		verr_add(v, "username", "missing", "username is required");
	else if (*st->form_user == '\0' ||
	    strlen(st->form_user) > AUTH_EMAIL_MAX * 4)
		verr_add(v, "username", "invalid",
		    "username must be an email address");
	if (st->form_pw == NULL)
		verr_add(v, "password", "missing", "password is required");
	else if (strlen(st->form_pw) > AUTH_PW_MAX_BYTES)
		verr_add(v, "password", "too_long", "password is too long");
}

/*
 * Reads an application/x-www-form-urlencoded body into st->form_*:
 * username, password, and grant_type (must be "password" when given).
 * Bounded by AUTH_FORM_MAX; every value percent-decoded and checked to
 * be UTF-8 without NUL (lib/form.h).  On a bad body it has answered and returns 0.
 */
static int
auth_form(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	char		*buf, *name, *val, *p;
	size_t		 off;
	int		 bad, r;

	if ((buf = rq_body(req, rq, AUTH_FORM_MAX, &off)) == NULL)
		return (0);

	bad = strlen(buf) != off;
	for (p = buf; !bad && (r = form_next(&p, &name, &val)) != 0; ) {
		if (r < 0)
			bad = 1;
		else if (!strcmp(name, "username") && st->form_user == NULL)
			st->form_user = kore_strdup(val);
		else if (!strcmp(name, "password") && st->form_pw == NULL)
			st->form_pw = kore_strdup(val);
		else if (!strcmp(name, "grant_type") && *val != '\0' &&
		    strcmp(val, "password") != 0)
			bad = 2;
	}
	explicit_bzero(buf, off);
	kore_free(buf);
	if (bad) {
		(void)rq_error(req, rq, 400, "validation_error",
		    bad == 2 ? "grant_type must be \"password\"" :
		    "Malformed form body", NULL);
		return (0);
	}
	return (1);
}
