/*
 * The per-user rate limit without a database round trip per request:
 * each worker counts locally and adds its counts to rate_limits in
 * batches; a request goes to the database (exact, synchronous) only when
 * the local share of what is left in the window is used up.
 */
#ifndef ELENCHUS_RATELIMIT_H
#define ELENCHUS_RATELIMIT_H

/*
 * Workers (over all instances) that may share one user's budget without
 * the sum overshooting the limit: each takes at most 1/RL_SHARE of what
 * it knows to be left before it must ask the database.
 */
#define RL_SHARE		16
#define RL_FLUSH_MS		100
#define RL_TABLE_MAX		65536

/* What a check decided: the X-RateLimit-* values of the answer. */
struct rl_verdict {
	int		set;
	long		limit;
	long		remaining;	/* below 0: over the limit (429) */
	long		reset;		/* the window's end, Unix seconds */
};

void	ratelimit_init(void);
/* 1: counted locally and allowed (*v set); 0: ask the database. */
int	ratelimit_local(const char *key, long limit, struct rl_verdict *v);
/* The verdict of a counter row (count, reset as text; NULL: none). */
void	ratelimit_counted(struct rl_verdict *, long limit, const char *count,
	    const char *reset);
/* Counts not yet in the database for key; they are taken (now 0). */
long	ratelimit_take(const char *key);
/* The database's count for key after a synchronous increment. */
void	ratelimit_seen(const char *key, long count, long reset);

#endif
