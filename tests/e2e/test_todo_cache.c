/*
 * The todo list's page cache (src/todos.c, sql/018_todo_versions.sql)
 * against the real server: a page a worker keeps is never older than the
 * last write to the user's todos, whoever made the write (the API, SQL
 * from outside), a reader never sees a page older than one it saw
 * before while another client writes, and requests that share a read of
 * the version may hang up while they wait.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

/* Reads per check of a kept page: each on a connection of its own. */
#define HOT_READS	6

/* The page's items and total (what two keys of one page share). */
static char *
page_of(struct resp *r)
{
	cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
	return (fx_dump(json_pack("{s:O, s:O}", "items",
	    jpath(r->json, "data.items"), "total",
	    jpath(r->json, "data.total"))));
}

/*
 * The page of query as the workers keep it (read HOT_READS times, so
 * that each worker has it) against the same page read under a key never
 * asked for before (limit 51 and up: no worker can have it).
 */
static void
check(const struct user *u, const char *query, const char *what)
{
	static int	 cold = 51;
	struct resp	*r;
	char		*want, *got;
	int		 i;

	cr_assert_lt(cold, 100, "too many checks for one run");
	r = fx_call("GET", u, NULL, "/api/v1/users/%s/todos?%s&limit=%d",
	    u->id, query, cold++);
	want = page_of(r);
	resp_free(r);
	for (i = 0; i < HOT_READS; i++) {
		r = fx_call("GET", u, NULL,
		    "/api/v1/users/%s/todos?%s&limit=50", u->id, query);
		got = page_of(r);
		cr_expect_str_eq(got, want, "%s, read %d (%s)", what, i, query);
		free(got);
		resp_free(r);
	}
	free(want);
}

static void
check_both(const struct user *u, const char *what)
{
	check(u, "status=all", what);
	check(u, "status=completed&sort_by=priority&order=asc", what);
}

static void
call_ok(const struct user *u, const char *method, const char *body,
    const char *path_fmt, const char *id)
{
	struct resp	*r;
	char		 path[256];

	(void)snprintf(path, sizeof(path), path_fmt, u->id, id);
	r = fx_call(method, u, body, "%s", path);
	cr_assert(r->status == 200 || r->status == 201, "%s %s: %ld %s",
	    method, path, r->status, r->body);
	resp_free(r);
}

static void
mk(const struct user *u, const char *body, char id[40])
{
	struct resp	*r;

	r = fx_call("POST", u, body, "/api/v1/users/%s/todos", u->id);
	cr_assert_eq(r->status, 201, "%ld %s", r->status, r->body);
	(void)snprintf(id, 40, "%s", jstr(r, "data.id"));
	resp_free(r);
}

Test(todo_cache, a_kept_page_follows_every_write)
{
	const char	*one = "/api/v1/users/%s/todos/%s";
	struct user	 a;
	char		 id[3][40], body[256];

	fx_new(&a, "tcache-");
	check_both(&a, "no todos");
	mk(&a, "{\"title\": \"first\", \"priority\": \"low\"}", id[0]);
	check_both(&a, "created");
	mk(&a, "{\"title\": \"second\", \"completed\": true}", id[1]);
	mk(&a, "{\"title\": \"third\", \"priority\": \"high\"}", id[2]);
	check_both(&a, "created three");

	call_ok(&a, "PATCH", "{\"title\": \"first, renamed\"}", one, id[0]);
	check_both(&a, "title");
	call_ok(&a, "PATCH", "{\"description\": \"now with words\"}", one,
	    id[0]);
	check_both(&a, "description");
	call_ok(&a, "PATCH", "{\"priority\": \"high\"}", one, id[1]);
	check_both(&a, "priority");
	call_ok(&a, "PATCH", "{\"completed\": true}",
	    "/api/v1/users/%s/todos/%s/complete", id[2]);
	check_both(&a, "completed");
	call_ok(&a, "PUT", "{\"title\": \"replaced\", \"priority\": "
	    "\"medium\"}", one, id[1]);
	check_both(&a, "replaced");

	(void)snprintf(body, sizeof(body), "{\"action\": \"uncomplete\", "
	    "\"ids\": [\"%s\", \"%s\"]}", id[1], id[2]);
	call_ok(&a, "POST", body, "/api/v1/users/%s/todos/bulk", "");
	check_both(&a, "bulk uncomplete");
	(void)snprintf(body, sizeof(body), "{\"action\": \"delete\", "
	    "\"ids\": [\"%s\"]}", id[2]);
	call_ok(&a, "POST", body, "/api/v1/users/%s/todos/bulk", "");
	check_both(&a, "bulk delete");
	call_ok(&a, "DELETE", NULL, one, id[1]);
	check_both(&a, "deleted");

	/* Writes the server never saw. */
	(void)fx_sql("UPDATE todos SET title = 'set by sql' WHERE id = $1",
	    id[0]);
	check_both(&a, "sql update");
	(void)fx_sql("INSERT INTO todos (user_id, title, completed, "
	    "completed_at) VALUES ($1, 'inserted by sql', true, now())", a.id);
	check_both(&a, "sql insert");
	(void)fx_sql("DELETE FROM todos WHERE user_id = $1", a.id);
	check_both(&a, "sql delete");
}

/* The user's total as the list gives it, against the rows. */
static void
expect_total(const struct user *u, const char *what)
{
	struct resp	*r;
	const char	*n;

	r = fx_call("GET", u, NULL, "/api/v1/users/%s/todos?limit=50", u->id);
	cr_assert_eq(r->status, 200, "%s", r->body);
	n = fx_sql("SELECT count(*) FROM todos WHERE user_id = $1", u->id);
	cr_expect_eq(jint(r, "data.total"), atoll(n), "%s", what);
	resp_free(r);
}

/* SQL that moves a todo between users changes both users' pages. */
Test(todo_cache, a_todo_moved_by_sql_leaves_one_page_and_joins_another)
{
	struct user	a, b;
	char		id[40], other[40], sql[256];

	fx_new(&a, "tcache-");
	fx_new(&b, "tcache-");
	mk(&a, "{\"title\": \"moving\", \"completed\": true}", id);
	mk(&a, "{\"title\": \"left behind\"}", other);
	mk(&b, "{\"title\": \"staying\"}", other);
	check_both(&a, "before the move");
	check_both(&b, "before the move");
	(void)snprintf(sql, sizeof(sql), "UPDATE todos SET user_id = '%s' "
	    "WHERE id = $1", b.id);
	(void)fx_sql(sql, id);
	check_both(&a, "moved out");
	check_both(&b, "moved in");
	expect_total(&a, "a after the move");
	expect_total(&b, "b after the move");
}

/* A page kept for an admin is not an answer once its user is gone. */
Test(todo_cache, a_kept_page_of_a_purged_user_is_404)
{
	struct user	 a, adm;
	struct resp	*r;
	char		 id[40];
	int		 i;

	fx_new(&a, "tcache-");
	fx_admin(&adm);
	mk(&a, "{\"title\": \"one\"}", id);
	for (i = 0; i < HOT_READS; i++) {
		r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos",
		    a.id);
		cr_assert_eq(r->status, 200, "%s", r->body);
		resp_free(r);
	}
	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/%s", a.id);
	cr_assert_eq(r->status, 200, "purge: %ld %s", r->status, r->body);
	resp_free(r);
	for (i = 0; i < HOT_READS; i++) {
		r = fx_call("GET", &adm, NULL, "/api/v1/users/%s/todos",
		    a.id);
		fx_error(r, 404, "not_found");
		resp_free(r);
	}
}

/* The first title of u's page through base, HOT_READS times alike. */
static char *
title_at(const char *base, const struct user *u)
{
	struct resp	*r;
	char		*t = NULL;
	int		 i;

	for (i = 0; i < HOT_READS; i++) {
		r = fx_call_at(base, "GET", u, NULL,
		    "/api/v1/users/%s/todos?limit=50", u->id);
		cr_assert_eq(r->status, 200, "%ld %s", r->status, r->body);
		if (t == NULL)
			t = strdup(jstr(r, "data.items.0.title"));
		else
			cr_expect_str_eq(jstr(r, "data.items.0.title"), t,
			    "read %d", i);
		resp_free(r);
	}
	return (t);
}

/*
 * Instance 2 keeps the page; a write through instance 1 must be in
 * instance 2's next answer, with no delay: the version is the
 * database's, not a message between instances.
 */
Test(todo_cache, a_write_through_one_instance_is_seen_through_another)
{
	struct srv	 s;
	struct user	 a;
	char		 id[40], body[64], want[16], *t;
	int		 i;

	fx_srv_start(&s, NULL);
	fx_new(&a, "tcache-");
	mk(&a, "{\"title\": \"v0\"}", id);
	t = title_at(s.base, &a);
	cr_expect_str_eq(t, "v0");
	free(t);
	for (i = 1; i <= 5; i++) {
		(void)snprintf(want, sizeof(want), "v%d", i);
		(void)snprintf(body, sizeof(body), "{\"title\": \"%s\"}", want);
		call_ok(&a, "PATCH", body, "/api/v1/users/%s/todos/%s", id);
		t = title_at(s.base, &a);
		cr_expect_str_eq(t, want, "after the rename to %s", want);
		free(t);
	}
	fx_srv_stop(&s);
}

/*
 * Requests that wait for a shared read of the version (src/todo_ver.c)
 * and whose clients hang up meanwhile are forgotten by the read: when it
 * ends, it answers nobody who is gone, and the worker goes on.  The read
 * is held by a lock on users on an instance of one worker.
 */
Test(todo_cache, clients_gone_while_waiting_for_the_version_are_forgotten)
{
	const char	*env[] = { "WORKERS=1", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	PGconn		*db;
	pid_t		 before[4], after[4];
	char		 path[128], id[40], *t;
	int		 i, n;

	fx_srv_start(&s, env);
	fx_new(&a, "tcache-");
	mk(&a, "{\"title\": \"kept\"}", id);
	t = title_at(s.base, &a);
	free(t);
	cr_assert_eq(fx_srv_workers(&s, before, 4), 1);

	db = fx_db();
	(void)fx_sql_on(db, "BEGIN", NULL);
	(void)fx_sql_on(db, "LOCK TABLE users IN ACCESS EXCLUSIVE MODE", NULL);
	(void)snprintf(path, sizeof(path), "/api/v1/users/%s/todos?limit=50",
	    a.id);
	http_timeout_ms = 300;
	for (i = 0; i < 6; i++) {
		r = fx_req(s.base, "GET", path, a.token, NULL, NULL);
		cr_expect_eq(r->status, 0, "request %d was answered under the "
		    "lock: %ld", i, r->status);
		resp_free(r);
	}
	http_timeout_ms = 0;
	(void)fx_sql_on(db, "COMMIT", NULL);
	PQfinish(db);
	(void)usleep(300 * 1000);

	t = title_at(s.base, &a);
	cr_expect_str_eq(t, "kept");
	free(t);
	n = fx_srv_workers(&s, after, 4);
	cr_expect_eq(n, 1);
	cr_expect_eq(after[0], before[0], "the worker was replaced");
	fx_srv_stop(&s);
}

#define GENERATIONS	40
#define READERS		3

struct reader {
	const struct user	*u;
	const int		*done;
	int			 reads;
	int			 back;		/* pages older than one seen */
	int			 bad;		/* not 200, or unparsable */
	int			 last;
};

/* The generation in the page's one title, "g-NNN"; -1 if none. */
static int
generation(const struct user *u)
{
	struct resp	*r;
	const char	*t;
	int		 g;

	r = fx_call("GET", u, NULL, "/api/v1/users/%s/todos?limit=50", u->id);
	t = r->status == 200 ? jstr(r, "data.items.0.title") : NULL;
	g = t != NULL && strncmp(t, "g-", 2) == 0 ? atoi(t + 2) : -1;
	resp_free(r);
	return (g);
}

static void *
reader_run(void *arg)
{
	struct reader	*rd = arg;
	int		 g, finished;

	do {
		finished = __atomic_load_n(rd->done, __ATOMIC_ACQUIRE);
		if ((g = generation(rd->u)) < 0)
			rd->bad++;
		else if (g < rd->last)
			rd->back++;
		else
			rd->last = g;
		rd->reads++;
	} while (!finished);
	return (NULL);
}

/*
 * One client renames the user's one todo GENERATIONS times and reads its
 * page after each rename; READERS others read the page all along.  The
 * writer must see each of its renames at once, a reader never a
 * generation older than one it saw, and every reader the last one once
 * the writer is done.
 */
Test(todo_cache, readers_never_go_back_while_another_client_writes)
{
	struct reader	 rd[READERS];
	pthread_t	 t[READERS];
	int		 done = 0;
	struct user	 a;
	char		 id[40], body[64];
	int		 g, i, stale = 0;

	fx_new(&a, "tcache-");
	mk(&a, "{\"title\": \"g-000\"}", id);
	memset(rd, 0, sizeof(rd));
	for (i = 0; i < READERS; i++) {
		rd[i].u = &a;
		rd[i].done = &done;
		cr_assert_eq(pthread_create(&t[i], NULL, reader_run, &rd[i]),
		    0);
	}
	for (g = 1; g <= GENERATIONS; g++) {
		(void)snprintf(body, sizeof(body), "{\"title\": \"g-%03d\"}", g);
		call_ok(&a, "PATCH", body, "/api/v1/users/%s/todos/%s", id);
		if (generation(&a) != g)
			stale++;
	}
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	for (i = 0; i < READERS; i++)
		(void)pthread_join(t[i], NULL);
	cr_expect_eq(stale, 0, "the writer read %d of its renames late",
	    stale);
	for (i = 0; i < READERS; i++) {
		cr_expect_gt(rd[i].reads, 1);
		cr_expect_eq(rd[i].bad, 0, "reader %d: %d bad answers", i,
		    rd[i].bad);
		cr_expect_eq(rd[i].back, 0, "reader %d went back %d times", i,
		    rd[i].back);
		cr_expect_eq(rd[i].last, GENERATIONS, "reader %d ended at %d",
		    i, rd[i].last);
	}
}
