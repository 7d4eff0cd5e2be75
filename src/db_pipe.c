/*
 * The ring of a connection (db_pipe.h): statements and Syncs pushed as
 * they are sent, popped as their answers come, and the answers handed to
 * their queries (db.c's db_deliver), a group's at its Sync.
 */
#include <sys/epoll.h>

#include <string.h>

#include "db_pipe.h"

#include "metrics.h"

static void		db_unit_done(struct db_conn *);
static void		db_release(struct db_conn *);
static int		db_res_lost(const PGresult *);

/* The next place on c's ring, blank. */
struct db_unit *
db_unit_push(struct db_conn *c)
{
	struct db_unit	*u;

	if (c->n >= DB_RING)
		fatal("db: more than %d in flight", DB_RING);
	u = &c->ring[(c->head + c->n) & (DB_RING - 1)];
	u->q = NULL;
	u->res = NULL;
	u->sent = kore_time_ms();
	u->prep = -1;
	u->ro = 1;
	u->grp = 0;
	u->stmt = 0;
	u->cmds = 0;
	u->sync = 0;
	c->n++;
	return (u);
}

/* The Sync that ends c's open reads or group; 0 when c failed. */
int
db_sync(struct db_conn *c)
{
	if (!PQpipelineSync(c->pg))
		return (0);
	c->open = c->gopen = 0;
	db_unit_push(c)->sync = 1;
	return (1);
}
/*
 * Hand out the results that have arrived, oldest statement first.  Each
 * command (a Parse, a query) ends with a NULL from PQgetResult, a Sync
 * with a result of its own.  A read is answered when its query ends, a
 * write when its Sync confirms the commit.  A result where the ring
 * expects none means the two disagree: the connection is dropped rather
 * than an answer given to the wrong statement.  0 when c was dropped.
 */
int
db_results(struct db_conn *c)
{
	struct db_unit	*u;
	PGresult	*res;
	int		 i, nulls, st;

	nulls = 0;
	/* Bounded: a broken connection must not keep the loop here. */
	for (i = 0; i < DB_RING * 8 && c->pg != NULL && c->n > 0 &&
	    !PQisBusy(c->pg); i++) {
		u = &c->ring[c->head & (DB_RING - 1)];
		if ((res = PQgetResult(c->pg)) == NULL) {
			/* Only the Sync is due, and it is still on its way. */
			if (u->cmds == 0) {
				if (++nulls > 2)
					break;
				continue;
			}
			nulls = 0;
			/* The connection is going: db_down sends it again. */
			if (u->cmds == 1 && !u->sync && db_res_lost(u->res)) {
				db_down(c, PQerrorMessage(c->pg));
				return (0);
			}
			if (--u->cmds == 0 && !u->sync)
				db_unit_done(c);
			continue;
		}
		nulls = 0;
		st = PQresultStatus(res);
		if ((st == PGRES_PIPELINE_SYNC) != (u->cmds == 0)) {
			db_down(c, db_res_lost(res) ? PQresultErrorMessage(res) :
			    "pipeline out of step");
			PQclear(res);
			return (0);
		}
		if (st == PGRES_PIPELINE_SYNC) {
			PQclear(res);
			db_unit_done(c);
			continue;
		}
		/* Its Parse went through: nothing to undo. */
		if (u->prep >= 0 && u->cmds == 2 && st == PGRES_COMMAND_OK) {
			u->prep = -1;
			PQclear(res);
			continue;
		}
		/* The first error stands; else the last result (the query's). */
		if (u->res != NULL &&
		    PQresultStatus(u->res) == PGRES_FATAL_ERROR) {
			PQclear(res);
			continue;
		}
		if (u->res != NULL)
			PQclear(u->res);
		u->res = res;
	}
	return (1);
}

/* No answer, or one that says the connection failed (not the query). */
static int
db_res_lost(const PGresult *res)
{
	return (res == NULL || (PQresultStatus(res) == PGRES_FATAL_ERROR &&
	    db_state_lost(PQresultErrorField(res, PG_DIAG_SQLSTATE))));
}

/* No SQLSTATE (libpq's own error), a connection or operator one. */
int
db_state_lost(const char *st)
{
	return (st == NULL || st[0] == '\0' || !strncmp(st, "08", 2) ||
	    !strncmp(st, "57P", 3));
}

/* The oldest off c's ring, done: its answer to its query, if any. */
static void
db_unit_done(struct db_conn *c)
{
	struct db_unit	*u = &c->ring[c->head & (DB_RING - 1)];
	struct dbq	*q;
	PGresult	*res;
	int		 grp, sync;

	grp = u->grp;
	sync = !u->stmt;
	q = db_unit_pop(c, &res);
	if (grp) {
		/* Answered with its group, at the Sync (db_release). */
		if (c->nheld == DB_GROUP)
			fatal("db: more than %d in a group", DB_GROUP);
		c->held[c->nheld].q = q;
		c->held[c->nheld++].res = res;
		if (q != NULL) {
			q->conn = c;
			q->held = c->nheld;
		}
		return;
	}
	if (q != NULL)
		db_deliver(q, res);
	else
		PQclear(res);
	if (sync && c->nheld > 0)
		db_release(c);
}

/*
 * A group's Sync came: it committed when every statement went through.
 * Else the failed statement has its error, and the others never
 * happened: those after it came back aborted, and those before it were
 * rolled back with it.  Both are sent again (db_deliver), each on its
 * own this time, so that a statement that fails cannot take the same
 * others down with it twice.
 */
static void
db_release(struct db_conn *c)
{
	struct db_held	 h[DB_GROUP];
	u_int32_t	 i, n;
	int		 failed;

	n = c->nheld;
	memcpy(h, c->held, n * sizeof(h[0]));
	c->nheld = 0;
	failed = 0;
	for (i = 0; i < n; i++)
		failed |= !db_res_ok(h[i].res);
	if (!failed) {
		metrics_db_count(METRICS_DB_GROUP, 1);
		metrics_db_count(METRICS_DB_GROUPED, n);
	}
	for (i = 0; i < n; i++) {
		if (h[i].q == NULL) {
			PQclear(h[i].res);
			continue;
		}
		h[i].q->conn = NULL;
		h[i].q->held = 0;
		h[i].q->group = !failed;
		if (failed && db_res_ok(h[i].res)) {
			PQclear(h[i].res);
			h[i].res = PQmakeEmptyPGresult(NULL,
			    PGRES_PIPELINE_ABORTED);
		}
		db_deliver(h[i].q, h[i].res);
	}
}

int
db_res_ok(const PGresult *res)
{
	return (res != NULL && (PQresultStatus(res) == PGRES_TUPLES_OK ||
	    PQresultStatus(res) == PGRES_COMMAND_OK));
}

/*
 * The oldest statement off c's ring: its query (NULL if abandoned),
 * detached, and its result in *res.
 */
struct dbq *
db_unit_pop(struct db_conn *c, PGresult **res)
{
	struct db_unit	*u = &c->ring[c->head & (DB_RING - 1)];
	struct dbq	*q = u->q;

	*res = u->res;
	u->q = NULL;
	u->res = NULL;
	c->head++;
	c->n--;
	if (!u->stmt)
		return (NULL);
	c->nq--;
	if (!u->ro)
		c->nw--;
	metrics_db_busy(-1);
	/* A statement that failed to prepare is prepared again next time. */
	if (u->prep >= 0)
		c->prepared[u->prep / 8] &= ~(1 << (u->prep % 8));
	if (q != NULL)
		q->conn = NULL;
	return (q);
}
/* Wait for the socket to take the rest when libpq could not send it all. */
void
db_watch_write(struct db_conn *c)
{
	int	more, fd;

	more = PQflush(c->pg);
	if (more == -1) {
		db_down(c, PQerrorMessage(c->pg));
		return;
	}
	if (more == c->writing)
		return;
	c->writing = more;
	fd = PQsocket(c->pg);
	kore_platform_event_schedule(fd,
	    EPOLLIN | EPOLLRDHUP | (more ? EPOLLOUT : 0), 0, &c->evt);
}
