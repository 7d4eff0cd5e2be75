/*
 * Retry policy for provider calls: which failures to retry, how long
 * to wait (exponential backoff with full jitter, or what the provider
 * asked for through Retry-After / RetryInfo), and when to give up.
 */

#ifndef BACKOFF_H
#define BACKOFF_H

#include <stdint.h>
#include <time.h>

#include "llm.h"

/* Tries in all, the first included. */
#define BACKOFF_MAX_TRIES		3
/* First backoff window; doubled per try, up to the cap. */
#define BACKOFF_BASE_MS			500L
#define BACKOFF_CAP_MS			8000L
/* A provider asking us to wait longer than this: give up instead. */
#define BACKOFF_MAX_HINT_MS		30000L
/* Retry-After values longer than this are not parsed (one day). */
#define BACKOFF_MAX_RETRY_AFTER_S	86400L
/* Longest Retry-After header value looked at. */
#define BACKOFF_MAX_HEADER_LEN		64

/* backoff_delay(): do not retry. */
#define BACKOFF_STOP			(-1L)

struct backoff_policy {
	int	max_tries;
	long	base_ms;
	long	cap_ms;
	long	max_hint_ms;
};

void	backoff_policy_default(struct backoff_policy *);
long	backoff_delay(const struct backoff_policy *, int, enum llm_err, long,
	    long, uint32_t);
long	backoff_parse_retry_after(const char *, time_t);
/*
 * A response header line (as libcurl hands it over, CRLF included): 1
 * with its value trimmed in out (BACKOFF_MAX_HEADER_LEN + 1 bytes) when
 * it is a Retry-After of at most BACKOFF_MAX_HEADER_LEN bytes, else 0.
 */
int	backoff_header(const char *, size_t, char *);
long	backoff_hint(long, long);
uint32_t backoff_random(void);

#endif
