/*
 * Shared reads of a user's todo version (todo_ver.h): lib/flight.c keeps
 * who waits for which read; this sends the reads and wakes the requests.
 */
#include <stddef.h>
#include <stdlib.h>

#include <openssl/rand.h>

#include "dbcb.h"
#include "todo_ver.h"
#include "lib/uuid.h"

/* The version alone, no row for an unknown user. */
static const char sql_todo_ver[] =
    "SELECT " TODO_VER_OF_USER " FROM users WHERE id = $1";

static struct flight_table	*todo_ver_table;

static void	todo_ver_send(struct flight *);
static void	todo_ver_done(void *, int, PGresult *);

void
todo_ver_read(struct todo_ver_wait *w, struct http_request *req,
    const uint8_t *raw)
{
	struct flight	*f;
	uint64_t	 seed;
	int		 start;

	if (todo_ver_table == NULL) {
		if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
			fatal("RAND_bytes failed");
		todo_ver_table = kore_malloc(sizeof(*todo_ver_table));
		flight_init(todo_ver_table, seed);
	}
	w->req = req;
	w->state = TODO_VER_WAIT;
	if ((f = flight_join(todo_ver_table, &w->fw, raw, &start)) == NULL)
		fatal("todo_ver_read: out of memory");
	if (start)
		todo_ver_send(f);
	http_request_sleep(req);
}

void
todo_ver_leave(struct todo_ver_wait *w)
{
	flight_leave(&w->fw);
}

static void
todo_ver_send(struct flight *f)
{
	const char	*params[1];
	char		 uid[UUID_STRLEN + 1];

	uuid_format(f->key, uid);
	params[0] = uid;
	dbcb_start(sql_todo_ver, 1, params, todo_ver_done, f);
}

/* Answer the read's waiters; start the next read for the later ones. */
static void
todo_ver_done(void *arg, int ok, PGresult *res)
{
	struct flight		*f = arg;
	struct flight_wait	*fw;
	struct todo_ver_wait	*w;
	enum todo_ver_state	 state;
	int64_t			 ver;

	ver = 0;
	if (!ok || res == NULL)
		state = TODO_VER_FAIL;
	else if (PQntuples(res) == 0)
		state = TODO_VER_NONE;
	else {
		state = TODO_VER_OK;
		ver = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	}
	while ((fw = flight_take(f)) != NULL) {
		w = (struct todo_ver_wait *)(void *)((char *)fw -
		    offsetof(struct todo_ver_wait, fw));
		w->state = state;
		w->ver = ver;
		http_request_wakeup(w->req);
	}
	if (flight_next(f))
		todo_ver_send(f);
}
