/*
 * Requests sent at once (libcurl's multi interface), each checked to be
 * answered exactly as its own, and locks held in PostgreSQL against
 * them: what the suites on the database pipeline share (test_pipeline,
 * test_groups).
 */
#ifndef ELENCHUS_CALLS_H
#define ELENCHUS_CALLS_H

#include <curl/curl.h>

#include "fixture.h"

#define CALL_WANTS	3

/* One request of a batch sent at once, and what it must answer. */
struct call {
	const char		*base;
	const char		*method;
	char			 path[160];
	char			 body[1200];
	char			 auth[FX_TOKEN_MAX + 32];
	long			 want;
	/* dotted path = value, each checked in the answer */
	char			 key[CALL_WANTS][32];
	char			 val[CALL_WANTS][200];
	int			 nw;
	long			 status;
	char			*out;
	size_t			 len;
	CURL			*h;
	struct curl_slist	*hdrs;
};

/* method on path (fmt) as u at base (NULL: the main instance), body. */
struct call *
call_set(struct call *c, const char *base, const char *method,
    const struct user *u, const char *body, long want, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));

/* The answer must hold val at key. */
void		 call_want(struct call *, const char *key, const char *val);
void		 calls_start(CURLM *, struct call *, int n);
/* Drive the transfers for up to ms; how many are still running. */
int		 calls_drive(CURLM *, int ms);
/* Close every transfer (finished or not: a client that goes away). */
void		 calls_end(CURLM *, struct call *, int n);
/* Each answer is exactly the one its request asked for. */
void		 calls_check(struct call *, int n);
void		 calls_free(struct call *, int n);
/* Send the n at once, wait for every answer, check each (calls_free). */
void		 calls_run(struct call *, int n);
/* Drive the n to their answers (60 s at most), close them, and m. */
void		 calls_wait(CURLM *, struct call *, int n);

/* Hold todo id's row lock on db (BEGIN; SELECT ... FOR UPDATE). */
void		 pg_lock_todo(PGconn *db, const char *id);
/* The locks held on db go (COMMIT), and db is closed. */
void		 pg_unlock(PGconn *db);
/* Statements waiting on db's locks, directly or behind another waiter. */
int		 pg_blocked(PGconn *db);
/* Drive m (if any) until want statements wait on db's lock, else fail. */
void		 wait_blocked(CURLM *m, PGconn *db, int want);
/* Statements in flight at base (NULL: the main instance). */
long		 busy_at(const char *base);
/* Nothing in flight nor queued at base within seconds. */
void		 expect_idle(const char *base, int seconds);

#endif
