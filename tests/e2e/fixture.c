/*
 * The e2e fixture, its users, calls and checks: see fixture.h.  The
 * instances a test starts are in fixture_proc.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"
#include "uuid.h"

#define BOUNDARY	"----elenchus-e2e-boundary-7MA4YWxkTrZu0gW"

const char *
fx_base(const char *base)
{
	return (base ? base : env_or("E2E_BASE", "http://127.0.0.1:8080"));
}

long
fx_metric(const char *base, const char *name)
{
	struct resp	*r;
	const char	*p;
	char		 key[128];
	long		 v;

	r = http_req_to(fx_base(base), "GET", "/metrics", NULL, NULL, 0);
	cr_expect_eq(r->status, 200, "/metrics: %ld after %.1f s", r->status,
	    r->seconds);
	(void)snprintf(key, sizeof(key), "\n%s ", name);
	v = -1;
	if (r->status == 200 && (p = strstr(r->body, key)) != NULL)
		v = strtol(p + strlen(key), NULL, 10);
	resp_free(r);
	return (v);
}

struct resp *
fx_req(const char *base, const char *method, const char *path,
    const char *token, const char *xff, const char *json)
{
	const char	*hdrs[5];
	char		 auth[FX_TOKEN_MAX + 64], fwd[128];
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
	return (http_req_to(fx_base(base), method, path, hdrs, json,
	    json ? strlen(json) : 0));
}

static struct resp *
fx_vcall(const char *base, const char *method, const struct user *u,
    const char *body, const char *fmt, va_list ap)
{
	char		path[4096];

	(void)vsnprintf(path, sizeof(path), fmt, ap);
	return (fx_req(base, method, path, u ? u->token : NULL, NULL, body));
}

struct resp *
fx_call(const char *method, const struct user *u, const char *body,
    const char *fmt, ...)
{
	struct resp	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = fx_vcall(NULL, method, u, body, fmt, ap);
	va_end(ap);
	return (r);
}

struct resp *
fx_call_at(const char *base, const char *method, const struct user *u,
    const char *body, const char *fmt, ...)
{
	struct resp	*r;
	va_list		 ap;

	va_start(ap, fmt);
	r = fx_vcall(base, method, u, body, fmt, ap);
	va_end(ap);
	return (r);
}

void
fx_take(struct user *u, struct resp *r)
{
	const char	*id, *at, *rt;

	id = jstr(r, "data.user.id");
	at = jstr(r, "data.access_token");
	rt = jstr(r, "data.refresh_token");
	cr_assert(id && at && rt, "no token payload: %ld %s", r->status,
	    r->body);
	(void)snprintf(u->id, sizeof(u->id), "%s", id);
	(void)snprintf(u->token, sizeof(u->token), "%s", at);
	(void)snprintf(u->refresh, sizeof(u->refresh), "%s", rt);
}

struct resp *
fx_register(const char *base, const char *xff, json_t *body)
{
	struct resp	*r;
	char		*s;

	s = fx_dump(body);
	r = fx_req(base, "POST", "/api/v1/auth/register", NULL, xff, s);
	free(s);
	return (r);
}

void
fx_new_at(const char *base, const char *xff, struct user *u,
    const char *prefix)
{
	struct resp	*r;
	int		 i;

	/* No answer (a fault drill nearby): again, at a fresh address. */
	for (i = 0;; i++) {
		(void)snprintf(u->email, sizeof(u->email), "%s@example.test",
		    uniq(prefix));
		r = fx_register(base, xff, json_pack("{s:s, s:s, s:s}",
		    "email", u->email, "password", FX_PASSWORD, "full_name",
		    FX_FULL_NAME));
		if (r->status != 0 || i == 19)
			break;
		resp_free(r);
		(void)usleep(200000);
	}
	cr_assert_eq(r->status, 201, "register: %ld %s", r->status, r->body);
	fx_take(u, r);
	resp_free(r);
}

void
fx_new(struct user *u, const char *prefix)
{
	fx_new_at(NULL, NULL, u, prefix);
}

void
fx_admin(struct user *u)
{
	struct resp	*r;

	r = fx_login(NULL, NULL, FX_ADMIN_EMAIL, FX_ADMIN_PASSWORD);
	cr_assert_eq(r->status, 200, "admin login: %ld %s", r->status,
	    r->body);
	fx_take(u, r);
	(void)snprintf(u->email, sizeof(u->email), "%s", FX_ADMIN_EMAIL);
	resp_free(r);
}

struct resp *
fx_login(const char *base, const char *xff, const char *email,
    const char *password)
{
	struct resp	*r;
	char		*s;

	s = fx_dump(json_pack("{s:s, s:s}", "email", email, "password",
	    password));
	r = fx_req(base, "POST", "/api/v1/auth/login", NULL, xff, s);
	free(s);
	return (r);
}

struct resp *
fx_refresh(const char *base, const char *xff, const char *refresh)
{
	struct resp	*r;
	char		*s;

	s = fx_dump(json_pack("{s:s}", "refresh_token", refresh));
	r = fx_req(base, "POST", "/api/v1/auth/refresh", NULL, xff, s);
	free(s);
	return (r);
}

/*
 * The whole envelope of docs/API.md §1: status, code, message, details,
 * the request id in the body and the header, and the header each status
 * promises (401 WWW-Authenticate, 405 Allow, 429 Retry-After).
 */
void
fx_error(struct resp *r, long status, const char *code)
{
	const char	*rid;

	cr_assert_eq(r->status, status, "want %ld %s, got %ld: %.300s",
	    status, code, r->status, r->body);
	cr_assert_not_null(r->json, "body is not JSON: %.300s", r->body);
	cr_expect(json_is_false(jpath(r->json, "success")), "%.300s",
	    r->body);
	cr_expect_str_eq(err_code(r), code, "code: %.300s", r->body);
	cr_expect_eq(jint(r, "status"), status, "%.300s", r->body);
	cr_expect_not_null(jstr(r, "message"), "%.300s", r->body);
	cr_expect(json_is_object(jpath(r->json, "error.details")),
	    "%.300s", r->body);
	rid = resp_header(r, "x-request-id");
	cr_expect_not_null(rid, "no X-Request-ID");
	cr_expect_not_null(jstr(r, "request_id"), "%.300s", r->body);
	if (rid != NULL && jstr(r, "request_id") != NULL)
		cr_expect_str_eq(jstr(r, "request_id"), rid);
	if (status == 401)
		cr_expect_str_eq(resp_header(r, "www-authenticate"), "Bearer");
	if (status == 405)
		cr_expect_not_null(resp_header(r, "allow"));
	if (status == 429)
		cr_expect_not_null(resp_header(r, "retry-after"));
}

void
fx_status(struct resp *r, long status)
{
	cr_assert_eq(r->status, status, "want %ld, got %ld: %.300s", status,
	    r->status, r->body);
	if (status < 300)
		cr_expect(json_is_true(jpath(r->json, "success")), "%.300s",
		    r->body);
}

const char *
fx_issue(struct resp *r, const char *field)
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

char *
fx_dump(json_t *o)
{
	char	*s;

	cr_assert_not_null(o, "json_pack failed");
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return (s);
}

char *
fx_forge(const char *sub, const char *sid, const char *role, long iat,
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
		key = FX_SECRET;
	cr_assert_eq(jwt_sign(&c, (const unsigned char *)key, strlen(key),
	    &tok), 0);
	return (tok);
}

void
fx_claims(const char *tok, struct jwt_claims *c)
{
	cr_assert_eq(jwt_verify(tok, (const unsigned char *)FX_SECRET,
	    strlen(FX_SECRET), time(NULL), c), JWT_OK);
}

PGconn *
fx_db(void)
{
	PGconn		*db;

	db = PQconnectdb(env_or("DATABASE_URL", ""));
	cr_assert_eq(PQstatus(db), CONNECTION_OK, "%s", PQerrorMessage(db));
	return (db);
}

size_t
fx_discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return (sz * n);
}

const char *
fx_sql(const char *sql, const char *p1)
{
	const char	*out;
	PGconn		*db;

	db = fx_db();
	out = fx_sql_on(db, sql, p1);
	PQfinish(db);
	return (out);
}

const char *
fx_sql_on(PGconn *db, const char *sql, const char *p1)
{
	static char	 out[1024];
	PGresult	*res;
	const char	*params[1];

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
	return (out);
}

struct resp *
fx_upload(const char *base, const struct user *u, const char *filename,
    const char *data, size_t len, const char *const *fields)
{
	const char	*hdrs[3];
	struct resp	*r;
	char		*body, head[128], auth[FX_TOKEN_MAX + 32];
	size_t		 n, cap;
	int		 i;

	cap = len + 8192;
	cr_assert_not_null(body = malloc(cap));
	n = 0;
	for (i = 0; fields != NULL && fields[i] != NULL; i += 2)
		n += (size_t)snprintf(body + n, cap - n, "--%s\r\n"
		    "Content-Disposition: form-data; name=\"%s\"\r\n\r\n"
		    "%s\r\n", BOUNDARY, fields[i], fields[i + 1]);
	cr_assert_lt(n, cap - 1024, "form fields too long");
	n += (size_t)snprintf(body + n, cap - n, "--%s\r\n"
	    "Content-Disposition: form-data; name=\"file\"; "
	    "filename=\"%s\"\r\n"
	    "Content-Type: application/octet-stream\r\n\r\n", BOUNDARY,
	    filename);
	memcpy(body + n, data, len);
	n += len;
	n += (size_t)snprintf(body + n, cap - n, "\r\n--%s--\r\n", BOUNDARY);
	(void)snprintf(head, sizeof(head),
	    "Content-Type: multipart/form-data; boundary=%s", BOUNDARY);
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    u->token);
	hdrs[0] = head;
	hdrs[1] = auth;
	hdrs[2] = NULL;
	r = http_req_to(fx_base(base), "POST", "/api/v1/documents", hdrs,
	    body, n);
	free(body);
	return (r);
}

void
fx_doc_new(const char *base, const struct user *u, const char *filename,
    const char *text, char *id, size_t len)
{
	struct resp	*r;

	r = fx_upload(base, u, filename, text, strlen(text), NULL);
	cr_assert_eq(r->status, 201, "upload: %ld %s", r->status, r->body);
	cr_assert_not_null(jstr(r, "data.id"), "%s", r->body);
	(void)snprintf(id, len, "%s", jstr(r, "data.id"));
	resp_free(r);
}

const char *
fx_doc_wait(const char *base, const struct user *u, const char *id,
    int seconds)
{
	static char	 st[32];
	struct resp	*r;
	int		 i;

	for (i = 0; i < seconds * 10; i++) {
		r = fx_call_at(base, "GET", u, NULL, "/api/v1/documents/%s",
		    id);
		(void)snprintf(st, sizeof(st), "%s",
		    jstr(r, "data.processing_status") ?
		    jstr(r, "data.processing_status") : "");
		resp_free(r);
		if (!strcmp(st, "completed") || !strcmp(st, "failed"))
			return (st);
		(void)usleep(100000);
	}
	return ("timeout");
}

json_t *
fx_llm_requests(const char *marker)
{
	struct resp	*r;
	json_t		*out, *it;
	size_t		 i;
	char		*s;

	r = http_req_to(env_or("E2E_LLM", ""), "GET", "/__requests", NULL,
	    NULL, 0);
	cr_assert_eq(r->status, 200);
	out = json_array();
	json_array_foreach(r->json, i, it) {
		s = json_dumps(json_object_get(it, "body"), JSON_COMPACT);
		if (s != NULL && strstr(s, marker) != NULL)
			(void)json_array_append(out, it);
		free(s);
	}
	resp_free(r);
	return (out);
}

int
fx_llm_saw(const char *marker)
{
	json_t	*reqs;
	int	 seen;

	reqs = fx_llm_requests(marker);
	seen = json_array_size(reqs) > 0;
	json_decref(reqs);
	return (seen);
}

const char *
fx_env(const char *k, const char *v)
{
	static char	buf[8][256];
	static int	n;
	char		*p;

	p = buf[n++ % 8];
	(void)snprintf(p, sizeof(buf[0]), "%s=%s", k, v);
	return (p);
}

void
fx_fresh_minute(void)
{
	time_t		now;

	now = time(NULL);
	if (now % 60 > 45)
		(void)sleep((unsigned int)(61 - now % 60));
}

void
fx_phone(char *out, size_t len)
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

/* Waits up to ~5 s for the line to appear. */
int
fx_console_code(const char *log, const char *channel, const char *to,
    char code[7])
{
	char		line[8192], want[256], event[64], *p;
	FILE		*fp;
	int		i, found;

	(void)snprintf(want, sizeof(want), "\"to\":\"%s\"", to);
	(void)snprintf(event, sizeof(event), "\"event\":\"%s\"", channel);
	for (i = 0; i < 50; i++) {
		found = 0;
		if ((fp = fopen(log, "r")) == NULL)
			return (0);
		while (fgets(line, sizeof(line), fp) != NULL) {
			if (strstr(line, event) == NULL ||
			    strstr(line, want) == NULL ||
			    (p = strstr(line, "code is ")) == NULL)
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

int
fx_file_has(const char *path, const char *needle)
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

int
fx_count_in(const char *file, const char *needle)
{
	char	 line[4096];
	FILE	*fp;
	int	 n;

	if ((fp = fopen(file, "r")) == NULL)
		return (-1);
	n = 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strstr(line, needle) != NULL)
			n++;
	(void)fclose(fp);
	return (n);
}

double
fx_now(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}
