/*
 * elenchus-jobs: claims jobs from PostgreSQL and runs them.
 *
 * Each of JOB_THREADS threads owns a blocking connection, LISTENs on
 * jobs_ready and claims one job at a time:
 *
 *   UPDATE jobs SET status = 'running', attempts = attempts + 1,
 *       locked_by = me, lease_until = now() + timeout + grace
 *   WHERE id = (SELECT id FROM jobs WHERE queue = $q AND kind IN (ours)
 *       AND ((status = 'queued' AND run_after <= now()) OR
 *        (status = 'running' AND lease_until < now()))
 *       ORDER BY run_after FOR UPDATE SKIP LOCKED LIMIT 1)
 *
 * so a job whose runner died is claimed again once its lease ran out, and
 * two runners never hold one job.  Every execution is logged in job_runs;
 * finishing is fenced on (locked_by, attempts): a runner that lost its
 * lease cannot overwrite the outcome of the one that took over.
 * SIGTERM: threads finish (or release) their job and exit.
 */
#include <sys/prctl.h>
#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "jobs.h"
#include "lib/backoff.h"

#define JOBS_MAX_THREADS	64

struct config		cfg;
volatile sig_atomic_t	jobs_stopping;
struct llmstat		*jobs_llmstat;

static const struct job_kind	*kinds[] = {
	&job_kind_doc_process,
	&job_kind_analysis,
	&job_kind_workflow_step,
	NULL
};
static const struct job_kind	*test_kinds[] = {
	&job_kind_noop,
	&job_kind_noop_fail,
	&job_kind_llm_echo,
	NULL
};

static int	jobs_setup(void);
static const char *env_get(const char *);
static void	on_signal(int);
static void	*runner(void *);
static int	connect_db(struct jctx *);
static int	claim(struct jctx *, struct job *);
static void	run_job(struct jctx *, struct job *);
static void	settle(struct jctx *, struct job *, const struct job_kind *,
		    enum job_res, struct jout *);
static void	finish(struct jctx *, struct job *, const char *,
		    const char *, const char *, long, const char *);
static void	wait_notify(struct jctx *);
static const struct job_kind *kind_find(const char *);
static void	kinds_served(char *, size_t);

/* The kinds this runner claims, as a text[] literal: others stay queued. */
static char		served[512];

/*
 * Fair between users (payload user_id): the next job is the oldest of the
 * users with the fewest jobs running and, among those, of the user served
 * least recently, so one user's backlog delays another's job by at most
 * the one job that frees a thread first — also when a single thread is
 * free at a time (by running count alone, the backlog's older jobs won
 * every tie).
 */
static const char sql_claim[] =
    "WITH busy AS (SELECT payload->>'user_id' AS u, count(*) AS n "
    "FROM jobs WHERE queue = $3 AND status = 'running' "
    "AND lease_until >= now() GROUP BY 1), "
    "served AS (SELECT payload->>'user_id' AS u, max(updated_at) AS t "
    "FROM jobs WHERE queue = $3 AND status <> 'queued' "
    "AND updated_at > now() - interval '10 minutes' GROUP BY 1), "
    "c AS (UPDATE jobs SET status = 'running', "
    "attempts = attempts + 1, locked_by = $1, "
    "lease_until = now() + make_interval(secs => $2::int), "
    "updated_at = now() "
    "WHERE id = (SELECT j.id FROM jobs j LEFT JOIN busy "
    "ON busy.u IS NOT DISTINCT FROM j.payload->>'user_id' "
    "LEFT JOIN served "
    "ON served.u IS NOT DISTINCT FROM j.payload->>'user_id' "
    "WHERE j.queue = $3 AND j.kind = ANY ($4::text[]) AND "
    "((j.status = 'queued' AND j.run_after <= now()) OR "
    "(j.status = 'running' AND j.lease_until < now())) "
    "ORDER BY coalesce(busy.n, 0), served.t NULLS FIRST, j.run_after "
    "FOR UPDATE OF j SKIP LOCKED LIMIT 1) "
    "RETURNING id, kind, payload, attempts, max_attempts), "
    "lost AS (UPDATE job_runs r SET finished_at = now(), outcome = 'lost', "
    "error = 'lease expired' FROM c WHERE r.job_id = c.id "
    "AND r.finished_at IS NULL), "
    "r AS (INSERT INTO job_runs (job_id, attempt, runner) "
    "SELECT id, attempts, $1 FROM c RETURNING id) "
    "SELECT c.id, c.kind, c.payload::text, c.attempts, c.max_attempts, "
    "(SELECT id FROM r) FROM c";

/*
 * $3 status, $4 result, $5 error, $6 delay s, $8 outcome.  Fenced on
 * locked_by and attempts; the run row is closed in any case.
 */
static const char sql_finish[] =
    "WITH j AS (UPDATE jobs SET status = $3, "
    "attempts = attempts - CASE WHEN $8 = 'released' THEN 1 ELSE 0 END, "
    "result = coalesce($4::jsonb, result), last_error = $5, "
    "run_after = now() + make_interval(secs => $6::int), "
    "locked_by = NULL, lease_until = NULL, "
    "finished_at = CASE WHEN $3 IN ('done', 'failed') THEN now() END, "
    "updated_at = now() "
    "WHERE id = $1 AND locked_by = $2 AND attempts = $7 "
    "AND status = 'running' RETURNING id) "
    "UPDATE job_runs SET finished_at = now(), outcome = $8, error = $5 "
    "WHERE id = $9 RETURNING (SELECT count(*) FROM j)";

int
main(void)
{
	pthread_t	 th[JOBS_MAX_THREADS];
	struct jctx	*ctx;
	char		 host[64];
	int		 i;

	/*
	 * First: not dumpable, so no other process of this uid (the
	 * extractor above all) can read this one's memory or
	 * /proc/<pid>/environ, which holds the secrets.
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1) {
		jlog("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
		return (1);
	}
	if (jobs_setup() == -1)
		return (1);
	if (gethostname(host, sizeof(host)) == -1)
		(void)snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((ctx = calloc((size_t)cfg.job_threads, sizeof(*ctx))) == NULL)
		return (1);
	for (i = 0; i < cfg.job_threads; i++) {
		ctx[i].tid = i;
		(void)snprintf(ctx[i].runner, sizeof(ctx[i].runner),
		    "%s:%d:t%d", host, (int)getpid(), i);
		if (pthread_create(&th[i], NULL, runner, &ctx[i]) != 0) {
			jlog("pthread_create failed");
			return (1);
		}
	}
	jlog("started: %d threads, queue %s, kinds %s, pid %d",
	    cfg.job_threads, cfg.job_queue, served, (int)getpid());
	for (i = 0; i < cfg.job_threads; i++)
		(void)pthread_join(th[i], NULL);
	jotel_stop();
	free(ctx);
	curl_global_cleanup();
	jlog("stopped");
	return (0);
}

/* Configuration, shared counters, curl, tracing, signals: 0 or -1. */
static int
jobs_setup(void)
{
	struct sigaction sa;
	const char	*what;

	if (config_load(&cfg, env_get, &what) != CONFIG_OK) {
		jlog("%s", cfg.error);
		return (-1);
	}
	if (cfg.database_url[0] == '\0')
		(void)snprintf(cfg.database_url, sizeof(cfg.database_url),
		    "postgresql:///elenchus");
	/* The instance's provider-call counters, shared with its server. */
	if ((what = getenv("ELENCHUS_METRICS_FILE")) != NULL && *what &&
	    (jobs_llmstat = llmstat_map(what)) == NULL)
		jlog("metrics file %s: %s", what, strerror(errno));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		jlog("curl_global_init failed");
		return (-1);
	}
	if (jotel_init() == -1)
		return (-1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	(void)sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	(void)sigaction(SIGPIPE, &sa, NULL);
	kinds_served(served, sizeof(served));
	doc_sandbox_log();
	return (0);
}

static const char *
env_get(const char *name)
{
	return (getenv(name));
}

static void
on_signal(int sig)
{
	(void)sig;
	jobs_stopping = 1;
}

static void *
runner(void *arg)
{
	struct jctx	*c = arg;
	struct job	 j;
	int		 r;

	while (!jobs_stopping) {
		if (c->db == NULL && connect_db(c) == -1) {
			(void)jsleep_ms(JOB_RECONNECT_MS, 0);
			continue;
		}
		memset(&j, 0, sizeof(j));
		if ((r = claim(c, &j)) == 1) {
			run_job(c, &j);
			json_decref(j.payload);
			continue;
		}
		if (r == -1 || PQstatus(c->db) != CONNECTION_OK) {
			PQfinish(c->db);
			c->db = NULL;
			continue;
		}
		wait_notify(c);
	}
	if (c->db != NULL)
		PQfinish(c->db);
	c->db = NULL;
	return (NULL);
}

static int
connect_db(struct jctx *c)
{
	const char	*keys[] = { "dbname", "connect_timeout",
			    "application_name", NULL };
	const char	*vals[] = { cfg.database_url, "5", "elenchus-jobs",
			    NULL };

	c->db = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c->db) != CONNECTION_OK) {
		jlog("%s: connect: %s", c->runner, PQerrorMessage(c->db));
		PQfinish(c->db);
		c->db = NULL;
		return (-1);
	}
	if (jdb_cmd(c, "LISTEN jobs_ready", 0, NULL) == -1 ||
	    jdb_cmd(c, "LISTEN " JOB_CANCEL_CHANNEL, 0, NULL) == -1) {
		PQfinish(c->db);
		c->db = NULL;
		return (-1);
	}
	return (0);
}

/* 1 with *j filled, 0 when nothing is ready, -1 on a database error. */
static int
claim(struct jctx *c, struct job *j)
{
	PGresult	*res;
	const char	*p[4];
	char		 lease[16];

	(void)snprintf(lease, sizeof(lease), "%d",
	    cfg.job_timeout_s + JOB_LEASE_GRACE_S);
	p[0] = c->runner;
	p[1] = lease;
	p[2] = cfg.job_queue;
	p[3] = served;
	if ((res = jdb_exec(c, sql_claim, 4, p)) == NULL)
		return (-1);
	if (PQntuples(res) != 1) {
		PQclear(res);
		return (0);
	}
	(void)snprintf(j->id, sizeof(j->id), "%s", PQgetvalue(res, 0, 0));
	(void)snprintf(j->kind, sizeof(j->kind), "%s", PQgetvalue(res, 0, 1));
	j->payload = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
	if (j->payload == NULL)
		j->payload = json_object();
	j->attempts = atoi(PQgetvalue(res, 0, 3));
	j->max_attempts = atoi(PQgetvalue(res, 0, 4));
	(void)snprintf(j->run_id, sizeof(j->run_id), "%s",
	    PQgetvalue(res, 0, 5));
	j->deadline = time(NULL) + cfg.job_timeout_s;
	PQclear(res);
	return (1);
}

static void
run_job(struct jctx *c, struct job *j)
{
	const struct job_kind	*k;
	struct jout		 o;
	enum job_res		 r;

	memset(&o, 0, sizeof(o));
	c->exec_id = NULL;
	c->step_index = 0;
	c->max_tries = 0;
	c->cancelled = 0;
	c->over_quota = 0;
	k = kind_find(j->kind);
	if (j->attempts > j->max_attempts) {
		/* Its runner died during the last attempt allowed. */
		jout_err(&o, "runner lost (lease expired) after %d attempts",
		    j->max_attempts);
		r = JOB_FAIL;
	} else if (k == NULL) {
		jout_err(&o, "unknown job kind %s", j->kind);
		r = JOB_FAIL;
	} else {
		jotel_job_begin(j);
		r = k->run(c, j, &o);
	}

	if (PQstatus(c->db) != CONNECTION_OK) {
		/* Lost the database mid-job: the lease brings it back. */
		jlog("%s: job %s: database lost", c->runner, j->id);
		json_decref(o.result);
		return;
	}
	if (r == JOB_RETRY && j->attempts >= j->max_attempts)
		r = JOB_FAIL;
	settle(c, j, k, r, &o);
	json_decref(o.result);
}

/* Record the outcome r of job j (kind k, NULL when unknown). */
static void
settle(struct jctx *c, struct job *j, const struct job_kind *k,
    enum job_res r, struct jout *o)
{
	char	*result = NULL;
	long	 delay;
	int	 i;

	switch (r) {
	case JOB_DONE:
		if (o->result != NULL)
			result = json_dumps(o->result, JSON_COMPACT);
		finish(c, j, "done", result, NULL, 0, "done");
		jotel_job_end(j, "done", NULL);
		break;
	case JOB_RETRY:
		delay = JOB_RETRY_BASE_S;
		for (i = 1; i < j->attempts && delay < JOB_RETRY_CAP_S; i++)
			delay *= 2;
		if (delay > JOB_RETRY_CAP_S)
			delay = JOB_RETRY_CAP_S;
		jlog("%s: job %s (%s) attempt %d: %s; again in %lds",
		    c->runner, j->id, j->kind, j->attempts, o->err, delay);
		finish(c, j, "queued", NULL, o->err, delay, "retry");
		jotel_job_end(j, "retry", o->err);
		break;
	case JOB_RELEASE:
		finish(c, j, "queued", NULL, NULL, 0, "released");
		jotel_job_end(j, "released", NULL);
		break;
	case JOB_DEFER:
		jlog("%s: job %s (%s): %s; again in %ds", c->runner, j->id,
		    j->kind, o->err, c->circuit_wait_s);
		finish(c, j, "queued", NULL, o->err, c->circuit_wait_s,
		    "released");
		jotel_job_end(j, "released", o->err);
		break;
	case JOB_FAIL:
		jlog("%s: job %s (%s) failed: %s", c->runner, j->id, j->kind,
		    o->err);
		if (k != NULL && k->failed != NULL)
			k->failed(c, j, o->err);
		finish(c, j, "failed", NULL, o->err, 0, "failed");
		jotel_job_end(j, "failed", o->err);
		break;
	}
	free(result);
}

static void
finish(struct jctx *c, struct job *j, const char *status,
    const char *result, const char *err, long delay, const char *outcome)
{
	PGresult	*res;
	const char	*p[9];
	char		 d[24], att[16];

	(void)snprintf(d, sizeof(d), "%ld", delay);
	(void)snprintf(att, sizeof(att), "%d", j->attempts);
	p[0] = j->id;
	p[1] = c->runner;
	p[2] = status;
	p[3] = result;
	p[4] = err;
	p[5] = d;
	p[6] = att;
	p[7] = outcome;
	p[8] = j->run_id;
	if ((res = jdb_exec(c, sql_finish, 9, p)) == NULL)
		return;
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		jlog("%s: job %s: lease lost before finishing", c->runner,
		    j->id);
	PQclear(res);
}

/* Wait for a NOTIFY on jobs_ready (any queue) or JOB_POLL_MS. */
static void
wait_notify(struct jctx *c)
{
	struct pollfd	 pfd;
	PGnotify	*n;
	int		 got = 0;

	while ((n = PQnotifies(c->db)) != NULL) {
		got = 1;
		PQfreemem(n);
	}
	if (got)
		return;
	pfd.fd = PQsocket(c->db);
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (pfd.fd < 0)
		return;
	if (poll(&pfd, 1, JOB_POLL_MS) > 0 && PQconsumeInput(c->db) == 1) {
		while ((n = PQnotifies(c->db)) != NULL)
			PQfreemem(n);
	}
}

static const struct job_kind *
kind_find(const char *name)
{
	int		i;

	for (i = 0; kinds[i] != NULL; i++)
		if (strcmp(kinds[i]->name, name) == 0)
			return (kinds[i]);
	/* Test-only kinds exist only in a test environment. */
	if (strcmp(cfg.environment, "test") != 0)
		return (NULL);
	for (i = 0; test_kinds[i] != NULL; i++)
		if (strcmp(test_kinds[i]->name, name) == 0)
			return (test_kinds[i]);
	return (NULL);
}

static void
kinds_served(char *out, size_t len)
{
	size_t		o;
	int		i;

	o = (size_t)snprintf(out, len, "{");
	for (i = 0; kinds[i] != NULL && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s", i ? "," : "",
		    kinds[i]->name);
	if (strcmp(cfg.environment, "test") == 0)
		for (i = 0; test_kinds[i] != NULL && o < len; i++)
			o += (size_t)snprintf(out + o, len - o, ",%s",
			    test_kinds[i]->name);
	if (o < len)
		(void)snprintf(out + o, len - o, "}");
}
