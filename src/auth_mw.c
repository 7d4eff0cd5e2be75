/*
 * Authentication middleware.  A Bearer access token is checked in C
 * (HS256 signature, exp; a token this worker verified lately is found in
 * src/lib/jwtcache.c instead, whole and still unexpired); then the
 * session:
 *
 * - a session this worker knows to be revoked (src/revoke.c) is refused
 *   at once, without the database;
 * - while the revocation cache is live, a request for a session this
 *   worker has already checked in the database, within the worker's
 *   local share of the per-user rate limit (src/ratelimit.c), needs no
 *   database at all: logout, deactivation and soft delete revoke the
 *   sessions (a trigger does it for any writer) and reach every worker
 *   through the NOTIFY;
 * - otherwise one statement adds to the per-user counter in rate_limits
 *   and reads the session and its user by primary key, so revocation,
 *   deactivation and soft delete also bite inside the NOTIFY window;
 * - methods flagged RQ_NOLIMIT skip the counter;
 * - RQ_ADMIN methods always take the statement: admin rights come from
 *   users.is_superuser as it is now, not from the token's role claim, so
 *   a demoted admin loses them on the next request;
 * - with EMAIL_VERIFICATION=required, a token issued before the email
 *   was verified (no "ev" claim) takes the statement too, which reads
 *   users.email_verified: still unverified, every method not flagged
 *   RQ_UNVERIFIED answers 403 email_unverified.  Verification is never
 *   undone (the email cannot change), so "ev" tokens skip the check.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "auth_mw.h"
#include "ratelimit.h"
#include "revoke.h"
#include "lib/jwt.h"
#include "lib/jwtcache.h"
#include "lib/netaddr.h"
#include "lib/ratewin.h"

#define AUTH_KEY_MAX		(NETADDR_KEYLEN + AUTH_ENDPOINT_MAX + 16)

static int	auth_bearer(struct http_request *, struct rq *,
		    struct jwt_claims *);
static int	auth_local(struct rq *, const struct jwt_claims *,
		    const char *);
static void	auth_check(struct http_request *, struct rq *, const char *);
static int	auth_checked(struct http_request *, struct rq *);
static int	auth_gated(struct rq *);
static int	auth_unauthorized(struct http_request *, struct rq *,
		    const char *, const char *);
static int	auth_limited(struct http_request *, struct rq *, long);

/*
 * $1 session id, $2 user id, $3 counter key, $4 what to add to the
 * counter: this request plus what this worker counted locally (0: none).
 * No row: the session no longer exists (its user was purged).
 */
static const char sql_auth_check[] =
    "WITH s AS ("
    "SELECT s.revoked_at IS NULL AND s.expires_at > now() AND u.is_active "
    "AND u.deleted_at IS NULL AS ok, u.is_superuser, u.role, "
    "u.email_verified "
    "FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.id = $1::uuid AND s.user_id = $2::uuid), "
    "r AS (INSERT INTO rate_limits AS rl (key, window_start, count) "
    "SELECT $3, date_trunc('minute', now()), $4::int FROM s "
    "WHERE s.ok AND $4::int > 0 "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rl.count + "
    "excluded.count "
    "RETURNING count, extract(epoch FROM window_start)::bigint + 60 "
    "AS reset) "
    "SELECT s.ok, s.is_superuser, s.role, r.count, r.reset, "
    "s.email_verified "
    "FROM s LEFT JOIN r ON true";

static const char sql_ip_limit[] =
    "INSERT INTO rate_limits AS rl (key, window_start, count) "
    "VALUES ($1, date_trunc('minute', now()), 1) "
    "ON CONFLICT (key, window_start) DO UPDATE SET count = rl.count + 1 "
    "RETURNING count, extract(epoch FROM window_start)::bigint + 60";

/*
 * Access tokens are signed with the configured signing key and carry its
 * id; every key of the set verifies (JWT_KEYS: rotation logs nobody out).
 */
int
auth_token_sign(struct jwt_claims *c, char **out)
{
	const struct config_jwt_key	*k;

	k = &cfg.jwt_keys[cfg.jwt_signer];
	(void)kore_strlcpy(c->kid, k->kid, sizeof(c->kid));
	return (jwt_sign(c, (const unsigned char *)k->secret,
	    strlen(k->secret), out));
}

enum jwt_result
auth_token_verify(const char *tok, struct jwt_claims *c)
{
	static struct jwt_key	keys[CONFIG_JWT_KEYS_MAX];
	static size_t		n;
	static struct jwtc	*cache;
	enum jwt_result		r;
	uint64_t		seed;
	size_t			len;
	time_t			now;
	int			i;

	if (n == 0) {
		for (i = 0; i < cfg.n_jwt_keys; i++) {
			keys[i].kid = cfg.jwt_keys[i].kid;
			keys[i].key = (const unsigned char *)
			    cfg.jwt_keys[i].secret;
			keys[i].len = strlen(cfg.jwt_keys[i].secret);
		}
		n = (size_t)cfg.n_jwt_keys;
		if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
			fatal("RAND_bytes failed");
		cache = kore_malloc(sizeof(*cache));
		jwtc_init(cache, seed);
	}
	now = time(NULL);
	len = strnlen(tok, JWT_MAX_LEN + 1);
	if (jwtc_get(cache, tok, len, now, c))
		return (JWT_OK);
	if ((r = jwt_verify_keys(tok, keys, n, now, c)) == JWT_OK)
		jwtc_put(cache, tok, len, c);
	return (r);
}

int
auth_require(struct http_request *req, struct rq *rq)
{
	struct jwt_claims	 c;
	char			 key[AUTH_KEY_MAX];
	int			 r;

	if (rq->step == 0) {
		if (auth_bearer(req, rq, &c) == RQ_DONE)
			return (RQ_DONE);
		(void)snprintf(key, sizeof(key), "user:%s", rq->user.id);
		if (auth_local(rq, &c, key)) {
			rq->authed = 1;
			return (RQ_CONT);
		}
		auth_check(req, rq, key);
		rq->step = 1;
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (RQ_WAIT);
	if (r == DB_FAIL) {
		(void)rq_db_error(req, rq);
		return (RQ_DONE);
	}
	return (auth_checked(req, rq));
}

int
auth_ip_limit(struct http_request *req, struct rq *rq, const char *endpoint)
{
	const char	*params[1];
	char		 key[AUTH_KEY_MAX], ipkey[NETADDR_KEYLEN];
	int		 r;

	if (!rq->q.busy) {
		netaddr_limit_key(rq->ip, ipkey, sizeof(ipkey));
		(void)snprintf(key, sizeof(key), "ip:%s:%.*s", ipkey,
		    AUTH_ENDPOINT_MAX, endpoint);
		params[0] = key;
		db_start(req, &rq->q, sql_ip_limit, 1, params);
	}
	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (RQ_WAIT);
	if (r == DB_FAIL) {
		(void)rq_db_error(req, rq);
		return (RQ_DONE);
	}
	if (db_rows(&rq->q) != 1) {
		(void)rq_error(req, rq, 500, "internal_error",
		    "Internal server error", NULL);
		return (RQ_DONE);
	}
	ratelimit_counted(&rq->rl, cfg.auth_rate_per_min, db_val(&rq->q, 0, 0),
	    db_val(&rq->q, 0, 1));
	if (rq->rl.remaining < 0)
		return (auth_limited(req, rq, rq->rl.reset));
	return (RQ_CONT);
}

/*
 * The Bearer token: signature, expiry, this worker's revocations; then
 * rq->user from its claims (RQ_CONT), or the 401 sent (RQ_DONE).
 */
static int
auth_bearer(struct http_request *req, struct rq *rq, struct jwt_claims *c)
{
	const char	*h;
	enum jwt_result	 jr;

	h = rq_header(req, "authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (auth_unauthorized(req, rq, "unauthorized",
		    "Authentication required"));
	for (h += 7; *h == ' '; h++)
		;
	jr = auth_token_verify(h, c);
	if (jr == JWT_EXPIRED)
		return (auth_unauthorized(req, rq, "token_expired",
		    "The access token has expired"));
	if (jr != JWT_OK)
		return (auth_unauthorized(req, rq, "unauthorized",
		    "Invalid access token"));
	if (revoke_has(c->sid))
		return (auth_unauthorized(req, rq, "token_revoked",
		    "The session has been revoked"));

	(void)kore_strlcpy(rq->user.id, c->sub, sizeof(rq->user.id));
	(void)kore_strlcpy(rq->user.sid, c->sid, sizeof(rq->user.sid));
	(void)kore_strlcpy(rq->user.role, c->role, sizeof(rq->user.role));
	rq->user.admin = !strcmp(c->role, "admin");
	return (RQ_CONT);
}

/*
 * 1 when the request needs no database at all: the revocation cache is
 * live, this worker has checked the session before, and the request fits
 * the worker's local share of the rate limit (src/ratelimit.c).
 */
static int
auth_local(struct rq *rq, const struct jwt_claims *c, const char *key)
{
	if ((rq->m->flags & 0x0f) == RQ_ADMIN || (auth_gated(rq) && !c->ev))
		return (0);
	if (!revoke_live() || !revoke_known(c->sid, c->sub))
		return (0);
	return ((rq->m->flags & RQ_NOLIMIT) ||
	    ratelimit_local(key, cfg.rate_per_min, &rq->rl));
}

/* Start sql_auth_check, with what this worker counted locally. */
static void
auth_check(struct http_request *req, struct rq *rq, const char *key)
{
	const char	*params[4];
	char		 add[32];

	(void)snprintf(add, sizeof(add), "%ld", (rq->m->flags & RQ_NOLIMIT) ?
	    0 : 1 + ratelimit_take(key));
	params[0] = rq->user.sid;
	params[1] = rq->user.id;
	params[2] = key;
	params[3] = add;
	db_start(req, &rq->q, sql_auth_check, 4, params);
}

/* sql_auth_check's row: the session, the rights, the counter. */
static int
auth_checked(struct http_request *req, struct rq *rq)
{
	char		key[AUTH_KEY_MAX];
	const char	*count, *reset;

	if (db_rows(&rq->q) != 1 || strcmp(db_val(&rq->q, 0, 0), "t") != 0)
		return (auth_unauthorized(req, rq, "token_revoked",
		    "The session has been revoked"));

	revoke_remember(rq->user.sid, rq->user.id);
	rq->user.admin = !strcmp(db_val(&rq->q, 0, 1), "t");
	(void)kore_strlcpy(rq->user.role, rq->user.admin ? "admin" :
	    db_val(&rq->q, 0, 2), sizeof(rq->user.role));
	if (!(rq->m->flags & RQ_NOLIMIT)) {
		count = db_val(&rq->q, 0, 3);
		reset = db_val(&rq->q, 0, 4);
		ratelimit_counted(&rq->rl, cfg.rate_per_min, count, reset);
		(void)snprintf(key, sizeof(key), "user:%s", rq->user.id);
		if (count != NULL)
			ratelimit_seen(key, strtol(count, NULL, 10),
			    strtol(reset, NULL, 10));
		if (rq->rl.remaining < 0)
			return (auth_limited(req, rq, rq->rl.reset));
	}
	rq->authed = 1;
	if (auth_gated(rq) && strcmp(db_val(&rq->q, 0, 5), "t") != 0) {
		(void)rq_error(req, rq, 403, "email_unverified",
		    "Verify your email address first: POST "
		    "/api/v1/auth/email/request, then /api/v1/auth/email/verify",
		    NULL);
		return (RQ_DONE);
	}
	if ((rq->m->flags & 0x0f) == RQ_ADMIN && !rq->user.admin) {
		(void)rq_error(req, rq, 403, "forbidden",
		    "Administrator rights required", NULL);
		return (RQ_DONE);
	}
	return (RQ_CONT);
}

/* The method needs a verified email (EMAIL_VERIFICATION=required). */
static int
auth_gated(struct rq *rq)
{
	return (cfg.email_verification == CONFIG_EMAIL_REQUIRED &&
	    (rq->m->flags & RQ_UNVERIFIED) == 0);
}

static int
auth_limited(struct http_request *req, struct rq *rq, long reset)
{
	char		num[32];
	long		wait;

	wait = ratewin_retry_after(reset, time(NULL));
	(void)snprintf(num, sizeof(num), "%ld", wait);
	http_response_header(req, "retry-after", num);
	(void)rq_error(req, rq, 429, "rate_limited", "Too many requests",
	    json_pack("{s:I, s:I}", "limit", (json_int_t)rq->rl.limit,
	    "retry_after", (json_int_t)wait));
	return (RQ_DONE);
}

static int
auth_unauthorized(struct http_request *req, struct rq *rq, const char *code,
    const char *message)
{
	(void)rq_error(req, rq, 401, code, message, NULL);
	return (RQ_DONE);
}
