/*
 * Circuit breaker: closed → open after N consecutive failures → half-open
 * after T → closed on the probe's success, open again on its failure.
 */
#include <stddef.h>

#include "breaker.h"

#define BREAKER_RETRY_MIN_MS	1000

void
breaker_policy_init(struct breaker_policy *p, int threshold, int open_s,
    int call_timeout_s)
{
	p->threshold = threshold;
	p->open_ms = (int64_t)open_s * 1000;
	p->probe_timeout_ms = (int64_t)(call_timeout_s +
	    BREAKER_PROBE_SLACK_S) * 1000;
	if (p->probe_timeout_ms < p->open_ms)
		p->probe_timeout_ms = p->open_ms;
}

int
breaker_allow(struct breaker *b, const struct breaker_policy *p,
    int64_t now, int64_t *retry_ms)
{
	int64_t		left;

	*retry_ms = 0;
	switch (b->state) {
	case BREAKER_CLOSED:
		return (BREAKER_ALLOW);
	case BREAKER_OPEN:
		left = b->opened_ms + p->open_ms - now;
		if (left > 0) {
			b->rejected++;
			*retry_ms = left;
			return (BREAKER_REJECT);
		}
		b->state = BREAKER_HALF_OPEN;
		b->probe_ms = now;
		return (BREAKER_PROBE);
	default:
		left = b->probe_ms + p->probe_timeout_ms - now;
		if (left <= 0) {
			b->probe_ms = now;
			return (BREAKER_PROBE);
		}
		b->rejected++;
		*retry_ms = left < BREAKER_RETRY_MIN_MS ?
		    BREAKER_RETRY_MIN_MS : left;
		return (BREAKER_REJECT);
	}
}

void
breaker_record(struct breaker *b, const struct breaker_policy *p, int ok,
    int probe, int64_t now)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		if (ok) {
			b->failures = 0;
			return;
		}
		if (++b->failures < p->threshold)
			return;
		break;
	case BREAKER_HALF_OPEN:
		/* Only the probe decides; calls from before do not. */
		if (!probe)
			return;
		if (ok) {
			b->state = BREAKER_CLOSED;
			b->failures = 0;
			return;
		}
		break;
	default:
		/* Open: late outcomes of calls made before change nothing. */
		return;
	}
	b->state = BREAKER_OPEN;
	b->opened_ms = now;
	b->failures = 0;
	b->opens++;
}

const char *
breaker_state_name(int s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return ("closed");
	case BREAKER_OPEN:
		return ("open");
	case BREAKER_HALF_OPEN:
		return ("half_open");
	}
	return ("unknown");
}
