/*
 * Job kinds that exist only when ENVIRONMENT=test, for the queue's own
 * tests: noop (optionally sleeps, to be killed or timed out mid-job),
 * noop_fail (always fails, to exhaust its attempts) and llm_echo (one
 * provider call through jllm_call, for the runner's breaker).
 */
#include <string.h>

#include "jobs.h"

static enum job_res	noop_run(struct jctx *, struct job *, struct jout *);
static enum job_res	noop_fail_run(struct jctx *, struct job *,
			    struct jout *);
static enum job_res	llm_echo_run(struct jctx *, struct job *,
			    struct jout *);

const struct job_kind	job_kind_noop = { "noop", noop_run, NULL };
const struct job_kind	job_kind_noop_fail = { "noop_fail", noop_fail_run,
			    NULL };
const struct job_kind	job_kind_llm_echo = { "llm_echo", llm_echo_run,
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

/*
 * payload {message}: one call with message as the user's text (the
 * stand-in's [[...]] directives apply), one try.  A failed call fails
 * the job; an open breaker defers it.  Result: the answer.
 */
static enum job_res
llm_echo_run(struct jctx *c, struct job *j, struct jout *o)
{
	struct llm_request	 req;
	struct llm_result	 res;
	struct llm_error	 err;
	struct llm_msg		 msg;
	enum llm_err		 rc;

	memset(&req, 0, sizeof(req));
	msg.role = LLM_ROLE_USER;
	msg.content = json_string_value(json_object_get(j->payload,
	    "message"));
	if (msg.content == NULL) {
		jout_err(o, "payload without message");
		return (JOB_FAIL);
	}
	req.msgs = &msg;
	req.nmsgs = 1;
	req.temperature = -1;
	c->max_tries = 1;
	rc = jllm_call(c, NULL, "test", &req, &res, &err, j->deadline);
	if (rc == LLM_OK)
		o->result = json_pack("{s:s?}", "answer", res.content);
	else
		jout_err(o, "%s: %s", llm_err_name(rc), err.message);
	llm_result_free(&res);
	if (rc == LLM_OK)
		return (JOB_DONE);
	return (c->circuit_wait_s > 0 ? JOB_DEFER : JOB_FAIL);
}
