/*
 * Queries not bound to a request: db.h's query slot driven by a
 * callback, for work that must finish even when the client is gone
 * (storing a streamed answer after a disconnect).  Same database, same
 * parameters rules and the same one retry on a stale connection as
 * db.h.
 */
#ifndef ELENCHUS_DBCB_H
#define ELENCHUS_DBCB_H

#include <kore/kore.h>
#include <libpq-fe.h>

/*
 * Called once on the event loop with the outcome: ok, and the last
 * result (may be NULL), valid only during the call.
 */
typedef void	(*dbcb_fn)(void *, int, PGresult *);

/* Start query with n text parameters (copied; NULL is SQL NULL). */
void	dbcb_start(const char *, int, const char *const *, dbcb_fn, void *);

#endif
