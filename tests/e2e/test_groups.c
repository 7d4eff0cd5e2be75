/*
 * Grouped writes (src/db.c, db_start_group): the todo creates a worker
 * sends in one turn of its loop share one transaction and one commit.
 * Through the public API, mostly on instances of our own with one
 * worker, so that a burst meets in that worker's turns:
 *
 *   - a burst of creates by many users: each answered as its own,
 *     each stored once, and they shared commits (the rows' transactions
 *     are exactly the groups /metrics counts);
 *   - creates that fail (an admin's, for a user who does not exist:
 *     404) among others: the others of their group were rolled back
 *     with them and are sent again, each stored once and answered 201;
 *   - creates whose clients leave while their group waits on a lock
 *     land once if they were sent, and the worker goes on;
 *   - a deadlock's victim is sent again: a PATCH whose counter row is
 *     held here while this side then waits on the PATCH's todo.
 */
#include <criterion/criterion.h>

#include "calls.h"
#include "fixture.h"

#define GR_USERS	16
#define GR_BURST	128
#define GR_DESC		900	/* under the API's 1,000 */

static struct call	calls[GR_BURST];
static struct user	users[GR_USERS];

static const char *const gr_env[] = { "JOBS_DISABLED=1", "WORKERS=1", NULL };

/* An instance of one worker with GR_USERS users of its own. */
static void
gr_start(struct srv *s)
{
	int		i;

	fx_srv_start(s, gr_env);
	for (i = 0; i < GR_USERS; i++)
		fx_new_at(s->base, NULL, &users[i], "group-");
}

/*
 * Call c: u creates the todo titled tag-i at s (201, that todo); every
 * other one with a description of GR_DESC bytes, so that a group's
 * statements pass libpq's 8 kB, which it sends before the Sync.
 */
static void
gr_create(struct call *c, const struct srv *s, const struct user *u,
    const char *tag, int i)
{
	char		title[64], desc[GR_DESC + 1];

	(void)snprintf(title, sizeof(title), "%s-%d", tag, i);
	memset(desc, 'd', GR_DESC);
	desc[i % 2 ? GR_DESC : 0] = '\0';
	call_set(c, s->base, "POST", u, NULL, 201, "/api/v1/users/%s/todos",
	    u->id);
	(void)snprintf(c->body, sizeof(c->body),
	    "{\"title\":\"%s\",\"description\":\"%s\"}", title, desc);
	call_want(c, "data.title", title);
	call_want(c, "data.user_id", u->id);
}

/* sql's value over the todos titled tag-something, as a number. */
static long
gr_rows(const char *sql, const char *tag)
{
	char		like[64];

	(void)snprintf(like, sizeof(like), "%s-%%", tag);
	return (atol(fx_sql(sql, like)));
}

/* Each title of the burst is stored exactly once: want of them. */
static void
gr_each_once(const char *tag, long want)
{
	cr_expect_eq(gr_rows("SELECT count(*) FROM todos WHERE title LIKE $1",
	    tag), want, "rows of the burst");
	cr_expect_eq(gr_rows("SELECT count(DISTINCT title) FROM todos "
	    "WHERE title LIKE $1", tag), want, "distinct titles");
}

/* Hold the table against every insert on db (which stays open). */
static PGconn *
gr_lock_inserts(void)
{
	PGconn		*db;

	db = fx_db();
	(void)fx_sql_on(db, "BEGIN", NULL);
	(void)fx_sql_on(db, "LOCK TABLE todos IN SHARE ROW EXCLUSIVE MODE",
	    NULL);
	return (db);
}

Test(groups, a_burst_of_creates_shares_commits_and_lands_once,
    .timeout = 120)
{
	struct srv	 s;
	struct resp	*r;
	char		 tag[48];
	long		 g0, w0, groups, writes;
	int		 i;

	gr_start(&s);
	(void)snprintf(tag, sizeof(tag), "%s", uniq("burst"));
	g0 = fx_metric(s.base, "elenchus_db_group_commits_total");
	w0 = fx_metric(s.base, "elenchus_db_grouped_writes_total");
	for (i = 0; i < GR_BURST; i++)
		gr_create(&calls[i], &s, &users[i % GR_USERS], tag, i);
	calls_run(calls, GR_BURST);
	calls_free(calls, GR_BURST);

	groups = fx_metric(s.base, "elenchus_db_group_commits_total") - g0;
	writes = fx_metric(s.base, "elenchus_db_grouped_writes_total") - w0;
	cr_expect_eq(writes, GR_BURST, "grouped writes: %ld", writes);
	cr_expect_lt(groups, GR_BURST, "no two creates shared a commit");
	gr_each_once(tag, GR_BURST);
	cr_expect_eq(gr_rows("SELECT count(*) FROM todos WHERE title LIKE $1 "
	    "AND length(description) = 900", tag), GR_BURST / 2);
	/* One transaction per group, no more, no less. */
	cr_expect_eq(gr_rows("SELECT count(DISTINCT xmin::text) FROM todos "
	    "WHERE title LIKE $1", tag), groups, "transactions");
	/* Counters (and so the list's total) count each create once. */
	for (i = 0; i < GR_USERS; i++) {
		r = fx_call_at(s.base, "GET", &users[i], NULL,
		    "/api/v1/users/%s/todos", users[i].id);
		fx_status(r, 200);
		cr_expect_eq(jint(r, "data.total"), GR_BURST / GR_USERS,
		    "%s", r->body);
		resp_free(r);
	}
	fx_srv_stop(&s);
}

Test(groups, a_failed_create_sends_the_rest_of_its_group_again,
    .timeout = 120)
{
	struct srv	 s;
	struct user	 adm;
	struct resp	*r;
	struct call	*c;
	CURLM		*m;
	PGconn		*db;
	char		 tag[48];
	long		 resent, bad;
	int		 i;

	gr_start(&s);
	r = fx_login(s.base, NULL, FX_ADMIN_EMAIL, FX_ADMIN_PASSWORD);
	fx_status(r, 200);
	fx_take(&adm, r);
	resp_free(r);
	(void)snprintf(tag, sizeof(tag), "%s", uniq("failed"));
	resent = fx_metric(s.base, "elenchus_db_resent_total");

	/*
	 * Under the lock every connection's group waits and the rest queue;
	 * once it goes they are sent in groups of consecutive arrivals, so
	 * every group holds failing creates (one in four) and good ones.
	 */
	db = gr_lock_inserts();
	for (bad = 0, i = 0; i < GR_BURST; i++) {
		c = &calls[i];
		if (i % 4 != 3) {
			gr_create(c, &s, &users[i % GR_USERS], tag, i);
			continue;
		}
		call_set(c, s.base, "POST", &adm, NULL, 404,
		    "/api/v1/users/%s/todos", FX_NO_SUCH_ID);
		(void)snprintf(c->body, sizeof(c->body),
		    "{\"title\":\"%s-%d\"}", tag, i);
		call_want(c, "error.code", "not_found");
		bad++;
	}
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, calls, GR_BURST);
	wait_blocked(m, db, 1);
	(void)calls_drive(m, 500);
	pg_unlock(db);
	calls_wait(m, calls, GR_BURST);
	calls_check(calls, GR_BURST);
	calls_free(calls, GR_BURST);

	resent = fx_metric(s.base, "elenchus_db_resent_total") - resent;
	cr_expect_gt(resent, 0, "no create was sent again");
	gr_each_once(tag, GR_BURST - bad);
	expect_idle(s.base, 10);
	fx_srv_stop(&s);
}

Test(groups, creates_left_by_their_clients_land_once, .timeout = 120)
{
	struct srv	 s;
	CURLM		*m;
	PGconn		*db;
	char		 tag[48], log[200];
	long		 rows, w0;
	int		 i, n;

	gr_start(&s);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	(void)snprintf(tag, sizeof(tag), "%s", uniq("left"));
	w0 = fx_metric(s.base, "elenchus_db_grouped_writes_total");
	n = GR_BURST / 2;
	db = gr_lock_inserts();
	for (i = 0; i < n; i++)
		gr_create(&calls[i], &s, &users[i % GR_USERS], tag, i);
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, calls, n);
	wait_blocked(m, db, 1);
	(void)calls_drive(m, 500);
	/*
	 * The clients go away.  What was sent lands once, in its group; what
	 * still queued for a connection is dropped (/metrics waits for the
	 * lock too: every connection of the worker carries a group).
	 */
	calls_end(m, calls, n);
	curl_multi_cleanup(m);
	calls_free(calls, n);
	(void)usleep(200000);
	pg_unlock(db);
	expect_idle(s.base, 20);
	rows = gr_rows("SELECT count(*) FROM todos WHERE title LIKE $1", tag);
	cr_expect_gt(rows, 0, "nothing was sent");
	gr_each_once(tag, rows);
	cr_expect_eq(fx_metric(s.base, "elenchus_db_grouped_writes_total") -
	    w0, rows, "creates committed in groups");

	/* The worker lived through it and answers the next burst. */
	(void)snprintf(tag, sizeof(tag), "%s", uniq("after"));
	for (i = 0; i < n; i++)
		gr_create(&calls[i], &s, &users[i % GR_USERS], tag, i);
	calls_run(calls, n);
	calls_free(calls, n);
	gr_each_once(tag, n);
	fx_srv_stop(&s);
	cr_expect_eq(fx_count_in(log, ") gone"), 0, "a worker died");
}

Test(groups, a_deadlock_victim_is_sent_again, .timeout = 60)
{
	struct user	 u;
	struct resp	*r;
	struct call	 patch;
	PGresult	*res;
	const char	*pv[1];
	CURLM		*m;
	PGconn		*db;
	char		 id[40];
	double		 end;
	long		 resent;

	fx_new(&u, "deadlock-");
	r = fx_call("POST", &u, "{\"title\":\"contended\"}",
	    "/api/v1/users/%s/todos", u.id);
	fx_status(r, 201);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	/* Every counter row the PATCH's trigger may want, held here. */
	(void)fx_sql("INSERT INTO todo_counts (user_id, slot, total, done, "
	    "ver) SELECT $1, s, 0, 0, 0 FROM generate_series(0, 63) s "
	    "ON CONFLICT DO NOTHING", u.id);
	db = fx_db();
	(void)fx_sql_on(db, "BEGIN", NULL);
	/* This side must not be the one to find the deadlock. */
	(void)fx_sql_on(db, "SET LOCAL deadlock_timeout = '30s'", NULL);
	cr_assert_str_eq(fx_sql_on(db, "SELECT count(*) FROM (SELECT 1 FROM "
	    "todo_counts WHERE user_id = $1 FOR UPDATE) x", u.id), "64");
	resent = fx_metric(NULL, "elenchus_db_resent_total");

	/* The PATCH locks its todo, then waits on its counter row... */
	call_set(&patch, NULL, "PATCH", &u, "{\"title\":\"after the deadlock\"}",
	    200, "/api/v1/users/%s/todos/%s", u.id, id);
	call_want(&patch, "data.title", "after the deadlock");
	cr_assert_not_null(m = curl_multi_init());
	calls_start(m, &patch, 1);
	wait_blocked(m, db, 1);
	/* ...and this side waits on the todo: PostgreSQL ends the PATCH's. */
	pv[0] = id;
	cr_assert(PQsendQueryParams(db, "SELECT id FROM todos WHERE id = $1 "
	    "FOR UPDATE", 1, NULL, pv, NULL, NULL, 0));
	end = fx_now() + 20;
	while (fx_now() < end) {
		(void)calls_drive(m, 100);
		cr_assert(PQconsumeInput(db));
		if (!PQisBusy(db))
			break;
	}
	while ((res = PQgetResult(db)) != NULL) {
		cr_expect_eq(PQresultStatus(res), PGRES_TUPLES_OK, "%s",
		    PQresultErrorMessage(res));
		PQclear(res);
	}
	pg_unlock(db);
	calls_wait(m, &patch, 1);
	calls_check(&patch, 1);
	calls_free(&patch, 1);
	cr_expect_gt(fx_metric(NULL, "elenchus_db_resent_total"), resent,
	    "the victim was not sent again");
}
