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

struct rq;

void	ratelimit_init(void);
/* 1: counted locally and allowed (rq's rate-limit headers set). */
int	ratelimit_local(struct rq *, const char *key, long limit);
/* Counts not yet in the database for key; they are taken (now 0). */
long	ratelimit_take(const char *key);
/* The database's count for key after a synchronous increment. */
void	ratelimit_seen(const char *key, long count, long reset);

#endif
