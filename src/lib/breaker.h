/*
 * Circuit breaker arithmetic: after `threshold` consecutive failures a
 * breaker opens for `open_ms`; calls are refused without touching the
 * provider.  Then one probe call is let through (half-open): its success
 * closes the breaker, its failure opens it again.  A probe that never
 * reports (its request ended before the call) is replaced after
 * `probe_timeout_ms`.  Pure code: the caller supplies the clock and the
 * storage (shared memory in the server), and the locking.
 */
#ifndef ELENCHUS_BREAKER_H
#define ELENCHUS_BREAKER_H

#include <stdint.h>

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN,
};

enum breaker_verdict {
	BREAKER_ALLOW = 0,	/* closed: call */
	BREAKER_PROBE,		/* half-open: call, and report with probe=1 */
	BREAKER_REJECT,		/* open: fail fast, retry after *retry_ms */
};

struct breaker_policy {
	int		threshold;		/* consecutive failures, >= 1 */
	int64_t		open_ms;		/* time open before a probe */
	int64_t		probe_timeout_ms;	/* a silent probe is replaced */
};

struct breaker {
	int		state;
	int		failures;	/* consecutive, while closed */
	int64_t		opened_ms;	/* when it last opened */
	int64_t		probe_ms;	/* when the probe went out */
	uint64_t	opens;		/* times opened */
	uint64_t	rejected;	/* calls refused */
};

/* A probe that has not reported after the call's timeout and this. */
#define BREAKER_PROBE_SLACK_S	5

/*
 * The policy from the settings: open after threshold consecutive
 * failures, for open_s seconds; a silent probe is replaced after
 * call_timeout_s + BREAKER_PROBE_SLACK_S (never sooner than open_s).
 */
void		 breaker_policy_init(struct breaker_policy *, int threshold,
		    int open_s, int call_timeout_s);
/* Whether a call may go out now (now_ms: a monotonic clock). */
int		 breaker_allow(struct breaker *, const struct breaker_policy *,
		    int64_t now_ms, int64_t *retry_ms);
/* The outcome of a call that was let through (probe: it was the probe). */
void		 breaker_record(struct breaker *,
		    const struct breaker_policy *, int ok, int probe,
		    int64_t now_ms);
const char	*breaker_state_name(int);

#endif
