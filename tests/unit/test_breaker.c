/*
 * breaker.c: the circuit breaker's arithmetic.
 */

#include <criterion/criterion.h>

#include "breaker.h"
#include "llm.h"

static const struct breaker_policy pol = { 3, 10000, 5000 };

static int
allow(struct breaker *b, int64_t now, int64_t *retry)
{
	return (breaker_allow(b, &pol, now, retry));
}

Test(breaker, stays_closed_below_the_threshold_and_resets_on_success)
{
	struct breaker	b = { 0 };
	int64_t		r;

	breaker_record(&b, &pol, 0, 0, 1);
	breaker_record(&b, &pol, 0, 0, 2);
	cr_expect_eq(b.state, BREAKER_CLOSED);
	breaker_record(&b, &pol, 1, 0, 3);	/* not consecutive any more */
	breaker_record(&b, &pol, 0, 0, 4);
	breaker_record(&b, &pol, 0, 0, 5);
	cr_expect_eq(b.state, BREAKER_CLOSED);
	cr_expect_eq(allow(&b, 6, &r), BREAKER_ALLOW);
	cr_expect_eq(r, 0);
}

Test(breaker, opens_after_n_consecutive_failures_and_refuses_for_t)
{
	struct breaker	b = { 0 };
	int64_t		r;

	breaker_record(&b, &pol, 0, 0, 100);
	breaker_record(&b, &pol, 0, 0, 200);
	breaker_record(&b, &pol, 0, 0, 300);
	cr_assert_eq(b.state, BREAKER_OPEN);
	cr_expect_eq(b.opens, 1);
	cr_expect_eq(allow(&b, 300, &r), BREAKER_REJECT);
	cr_expect_eq(r, 10000);
	cr_expect_eq(allow(&b, 10299, &r), BREAKER_REJECT);
	cr_expect_eq(r, 1);
	cr_expect_eq(b.rejected, 2);
	/* A late failure of an earlier call does not extend it. */
	breaker_record(&b, &pol, 0, 0, 5000);
	cr_expect_eq(b.opened_ms, 300);
	breaker_record(&b, &pol, 1, 0, 5000);
	cr_expect_eq(b.state, BREAKER_OPEN);
}

Test(breaker, one_probe_after_t_then_closed_on_success)
{
	struct breaker	b = { 0 };
	int64_t		r;
	int		i;

	for (i = 0; i < 3; i++)
		breaker_record(&b, &pol, 0, 0, 0);
	cr_assert_eq(allow(&b, 10000, &r), BREAKER_PROBE);
	cr_expect_eq(b.state, BREAKER_HALF_OPEN);
	/* Only one probe: the others are refused meanwhile. */
	cr_expect_eq(allow(&b, 10001, &r), BREAKER_REJECT);
	cr_expect_geq(r, 1000);
	/* A success from a non-probe call decides nothing. */
	breaker_record(&b, &pol, 1, 0, 10002);
	cr_expect_eq(b.state, BREAKER_HALF_OPEN);
	breaker_record(&b, &pol, 1, 1, 10003);
	cr_expect_eq(b.state, BREAKER_CLOSED);
	cr_expect_eq(allow(&b, 10004, &r), BREAKER_ALLOW);
	/* And it counts from zero again. */
	breaker_record(&b, &pol, 0, 0, 10005);
	breaker_record(&b, &pol, 0, 0, 10006);
	cr_expect_eq(b.state, BREAKER_CLOSED);
}

Test(breaker, failed_probe_opens_again_for_t)
{
	struct breaker	b = { 0 };
	int64_t		r;
	int		i;

	for (i = 0; i < 3; i++)
		breaker_record(&b, &pol, 0, 0, 0);
	cr_assert_eq(allow(&b, 10000, &r), BREAKER_PROBE);
	breaker_record(&b, &pol, 0, 1, 12000);
	cr_expect_eq(b.state, BREAKER_OPEN);
	cr_expect_eq(b.opens, 2);
	cr_expect_eq(allow(&b, 12000, &r), BREAKER_REJECT);
	cr_expect_eq(r, 10000);
	cr_expect_eq(allow(&b, 22000, &r), BREAKER_PROBE);
}

Test(breaker, a_silent_probe_is_replaced_after_its_timeout)
{
	struct breaker	b = { 0 };
	int64_t		r;
	int		i;

	for (i = 0; i < 3; i++)
		breaker_record(&b, &pol, 0, 0, 0);
	cr_assert_eq(allow(&b, 10000, &r), BREAKER_PROBE);
	cr_expect_eq(allow(&b, 14999, &r), BREAKER_REJECT);
	cr_expect_eq(allow(&b, 15000, &r), BREAKER_PROBE);
	cr_expect_eq(b.probe_ms, 15000);
}

Test(breaker, threshold_one_opens_on_the_first_failure)
{
	static const struct breaker_policy one = { 1, 1000, 1000 };
	struct breaker	b = { 0 };

	breaker_record(&b, &one, 0, 0, 0);
	cr_expect_eq(b.state, BREAKER_OPEN);
}

Test(breaker, state_names)
{
	cr_expect_str_eq(breaker_state_name(BREAKER_CLOSED), "closed");
	cr_expect_str_eq(breaker_state_name(BREAKER_OPEN), "open");
	cr_expect_str_eq(breaker_state_name(BREAKER_HALF_OPEN), "half_open");
	cr_expect_str_eq(breaker_state_name(42), "unknown");
}

Test(breaker, policy_from_the_settings)
{
	struct breaker_policy	p;

	breaker_policy_init(&p, 5, 30, 60);
	cr_expect_eq(p.threshold, 5);
	cr_expect_eq(p.open_ms, 30000);
	cr_expect_eq(p.probe_timeout_ms, (60 + BREAKER_PROBE_SLACK_S) * 1000,
	    "a probe has its call's time and some");
	breaker_policy_init(&p, 1, 300, 10);
	cr_expect_eq(p.probe_timeout_ms, 300000, "never before open_s");
}

Test(breaker, what_counts_as_the_provider_failing)
{
	cr_expect(llm_err_provider_down(LLM_ERR_UPSTREAM_5XX));
	cr_expect(llm_err_provider_down(LLM_ERR_NETWORK));
	cr_expect(llm_err_provider_down(LLM_ERR_TRUNCATED));
	cr_expect(llm_err_provider_down(LLM_ERR_TIMEOUT));
	cr_expect(llm_err_provider_down(LLM_ERR_RATE_LIMITED));
	cr_expect_not(llm_err_provider_down(LLM_OK));
	cr_expect_not(llm_err_provider_down(LLM_ERR_BAD_REQUEST),
	    "a refusal of the request is the provider working");
	cr_expect_not(llm_err_provider_down(LLM_ERR_QUOTA));
	cr_expect_not(llm_err_provider_down(LLM_ERR_AUTH));
	cr_expect_not(llm_err_provider_down(LLM_ERR_BLOCKED));
}
