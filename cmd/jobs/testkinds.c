/*
 * Job kinds that exist only when ENVIRONMENT=test, for the queue's own
 * tests: noop (optionally sleeps, to be killed or timed out mid-job) and
 * noop_fail (always fails, to exhaust its attempts).
 */
#include <string.h>

#include "jobs.h"

static enum job_res	noop_run(struct jctx *, struct job *, struct jout *);
static enum job_res	noop_fail_run(struct jctx *, struct job *,
			    struct jout *);

const struct job_kind	job_kind_noop = { "noop", noop_run, NULL };
const struct job_kind	job_kind_noop_fail = { "noop_fail", noop_fail_run,
			    NULL };

/*
 * payload {sleep_ms, sleep_attempts}: sleep sleep_ms on the first
 * sleep_attempts attempts (all when absent).  Result: who ran it.
 */
static enum job_res
noop_run(struct jctx *c, struct job *j, struct jout *o)
{
	json_int_t	ms, upto;

	ms = json_integer_value(json_object_get(j->payload, "sleep_ms"));
	upto = json_integer_value(json_object_get(j->payload,
	    "sleep_attempts"));
	if (ms > 0 && (upto == 0 || j->attempts <= upto) &&
	    jsleep_ms((long)ms, j->deadline) == -1) {
		if (jobs_stopping)
			return (JOB_RELEASE);
		jout_err(o, "job timeout");
		return (JOB_RETRY);
	}
	o->result = json_pack("{s:s, s:i}", "runner", c->runner,
	    "attempt", j->attempts);
	return (JOB_DONE);
}

static enum job_res
noop_fail_run(struct jctx *c, struct job *j, struct jout *o)
{
	const char	*e;

	(void)c;
	e = json_string_value(json_object_get(j->payload, "error"));
	jout_err(o, "noop_fail: %s", e != NULL ? e : "failing on purpose");
	return (JOB_RETRY);
}
