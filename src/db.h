/*
 * One way to reach the database: a query slot bound to a request (or to
 * a callback, dbcb.h), sent on one of the worker's own pipelined
 * connections, with one retry on a stale connection and the result kept
 * until the next query or the end of the request.
 */
#ifndef ELENCHUS_DB_H
#define ELENCHUS_DB_H

#include <sys/queue.h>

#include <kore/kore.h>
#include <kore/http.h>
#include <libpq-fe.h>

#define DB_NAME			"db"
#define DB_MAX_PARAMS		32

enum db_status {
	DB_WAIT = 0,	/* the request sleeps; return KORE_RESULT_RETRY */
	DB_OK,		/* result ready (db_rows, db_val) */
	DB_FAIL,	/* see db_unavailable / db_sqlstate */
};

struct db_conn;

struct dbq {
	struct http_request	*req;		/* woken when done, or */
	void			(*done)(struct dbq *);	/* called */
	struct db_conn		*conn;		/* in flight on */
	u_int32_t		slot;		/* its place there */
	int			waiting;	/* in a worker's FIFO: 1 + ro */
	TAILQ_ENTRY(dbq)	wait;
	int			busy;
	int			tries;
	int			aborts;		/* sent again after another failed */
	int			lost;
	int			outcome;	/* DB_OK / DB_FAIL once done */
	int			rbin;		/* results in binary */
	int			group;		/* may share a transaction */
	int			held;		/* 1 + its place in a group */
	const char		*query;
	int			nparams;
	char			*vals[DB_MAX_PARAMS];
	int			lens[DB_MAX_PARAMS];
	int			fmts[DB_MAX_PARAMS];
	PGresult		*res;
	char			sqlstate[6];
	char			constraint[64];	/* violated, if any */
};

/*
 * Start a query for req.  Parameters are text (NULL is SQL NULL), copied.
 * Then call db_poll from the handler each time it runs until it answers
 * DB_OK or DB_FAIL.
 */
void		 db_start(struct http_request *, struct dbq *, const char *,
		    int, const char *const *);
void		 db_start_bin(struct http_request *, struct dbq *,
		    const char *, int, const char *const *, const int *,
		    const int *);
/*
 * As db_start, with every result column in PostgreSQL's binary send
 * format (uuid: 16 bytes, int8 and timestamptz: 8 bytes big-endian,
 * the latter microseconds since 2000, bool: 1 byte, text: the bytes);
 * read them with db_int8, db_bool, db_uuid and db_val / db_len.
 */
void		 db_start_rbin(struct http_request *, struct dbq *,
		    const char *, int, const char *const *);
/*
 * As db_start_rbin, for an INSERT that takes no lock another statement
 * can hold for long: it may share one transaction (one commit) with the
 * others like it that the worker sends in the same turn of its loop.
 * Each is still answered on its own; when one fails, the others of its
 * transaction are sent again, as if they had come a moment later.
 */
void		 db_start_group(struct http_request *, struct dbq *,
		    const char *, int, const char *const *);
int		 db_poll(struct http_request *, struct dbq *);
void		 db_reset(struct dbq *);
void		 db_unqueue(struct dbq *);

int		 db_rows(const struct dbq *);
const char	*db_val(const struct dbq *, int, int);
int		 db_len(const struct dbq *, int, int);
int		 db_isnull(const struct dbq *, int, int);
int64_t		 db_int8(const struct dbq *, int, int);
int		 db_bool(const struct dbq *, int, int);
/* The uuid at (row, col) in text form into out; 0 if NULL or not one. */
int		 db_uuid(const struct dbq *, int, int, char [37]);
/* A binary timestamptz as microseconds since 1970. */
#define DB_TS_UNIX(v)	((v) + 946684800000000LL)
int		 db_unavailable(const struct dbq *);
int		 db_sqlstate_is(const struct dbq *, const char *);
/* The constraint a failed statement violated is name (e.g. a unique). */
int		 db_constraint_is(const struct dbq *, const char *);

/* Send an unbound query (q->done set, q->req NULL); done runs once. */
void		 db_send_cb(struct dbq *, const char *, int,
		    const char *const *);

void		 db_register(const char *);

#endif
