/*
 * GET /api/v1/users/me/export (docs/API.md §3): everything the caller
 * owns as one JSON document, streamed in a chunked response: profile and
 * settings, todos, conversations each with its messages, documents with
 * their extracted text, analyses, workflow runs with their steps, audit
 * events.
 *
 * Memory stays flat whatever the volume.  Each section is read a page at
 * a time by its key after the last row written (never one big result):
 * pages of EXPORT_ROWS rows cut at EXPORT_PAGE_BYTES, conversations one at
 * a time with their messages paged by seq, a document's text in slices
 * of EXPORT_SLICE characters.  A page goes onto the connection as one
 * chunk, followed by a marker: an empty stream netbuf whose callback Kore
 * runs when everything queued before it has reached the socket.  The
 * next page is asked for only while less than EXPORT_QUEUE_MAX bytes wait
 * in the connection's send queue; otherwise the request sleeps until a
 * marker wakes it.  A slow reader makes the export wait, not grow.
 *
 * Once the headers are out the status cannot change: a database failure
 * mid-way drops the connection, so the client sees a cut transfer (no
 * last chunk), never a document that looks complete.  Rows written while
 * the export runs may or may not be in it (no snapshot spans the pages).
 *
 * Exports are heavy: EXPORT_PER_HOUR per user in any hour, counted from
 * the audit events user.export (sql/017_export.sql, export_begin).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rq.h"
#include "audit.h"

#define EXPORT_ROWS		500		/* rows of a page, at most */
#define EXPORT_PAGE_BYTES	(256 * 1024)	/* a page stops past this */
#define EXPORT_SLICE		(128 * 1024)	/* characters of text */
#define EXPORT_QUEUE_MAX	(512 * 1024)	/* queued before we wait */
#define EXPORT_WINDOW_S		3600
#define EXPORT_KEY_MAX		64
#define EXPORT_NUM		24

#define EXPORT_LIT(b, s)	kore_buf_append((b), (s), sizeof(s) - 1)

/* How a section is read. */
enum export_kind {
	EXPORT_ROWS_KIND,	/* pages of rows */
	EXPORT_THREAD,		/* a parent at a time, its children paged */
	EXPORT_TEXT,		/* a parent at a time, its text in slices */
};

/* rq->step: the start, then pages asked for and written in turn. */
#define EXPORT_STARTED		1
#define EXPORT_NEXT		2	/* ask for the next page (or wait) */
#define EXPORT_QUERY		3	/* a page asked for */

/*
 * A page of rows ($1 user, $2/$3 the key after which to start, $4 rows,
 * $5 bytes): j (the row as JSON), c and i (its key), fetched (rows read
 * before the cut at $5 bytes; the first row is always kept).  The keys
 * are found first and the JSON is built for those rows only: whatever
 * plan PostgreSQL picks for the prepared statement (a generic plan may
 * sort instead of walking the index), no JSON is made for rows past the
 * page.
 */
#define EXPORT_PAGE(json, from, idtype)					\
	"SELECT j, c::text, i::text, fetched FROM (SELECT j, c, i, "	\
	"count(*) OVER () AS fetched, sum(octet_length(j)) OVER "	\
	"(ORDER BY c, i ROWS UNBOUNDED PRECEDING) - octet_length(j) "	\
	"AS before FROM (SELECT (" json ")::text AS j, t.created_at AS c, "\
	"t.id AS i FROM (SELECT k.id FROM " from " k WHERE k.user_id = "	\
	"$1::uuid AND (k.created_at, k.id) > ($2::timestamptz, $3::"	\
	idtype ") ORDER BY k.created_at, k.id LIMIT $4::int) s JOIN "	\
	from " t ON t.id = s.id) r) p "					\
	"WHERE before < $5::bigint ORDER BY p.c, p.i"

/* The next parent after $2/$3: its object without the closing brace. */
#define EXPORT_HEAD(json, from, more)					\
	"SELECT left((" json ")::text, -1), t.created_at::text, "	\
	"t.id::text" more " FROM (SELECT k.id FROM " from " k WHERE "	\
	"k.user_id = $1::uuid AND (k.created_at, k.id) > "		\
	"($2::timestamptz, $3::uuid) ORDER BY k.created_at, k.id "	\
	"LIMIT 1) s JOIN " from " t ON t.id = s.id"

struct export_section {
	const char	*name;
	int		 kind;
	int		 nparams;
	const char	*sql;
	const char	*sql_child;
	const char	*id0;		/* below every id of the key */
};

struct export_st {
	struct http_request	*req;
	struct kore_buf		 out;
	size_t			 section;
	int			 opened;	/* the section's '[' is out */
	int			 items;		/* in the section's array */
	int			 child;		/* inside a parent */
	int			 child_items;
	char			 ts[EXPORT_KEY_MAX];
	char			 id[EXPORT_KEY_MAX];
	char			 parent[EXPORT_KEY_MAX];
	long long		 pos;		/* seq, or text offset (1-based) */
	long long		 len;		/* the text's characters */
	int			 markers;	/* queued, not yet reached */
};

#define EXPORT_ZERO_UUID	"00000000-0000-0000-0000-000000000000"

/* $1 user, $2 ip, $3 user agent, $4 exports per window, $5 window. */
static const char sql_begin[] =
    "SELECT e.retry_after, user_json(u)::text, "
    "user_settings(u.settings)::text FROM users u CROSS JOIN LATERAL "
    "export_begin(u.id, $2, $3, $4::int, $5::int) e "
    "WHERE u.id = $1::uuid AND u.deleted_at IS NULL";

static const char sql_todos[] = EXPORT_PAGE("json_build_object('id', t.id, "
    "'user_id', t.user_id, 'title', t.title, 'description', "
    "t.description, 'priority', t.priority, 'completed', t.completed, "
    "'created_at', rfc3339(t.created_at), 'updated_at', "
    "rfc3339(t.updated_at), 'completed_at', rfc3339(t.completed_at))",
    "todos", "uuid");

/* Soft-deleted conversations are still held, so they are exported. */
static const char sql_conv[] = EXPORT_HEAD("left(chat_conversation_json(t)"
    "::text, -1) || ', \"deleted_at\" : ' || "
    "coalesce(to_json(rfc3339(t.deleted_at))::text, 'null') || '}'",
    "conversations", "");

/*
 * $1 conversation, $2 user, $3 seq after, $4 rows, $5 bytes.  The seqs
 * come from an index-only scan of messages_conversation, which stops
 * after the page even in a generic plan.
 */
static const char sql_messages[] =
    "SELECT j, k::text, fetched FROM (SELECT j, k, count(*) OVER () "
    "AS fetched, sum(octet_length(j)) OVER (ORDER BY k ROWS UNBOUNDED "
    "PRECEDING) - octet_length(j) AS before FROM (SELECT "
    "chat_message_json(m)::text AS j, m.seq AS k FROM (SELECT x.seq "
    "FROM messages x WHERE x.conversation_id = $1::uuid AND "
    "x.seq > $3::bigint ORDER BY x.seq LIMIT $4::int) s JOIN messages m "
    "ON m.conversation_id = $1::uuid AND m.seq = s.seq "
    "WHERE m.user_id = $2::uuid) r) p "
    "WHERE before < $5::bigint ORDER BY p.k";

/* The metadata, the text's length (NULL: none) and its first slice ($4). */
static const char sql_doc[] = EXPORT_HEAD("left(document_json(t)::text, -1)"
    " || ', \"mime_type\" : ' || to_json(t.mime_type)::text || "
    "', \"warnings\" : ' || array_to_json(t.warnings)::text || '}'",
    "documents", ", char_length(t.content), "
    "to_json(substr(t.content, 1, $4::int))::text");

/* $1 document, $2 user, $3 from (1-based), $4 characters. */
static const char sql_text[] =
    "SELECT to_json(substr(t.content, $3::int, $4::int))::text "
    "FROM documents t WHERE t.id = $1::uuid AND t.user_id = $2::uuid";

static const char sql_analyses[] = EXPORT_PAGE("json_build_object('id', "
    "t.id, 'document_id', t.document_id, 'analysis_type', "
    "t.analysis_type, 'instructions', t.instructions, 'status', "
    "t.status, 'result', t.result, 'error', t.error, 'model_used', "
    "t.model_used, 'cached', t.cached, 'usage', json_build_object("
    "'prompt_tokens', t.prompt_tokens, 'completion_tokens', "
    "t.completion_tokens, 'total_tokens', t.total_tokens), "
    "'created_at', rfc3339(t.created_at), 'completed_at', "
    "rfc3339(t.completed_at))", "document_analyses", "uuid");

static const char sql_runs[] = EXPORT_PAGE("workflow_execution_json(t, true)",
    "workflow_executions", "uuid");

static const char sql_audit[] = EXPORT_PAGE("json_build_object('id', t.id, "
    "'user_id', t.user_id, 'event', t.event, 'ip', t.ip, "
    "'user_agent', t.user_agent, "
    "'details', t.details, 'created_at', rfc3339(t.created_at))",
    "audit_events", "bigint");

static const struct export_section export_sections[] = {
	{ "todos", EXPORT_ROWS_KIND, 5, sql_todos, NULL, EXPORT_ZERO_UUID },
	{ "conversations", EXPORT_THREAD, 3, sql_conv, sql_messages,
	    EXPORT_ZERO_UUID },
	{ "documents", EXPORT_TEXT, 4, sql_doc, sql_text, EXPORT_ZERO_UUID },
	{ "analyses", EXPORT_ROWS_KIND, 5, sql_analyses, NULL,
	    EXPORT_ZERO_UUID },
	{ "workflow_runs", EXPORT_ROWS_KIND, 5, sql_runs, NULL,
	    EXPORT_ZERO_UUID },
	{ "audit_events", EXPORT_ROWS_KIND, 5, sql_audit, NULL, "0" },
};

#define EXPORT_NSECTIONS						\
	(sizeof(export_sections) / sizeof(export_sections[0]))

static int	export_get(struct http_request *, struct rq *);
static void	export_start(struct http_request *, struct rq *,
		    struct export_st *);
static int	export_begin(struct http_request *, struct rq *,
		    struct export_st *);
static int	export_limited(struct http_request *, struct rq *, long);
static void	export_open(struct http_request *, struct rq *);
static int	export_page(struct http_request *, struct rq *,
		    struct export_st *);
static int	export_pump(struct http_request *, struct rq *,
		    struct export_st *);
static void	export_ask(struct http_request *, struct rq *,
		    struct export_st *);
static int	export_take(struct rq *, struct export_st *);
static int	export_parent(const struct dbq *, struct export_st *,
		    const struct export_section *);
static int	export_text(const struct dbq *, struct export_st *, int);
static int	export_rows(const struct dbq *, struct export_st *, int *,
		    int);
static void	export_close(struct export_st *);
static int	export_key(char *, const char *);
static int	export_flush(struct http_request *, struct export_st *);
static int	export_end(struct http_request *, struct export_st *);
static size_t	export_queued(struct connection *);
static int	export_reached(struct netbuf *);
static void	export_free(void *);
static int	export_fail(struct http_request *);

ROUTE(page_users_me_export, "/api/v1/users/me/export",
    { HTTP_METHOD_GET, export_get, RQ_USER })

static int
export_get(struct http_request *req, struct rq *rq)
{
	struct export_st	*st;
	int			 r;

	st = rq_state(rq, sizeof(*st), export_free);
	if (req->method == HTTP_METHOD_HEAD) {
		export_open(req, rq);
		return (KORE_RESULT_OK);
	}
	if (rq->step == 0) {
		export_start(req, rq, st);
		rq->step = EXPORT_STARTED;
	}
	if (rq->step == EXPORT_STARTED) {
		if (!rq_polled(req, rq, &r))
			return (r);
		if (!export_begin(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = EXPORT_NEXT;
	}
	return (export_pump(req, rq, st));
}

/* The rate limit, the audit row and the profile, in one statement. */
static void
export_start(struct http_request *req, struct rq *rq, struct export_st *st)
{
	const char	*p[5];
	char		 ua[AUDIT_UA_SIZE], max[EXPORT_NUM], win[EXPORT_NUM];

	st->req = req;
	kore_buf_init(&st->out, EXPORT_PAGE_BYTES);
	(void)snprintf(max, sizeof(max), "%d", cfg.export_per_hour);
	(void)snprintf(win, sizeof(win), "%d", EXPORT_WINDOW_S);
	p[0] = rq->user.id;
	p[1] = rq->ip[0] != '\0' ? rq->ip : NULL;
	p[2] = audit_ua(req, ua, sizeof(ua));
	p[3] = max;
	p[4] = win;
	db_start(req, &rq->q, sql_begin, 5, p);
}

/*
 * 404 or 429 (0: answered), or the headers and the document's opening
 * with the profile and the settings (1).
 */
static int
export_begin(struct http_request *req, struct rq *rq, struct export_st *st)
{
	long		wait;

	if (db_rows(&rq->q) != 1) {
		(void)rq_not_found(req, rq);
		return (0);
	}
	if ((wait = strtol(db_val(&rq->q, 0, 0), NULL, 10)) > 0) {
		(void)export_limited(req, rq, wait);
		return (0);
	}
	export_open(req, rq);
	EXPORT_LIT(&st->out, ",\"profile\":");
	kore_buf_append(&st->out, db_val(&rq->q, 0, 1),
	    (size_t)db_len(&rq->q, 0, 1));
	EXPORT_LIT(&st->out, ",\"settings\":");
	kore_buf_append(&st->out, db_val(&rq->q, 0, 2),
	    (size_t)db_len(&rq->q, 0, 2));
	return (1);
}

static int
export_limited(struct http_request *req, struct rq *rq, long wait)
{
	char		num[EXPORT_NUM];

	(void)snprintf(num, sizeof(num), "%ld", wait);
	http_response_header(req, "retry-after", num);
	return (rq_error(req, rq, 429, "rate_limited",
	    "Too many exports: try again later",
	    json_pack("{s:i, s:i, s:I}", "limit", cfg.export_per_hour,
	    "window_s", EXPORT_WINDOW_S, "retry_after", (json_int_t)wait)));
}

/* The headers, then the document's first bytes (in st->out for GET). */
static void
export_open(struct http_request *req, struct rq *rq)
{
	struct export_st	*st = rq->st;
	struct tm		 tm;
	time_t			 now;
	char			 ts[32], cd[96];

	now = time(NULL);
	(void)gmtime_r(&now, &tm);
	(void)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	(void)snprintf(cd, sizeof(cd), "attachment; filename=\"elenchus-"
	    "export-%.10s.json\"", ts);

	rq_headers(req, rq);
	http_response_header(req, "content-type",
	    "application/json; charset=utf-8");
	http_response_header(req, "content-disposition", cd);
	rq_stream_open(req);
	if (req->method == HTTP_METHOD_HEAD)
		return;

	EXPORT_LIT(&st->out, "{\"export_version\":1,\"exported_at\":\"");
	kore_buf_append(&st->out, ts, strlen(ts));
	EXPORT_LIT(&st->out, "\",\"user_id\":\"");
	kore_buf_append(&st->out, rq->user.id, strlen(rq->user.id));
	EXPORT_LIT(&st->out, "\"");
}

/*
 * Ask, write, ask again: the next page only while the connection's send
 * queue holds less than EXPORT_QUEUE_MAX; otherwise sleep until a marker
 * reaches the socket (export_reached wakes the request).
 */
static int
export_pump(struct http_request *req, struct rq *rq, struct export_st *st)
{
	int		r;

	for (;;) {
		if (req->owner == NULL ||
		    req->owner->state != CONN_STATE_ESTABLISHED)
			return (export_fail(req));
		if (rq->step == EXPORT_QUERY) {
			if ((r = export_page(req, rq, st)) <= 0)
				return (r == 0 ? KORE_RESULT_RETRY :
				    KORE_RESULT_OK);
			rq->step = EXPORT_NEXT;
		}
		if (st->section == EXPORT_NSECTIONS)
			return (export_end(req, st));
		if (st->markers > 0 &&
		    export_queued(req->owner) > EXPORT_QUEUE_MAX) {
			http_request_sleep(req);
			return (KORE_RESULT_RETRY);
		}
		export_ask(req, rq, st);
		rq->step = EXPORT_QUERY;
	}
}

/*
 * The page asked for, onto the connection: 1 when written, 0 while it is
 * not there (asleep again: a marker may have woken us first), -1 when
 * the transfer has been cut.
 */
static int
export_page(struct http_request *req, struct rq *rq, struct export_st *st)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT) {
		http_request_sleep(req);
		return (0);
	}
	if (r == DB_FAIL || !export_take(rq, st) || !export_flush(req, st)) {
		(void)export_fail(req);
		return (-1);
	}
	return (1);
}

/* The query for the next page of the current section. */
static void
export_ask(struct http_request *req, struct rq *rq, struct export_st *st)
{
	const struct export_section	*s = &export_sections[st->section];
	const char			*p[5];
	char				 n[EXPORT_NUM], cap[EXPORT_NUM];
	char				 pos[EXPORT_NUM];

	if (!st->opened) {
		kore_buf_appendf(&st->out, ",\"%s\":[", s->name);
		st->opened = 1;
		st->items = 0;
		st->child = 0;
		(void)kore_strlcpy(st->ts, "-infinity", sizeof(st->ts));
		(void)kore_strlcpy(st->id, s->id0, sizeof(st->id));
	}
	(void)snprintf(cap, sizeof(cap), "%d", EXPORT_PAGE_BYTES);
	(void)snprintf(pos, sizeof(pos), "%lld", st->pos);
	if (!st->child) {
		(void)snprintf(n, sizeof(n), "%d", s->kind == EXPORT_TEXT ?
		    EXPORT_SLICE : EXPORT_ROWS);
		p[0] = rq->user.id;
		p[1] = st->ts;
		p[2] = st->id;
		p[3] = n;
		p[4] = cap;
		db_start(req, &rq->q, s->sql, s->nparams, p);
		return;
	}
	(void)snprintf(n, sizeof(n), "%d", s->kind == EXPORT_TEXT ?
	    EXPORT_SLICE : EXPORT_ROWS);
	p[0] = st->parent;
	p[1] = rq->user.id;
	p[2] = pos;
	p[3] = n;
	p[4] = cap;
	db_start(req, &rq->q, s->sql_child, s->kind == EXPORT_TEXT ? 4 : 5,
	    p);
}

/* The page that came back, into st->out; 0 on a malformed answer. */
static int
export_take(struct rq *rq, struct export_st *st)
{
	const struct export_section	*s = &export_sections[st->section];
	const struct dbq		*q = &rq->q;
	int				 more;

	if (!st->child && s->kind == EXPORT_ROWS_KIND) {
		if ((more = export_rows(q, st, &st->items, 3)) < 0)
			return (0);
		if (db_rows(q) > 0 &&
		    (!export_key(st->ts, db_val(q, db_rows(q) - 1, 1)) ||
		    !export_key(st->id, db_val(q, db_rows(q) - 1, 2))))
			return (0);
		if (!more)
			export_close(st);
		return (1);
	}
	if (!st->child)
		return (export_parent(q, st, s));
	if (s->kind == EXPORT_TEXT)
		return (export_text(q, st, 0));

	if ((more = export_rows(q, st, &st->child_items, 2)) < 0)
		return (0);
	if (db_rows(q) > 0)
		st->pos = strtoll(db_val(q, db_rows(q) - 1, 1), NULL, 10);
	if (!more) {
		EXPORT_LIT(&st->out, "]}");
		st->child = 0;
	}
	return (1);
}

/* The next conversation or document: its object, left open. */
static int
export_parent(const struct dbq *q, struct export_st *st,
    const struct export_section *s)
{
	if (db_rows(q) == 0) {
		export_close(st);
		return (1);
	}
	if (!export_key(st->ts, db_val(q, 0, 1)) ||
	    !export_key(st->id, db_val(q, 0, 2)) ||
	    !export_key(st->parent, db_val(q, 0, 2)))
		return (0);
	if (st->items++ > 0)
		EXPORT_LIT(&st->out, ",");
	kore_buf_append(&st->out, db_val(q, 0, 0), (size_t)db_len(q, 0, 0));
	st->child = 1;
	st->child_items = 0;
	st->pos = 0;
	if (s->kind == EXPORT_THREAD) {
		EXPORT_LIT(&st->out, ",\"messages\":[");
		return (1);
	}
	if (db_isnull(q, 0, 3)) {
		EXPORT_LIT(&st->out, ",\"content\":null}");
		st->child = 0;
		return (1);
	}
	st->len = strtoll(db_val(q, 0, 3), NULL, 10);
	st->pos = 1;
	EXPORT_LIT(&st->out, ",\"content\":\"");
	return (export_text(q, st, 4));
}

/*
 * A slice of a document's text (column col, a JSON string): its inside,
 * so the slices make one string.  No row: the document went away.
 */
static int
export_text(const struct dbq *q, struct export_st *st, int col)
{
	int		len;

	if (db_rows(q) == 1 && !db_isnull(q, 0, col)) {
		if ((len = db_len(q, 0, col)) < 2)
			return (0);
		kore_buf_append(&st->out, db_val(q, 0, col) + 1,
		    (size_t)len - 2);
		st->pos += EXPORT_SLICE;
	} else {
		st->pos = st->len + 1;
	}
	if (st->pos > st->len) {
		EXPORT_LIT(&st->out, "\"}");
		st->child = 0;
	}
	return (1);
}

/*
 * The rows of a page (JSON in column 0, the rows read before the byte
 * cut in column fcol), comma-separated after *items earlier ones.
 * Returns 1 when more may follow, 0 at the end, -1 on a bad answer.
 */
static int
export_rows(const struct dbq *q, struct export_st *st, int *items,
    int fcol)
{
	long		fetched;
	int		i, n;

	n = db_rows(q);
	for (i = 0; i < n; i++) {
		if (db_isnull(q, i, 0))
			return (-1);
		if ((*items)++ > 0)
			EXPORT_LIT(&st->out, ",");
		kore_buf_append(&st->out, db_val(q, i, 0),
		    (size_t)db_len(q, i, 0));
	}
	if (n == 0)
		return (0);
	fetched = strtol(db_val(q, 0, fcol), NULL, 10);
	return (fetched == EXPORT_ROWS || n < fetched);
}

static void
export_close(struct export_st *st)
{
	EXPORT_LIT(&st->out, "]");
	st->section++;
	st->opened = 0;
	st->child = 0;
}

static int
export_key(char *dst, const char *v)
{
	if (v == NULL || strlen(v) >= EXPORT_KEY_MAX)
		return (0);
	(void)kore_strlcpy(dst, v, EXPORT_KEY_MAX);
	return (1);
}

/*
 * What st->out holds as one chunk, then a marker: Kore calls
 * export_reached when the chunk has gone to the socket.
 */
static int
export_flush(struct http_request *req, struct export_st *st)
{
	struct connection	*c = req->owner;
	struct netbuf		*nb;
	char			 hdr[RQ_CHUNK_HDR];
	int			 n;

	if (st->out.offset == 0)
		return (1);
	n = snprintf(hdr, sizeof(hdr), "%zx\r\n", st->out.offset);
	net_send_queue(c, hdr, (size_t)n);
	net_send_queue(c, st->out.data, st->out.offset);
	net_send_queue(c, "\r\n", 2);
	kore_buf_reset(&st->out);

	net_send_stream(c, NULL, 0, export_reached, &nb);
	nb->extra = st;
	st->markers++;
	return (net_send_flush(c) == KORE_RESULT_OK);
}

/* The document's end and the last chunk. */
static int
export_end(struct http_request *req, struct export_st *st)
{
	static const char	last[] = "0\r\n\r\n";

	EXPORT_LIT(&st->out, "}\n");
	if (!export_flush(req, st))
		return (export_fail(req));
	rq_stream_close(req->owner);
	net_send_queue(req->owner, last, sizeof(last) - 1);
	if (net_send_flush(req->owner) != KORE_RESULT_OK)
		return (export_fail(req));
	return (KORE_RESULT_OK);
}

/* Bytes queued on c that the socket has not taken yet. */
static size_t
export_queued(struct connection *c)
{
	struct netbuf	*nb;
	size_t		 n;

	n = 0;
	TAILQ_FOREACH(nb, &c->send_queue, list)
		n += nb->b_len - nb->s_off;
	return (n);
}

/*
 * A marker reached the socket, or the connection is going away (Kore
 * removes every netbuf then, before it frees the request).
 */
static int
export_reached(struct netbuf *nb)
{
	struct export_st	*st = nb->extra;

	if (st == NULL)
		return (KORE_RESULT_OK);
	nb->extra = NULL;
	st->markers--;
	http_request_wakeup(st->req);
	return (KORE_RESULT_OK);
}

/*
 * The request is freed: markers still queued on a live connection (the
 * last pages, or a cut transfer) must not call back into st.
 */
static void
export_free(void *arg)
{
	struct export_st	*st = arg;
	struct netbuf		*nb;

	if (st->req != NULL && st->req->owner != NULL) {
		TAILQ_FOREACH(nb, &st->req->owner->send_queue, list) {
			if (nb->cb == export_reached && nb->extra == st)
				nb->extra = NULL;
		}
	}
	st->markers = 0;
	if (st->out.data != NULL)
		kore_buf_cleanup(&st->out);
}

/* After the headers the only honest failure is a cut transfer. */
static int
export_fail(struct http_request *req)
{
	if (req->owner != NULL)
		kore_connection_disconnect(req->owner);
	return (KORE_RESULT_OK);
}
