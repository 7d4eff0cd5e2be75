/*
 * Audit rows (docs/API.md §3): who did what, from where.
 *
 * How to write one.  An audit row is inserted in the SAME statement as
 * the change it records, as a CTE, so the two commit together:
 *
 *	static const char sql_x[] =
 *	    "WITH u AS (UPDATE users SET ... WHERE id = $1 RETURNING id), "
 *	    "a AS (" AUDIT_INSERT_FROM("u.id", "'user_updated'", "$2", "$3",
 *	    "$4::jsonb", "u") ") "
 *	    "SELECT ... FROM u";
 *
 *	params: $2 = rq->ip, $3 = audit_ua(req, ua, sizeof(ua)),
 *	        $4 = details JSON text (or build it in SQL with
 *	        jsonb_build_object(...)).
 *
 * AUDIT_INSERT(uid, ev, ip, ua, det) is the VALUES form when no row
 * source is needed.  Every argument is an SQL expression (a $n parameter
 * or a literal); never format user data into them.
 *
 * When no CTE fits (the event follows a failure, say), audit_start sends
 * a stand-alone INSERT on a query slot the handler then polls with
 * db_poll like any other query.
 *
 * The user agent is client input: always pass it through audit_ua, which
 * bounds it and makes it valid UTF-8 (an invalid byte would make
 * PostgreSQL refuse the whole statement).
 */
#ifndef ELENCHUS_AUDIT_H
#define ELENCHUS_AUDIT_H

#include <jansson.h>

#include "rq.h"

/* Longest user agent kept, in bytes (with its NUL: AUDIT_UA_SIZE). */
#define AUDIT_UA_MAX		512
#define AUDIT_UA_SIZE		(AUDIT_UA_MAX + 1)

#define AUDIT_INSERT(uid, ev, ip, ua, det)				\
	"INSERT INTO audit_events (user_id, event, ip, user_agent, "	\
	"details) VALUES (" uid ", " ev ", " ip ", " ua ", " det ")"

#define AUDIT_INSERT_FROM(uid, ev, ip, ua, det, from)			\
	"INSERT INTO audit_events (user_id, event, ip, user_agent, "	\
	"details) SELECT " uid ", " ev ", " ip ", " ua ", " det		\
	" FROM " from

/* The request's User-Agent, bounded and valid UTF-8, in buf (or NULL). */
const char	*audit_ua(struct http_request *, char *, size_t);

/*
 * A stand-alone audit INSERT on slot q for rq's client: user_id may be
 * NULL, details (borrowed, may be NULL for {}) is serialised.  Poll q.
 */
void		 audit_start(struct http_request *, struct rq *, struct dbq *,
		    const char *, const char *, json_t *);

#endif
