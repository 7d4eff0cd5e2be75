/*
 * Hardening (issue 10): each test proves one defect through the public
 * interface and fails on the code before its fix.
 *
 *   client IP behind the TLS front: a padded X-Forwarded-For does not
 *   escape a spent login budget; an IPv6 client is limited per /64.
 */
#define _GNU_SOURCE		/* memmem */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>

#include "fixture.h"

/* A login with a header of any length (fx_req bounds X-Forwarded-For). */
static struct resp *
sec_login_xff(const char *base, const char *xff)
{
	const char	*hdrs[4];
	char		*fwd, body[256];
	struct resp	*r;
	size_t		 n;

	n = strlen(xff) + 32;
	cr_assert_not_null(fwd = malloc(n));
	(void)snprintf(fwd, n, "X-Forwarded-For: %s", xff);
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = "User-Agent: elenchus-e2e/1.0";
	hdrs[2] = fwd;
	hdrs[3] = NULL;
	(void)snprintf(body, sizeof(body),
	    "{\"email\":\"%s@example.test\",\"password\":\"x\"}",
	    uniq("nobody"));
	r = http_req_to(base, "POST", "/api/v1/auth/login", hdrs, body,
	    strlen(body));
	free(fwd);
	return (r);
}

/*
 * #1: the client pads X-Forwarded-For so that an address of its choosing
 * ends exactly at byte 2,048 and nginx's appended hop lies beyond: the
 * old walk took the chosen address (a fresh budget every time).
 */
Test(security, padded_forwarded_for_does_not_escape_the_login_budget)
{
	static const char *const env[] = {
		"AUTH_RATE_LIMIT_PER_MINUTE=3", "TRUSTED_PROXIES=127.0.0.2",
		NULL
	};
	struct srv	 s;
	struct front	 f;
	struct resp	*r;
	char		 addr[32], *xff;
	size_t		 pad;
	int		 i, limited;

	fx_srv_start(&s, env);
	fx_front_start(&f, s.port, (const char *const[]){
	    "NGINX_PROXY_BIND=127.0.0.2", NULL });
	fx_fresh_minute();

	/* Spend the budget of this client (127.0.0.1 as nginx sees it). */
	limited = 0;
	for (i = 0; i < 10 && !limited; i++) {
		r = fx_login(f.base, NULL, uniq("nobody"), "x");
		cr_assert(r->status == 401 || r->status == 429, "%ld %s",
		    r->status, r->body);
		limited = r->status == 429;
		resp_free(r);
	}
	cr_assert(limited, "the budget of 3 was never spent");

	cr_assert_not_null(xff = malloc(4096));
	for (i = 0; i < 8; i++) {
		(void)snprintf(addr, sizeof(addr), "203.0.113.%d",
		    10 + i + (int)(getpid() % 200));
		pad = 2048 - strlen(addr) - 2;
		memset(xff, 'x', pad);
		(void)snprintf(xff + pad, 4096 - pad, ", %s, 8.8.8.8", addr);
		r = sec_login_xff(f.base, xff);
		cr_expect_eq(r->status, 429, "padded request %d got %ld %s",
		    i, r->status, r->body);
		resp_free(r);
	}
	free(xff);
	fx_front_stop(&f);
	fx_srv_stop(&s);
}

/* #1: addresses of one IPv6 /64 share one budget. */
Test(security, ipv6_clients_are_limited_per_64)
{
	static const char *const env[] = {
		"AUTH_RATE_LIMIT_PER_MINUTE=3", "TRUSTED_PROXIES=127.0.0.1",
		NULL
	};
	struct srv	 s;
	struct resp	*r;
	char		 ip[64];
	int		 i, net;

	fx_srv_start(&s, env);
	fx_fresh_minute();
	net = (int)(time(NULL) % 60000) + (int)(getpid() % 5000);
	for (i = 0; i < 3; i++) {
		(void)snprintf(ip, sizeof(ip), "2001:db8:%x:1::%x", net, i + 1);
		r = fx_login(s.base, ip, uniq("nobody"), "x");
		cr_expect_eq(r->status, 401, "%ld %s", r->status, r->body);
		resp_free(r);
	}
	(void)snprintf(ip, sizeof(ip), "2001:db8:%x:1:dead:beef:0:99", net);
	r = fx_login(s.base, ip, uniq("nobody"), "x");
	fx_error(r, 429, "rate_limited");
	resp_free(r);
	/* the next /64 is another client */
	(void)snprintf(ip, sizeof(ip), "2001:db8:%x:2::1", net);
	r = fx_login(s.base, ip, uniq("nobody"), "x");
	cr_expect_eq(r->status, 401, "%ld %s", r->status, r->body);
	resp_free(r);
	fx_srv_stop(&s);
}

struct guess {
	const char	*base;
	const char	*email;
	const char	*pw;
	long		 status;
};

static void *
guess_run(void *arg)
{
	struct guess	*g = arg;
	struct resp	*r;

	r = fx_login(g->base, "198.51.100.250", g->email, g->pw);
	g->status = r->status;
	resp_free(r);
	return (NULL);
}

/*
 * #2: 30 concurrent wrong passwords.  The lock used to be checked before
 * bcrypt and the failure recorded after it, so every one got a guess.
 * A guess is an answer from bcrypt: 401; the others are refused (423)
 * without one.
 */
Test(security, concurrent_wrong_passwords_never_exceed_the_threshold)
{
	static const char *const env[] = {
		"AUTH_RATE_LIMIT_PER_MINUTE=1000000", "LOCKOUT_THRESHOLD=3",
		"LOCKOUT_WINDOW_S=60", "BCRYPT_COST=8", NULL
	};
	struct srv	 s;
	struct user	 a;
	struct guess	 g[30];
	pthread_t	 t[30];
	char		 n[16];
	int		 i, guesses, locked;

	fx_srv_start(&s, env);
	fx_new_at(s.base, NULL, &a, "race");
	for (i = 0; i < 30; i++) {
		g[i].base = s.base;
		g[i].email = a.email;
		g[i].pw = "Wr0ng-Passw0rd!";
		cr_assert_eq(pthread_create(&t[i], NULL, guess_run, &g[i]), 0);
	}
	for (i = 0; i < 30; i++)
		(void)pthread_join(t[i], NULL);
	guesses = locked = 0;
	for (i = 0; i < 30; i++) {
		cr_expect(g[i].status == 401 || g[i].status == 423,
		    "status %ld", g[i].status);
		guesses += g[i].status == 401;
		locked += g[i].status == 423;
	}
	cr_expect(guesses >= 1 && guesses <= 3, "%d guesses got bcrypt",
	    guesses);
	cr_expect_eq(guesses + locked, 30);
	(void)snprintf(n, sizeof(n), "%d", guesses);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'login_failed'", a.id), n);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'account_locked'", a.id),
	    guesses == 3 ? "1" : "0");
	/* Locked: even the right password is refused now. */
	{
		struct resp	*r;

		r = fx_login(s.base, NULL, a.email, FX_PASSWORD);
		fx_error(r, 423, "account_locked");
		resp_free(r);
	}
	fx_srv_stop(&s);
}

/*
 * #3: a login still hashing the old password while the password changes.
 * The test holds the user's row so the login waits just before its
 * write; meanwhile a writer changes the password and revokes the sessions
 * (what POST /auth/password does).  The login was verified against the
 * old hash: it must not create a session, and its rehash (the instance's
 * cost differs from the account's) must not write the old password back.
 */
Test(security, login_racing_a_password_change_loses)
{
	static const char *const env4[] = { "BCRYPT_COST=4", NULL };
	static const char *const env5[] = { "BCRYPT_COST=5", NULL };
	struct srv	 s4, s5;
	struct user	 a, b;
	struct guess	 g;
	pthread_t	 t;
	PGconn		*db;
	PGresult	*res;
	const char	*p[2];
	struct resp	*r;
	char		 q[256];
	int		 i, waiting;

	fx_srv_start(&s4, env4);
	fx_srv_start(&s5, env5);
	fx_new_at(s4.base, NULL, &a, "pwrace");
	/* b's hash is the new password's */
	(void)snprintf(b.email, sizeof(b.email), "%s@example.test",
	    uniq("pwrace-new"));
	r = fx_register(s4.base, NULL, json_pack("{s:s, s:s, s:s}",
	    "email", b.email, "password", "N3w-Passw0rd!!", "full_name",
	    "Auth Tester"));
	cr_assert_eq(r->status, 201, "%s", r->body);
	fx_take(&b, r);
	resp_free(r);

	db = fx_db();
	PQclear(PQexec(db, "BEGIN"));
	p[0] = a.id;
	res = PQexecParams(db, "SELECT 1 FROM users WHERE id = $1::uuid "
	    "FOR UPDATE", 1, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK);
	PQclear(res);

	g.base = s5.base;
	g.email = a.email;
	g.pw = FX_PASSWORD;
	g.status = 0;
	cr_assert_eq(pthread_create(&t, NULL, guess_run, &g), 0);
	/* until the login waits on the row, verified and rehashed */
	waiting = 0;
	for (i = 0; i < 200 && !waiting; i++) {
		waiting = !strcmp(fx_sql("SELECT count(*) FROM "
		    "pg_stat_activity WHERE wait_event_type = 'Lock' AND "
		    "query LIKE '%last_login = now()%' AND "
		    "datname = current_database()", NULL), "1");
		if (!waiting)
			(void)usleep(50000);
	}
	cr_assert(waiting, "the login never reached its write");

	p[1] = b.id;
	res = PQexecParams(db, "WITH u AS (UPDATE users SET password_hash = "
	    "(SELECT password_hash FROM users WHERE id = $2::uuid) "
	    "WHERE id = $1::uuid RETURNING id) "
	    "UPDATE sessions SET revoked_at = now(), "
	    "revoke_reason = 'password_changed' WHERE user_id = $1::uuid "
	    "AND revoked_at IS NULL", 2, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_COMMAND_OK, "%s",
	    PQerrorMessage(db));
	PQclear(res);
	PQclear(PQexec(db, "COMMIT"));
	PQfinish(db);
	(void)pthread_join(t, NULL);

	cr_expect_eq(g.status, 401, "the racing login got %ld", g.status);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM sessions WHERE "
	    "user_id = $1::uuid AND revoked_at IS NULL", a.id), "0");
	/* the new password stands, the old one is gone */
	r = fx_login(s4.base, NULL, a.email, FX_PASSWORD);
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_login(s4.base, NULL, a.email, "N3w-Passw0rd!!");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	(void)snprintf(q, sizeof(q), "SELECT (SELECT password_hash FROM users "
	    "WHERE id = $1::uuid) = (SELECT password_hash FROM users "
	    "WHERE id = '%s'::uuid)", b.id);
	cr_expect_str_eq(fx_sql(q, a.id), "t");
	fx_srv_stop(&s5);
	fx_srv_stop(&s4);
}

/* Until the token is refused (the NOTIFY reaches the worker), or 5 s. */
static long
sec_me_until_refused(const char *base, const char *token)
{
	struct resp	*r;
	long		 st;
	int		 i;

	st = 0;
	for (i = 0; i < 50; i++) {
		r = fx_req(base, "GET", "/api/v1/auth/sessions", token, NULL,
		    NULL);
		st = r->status;
		resp_free(r);
		if (st == 401)
			break;
		(void)usleep(100000);
	}
	return (st);
}

/*
 * #9: a demotion or a new role written with plain SQL (not through the
 * API) ends the user's sessions, as a deactivation already did.
 */
Test(security, demotion_by_plain_sql_revokes_sessions)
{
	struct user	 a, b;
	struct resp	*r;

	fx_new(&a, "demote");
	cr_expect_str_eq(fx_sql("UPDATE users SET is_superuser = true "
	    "WHERE id = $1::uuid RETURNING 'ok'", a.id), "ok");
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert_eq(r->status, 200, "%s", r->body);
	fx_take(&a, r);
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/users?limit=1", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "admin before: %s", r->body);
	resp_free(r);

	(void)fx_sql("UPDATE users SET is_superuser = false "
	    "WHERE id = $1::uuid", a.id);
	cr_expect_eq(sec_me_until_refused(NULL, a.token), 401);
	r = fx_refresh(NULL, NULL, a.refresh);
	cr_expect_eq(r->status, 401, "refresh after demotion: %s", r->body);
	resp_free(r);

	fx_new(&b, "rerole");
	(void)fx_sql("UPDATE users SET role = 'paralegal' "
	    "WHERE id = $1::uuid", b.id);
	cr_expect_eq(sec_me_until_refused(NULL, b.token), 401);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM sessions WHERE "
	    "user_id = $1::uuid AND revoked_at IS NULL", b.id), "0");
	/* an unrelated change does not */
	fx_new(&b, "rename");
	(void)fx_sql("UPDATE users SET full_name = 'Renamed' "
	    "WHERE id = $1::uuid", b.id);
	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", b.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
}

static struct resp *
sec_refresh_as(const char *base, const char *xff, const char *ua,
    const char *rt)
{
	const char	*hdrs[4];
	char		 h1[128], h2[128], body[256];

	(void)snprintf(h1, sizeof(h1), "User-Agent: %s", ua);
	(void)snprintf(h2, sizeof(h2), "X-Forwarded-For: %s", xff);
	hdrs[0] = "Content-Type: application/json";
	hdrs[1] = h1;
	hdrs[2] = h2;
	hdrs[3] = NULL;
	(void)snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rt);
	return (http_req_to(base, "POST", "/api/v1/auth/refresh", hdrs, body,
	    strlen(body)));
}

/*
 * #10: inside the grace window a rotated refresh token is honoured only
 * for the client that rotated it; from another address or another user
 * agent it is reuse, and the session ends.
 */
Test(security, refresh_grace_is_for_the_same_client_only)
{
	static const char *const env[] = {
		"TRUSTED_PROXIES=127.0.0.1", "REFRESH_REUSE_GRACE_S=60", NULL
	};
	static const char *const other[][2] = {
		{ "198.51.100.20", "elenchus-e2e/1.0" },	/* other ip */
		{ "198.51.100.10",
		    "other-agent/2.0" },		/* other agent */
	};
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 old[128];
	int		 i;

	fx_srv_start(&s, env);
	for (i = 0; i < 2; i++) {
		fx_new_at(s.base, "198.51.100.10", &a, "grace");
		(void)snprintf(old, sizeof(old), "%s", a.refresh);
		r = sec_refresh_as(s.base, "198.51.100.10", "elenchus-e2e/1.0",
		    old);
		cr_assert_eq(r->status, 200, "%s", r->body);
		resp_free(r);
		/* the same client again, inside the grace: a pair */
		r = sec_refresh_as(s.base, "198.51.100.10", "elenchus-e2e/1.0",
		    old);
		cr_expect_eq(r->status, 200, "same client: %s", r->body);
		resp_free(r);
		/* another client with the same token: reuse */
		r = sec_refresh_as(s.base, other[i][0], other[i][1], old);
		fx_error(r, 401, "token_reused");
		resp_free(r);
		cr_expect_str_eq(fx_sql("SELECT count(*) FROM sessions WHERE "
		    "user_id = $1::uuid AND revoked_at IS NULL", a.id), "0");
	}
	fx_srv_stop(&s);
}

/* The backends of instance app's revocation listeners (by their queries). */
static int
sec_listeners(const char *app, int *pids, int max)
{
	PGconn		*db;
	PGresult	*res;
	const char	*p[1];
	int		 i, n;

	db = fx_db();
	p[0] = app;
	res = PQexecParams(db, "SELECT pid FROM pg_stat_activity "
	    "WHERE application_name = $1 AND (query LIKE 'LISTEN %' "
	    "OR query LIKE '%FROM sessions WHERE revoked_at > now()%' "
	    "OR query LIKE '%revoke ping%' "
	    "OR query LIKE 'DELETE FROM rate_limits WHERE window_start%' "
	    "OR query LIKE '%FROM unnest($1::text[], $2::int[])%')",
	    1, NULL, p, NULL, NULL, 0);
	cr_assert_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
	    PQerrorMessage(db));
	n = PQntuples(res) < max ? PQntuples(res) : max;
	for (i = 0; i < n; i++)
		pids[i] = atoi(PQgetvalue(res, i, 0));
	PQclear(res);
	PQfinish(db);
	return (n);
}

/*
 * #7: the revocation listener's backend stops answering (frozen: the TCP
 * connection stays up, as when it is half-open).  The fast path used to
 * trust the stale cache until TCP gave up (about 15 minutes), at least
 * while no rate-limit flush got stuck on the same connection; now the
 * cache stops counting as live within REVOKE_FRESH_MS (3 s) and the
 * database is asked.
 */
Test(security, stalled_listener_falls_back_to_the_database, .timeout = 90)
{
	const char	*env[4];
	char		 url[1024], app[64];
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	int		 pids[16], n, i, j, bad;

	(void)snprintf(app, sizeof(app), "secstall%d", (int)getpid());
	(void)snprintf(url, sizeof(url), "DATABASE_URL=%s%capplication_name=%s",
	    env_or("DATABASE_URL", ""),
	    strchr(env_or("DATABASE_URL", ""), '?') ? '&' : '?', app);
	env[0] = url;
	env[1] = "RATE_LIMIT_PER_MINUTE=1000000";
	env[2] = "AUTH_RATE_LIMIT_PER_MINUTE=1000000";
	env[3] = NULL;
	fx_srv_start(&s, env);
	fx_new_at(s.base, NULL, &a, "stall");
	/* every worker has checked the session once: the fast path */
	for (i = 0; i < 12; i++) {
		r = fx_req(s.base, "GET", "/api/v1/auth/sessions", a.token,
		    NULL, NULL);
		cr_assert_eq(r->status, 200, "%s", r->body);
		resp_free(r);
	}
	(void)sleep(1);	/* the rate-limit counts flushed */
	n = 0;
	for (i = 0; i < 50 && n < 2; i++) {
		n = sec_listeners(app, pids, 16);
		if (n < 2)
			(void)usleep(100000);
	}
	cr_assert(n >= 1, "no listener found");
	for (i = 0; i < n; i++)
		cr_assert_eq(kill(pids[i], SIGSTOP), 0, "SIGSTOP %d", pids[i]);
	/* the listener stays silent a while, with no traffic */
	(void)usleep(4500000);
	(void)fx_sql("UPDATE sessions SET revoked_at = now(), "
	    "revoke_reason = 'test' WHERE user_id = $1::uuid", a.id);
	/* every answer now, on any worker, refuses the session */
	bad = 0;
	for (j = 0; j < 8; j++) {
		r = fx_req(s.base, "GET", "/api/v1/auth/sessions", a.token,
		    NULL, NULL);
		if (r->status != 401)
			bad++;
		resp_free(r);
	}
	for (i = 0; i < n; i++)
		(void)kill(pids[i], SIGCONT);
	cr_expect_eq(bad, 0, "%d of 8 requests accepted a revoked session "
	    "while the listener was stalled", bad);
	fx_srv_stop(&s);
}

/*
 * Start an instance (scripts/serve.sh) with env; 1 if it exits by itself
 * within 20 s (refused to start), 0 if it is still running then.
 */
static int
sec_refuses_to_start(const char *const *env, const char *log)
{
	const char	*argv[] = { "sh", "scripts/serve.sh", NULL, NULL };
	const char	*senv[16];
	char		 dir[192], port[32];
	pid_t		 pid;
	int		 i, p;

	p = fx_free_port();
	(void)snprintf(dir, sizeof(dir), "%s/refuse-%d",
	    env_or("E2E_TMP", "/tmp"), p);
	(void)snprintf(port, sizeof(port), "HTTP_PORT=%d", p);
	for (i = 0; env[i] != NULL && i < 14; i++)
		senv[i] = env[i];
	senv[i++] = port;
	senv[i] = NULL;
	argv[2] = dir;
	(void)unlink(log);
	pid = fx_spawn(argv, senv, log);
	if (fx_exited(&pid, 20))
		return (1);
	fx_stop(&pid);
	return (0);
}

/*
 * #11: ENVIRONMENT=production with the console SMS sender (it writes the
 * verification codes to the log) does not start, and says why.
 */
Test(security, production_refuses_the_console_sms_sender)
{
	static const char *const cons[] = {
		"ENVIRONMENT=production", "SMS_PROVIDER=console",
		"JWT_SECRET=prod-secret-0123456789abcdef0123456789", NULL
	};
	static const char *const twilio[] = {
		"ENVIRONMENT=production", "SMS_PROVIDER=twilio",
		"JWT_SECRET=prod-secret-0123456789abcdef0123456789", NULL
	};
	struct srv	 s;
	char		 log[256], buf[16384];
	FILE		*f;
	size_t		 n;

	(void)snprintf(log, sizeof(log), "%s/refuse-%d.log",
	    env_or("E2E_TMP", "/tmp"), (int)getpid());
	cr_expect(sec_refuses_to_start(cons, log), "a production instance "
	    "started with the console SMS sender");
	cr_assert_not_null(f = fopen(log, "r"), "%s", log);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	(void)fclose(f);
	cr_expect_not_null(strstr(buf, "SMS_PROVIDER: console"), "%s", buf);

	/* the same with a real sender starts */
	fx_srv_start(&s, twilio);
	fx_srv_stop(&s);
}

/* Occurrences of needle in the writable memory of the processes of pgid. */
static int
sec_mem_count(pid_t pgid, const char *needle)
{
	char		 path[64], line[512], *buf;
	FILE		*maps, *st;
	unsigned long	 lo, hi;
	char		 perms[8];
	size_t		 nlen, len;
	ssize_t		 got;
	int		 fd, count, pid, pg;
	DIR		*d;
	struct dirent	*de;
	const char	*p;

	nlen = strlen(needle);
	count = 0;
	cr_assert_not_null(d = opendir("/proc"));
	while ((de = readdir(d)) != NULL) {
		if ((pid = atoi(de->d_name)) <= 0)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/stat", pid);
		if ((st = fopen(path, "r")) == NULL)
			continue;
		pg = -1;
		if (fgets(line, sizeof(line), st) != NULL &&
		    (p = strrchr(line, ')')) != NULL)
			(void)sscanf(p + 2, "%*c %*d %d", &pg);
		(void)fclose(st);
		if (pg != pgid)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/maps", pid);
		if ((maps = fopen(path, "r")) == NULL)
			continue;
		(void)snprintf(path, sizeof(path), "/proc/%d/mem", pid);
		if ((fd = open(path, O_RDONLY)) < 0) {
			(void)fclose(maps);
			continue;
		}
		while (fgets(line, sizeof(line), maps) != NULL) {
			if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) != 3 ||
			    perms[1] != 'w' || hi - lo > (1UL << 30))
				continue;
			len = hi - lo;
			if ((buf = malloc(len)) == NULL)
				continue;
			got = pread(fd, buf, len, (off_t)lo);
			for (p = buf; got > 0 && (p = memmem(p, (size_t)got -
			    (size_t)(p - buf), needle, nlen)) != NULL; p++)
				count++;
			free(buf);
		}
		(void)close(fd);
		(void)fclose(maps);
	}
	(void)closedir(d);
	return (count);
}

/*
 * #11: once hashed or verified, a password is wiped from the request's
 * buffers (connection buffer, raw body, parsed JSON, form).  Counted in
 * the instance's memory (/proc/<pid>/mem) after a registration, a login
 * and a password change.
 */
Test(security, passwords_are_wiped_from_request_buffers)
{
	struct srv	 s;
	struct resp	*r;
	char		 email[128], pw[64], pw2[64], body[512], tok[4096];
	int		 n1, n2;

	fx_srv_start(&s, NULL);
	(void)snprintf(pw, sizeof(pw), "Wipe-Me-%ld-%d", (long)time(NULL),
	    (int)getpid());
	(void)snprintf(pw2, sizeof(pw2), "Wiped-Too-%ld-%d", (long)time(NULL),
	    (int)getpid());
	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("wipe"));
	(void)snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":"
	    "\"%s\",\"full_name\":\"Wipe Tester\"}", email, pw);
	r = fx_req(s.base, "POST", "/api/v1/auth/register", NULL, NULL, body);
	cr_assert_eq(r->status, 201, "%s", r->body);
	resp_free(r);
	r = fx_login(s.base, NULL, email, pw);
	cr_assert_eq(r->status, 200, "%s", r->body);
	(void)snprintf(tok, sizeof(tok), "%s", jstr(r, "data.access_token"));
	resp_free(r);
	(void)snprintf(body, sizeof(body), "{\"current_password\":\"%s\","
	    "\"new_password\":\"%s\"}", pw, pw2);
	r = fx_req(s.base, "POST", "/api/v1/auth/password", tok, NULL, body);
	cr_assert_eq(r->status, 200, "%s", r->body);
	resp_free(r);
	/* other traffic on the same connections */
	r = fx_req(s.base, "GET", "/api/v1/auth/sessions", tok, NULL, NULL);
	resp_free(r);
	n1 = sec_mem_count(s.pid, pw);
	n2 = sec_mem_count(s.pid, pw2);
	/*
	 * Before: 3 copies of each (the raw body, the JSON parse buffer, the
	 * parsed string); then, in about half the runs, one: the buffer Kore
	 * read the request's head and body into, kept as req->headers.
	 */
	cr_expect(n1 == 0 && n2 == 0, "password copies left in the "
	    "instance's memory: old %d, new %d", n1, n2);
	fx_srv_stop(&s);
}
