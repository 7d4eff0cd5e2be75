/*
 * Asynchronous queries on Kore's pgsql layer.  Kore wakes the request
 * when the connection is readable; db_poll walks the pgsql states, keeps
 * the PGresult for the handler and gives the connection back.  A query
 * that fails because its connection died (PostgreSQL restarted) is sent
 * once more on a fresh connection before the handler sees a failure.
 *
 * Statements are prepared: planning costs more than executing the small
 * queries the API makes (pgbench on the single-todo SELECT: ~3x the
 * rate prepared).  Kore 4.1 has no prepared-statement API, so the first
 * use of a statement on a connection prepares it with a blocking
 * PQprepare (one local round trip, once per connection and statement),
 * then every use sends PQsendQueryPrepared and schedules the read exactly
 * as Kore's static pgsql_schedule does.  Queries must be static strings:
 * a statement is known by its address and a hash of its text.
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "metrics.h"

/* Kore keeps it, per worker, without declaring it in a header. */
extern u_int32_t	pgsql_queue_count;

#define DB_TRIES		2
#define DB_STMT_MAX		512
#define DB_RESET_MS		250
#define DB_PREP_SLOTS		8192	/* power of two */

struct db_stmt {
	const char	*query;
	u_int32_t	hash;
};

struct db_prep {
	const PGconn	*conn;
	int		pid;
	int		id;		/* index in db_stmts + 1; 0 = empty */
};

static struct db_stmt	db_stmts[DB_STMT_MAX];
static int		db_nstmts;
static struct db_prep	*db_preps;
static int		db_npreps;
TAILQ_HEAD(db_waitq, dbq);
static struct db_waitq	db_waitq = TAILQ_HEAD_INITIALIZER(db_waitq);

static int	db_stmt_id(const char *);
static int	db_prepare(PGconn *, int, const struct dbq *);
static void	db_schedule(struct http_request *, struct dbq *);

static int	db_send(struct http_request *, struct dbq *);
static int	db_send_query(struct http_request *, struct dbq *);
static void	db_enqueue(struct dbq *);
static void	db_failed(struct dbq *);
static int	db_finish(struct dbq *, int);
static void	db_params_free(struct dbq *);
static void	db_wake_head(void);
static void	db_uncount(struct dbq *);

void
db_register(const char *conninfo)
{
	if (!kore_pgsql_register(DB_NAME, conninfo))
		fatal("cannot register database");
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
	int		i;

	if (n > DB_MAX_PARAMS)
		fatal("db_start: %d parameters", n);
	db_reset(q);

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
	q->outcome = 0;
	(void)db_send(req, q);
}

/* Set up the pgsql and send; 0 when queued for a connection. */
static int
db_send(struct http_request *req, struct dbq *q)
{
	kore_pgsql_cleanup(&q->sql);
	kore_pgsql_init(&q->sql);
	kore_pgsql_bind_request(&q->sql, req);
	q->sent = 0;

	/* Behind whoever waits already (woken by Kore out of turn too). */
	q->req = req;
	if (!TAILQ_EMPTY(&db_waitq) && TAILQ_FIRST(&db_waitq) != q) {
		db_enqueue(q);
		db_wake_head();
		http_request_sleep(req);
		return (0);
	}
	q->tries++;

	if (!kore_pgsql_setup(&q->sql, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* INIT means Kore queued us until a connection frees up. */
		if (q->sql.state == KORE_PGSQL_STATE_INIT) {
			q->tries--;
			db_enqueue(q);
			metrics_db_waiting(pgsql_queue_count);
			return (0);
		}
		db_unqueue(q);
		q->lost = 1;
		return (0);
	}
	/* Served: the next in line may find a connection free too. */
	if (q->waiting) {
		db_unqueue(q);
		db_wake_head();
	}
	if (!db_conn_usable(&q->sql)) {
		q->lost = 1;
		q->sql.state = KORE_PGSQL_STATE_ERROR;
		return (0);
	}
	if (!db_send_query(req, q))
		return (0);
	q->sent = 1;
	if (!q->counted) {
		q->counted = 1;
		metrics_db_busy(1);
	}
	metrics_db_waiting(pgsql_queue_count);
	return (1);
}

/* Into the worker's FIFO for a connection, once. */
static void
db_enqueue(struct dbq *q)
{
	if (q->waiting)
		return;
	TAILQ_INSERT_TAIL(&db_waitq, q, wait);
	q->waiting = 1;
}

/*
 * Send q's statement on the connection q->sql holds: prepared when it
 * can be, else through Kore.  0 on failure (q->lost when the connection
 * is gone).
 */
static int
db_send_query(struct http_request *req, struct dbq *q)
{
	const char	*pv[DB_MAX_PARAMS];
	PGconn		*conn;
	char		name[16];
	int		i, id;

	for (i = 0; i < q->nparams; i++)
		pv[i] = q->vals[i];
	conn = q->sql.conn->db;
	if ((id = db_stmt_id(q->query)) >= 0 && db_prepare(conn, id, q)) {
		(void)snprintf(name, sizeof(name), "e%d", id);
		if (!PQsendQueryPrepared(conn, name, q->nparams, pv, q->lens,
		    q->fmts, 0)) {
			q->lost = PQstatus(conn) == CONNECTION_BAD;
			q->sql.state = KORE_PGSQL_STATE_ERROR;
			return (0);
		}
		db_schedule(req, q);
	} else if (!kore_pgsql_query_param_fields(&q->sql, q->query, 0,
	    q->nparams, pv, q->lens, q->fmts)) {
		q->lost = q->sql.conn == NULL ||
		    PQstatus(q->sql.conn->db) == CONNECTION_BAD;
		return (0);
	}
	return (1);
}

/*
 * A pooled connection whose server went away stays in Kore's pool as
 * CONNECTION_BAD when it was idle (Kore notices only on a scheduled
 * read), failing every query sent on it.  Reconnect it in place, at most
 * once per DB_RESET_MS per worker: a blocking connect, bounded by
 * connect_timeout, and immediate when the server refuses.
 */
int
db_conn_usable(struct kore_pgsql *sql)
{
	static u_int64_t	last;
	u_int64_t		now;
	PGconn			*conn;

	if (sql->conn == NULL)
		return (0);
	conn = sql->conn->db;
	if (PQstatus(conn) == CONNECTION_OK)
		return (1);
	now = kore_time_ms();
	if (now - last < DB_RESET_MS)
		return (0);
	last = now;
	PQreset(conn);
	if (PQstatus(conn) != CONNECTION_OK)
		return (0);
	kore_log(LOG_NOTICE, "db: connection re-established");
	return (1);
}

/* What Kore's static pgsql_schedule does after a send. */
static void
db_schedule(struct http_request *req, struct dbq *q)
{
	int		fd;

	if ((fd = PQsocket(q->sql.conn->db)) < 0)
		fatal("PQsocket returned < 0 fd on open connection");
	kore_platform_schedule_read(fd, q->sql.conn);
	q->sql.state = KORE_PGSQL_STATE_WAIT;
	q->sql.flags |= KORE_PGSQL_SCHEDULED;
	http_request_sleep(req);
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
	return (db_nstmts++);
}

/* Is statement id prepared on conn?  If not, prepare it (blocking). */
static int
db_prepare(PGconn *conn, int id, const struct dbq *q)
{
	PGresult	*res;
	const char	*st;
	char		name[16];
	size_t		h;
	int		pid, ok;

	if (db_preps == NULL)
		db_preps = kore_calloc(DB_PREP_SLOTS, sizeof(*db_preps));
	pid = PQbackendPID(conn);
	h = (((size_t)conn >> 4) * 31 + (size_t)pid * 7 + (size_t)id) &
	    (DB_PREP_SLOTS - 1);
	for (; db_preps[h].id != 0; h = (h + 1) & (DB_PREP_SLOTS - 1)) {
		if (db_preps[h].conn == conn && db_preps[h].pid == pid &&
		    db_preps[h].id == id + 1)
			return (1);
	}

	(void)snprintf(name, sizeof(name), "e%d", id);
	res = PQprepare(conn, name, q->query, q->nparams, NULL);
	st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	/* 42P05: prepared before we last forgot (see below). */
	ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    (st != NULL && !strcmp(st, "42P05"));
	PQclear(res);
	if (!ok)
		return (0);

	/* Full: forget everything; statements get prepared again. */
	if ((db_npreps + 1) * 2 > DB_PREP_SLOTS) {
		memset(db_preps, 0, DB_PREP_SLOTS * sizeof(*db_preps));
		db_npreps = 0;
		return (1);
	}
	db_preps[h].conn = conn;
	db_preps[h].pid = pid;
	db_preps[h].id = id + 1;
	db_npreps++;
	return (1);
}

int
db_poll(struct http_request *req, struct dbq *q)
{
	/* Finished: the same answer again (callers may poll twice). */
	if (!q->busy && q->outcome != 0)
		return (q->outcome);

	for (;;) {
		switch (q->sql.state) {
		case KORE_PGSQL_STATE_INIT:
			if (db_send(req, q) == 0 &&
			    q->sql.state == KORE_PGSQL_STATE_INIT)
				return (DB_WAIT);
			continue;
		case KORE_PGSQL_STATE_WAIT:
			return (DB_WAIT);
		case KORE_PGSQL_STATE_RESULT:
			if (q->res != NULL)
				PQclear(q->res);
			q->res = q->sql.result;
			q->sql.result = NULL;
			kore_pgsql_continue(&q->sql);
			continue;
		case KORE_PGSQL_STATE_DONE:
			kore_pgsql_continue(&q->sql);
			continue;
		case KORE_PGSQL_STATE_COMPLETE:
			return (db_finish(q, DB_OK));
		case KORE_PGSQL_STATE_ERROR:
		default:
			db_failed(q);
			if (q->lost && q->tries < DB_TRIES) {
				kore_log(LOG_NOTICE, "db: retrying after: %s",
				    q->sql.error ? q->sql.error : "?");
				(void)db_send(req, q);
				continue;
			}
			if (q->lost)
				metrics_db_error();
			kore_log(LOG_NOTICE, "db error [%s]: %s", q->sqlstate,
			    q->sql.error ? q->sql.error : "unknown");
			return (db_finish(q, DB_FAIL));
		}
	}
}

/* What failed: the SQLSTATE and constraint, and whether it was the link. */
static void
db_failed(struct dbq *q)
{
	const char	*st;

	q->sqlstate[0] = '\0';
	q->constraint[0] = '\0';
	if (q->sql.result != NULL && (st = PQresultErrorField(q->sql.result,
	    PG_DIAG_SQLSTATE)) != NULL)
		(void)kore_strlcpy(q->sqlstate, st, sizeof(q->sqlstate));
	if (q->sql.result != NULL && (st = PQresultErrorField(q->sql.result,
	    PG_DIAG_CONSTRAINT_NAME)) != NULL)
		(void)kore_strlcpy(q->constraint, st, sizeof(q->constraint));
	q->lost = q->sqlstate[0] == '\0' || !strncmp(q->sqlstate, "08", 2) ||
	    !strncmp(q->sqlstate, "57P", 3);
	if (q->sql.conn != NULL && PQstatus(q->sql.conn->db) == CONNECTION_BAD)
		q->lost = 1;
}

/* Give the connection back; the query's outcome is final. */
static int
db_finish(struct dbq *q, int outcome)
{
	kore_pgsql_cleanup(&q->sql);
	kore_pgsql_init(&q->sql);
	db_wake_head();
	q->busy = 0;
	q->outcome = outcome;
	db_uncount(q);
	db_params_free(q);
	return (outcome);
}

/* Out of the line (served, failed, or its request is going away). */
void
db_unqueue(struct dbq *q)
{
	int		head;

	if (!q->waiting)
		return;
	head = TAILQ_FIRST(&db_waitq) == q;
	TAILQ_REMOVE(&db_waitq, q, wait);
	q->waiting = 0;
	if (head)
		db_wake_head();
}

/* Let the oldest waiter try for a connection on the next pass. */
static void
db_wake_head(void)
{
	struct dbq	*h;

	if ((h = TAILQ_FIRST(&db_waitq)) != NULL && h->req != NULL)
		http_request_wakeup(h->req);
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
	db_uncount(q);
}

/* The query no longer holds a connection (done, failed or dropped). */
static void
db_uncount(struct dbq *q)
{
	if (q->counted) {
		q->counted = 0;
		metrics_db_busy(-1);
	}
}

int
db_rows(const struct dbq *q)
{
	return (q->res ? PQntuples(q->res) : 0);
}

const char *
db_val(const struct dbq *q, int row, int col)
{
	if (q->res == NULL || PQgetisnull(q->res, row, col))
		return (NULL);
	return (PQgetvalue(q->res, row, col));
}

int
db_len(const struct dbq *q, int row, int col)
{
	return (q->res ? PQgetlength(q->res, row, col) : 0);
}

int
db_isnull(const struct dbq *q, int row, int col)
{
	return (q->res == NULL || PQgetisnull(q->res, row, col));
}

int
db_unavailable(const struct dbq *q)
{
	return (q->lost);
}

int
db_sqlstate_is(const struct dbq *q, const char *state)
{
	return (!strcmp(q->sqlstate, state));
}

int
db_constraint_is(const struct dbq *q, const char *name)
{
	return (!strcmp(q->constraint, name));
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
