/*
 * Each worker's side connection to PostgreSQL, outside Kore's pools: it
 * LISTENs for one channel (the revocation cache, src/revoke.c), runs the
 * housekeeping DELETEs once a minute, and carries short queries of its
 * own (the rate limiter's flushes, src/ratelimit.c) while idle.
 */
#ifndef ELENCHUS_SIDEDB_H
#define ELENCHUS_SIDEDB_H

#include <libpq-fe.h>

/*
 * Who listens.  On every (re)connect: reset(), LISTEN channel, then
 * load_sql ($1 = load_param) with each result to load(), then loaded();
 * from then on each NOTIFY's payload goes to notify().
 */
struct sidedb_listener {
	const char	*channel;
	const char	*load_sql;
	const char	*load_param;
	void		(*reset)(void);
	void		(*load)(PGresult *);
	void		(*loaded)(void);
	void		(*notify)(const char *);
};

/* Connect for this worker (idempotent); l must outlive the worker. */
void	sidedb_init(const char *, const struct sidedb_listener *);

/*
 * 1 while the listener is complete: LISTEN active, the backlog loaded,
 * and the last answer recent (see SIDEDB_FRESH_MS in sidedb.c).
 */
int	sidedb_live(void);

/* Drop the connection when idle and live, to load afresh (1: dropped). */
int	sidedb_reload(const char *);

/*
 * Run a query when the connection is live and idle (1: sent).  cb sees
 * each result (ok = 1), then (NULL, 1) when the query is complete, or
 * (NULL, 0) if the connection fails first.
 */
int	sidedb_query(const char *, int, const char *const *,
	    void (*)(PGresult *, int, void *), void *);

#endif
