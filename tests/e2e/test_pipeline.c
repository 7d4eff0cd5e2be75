/*
 * The worker's pipelined PostgreSQL connections (src/db.c), through the
 * public API: many requests in flight at once, more than the workers
 * have connections, so that statements queue several deep on each one
 * and their answers must be matched to them in order.
 *
 *   - every answer is its own request's (distinct users and todos, each
 *     checked field by field), writes and reads, round after round;
 *   - a statement PostgreSQL refuses (a unique violation answered 409,
 *     a foreign key answered 404) disturbs none of its neighbours, and
 *     reads aborted with a cancelled one (they share a Sync) are sent
 *     again;
 *   - requests abandoned while their statement waits on a row lock held
 *     here: the others are answered while the lock is still held, the
 *     abandoned results are dropped, the pool gauge returns to 0;
 *   - writes waiting on a lock take at most the connections but the
 *     read pipelines: reads are answered meanwhile;
 *   - on instances of our own: workers killed with statements in
 *     flight leave no phantom busy statement in /metrics, and every
 *     connection terminated by PostgreSQL (idle or in flight) is
 *     replaced, its statements prepared again and its queries resent.
 */
#include <criterion/criterion.h>

#include <poll.h>
#include <signal.h>

#include <curl/curl.h>

#include "calls.h"
#include "fixture.h"

#define PL_USERS	32
#define PL_TODOS	4	/* per user */
#define PL_CALLS	(PL_USERS * (PL_TODOS + 1))
/* More than 8 connections x 32 statements in flight on one worker. */
#define PL_STUCK	320


/* The first blocked statement's backend pid, "" when none. */
static const char *
pg_blocked_pid(PGconn *db)
{
	char		pid[32];

	(void)snprintf(pid, sizeof(pid), "%d", PQbackendPID(db));
	return (fx_sql("SELECT pid FROM pg_stat_activity WHERE "
	    "$1::int = ANY(pg_blocking_pids(pid)) LIMIT 1", pid));
}

/* Users at base, each with PL_TODOS todos created at once. */
struct world {
	const char	*base;
	int		 n;
	struct user	 u[PL_USERS];
	char		 todo[PL_USERS][PL_TODOS][40];
	char		 title[PL_USERS][PL_TODOS][64];
};

static struct call	calls[PL_CALLS * 2];

static void
world_make(struct world *w, const char *base, int users)
{
	struct call	*c = calls;
	json_t		*j;
	const char	*id;
	int		 i, k, n;

	w->base = base;
	w->n = users;
	for (i = 0; i < users; i++)
		fx_new_at(base, NULL, &w->u[i], "pipe-");
	/* The todos themselves at once: answers to writes are matched too. */
	n = 0;
	for (k = 0; k < PL_TODOS; k++)
		for (i = 0; i < users; i++, n++) {
			(void)snprintf(w->title[i][k], sizeof(w->title[0][0]),
			    "pipe %d.%d %s", i, k, uniq(""));
			call_set(&c[n], base, "POST", &w->u[i], NULL, 201,
			    "/api/v1/users/%s/todos", w->u[i].id);
			(void)snprintf(c[n].body, sizeof(c[n].body),
			    "{\"title\":\"%s\"}", w->title[i][k]);
			call_want(&c[n], "data.title", w->title[i][k]);
			call_want(&c[n], "data.user_id", w->u[i].id);
		}
	calls_run(c, n);
	for (n = 0, k = 0; k < PL_TODOS; k++)
		for (i = 0; i < users; i++, n++) {
			j = json_loads(c[n].out, 0, NULL);
			id = json_string_value(jpath(j, "data.id"));
			cr_assert_not_null(id, "%s", c[n].out);
			(void)snprintf(w->todo[i][k], 40, "%s", id);
			json_decref(j);
		}
	calls_free(c, n);
}

/*
 * An instance of our own (jobs off), its connections known to PostgreSQL
 * by application_name app (pipeline-tag-pid), with users of its own.
 */
static struct world *
pl_instance(struct srv *s, char *app, size_t alen, const char *tag,
    int users)
{
	const char	*env[3], *url;
	char		 denv[700];
	struct world	*w;

	url = env_or("DATABASE_URL", "");
	(void)snprintf(app, alen, "pipeline-%s-%d", tag, (int)getpid());
	(void)snprintf(denv, sizeof(denv),
	    "DATABASE_URL=%s%sapplication_name=%s", url,
	    strchr(url, '?') ? "&" : "?", app);
	env[0] = denv;
	env[1] = "JOBS_DISABLED=1";
	env[2] = NULL;
	cr_assert_not_null(w = calloc(1, sizeof(*w)));
	fx_srv_start(s, env);
	world_make(w, s->base, users);
	return (w);
}

/*
 * An instance of our own (env), users of its own, and user 0's first
 * todo locked on *db (pg_lock_todo).
 */
static struct world *
pl_locked(struct srv *s, const char *const *env, int users, PGconn **db)
{
	struct world	*w;

	cr_assert_not_null(w = calloc(1, sizeof(*w)));
	fx_srv_start(s, env);
	world_make(w, s->base, users);
	*db = fx_db();
	pg_lock_todo(*db, w->todo[0][0]);
	return (w);
}

/* GET todo k of user i, checked to be exactly that todo. */
static void
want_todo(struct world *w, struct call *c, int i, int k)
{
	call_set(c, w->base, "GET", &w->u[i], NULL, 200,
	    "/api/v1/users/%s/todos/%s", w->u[i].id, w->todo[i][k]);
	call_want(c, "data.id", w->todo[i][k]);
	call_want(c, "data.title", w->title[i][k]);
	call_want(c, "data.user_id", w->u[i].id);
}

/* PATCH todo k of user i to a fresh title; the answer is that todo. */
static void
want_retitle(struct world *w, struct call *c, int i, int k)
{
	(void)snprintf(w->title[i][k], sizeof(w->title[0][0]),
	    "pipe %d.%d renamed %s", i, k, uniq(""));
	call_set(c, w->base, "PATCH", &w->u[i], NULL, 200,
	    "/api/v1/users/%s/todos/%s", w->u[i].id, w->todo[i][k]);
	(void)snprintf(c->body, sizeof(c->body), "{\"title\":\"%s\"}",
	    w->title[i][k]);
	call_want(c, "data.id", w->todo[i][k]);
	call_want(c, "data.title", w->title[i][k]);
	call_want(c, "data.user_id", w->u[i].id);
}

/* GET /users/me of user i: that user. */
static void
want_me(struct world *w, struct call *c, int i)
{
	call_set(c, w->base, "GET", &w->u[i], NULL, 200, "/api/v1/users/me");
	call_want(c, "data.id", w->u[i].id);
	call_want(c, "data.email", w->u[i].email);
}

/*
 * n PATCHes of user 0's first todo (locked here) to title, sent at once
 * on a multi handle of their own (returned).
 */
static CURLM *
patch_locked(struct world *w, struct call *c, int n, const char *title)
{
	CURLM		*m;
	char		 body[64];
	int		 i;

	(void)snprintf(body, sizeof(body), "{\"title\":\"%s\"}", title);
	cr_assert_not_null(m = curl_multi_init());
	for (i = 0; i < n; i++)
		call_set(&c[i], w->base, "PATCH", &w->u[0], body, 200,
		    "/api/v1/users/%s/todos/%s", w->u[0].id, w->todo[0][0]);
	calls_start(m, c, n);
	return (m);
}

/*
 * One burst over every user: each todo read (or, with write, every
 * other one renamed), the user's own profile and list.  skip: a todo
 * (user 0's first) left out.
 */
static int
burst(struct world *w, struct call *c, int write, int skip)
{
	int		i, k, n;

	n = 0;
	for (k = 0; k < PL_TODOS; k++)
		for (i = 0; i < w->n; i++) {
			if (skip && i == 0 && k == 0)
				continue;
			if (write && (i + k) % 2)
				want_retitle(w, &c[n++], i, k);
			else
				want_todo(w, &c[n++], i, k);
		}
	for (i = 0; i < w->n; i++) {
		want_me(w, &c[n++], i);
		call_set(&c[n], w->base, "GET", &w->u[i], NULL, 200,
		    "/api/v1/users/%s/todos", w->u[i].id);
		call_want(&c[n], "data.total", "4");
		call_want(&c[n++], "data.items.0.user_id", w->u[i].id);
	}
	return (n);
}

/*
 * 192 requests at once, 32 users, 128 todos: far more than the 2 x 8
 * connections, so statements queue several deep on each; each answer
 * must be its own request's, reads and writes, round after round (the
 * same statements on every connection: each prepares its own).
 */
Test(pipeline, concurrent_answers_are_never_crossed, .timeout = 120)
{
	static struct world	w;
	int			round, n;

	world_make(&w, NULL, PL_USERS);
	for (round = 0; round < 4; round++) {
		n = burst(&w, calls, round == 1 || round == 2, 0);
		calls_run(calls, n);
		calls_free(calls, n);
	}
}

/* A username nobody has (3-30 characters, a letter first). */
static void
fresh_username(char *out, size_t len, int round, int i)
{
	static int	seq;

	(void)snprintf(out, len, "pl%dx%dx%ld%d", round % 10, i % 100,
	    (long)getpid() % 100000, seq++ % 1000);
}

/*
 * Statements PostgreSQL refuses, among normal ones on the same
 * connections: a username taken (a unique violation, 409) and an
 * admin's todo for a user that does not exist (a foreign key, 404).
 * Each write has its own Sync: the failures abort nothing else, and the
 * refused changes leave nothing behind.
 */
Test(pipeline, a_failing_statement_leaves_its_neighbours_alone,
    .timeout = 120)
{
	static struct world	w;
	struct user		adm;
	struct resp		*r;
	struct call		*c;
	char			taken[48], name[48], body[80];
	int			round, i, n;

	world_make(&w, NULL, 24);
	fx_admin(&adm);
	fresh_username(taken, sizeof(taken), 9, 0);
	(void)snprintf(body, sizeof(body), "{\"username\":\"%s\"}", taken);
	r = fx_call("PATCH", &w.u[0], body, "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);

	for (round = 0; round < 3; round++) {
		n = 0;
		for (i = 1; i < w.n; i++) {
			c = &calls[n++];
			switch (i % 4) {
			case 0:
				call_set(c, NULL, "PATCH", &w.u[i], body, 409,
				    "/api/v1/users/me");
				call_want(c, "error.code", "username_taken");
				break;
			case 1:
				fresh_username(name, sizeof(name), round, i);
				call_set(c, NULL, "PATCH", &w.u[i], NULL, 200,
				    "/api/v1/users/me");
				(void)snprintf(c->body, sizeof(c->body),
				    "{\"username\":\"%s\"}", name);
				call_want(c, "data.id", w.u[i].id);
				call_want(c, "data.username", name);
				break;
			case 2:
				want_todo(&w, c, i, round);
				break;
			default:
				want_retitle(&w, c, i, round);
				break;
			}
			if (i % 4 == 0) {
				c = &calls[n++];
				call_set(c, NULL, "POST", &adm,
				    "{\"title\":\"nobody's\"}", 404,
				    "/api/v1/users/%s/todos", FX_NO_SUCH_ID);
				call_want(c, "error.code", "not_found");
			}
			want_me(&w, &calls[n++], i);
		}
		calls_run(calls, n);
		calls_free(calls, n);
	}
	/* The refused ones changed nothing; the holder keeps the name. */
	for (i = 0; i < w.n; i += 4) {
		r = fx_call("GET", &w.u[i], NULL, "/api/v1/users/me");
		fx_status(r, 200);
		if (i == 0)
			cr_expect_str_eq(jstr(r, "data.username"), taken);
		else
			cr_expect_null(jstr(r, "data.username"), "%s", r->body);
		resp_free(r);
	}
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM todos WHERE title = "
	    "$1", "nobody's"), "0");
}

/*
 * Reads sent in one turn of a worker's loop share a Sync, so one that
 * fails aborts the others of its turn: those must be sent again, not
 * failed.  On an instance of our own, each user's list waits on a lock
 * held here on the counters and is cancelled there (57014, answered
 * 500), three rounds, while the same users' profiles and todos, queued
 * with the lists on the same connections, must all come back right.
 */
Test(pipeline, reads_aborted_by_a_failing_neighbour_are_sent_again,
    .timeout = 120)
{
	struct srv	 s;
	struct world	*w;
	struct call	*c;
	CURLM		*m;
	PGconn		*db;
	char		 app[64], sql[300];
	int		 i, n, k, cancelled, failed;

	w = pl_instance(&s, app, sizeof(app), "abort", 24);
	db = fx_db();
	(void)fx_sql_on(db, "BEGIN", NULL);
	(void)fx_sql_on(db, "LOCK TABLE todo_counts IN ACCESS EXCLUSIVE MODE",
	    NULL);
	for (n = 0, i = 0; i < w->n; i++) {
		c = &calls[n++];
		call_set(c, s.base, "GET", &w->u[i], NULL, 200,
		    "/api/v1/users/%s/todos", w->u[i].id);
		call_want(c, "data.total", "4");
		want_me(w, &calls[n++], i);
		want_todo(w, &calls[n++], i, i % PL_TODOS);
	}
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, calls, n);
	wait_blocked(m, db, 1);
	(void)snprintf(sql, sizeof(sql), "SELECT count(pg_cancel_backend("
	    "pid)) FROM pg_stat_activity WHERE application_name = $1 AND "
	    "%d = ANY(pg_blocking_pids(pid))", PQbackendPID(db));
	for (cancelled = 0, k = 0; k < 3; k++) {
		(void)calls_drive(m, 200);
		cancelled += atoi(fx_sql(sql, app));
	}
	pg_unlock(db);
	calls_wait(m, calls, n);
	cr_assert_gt(cancelled, 0, "no list was cancelled");
	for (failed = 0, i = 0; i < n; i += 3) {
		if (calls[i].status == 500)
			failed++;
		else
			calls_check(&calls[i], 1);
		calls_check(&calls[i + 1], 2);
	}
	cr_expect_gt(failed, 0, "every cancelled list was answered");
	calls_free(calls, n);
	expect_idle(s.base, 10);
	n = burst(w, calls, 1, 0);
	calls_run(calls, n);
	calls_free(calls, n);
	fx_srv_stop(&s);
	free(w);
}

/*
 * Requests whose statement waits on a row lock held here, abandoned by
 * their clients: every other request (other users, the same user's
 * other todos) is answered while the lock is still held, the abandoned
 * statements' results are dropped when it goes, and the pool's gauge
 * returns to 0.  Afterwards the row and every path work again.
 */
Test(pipeline, abandoned_requests_on_a_locked_row_hold_up_nobody,
    .timeout = 120)
{
	static struct world	w;
	struct call		stuck[3];
	CURLM			*m;
	PGconn			*db;
	int			 n, round;

	world_make(&w, NULL, 8);
	db = fx_db();
	pg_lock_todo(db, w.todo[0][0]);
	m = patch_locked(&w, stuck, 3, "abandoned");
	wait_blocked(m, db, 3);
	cr_expect_geq(busy_at(NULL), 3);
	/* The clients go away. */
	calls_end(m, stuck, 3);
	curl_multi_cleanup(m);
	calls_free(stuck, 3);

	for (round = 0; round < 3; round++) {
		n = burst(&w, calls, round == 1, 1);
		calls_run(calls, n);
		calls_free(calls, n);
	}
	cr_expect_eq(pg_blocked(db), 3, "the lock was not held throughout");

	/* Released while new requests are on their way. */
	n = burst(&w, calls, 1, 1);
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, calls, n);
	(void)calls_drive(m, 20);
	pg_unlock(db);
	calls_wait(m, calls, n);
	calls_check(calls, n);
	calls_free(calls, n);
	expect_idle(NULL, 20);

	/* The row itself, and everything else, as before. */
	want_retitle(&w, &calls[0], 0, 0);
	n = 1 + burst(&w, calls + 1, 0, 1);
	calls_run(calls, n);
	calls_free(calls, n);
}

/*
 * The lock on db goes: within seconds nothing is in flight or queued at
 * w's instance, and a burst (all but user 0's first todo) is answered.
 */
static void
release_then_all_work(PGconn *db, struct world *w, int seconds)
{
	int		n;

	pg_unlock(db);
	expect_idle(w->base, seconds);
	n = burst(w, calls, 1, 1);
	calls_run(calls, n);
	calls_free(calls, n);
}

/*
 * Workers killed while their statements wait on a lock: the workers
 * that replace them start with nothing in flight, and once the lock
 * goes /metrics shows no busy statement left over from the dead ones.
 */
Test(pipeline, killed_workers_leave_no_phantom_busy_statement,
    .timeout = 120)
{
	const char	*env[] = { "JOBS_DISABLED=1", NULL };
	struct call	 stuck[4];
	struct srv	 s;
	struct world	*w;
	CURLM		*m;
	PGconn		*db;
	pid_t		 pids[8];
	int		 i, n;

	w = pl_locked(&s, env, 2, &db);
	m = patch_locked(w, stuck, 4, "killed");
	wait_blocked(m, db, 4);
	cr_expect_geq(busy_at(s.base), 4);

	n = fx_srv_workers(&s, pids, 8);
	cr_assert_geq(n, 1, "no workers found");
	for (i = 0; i < n; i++)
		cr_assert_eq(kill(pids[i], SIGKILL), 0);
	calls_end(m, stuck, 4);
	curl_multi_cleanup(m);
	calls_free(stuck, 4);
	cr_assert(wait_status(s.base, "/health/db", 200, 30),
	    "no replacement workers");
	/* (The killed requests' change goes through once the lock goes.) */
	release_then_all_work(db, w, 10);
	fx_srv_stop(&s);
	free(w);
}

/*
 * A statement waiting on a lock held here, then every connection of w's
 * instance (application_name app) terminated, the waiting one first:
 * the others die with it, before the worker has heard of them.  The
 * statement must be sent once more and answered once the lock goes.
 */
static void
terminate_round(struct world *w, const char *app)
{
	struct call	 stuck;
	CURLM		*m;
	PGconn		*db;
	char		 old[32], sql[300];
	double		 end;
	int		 n;

	db = fx_db();
	pg_lock_todo(db, w->todo[0][0]);
	cr_assert_not_null(m = curl_multi_init());
	want_retitle(w, &stuck, 0, 0);
	calls_start(m, &stuck, 1);
	wait_blocked(m, db, 1);
	(void)snprintf(old, sizeof(old), "%s", pg_blocked_pid(db));
	(void)snprintf(sql, sizeof(sql), "SELECT count(pg_terminate_backend("
	    "pid)) FROM (SELECT pid FROM pg_stat_activity WHERE "
	    "application_name = $1 ORDER BY pid = %d DESC) t", atoi(old));
	cr_assert_geq(atoi(fx_sql(sql, app)), 2);

	/* Sent again: a new backend waits on the lock in its place. */
	end = fx_now() + 20;
	while (fx_now() < end) {
		(void)calls_drive(m, 100);
		if (strcmp(pg_blocked_pid(db), old) != 0 &&
		    pg_blocked_pid(db)[0] != '\0')
			break;
	}
	cr_assert_str_neq(pg_blocked_pid(db), old);
	cr_assert_str_neq(pg_blocked_pid(db), "", "the statement was lost");

	n = burst(w, calls, 1, 1);
	calls_run(calls, n);
	calls_free(calls, n);

	pg_unlock(db);
	calls_wait(m, &stuck, 1);
	calls_check(&stuck, 1);
	calls_free(&stuck, 1);
	expect_idle(w->base, 10);
}

/*
 * Every connection of an instance terminated by PostgreSQL, one of them
 * with a statement in flight (waiting on a lock held here): the idle
 * ones are replaced and their statements prepared again on the new
 * connections, the one in flight is sent once more and, once the lock
 * goes, answered as if nothing had happened.
 */
Test(pipeline, terminated_connections_are_replaced_and_resent,
    .timeout = 120)
{
	struct srv	 s;
	struct world	*w;
	char		 app[64];
	int		 n, round;

	w = pl_instance(&s, app, sizeof(app), "term", 8);
	n = burst(w, calls, 0, 0);
	calls_run(calls, n);
	calls_free(calls, n);

	/* The race is the worker's to lose: give it a few chances. */
	for (round = 0; round < 3; round++)
		terminate_round(w, app);
	expect_idle(s.base, 10);
	fx_srv_stop(&s);
	free(w);
}

/*
 * One worker, every connection stuck behind a row lock held here and
 * filled to its depth, more requests queued for a connection: all of
 * them abandoned.  Those in flight are dropped when the lock goes, those
 * queued leave the queue with their requests (no worker dies), and then
 * nothing is in flight or queued and every path works.
 */
Test(pipeline, requests_queued_for_a_connection_can_be_abandoned,
    .timeout = 120)
{
	const char	*env[] = { "JOBS_DISABLED=1", "WORKERS=1", NULL };
	static struct call	stuck[PL_STUCK];
	struct srv	 s;
	struct world	*w;
	struct resp	*r;
	CURLM		*m;
	PGconn		*db;
	char		 log[200];

	w = pl_locked(&s, env, 4, &db);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	m = patch_locked(w, stuck, PL_STUCK, "queued");
	/*
	 * Every write connection's one statement (8 connections but the
	 * 2 read pipelines) waits on the lock; the rest (314) wait in the
	 * worker's FIFO for a connection.
	 */
	wait_blocked(m, db, 6);
	(void)calls_drive(m, 500);
	r = http_req_to(s.base, "GET", "/live", NULL, NULL, 0);
	cr_expect_eq(r->status, 200, "the worker's loop is not free");
	resp_free(r);
	calls_end(m, stuck, PL_STUCK);
	curl_multi_cleanup(m);
	calls_free(stuck, PL_STUCK);
	(void)usleep(300000);

	release_then_all_work(db, w, 20);
	fx_srv_stop(&s);
	cr_expect_eq(fx_count_in(log, ") gone"), 0, "a worker died");
	free(w);
}

/*
 * Writes hold at most the worker's connections but its read pipelines
 * (8 - 2): with 12 writes waiting on a lock held here, 6 reach it, the
 * rest wait for a connection, and a burst of reads (/health/db, public)
 * is answered while the lock is held.  Not a user's reads: a request
 * whose rate count must reach the database (auth_mw.c's sql_auth_check,
 * which writes rate_limits: a worker's first request of a user in a
 * minute, or any while the revocation feed is down) is a write, and
 * waits with the writes.
 */
Test(pipeline, reads_are_answered_while_every_write_waits_on_a_lock,
    .timeout = 120)
{
	const char	*env[] = { "JOBS_DISABLED=1", "WORKERS=1", NULL };
	struct call	 stuck[12];
	struct srv	 s;
	struct world	*w;
	CURLM		*m;
	PGconn		*db;
	int		 n;

	w = pl_locked(&s, env, 8, &db);
	m = patch_locked(w, stuck, 12, "waiting");
	wait_blocked(m, db, 6);
	(void)calls_drive(m, 300);
	cr_expect_eq(pg_blocked(db), 6, "writes on the read pipelines");
	for (n = 0; n < 40; n++) {
		call_set(&calls[n], s.base, "GET", NULL, NULL, 200,
		    "/health/db");
		call_want(&calls[n], "data.status", "ok");
	}
	calls_run(calls, n);
	calls_free(calls, n);
	cr_expect_eq(pg_blocked(db), 6, "the lock was not held throughout");
	calls_end(m, stuck, 12);
	curl_multi_cleanup(m);
	calls_free(stuck, 12);
	release_then_all_work(db, w, 20);
	fx_srv_stop(&s);
	free(w);
}

/*
 * A write that finds no idle connection waits for one; it is never
 * stacked behind a write that waits on a row lock.  On one worker, each
 * round sends a PATCH of the locked row and, with it, a burst of reads
 * and writes: all of the burst is answered while the lock is held (each
 * abandoned PATCH keeps its connection, so a few rounds).
 */
Test(pipeline, writes_wait_for_a_free_connection_not_behind_a_lock,
    .timeout = 120)
{
	const char	*env[] = { "JOBS_DISABLED=1", "WORKERS=1", NULL };
	struct srv	 s;
	struct world	*w;
	CURLM		*m;
	PGconn		*db;
	double		 end;
	int		 n, round;

	w = pl_locked(&s, env, 8, &db);
	for (round = 1; round <= 4; round++) {
		call_set(&calls[0], s.base, "PATCH", &w->u[0],
		    "{\"title\":\"held\"}", 200, "/api/v1/users/%s/todos/%s",
		    w->u[0].id, w->todo[0][0]);
		n = 1 + burst(w, calls + 1, 1, 1);
		cr_assert_not_null(m = curl_multi_init());
		calls_start(m, calls, n);
		end = fx_now() + 10;
		while (calls_drive(m, 100) > 1 && fx_now() < end)
			;
		calls_end(m, calls, n);
		curl_multi_cleanup(m);
		cr_expect_eq(calls[0].status, 0, "answered under the lock");
		calls_check(calls + 1, n - 1);
		calls_free(calls, n);
		wait_blocked(NULL, db, round);
	}
	release_then_all_work(db, w, 20);
	fx_srv_stop(&s);
	free(w);
}

/* Messages in conversation conv as u: 2 (question, answer) within s. */
static int
answer_stored(const struct user *u, const char *conv, int seconds)
{
	struct resp	*r;
	double		 end;
	int		 found;

	end = fx_now() + seconds;
	do {
		r = fx_call("GET", u, NULL,
		    "/api/v1/chat/conversations/%s/messages", conv);
		found = jint(r, "data.total") == 2 && jstr(r,
		    "data.items.1.role") != NULL && !strcmp(jstr(r,
		    "data.items.1.role"), "assistant");
		resp_free(r);
	} while (!found && fx_now() < end && usleep(100000) == 0);
	return (found);
}

/*
 * A streamed chat whose client leaves while the provider thinks: the
 * answer is stored by a callback query (src/dbcb.c), here held up by a
 * lock on its conversation's row.  Meanwhile everything else is
 * answered; once the lock goes, the answer is stored.
 */
Test(pipeline, a_callback_query_held_by_a_lock_lands_after_the_client_left,
    .timeout = 120)
{
	static struct world	w;
	struct call	 chat;
	struct resp	*r;
	CURLM		*m;
	PGconn		*db;
	char		 conv[40];
	double		 end;
	int		 n;

	world_make(&w, NULL, 4);
	r = fx_call("POST", &w.u[0], "{\"title\":\"held\"}",
	    "/api/v1/chat/conversations");
	fx_status(r, 201);
	(void)snprintf(conv, sizeof(conv), "%s", jstr(r, "data.id"));
	resp_free(r);

	call_set(&chat, NULL, "POST", &w.u[0], NULL, 200, "/api/v1/chat/chat");
	(void)snprintf(chat.body, sizeof(chat.body), "{\"content\":"
	    "\"[[delay:2500]] %s\",\"stream\":true,\"conversation_id\":"
	    "\"%s\"}", uniq("held"), conv);
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, &chat, 1);
	/* The question is in: the provider is thinking. */
	end = fx_now() + 20;
	while (strcmp(fx_sql("SELECT count(*) FROM messages WHERE "
	    "conversation_id = $1", conv), "1") != 0 && fx_now() < end)
		(void)calls_drive(m, 50);
	db = fx_db();
	(void)fx_sql_on(db, "BEGIN", NULL);
	(void)fx_sql_on(db, "SELECT id FROM conversations WHERE id = $1 "
	    "FOR NO KEY UPDATE", conv);
	calls_end(m, &chat, 1);
	curl_multi_cleanup(m);
	calls_free(&chat, 1);

	/*
	 * The answer's statement waits; the rest goes on, at once: no
	 * statement is stacked behind one that may wait for a lock.
	 */
	wait_blocked(NULL, db, 1);
	n = burst(&w, calls, 1, 0);
	calls_run(calls, n);
	calls_free(calls, n);
	cr_expect_not(answer_stored(&w.u[0], conv, 0), "stored under lock");
	cr_expect_eq(pg_blocked(db), 1);
	pg_unlock(db);
	cr_expect(answer_stored(&w.u[0], conv, 15),
	    "the answer was not stored once the lock went");
	expect_idle(NULL, 20);
}
