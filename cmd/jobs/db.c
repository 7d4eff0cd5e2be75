/*
 * Blocking libpq helpers of the job runner, and its small utilities
 * (error text, log lines, interruptible sleep).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"

#define JSLEEP_STEP_MS		50

PGresult *
jdb_exec(struct jctx *c, const char *sql, int n, const char *const *vals)
{
	return (jdb_exec_bin(c, sql, n, vals, 0));
}

/* A query; resfmt 1 asks for binary results (bytea).  NULL on failure. */
PGresult *
jdb_exec_bin(struct jctx *c, const char *sql, int n,
    const char *const *vals, int resfmt)
{
	PGresult	*res;
	ExecStatusType	 st;

	if (c->db == NULL)
		return (NULL);
	res = PQexecParams(c->db, sql, n, NULL, vals, NULL, NULL, resfmt);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		return (res);
	jlog("%s: query failed: %s", c->runner, PQerrorMessage(c->db));
	PQclear(res);
	return (NULL);
}

/* A statement without rows wanted: 0 or -1. */
int
jdb_cmd(struct jctx *c, const char *sql, int n, const char *const *vals)
{
	PGresult	*res;

	if ((res = jdb_exec(c, sql, n, vals)) == NULL)
		return (-1);
	PQclear(res);
	return (0);
}

void
jout_err(struct jout *o, const char *fmt, ...)
{
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(o->err, sizeof(o->err), fmt, ap);
	va_end(ap);
}

void
jlog(const char *fmt, ...)
{
	char		buf[1024];
	va_list		ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "elenchus-jobs: %s\n", buf);
}

/*
 * Sleep ms, in steps, until the runner stops or deadline (0: none)
 * passes.  Returns 0 when the whole time passed, -1 when cut short.
 */
int
jsleep_ms(long ms, time_t deadline)
{
	struct timespec	ts;
	long		step;

	while (ms > 0) {
		if (jobs_stopping || (deadline && time(NULL) >= deadline))
			return (-1);
		step = ms < JSLEEP_STEP_MS ? ms : JSLEEP_STEP_MS;
		ts.tv_sec = 0;
		ts.tv_nsec = step * 1000000L;
		(void)nanosleep(&ts, NULL);
		ms -= step;
	}
	return (jobs_stopping ? -1 : 0);
}
