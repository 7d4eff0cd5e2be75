/*
 * The runner's circuit breakers, one per LLM provider, shared by the
 * threads of this process (lib/breaker.c under a mutex; the server's
 * workers share theirs, src/circuit.c).  Breakers are per process: a
 * runner learns of an outage by its own failures.  While a breaker is
 * open, jllm_call refuses without calling and the job waits in the
 * queue (JOB_DEFER) until the breaker lets a probe through.  State
 * changes go to the log.
 */
#include <pthread.h>
#include <time.h>

#include "jobs.h"
#include "lib/breaker.h"

static pthread_mutex_t	jc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct breaker	jc_b[LLM_PROVIDER_GEMINI + 1];

static void	jc_policy(struct breaker_policy *);
static int64_t	jc_now_ms(void);

int
jcircuit_allow(enum llm_provider p, int *probe, int *retry_s)
{
	struct breaker_policy	pol;
	int64_t			retry_ms;
	int			v;

	jc_policy(&pol);
	(void)pthread_mutex_lock(&jc_lock);
	v = breaker_allow(&jc_b[p], &pol, jc_now_ms(), &retry_ms);
	(void)pthread_mutex_unlock(&jc_lock);
	*probe = v == BREAKER_PROBE;
	*retry_s = 0;
	if (v == BREAKER_REJECT) {
		*retry_s = (int)((retry_ms + 999) / 1000);
		if (*retry_s < 1)
			*retry_s = 1;
		return (0);
	}
	if (*probe)
		jlog("circuit %s: half_open, probing", llm_codec(p)->name);
	return (1);
}

void
jcircuit_record(enum llm_provider p, enum llm_err rc, int probe)
{
	struct breaker_policy	pol;
	int			before, after;

	jc_policy(&pol);
	(void)pthread_mutex_lock(&jc_lock);
	before = jc_b[p].state;
	breaker_record(&jc_b[p], &pol, !llm_err_provider_down(rc), probe,
	    jc_now_ms());
	after = jc_b[p].state;
	(void)pthread_mutex_unlock(&jc_lock);
	if (before == after)
		return;
	if (after == BREAKER_OPEN)
		jlog("circuit %s: %s -> open (%s); calls refused for %ds",
		    llm_codec(p)->name, breaker_state_name(before),
		    llm_err_name(rc), cfg.breaker_open_s);
	else
		jlog("circuit %s: %s -> %s", llm_codec(p)->name,
		    breaker_state_name(before), breaker_state_name(after));
}

static void
jc_policy(struct breaker_policy *p)
{
	breaker_policy_init(p, cfg.breaker_threshold, cfg.breaker_open_s,
	    cfg.ai_timeout_s);
}

static int64_t
jc_now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}
