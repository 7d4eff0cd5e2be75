/*
 * The durable job queue (DESIGN.md principle 3) with real instances of
 * the server and its runner (scripts/serve.sh): a job survives a restart,
 * two instances never run one job twice, a failing job ends failed after
 * its attempts, a runner killed mid-job loses the job to another after
 * the lease, and SIGTERM gives a running job back.  Each test has a queue
 * of its own (JOB_QUEUE), so the main instance's runner stays out.
 * noop and noop_fail are job kinds that exist only with ENVIRONMENT=test.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "fixture.h"

#define WAIT_S		60


/* The first value of a query with up to two text parameters. */
static char *
q1(const char *sql, const char *p1, const char *p2)
{
	PGconn		*c;
	PGresult	*res;
	const char	*p[2] = { p1, p2 };
	char		*v;

	c = fx_db();
	res = PQexecParams(c, sql, p2 ? 2 : (p1 ? 1 : 0), NULL, p, NULL,
	    NULL, 0);
	cr_assert(PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK, "%s: %s", sql,
	    PQerrorMessage(c));
	v = strdup(PQntuples(res) > 0 && !PQgetisnull(res, 0, 0) ?
	    PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	PQfinish(c);
	return (v);
}

/* Wait until the query answers want; the last answer is returned. */
static char *
wait_for(const char *sql, const char *p1, const char *p2, const char *want,
    int seconds)
{
	char	*v;
	int	 i;

	for (i = 0; i < seconds * 10; i++) {
		v = q1(sql, p1, p2);
		if (strcmp(v, want) == 0)
			return (v);
		free(v);
		(void)usleep(100000);
	}
	return (q1(sql, p1, p2));
}

static char *
enqueue(const char *queue, const char *kind, const char *payload,
    int max_attempts)
{
	char	 m[16], sql[256];

	(void)snprintf(m, sizeof(m), "%d", max_attempts);
	(void)snprintf(sql, sizeof(sql), "INSERT INTO jobs (queue, kind, "
	    "payload, max_attempts) VALUES ($1, '%s', $2::jsonb, %s) "
	    "RETURNING id", kind, m);
	return (q1(sql, queue, payload));
}

Test(jobs, upload_survives_a_restart_without_runner, .timeout = 120)
{
	char		*queue, *v;
	const char	*env1[3], *env2[2];
	struct srv	 s;
	struct user	 u;
	struct resp	*r;
	char		 auth[FX_TOKEN_MAX + 32], id[64], mp[512];
	const char	*hdrs[3];
	int		 n;

	queue = strdup(uniq("restart-"));
	env1[0] = fx_env("JOB_QUEUE", queue);
	env1[1] = "JOBS_DISABLED=1";
	env1[2] = NULL;
	fx_srv_start(&s, env1);

	fx_new_at(s.base, NULL, &u, "job-");
	(void)snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
	    u.token);

	n = snprintf(mp, sizeof(mp), "--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"file\"; filename=\"r.txt\"\r\n\r\n"
	    "Text that waits for a runner.\r\n--XyZ--\r\n");
	hdrs[0] = "Content-Type: multipart/form-data; boundary=XyZ";
	hdrs[1] = auth;
	hdrs[2] = NULL;
	r = http_req_to(s.base, "POST", "/api/v1/documents", hdrs, mp,
	    (size_t)n);
	cr_assert_eq(r->status, 201, "%s", r->body);
	(void)snprintf(id, sizeof(id), "%s", jstr(r, "data.id"));
	resp_free(r);
	(void)sleep(2);
	v = q1("SELECT processing_status FROM documents WHERE id = $1::uuid",
	    id, NULL);
	cr_expect_str_eq(v, "pending");
	free(v);
	fx_srv_stop(&s);

	env2[0] = fx_env("JOB_QUEUE", queue);
	env2[1] = NULL;
	fx_srv_start(&s, env2);
	v = wait_for("SELECT processing_status FROM documents WHERE id = "
	    "$1::uuid", id, NULL, "completed", WAIT_S);
	cr_expect_str_eq(v, "completed");
	free(v);
	v = q1("SELECT status || ':' || attempts FROM jobs WHERE "
	    "payload->>'document_id' = $1", id, NULL);
	cr_expect_str_eq(v, "done:1");
	free(v);
	fx_srv_stop(&s);
	free(queue);
}

Test(jobs, two_instances_never_run_one_job_twice, .timeout = 180)
{
	const char	*env[3];
	struct srv	 a, b;
	char		*queue, *v, sql[512];

	queue = strdup(uniq("pair-"));
	(void)snprintf(sql, sizeof(sql), "INSERT INTO jobs (queue, kind, "
	    "payload) SELECT $1, 'noop', jsonb_build_object('n', g, "
	    "'sleep_ms', g %% 3 * 20) FROM generate_series(1, 300) g");
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = "JOB_THREADS=4";
	env[2] = NULL;
	fx_srv_start(&a, env);
	fx_srv_start(&b, env);
	/* Both runners listen by now: one INSERT wakes them together. */
	free(q1(sql, queue, NULL));
	v = wait_for("SELECT count(*) FROM jobs WHERE queue = $1 AND "
	    "status = 'done'", queue, NULL, "300", WAIT_S);
	cr_assert_str_eq(v, "300");
	free(v);
	v = q1("SELECT count(*) FROM jobs WHERE queue = $1 AND "
	    "attempts <> 1", queue, NULL);
	cr_expect_str_eq(v, "0", "jobs run more than once");
	free(v);
	v = q1("SELECT count(*) FROM job_runs r JOIN jobs j ON j.id = "
	    "r.job_id WHERE j.queue = $1", queue, NULL);
	cr_expect_str_eq(v, "300", "executions");
	free(v);
	v = q1("SELECT count(*) FROM (SELECT r.job_id FROM job_runs r "
	    "JOIN jobs j ON j.id = r.job_id WHERE j.queue = $1 "
	    "GROUP BY r.job_id HAVING count(*) > 1) x", queue, NULL);
	cr_expect_str_eq(v, "0");
	free(v);
	/* Both instances took part (split_part: host:pid:thread). */
	v = q1("SELECT count(DISTINCT split_part(r.runner, ':', 2)) FROM "
	    "job_runs r JOIN jobs j ON j.id = r.job_id WHERE j.queue = $1",
	    queue, NULL);
	cr_expect_str_eq(v, "2");
	free(v);
	fx_srv_stop(&a);
	fx_srv_stop(&b);
	free(queue);
}

Test(jobs, failing_job_ends_failed_after_max_attempts, .timeout = 120)
{
	const char	*env[2];
	struct srv	 s;
	char		*queue, *id, *v;

	queue = strdup(uniq("fail-"));
	id = enqueue(queue, "noop_fail", "{\"error\": \"disk on fire\"}", 3);
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = NULL;
	fx_srv_start(&s, env);
	v = wait_for("SELECT status FROM jobs WHERE id = $1::uuid", id, NULL,
	    "failed", WAIT_S);
	cr_assert_str_eq(v, "failed");
	free(v);
	v = q1("SELECT attempts || ':' || last_error FROM jobs WHERE id = "
	    "$1::uuid", id, NULL);
	cr_expect_str_eq(v, "3:noop_fail: disk on fire");
	free(v);
	v = q1("SELECT string_agg(outcome, ',' ORDER BY attempt) FROM "
	    "job_runs WHERE job_id = $1::uuid", id, NULL);
	cr_expect_str_eq(v, "retry,retry,failed");
	free(v);
	fx_srv_stop(&s);
	free(id);
	free(queue);
}

Test(jobs, killed_runner_loses_its_job_after_the_lease, .timeout = 150)
{
	const char	*env[3];
	struct srv	 s;
	char		*queue, *id, *v, *runner, *p;
	pid_t		 pid;

	queue = strdup(uniq("kill-"));
	id = enqueue(queue, "noop", "{\"sleep_ms\": 60000, "
	    "\"sleep_attempts\": 1}", 3);
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = "JOB_TIMEOUT_S=5";
	env[2] = NULL;
	fx_srv_start(&s, env);
	v = wait_for("SELECT status FROM jobs WHERE id = $1::uuid", id, NULL,
	    "running", WAIT_S);
	cr_assert_str_eq(v, "running");
	free(v);
	runner = q1("SELECT locked_by FROM jobs WHERE id = $1::uuid", id,
	    NULL);
	p = strchr(runner, ':');
	cr_assert_not_null(p, "%s", runner);
	pid = (pid_t)atoi(p + 1);
	cr_assert(pid > 1);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	fx_srv_stop(&s);

	/* A new instance takes it over once the lease (5 + 5 s) ran out. */
	fx_srv_start(&s, env);
	v = wait_for("SELECT status || ':' || attempts FROM jobs WHERE id = "
	    "$1::uuid", id, NULL, "done:2", WAIT_S);
	cr_expect_str_eq(v, "done:2");
	free(v);
	v = q1("SELECT string_agg(outcome, ',' ORDER BY attempt) FROM "
	    "job_runs WHERE job_id = $1::uuid", id, NULL);
	cr_expect_str_eq(v, "lost,done");
	free(v);
	v = q1("SELECT (result->>'runner') <> $2 FROM jobs WHERE id = "
	    "$1::uuid", id, runner);
	cr_expect_str_eq(v, "t");
	free(v);
	fx_srv_stop(&s);
	free(runner);
	free(id);
	free(queue);
}

Test(jobs, sigterm_gives_a_running_job_back, .timeout = 120)
{
	const char	*env[2];
	struct srv	 s;
	char		*queue, *id, *v;

	queue = strdup(uniq("term-"));
	id = enqueue(queue, "noop", "{\"sleep_ms\": 60000}", 3);
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = NULL;
	fx_srv_start(&s, env);
	v = wait_for("SELECT status FROM jobs WHERE id = $1::uuid", id, NULL,
	    "running", WAIT_S);
	cr_assert_str_eq(v, "running");
	free(v);
	fx_srv_stop(&s);
	v = wait_for("SELECT status || ':' || attempts || ':' || "
	    "coalesce(locked_by, '-') FROM jobs WHERE id = $1::uuid", id,
	    NULL, "queued:0:-", 10);
	cr_expect_str_eq(v, "queued:0:-");
	free(v);
	v = q1("SELECT outcome FROM job_runs WHERE job_id = $1::uuid", id,
	    NULL);
	cr_expect_str_eq(v, "released");
	free(v);
	free(id);
	free(queue);
}

/*
 * Fair between users: user A has a backlog of slow jobs, user B then
 * queues one.  B's job waits for at most the one job that frees a thread
 * first, not for A's whole backlog (ordered by age alone, it came last).
 */
static void
fair_run(const char *threads, int most)
{
	const char	*env[3];
	struct srv	 s;
	char		*queue, *v, sql[768];

	queue = strdup(uniq("fair-"));
	(void)snprintf(sql, sizeof(sql), "INSERT INTO jobs (queue, kind, "
	    "payload, run_after) SELECT $1, 'noop', jsonb_build_object("
	    "'user_id', CASE WHEN g <= 6 THEN 'user-a' ELSE 'user-b' END, "
	    "'sleep_ms', CASE WHEN g <= 6 THEN 1500 ELSE 0 END, 'n', g), "
	    "now() - interval '1 minute' + make_interval(secs => g) "
	    "FROM generate_series(1, 7) g");
	free(q1(sql, queue, NULL));
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = threads;
	env[2] = NULL;
	fx_srv_start(&s, env);
	v = wait_for("SELECT count(*) FROM jobs WHERE queue = $1 AND "
	    "payload->>'user_id' = 'user-b' AND status = 'done'", queue, NULL,
	    "1", WAIT_S);
	cr_assert_str_eq(v, "1", "user b's job never ran");
	free(v);
	/*
	 * A's jobs begun before B's: the two threads' first, at most.  When
	 * both threads come free together, one claims B's job and the other
	 * A's next at the same moment, and started_at is each transaction's
	 * start (now()): A's may read a few microseconds earlier.  So "before"
	 * is by more than 100 ms, against A's jobs of 1,500 ms.
	 */
	v = q1("SELECT count(*) FROM job_runs ra JOIN jobs a ON a.id = "
	    "ra.job_id, job_runs rb JOIN jobs b ON b.id = rb.job_id "
	    "WHERE a.queue = $1 AND b.queue = $1 AND "
	    "a.payload->>'user_id' = 'user-a' AND "
	    "b.payload->>'user_id' = 'user-b' AND "
	    "ra.started_at < rb.started_at - interval '100 ms'", queue, NULL);
	cr_expect(atoi(v) <= most, "%s of user a's jobs started before user "
	    "b's one (%s)", v, threads);
	free(v);
	fx_srv_stop(&s);
	free(queue);
}

Test(jobs, one_users_backlog_delays_another_by_at_most_one_job,
    .timeout = 120)
{
	fair_run("JOB_THREADS=2", 2);
}

/* One thread: a tie on jobs running goes to the user served least lately. */
Test(jobs, one_thread_alternates_between_users, .timeout = 120)
{
	fair_run("JOB_THREADS=1", 1);
}

/*
 * The runner's circuit breaker (per process): a provider failure opens
 * it (BREAKER_THRESHOLD=1), and a job that needs the provider then waits
 * in the queue without the provider hearing of it and without using an
 * attempt (max_attempts 1 would be spent otherwise), until the breaker
 * lets a probe through after BREAKER_OPEN_S; the probe's success closes
 * it and the job is done with one attempt.  The runner logs the changes.
 */
Test(jobs, open_breaker_defers_provider_jobs_without_calling,
    .timeout = 120)
{
	const char	*env[5];
	struct srv	 s;
	char		*queue, *bad, *good, *m, *v, payload[160], log[200];

	queue = strdup(uniq("brk-"));
	env[0] = fx_env("JOB_QUEUE", queue);
	env[1] = "BREAKER_THRESHOLD=1";
	env[2] = "BREAKER_OPEN_S=6";
	env[3] = "JOB_THREADS=1";
	env[4] = NULL;
	fx_srv_start(&s, env);
	(void)snprintf(payload, sizeof(payload), "{\"message\": \"%s "
	    "[[status:500]]\"}", uniq("down"));
	bad = enqueue(queue, "llm_echo", payload, 1);
	v = wait_for("SELECT status FROM jobs WHERE id = $1::uuid", bad, NULL,
	    "failed", WAIT_S);
	cr_assert_str_eq(v, "failed");
	free(v);

	m = strdup(uniq("deferred"));
	(void)snprintf(payload, sizeof(payload), "{\"message\": \"%s\"}", m);
	good = enqueue(queue, "llm_echo", payload, 1);
	v = wait_for("SELECT count(*) FROM job_runs WHERE job_id = $1::uuid "
	    "AND outcome = 'released'", good, NULL, "1", WAIT_S);
	cr_assert_str_eq(v, "1", "the job was not deferred");
	free(v);
	v = q1("SELECT status || ':' || attempts || ':' || (run_after > "
	    "now()) || ':' || (last_error LIKE '%circuit open%') FROM jobs "
	    "WHERE id = $1::uuid", good, NULL);
	cr_expect_str_eq(v, "queued:0:true:true");
	free(v);
	cr_expect_not(fx_llm_saw(m), "the provider was called while open");
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	cr_expect(fx_file_has(log, "circuit openai: closed -> open"));

	v = wait_for("SELECT status || ':' || attempts FROM jobs WHERE id = "
	    "$1::uuid", good, NULL, "done:1", WAIT_S);
	cr_expect_str_eq(v, "done:1", "the probe did not run the job");
	free(v);
	cr_expect(fx_llm_saw(m));
	cr_expect(fx_file_has(log, "circuit openai: half_open -> closed"));
	fx_srv_stop(&s);
	free(m);
	free(bad);
	free(good);
	free(queue);
}
