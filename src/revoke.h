/*
 * The revocation cache: per worker, the ids of sessions revoked recently
 * enough that an access token of theirs may still be unexpired.  Fed by
 * the worker's side connection (src/sidedb.c) LISTENing on channel
 * session_revoked (the trigger in sql/002 notifies on every revocation,
 * from any worker or instance).
 *
 * While that connection is down, or connected but not yet loaded,
 * revoke_live() is 0 and callers must ask the database instead.
 */
#ifndef ELENCHUS_REVOKE_H
#define ELENCHUS_REVOKE_H

/* Start the cache and the side connection for this worker (idempotent). */
void	revoke_init(const char *);

/* 1 when the cache is complete: LISTEN active and the backlog loaded. */
int	revoke_live(void);

/* 1 when the session id (UUID text) is known to be revoked. */
int	revoke_has(const char *);

/* Record a revocation this worker just committed (before the NOTIFY). */
void	revoke_add(const char *);

/* Record each id of a PostgreSQL uuid[] text ("{a,b}"); NULL is none. */
void	revoke_add_list(const char *);

/* Parent, before the workers fork: the instance's shared revocations. */
void	revoke_shm_init(void);

/* Sessions that passed the database check here (sid owned by sub). */
int	revoke_known(const char *sid, const char *sub);
void	revoke_remember(const char *sid, const char *sub);

#endif
