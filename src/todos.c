/*
 * Todos (docs/API.md §4): /api/v1/users/{user_id}/todos and below.  Every
 * request is one statement.  Todos are selected as plain columns and
 * written as JSON here: PostgreSQL's json_build_object and json_agg cost
 * several times the query itself on a page of 50 (pgbench).  The path's
 * user must be the caller (403 otherwise, admins excepted); a todo of
 * another user under your own path is 404.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/rand.h>

#include "rq.h"
#include "query.h"
#include "todo_ver.h"
#include "lib/idlist.h"
#include "lib/jsonw.h"
#include "lib/uuid.h"
#include "lib/vcache.h"

/* Path segments: /api/v1/users/{user_id}/todos/{todo_id}/complete */
#define TODO_SEG_USER		3
#define TODO_SEG_TODO		5
#define TODO_ID_MAX		(UUID_STRLEN + 2)

#define TODO_TITLE_MIN		1
#define TODO_TITLE_MAX		200
#define TODO_DESC_MAX		1000

/* What a body may carry, by operation. */
#define TODO_IN_CREATE		0
#define TODO_IN_REPLACE		1
#define TODO_IN_PATCH		2
#define TODO_IN_COMPLETE	3

/* Query-string choices; index 0 is the default. */
#define TODO_STATUS_N		3
#define TODO_SORT_N		3
#define TODO_ORDER_N		2

/* Answer buffers: one todo, and per todo of a page. */
#define TODO_BUF_ONE		512
#define TODO_BUF_ROW		400

/* A page's cache key (todo_page.key). */
#define TODO_KEY_LEN		(16 + 3 + 2 * 4)

/* What the list answer echoes (indexes into the choice arrays). */
struct todo_page {
	char		uid[TODO_ID_MAX];
	int		limit;
	int		offset;
	int		status;
	int		sort;
	int		order;
	/* In the page cache: the user's 16 bytes, the choices, the paging. */
	uint8_t		key[TODO_KEY_LEN];
	struct todo_ver_wait vw;	/* step 3 */
};

struct todo_in {
	const char	*title;
	const char	*description;
	int		 desc_set;	/* description given (maybe null) */
	const char	*priority;
	int		 completed;
	int		 completed_set;
};

static int	todo_list(struct http_request *, struct rq *);
static int	todo_create(struct http_request *, struct rq *);
static int	todo_get(struct http_request *, struct rq *);
static int	todo_put(struct http_request *, struct rq *);
static int	todo_patch(struct http_request *, struct rq *);
static int	todo_delete(struct http_request *, struct rq *);
static int	todo_complete(struct http_request *, struct rq *);
static int	todo_bulk(struct http_request *, struct rq *);

static int	todo_owner(struct http_request *, struct rq *, char *,
		    size_t);
static int	todo_path(struct http_request *, struct rq *, char *,
		    char *);
static int	todo_body(struct http_request *, struct rq *, int,
		    struct todo_in *);
static int	todo_update(struct http_request *, struct rq *, int);
static int	todo_wait(struct http_request *, struct rq *);
static int	todo_answer(struct http_request *, struct rq *, int,
		    const char *);
static int	todo_answer_one(struct http_request *, struct rq *, int,
		    const char *);
static int	todo_answer_list(struct http_request *, struct rq *);
static void	todo_list_start(struct http_request *, struct rq *);
static int	todo_list_cached(struct http_request *, struct rq *);
static void	todo_page_free(void *);
static struct vcache *todo_cache(void);
static void	todo_write(struct kore_buf *, const struct dbq *, int, int,
		    const char *);
static void	todo_ts(struct kore_buf *, const struct dbq *, int, int);

ROUTE(page_todos, "/api/v1/users/{user_id}/todos",
    { HTTP_METHOD_GET, todo_list, RQ_USER },
    { HTTP_METHOD_POST, todo_create, RQ_USER })
ROUTE(page_todo, "/api/v1/users/{user_id}/todos/{todo_id}",
    { HTTP_METHOD_GET, todo_get, RQ_USER },
    { HTTP_METHOD_PUT, todo_put, RQ_USER },
    { HTTP_METHOD_PATCH, todo_patch, RQ_USER },
    { HTTP_METHOD_DELETE, todo_delete, RQ_USER })
ROUTE(page_todos_bulk, "/api/v1/users/{user_id}/todos/bulk",
    { HTTP_METHOD_POST, todo_bulk, RQ_USER })
ROUTE(page_todo_complete, "/api/v1/users/{user_id}/todos/{todo_id}/complete",
    { HTTP_METHOD_PATCH, todo_complete, RQ_USER })

static const char *const todo_priorities[] = { "high", "medium", "low",
    NULL };
static const char *const todo_statuses[] = { "all", "pending", "completed",
    NULL };
static const char *const todo_sorts[] = { "created_at", "priority", "title",
    NULL };
static const char *const todo_orders[] = { "desc", "asc", NULL };
static const char *const todo_bulk_actions[] = { "complete", "uncomplete",
    "delete", NULL };

/*
 * One todo as todo_write reads it, in binary (db_start_rbin): no text
 * output of uuids and timestamps for PostgreSQL to make, nor for us to
 * parse back.
 */
#define TODO_COLS							\
	"id, user_id, " TODO_COLS_REST
#define TODO_COLS_REST							\
	"title, description, priority, completed, "			\
	"created_at, updated_at, completed_at"

static const char sql_todo_get[] =
    "SELECT " TODO_COLS " FROM todos WHERE id = $1 AND user_id = $2";

/* An unknown user (an admin's path) fails the foreign key: 404. */
static const char sql_todo_create[] =
    "INSERT INTO todos (user_id, title, description, priority, "
    "completed, completed_at) "
    "VALUES ($1, $2, $3, coalesce($4, 'medium'), "
    "coalesce($5::boolean, false), "
    "CASE WHEN $5::boolean THEN now() END) "
    "RETURNING " TODO_COLS;

/*
 * PUT, PATCH and /complete: NULL keeps a column, except description,
 * which $4 says to set (to $5, maybe NULL).  Completing keeps the first
 * completed_at; un-completing clears it.
 */
static const char sql_todo_update[] =
    "UPDATE todos SET "
    "title = coalesce($3, title), "
    "description = CASE WHEN $4::boolean THEN $5 ELSE description END, "
    "priority = coalesce($6, priority), "
    "completed = coalesce($7::boolean, completed), "
    "completed_at = CASE WHEN $7::boolean IS NULL THEN completed_at "
    "WHEN $7::boolean THEN coalesce(completed_at, now()) END, "
    "updated_at = now() "
    "WHERE id = $1 AND user_id = $2 "
    "RETURNING " TODO_COLS;

static const char sql_todo_delete[] =
    "DELETE FROM todos WHERE id = $1 AND user_id = $2 "
    "RETURNING json_build_object('deleted_id', id)";

/*
 * Bulk: $1 user, $2 the ids (uuid[], maybe with duplicates), $3 the
 * action.  One statement changes every todo of the user named in the
 * list and answers which ids it changed and which it did not find (or
 * found under another user: the same to the caller), each in the order
 * first given.  Completing keeps the first completed_at, as /complete.
 */
#define TODO_BULK(change)						\
	"WITH w AS (SELECT id, min(n) AS n FROM unnest($2::uuid[]) "	\
	"WITH ORDINALITY AS x(id, n) GROUP BY id), "			\
	"c AS (" change "), "						\
	"r AS (SELECT w.id, w.n, c.id IS NOT NULL AS hit FROM w "	\
	"LEFT JOIN c ON c.id = w.id) "					\
	"SELECT json_build_object('action', $3::text, "			\
	"'count', (SELECT count(*) FROM c), "				\
	"'ids', coalesce((SELECT json_agg(id ORDER BY n) FROM r "	\
	"WHERE hit), '[]'::json), "					\
	"'not_found', coalesce((SELECT json_agg(id ORDER BY n) FROM r "	\
	"WHERE NOT hit), '[]'::json))"

static const char sql_todo_bulk_complete[] = TODO_BULK(
    "UPDATE todos t SET completed = ($3::text = 'complete'), "
    "completed_at = CASE WHEN $3::text = 'complete' "
    "THEN coalesce(t.completed_at, now()) END, updated_at = now() "
    "FROM w WHERE t.id = w.id AND t.user_id = $1 RETURNING t.id");

static const char sql_todo_bulk_delete[] = TODO_BULK(
    "DELETE FROM todos t USING w WHERE t.id = w.id AND t.user_id = $1 "
    "RETURNING t.id");

/*
 * A page is one statement: the page itself (read in index order, no
 * sort, stopping at offset + limit), one row per todo, with the total
 * over the predicate in column 0 of each, computed once, in the same
 * snapshot.  The total is the sum of the user's counter rows
 * (sql/014_perf.sql), not a count(*): a page costs the same for 50 todos
 * or 50,000, and stays exact because the counters change in the
 * transactions that change the todos.  An empty page (no todos, or an
 * offset past the end) has no row to carry the total: TODO_TOTAL reads
 * it then, from users, so that an unknown user (an admin's path) is
 * 404.  Every filter and order is its own static statement, so each can
 * use its index (and be prepared as it is).
 *
 * Column 1 is the user's version of its todos (sql/018_todo_versions.sql),
 * read in the page's snapshot: the worker keeps the page's data with it
 * (todo_cache), and answers the same page again after a read of the
 * version alone (todo_ver.c) gives the same number.
 */
#define TODO_SUM(cnt)							\
	"(SELECT coalesce(sum(" cnt "), 0)::int8 FROM todo_counts "	\
	"WHERE user_id = $1)"
#define TODO_LIST(cnt, flt, ord)					\
	"SELECT " TODO_SUM(cnt) ", " TODO_VER_OF_USER			\
	", id, NULL, " TODO_COLS_REST " FROM todos "			\
	"WHERE user_id = $1" flt " ORDER BY " ord			\
	" LIMIT $2::int OFFSET $3::int"
#define TODO_TOTAL(cnt)							\
	"SELECT " TODO_SUM(cnt) ", " TODO_VER_OF_USER			\
	" FROM users WHERE id = $1"

/* The counter and the predicate of each status. */
#define TODO_C_ALL		"total"
#define TODO_F_ALL		""
#define TODO_C_PENDING		"total - done"
#define TODO_F_PENDING		" AND completed = false"
#define TODO_C_DONE		"done"
#define TODO_F_DONE		" AND completed = true"

#define TODO_O_CREATED_DESC	"created_at DESC, id DESC"
#define TODO_O_CREATED_ASC	"created_at, id"
#define TODO_O_PRIO_DESC	"priority_rank DESC, created_at DESC, id DESC"
#define TODO_O_PRIO_ASC		"priority_rank, created_at, id"
#define TODO_O_TITLE_DESC	"title DESC, id DESC"
#define TODO_O_TITLE_ASC	"title, id"

#define TODO_LIST_SORTS(cnt, flt)					\
	{ { TODO_LIST(cnt, flt, TODO_O_CREATED_DESC),			\
	    TODO_LIST(cnt, flt, TODO_O_CREATED_ASC) },			\
	  { TODO_LIST(cnt, flt, TODO_O_PRIO_DESC),			\
	    TODO_LIST(cnt, flt, TODO_O_PRIO_ASC) },			\
	  { TODO_LIST(cnt, flt, TODO_O_TITLE_DESC),			\
	    TODO_LIST(cnt, flt, TODO_O_TITLE_ASC) } }

/* [status][sort_by][order], in the order of the choice arrays above. */
static const char *const sql_todo_list[TODO_STATUS_N][TODO_SORT_N]
    [TODO_ORDER_N] = {
	TODO_LIST_SORTS(TODO_C_ALL, TODO_F_ALL),
	TODO_LIST_SORTS(TODO_C_PENDING, TODO_F_PENDING),
	TODO_LIST_SORTS(TODO_C_DONE, TODO_F_DONE),
};

/* [status]: an empty page's total, no row for an unknown user. */
static const char *const sql_todo_total[TODO_STATUS_N] = {
	TODO_TOTAL(TODO_C_ALL),
	TODO_TOTAL(TODO_C_PENDING),
	TODO_TOTAL(TODO_C_DONE),
};

/*
 * GET …/todos: step 1 waits for the page (TODO_LIST), step 2 for an
 * empty page's total (TODO_TOTAL), step 3 for the version of a page the
 * worker has (todo_ver.h).
 */
static int
todo_list(struct http_request *req, struct rq *rq)
{
	struct verr	v;
	char		uid[TODO_ID_MAX];
	uint8_t		raw[16];
	int		limit, offset, status, sort, order;
	struct todo_page *page;

	if (rq->step == 0) {
		if (!todo_owner(req, rq, uid, sizeof(uid)))
			return (KORE_RESULT_OK);
		verr_init(&v);
		(void)q_refused(req, &v);
		status = q_choice(req, &v, "status", todo_statuses, 0);
		sort = q_choice(req, &v, "sort_by", todo_sorts, 0);
		order = q_choice(req, &v, "order", todo_orders, 0);
		q_paging(req, &limit, &offset);
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);

		page = rq_state(rq, sizeof(*page), todo_page_free);
		/* As PostgreSQL writes it: the rows' user_id (todo_write). */
		(void)uuid_parse(uid, raw);
		uuid_format(raw, page->uid);
		page->limit = limit;
		page->offset = offset;
		page->status = status;
		page->sort = sort;
		page->order = order;
		memcpy(page->key, raw, sizeof(raw));
		page->key[16] = (uint8_t)status;
		page->key[17] = (uint8_t)sort;
		page->key[18] = (uint8_t)order;
		memcpy(page->key + 19, &limit, 4);
		memcpy(page->key + 23, &offset, 4);
		if (vcache_get(todo_cache(), page->key, TODO_KEY_LEN) != NULL) {
			todo_ver_read(&page->vw, req, raw);
			rq->step = 3;
		} else
			todo_list_start(req, rq);
	}
	if (rq->step == 3)
		return (todo_list_cached(req, rq));
	return (todo_answer_list(req, rq));
}

/* The page's statement (step 1). */
static void
todo_list_start(struct http_request *req, struct rq *rq)
{
	const struct todo_page *page = rq->st;
	const char	*params[3];
	char		lim[16], off[16];

	(void)snprintf(lim, sizeof(lim), "%d", page->limit);
	(void)snprintf(off, sizeof(off), "%d", page->offset);
	params[0] = page->uid;
	params[1] = lim;
	params[2] = off;
	db_start_rbin(req, &rq->q, sql_todo_list[page->status][page->sort]
	    [page->order], 3, params);
	rq->step = 1;
}

/*
 * Step 3: the kept page when its version is still the user's, else the
 * page read again.  An unknown user (gone since) is 404 either way.
 */
static int
todo_list_cached(struct http_request *req, struct rq *rq)
{
	const struct todo_page	*page = rq->st;
	const struct vcache_ent	*e;

	switch (page->vw.state) {
	case TODO_VER_WAIT:
		http_request_sleep(req);
		return (KORE_RESULT_RETRY);
	case TODO_VER_FAIL:
		return (rq_db_error(req, rq));
	case TODO_VER_NONE:
		return (rq_not_found(req, rq));
	case TODO_VER_OK:
		break;
	}
	/* Looked up again: another request may have replaced it since. */
	e = vcache_get(todo_cache(), page->key, TODO_KEY_LEN);
	if (e != NULL && e->ver == page->vw.ver)
		return (rq_ok_raw(req, rq, 200, "Todos", e->data, e->len));
	todo_list_start(req, rq);
	return (todo_answer_list(req, rq));
}

static void
todo_page_free(void *arg)
{
	struct todo_page	*page = arg;

	todo_ver_leave(&page->vw);
}

/*
 * The worker's page cache: LIST_CACHE_MB (0: none), a random seed so
 * that nobody can aim two pages at one slot.
 */
static struct vcache *
todo_cache(void)
{
	static struct vcache	*cache;
	uint64_t		 seed;

	if (cache == NULL) {
		if (RAND_bytes((unsigned char *)&seed, sizeof(seed)) != 1)
			fatal("RAND_bytes failed");
		cache = kore_malloc(sizeof(*cache));
		vcache_init(cache, seed, (size_t)cfg.list_cache_mb << 20);
	}
	return (cache);
}

static int
todo_create(struct http_request *req, struct rq *rq)
{
	struct todo_in	in;
	const char	*params[5];
	char		uid[TODO_ID_MAX];

	if (rq->step == 0) {
		if (!todo_owner(req, rq, uid, sizeof(uid)))
			return (KORE_RESULT_OK);
		if (!todo_body(req, rq, TODO_IN_CREATE, &in))
			return (KORE_RESULT_OK);
		params[0] = uid;
		params[1] = in.title;
		params[2] = in.description;
		params[3] = in.priority;
		params[4] = in.completed_set ?
		    (in.completed ? "true" : "false") : NULL;
		db_start_group(req, &rq->q, sql_todo_create, 5, params);
		rq->step = 1;
	}
	return (todo_answer_one(req, rq, 201, "Todo created"));
}

static int
todo_get(struct http_request *req, struct rq *rq)
{
	const char	*params[2];
	char		uid[TODO_ID_MAX], tid[TODO_ID_MAX];

	if (rq->step == 0) {
		if (!todo_path(req, rq, uid, tid))
			return (KORE_RESULT_OK);
		params[0] = tid;
		params[1] = uid;
		db_start_rbin(req, &rq->q, sql_todo_get, 2, params);
		rq->step = 1;
	}
	return (todo_answer_one(req, rq, 200, "Todo"));
}

static int
todo_put(struct http_request *req, struct rq *rq)
{
	return (todo_update(req, rq, TODO_IN_REPLACE));
}

static int
todo_patch(struct http_request *req, struct rq *rq)
{
	return (todo_update(req, rq, TODO_IN_PATCH));
}

static int
todo_complete(struct http_request *req, struct rq *rq)
{
	return (todo_update(req, rq, TODO_IN_COMPLETE));
}

static int
todo_delete(struct http_request *req, struct rq *rq)
{
	const char	*params[2];
	char		uid[TODO_ID_MAX], tid[TODO_ID_MAX];

	if (rq->step == 0) {
		if (!todo_path(req, rq, uid, tid))
			return (KORE_RESULT_OK);
		params[0] = tid;
		params[1] = uid;
		db_start(req, &rq->q, sql_todo_delete, 2, params);
		rq->step = 1;
	}
	return (todo_answer(req, rq, 200, "Todo deleted"));
}

/*
 * POST …/todos/bulk {"action": "complete"|"uncomplete"|"delete",
 * "ids": [...]}: one statement for the whole list.
 */
static int
todo_bulk(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*obj;
	const char	*params[3], *action;
	char		 uid[TODO_ID_MAX], ids[IDLIST_TEXT_MAX];

	if (rq->step == 0) {
		if (!todo_owner(req, rq, uid, sizeof(uid)))
			return (KORE_RESULT_OK);
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		action = NULL;
		(void)jsonx_get_enum(obj, "action", JF_REQUIRED,
		    todo_bulk_actions, &v, &action);
		(void)idlist_get(obj, "ids", IDLIST_MAX, &v, ids);
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = uid;
		params[1] = ids;
		params[2] = action;
		db_start(req, &rq->q, strcmp(action, "delete") ?
		    sql_todo_bulk_complete : sql_todo_bulk_delete, 3, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Bulk operation done"));
}

/* PUT, PATCH and /complete differ only in what the body must carry. */
static int
todo_update(struct http_request *req, struct rq *rq, int mode)
{
	struct todo_in	in;
	const char	*params[7];
	char		uid[TODO_ID_MAX], tid[TODO_ID_MAX];

	if (rq->step == 0) {
		if (!todo_path(req, rq, uid, tid))
			return (KORE_RESULT_OK);
		if (!todo_body(req, rq, mode, &in))
			return (KORE_RESULT_OK);
		params[0] = tid;
		params[1] = uid;
		params[2] = in.title;
		params[3] = in.desc_set ? "true" : "false";
		params[4] = in.description;
		params[5] = in.priority;
		params[6] = in.completed_set ?
		    (in.completed ? "true" : "false") : NULL;
		db_start_rbin(req, &rq->q, sql_todo_update, 7, params);
		rq->step = 1;
	}
	return (todo_answer_one(req, rq, 200, "Todo updated"));
}

/*
 * The path's user_id into uid (len bytes), checked against the caller.
 * Returns 1 to go on; 0 when the answer (403 or 404) has been sent.
 */
static int
todo_owner(struct http_request *req, struct rq *rq, char *uid, size_t len)
{
	int		valid;

	valid = rq_path_id(req, TODO_SEG_USER, uid, len) && uuid_valid(uid);
	if (valid && strcasecmp(uid, rq->user.id) == 0)
		return (1);
	if (!rq->user.admin) {
		(void)rq_error(req, rq, 403, "forbidden",
		    "These todos belong to another user", NULL);
		return (0);
	}
	if (!valid) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	return (1);
}

/* The owner as todo_owner, then the todo id (404 when malformed). */
static int
todo_path(struct http_request *req, struct rq *rq, char *uid, char *tid)
{
	if (!todo_owner(req, rq, uid, TODO_ID_MAX))
		return (0);
	if (!rq_path_id(req, TODO_SEG_TODO, tid, TODO_ID_MAX) ||
	    !uuid_valid(tid)) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	return (1);
}

/*
 * Read and validate the body for mode into in (strings borrowed from the
 * request's body).  Every bad field is reported.  Returns 1 to go on; 0
 * when the 400 (or 413) has been sent.
 */
static int
todo_body(struct http_request *req, struct rq *rq, int mode,
    struct todo_in *in)
{
	struct verr	v;
	json_t		*obj;
	int		need_title, need_prio;

	memset(in, 0, sizeof(*in));
	if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
		return (0);

	verr_init(&v);
	if (mode == TODO_IN_COMPLETE) {
		(void)jsonx_get_bool(obj, "completed", JF_REQUIRED, &v,
		    &in->completed, &in->completed_set);
	} else {
		/* POST needs a title, PUT a title and a priority. */
		need_title = mode == TODO_IN_PATCH ? 0 : JF_REQUIRED;
		need_prio = mode == TODO_IN_REPLACE ? JF_REQUIRED : 0;
		(void)jsonx_get_str(obj, "title", need_title | JF_NOTBLANK,
		    TODO_TITLE_MIN, TODO_TITLE_MAX, &v, &in->title);
		(void)jsonx_get_str(obj, "description", JF_NULLABLE, 0,
		    TODO_DESC_MAX, &v, &in->description);
		(void)jsonx_get_enum(obj, "priority", need_prio,
		    todo_priorities, &v, &in->priority);
		(void)jsonx_get_bool(obj, "completed", 0, &v,
		    &in->completed, &in->completed_set);
		/* A full replacement without description clears it. */
		in->desc_set = mode == TODO_IN_REPLACE ||
		    json_object_get(obj, "description") != NULL;
	}
	if (verr_count(&v)) {
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	return (1);
}

/*
 * Wait for the one statement: RQ_CONT when it has rows, RQ_WAIT to
 * return KORE_RESULT_RETRY, RQ_DONE when answered.  No row is 404; a
 * missing user (foreign key, admin path) is 404 too.
 */
static int
todo_wait(struct http_request *req, struct rq *rq)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (RQ_WAIT);
	if (r == DB_FAIL) {
		if (db_sqlstate_is(&rq->q, "23503"))
			(void)rq_not_found(req, rq);
		else
			(void)rq_db_error(req, rq);
		return (RQ_DONE);
	}
	if (db_rows(&rq->q) == 0) {
		(void)rq_not_found(req, rq);
		return (RQ_DONE);
	}
	return (RQ_CONT);
}

/* The statement's single JSON value, passed through (DELETE). */
static int
todo_answer(struct http_request *req, struct rq *rq, int status,
    const char *message)
{
	int		r;

	if ((r = todo_wait(req, rq)) != RQ_CONT)
		return (r == RQ_WAIT ? KORE_RESULT_RETRY : KORE_RESULT_OK);
	return (rq_ok_raw(req, rq, status, message, db_val(&rq->q, 0, 0),
	    (size_t)db_len(&rq->q, 0, 0)));
}

/* One todo from the TODO_COLS of the statement's row. */
static int
todo_answer_one(struct http_request *req, struct rq *rq, int status,
    const char *message)
{
	struct kore_buf	buf;
	int		r;

	if ((r = todo_wait(req, rq)) != RQ_CONT)
		return (r == RQ_WAIT ? KORE_RESULT_RETRY : KORE_RESULT_OK);
	rq_ok_begin(&buf, message, TODO_BUF_ONE);
	todo_write(&buf, &rq->q, 0, 0, NULL);
	return (rq_ok_end(req, rq, status, &buf));
}

/*
 * The page from TODO_LIST's rows (step 1: total, version, then
 * TODO_COLS), or, when it has none, the total and the version from
 * TODO_TOTAL (step 2); kept in the worker's cache with the version.
 */
static int
todo_answer_list(struct http_request *req, struct rq *rq)
{
	struct kore_buf	buf;
	const struct todo_page *page = rq->st;
	const char	*params[1];
	size_t		start;
	int		r, i, n;

	if (rq->step == 1 && db_poll(req, &rq->q) == DB_OK &&
	    db_rows(&rq->q) == 0) {
		params[0] = page->uid;
		db_start_rbin(req, &rq->q, sql_todo_total[page->status], 1,
		    params);
		rq->step = 2;
	}
	if ((r = todo_wait(req, rq)) != RQ_CONT)
		return (r == RQ_WAIT ? KORE_RESULT_RETRY : KORE_RESULT_OK);
	n = rq->step == 1 ? db_rows(&rq->q) : 0;
	rq_ok_begin(&buf, "Todos", 256 + (size_t)n * TODO_BUF_ROW);
	start = buf.offset;
	RQ_LIT(&buf, "{\"items\":[");
	for (i = 0; i < n; i++) {
		if (i > 0)
			RQ_LIT(&buf, ",");
		todo_write(&buf, &rq->q, i, 2, page->uid);
	}
	kore_buf_appendf(&buf, "],\"total\":%lld,\"limit\":%d,\"offset\":%d,"
	    "\"filters_applied\":{\"status\":\"%s\",\"sort_by\":\"%s\","
	    "\"order\":\"%s\"}}", (long long)db_int8(&rq->q, 0, 0), page->limit,
	    page->offset, todo_statuses[page->status], todo_sorts[page->sort],
	    todo_orders[page->order]);
	(void)vcache_put(todo_cache(), page->key, TODO_KEY_LEN,
	    db_int8(&rq->q, 0, 1), buf.data + start, buf.offset - start);
	return (rq_ok_end(req, rq, 200, &buf));
}

/*
 * The todo in TODO_COLS at (row, col) of q as a JSON object onto buf.
 * A NULL user_id is uid's (the list's rows leave it out: every row is
 * the page's user's, and 50 uuids cost PostgreSQL and us each time).
 */
static void
todo_write(struct kore_buf *buf, const struct dbq *q, int row, int col,
    const char *uid)
{
	char		id[UUID_STRLEN + 1];

	RQ_LIT(buf, "{\"id\":");
	(void)db_uuid(q, row, col, id);
	rq_buf_strz(buf, id);
	RQ_LIT(buf, ",\"user_id\":");
	if (uid == NULL || !db_isnull(q, row, col + 1)) {
		(void)db_uuid(q, row, col + 1, id);
		uid = id;
	}
	rq_buf_strz(buf, uid);
	RQ_LIT(buf, ",\"title\":");
	rq_buf_str(buf, db_val(q, row, col + 2),
	    (size_t)db_len(q, row, col + 2));
	RQ_LIT(buf, ",\"description\":");
	if (db_isnull(q, row, col + 3))
		RQ_LIT(buf, "null");
	else
		rq_buf_str(buf, db_val(q, row, col + 3),
		    (size_t)db_len(q, row, col + 3));
	RQ_LIT(buf, ",\"priority\":");
	rq_buf_str(buf, db_val(q, row, col + 4),
	    (size_t)db_len(q, row, col + 4));
	if (db_bool(q, row, col + 5))
		RQ_LIT(buf, ",\"completed\":true");
	else
		RQ_LIT(buf, ",\"completed\":false");
	RQ_LIT(buf, ",\"created_at\":");
	todo_ts(buf, q, row, col + 6);
	RQ_LIT(buf, ",\"updated_at\":");
	todo_ts(buf, q, row, col + 7);
	RQ_LIT(buf, ",\"completed_at\":");
	todo_ts(buf, q, row, col + 8);
	RQ_LIT(buf, "}");
}

/* A binary timestamptz as a quoted RFC 3339 time; NULL is null. */
static void
todo_ts(struct kore_buf *buf, const struct dbq *q, int row, int col)
{
	char		ts[JSONW_TS_MAX + 2];
	size_t		n;

	if (db_isnull(q, row, col)) {
		RQ_LIT(buf, "null");
		return;
	}
	ts[0] = '"';
	n = jsonw_rfc3339(ts + 1, DB_TS_UNIX(db_int8(q, row, col)));
	ts[n + 1] = '"';
	kore_buf_append(buf, ts, n + 2);
}
