/*
 * Asynchronous queries on Kore's pgsql layer.  Kore wakes the request
 * when the connection is readable; db_poll walks the pgsql states, keeps
 * the PGresult for the handler and gives the connection back.  A query
 * that fails because its connection died (PostgreSQL restarted) is sent
 * once more on a fresh connection before the handler sees a failure.
 */
#include <string.h>

#include "db.h"
#include "metrics.h"

#define DB_TRIES		2

static int	db_send(struct http_request *, struct dbq *);
static void	db_params_free(struct dbq *);

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
	(void)db_send(req, q);
}

/* Set up the pgsql and send; 0 when queued for a connection. */
static int
db_send(struct http_request *req, struct dbq *q)
{
	const char	*pv[DB_MAX_PARAMS];
	int		i;

	kore_pgsql_cleanup(&q->sql);
	kore_pgsql_init(&q->sql);
	kore_pgsql_bind_request(&q->sql, req);
	q->sent = 0;
	q->tries++;

	if (!kore_pgsql_setup(&q->sql, DB_NAME, KORE_PGSQL_ASYNC)) {
		/* INIT means Kore queued us until a connection frees up. */
		if (q->sql.state == KORE_PGSQL_STATE_INIT)
			return (0);
		q->lost = 1;
		return (0);
	}
	for (i = 0; i < q->nparams; i++)
		pv[i] = q->vals[i];
	if (!kore_pgsql_query_param_fields(&q->sql, q->query, 0, q->nparams,
	    pv, q->lens, q->fmts)) {
		q->lost = q->sql.conn == NULL ||
		    PQstatus(q->sql.conn->db) == CONNECTION_BAD;
		return (0);
	}
	q->sent = 1;
	return (1);
}

int
db_poll(struct http_request *req, struct dbq *q)
{
	const char	*st;

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
			kore_pgsql_cleanup(&q->sql);
			kore_pgsql_init(&q->sql);
			q->busy = 0;
			db_params_free(q);
			return (DB_OK);
		case KORE_PGSQL_STATE_ERROR:
		default:
			q->sqlstate[0] = '\0';
			if (q->sql.result != NULL &&
			    (st = PQresultErrorField(q->sql.result,
			    PG_DIAG_SQLSTATE)) != NULL)
				(void)kore_strlcpy(q->sqlstate, st,
				    sizeof(q->sqlstate));
			q->lost = q->sqlstate[0] == '\0' ||
			    !strncmp(q->sqlstate, "08", 2) ||
			    !strncmp(q->sqlstate, "57P", 3);
			if (q->sql.conn != NULL &&
			    PQstatus(q->sql.conn->db) == CONNECTION_BAD)
				q->lost = 1;
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
			kore_pgsql_cleanup(&q->sql);
			kore_pgsql_init(&q->sql);
			q->busy = 0;
			db_params_free(q);
			return (DB_FAIL);
		}
	}
}

void
db_reset(struct dbq *q)
{
	if (q->res != NULL) {
		PQclear(q->res);
		q->res = NULL;
	}
	db_params_free(q);
	q->sqlstate[0] = '\0';
	q->lost = 0;
	q->busy = 0;
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
