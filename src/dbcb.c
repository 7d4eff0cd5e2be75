/*
 * Callback-driven queries (see dbcb.h).  Kore calls dbcb_cb at every
 * state change, sometimes from deep inside its own pgsql functions, so
 * the outcome is handed to the caller from a one-shot timer on the next
 * turn of the event loop, never from inside Kore's call chain.  A
 * connection that dies under a query changes its state without a
 * callback: a watchdog timer finds those.
 */
#include <sys/queue.h>

#include <string.h>

#include "db.h"
#include "dbcb.h"
#include "metrics.h"

#define DBCB_TRIES		2

enum {
	DBCB_RUN = 0,
	DBCB_END
};

struct dbcb {
	struct kore_pgsql	 sql;
	const char		*query;
	int			 nparams;
	char			*vals[DB_MAX_PARAMS];
	dbcb_fn			 fn;
	void			*arg;
	PGresult		*res;
	int			 tries;
	int			 phase;
	int			 ok;
	int			 retry;
	TAILQ_ENTRY(dbcb)	 list;
};

TAILQ_HEAD(dbcb_list, dbcb);

static struct dbcb_list	dbcb_active = TAILQ_HEAD_INITIALIZER(dbcb_active);
static int			dbcb_watching;

static void	dbcb_send(struct dbcb *);
static void	dbcb_query(struct dbcb *);
static void	dbcb_cb(struct kore_pgsql *, void *);
static void	dbcb_error(struct dbcb *);
static void	dbcb_end(struct dbcb *);
static void	dbcb_deferred(void *, u_int64_t);
static void	dbcb_watch(void *, u_int64_t);

void
dbcb_start(const char *query, int n, const char *const *vals, dbcb_fn fn,
    void *arg)
{
	struct dbcb	*d;
	int		 i;

	if (n > DB_MAX_PARAMS)
		fatal("dbcb_start: %d parameters", n);
	if (!dbcb_watching) {
		(void)kore_timer_add(dbcb_watch, DBCB_WATCH_MS, NULL, 0);
		dbcb_watching = 1;
	}
	d = kore_calloc(1, sizeof(*d));
	d->query = query;
	d->nparams = n;
	d->fn = fn;
	d->arg = arg;
	for (i = 0; i < n; i++)
		d->vals[i] = vals[i] ? kore_strdup(vals[i]) : NULL;
	kore_pgsql_init(&d->sql);
	TAILQ_INSERT_TAIL(&dbcb_active, d, list);
	dbcb_send(d);
}

static void
dbcb_send(struct dbcb *d)
{
	kore_pgsql_cleanup(&d->sql);
	kore_pgsql_init(&d->sql);
	kore_pgsql_bind_callback(&d->sql, dbcb_cb, d);
	d->phase = DBCB_RUN;
	d->tries++;
	dbcb_query(d);
}

static void
dbcb_query(struct dbcb *d)
{
	const char	*pv[DB_MAX_PARAMS];
	int		 lens[DB_MAX_PARAMS], fmts[DB_MAX_PARAMS], i;

	if (!kore_pgsql_setup(&d->sql, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* INIT: queued for a connection; dbcb_cb(INIT) resumes. */
		if (d->sql.state != KORE_PGSQL_STATE_INIT)
			dbcb_error(d);
		return;
	}
	if (!db_conn_usable(&d->sql)) {
		dbcb_error(d);
		return;
	}
	for (i = 0; i < d->nparams; i++) {
		lens[i] = d->vals[i] ? (int)strlen(d->vals[i]) : 0;
		fmts[i] = 0;
		pv[i] = d->vals[i];
	}
	if (!kore_pgsql_query_param_fields(&d->sql, d->query, 0, d->nparams,
	    pv, lens, fmts))
		dbcb_error(d);
}

static void
dbcb_cb(struct kore_pgsql *sql, void *arg)
{
	struct dbcb	*d = arg;

	if (d->phase != DBCB_RUN)
		return;
	switch (sql->state) {
	case KORE_PGSQL_STATE_INIT:
		dbcb_query(d);
		return;
	case KORE_PGSQL_STATE_WAIT:
		return;
	case KORE_PGSQL_STATE_RESULT:
		if (d->res != NULL)
			PQclear(d->res);
		d->res = sql->result;
		sql->result = NULL;
		/* Last: Kore may call back (and end us) from here. */
		kore_pgsql_continue(sql);
		return;
	case KORE_PGSQL_STATE_DONE:
		kore_pgsql_continue(sql);
		return;
	case KORE_PGSQL_STATE_COMPLETE:
		d->ok = 1;
		dbcb_end(d);
		return;
	case KORE_PGSQL_STATE_ERROR:
	default:
		dbcb_error(d);
		return;
	}
}

/* A failed query: retried once on a fresh connection if it was lost. */
static void
dbcb_error(struct dbcb *d)
{
	const char	*st;
	int		 lost;

	st = NULL;
	if (d->sql.result != NULL)
		st = PQresultErrorField(d->sql.result, PG_DIAG_SQLSTATE);
	lost = st == NULL || !strncmp(st, "08", 2) || !strncmp(st, "57P", 3);
	if (d->sql.conn != NULL && PQstatus(d->sql.conn->db) == CONNECTION_BAD)
		lost = 1;
	kore_log(LOG_NOTICE, "db (callback) error [%s]: %s", st ? st : "",
	    d->sql.error ? d->sql.error : "unknown");
	d->phase = DBCB_END;
	d->ok = 0;
	d->retry = lost && d->tries < DBCB_TRIES;
	if (lost && !d->retry)
		metrics_db_error();
	kore_pgsql_cleanup(&d->sql);
	(void)kore_timer_add(dbcb_deferred, 0, d, KORE_TIMER_ONESHOT);
}

static void
dbcb_end(struct dbcb *d)
{
	d->phase = DBCB_END;
	(void)kore_timer_add(dbcb_deferred, 0, d, KORE_TIMER_ONESHOT);
}

static void
dbcb_deferred(void *arg, u_int64_t now)
{
	struct dbcb	*d = arg;
	int		 i;

	(void)now;
	if (d->retry) {
		d->retry = 0;
		if (d->res != NULL) {
			PQclear(d->res);
			d->res = NULL;
		}
		dbcb_send(d);
		return;
	}
	kore_pgsql_cleanup(&d->sql);
	TAILQ_REMOVE(&dbcb_active, d, list);
	d->fn(d->arg, d->ok, d->res);
	if (d->res != NULL)
		PQclear(d->res);
	for (i = 0; i < d->nparams; i++)
		kore_free(d->vals[i]);
	kore_free(d);
}

/* A connection that died under a query: Kore set ERROR, told no one. */
static void
dbcb_watch(void *arg, u_int64_t now)
{
	struct dbcb	*d, *next;

	(void)arg;
	(void)now;
	for (d = TAILQ_FIRST(&dbcb_active); d != NULL; d = next) {
		next = TAILQ_NEXT(d, list);
		if (d->phase == DBCB_RUN &&
		    d->sql.state == KORE_PGSQL_STATE_ERROR &&
		    d->sql.conn == NULL)
			dbcb_error(d);
	}
}
