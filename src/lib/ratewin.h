/*
 * Fixed one-minute rate-limit windows: which window a time falls in,
 * when it ends, how long a refused client waits, and how much of what
 * is left one worker may allow without asking the database.
 */
#ifndef ELENCHUS_RATEWIN_H
#define ELENCHUS_RATEWIN_H

#include <time.h>

#define RATEWIN_S		60

/* The window (minutes since the epoch) that t falls in. */
long	ratewin_minute(time_t t);

/* The end of window minute, Unix seconds (the X-RateLimit-Reset value). */
long	ratewin_reset(long minute);

/* The window that ends at reset. */
long	ratewin_of_reset(long reset);

/* Seconds until reset, at least 1 (Retry-After). */
long	ratewin_retry_after(long reset, time_t now);

/*
 * Local share of a limit: seen counted in the database, pending allowed
 * here and not yet sent, flushing on its way.  1 when one more request
 * keeps pending within 1/share of what is left (*remaining: what is left
 * after it); 0: ask the database.
 */
int	ratewin_local(long limit, long seen, long pending, long flushing,
	    long share, long *remaining);

#endif
