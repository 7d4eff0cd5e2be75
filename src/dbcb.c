/*
 * Callback-driven queries (see dbcb.h): a query slot of db.h bound to a
 * callback instead of a request.  db.c reports the outcome from inside
 * its connection handling, so it is handed to the caller from a one-shot
 * timer on the next turn of the event loop.
 */
#include <string.h>

#include "db.h"
#include "dbcb.h"

struct dbcb {
	struct dbq		 q;
	dbcb_fn			 fn;
	void			*arg;
};

static void	dbcb_done(struct dbq *);
static void	dbcb_deferred(void *, u_int64_t);

void
dbcb_start(const char *query, int n, const char *const *vals, dbcb_fn fn,
    void *arg)
{
	struct dbcb	*d;

	d = kore_calloc(1, sizeof(*d));
	d->fn = fn;
	d->arg = arg;
	d->q.done = dbcb_done;
	db_send_cb(&d->q, query, n, vals);
}

static void
dbcb_done(struct dbq *q)
{
	(void)kore_timer_add(dbcb_deferred, 0, q, KORE_TIMER_ONESHOT);
}

static void
dbcb_deferred(void *arg, u_int64_t now)
{
	struct dbcb	*d = arg;

	(void)now;
	d->fn(d->arg, db_poll(NULL, &d->q) == DB_OK, d->q.res);
	db_reset(&d->q);
	kore_free(d);
}
