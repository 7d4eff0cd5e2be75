/*
 * A user's version of its todos (sql/018_todo_versions.sql), read for
 * the list's kept pages (todos.c).  The requests of a worker that need
 * the same user's version share one read (lib/flight.h): a request that
 * arrives while a read is in flight waits for the next one, which starts
 * after it came, so each request still gets a version at least as new as
 * every write answered before it arrived.  For one busy user a worker
 * sends one read a round trip instead of one a request.
 */
#ifndef ELENCHUS_TODO_VER_H
#define ELENCHUS_TODO_VER_H

#include <stdint.h>

#include <kore/kore.h>
#include <kore/http.h>

#include "lib/flight.h"

/* The version of the user $1 as a scalar subquery (int8). */
#define TODO_VER_OF_USER						\
	"(SELECT coalesce(sum(ver), 0)::int8 FROM todo_counts "	\
	"WHERE user_id = $1)"

enum todo_ver_state {
	TODO_VER_WAIT = 0,
	TODO_VER_OK,		/* ver is the user's */
	TODO_VER_NONE,		/* no such user */
	TODO_VER_FAIL,		/* the database failed */
};

/* A request's wait for a version; in its request state (zeroed). */
struct todo_ver_wait {
	struct flight_wait	 fw;		/* among a read's waiters */
	struct http_request	*req;
	enum todo_ver_state	 state;
	int64_t			 ver;
};

/*
 * Read the version of the user with these 16 bytes for req, which
 * sleeps until w->state is no longer TODO_VER_WAIT.
 */
void	todo_ver_read(struct todo_ver_wait *, struct http_request *,
	    const uint8_t *);
/* The request is going away: stop waiting (no-op once answered). */
void	todo_ver_leave(struct todo_ver_wait *);

#endif
