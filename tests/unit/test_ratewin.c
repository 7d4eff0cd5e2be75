/*
 * ratewin.c: the arithmetic of the one-minute rate-limit windows and of
 * a worker's local share.
 */
#include <criterion/criterion.h>

#include "ratewin.h"

Test(ratewin, a_time_falls_in_its_minute_which_ends_on_the_next)
{
	cr_assert_eq(ratewin_minute(0), 0);
	cr_assert_eq(ratewin_minute(59), 0);
	cr_assert_eq(ratewin_minute(60), 1);
	cr_assert_eq(ratewin_minute(1700000039), 28333333);
	cr_assert_eq(ratewin_reset(28333333), 1700000040);
	cr_assert_eq(ratewin_of_reset(ratewin_reset(28333333)), 28333333);
}

Test(ratewin, retry_after_counts_down_to_the_reset_and_is_never_zero)
{
	cr_assert_eq(ratewin_retry_after(1200, 1170), 30);
	cr_assert_eq(ratewin_retry_after(1200, 1199), 1);
	cr_assert_eq(ratewin_retry_after(1200, 1200), 1);
	cr_assert_eq(ratewin_retry_after(1200, 1500), 1);
}

Test(ratewin, local_share_allows_while_pending_stays_within_its_share)
{
	long	rem = -7;

	/*
	 * Limit 1000, share 16: with p pending, one more fits while
	 * (p + 1) * 16 <= 1000 - p, that is up to p = 57.
	 */
	cr_assert(ratewin_local(1000, 0, 0, 0, 16, &rem));
	cr_assert_eq(rem, 999);
	cr_assert(ratewin_local(1000, 0, 57, 0, 16, &rem));
	cr_assert_eq(rem, 1000 - 57 - 1);
	cr_assert_not(ratewin_local(1000, 0, 58, 0, 16, &rem));
}

Test(ratewin, local_share_counts_seen_and_flushing_against_the_limit)
{
	long	rem = -7;

	cr_assert(ratewin_local(100, 50, 0, 10, 16, &rem));
	cr_assert_eq(rem, 39);
	cr_assert_not(ratewin_local(100, 90, 0, 0, 16, &rem));
	cr_assert_eq(rem, 39, "unchanged when refused");
}

Test(ratewin, small_limits_always_ask_the_database)
{
	long	rem;

	cr_assert_not(ratewin_local(10, 0, 0, 0, 16, &rem));
	cr_assert(ratewin_local(16, 0, 0, 0, 16, &rem));
	cr_assert_not(ratewin_local(0, 0, 0, 0, 16, &rem));
	cr_assert_not(ratewin_local(100, 200, 0, 0, 16, &rem));
}
