/*
 * DEPRECATED: new and converted suites use fixture.h (one user type, one
 * error check); this header goes once no suite includes it.
 *
 * Shared pieces of the users, admin and phone suites: accounts of their
 * own (registered through the real API), calls as one of them, error
 * checks, and reading the server log and the database.
 */
#ifndef ELENCHUS_USERS_FIXTURE_H
#define ELENCHUS_USERS_FIXTURE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"

#define UF_PASSWORD		"Str0ng-Passw0rd!"
#define UF_ADMIN_EMAIL		"admin@elenchus.test"
#define UF_ADMIN_PASSWORD	"Adm1n-Passw0rd!"
#define UF_NO_SUCH_ID		"00000000-0000-4000-8000-000000000000"

struct acct {
	char		id[64];
	char		email[160];
	char		token[4096];
};

static inline void
uf_take(struct acct *a, struct resp *r)
{
	const char	*id, *tok;

	id = jstr(r, "data.user.id");
	tok = jstr(r, "data.access_token");
	cr_assert_not_null(id, "no data.user.id: %s", r->body);
	cr_assert_not_null(tok, "no data.access_token: %s", r->body);
	(void)snprintf(a->id, sizeof(a->id), "%s", id);
	(void)snprintf(a->token, sizeof(a->token), "%s", tok);
}

/* A fresh account (email prefix-<unique>@example.test), signed in. */
static inline void
uf_new(struct acct *a, const char *prefix)
{
	struct resp	*r;
	json_t		*b;
	char		*s;

	(void)snprintf(a->email, sizeof(a->email), "%s@example.test",
	    uniq(prefix));
	b = json_pack("{s:s, s:s, s:s}", "email", a->email,
	    "password", UF_PASSWORD, "full_name", "Users Tester");
	s = json_dumps(b, 0);
	json_decref(b);
	r = http_json("POST", "/api/v1/auth/register", NULL, s);
	free(s);
	cr_assert_eq(r->status, 201, "register: %ld %s", r->status, r->body);
	uf_take(a, r);
	resp_free(r);
}

/* Log in with email and password at base (NULL: the main instance). */
static inline struct resp *
uf_login_at(const char *base, const char *email, const char *password)
{
	const char	*hdrs[] = { "Content-Type: application/json", NULL };
	struct resp	*r;
	json_t		*b;
	char		*s;

	b = json_pack("{s:s, s:s}", "email", email, "password", password);
	s = json_dumps(b, 0);
	json_decref(b);
	if (base == NULL)
		r = http_req("POST", "/api/v1/auth/login", hdrs, s, strlen(s));
	else
		r = http_req_to(base, "POST", "/api/v1/auth/login", hdrs, s,
		    strlen(s));
	free(s);
	return (r);
}

static inline void
uf_admin(struct acct *a)
{
	struct resp	*r;

	r = uf_login_at(NULL, UF_ADMIN_EMAIL, UF_ADMIN_PASSWORD);
	cr_assert_eq(r->status, 200, "admin login: %ld %s", r->status,
	    r->body);
	uf_take(a, r);
	(void)snprintf(a->email, sizeof(a->email), "%s", UF_ADMIN_EMAIL);
	resp_free(r);
}

/* method on base+path (path from fmt) as a (NULL: anonymous). */
static inline struct resp *
uf_call_at(const char *base, const char *method, const struct acct *a,
    const char *body, const char *fmt, ...)
{
	const char	*hdrs[3];
	char		path[4096], auth[4200];
	va_list		ap;
	int		n;

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	n = 0;
	hdrs[n++] = "Content-Type: application/json";
	if (a != NULL) {
		(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
		    a->token);
		hdrs[n++] = auth;
	}
	hdrs[n] = NULL;
	return (http_req_to(base ? base : env_or("E2E_BASE",
	    "http://127.0.0.1:8080"), method, path, hdrs, body,
	    body ? strlen(body) : 0));
}

#define uf_call(method, a, body, ...)					\
	uf_call_at(NULL, method, a, body, __VA_ARGS__)

/* jansson object → compact text (caller frees); steals o. */
static inline char *
uf_dump(json_t *o)
{
	char	*s;

	cr_assert_not_null(o, "json_pack failed");
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (s);
}

static inline void
uf_error(struct resp *r, long status, const char *code)
{
	cr_assert_eq(r->status, status, "want %ld, got %ld: %s", status,
	    r->status, r->body);
	cr_assert_not_null(r->json, "body is not JSON: %s", r->body);
	cr_expect(json_is_false(jpath(r->json, "success")));
	cr_expect_str_eq(err_code(r), code, "code: %s", r->body);
	cr_expect_eq(jint(r, "status"), status);
	cr_expect_not_null(jstr(r, "request_id"));
}

static inline void
uf_status(struct resp *r, long status)
{
	cr_assert_eq(r->status, status, "want %ld, got %ld: %s", status,
	    r->status, r->body);
	if (status < 300)
		cr_expect(json_is_true(jpath(r->json, "success")), "%s",
		    r->body);
}

/* The issue recorded for field in a validation error, or NULL. */
static inline const char *
uf_issue(struct resp *r, const char *field)
{
	json_t		*fields, *f;
	const char	*name;
	size_t		i;

	fields = jpath(r->json, "error.details.fields");
	json_array_foreach(fields, i, f) {
		name = json_string_value(json_object_get(f, "field"));
		if (name != NULL && !strcmp(name, field))
			return (json_string_value(json_object_get(f,
			    "issue")));
	}
	return (NULL);
}

/* A phone number nobody else uses in this run: +1555 and 7 digits. */
static inline void
uf_phone(char *out, size_t len)
{
	static unsigned	n;
	const char	*u;
	unsigned long	h;

	h = 5381;
	for (u = uniq("p"); *u != '\0'; u++)
		h = h * 33 + (unsigned char)*u;
	h += (unsigned long)getpid() * 7919 + n++ * 104729;
	(void)snprintf(out, len, "+1555%07lu", h % 10000000);
}

/*
 * The 6-digit code of the last console SMS to phone in the log file
 * (waits up to ~5 s for it to appear); 1 when found.
 */
static inline int
uf_console_code(const char *log, const char *phone, char code[7])
{
	char		line[8192], want[64], *p;
	FILE		*fp;
	int		i, found;

	(void)snprintf(want, sizeof(want), "\"to\":\"%s\"", phone);
	for (i = 0; i < 50; i++) {
		found = 0;
		if ((fp = fopen(log, "r")) == NULL)
			return (0);
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strstr(line, "\"event\":\"sms\"") == NULL ||
			    strstr(line, want) == NULL)
				continue;
			if ((p = strstr(line, "code is ")) == NULL)
				continue;
			memcpy(code, p + 8, 6);
			code[6] = '\0';
			found = 1;
		}
		(void)fclose(fp);
		if (found)
			return (1);
		(void)usleep(100000);
	}
	return (0);
}

/* Run one SQL statement on DATABASE_URL; the first value or "". */
static inline void
uf_sql(const char *sql, const char *p1, char *out, size_t len)
{
	PGconn		*c;
	PGresult	*res;
	const char	*params[1];

	c = PQconnectdb(env_or("DATABASE_URL", ""));
	cr_assert_eq(PQstatus(c), CONNECTION_OK, "db: %s",
	    PQerrorMessage(c));
	params[0] = p1;
	res = PQexecParams(c, sql, p1 ? 1 : 0, NULL, params, NULL, NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "sql: %s",
	    PQerrorMessage(c));
	if (out != NULL) {
		out[0] = '\0';
		if (PQntuples(res) > 0 && PQnfields(res) > 0)
			(void)snprintf(out, len, "%s", PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	PQfinish(c);
}

/* Whether the file contains needle anywhere. */
static inline int
uf_file_has(const char *path, const char *needle)
{
	char		*buf;
	FILE		*fp;
	long		len;
	size_t		n;
	int		found;

	if ((fp = fopen(path, "r")) == NULL)
		return (0);
	(void)fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	cr_assert_not_null(buf);
	n = fread(buf, 1, (size_t)len, fp);
	(void)fclose(fp);
	found = memmem(buf, n, needle, strlen(needle)) != NULL;
	free(buf);
	return (found);
}

#endif
