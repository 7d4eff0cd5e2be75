/*
 * Rate-limit window arithmetic (see ratewin.h).
 */
#include "ratewin.h"

long
ratewin_minute(time_t t)
{
	return ((long)(t / RATEWIN_S));
}

long
ratewin_reset(long minute)
{
	return ((minute + 1) * RATEWIN_S);
}

long
ratewin_of_reset(long reset)
{
	return (reset / RATEWIN_S - 1);
}

long
ratewin_retry_after(long reset, time_t now)
{
	long	wait;

	wait = reset - (long)now;
	return (wait < 1 ? 1 : wait);
}

int
ratewin_local(long limit, long seen, long pending, long flushing,
    long share, long *remaining)
{
	long	left;

	left = limit - seen - pending - flushing;
	if ((pending + 1) * share > left)
		return (0);
	*remaining = left - 1;
	return (1);
}
