/*
 * Retry-After from a provider's answer: whatever the header line,
 * backoff_header takes at most BACKOFF_MAX_HEADER_LEN bytes without
 * reading past the line, and backoff_parse_retry_after answers "unknown"
 * or a delay of at most a day.
 */
#include <time.h>

#include "backoff.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	 out[BACKOFF_MAX_HEADER_LEN + 1], *line, *v;
	long	 ms;
	int	 r;

	/* Exactly len bytes, no terminator: ASan sees any overread. */
	if ((line = malloc(len ? len : 1)) == NULL)
		abort();
	memcpy(line, data, len);
	r = backoff_header(line, len, out);
	FUZZ_CHECK(r == 0 || r == 1);
	if (r == 1) {
		FUZZ_CHECK(strlen(out) <= BACKOFF_MAX_HEADER_LEN);
		ms = backoff_parse_retry_after(out, (time_t)1700000000);
		FUZZ_CHECK(ms == LLM_RETRY_UNKNOWN ||
		    (ms >= 0 && ms <= BACKOFF_MAX_RETRY_AFTER_S * 1000));
	}
	v = fuzz_str(data, len);
	ms = backoff_parse_retry_after(v, (time_t)1700000000);
	FUZZ_CHECK(ms == LLM_RETRY_UNKNOWN ||
	    (ms >= 0 && ms <= BACKOFF_MAX_RETRY_AFTER_S * 1000));
	free(v);
	free(line);
	return (0);
}
