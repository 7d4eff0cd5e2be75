/*
 * bcrypt off the event loop: a password job runs as a Kore task bound to
 * the request; its inputs and outputs live in the job's own memory.
 */
#ifndef ELENCHUS_PWJOB_H
#define ELENCHUS_PWJOB_H

#include <sys/queue.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <kore/tasks.h>

#include "lib/passwd.h"

#define PWJOB_PW_MAX		(PASSWD_MAX_CHARS * 4)

enum pwjob_op {
	PWJOB_HASH,		/* out = hash(pw) */
	PWJOB_VERIFY,		/* ok = verify(pw, hash); rehash if cheaper */
	PWJOB_CHANGE,		/* ok = verify(pw, hash); out = hash(pw2) */
	PWJOB_PRIME,		/* the dummy hash, once per worker */
};

struct pwjob {
	struct kore_task	t;	/* first: the task entry casts back */
	enum pwjob_op		op;
	int			cost;
	char			pw[PWJOB_PW_MAX + 1];
	char			pw2[PWJOB_PW_MAX + 1];
	char			hash[PASSWD_HASH_SIZE];
	int			ok;
	int			err;
	char			out[PASSWD_HASH_SIZE];
	TAILQ_ENTRY(pwjob)	list;
};

/* Schedule the per-worker dummy hash (unknown emails cost a bcrypt). */
void		 pwjob_init(void);
/* Start a job in *slot (releasing one already there); run bound to req. */
struct pwjob	*pwjob_start(struct http_request *, struct pwjob **,
		    enum pwjob_op, const char *, const char *, const char *);
/* 1 once *slot has finished (or is empty); else req sleeps until then. */
int		 pwjob_done(struct http_request *, struct pwjob **);
/* Free a finished job and empty the slot. */
void		 pwjob_release(struct pwjob **);
/* The request is going away: free now, or once Kore ends the task. */
void		 pwjob_abandon(struct pwjob **);

#endif
