/*
 * Sessions (docs/API.md §2): refresh, logout, the current user, the
 * caller's sessions, and the password change.
 *
 * Refresh is one statement: the UPDATE of the presented token decides
 * the race between concurrent refreshes (PostgreSQL re-reads the row
 * after the lock), so exactly one wins; a loser within
 * REFRESH_REUSE_GRACE_S from the same client (ip and user agent) still
 * gets a pair of its own; after it, or from another client, the session
 * is revoked (token_reused).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "audit.h"
#include "auth.h"
#include "auth_int.h"
#include "revoke.h"

static int	auth_refresh(struct http_request *, struct rq *);
static int	auth_refresh_start(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_refresh_answer(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_logout(struct http_request *, struct rq *);
static int	auth_me(struct http_request *, struct rq *);
static int	auth_sessions(struct http_request *, struct rq *);
static int	auth_session_delete(struct http_request *, struct rq *);
static int	auth_password(struct http_request *, struct rq *);
static int	auth_password_read(struct http_request *, struct rq *);
static int	auth_password_check(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_password_store(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_password_answer(struct http_request *, struct rq *);
static int	auth_revoke_rows(struct dbq *, int);

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

/* POST /refresh {refresh_token} */
static int
auth_refresh(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;

	st = auth_state(rq);
	if (rq->step == 0) {
		if (!auth_refresh_start(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	return (auth_refresh_answer(req, rq, st));
}

/*
 * Only a missing or empty token is a bad request; any other string that
 * is not a live token (an access token, one of any length) is 401.  The
 * body bound caps the length.  0 when it has answered.
 */
static int
auth_refresh_start(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	struct verr	 v;
	json_t		*in;
	const char	*tok, *params[6];
	char		 hash[AUTHTOK_HASH_SIZE], grace[RQ_NUM], days[RQ_NUM];
	char		 ua[AUDIT_UA_SIZE];

	if (rq_json(req, rq, &in) != KORE_RESULT_OK)
		return (0);
	verr_init(&v);
	(void)jsonx_get_str(in, "refresh_token", JF_REQUIRED, 1, SIZE_MAX,
	    &v, &tok);
	if (verr_count(&v) > 0) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	if (!authtok_valid(tok) || authtok_hash(tok, hash) != 0) {
		(void)rq_error(req, rq, 401, "unauthorized",
		    "Invalid refresh token", NULL);
		return (0);
	}
	if (!auth_new_refresh(req, rq, st))
		return (0);
	(void)snprintf(grace, sizeof(grace), "%d", cfg.refresh_reuse_grace_s);
	(void)snprintf(days, sizeof(days), "%d", cfg.refresh_ttl_days);
	params[0] = hash;
	params[1] = st->refresh_hash;
	params[2] = grace;
	params[3] = days;
	params[4] = rq->ip;
	params[5] = audit_ua(req, ua, sizeof(ua));
	db_start(req, &rq->q, sql_refresh, 6, params);
	return (1);
}

static int
auth_refresh_answer(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	const char	*outcome;
	int		 r;

	if (!rq_polled(req, rq, &r))
		return (r);
	outcome = db_rows(&rq->q) == 1 ? db_val(&rq->q, 0, 0) : "";
	if (!strcmp(outcome, "ok"))
		return (auth_tokens(req, rq, 200, "Token refreshed", st, 1));
	if (!strcmp(outcome, "reused")) {
		revoke_add(db_val(&rq->q, 0, 6));
		return (rq_error(req, rq, 401, "token_reused",
		    "Refresh token reused; the session is revoked", NULL));
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
	if (!rq_polled(req, rq, &r))
		return (r);
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
	if (!rq_polled(req, rq, &r))
		return (r);
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
		if (!q_page_text(req, rq, lim, off))
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
	if (!rq_polled(req, rq, &r))
		return (r);
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
	int		 r;

	st = auth_state(rq);
	if (rq->step == 0) {
		if (!auth_password_read(req, rq))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!rq_polled(req, rq, &r))
			return (r);
		if (!auth_password_check(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	if (rq->step == 2) {
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		if (!auth_password_store(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 3;
	}
	return (auth_password_answer(req, rq));
}

/* Changed: the other sessions revoked; 409 when changed meanwhile. */
static int
auth_password_answer(struct http_request *req, struct rq *rq)
{
	int		r;

	if (!rq_polled(req, rq, &r))
		return (r);
	if (db_rows(&rq->q) == 0 || !db_isnull(&rq->q, 0, 0))
		return (rq_error(req, rq, 409, "conflict",
		    "The password was changed concurrently", NULL));
	return (rq_ok(req, rq, 200, "Password changed",
	    json_pack("{s:I}", "sessions_revoked",
	    (json_int_t)auth_revoke_rows(&rq->q, 1))));
}

/* Both fields given: the user's hash looked up; 0 when it has answered. */
static int
auth_password_read(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*in;
	const char	*cur, *nw, *params[1];

	if (rq_json(req, rq, &in) != KORE_RESULT_OK)
		return (0);
	verr_init(&v);
	(void)jsonx_get_str(in, "current_password", JF_REQUIRED, 1,
	    PASSWD_MAX_CHARS, &v, &cur);
	(void)jsonx_get_str(in, "new_password", JF_REQUIRED, 0, SIZE_MAX, &v,
	    &nw);
	if (verr_count(&v) > 0) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	params[0] = rq->user.id;
	db_start(req, &rq->q, sql_password_user, 1, params);
	return (1);
}

/*
 * The new password against the policy (weak_password), then the job
 * that checks the current one and hashes the new; 0 when it has
 * answered.
 */
static int
auth_password_check(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	struct verr	 pv;
	const char	*cur, *nw;
	int		 issues;

	if (db_rows(&rq->q) != 1) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	cur = json_string_value(json_object_get(rq->body, "current_password"));
	nw = json_string_value(json_object_get(rq->body, "new_password"));
	verr_init(&pv);
	(void)passwd_policy(nw, db_val(&rq->q, 0, 0), &issues);
	auth_pw_issues(&pv, "new_password", issues);
	if (issues == 0 && !strcmp(cur, nw))
		verr_add(&pv, "new_password", "same_as_current",
		    "must differ from the current password");
	if (verr_count(&pv) > 0) {
		(void)rq_error(req, rq, 400, "weak_password",
		    "The password does not meet the policy",
		    json_pack("{s:o}", "fields", verr_take(&pv)));
		return (0);
	}
	verr_clear(&pv);
	(void)kore_strlcpy(st->hash, db_val(&rq->q, 0, 1), sizeof(st->hash));
	if (pwjob_start(req, &st->job, PWJOB_CHANGE, cur, nw, st->hash) ==
	    NULL) {
		(void)auth_internal(req, rq);
		return (0);
	}
	auth_wipe(req, rq, st);
	return (1);
}

/* The job done: 400 on a wrong current password, else store the hash. */
static int
auth_password_store(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	struct verr	 v;
	const char	*params[6];
	char		 ua[AUDIT_UA_SIZE];

	if (!st->job->ok) {
		pwjob_release(&st->job);
		verr_init(&v);
		verr_add(&v, "current_password", "incorrect",
		    "the current password is not correct");
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	if (st->job->err) {
		pwjob_release(&st->job);
		(void)auth_internal(req, rq);
		return (0);
	}
	params[0] = rq->user.id;
	params[1] = st->job->out;
	params[2] = rq->user.sid;
	params[3] = rq->ip;
	params[4] = audit_ua(req, ua, sizeof(ua));
	params[5] = st->hash;
	db_start(req, &rq->q, sql_password_change, 6, params);
	pwjob_release(&st->job);
	return (1);
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
