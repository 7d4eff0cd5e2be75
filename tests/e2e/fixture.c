/*
 * The e2e fixture: see fixture.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE		/* memmem */
#endif

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"
#include "uuid.h"

#define LIVE_MAX	32
#define BOUNDARY	"----elenchus-e2e-boundary-7MA4YWxkTrZu0gW"

static void	 live_add(pid_t, const struct pgc *);
static void	 live_del(pid_t, const struct pgc *);
static void	 live_path(char *, size_t, pid_t, const struct pgc *);
static void	 live_atexit(void);
static void	 group_end(pid_t);
static int	 tcp_open(int);

/* What this process started and has not stopped yet. */
static struct {
	pid_t		owner;
	pid_t		pids[LIVE_MAX];
	struct pgc	pgs[LIVE_MAX];
	int		npg;
	int		registered;
} live;

const char *
fx_base(const char *base)
{
	return (base ? base : env_or("E2E_BASE", "http://127.0.0.1:8080"));
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

struct resp *
fx_call(const char *method, const struct user *u, const char *body,
    const char *fmt, ...)
{
	char		path[4096];
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return (fx_req(NULL, method, path, u ? u->token : NULL, NULL, body));
}

struct resp *
fx_call_at(const char *base, const char *method, const struct user *u,
    const char *body, const char *fmt, ...)
{
	char		path[4096];
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return (fx_req(base, method, path, u ? u->token : NULL, NULL, body));
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
	for (i = 0, r = NULL; i < 20 && (r == NULL || r->status == 0); i++) {
		if (r != NULL) {
			resp_free(r);
			(void)usleep(200000);
		}
		(void)snprintf(u->email, sizeof(u->email), "%s@example.test",
		    uniq(prefix));
		r = fx_register(base, xff, json_pack("{s:s, s:s, s:s}",
		    "email", u->email, "password", FX_PASSWORD, "full_name",
		    FX_FULL_NAME));
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

const char *
fx_sql(const char *sql, const char *p1)
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

struct resp *
fx_upload(const char *base, const struct user *u, const char *filename,
    const char *data, size_t len, const char *category)
{
	const char	*hdrs[3];
	struct resp	*r;
	char		*body, head[128], auth[FX_TOKEN_MAX + 32];
	size_t		 n, cap;

	cap = len + 4096;
	cr_assert_not_null(body = malloc(cap));
	n = 0;
	if (category != NULL)
		n += (size_t)snprintf(body, cap, "--%s\r\nContent-Disposition: "
		    "form-data; name=\"document_category\"\r\n\r\n%s\r\n",
		    BOUNDARY, category);
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

int
fx_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		sl;
	int			fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(fd >= 0, "socket: %s", strerror(errno));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sl = sizeof(sin);
	cr_assert(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == 0,
	    "no free port: %s", strerror(errno));
	port = ntohs(sin.sin_port);
	(void)close(fd);
	return (port);
}

pid_t
fx_spawn(const char *const *argv, const char *const *env, const char *out)
{
	char	*args[16];
	pid_t	 pid;
	int	 i, fd;

	if ((pid = fork()) == 0) {
		(void)setpgid(0, 0);
		/* The test process gone (a timeout, a crash): stop too. */
		(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
		for (i = 0; env != NULL && env[i] != NULL; i++)
			(void)putenv(strdup(env[i]));
		fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT |
		    O_APPEND, 0644);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(127);
		for (i = 0; i < 15 && argv[i] != NULL; i++)
			args[i] = strdup(argv[i]);
		args[i] = NULL;
		execvp(args[0], args);
		_exit(127);
	}
	cr_assert(pid > 0, "fork: %s", strerror(errno));
	live_add(pid, NULL);
	return (pid);
}

void
fx_stop(pid_t *pid)
{
	if (*pid <= 0)
		return;
	group_end(*pid);
	live_del(*pid, NULL);
	*pid = 0;
}

int
fx_exited(pid_t *pid, int seconds)
{
	int	st, i;

	for (i = 0; i < seconds * 10; i++) {
		if (waitpid(*pid, &st, WNOHANG) == *pid) {
			(void)kill(-*pid, SIGKILL);	/* what it left */
			live_del(*pid, NULL);
			*pid = 0;
			return (1);
		}
		(void)usleep(100000);
	}
	return (0);
}

void
fx_srv_start(struct srv *s, const char *const *env)
{
	const char	*argv[] = { "sh", "scripts/serve.sh", NULL, NULL };
	const char	*senv[LIVE_MAX];
	char		 port[32], log[192];
	int		 i, n;

	memset(s, 0, sizeof(*s));
	/* An HTTP_PORT among env restarts an instance on its old port. */
	for (i = 0; env != NULL && env[i] != NULL; i++)
		if (!strncmp(env[i], "HTTP_PORT=", 10))
			s->port = atoi(env[i] + 10);
	if (s->port <= 0)
		s->port = fx_free_port();
	(void)snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d",
	    s->port);
	(void)snprintf(s->dir, sizeof(s->dir), "%s/srv-%d",
	    env_or("E2E_TMP", "/tmp"), s->port);
	(void)snprintf(log, sizeof(log), "%s.log", s->dir);
	(void)unlink(log);
	(void)snprintf(port, sizeof(port), "HTTP_PORT=%d", s->port);
	n = 0;
	senv[n++] = port;
	for (i = 0; env != NULL && env[i] != NULL && n < LIVE_MAX - 1; i++)
		senv[n++] = env[i];
	senv[n] = NULL;
	argv[2] = s->dir;
	s->pid = fx_spawn(argv, senv, log);
	if (!wait_status(s->base, "/live", 200, 30)) {
		fx_srv_stop(s);
		cr_assert_fail("instance did not start (%s)", log);
	}
}

void
fx_srv_stop(struct srv *s)
{
	fx_stop(&s->pid);
}

void
fx_front_start(struct front *f, int upstream_port, const char *const *env)
{
	const char	*argv[] = { "sh", "scripts/nginx.sh", NULL, NULL, NULL,
			    NULL };
	const char	*fenv[LIVE_MAX];
	char		 dir[192], port[16], up[32];
	int		 i, n;

	f->port = fx_free_port();
	(void)snprintf(f->base, sizeof(f->base), "https://127.0.0.1:%d",
	    f->port);
	(void)snprintf(dir, sizeof(dir), "%s/front-%d",
	    env_or("E2E_TMP", "/tmp"), f->port);
	(void)snprintf(port, sizeof(port), "%d", f->port);
	(void)snprintf(up, sizeof(up), "127.0.0.1:%d", upstream_port);
	argv[2] = dir;
	argv[3] = port;
	argv[4] = up;
	/* Not the main front's proxy_bind, unless env says so. */
	n = 0;
	fenv[n++] = "NGINX_PROXY_BIND=";
	for (i = 0; env != NULL && env[i] != NULL && n < LIVE_MAX - 1; i++)
		fenv[n++] = env[i];
	fenv[n] = NULL;
	f->pid = fx_spawn(argv, fenv, NULL);
	for (i = 0; i < 300 && !tcp_open(f->port); i++)
		(void)usleep(50000);
	cr_assert(tcp_open(f->port), "the front did not start");
}

void
fx_front_stop(struct front *f)
{
	fx_stop(&f->pid);
}

void
fx_pg_start(struct pgc *c, const char *db)
{
	char	sh[1024];

	memset(c, 0, sizeof(*c));
	c->port = fx_free_port();
	(void)snprintf(c->dir, sizeof(c->dir), "%s/pg-%d",
	    env_or("E2E_TMP", "/tmp"), c->port);
	(void)snprintf(c->url, sizeof(c->url),
	    "postgresql://elenchus@/%s?host=%s&port=%d", db, c->dir, c->port);
	live_add(0, c);
	fx_pg_ctl(c, "start");
	(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d scripts/pg.sh "
	    "createdb %s >/dev/null && scripts/migrate.sh '%s' >/dev/null",
	    c->dir, c->port, db, c->url);
	cr_assert_eq(system(sh), 0, "%s failed", sh);
}

void
fx_pg_ctl(struct pgc *c, const char *cmd)
{
	char	sh[1024];

	(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d scripts/pg.sh %s"
	    " >/dev/null", c->dir, c->port, cmd);
	cr_assert_eq(system(sh), 0, "%s failed", sh);
	c->up = strcmp(cmd, "stop") != 0;
}

void
fx_pg_stop(struct pgc *c)
{
	if (c->port <= 0)
		return;
	fx_pg_ctl(c, "stop");
	live_del(0, c);
	c->port = 0;
}

/*
 * The record of what is running: in memory for the exit handler, and a
 * file per entry under $E2E_TMP/live for scripts/test.sh, which sweeps
 * what a dead test process left ("pid PGID" or "pg DIR PORT").
 */
static void
live_path(char *p, size_t len, pid_t pid, const struct pgc *c)
{
	if (c != NULL)
		(void)snprintf(p, len, "%s/live/pg-%d",
		    env_or("E2E_TMP", "/tmp"), c->port);
	else
		(void)snprintf(p, len, "%s/live/pid-%d",
		    env_or("E2E_TMP", "/tmp"), (int)pid);
}

static void
live_add(pid_t pid, const struct pgc *c)
{
	char	 path[300];
	FILE	*fp;
	int	 i;

	if (live.owner != getpid()) {
		/* A forked test process starts with an empty record. */
		memset(&live, 0, sizeof(live));
		live.owner = getpid();
	}
	if (!live.registered) {
		(void)atexit(live_atexit);
		live.registered = 1;
	}
	if (c != NULL) {
		cr_assert_lt(live.npg, LIVE_MAX);
		live.pgs[live.npg++] = *c;
	} else {
		for (i = 0; i < LIVE_MAX && live.pids[i] != 0; i++)
			;
		cr_assert_lt(i, LIVE_MAX, "too many processes");
		live.pids[i] = pid;
	}
	(void)snprintf(path, sizeof(path), "%s/live",
	    env_or("E2E_TMP", "/tmp"));
	(void)mkdir(path, 0755);
	live_path(path, sizeof(path), pid, c);
	if ((fp = fopen(path, "w")) == NULL)
		return;
	if (c != NULL)
		(void)fprintf(fp, "pg %s %d\n", c->dir, c->port);
	else
		(void)fprintf(fp, "pid %d\n", (int)pid);
	(void)fclose(fp);
}

static void
live_del(pid_t pid, const struct pgc *c)
{
	char	path[300];
	int	i;

	live_path(path, sizeof(path), pid, c);
	(void)unlink(path);
	if (live.owner != getpid())
		return;
	for (i = 0; c == NULL && i < LIVE_MAX; i++)
		if (live.pids[i] == pid)
			live.pids[i] = 0;
	for (i = 0; c != NULL && i < live.npg; i++)
		if (live.pgs[i].port == c->port)
			live.pgs[i] = live.pgs[--live.npg];
}

/* A test that failed before its stop: stop what it left. */
static void
live_atexit(void)
{
	char	sh[700];
	int	i;

	if (live.owner != getpid())
		return;
	for (i = 0; i < LIVE_MAX; i++)
		if (live.pids[i] > 0)
			fx_stop(&live.pids[i]);
	while (live.npg > 0) {
		(void)snprintf(sh, sizeof(sh), "PG_DIR=%s PG_PORT=%d "
		    "scripts/pg.sh stop >/dev/null 2>&1", live.pgs[0].dir,
		    live.pgs[0].port);
		(void)system(sh);
		live_del(0, &live.pgs[0]);
	}
}

/* TERM to the group, KILL after 5 s. */
static void
group_end(pid_t pid)
{
	int	st, i;

	(void)kill(-pid, SIGTERM);
	for (i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) != 0)
			return;		/* gone, or not ours to wait for */
		(void)usleep(50000);
	}
	(void)kill(-pid, SIGKILL);
	(void)waitpid(pid, &st, 0);
}

static int
tcp_open(int port)
{
	struct sockaddr_in	sin;
	int			fd, ok;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return (0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	(void)close(fd);
	return (ok);
}
