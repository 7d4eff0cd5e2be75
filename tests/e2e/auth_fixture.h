/*
 * DEPRECATED: new and converted suites use fixture.h (one user type, one
 * error check); this header goes once no suite includes it.
 *
 * Shared pieces of the auth suites: accounts registered through the real
 * API, logins (JSON and form) at any instance, forged tokens, error
 * checks, and one-off SQL against the test database.
 */
#ifndef ELENCHUS_AUTH_FIXTURE_H
#define ELENCHUS_AUTH_FIXTURE_H

#include <criterion/criterion.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"
#include "jwt.h"
#include "uuid.h"

#define AF_PASSWORD	"Str0ng-Passw0rd!"
#define AF_SECRET	"e2e-secret-0123456789abcdef0123456789"
#define AF_TOKEN_MAX	4096

struct afa {
	char		id[64];
	char		email[200];
	char		access[AF_TOKEN_MAX];
	char		refresh[128];
};

static inline const char *
af_base(const char *base)
{
	return (base ? base : env_or("E2E_BASE", "http://127.0.0.1:8080"));
}

/* A request with an optional bearer token and X-Forwarded-For. */
static inline struct resp *
af_call(const char *base, const char *method, const char *path,
    const char *token, const char *xff, const char *json)
{
	const char	*hdrs[5];
	char		 auth[AF_TOKEN_MAX + 64], fwd[128];
	int		 n;

	n = 0;
	hdrs[n++] = "Content-Type: application/json";
	hdrs[n++] = "User-Agent: elenchus-e2e/1.0";
	if (token != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    token);
		hdrs[n++] = auth;
	}
	if (xff != NULL) {
		(void)snprintf(fwd, sizeof(fwd), "X-Forwarded-For: %s", xff);
		hdrs[n++] = fwd;
	}
	hdrs[n] = NULL;
	return (http_req_to(af_base(base), method, path, hdrs, json,
	    json ? strlen(json) : 0));
}

static inline void
af_take(struct afa *a, struct resp *r)
{
	const char	*id, *at, *rt;

	id = jstr(r, "data.user.id");
	at = jstr(r, "data.access_token");
	rt = jstr(r, "data.refresh_token");
	cr_assert(id && at && rt, "no token payload: %ld %s", r->status,
	    r->body);
	(void)snprintf(a->id, sizeof(a->id), "%s", id);
	(void)snprintf(a->access, sizeof(a->access), "%s", at);
	(void)snprintf(a->refresh, sizeof(a->refresh), "%s", rt);
}

static inline struct resp *
af_register_raw(const char *base, const char *xff, json_t *body)
{
	struct resp	*r;
	char		*s;

	s = json_dumps(body, 0);
	json_decref(body);
	r = af_call(base, "POST", "/api/v1/auth/register", NULL, xff, s);
	free(s);
	return (r);
}

/* A fresh account prefix-<unique>@example.test, signed in. */
static inline void
af_new_at(const char *base, const char *xff, struct afa *a,
    const char *prefix)
{
	struct resp	*r;

	(void)snprintf(a->email, sizeof(a->email), "%s@example.test",
	    uniq(prefix));
	r = af_register_raw(base, xff, json_pack("{s:s, s:s, s:s}", "email",
	    a->email, "password", AF_PASSWORD, "full_name", "Auth Tester"));
	cr_assert_eq(r->status, 201, "register: %ld %s", r->status, r->body);
	af_take(a, r);
	resp_free(r);
}

static inline void
af_new(struct afa *a, const char *prefix)
{
	af_new_at(NULL, NULL, a, prefix);
}

static inline struct resp *
af_login(const char *base, const char *xff, const char *email,
    const char *pw)
{
	struct resp	*r;
	json_t		*b;
	char		*s;

	b = json_pack("{s:s, s:s}", "email", email, "password", pw);
	s = json_dumps(b, 0);
	json_decref(b);
	r = af_call(base, "POST", "/api/v1/auth/login", NULL, xff, s);
	free(s);
	return (r);
}

static inline struct resp *
af_refresh(const char *base, const char *xff, const char *rt)
{
	struct resp	*r;
	json_t		*b;
	char		*s;

	b = json_pack("{s:s}", "refresh_token", rt);
	s = json_dumps(b, 0);
	json_decref(b);
	r = af_call(base, "POST", "/api/v1/auth/refresh", NULL, xff, s);
	free(s);
	return (r);
}

static inline void
af_expect_error(struct resp *r, long status, const char *code)
{
	cr_assert_eq(r->status, status, "want %ld %s, got %ld %s", status,
	    code, r->status, r->body);
	cr_assert_not_null(r->json, "not JSON: %s", r->body);
	cr_expect(json_is_false(jpath(r->json, "success")));
	cr_expect_str_eq(err_code(r), code, "code: %s", r->body);
	cr_expect_eq(jint(r, "status"), status);
	if (status == 401)
		cr_expect_str_eq(resp_header(r, "www-authenticate"), "Bearer");
}

/* An HS256 token signed with key (NULL: the server's secret). */
static inline char *
af_forge(const char *sub, const char *sid, const char *role, long iat,
    long exp, const char *key)
{
	struct jwt_claims	 c;
	char			*tok;

	memset(&c, 0, sizeof(c));
	(void)snprintf(c.sub, sizeof(c.sub), "%s", sub);
	(void)snprintf(c.sid, sizeof(c.sid), "%s", sid);
	(void)snprintf(c.role, sizeof(c.role), "%s", role);
	cr_assert_eq(uuid_generate(c.jti), 0);
	c.iat = iat;
	c.exp = exp;
	if (key == NULL)
		key = AF_SECRET;
	cr_assert_eq(jwt_sign(&c, (const unsigned char *)key, strlen(key),
	    &tok), 0);
	return (tok);	/* free() */
}

/* The claims of one of our tokens, verified with the server's secret. */
static inline void
af_claims(const char *tok, struct jwt_claims *c)
{
	cr_assert_eq(jwt_verify(tok, (const unsigned char *)AF_SECRET,
	    strlen(AF_SECRET), time(NULL), c), JWT_OK);
}

/* One statement against the test database; the first value or "". */
static inline char *
af_sql(const char *sql, const char *p1)
{
	static char	 out[1024];
	PGconn		*db;
	PGresult	*res;
	const char	*params[1];

	db = PQconnectdb(env_or("DATABASE_URL", ""));
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	params[0] = p1;
	res = PQexecParams(db, sql, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(db));
	out[0] = '\0';
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0 &&
	    PQnfields(res) > 0)
		(void)snprintf(out, sizeof(out), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	PQfinish(db);
	return (out);
}

/* Fixed one-minute rate windows: don't start a count near a boundary. */
static inline void
af_fresh_minute(void)
{
	time_t		now;

	now = time(NULL);
	if (now % 60 > 45)
		(void)sleep((unsigned int)(61 - now % 60));
}

/* A private instance with settings of its own against the same database. */
static inline void
af_srv(struct srv *s, const char *const *env)
{
	fx_srv_start(s, env);
}

#endif
