/*
 * Asynchronous queries on the worker's own pipelined connections.
 *
 * Each worker keeps up to pgsql_conn_max (kore.conf) libpq connections
 * of its own, in pipeline mode, registered once on Kore's event loop
 * (level-triggered read).  A query goes to the connection with the
 * fewest statements in flight, opening another one first when every
 * open one is busy; so with few requests each has a connection to
 * itself, and under load several share a connection and PostgreSQL
 * reads and answers them per wakeup instead of one per round trip
 * (pgbench on the single-row SELECT: about 3x the rate at 4-16 deep).
 * A write is followed by its own Sync, so it is its own transaction and
 * one failing aborts nothing else; the reads of one turn of the event
 * loop share a Sync (db_send_on), and so do the grouped writes of one
 * turn (db_start_group): up to DB_GROUP of them are one transaction and
 * one commit, and each is answered when the group's Sync confirms it
 * (db_pipe.c).  A todo's create is such a write: under load the commits
 * were a third of its cost (make bench: 4,700-6,500 -> 9,900-10,600
 * creates a second, docs/SCALING.md).
 *
 * Why not Kore's pgsql layer: it runs one query per connection and adds
 * and deletes the socket in epoll around each (two epoll_ctl a query).
 *
 * Statements are prepared: planning costs more than executing the small
 * queries the API makes.  The first use of a statement on a connection
 * sends its Parse in the same pipeline, just before the query.  Queries
 * must be static strings: a statement is known by its address and a
 * hash of its text.
 *
 * A connection that fails (PostgreSQL restarted, the socket closed)
 * fails what it had in flight; each such query is sent once more, on
 * another or a fresh connection, before its owner sees a failure.
 * Connecting is a blocking PQconnectdb bounded by connect_timeout, tried
 * at most once per DB_RESET_MS per worker while the server is away.
 */
#include <sys/epoll.h>

#include <stdio.h>
#include <string.h>

#include "db_pipe.h"

#include <kore/pgsql.h>		/* pgsql_conn_max, pgsql_queue_limit */
#include "cfg.h"
#include "metrics.h"
#include "lib/sqlro.h"

#define DB_TRIES		2
#define DB_ABORTS		4	/* resends after another of its
					   transaction failed */
#define DB_RESET_MS		250
#define DB_DEPTH		32	/* statements in flight per connection */
#define DB_FL_RBIN		0x01
#define DB_FL_GROUP		0x02
struct db_stmt {
	const char	*query;
	u_int32_t	hash;
	int		ro;		/* cannot wait for a row lock */
};

static struct db_stmt	db_stmts[DB_STMT_MAX];
static int		db_nstmts;
static char		*db_conninfo;
static struct db_conn	*db_conns;
static int		db_nconns;
static u_int64_t	db_last_fail;
static u_int64_t	db_last_lost;	/* ms: a connection failed */
static u_int32_t	db_nwaiting;
static int		db_sync_armed;	/* db_sync_all is due */
TAILQ_HEAD(db_waitq, dbq);
/* The worker's FIFOs, [0] writes, [1] reads: waiting is 1 + the index. */
static struct db_waitq	db_waitq[2] = { TAILQ_HEAD_INITIALIZER(db_waitq[0]),
			    TAILQ_HEAD_INITIALIZER(db_waitq[1]) };

static void		db_start_fmt(struct http_request *, struct dbq *,
			    const char *, int, const char *const *,
			    const int *, const int *, int);
static void		db_begin(struct dbq *, struct http_request *,
			    void (*)(struct dbq *), const char *, int,
			    const char *const *, const int *, const int *, int);
static void		db_send(struct dbq *);
static int		db_send_on(struct db_conn *, struct dbq *, int, int);
static void		db_sync_all(void *, u_int64_t);
static struct db_conn	*db_pick(int *, int, int, int);
static int		db_open(struct db_conn *);
static void		db_event(void *, int);
static void		db_serve_waiting(void);
static int		db_stmt_id(const char *);
static void		db_params_free(struct dbq *);

void
db_register(const char *conninfo)
{
	db_conninfo = kore_strdup(conninfo);
	db_nconns = pgsql_conn_max > 0 ? pgsql_conn_max : 1;
	db_conns = kore_calloc((size_t)db_nconns, sizeof(*db_conns));
	/* A worker that replaces a dead one inherits its gauges. */
	metrics_db_reset();
}

void
db_start(struct http_request *req, struct dbq *q, const char *query,
    int n, const char *const *vals)
{
	db_start_bin(req, q, query, n, vals, NULL, NULL);
}

void
db_start_bin(struct http_request *req, struct dbq *q, const char *query,
    int n, const char *const *vals, const int *lens, const int *fmts)
{
	db_start_fmt(req, q, query, n, vals, lens, fmts, 0);
}

void
db_start_rbin(struct http_request *req, struct dbq *q, const char *query,
    int n, const char *const *vals)
{
	db_start_fmt(req, q, query, n, vals, NULL, NULL, DB_FL_RBIN);
}

void
db_start_group(struct http_request *req, struct dbq *q, const char *query,
    int n, const char *const *vals)
{
	db_start_fmt(req, q, query, n, vals, NULL, NULL,
	    DB_FL_RBIN | DB_FL_GROUP);
}

static void
db_start_fmt(struct http_request *req, struct dbq *q, const char *query,
    int n, const char *const *vals, const int *lens, const int *fmts,
    int flags)
{
	db_begin(q, req, NULL, query, n, vals, lens, fmts, flags);
	/* Asleep until its answer; a failure at once needs no wakeup. */
	if (q->outcome == 0)
		http_request_sleep(req);
}

void
db_send_cb(struct dbq *q, const char *query, int n,
    const char *const *vals)
{
	db_begin(q, NULL, q->done, query, n, vals, NULL, NULL, 0);
}

/*
 * A fresh start for q: its owner (a request to wake, or done to call),
 * the query and a copy of its parameters (NULL is SQL NULL), sent.
 */
static void
db_begin(struct dbq *q, struct http_request *req, void (*done)(struct dbq *),
    const char *query, int n, const char *const *vals, const int *lens,
    const int *fmts, int flags)
{
	int		i;

	if (n > DB_MAX_PARAMS)
		fatal("db_start: %d parameters", n);
	db_reset(q);
	q->req = req;
	q->done = done;
	q->rbin = (flags & DB_FL_RBIN) != 0;
	q->group = (flags & DB_FL_GROUP) != 0;
	q->query = query;
	q->nparams = n;
	for (i = 0; i < n; i++) {
		q->fmts[i] = fmts ? fmts[i] : 0;
		if (vals[i] == NULL) {
			q->vals[i] = NULL;
			q->lens[i] = 0;
			continue;
		}
		q->lens[i] = lens ? lens[i] : (int)strlen(vals[i]);
		q->vals[i] = kore_malloc((size_t)q->lens[i] + 1);
		memcpy(q->vals[i], vals[i], (size_t)q->lens[i]);
		q->vals[i][q->lens[i]] = '\0';
	}
	q->busy = 1;
	q->tries = 0;
	q->aborts = 0;
	q->outcome = 0;
	db_send(q);
}

/*
 * Onto a connection, or into the worker's FIFO for its kind when no
 * connection can take it now; a query that finds no connection up fails
 * as lost.
 */
static void
db_send(struct dbq *q)
{
	struct db_conn	*c;
	int		 full, id, ro;

	id = db_stmt_id(q->query);
	ro = id >= 0 ? db_stmts[id].ro : sql_readonly(q->query);
	if ((c = db_pick(&full, q->tries > 0, ro, q->group)) == NULL) {
		if (full && db_nwaiting < pgsql_queue_limit) {
			TAILQ_INSERT_TAIL(&db_waitq[ro], q, wait);
			q->waiting = 1 + ro;
			metrics_db_waiting(++db_nwaiting);
			return;
		}
		q->tries++;
		db_deliver(q, NULL);
		return;
	}
	q->tries++;
	if (!db_send_on(c, q, id, ro)) {
		db_down(c, PQerrorMessage(c->pg));
		db_deliver(q, NULL);
	}
}

/*
 * Parse if needed, the query (statement id, -1: unprepared); 0 when the
 * connection failed.  A write is followed by its own Sync at once: it is
 * its own transaction.  The reads sent in one turn of the event loop
 * share one Sync, sent by db_sync_all at the start of the next turn, so
 * that they cost PostgreSQL one read and its backend one wakeup; they
 * run in one implicit transaction (each with its own snapshot), and if
 * one fails the others come back aborted and are sent again.  A grouped
 * write rides the same way, on a connection of writes: the ones of a
 * turn are one transaction.
 */
static int
db_send_on(struct db_conn *c, struct dbq *q, int id, int ro)
{
	const char *const	*pv;
	struct db_unit		*u;
	char			 name[16];
	int			 ok, prep, grp;

	/*
	 * A read joins open reads and a grouped write an open group (gopen:
	 * its statements may be answered before its Sync goes, when libpq
	 * sent them early); anything else, and a Parse, starts a transaction
	 * (after a failure the rest of one is skipped: a Parse skipped would
	 * leave later statements without theirs).
	 */
	prep = id >= 0 && !(c->prepared[id / 8] & (1 << (id % 8))) ? id : -1;
	grp = !ro && q->group;
	if (c->open > 0 && (prep >= 0 || (ro ? c->gopen > 0 :
	    !grp || c->gopen == 0)) && !db_sync(c))
		return (0);
	pv = (const char *const *)q->vals;
	if (id >= 0) {
		(void)snprintf(name, sizeof(name), "e%d", id);
		ok = prep < 0 || PQsendPrepare(c->pg, name, q->query,
		    q->nparams, NULL);
		c->prepared[id / 8] |= 1 << (id % 8);
		ok = ok && PQsendQueryPrepared(c->pg, name, q->nparams, pv,
		    q->lens, q->fmts, q->rbin);
	} else {
		ok = PQsendQueryParams(c->pg, q->query, q->nparams, NULL, pv,
		    q->lens, q->fmts, q->rbin);
	}
	/* libpq 15's PQpipelineSync also flushes (nonblocking). */
	if (!ok || (!ro && !grp && !PQpipelineSync(c->pg)))
		return (0);
	u = db_unit_push(c);
	u->q = q;
	u->prep = prep;
	u->ro = ro;
	u->grp = grp;
	u->stmt = 1;
	u->cmds = prep >= 0 ? 2 : 1;
	c->nw += !ro;
	c->nq++;
	q->conn = c;
	q->slot = c->head + c->n - 1;
	metrics_db_busy(1);
	if (ro || grp) {
		c->open++;
		c->gopen += grp;
		if (!db_sync_armed) {
			db_sync_armed = 1;
			(void)kore_timer_add(db_sync_all, 0, NULL,
			    KORE_TIMER_ONESHOT);
		}
		return (1);
	}
	/* A write's answer counts once its Sync says it committed. */
	u->sync = 1;
	db_watch_write(c);
	return (1);
}


/* A timer at the start of the loop's next turn: every open read ends. */
static void
db_sync_all(void *arg, u_int64_t now)
{
	struct db_conn	*c;
	int		 i;

	(void)arg;
	(void)now;
	db_sync_armed = 0;
	for (i = 0; i < db_nconns; i++) {
		c = &db_conns[i];
		if (c->pg == NULL || c->open == 0)
			continue;
		if (db_sync(c))
			db_watch_write(c);
		else
			db_down(c, PQerrorMessage(c->pg));
	}
}

/*
 * Where a statement goes, or NULL: then *full says some connection is up
 * and the statement may wait for room.  Reads ride on the first
 * DB_PIPELINES (cfg.db_pipelines) connections that carry no write, the
 * one with the fewest in flight: a few deep pipelines keep few backends
 * runnable, which on a small machine is what bounds the tail.  A
 * statement that may wait for a row lock (anything but a plain SELECT,
 * sql_readonly) takes an idle connection, opened if need be, or waits
 * for one: it is never stacked behind another statement, so what a lock
 * holds up is that statement alone.  Writes hold at most all but
 * DB_PIPELINES connections (one at least): when every write waits on a
 * lock, the reads still have theirs.  A grouped write (grp) joins
 * the writes of this turn's group on a connection while it has room
 * (DB_GROUP), and else starts a group as a write does.  A resend
 * (fresh) trusts no connection opened before the last one failed: when
 * PostgreSQL restarts or ends every backend, the idle ones are dead too
 * and the worker may not have heard yet.
 */
static struct db_conn *
db_pick(int *full, int fresh, int ro, int grp)
{
	struct db_conn	*c, *rd, *idle, *closed, *open;
	int		 i, live, up, wr;

	rd = idle = closed = open = NULL;
	live = up = wr = 0;
	for (i = 0; i < db_nconns; i++) {
		c = &db_conns[i];
		if (c->pg == NULL) {
			if (closed == NULL)
				closed = c;
			continue;
		}
		if (fresh && c->opened < db_last_lost)
			continue;
		up++;
		wr += c->nw > 0;
		if (c->nq == 0 && idle == NULL)
			idle = c;
		if (grp && !ro && c->gopen > 0 && c->gopen < DB_GROUP)
			open = c;
		if (c->nw == 0 && live < cfg.db_pipelines) {
			live++;
			if (rd == NULL || c->nq < rd->nq)
				rd = c;
		}
	}
	*full = up > 0;
	if (ro && rd != NULL && rd->nq < DB_DEPTH &&
	    (rd->nq == 0 || live == cfg.db_pipelines))
		return (rd);
	if (open != NULL)
		return (open);
	if (!ro && wr >= MAX(db_nconns - cfg.db_pipelines, 1))
		return (NULL);
	if (idle != NULL)
		return (idle);
	/* After a failed connect, wait DB_RESET_MS before the next one. */
	if (closed != NULL && (db_last_fail == 0 ||
	    kore_time_ms() - db_last_fail >= DB_RESET_MS) && db_open(closed))
		return (closed);
	if (up == 0 && fresh)
		return (db_pick(full, 0, ro, grp));
	return (ro && rd != NULL && rd->nq < DB_DEPTH ? rd : NULL);
}

/* Connect (blocking, bounded by connect_timeout), into pipeline mode. */
static int
db_open(struct db_conn *c)
{
	int	fd, was;

	was = db_last_fail != 0;
	c->pg = PQconnectdb(db_conninfo);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK ||
	    PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg) ||
	    (fd = PQsocket(c->pg)) < 0) {
		kore_log(LOG_NOTICE, "db: cannot connect: %s",
		    c->pg ? PQerrorMessage(c->pg) : "out of memory");
		PQfinish(c->pg);
		c->pg = NULL;
		db_last_fail = kore_time_ms();
		return (0);
	}
	if (was) {
		kore_log(LOG_NOTICE, "db: connection re-established");
		db_last_fail = 0;
	}
	memset(c->prepared, 0, sizeof(c->prepared));
	c->opened = kore_time_ms();
	c->head = c->n = c->nq = c->nw = c->open = c->gopen = 0;
	c->nheld = 0;
	c->writing = 0;
	c->evt.type = KORE_TYPE_PGSQL_CONN;
	c->evt.flags = 0;
	c->evt.handle = db_event;
	kore_platform_event_schedule(fd, EPOLLIN | EPOLLRDHUP, 0, &c->evt);
	return (1);
}

/* The connection is gone: what it had in flight fails (or is resent). */
void
db_down(struct db_conn *c, const char *why)
{
	struct dbq	*lost[DB_RING + DB_GROUP], *q;
	PGresult	*res;
	int		 i, n;

	if (c->pg == NULL)
		return;
	kore_log(LOG_NOTICE, "db: connection lost: %s", why ? why : "?");
	db_last_lost = kore_time_ms();
	/* Closing the socket takes it out of epoll. */
	PQfinish(c->pg);
	c->pg = NULL;
	/* Emptied before anyone is resent: a resend may reopen c. */
	for (n = 0; c->n > 0; ) {
		if ((q = db_unit_pop(c, &res)) != NULL)
			lost[n++] = q;
		PQclear(res);
	}
	/* Answered, but whether they committed is not known: sent again. */
	for (i = 0; i < (int)c->nheld; i++) {
		if ((q = c->held[i].q) != NULL) {
			q->conn = NULL;
			q->held = 0;
			lost[n++] = q;
		}
		PQclear(c->held[i].res);
	}
	c->nheld = 0;
	for (i = 0; i < n; i++)
		db_deliver(lost[i], NULL);
}

static void
db_event(void *arg, int err)
{
	struct db_conn	*c = arg;
	int		 ok;

	if (c->pg == NULL)
		return;
	ok = !err && (!c->writing || PQflush(c->pg) != -1);
	/*
	 * Even when the connection is closing, what it sent before is read
	 * and handed out first: a statement whose answer came must not be
	 * sent again (a write would run twice).
	 */
	if (!PQconsumeInput(c->pg))
		ok = 0;
	/* Dropped there, c may already be a fresh connection. */
	if (!db_results(c)) {
		db_serve_waiting();
		return;
	}
	if (c->pg != NULL && (!ok || PQstatus(c->pg) == CONNECTION_BAD))
		db_down(c, err ? "connection closed" : PQerrorMessage(c->pg));
	/* Open reads wait for their Sync (db_sync_all). */
	if (c->pg != NULL && c->open == 0)
		db_watch_write(c);
	db_serve_waiting();
}


/*
 * The query's answer: kept for its owner, or sent once more when it was
 * the connection that failed.  Wakes the request or calls done.
 */
void
db_deliver(struct dbq *q, PGresult *res)
{
	const char	*st;
	int		 ok;

	if (q->res != NULL)
		PQclear(q->res);
	q->res = res;
	q->sqlstate[0] = '\0';
	q->constraint[0] = '\0';
	ok = db_res_ok(res);
	if (!ok && res != NULL) {
		if ((st = PQresultErrorField(res, PG_DIAG_SQLSTATE)) != NULL)
			(void)kore_strlcpy(q->sqlstate, st, sizeof(q->sqlstate));
		if ((st = PQresultErrorField(res,
		    PG_DIAG_CONSTRAINT_NAME)) != NULL)
			(void)kore_strlcpy(q->constraint, st,
			    sizeof(q->constraint));
	}
	/*
	 * Another statement of its transaction failed, or PostgreSQL chose
	 * its transaction as a deadlock's victim: it never happened.
	 */
	if (res != NULL && (PQresultStatus(res) == PGRES_PIPELINE_ABORTED ||
	    !strcmp(q->sqlstate, "40P01")) && q->aborts < DB_ABORTS) {
		q->aborts++;
		q->tries--;
		metrics_db_count(METRICS_DB_RESENT, 1);
		db_send(q);
		return;
	}
	q->lost = !ok && db_state_lost(q->sqlstate);
	if (q->lost && q->tries < DB_TRIES) {
		kore_log(LOG_NOTICE, "db: retrying after: %s",
		    res ? PQresultErrorMessage(res) : "lost connection");
		db_send(q);
		return;
	}
	if (!ok) {
		if (q->lost)
			metrics_db_count(METRICS_DB_ERROR, 1);
		kore_log(LOG_NOTICE, "db error [%s]: %s", q->sqlstate,
		    res ? PQresultErrorMessage(res) : "no connection");
	}
	q->outcome = ok ? DB_OK : DB_FAIL;
	db_params_free(q);
	if (q->req != NULL)
		http_request_wakeup(q->req);
	else if (q->done != NULL)
		q->done(q);
}

/* Room again: send the oldest waiters of each kind that can go. */
static void
db_serve_waiting(void)
{
	struct dbq	*q;
	int		 full, ro;

	for (ro = 0; ro < 2; ro++) {
		while ((q = TAILQ_FIRST(&db_waitq[ro])) != NULL) {
			if (db_pick(&full, 0, ro, q->group) == NULL && full)
				break;
			TAILQ_REMOVE(&db_waitq[ro], q, wait);
			q->waiting = 0;
			metrics_db_waiting(--db_nwaiting);
			db_send(q);
		}
	}
}

/* The statement's index, registering it on first sight; -1 when full. */
static int
db_stmt_id(const char *query)
{
	const unsigned char	*p;
	u_int32_t		h;
	int			i;

	h = 2166136261u;
	for (p = (const unsigned char *)query; *p != '\0'; p++)
		h = (h ^ *p) * 16777619u;
	for (i = 0; i < db_nstmts; i++) {
		if (db_stmts[i].query == query && db_stmts[i].hash == h)
			return (i);
	}
	if (db_nstmts == DB_STMT_MAX)
		return (-1);
	db_stmts[db_nstmts].query = query;
	db_stmts[db_nstmts].hash = h;
	db_stmts[db_nstmts].ro = sql_readonly(query);
	return (db_nstmts++);
}

/* Out of the line and off its connection: its owner is going away. */
void
db_unqueue(struct dbq *q)
{
	if (q->waiting) {
		TAILQ_REMOVE(&db_waitq[q->waiting - 1], q, wait);
		q->waiting = 0;
		metrics_db_waiting(--db_nwaiting);
	}
	if (q->held) {
		q->conn->held[q->held - 1].q = NULL;
		q->held = 0;
	} else if (q->conn != NULL)
		q->conn->ring[q->slot & (DB_RING - 1)].q = NULL;
	q->conn = NULL;
	q->req = NULL;
	q->done = NULL;
}

void
db_reset(struct dbq *q)
{
	db_unqueue(q);
	if (q->res != NULL) {
		PQclear(q->res);
		q->res = NULL;
	}
	db_params_free(q);
	q->sqlstate[0] = '\0';
	q->constraint[0] = '\0';
	q->lost = 0;
	q->busy = 0;
	q->outcome = 0;
}

static void
db_params_free(struct dbq *q)
{
	int		i;

	for (i = 0; i < q->nparams; i++) {
		kore_free(q->vals[i]);
		q->vals[i] = NULL;
	}
	q->nparams = 0;
}
