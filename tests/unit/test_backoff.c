/*
 * Retry policy: which failures are retried, the jittered exponential
 * window and its cap, provider-given delays (Retry-After seconds or
 * HTTP-date, Gemini RetryInfo) and the limits that make us give up.
 */

#include <criterion/criterion.h>
#include <stdint.h>
#include <string.h>

#include "backoff.h"

static struct backoff_policy
pol(void)
{
	struct backoff_policy	bp;

	backoff_policy_default(&bp);
	return (bp);
}

Test(backoff_delay, only_retryable_failures_are_retried)
{
	struct backoff_policy	bp = pol();
	const enum llm_err	never[] = { LLM_ERR_QUOTA, LLM_ERR_AUTH,
	    LLM_ERR_BAD_REQUEST, LLM_ERR_NOT_FOUND, LLM_ERR_MALFORMED,
	    LLM_ERR_BLOCKED, LLM_ERR_TIMEOUT, LLM_ERR_TOO_LARGE,
	    LLM_ERR_INVALID, LLM_OK };
	const enum llm_err	again[] = { LLM_ERR_RATE_LIMITED,
	    LLM_ERR_UPSTREAM_5XX, LLM_ERR_NETWORK, LLM_ERR_TRUNCATED };
	size_t			i;

	for (i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		cr_assert_eq(backoff_delay(&bp, 1, never[i], -1, -1, 7),
		    BACKOFF_STOP, "%s", llm_err_name(never[i]));
	for (i = 0; i < sizeof(again) / sizeof(again[0]); i++)
		cr_assert_geq(backoff_delay(&bp, 1, again[i], -1, -1, 7), 0,
		    "%s", llm_err_name(again[i]));
}

Test(backoff_delay, stops_after_three_tries_in_all)
{
	struct backoff_policy	bp = pol();

	cr_assert_eq(BACKOFF_MAX_TRIES, 3);
	cr_assert_geq(backoff_delay(&bp, 1, LLM_ERR_UPSTREAM_5XX, -1, -1, 1),
	    0);
	cr_assert_geq(backoff_delay(&bp, 2, LLM_ERR_UPSTREAM_5XX, -1, -1, 1),
	    0);
	cr_assert_eq(backoff_delay(&bp, 3, LLM_ERR_UPSTREAM_5XX, -1, -1, 1),
	    BACKOFF_STOP);
	cr_assert_eq(backoff_delay(&bp, 0, LLM_ERR_UPSTREAM_5XX, -1, -1, 1),
	    BACKOFF_STOP);
}

Test(backoff_delay, full_jitter_spans_a_window_that_doubles)
{
	struct backoff_policy	bp = pol();

	/* rnd % (window + 1): 0 and window are both reachable. */
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, -1, -1, 0),
	    0);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, -1, -1, 500),
	    500);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, -1, -1, 501),
	    0);
	cr_assert_eq(backoff_delay(&bp, 2, LLM_ERR_RATE_LIMITED, -1, -1,
	    1000), 1000);
	cr_assert_leq(backoff_delay(&bp, 2, LLM_ERR_RATE_LIMITED, -1, -1,
	    UINT32_MAX), 1000);
}

Test(backoff_delay, the_window_never_passes_the_cap)
{
	struct backoff_policy	bp = pol();
	uint32_t		r;
	int			t;

	bp.max_tries = 40;
	for (t = 1; t < 40; t++) {
		for (r = 0; r < 3; r++) {
			cr_assert_leq(backoff_delay(&bp, t,
			    LLM_ERR_UPSTREAM_5XX, -1, -1,
			    (uint32_t)BACKOFF_CAP_MS + r), BACKOFF_CAP_MS);
		}
	}
	cr_assert_eq(backoff_delay(&bp, 39, LLM_ERR_UPSTREAM_5XX, -1, -1,
	    (uint32_t)BACKOFF_CAP_MS), BACKOFF_CAP_MS);
}

Test(backoff_delay, a_provider_delay_is_honoured_up_to_the_max)
{
	struct backoff_policy	bp = pol();

	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, 1500, -1, 9),
	    1500);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED,
	    BACKOFF_MAX_HINT_MS, -1, 9), BACKOFF_MAX_HINT_MS);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED,
	    BACKOFF_MAX_HINT_MS + 1, -1, 9), BACKOFF_STOP,
	    "waiting past the max serves no one: give up");
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_QUOTA, 10, -1, 9),
	    BACKOFF_STOP, "a delay does not make quota retryable");
}

Test(backoff_delay, never_sleeps_past_the_deadline)
{
	struct backoff_policy	bp = pol();

	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, 2000, 1999,
	    0), BACKOFF_STOP);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, 2000, 5000,
	    0), 2000);
	cr_assert_eq(backoff_delay(&bp, 1, LLM_ERR_RATE_LIMITED, -1, 0, 0),
	    BACKOFF_STOP);
}

Test(backoff_retry_after, parses_delta_seconds)
{
	cr_assert_eq(backoff_parse_retry_after("1", 0), 1000);
	cr_assert_eq(backoff_parse_retry_after(" 120 ", 0), 120000);
	cr_assert_eq(backoff_parse_retry_after("0", 0), 0);
	cr_assert_eq(backoff_parse_retry_after("1.5", 0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after("-1", 0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after("soon", 0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after("99999999999999999999", 0),
	    LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after(NULL, 0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after("", 0), LLM_RETRY_UNKNOWN);
}

Test(backoff_retry_after, parses_an_http_date_against_now)
{
	const time_t	when = 1445412480;	/* 2015-10-21 07:28:00 UTC */
	const char	*d = "Wed, 21 Oct 2015 07:28:00 GMT";

	cr_assert_eq(backoff_parse_retry_after(d, when - 10), 10000);
	cr_assert_eq(backoff_parse_retry_after(d, when + 10), 0,
	    "a date in the past means now");
	cr_assert_eq(backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT",
	    784111777 - 1), 1000);
	cr_assert_eq(backoff_parse_retry_after("Wed, 21 Foo 2015 07:28:00 GMT",
	    0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after("Wed, 21 Oct 2015 07:28:00",
	    0), LLM_RETRY_UNKNOWN);
	cr_assert_eq(backoff_parse_retry_after(d, when - 2 * 86400),
	    LLM_RETRY_UNKNOWN, "more than a day away is not believed");
}

Test(backoff_hint, the_body_delay_wins_over_the_header)
{
	cr_assert_eq(backoff_hint(30000, 1000), 30000);
	cr_assert_eq(backoff_hint(LLM_RETRY_UNKNOWN, 1000), 1000);
	cr_assert_eq(backoff_hint(LLM_RETRY_UNKNOWN, LLM_RETRY_UNKNOWN),
	    LLM_RETRY_UNKNOWN);
}

Test(backoff_random, is_not_constant)
{
	uint32_t	first;
	int		i, differs;

	first = backoff_random();
	differs = 0;
	for (i = 0; i < 16; i++)
		differs |= backoff_random() != first;
	cr_assert(differs);
}

Test(backoff_header, takes_the_retry_after_value_of_a_header_line)
{
	char	out[BACKOFF_MAX_HEADER_LEN + 1], big[200];

	cr_assert_eq(backoff_header("Retry-After: 120\r\n", 18, out), 1);
	cr_assert_str_eq(out, "120");
	cr_assert_eq(backoff_header("retry-after:\t7 \r\n", 17, out), 1,
	    "any case, blanks around");
	cr_assert_str_eq(out, "7");
	cr_assert_eq(backoff_header("X-Retry-After: 1\r\n", 18, out), 0);
	cr_assert_eq(backoff_header("Retry-After:", 12, out), 0,
	    "nothing after the name");
	memset(big, '1', sizeof(big));
	memcpy(big, "Retry-After: ", 13);
	cr_assert_eq(backoff_header(big, sizeof(big), out), 0,
	    "a value past BACKOFF_MAX_HEADER_LEN is not taken");
}
