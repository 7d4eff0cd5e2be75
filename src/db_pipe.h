/*
 * A connection's pipeline, shared by db.c (what is sent, to which
 * connection) and db_pipe.c (the ring of what is in flight, in the order
 * the answers come, and the reading of those answers).
 */
#ifndef ELENCHUS_DB_PIPE_H
#define ELENCHUS_DB_PIPE_H

#include "db.h"

#define DB_STMT_MAX		512
#define DB_RING			128	/* power of two, >= 2 * DB_DEPTH */
#define DB_GROUP		16	/* grouped writes in one transaction */

/*
 * What a connection has in flight, in the order of its answers: a
 * statement (its query, NULL once abandoned, and result) or a Sync.
 */
struct db_unit {
	struct dbq	*q;
	PGresult	*res;
	u_int64_t	sent;		/* ms */
	int		prep;		/* statement it is preparing, or -1 */
	int		ro;		/* a read (sql_readonly) */
	int		grp;		/* a grouped write (db_start_group) */
	int		stmt;		/* a statement (else a lone Sync) */
	int		cmds;		/* its commands whose end is due */
	int		sync;		/* then a Sync is due */
};

struct db_conn {
	struct kore_event	evt;		/* Kore hands its address back */
	PGconn			*pg;
	int			writing;	/* EPOLLOUT armed */
	u_int64_t		opened;		/* ms */
	u_int32_t		head;		/* oldest unit in flight */
	u_int32_t		n;		/* units in flight */
	u_int32_t		nq;		/* of which statements */
	u_int32_t		nw;		/* of which may wait for a lock */
	u_int32_t		open;		/* reads (or a group's writes)
						   sent since the last Sync */
	u_int32_t		gopen;		/* of which grouped writes */
	u_int32_t		nheld;		/* answered, their Sync due */
	struct db_held {
		struct dbq	*q;
		PGresult	*res;
	}			held[DB_GROUP];
	struct db_unit		ring[DB_RING];
	u_int8_t		prepared[DB_STMT_MAX / 8];
};


/* db_pipe.c */
struct db_unit	*db_unit_push(struct db_conn *);
int		 db_sync(struct db_conn *);
int		 db_results(struct db_conn *);
struct dbq	*db_unit_pop(struct db_conn *, PGresult **);
int		 db_res_ok(const PGresult *);
int		 db_state_lost(const char *);
void		 db_watch_write(struct db_conn *);

/* db.c */
void		 db_down(struct db_conn *, const char *);
void		 db_deliver(struct dbq *, PGresult *);

#endif
