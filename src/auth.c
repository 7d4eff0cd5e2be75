/*
 * Auth and sessions (docs/API.md §2).
 *
 * bcrypt never runs on the event loop: see src/pwjob.c.
 *
 * Every change and its audit row are one statement (CTEs).  Refresh is
 * one statement too: the UPDATE of the presented token decides the race
 * between concurrent refreshes (PostgreSQL re-reads the row after the
 * lock), so exactly one wins; a loser within REFRESH_REUSE_GRACE_S from
 * the same client (ip and user agent) still gets a pair of its own;
 * after it, or from another client, the session is revoked
 * (token_reused).
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
 * attempt, once per lock.
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rq.h"

#include <kore/tasks.h>

#include "auth.h"
#include "auth_mw.h"
#include "pwjob.h"
#include "audit.h"
#include "ratelimit.h"
#include "revoke.h"
#include "users.h"
#include "lib/authtok.h"
#include "lib/jwt.h"
#include "lib/passwd.h"
#include "lib/username.h"
#include "lib/utf8.h"
#include "lib/uuid.h"

/* Longest password accepted at all, in bytes (the policy's own bound). */
#define AUTH_PW_MAX_BYTES	PWJOB_PW_MAX
#define AUTH_EMAIL_MAX		254
#define AUTH_EMAIL_LOCAL_MAX	64
#define AUTH_LABEL_MAX		63
/* An OAuth2 login form is a few short fields. */
#define AUTH_FORM_MAX		4096

struct auth_st {
	struct pwjob	*job;
	char		 user_id[UUID_STRLEN + 1];
	char		 email[AUTH_EMAIL_MAX * 4 + 1];
	char		 hash[PASSWD_HASH_SIZE];
	char		 newhash[PASSWD_HASH_SIZE];	/* login: rehash */
	int		 known;		/* login: the email has an account */
	int		 active;
	int		 reached;	/* login: this attempt locks the email */
	char		 refresh[AUTHTOK_SIZE];
	char		 refresh_hash[AUTHTOK_HASH_SIZE];
	char		*form_user;	/* login form fields (kore_malloc) */
	char		*form_pw;
	const char	*password;
};

static int	auth_register(struct http_request *, struct rq *);
static int	auth_login(struct http_request *, struct rq *);
static int	auth_refresh(struct http_request *, struct rq *);
static int	auth_logout(struct http_request *, struct rq *);
static int	auth_me(struct http_request *, struct rq *);
static int	auth_sessions(struct http_request *, struct rq *);
static int	auth_session_delete(struct http_request *, struct rq *);
static int	auth_password(struct http_request *, struct rq *);

static struct auth_st	*auth_state(struct rq *);
static void	auth_st_free(void *);
static int	auth_email_ok(const char *);
static void	auth_pw_issues(struct verr *, const char *, int);
static int	auth_tokens(struct http_request *, struct rq *, int,
		    const char *, struct auth_st *, int);
static int	auth_new_refresh(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_login_input(struct http_request *, struct rq *,
		    struct auth_st *, const char **, const char **);
static int	auth_form(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_urldecode(char *);
static int	auth_revoke_rows(struct dbq *, int);
static void	auth_wipe(struct http_request *, struct rq *, struct auth_st *);

ROUTE(page_auth_register, "/api/v1/auth/register",
    { HTTP_METHOD_POST, auth_register, RQ_PUBLIC | RQ_IPLIMIT })
ROUTE(page_auth_login, "/api/v1/auth/login",
    { HTTP_METHOD_POST, auth_login, RQ_PUBLIC | RQ_RAWBODY | RQ_IPLIMIT })
ROUTE(page_auth_refresh, "/api/v1/auth/refresh",
    { HTTP_METHOD_POST, auth_refresh, RQ_PUBLIC | RQ_IPLIMIT })
ROUTE(page_auth_logout, "/api/v1/auth/logout",
    { HTTP_METHOD_POST, auth_logout, RQ_USER | RQ_UNVERIFIED })
/* Polled by front ends: not counted, and revocation served by the cache. */
ROUTE(page_auth_me, "/api/v1/auth/me",
    { HTTP_METHOD_GET, auth_me, RQ_USER | RQ_NOLIMIT | RQ_UNVERIFIED })
ROUTE(page_auth_sessions, "/api/v1/auth/sessions",
    { HTTP_METHOD_GET, auth_sessions, RQ_USER })
ROUTE(page_auth_session, "/api/v1/auth/sessions/{session_id}",
    { HTTP_METHOD_DELETE, auth_session_delete, RQ_USER })
ROUTE(page_auth_password, "/api/v1/auth/password",
    { HTTP_METHOD_POST, auth_password, RQ_USER })

static const char *const auth_roles[] = { AUTH_ROLES, NULL };

/*
 * CTEs s and t: a session for the user of CTE u and its first refresh
 * token.  Arguments are the parameters: lifetime (days), ip, user agent,
 * token hash.
 */
#define AUTH_NEW_SESSION(days, ip, ua, hash)				\
    "s AS (INSERT INTO sessions (user_id, expires_at, ip, user_agent) "	\
    "SELECT id, now() + make_interval(days => " days "::int), " ip ", "	\
    ua " FROM u RETURNING id), "					\
    "t AS (INSERT INTO refresh_tokens (token_hash, session_id, "	\
    "expires_at) SELECT " hash ", s.id, now() + make_interval(days => "	\
    days "::int) FROM s), "

/*
 * A new account and its first session.  $1 email, $2 hash, $3 full_name,
 * $4 phone, $5 organization, $6 role, $7 refresh TTL (days), $8 ip,
 * $9 user agent, $10 refresh token hash, $11 username.
 */
static const char sql_register[] =
    "WITH u AS (INSERT INTO users (email, password_hash, full_name, phone, "
    "organization, role, username) VALUES ($1, $2, $3, $4, $5, "
    "COALESCE($6, 'user'), $11) RETURNING *), "
    AUTH_NEW_SESSION("$7", "$8", "$9", "$10")
    "a AS (" AUDIT_INSERT_FROM("u.id", "'register'", "$8", "$9",
    "jsonb_build_object('session_id', s.id)", "u, s") ") "
    "SELECT s.id, u.id, u.role, u.is_superuser, " AUTH_USER_JSON("u")
    " FROM u, s";

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

/* The client of a refresh, as stored in refresh_tokens.rotated_client. */
#define AUTH_CLIENT(ip, ua)						\
    "md5(coalesce(" ip "::text, '') || chr(10) || "			\
    "coalesce(" ua "::text, ''))"

/*
 * Refresh.  $1 presented token hash, $2 new token hash, $3 grace (s),
 * $4 refresh TTL (days), $5 ip, $6 user agent.  The UPDATE of the
 * presented token is the arbiter: its RETURNING shows the latest row, so
 * first is true for exactly one caller.  A token already rotated is
 * honoured within the grace only for the client that rotated it (same
 * ip and user agent); anyone else presenting it is reuse.  Outcome:
 * invalid, ok, reused, expired, revoked.
 */
static const char sql_refresh[] =
    "WITH rot AS (UPDATE refresh_tokens SET "
    "rotated_at = COALESCE(rotated_at, now()), "
    "rotated_client = CASE WHEN rotated_at IS NULL THEN "
    AUTH_CLIENT("$5", "$6") " ELSE rotated_client END, "
    "replaced_by = COALESCE(replaced_by, $2) WHERE token_hash = $1 "
    "RETURNING session_id, expires_at > now() AS alive, "
    "replaced_by = $2 AS first, "
    "rotated_at > now() - make_interval(secs => $3::int) AND "
    "rotated_client IS NOT DISTINCT FROM " AUTH_CLIENT("$5", "$6")
    " AS in_grace), "
    "v AS (SELECT session_id, alive, first OR in_grace AS fresh FROM rot), "
    "sess AS (UPDATE sessions s SET last_used_at = now(), "
    "expires_at = now() + make_interval(days => $4::int) "
    "FROM v, users u WHERE s.id = v.session_id AND v.alive AND v.fresh "
    "AND s.revoked_at IS NULL AND s.expires_at > now() "
    "AND u.id = s.user_id AND u.is_active AND u.deleted_at IS NULL "
    "RETURNING s.id, s.user_id), "
    "nt AS (INSERT INTO refresh_tokens (token_hash, session_id, expires_at) "
    "SELECT $2, id, now() + make_interval(days => $4::int) FROM sess), "
    "reuse AS (UPDATE sessions s SET revoked_at = now(), "
    "revoke_reason = 'token_reused' FROM v WHERE s.id = v.session_id "
    "AND NOT v.fresh AND s.revoked_at IS NULL RETURNING s.id), "
    "a1 AS (" AUDIT_INSERT_FROM("s.user_id", "'token_reuse_detected'",
    "$5", "$6", "jsonb_build_object('session_id', s.id, "
    "'session_revoked', EXISTS (SELECT 1 FROM reuse))",
    "v JOIN sessions s ON s.id = v.session_id WHERE NOT v.fresh") "), "
    "a2 AS (" AUDIT_INSERT_FROM("sess.user_id", "'token_refresh'", "$5",
    "$6", "jsonb_build_object('session_id', sess.id)", "sess") ") "
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM v) THEN 'invalid' "
    "WHEN EXISTS (SELECT 1 FROM sess) THEN 'ok' "
    "WHEN (SELECT NOT fresh FROM v) THEN 'reused' "
    "WHEN (SELECT NOT alive FROM v) THEN 'expired' "
    "ELSE 'revoked' END, "
    "sess.id, u.id, u.role, u.is_superuser, "
    "CASE WHEN u.id IS NULL THEN NULL ELSE " AUTH_USER_JSON("u") " END, "
    "(SELECT session_id FROM v)::text "
    "FROM (SELECT 1) one LEFT JOIN sess ON true "
    "LEFT JOIN users u ON u.id = sess.user_id";

/* $1 user, $2 current session, $3 all, $4 ip, $5 user agent. */
static const char sql_logout[] =
    "WITH r AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'logout' WHERE user_id = $1::uuid "
    "AND revoked_at IS NULL AND (id = $2::uuid OR $3::boolean) "
    "RETURNING id), "
    "a AS (" AUDIT_INSERT("$1::uuid", "'logout'", "$4", "$5",
    "jsonb_build_object('session_id', $2::text, 'all', $3::boolean, "
    "'sessions_revoked', (SELECT count(*) FROM r))") ") "
    "SELECT id::text FROM r";

/*
 * /me skips the middleware's statement (RQ_NOLIMIT): its own query
 * requires the session to be live too, which also covers sessions
 * deleted by a purge (no revocation, so no NOTIFY).
 */
static const char sql_me[] =
    "SELECT " AUTH_USER_JSON("u") " FROM users u "
    "JOIN sessions s ON s.user_id = u.id AND s.id = $2::uuid "
    "AND s.revoked_at IS NULL "
    "WHERE u.id = $1::uuid AND u.deleted_at IS NULL AND u.is_active";

/* $1 user, $2 current session, $3 limit, $4 offset. */
static const char sql_sessions[] =
    "WITH l AS (SELECT * FROM sessions WHERE user_id = $1::uuid "
    "AND revoked_at IS NULL AND expires_at > now()) "
    "SELECT json_build_object('items', COALESCE((SELECT json_agg("
    "json_build_object('id', x.id, 'created_at', rfc3339(x.created_at), "
    "'last_used_at', rfc3339(x.last_used_at), "
    "'expires_at', rfc3339(x.expires_at), 'ip', x.ip, "
    "'user_agent', x.user_agent, 'current', x.id = $2::uuid) "
    "ORDER BY x.created_at DESC, x.id) FROM (SELECT * FROM l "
    "ORDER BY created_at DESC, id LIMIT $3::int OFFSET $4::int) x), "
    "'[]'::json), 'total', (SELECT count(*) FROM l), "
    "'limit', $3::int, 'offset', $4::int)";

/* $1 session, $2 user, $3 ip, $4 user agent, $5 current session. */
static const char sql_session_delete[] =
    "WITH r AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'revoked_by_user' WHERE id = $1::uuid "
    "AND user_id = $2::uuid AND revoked_at IS NULL RETURNING id), "
    "a AS (" AUDIT_INSERT_FROM("$2::uuid", "'session_revoked'", "$3", "$4",
    "jsonb_build_object('session_id', r.id, 'current', r.id = $5::uuid)",
    "r") ") "
    "SELECT id::text FROM r";

static const char sql_password_user[] =
    "SELECT email::text, password_hash FROM users "
    "WHERE id = $1::uuid AND deleted_at IS NULL";

/*
 * $1 user, $2 new hash, $3 current session, $4 ip, $5 user agent,
 * $6 the hash the current password was checked against (a concurrent
 * change makes this a no-op).  Rows: the other sessions revoked, plus
 * one NULL row standing for the user when it was updated.
 */
static const char sql_password_change[] =
    "WITH u AS (UPDATE users SET password_hash = $2, updated_at = now() "
    "WHERE id = $1::uuid AND password_hash = $6 RETURNING id), "
    "r AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'password_changed' WHERE user_id = $1::uuid "
    "AND id <> $3::uuid AND revoked_at IS NULL "
    "AND EXISTS (SELECT 1 FROM u) RETURNING id), "
    "a AS (" AUDIT_INSERT_FROM("u.id", "'password_changed'", "$4", "$5",
    "jsonb_build_object('sessions_revoked', (SELECT count(*) FROM r))",
    "u") ") "
    "SELECT NULL::text FROM u UNION ALL SELECT id::text FROM r";

void
auth_init(const char *conninfo)
{
	revoke_init(conninfo);
	ratelimit_init();
	pwjob_init();
}

/* POST /register */
static int
auth_register(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;
	struct verr	 v, pv;
	json_t		*in;
	struct users_profile prof;
	const char	*email, *pw, *phone, *role, *uname;
	const char	*params[11];
	char		 days[16], ua[AUDIT_UA_SIZE];
	int		 r, issues;

	st = auth_state(rq);
	switch (rq->step) {
	case 0:
	case 1:
		if (rq_json(req, rq, &in) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		verr_init(&pv);
		if (jsonx_get_str(in, "email", JF_REQUIRED | JF_NOTBLANK, 3,
		    AUTH_EMAIL_MAX, &v, &email) && !auth_email_ok(email))
			verr_add(&v, "email", "invalid_format",
			    "email is not a valid address");
		if (jsonx_get_str(in, "password", JF_REQUIRED, 0, SIZE_MAX,
		    &v, &pw)) {
			(void)passwd_policy(pw, email, &issues);
			auth_pw_issues(&pv, "password", issues);
		}
		users_profile_read(in, USERS_SIGNUP, &prof, NULL, &v);
		(void)jsonx_get_enum(in, "role", JF_NULLABLE, auth_roles, &v,
		    &role);
		users_username_read(in, &v, &uname);
		if (verr_count(&v) == 0 && verr_count(&pv) > 0) {
			verr_clear(&v);
			return (rq_error(req, rq, 400, "weak_password",
			    "The password does not meet the policy",
			    json_pack("{s:o}", "fields", verr_take(&pv))));
		}
		if (verr_count(&v) > 0 || verr_count(&pv) > 0) {
			(void)json_array_extend(v.fields, pv.fields);
			verr_clear(&pv);
			return (rq_invalid(req, rq, &v));
		}
		verr_clear(&v);
		verr_clear(&pv);
		(void)kore_strlcpy(st->email, email, sizeof(st->email));
		st->password = pw;
		if (pwjob_start(req, &st->job, PWJOB_HASH, pw, NULL, NULL) == NULL)
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		auth_wipe(req, rq, st);
		rq->step = 2;
		return (KORE_RESULT_RETRY);
	case 2:
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		if (st->job->err) {
			pwjob_release(&st->job);
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		}
		(void)kore_strlcpy(st->hash, st->job->out, sizeof(st->hash));
		pwjob_release(&st->job);
		if (!auth_new_refresh(req, rq, st))
			return (KORE_RESULT_OK);

		in = rq->body;
		(void)snprintf(days, sizeof(days), "%d", cfg.refresh_ttl_days);
		params[0] = st->email;
		params[1] = st->hash;
		params[2] = json_string_value(json_object_get(in,
		    "full_name"));
		phone = json_string_value(json_object_get(in, "phone"));
		params[3] = phone != NULL && *phone != '\0' ? phone : NULL;
		params[4] = json_string_value(json_object_get(in,
		    "organization"));
		params[5] = json_string_value(json_object_get(in, "role"));
		params[6] = days;
		params[7] = rq->ip;
		params[8] = audit_ua(req, ua, sizeof(ua));
		params[9] = st->refresh_hash;
		params[10] = json_string_value(json_object_get(in,
		    "username"));
		db_start(req, &rq->q, sql_register, 11, params);
		rq->step = 3;
		/* FALLTHROUGH */
	case 3:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL) {
			if (db_sqlstate_is(&rq->q, "23505") &&
			    db_constraint_is(&rq->q, USERS_USERNAME_KEY))
				return (users_username_taken(req, rq));
			if (db_sqlstate_is(&rq->q, "23505"))
				return (rq_error(req, rq, 409, "email_taken",
				    "An account with this email already exists",
				    json_pack("{s:s}", "field", "email")));
			return (rq_db_error(req, rq));
		}
		return (auth_tokens(req, rq, 201, "Account created", st, 0));
	}
	return (rq_error(req, rq, 500, "internal_error", "Internal server error",
	    NULL));
}

/* POST /login: JSON {email, password} or an OAuth2 password form. */
static int
auth_login(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;
	const char	*email, *pw, *params[8], *reason;
	char		 n1[32], n2[32], ua[AUDIT_UA_SIZE];
	int		 r, ok;

	st = auth_state(rq);
	switch (rq->step) {
	case 0:
	case 1:
		if (!auth_login_input(req, rq, st, &email, &pw))
			return (KORE_RESULT_OK);
		(void)kore_strlcpy(st->email, email, sizeof(st->email));
		st->password = pw;
		(void)snprintf(n1, sizeof(n1), "%d", cfg.lockout_threshold);
		(void)snprintf(n2, sizeof(n2), "%d", cfg.lockout_window_s);
		params[0] = st->email;
		params[1] = rq->ip;
		params[2] = n1;
		params[3] = n2;
		db_start(req, &rq->q, sql_login_lookup, 4, params);
		rq->step = 2;
		/* FALLTHROUGH */
	case 2:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		if (!strcmp(db_val(&rq->q, 0, 0), "t")) {
			long	retry;

			retry = strtol(db_val(&rq->q, 0, 1), NULL, 10);
			if (retry < 1)
				retry = 1;
			(void)snprintf(n1, sizeof(n1), "%ld", retry);
			http_response_header(req, "retry-after", n1);
			return (rq_error(req, rq, 423, "account_locked",
			    "Too many failed logins; try again later",
			    json_pack("{s:I}", "retry_after",
			    (json_int_t)retry)));
		}
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
		    st->known ? st->hash : NULL) == NULL)
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		auth_wipe(req, rq, st);
		rq->step = 3;
		return (KORE_RESULT_RETRY);
	case 3:
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		ok = st->job->ok && st->known && st->active;
		if (!ok) {
			reason = !st->known ? "unknown_email" :
			    !st->job->ok ? "bad_password" : "inactive";
			pwjob_release(&st->job);
			(void)snprintf(n1, sizeof(n1), "%d",
			    cfg.lockout_threshold);
			(void)snprintf(n2, sizeof(n2), "%d",
			    cfg.lockout_window_s);
			params[0] = st->email;
			params[1] = rq->ip;
			params[2] = audit_ua(req, ua, sizeof(ua));
			params[3] = n1;
			params[4] = n2;
			params[5] = st->known ? st->user_id : NULL;
			params[6] = reason;
			params[7] = st->reached ? "true" : "false";
			db_start(req, &rq->q, sql_login_failed, 8, params);
			rq->step = 4;
			return (KORE_RESULT_RETRY);
		}
		(void)kore_strlcpy(st->newhash, st->job->out,
		    sizeof(st->newhash));
		pwjob_release(&st->job);
		if (!auth_new_refresh(req, rq, st))
			return (KORE_RESULT_OK);
		(void)snprintf(n1, sizeof(n1), "%d", cfg.refresh_ttl_days);
		params[0] = st->user_id;
		params[1] = n1;
		params[2] = rq->ip;
		params[3] = audit_ua(req, ua, sizeof(ua));
		params[4] = st->refresh_hash;
		params[5] = st->email;
		params[6] = st->newhash[0] != '\0' ? st->newhash : NULL;
		params[7] = st->hash;
		db_start(req, &rq->q, sql_login_ok, 8, params);
		rq->step = 5;
		return (KORE_RESULT_RETRY);
	case 4:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		return (rq_error(req, rq, 401, "invalid_credentials",
		    "Incorrect email or password", NULL));
	case 5:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		if (db_rows(&rq->q) != 1)
			return (rq_error(req, rq, 401, "invalid_credentials",
			    "Incorrect email or password", NULL));
		return (auth_tokens(req, rq, 200, "Logged in", st, 0));
	}
	return (rq_error(req, rq, 500, "internal_error", "Internal server error",
	    NULL));
}

/* POST /refresh {refresh_token} */
static int
auth_refresh(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;
	struct verr	 v;
	json_t		*in;
	const char	*tok, *outcome, *params[6];
	char		 hash[AUTHTOK_HASH_SIZE], grace[16], days[16];
	char		 ua[AUDIT_UA_SIZE];
	int		 r;

	st = auth_state(rq);
	switch (rq->step) {
	case 0:
	case 1:
		if (rq_json(req, rq, &in) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		/*
		 * Only a missing or empty token is a bad request; any other
		 * string that is not a live token (an access token, one of
		 * any length) is 401.  The body bound caps the length.
		 */
		verr_init(&v);
		(void)jsonx_get_str(in, "refresh_token", JF_REQUIRED, 1,
		    SIZE_MAX, &v, &tok);
		if (verr_count(&v) > 0)
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		if (!authtok_valid(tok) || authtok_hash(tok, hash) != 0)
			return (rq_error(req, rq, 401, "unauthorized",
			    "Invalid refresh token", NULL));
		if (!auth_new_refresh(req, rq, st))
			return (KORE_RESULT_OK);
		(void)snprintf(grace, sizeof(grace), "%d",
		    cfg.refresh_reuse_grace_s);
		(void)snprintf(days, sizeof(days), "%d", cfg.refresh_ttl_days);
		params[0] = hash;
		params[1] = st->refresh_hash;
		params[2] = grace;
		params[3] = days;
		params[4] = rq->ip;
		params[5] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_refresh, 6, params);
		rq->step = 2;
		/* FALLTHROUGH */
	case 2:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		outcome = db_rows(&rq->q) == 1 ? db_val(&rq->q, 0, 0) : "";
		if (!strcmp(outcome, "ok"))
			return (auth_tokens(req, rq, 200, "Token refreshed",
			    st, 1));
		if (!strcmp(outcome, "reused")) {
			revoke_add(db_val(&rq->q, 0, 6));
			return (rq_error(req, rq, 401, "token_reused",
			    "Refresh token reused; the session is revoked",
			    NULL));
		}
		if (!strcmp(outcome, "expired"))
			return (rq_error(req, rq, 401, "token_expired",
			    "The refresh token has expired", NULL));
		if (!strcmp(outcome, "revoked"))
			return (rq_error(req, rq, 401, "token_revoked",
			    "The session has been revoked", NULL));
		return (rq_error(req, rq, 401, "unauthorized",
		    "Invalid refresh token", NULL));
	}
	return (rq_error(req, rq, 500, "internal_error", "Internal server error",
	    NULL));
}

/* POST /logout, optional {all: true} */
static int
auth_logout(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*in;
	const char	*params[5];
	char		 ua[AUDIT_UA_SIZE];
	int		 all, present, r, n;

	if (rq->step == 0) {
		all = 0;
		if (req->http_body_length > 0) {
			if (rq_json(req, rq, &in) != KORE_RESULT_OK)
				return (KORE_RESULT_OK);
			verr_init(&v);
			(void)jsonx_get_bool(in, "all", JF_NULLABLE, &v, &all,
			    &present);
			if (verr_count(&v) > 0)
				return (rq_invalid(req, rq, &v));
			verr_clear(&v);
		}
		params[0] = rq->user.id;
		params[1] = rq->user.sid;
		params[2] = all ? "true" : "false";
		params[3] = rq->ip;
		params[4] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_logout, 5, params);
		rq->step = 1;
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL)
		return (rq_db_error(req, rq));
	n = auth_revoke_rows(&rq->q, 0);
	return (rq_ok(req, rq, 200, "Logged out",
	    json_pack("{s:I}", "sessions_revoked", (json_int_t)n)));
}

/* GET /me */
static int
auth_me(struct http_request *req, struct rq *rq)
{
	const char	*params[2];
	int		 r;

	if (rq->step == 0) {
		params[0] = rq->user.id;
		params[1] = rq->user.sid;
		db_start(req, &rq->q, sql_me, 2, params);
		rq->step = 1;
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL)
		return (rq_db_error(req, rq));
	if (db_rows(&rq->q) != 1)
		return (rq_error(req, rq, 401, "token_revoked",
		    "The session has been revoked", NULL));
	return (rq_ok_raw(req, rq, 200, "Current user", db_val(&rq->q, 0, 0),
	    (size_t)db_len(&rq->q, 0, 0)));
}

/* GET /sessions: the caller's live sessions. */
static int
auth_sessions(struct http_request *req, struct rq *rq)
{
	const char	*params[4];
	char		 lim[RQ_NUM], off[RQ_NUM];

	if (rq->step == 0) {
		if (!rq_page_text(req, rq, lim, off))
			return (KORE_RESULT_OK);
		params[0] = rq->user.id;
		params[1] = rq->user.sid;
		params[2] = lim;
		params[3] = off;
		db_start(req, &rq->q, sql_sessions, 4, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Sessions"));
}

/* DELETE /sessions/{id}: 404 unless it is one of the caller's. */
static int
auth_session_delete(struct http_request *req, struct rq *rq)
{
	const char	*params[5];
	char		 id[UUID_STRLEN + 1], ua[AUDIT_UA_SIZE];
	int		 r;

	if (rq->step == 0) {
		if (!rq_path_id(req, 4, id, sizeof(id)) || !uuid_valid(id))
			return (rq_not_found(req, rq));
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = rq->ip;
		params[3] = audit_ua(req, ua, sizeof(ua));
		params[4] = rq->user.sid;
		db_start(req, &rq->q, sql_session_delete, 5, params);
		rq->step = 1;
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL)
		return (rq_db_error(req, rq));
	if (db_rows(&rq->q) != 1)
		return (rq_not_found(req, rq));
	revoke_add(db_val(&rq->q, 0, 0));
	return (rq_ok(req, rq, 200, "Session revoked",
	    json_pack("{s:s}", "revoked_id", db_val(&rq->q, 0, 0))));
}

/* POST /password {current_password, new_password} */
static int
auth_password(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;
	struct verr	 v, pv;
	json_t		*in;
	const char	*cur, *nw, *params[6];
	char		 ua[AUDIT_UA_SIZE];
	int		 r, issues;

	st = auth_state(rq);
	switch (rq->step) {
	case 0:
		if (rq_json(req, rq, &in) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		(void)jsonx_get_str(in, "current_password", JF_REQUIRED, 1,
		    PASSWD_MAX_CHARS, &v, &cur);
		(void)jsonx_get_str(in, "new_password", JF_REQUIRED, 0,
		    SIZE_MAX, &v, &nw);
		if (verr_count(&v) > 0)
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = rq->user.id;
		db_start(req, &rq->q, sql_password_user, 1, params);
		rq->step = 1;
		/* FALLTHROUGH */
	case 1:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		if (db_rows(&rq->q) != 1)
			return (rq_not_found(req, rq));
		in = rq->body;
		cur = json_string_value(json_object_get(in,
		    "current_password"));
		nw = json_string_value(json_object_get(in, "new_password"));
		verr_init(&pv);
		(void)passwd_policy(nw, db_val(&rq->q, 0, 0), &issues);
		auth_pw_issues(&pv, "new_password", issues);
		if (issues == 0 && !strcmp(cur, nw))
			verr_add(&pv, "new_password", "same_as_current",
			    "must differ from the current password");
		if (verr_count(&pv) > 0)
			return (rq_error(req, rq, 400, "weak_password",
			    "The password does not meet the policy",
			    json_pack("{s:o}", "fields", verr_take(&pv))));
		verr_clear(&pv);
		(void)kore_strlcpy(st->hash, db_val(&rq->q, 0, 1),
		    sizeof(st->hash));
		if (pwjob_start(req, &st->job, PWJOB_CHANGE, cur, nw, st->hash) ==
		    NULL)
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		auth_wipe(req, rq, st);
		rq->step = 2;
		return (KORE_RESULT_RETRY);
	case 2:
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		if (!st->job->ok) {
			pwjob_release(&st->job);
			verr_init(&v);
			verr_add(&v, "current_password", "incorrect",
			    "the current password is not correct");
			return (rq_invalid(req, rq, &v));
		}
		if (st->job->err) {
			pwjob_release(&st->job);
			return (rq_error(req, rq, 500, "internal_error",
			    "Internal server error", NULL));
		}
		params[0] = rq->user.id;
		params[1] = st->job->out;
		params[2] = rq->user.sid;
		params[3] = rq->ip;
		params[4] = audit_ua(req, ua, sizeof(ua));
		params[5] = st->hash;
		db_start(req, &rq->q, sql_password_change, 6, params);
		pwjob_release(&st->job);
		rq->step = 3;
		/* FALLTHROUGH */
	case 3:
		if ((r = db_poll(req, &rq->q)) == DB_WAIT)
			return (KORE_RESULT_RETRY);
		if (r == DB_FAIL)
			return (rq_db_error(req, rq));
		if (db_rows(&rq->q) == 0 || !db_isnull(&rq->q, 0, 0))
			return (rq_error(req, rq, 409, "conflict",
			    "The password was changed concurrently", NULL));
		return (rq_ok(req, rq, 200, "Password changed",
		    json_pack("{s:I}", "sessions_revoked",
		    (json_int_t)auth_revoke_rows(&rq->q, 1))));
	}
	return (rq_error(req, rq, 500, "internal_error", "Internal server error",
	    NULL));
}

/* Session ids in column 0 from row first on: into the cache; count. */
static int
auth_revoke_rows(struct dbq *q, int first)
{
	int		i, n;

	n = 0;
	for (i = first; i < db_rows(q); i++) {
		if (db_isnull(q, i, 0))
			continue;
		revoke_add(db_val(q, i, 0));
		n++;
	}
	return (n);
}

/*
 * The token payload from the row of rq->q whose columns base.. are:
 * session id, user id, role, is_superuser, user JSON; and the refresh
 * token in st.  The role claim is "admin" for superusers, else the
 * user's role (a non-superuser never carries "admin").
 */
static int
auth_tokens(struct http_request *req, struct rq *rq, int status,
    const char *message, struct auth_st *st, int base)
{
	struct jwt_claims	 c;
	json_t			*user, *data;
	char			*tok;
	const char		*role;
	int			 su;
	time_t			 now;

	if (db_rows(&rq->q) != 1 || db_isnull(&rq->q, 0, base) ||
	    db_isnull(&rq->q, 0, base + 4))
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL));
	memset(&c, 0, sizeof(c));
	(void)kore_strlcpy(c.sid, db_val(&rq->q, 0, base), sizeof(c.sid));
	(void)kore_strlcpy(c.sub, db_val(&rq->q, 0, base + 1), sizeof(c.sub));
	su = !strcmp(db_val(&rq->q, 0, base + 3), "t");
	role = db_val(&rq->q, 0, base + 2);
	if (su)
		role = "admin";
	else if (!jwt_role_valid(role) || !strcmp(role, "admin"))
		role = "user";
	(void)kore_strlcpy(c.role, role, sizeof(c.role));
	if (uuid_generate(c.jti) != 0)
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL));
	now = time(NULL);
	c.iat = (int64_t)now;
	c.exp = (int64_t)now + cfg.access_ttl_s;
	user = json_loadb(db_val(&rq->q, 0, base + 4),
	    (size_t)db_len(&rq->q, 0, base + 4), 0, NULL);
	c.ev = json_is_true(json_object_get(user, "email_verified"));
	if (auth_token_sign(&c, &tok) != 0) {
		json_decref(user);
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL));
	}
	data = json_pack("{s:s, s:s, s:s, s:I, s:o*}", "access_token", tok,
	    "refresh_token", st->refresh, "token_type", "bearer",
	    "expires_in", (json_int_t)cfg.access_ttl_s, "user", user);
	free(tok);
	return (rq_ok(req, rq, status, message, data));
}

/* A fresh refresh token and its hash in st; 0 when it has answered. */
static int
auth_new_refresh(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	if (authtok_new(st->refresh, sizeof(st->refresh)) != 0 ||
	    authtok_hash(st->refresh, st->refresh_hash) != 0) {
		(void)rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL);
		return (0);
	}
	return (1);
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
	verr_init(&v);
	if (ct != NULL && !strncasecmp(ct, "application/x-www-form-urlencoded",
	    33)) {
		if (!auth_form(req, rq, st))
			return (0);
		if (st->form_user == NULL)
			verr_add(&v, "username", "missing",
			    "username is required");
		else if (*st->form_user == '\0' ||
		    strlen(st->form_user) > AUTH_EMAIL_MAX * 4)
			verr_add(&v, "username", "invalid",
			    "username must be an email address");
		if (st->form_pw == NULL)
			verr_add(&v, "password", "missing",
			    "password is required");
		else if (strlen(st->form_pw) > AUTH_PW_MAX_BYTES)
			verr_add(&v, "password", "too_long",
			    "password is too long");
		*email = st->form_user;
		*pw = st->form_pw;
	} else {
		if (rq_json(req, rq, &in) != KORE_RESULT_OK)
			return (0);
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

/*
 * Reads an application/x-www-form-urlencoded body into st->form_*:
 * username, password, and grant_type (must be "password" when given).
 * Bounded by AUTH_FORM_MAX; every value percent-decoded and checked to
 * be UTF-8 without NUL.  On a bad body it has answered and returns 0.
 */
static int
auth_form(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	char		*buf, *pair, *val, *save, *p;
	size_t		 len, off;
	ssize_t		 r;
	int		 bad;

	len = req->http_body_length;
	if (len > AUTH_FORM_MAX) {
		(void)rq_error(req, rq, 413, "payload_too_large",
		    "Request body is too large", NULL);
		return (0);
	}
	buf = kore_malloc(len + 1);
	off = 0;
	while (off < len) {
		r = http_body_read(req, buf + off, len - off);
		if (r <= 0)
			break;
		off += (size_t)r;
	}
	buf[off] = '\0';

	bad = strlen(buf) != off;
	for (p = buf; !bad && (pair = strtok_r(p, "&", &save)) != NULL;
	    p = NULL) {
		if ((val = strchr(pair, '=')) != NULL)
			*val++ = '\0';
		else
			val = pair + strlen(pair);
		if (!auth_urldecode(pair) || !auth_urldecode(val)) {
			bad = 1;
			break;
		}
		if (!strcmp(pair, "username") && st->form_user == NULL)
			st->form_user = kore_strdup(val);
		else if (!strcmp(pair, "password") && st->form_pw == NULL)
			st->form_pw = kore_strdup(val);
		else if (!strcmp(pair, "grant_type") && *val != '\0' &&
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

/* In place: '+' is a space, %XX a byte; 0 on a bad escape, NUL, bad UTF-8. */
static int
auth_urldecode(char *s)
{
	char		*o, *p;
	int		 hi, lo;

	for (p = o = s; *p != '\0'; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2]))
				return (0);
			hi = isdigit((unsigned char)p[1]) ? p[1] - '0' :
			    (tolower((unsigned char)p[1]) - 'a' + 10);
			lo = isdigit((unsigned char)p[2]) ? p[2] - '0' :
			    (tolower((unsigned char)p[2]) - 'a' + 10);
			if (hi == 0 && lo == 0)
				return (0);
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (utf8_valid(s, (size_t)(o - s)));
}

/*
 * A practical address check (not all of RFC 5321): ASCII, one '@', a
 * local part of 1-64 characters without spaces, quotes or dots at the
 * ends, and a domain of at least two dot-separated labels of letters,
 * digits and inner hyphens, the last alphabetic (or an xn-- label).
 */
static int
auth_email_ok(const char *s)
{
	const char	*at, *p, *label;
	size_t		 n;

	if (strlen(s) > AUTH_EMAIL_MAX || (at = strchr(s, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL)
		return (0);
	n = (size_t)(at - s);
	if (n == 0 || n > AUTH_EMAIL_LOCAL_MAX || s[0] == '.' ||
	    at[-1] == '.')
		return (0);
	for (p = s; p < at; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("\"(),:;<>[\\]", *p) != NULL ||
		    (*p == '.' && p[1] == '.'))
			return (0);
	}
	label = at + 1;
	n = 0;
	for (p = at + 1; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > AUTH_LABEL_MAX ||
			    label[0] == '-' || p[-1] == '-')
				return (0);
			if (*p == '\0')
				break;
			n++;
			label = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return (0);
	}
	if (n == 0)
		return (0);
	/* The top-level label: letters, or an IDN in ACE form. */
	if (strncasecmp(label, "xn--", 4) == 0)
		return (1);
	for (p = label; *p != '\0'; p++) {
		if (!isalpha((unsigned char)*p))
			return (0);
	}
	return (p - label >= 2);
}

static void
auth_pw_issues(struct verr *v, const char *field, int issues)
{
	int		bit;

	for (bit = 1; bit <= PASSWD_ISSUE_ALL; bit <<= 1) {
		if (issues & bit)
			verr_add(v, field, passwd_issue_code(bit), "%s %s",
			    field, passwd_issue_message(bit));
	}
}

static struct auth_st *
auth_state(struct rq *rq)
{
	return (rq_state(rq, sizeof(struct auth_st), auth_st_free));
}

/* Runs from rq_free, possibly while a task still writes into st->job. */
/*
 * The password job holds its own copy (wiped when released): wipe the
 * request's, in the connection's buffer, the raw body, the parsed JSON
 * and the login form.
 */
static void
auth_wipe(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	static const char *const keys[] = { "password", "current_password",
	    "new_password", NULL };
	struct netbuf	*nb;
	const char	*v;
	int		 i;


	if (req->http_body != NULL && req->http_body->data != NULL)
		explicit_bzero(req->http_body->data, req->http_body->offset);
	/*
	 * The connection's receive buffer still holds the raw request past
	 * what it has received since (s_off): the next request's bytes, if
	 * any, are before that.
	 */
	if (req->owner != NULL && (nb = req->owner->rnb) != NULL &&
	    nb->buf != NULL && nb->s_off < nb->m_len)
		explicit_bzero(nb->buf + nb->s_off, nb->m_len - nb->s_off);
	for (i = 0; rq->body != NULL && keys[i] != NULL; i++) {
		if ((v = json_string_value(json_object_get(rq->body,
		    keys[i]))) != NULL)
			explicit_bzero((void *)(uintptr_t)v,
			    json_string_length(json_object_get(rq->body,
			    keys[i])));
	}
	if (st->form_pw != NULL)
		explicit_bzero(st->form_pw, strlen(st->form_pw));
	st->password = NULL;
}

static void
auth_st_free(void *p)
{
	struct auth_st	*st = p;

	kore_free(st->form_user);
	if (st->form_pw != NULL)
		explicit_bzero(st->form_pw, strlen(st->form_pw));
	kore_free(st->form_pw);
	st->form_user = st->form_pw = NULL;
	pwjob_abandon(&st->job);
}

