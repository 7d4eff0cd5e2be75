/*
 * The e2e fixture, shared by every suite: signed-in users registered
 * through the real API, calls as one of them, the one check of an error
 * answer, forged tokens, one-off SQL against the test database, and
 * instances of our own (Kore, an nginx front, a PostgreSQL cluster, any
 * helper process) that are stopped however the test ends.
 *
 * Everything a test starts goes through fx_spawn or fx_pg_start: each is
 * recorded under $E2E_TMP/live until stopped, stopped at exit when a
 * test fails before it stops it, and swept by scripts/test.sh when the
 * test process itself dies (timeout, crash).
 */
#ifndef ELENCHUS_FIXTURE_H
#define ELENCHUS_FIXTURE_H

#include <criterion/criterion.h>

/* What the suites use throughout, so that each need not list it. */
#include <sys/types.h>
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "harness.h"
#include "jwt.h"

#define FX_PASSWORD		"Str0ng-Passw0rd!"
#define FX_FULL_NAME		"E2E Tester"
#define FX_ADMIN_EMAIL		"admin@elenchus.test"
#define FX_ADMIN_PASSWORD	"Adm1n-Passw0rd!"
#define FX_SECRET		"e2e-secret-0123456789abcdef0123456789"
#define FX_NO_SUCH_ID		"00000000-0000-4000-8000-000000000000"
#define FX_TOKEN_MAX		4096

/* A signed-in user. */
struct user {
	char		id[64];
	char		email[200];
	char		token[FX_TOKEN_MAX];	/* access token */
	char		refresh[128];
};

/* An instance of a test's own (scripts/serve.sh). */
struct srv {
	pid_t		pid;
	int		port;
	char		base[64];
	char		dir[128];
};

/* An nginx front (scripts/nginx.sh) of a test's own. */
struct front {
	pid_t		pid;
	int		port;
	char		base[64];
};

/* A PostgreSQL cluster of a test's own, with one migrated database. */
struct pgc {
	char		dir[256];
	int		port;
	char		url[512];
	int		up;
};

/* base, or the main instance (E2E_BASE) when base is NULL. */
const char	*fx_base(const char *base);
/*
 * The value of an unlabelled sample (elenchus_...) in /metrics at base
 * (NULL: the suite's server); -1 when it is absent or /metrics fails.
 */
long		 fx_metric(const char *base, const char *name);

/* A JSON request with an optional bearer token and X-Forwarded-For. */
struct resp	*fx_req(const char *base, const char *method,
		    const char *path, const char *token, const char *xff,
		    const char *json);
/* method on path from fmt, as u (NULL: anonymous), at main or at base. */
struct resp	*fx_call(const char *method, const struct user *u,
		    const char *body, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
struct resp	*fx_call_at(const char *base, const char *method,
		    const struct user *u, const char *body, const char *fmt,
		    ...) __attribute__((format(printf, 5, 6)));

/* Accounts through the real API. */
struct resp	*fx_register(const char *base, const char *xff, json_t *body);
void		 fx_new(struct user *, const char *prefix);
void		 fx_new_at(const char *base, const char *xff, struct user *,
		    const char *prefix);
void		 fx_admin(struct user *);
void		 fx_take(struct user *, struct resp *);
struct resp	*fx_login(const char *base, const char *xff,
		    const char *email, const char *password);
struct resp	*fx_refresh(const char *base, const char *xff,
		    const char *refresh);

/* The answer is an error envelope for status and code (docs/API.md §1). */
void		 fx_error(struct resp *, long status, const char *code);
/* The answer has status; a 2xx is a success envelope. */
void		 fx_status(struct resp *, long status);
/* The issue recorded for field in a validation error, or NULL. */
const char	*fx_issue(struct resp *, const char *field);
/* jansson object to compact text (free()); steals o. */
char		*fx_dump(json_t *o);

/* An HS256 token signed with key (NULL: the server's secret); free(). */
char		*fx_forge(const char *sub, const char *sid, const char *role,
		    long iat, long exp, const char *key);
void		 fx_claims(const char *token, struct jwt_claims *);

/* A connection of the test's own to DATABASE_URL (PQfinish it). */
PGconn		*fx_db(void);
/* A curl write callback that keeps nothing. */
size_t		 fx_discard(char *, size_t, size_t, void *);
/* One statement on DATABASE_URL; its first value or "" (static). */
const char	*fx_sql(const char *sql, const char *p1);
/* The same on a connection of the test's own (a transaction, a lock). */
const char	*fx_sql_on(PGconn *, const char *sql, const char *p1);

/*
 * A file uploaded to /api/v1/documents at base as u (multipart as a
 * browser sends it), after form fields (name, value, ..., NULL; NULL:
 * none).  The server types the file by content.
 */
struct resp	*fx_upload(const char *base, const struct user *u,
		    const char *filename, const char *data, size_t len,
		    const char *const *fields);
/* A text document of u's (201); its id into id. */
void		 fx_doc_new(const char *base, const struct user *u,
		    const char *filename, const char *text, char *id,
		    size_t len);
/* Its processing_status once "completed" or "failed"; "timeout" after s. */
const char	*fx_doc_wait(const char *base, const struct user *u,
		    const char *id, int seconds);
/* The LLM stand-in's requests whose body holds marker, oldest first. */
json_t		*fx_llm_requests(const char *marker);
/* Whether the LLM stand-in has seen a request whose body holds marker. */
int		 fx_llm_saw(const char *marker);
/* "k=v" for an instance's env (static, 8 at a time). */
const char	*fx_env(const char *k, const char *v);

/* Fixed one-minute rate windows: don't start a count near a boundary. */
void		 fx_fresh_minute(void);
/* A phone number nobody else uses in this run: +1555 and 7 digits. */
void		 fx_phone(char *out, size_t len);
/*
 * The 6-digit code of the last console message (channel "sms" or "email")
 * to `to` in the server log; 1 if found.
 */
int		 fx_console_code(const char *log, const char *channel,
		    const char *to, char code[7]);
int		 fx_file_has(const char *path, const char *needle);
/* Lines of file containing needle; -1 when it cannot be read. */
int		 fx_count_in(const char *file, const char *needle);
/* Seconds on a monotonic clock, for intervals. */
double		 fx_now(void);
int		 fx_free_port(void);
/* A TCP connection to 127.0.0.1:port, or -1. */
int		 fx_tcp_connect(int port);

/*
 * A process group of our own running argv (PATH searched) with extra
 * "K=V" env entries, output to out (NULL: /dev/null); fx_stop ends it.
 */
pid_t		 fx_spawn(const char *const *argv, const char *const *env,
		    const char *out);
void		 fx_stop(pid_t *);
/* 1 when it ended by itself within seconds (then forgotten), else 0. */
int		 fx_exited(pid_t *, int seconds);

/* An instance (scripts/serve.sh) with extra env; HTTP_PORT= reuses one. */
void		 fx_srv_start(struct srv *, const char *const *env);
void		 fx_srv_stop(struct srv *);
/* The pids of its Kore workers (children of its parent); how many. */
int		 fx_srv_workers(const struct srv *, pid_t *, int max);
/* A front before 127.0.0.1:upstream_port, with extra env. */
void		 fx_front_start(struct front *, int upstream_port,
		    const char *const *env);
void		 fx_front_stop(struct front *);
/* A cluster under $E2E_TMP with database db, migrated; url to reach it. */
void		 fx_pg_start(struct pgc *, const char *db);
/* Stop or start it again (an outage drill); fx_pg_stop forgets it. */
void		 fx_pg_ctl(struct pgc *, const char *cmd);
void		 fx_pg_stop(struct pgc *);

#endif
