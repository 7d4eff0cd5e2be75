/*
 * Documents (docs/API.md §6): list and full-text search, one document, its
 * text, its chunks, the original bytes, delete.  Everything is scoped to
 * the caller: another user's document answers 404 like a missing one.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "documents.h"
#include "query.h"
#include "audit.h"
#include "lib/hex.h"
#include "lib/idlist.h"
#include "lib/uuid.h"

#define DOC_CD_MAX		1024	/* Content-Disposition header */

static int	doc_list(struct http_request *, struct rq *);
static int	doc_get(struct http_request *, struct rq *);
static int	doc_delete(struct http_request *, struct rq *);
static int	doc_bulk(struct http_request *, struct rq *);
static int	doc_content(struct http_request *, struct rq *);
static int	doc_chunks(struct http_request *, struct rq *);
static int	doc_download(struct http_request *, struct rq *);
static int	doc_id(struct http_request *, char *, size_t);
static void	doc_disposition(const char *, char *, size_t);
static int	doc_row(struct http_request *, struct rq *, const char *,
		    int *);

ROUTE(page_documents, "/api/v1/documents",
    { HTTP_METHOD_GET, doc_list, RQ_USER },
    { HTTP_METHOD_POST, doc_upload, RQ_USER | RQ_RAWBODY })
ROUTE(page_documents_bulk, "/api/v1/documents/bulk",
    { HTTP_METHOD_POST, doc_bulk, RQ_USER })
ROUTE(page_document, "/api/v1/documents/{document_id}",
    { HTTP_METHOD_GET, doc_get, RQ_USER },
    { HTTP_METHOD_DELETE, doc_delete, RQ_USER })
ROUTE(page_document_content, "/api/v1/documents/{document_id}/content",
    { HTTP_METHOD_GET, doc_content, RQ_USER })
ROUTE(page_document_chunks, "/api/v1/documents/{document_id}/chunks",
    { HTTP_METHOD_GET, doc_chunks, RQ_USER })
ROUTE(page_document_download, "/api/v1/documents/{document_id}/download",
    { HTTP_METHOD_GET, doc_download, RQ_USER })
ROUTE(page_document_analyze, "/api/v1/documents/{document_id}/analyze",
    { HTTP_METHOD_POST, doc_analyze, RQ_USER })
ROUTE(page_document_analysis, "/api/v1/documents/{document_id}/analysis",
    { HTTP_METHOD_GET, doc_analysis_get, RQ_USER })

/*
 * $1 user, $2 status, $3 category, $4 q, $5 limit, $6 offset.  With q,
 * documents whose chunks (or name) match every word, best chunk first.
 */
static const char sql_list[] =
    "WITH q AS (SELECT CASE WHEN $4::text IS NULL THEN NULL "
    "ELSE doc_tsquery_all($4) END AS tq), "
    "f AS (SELECT d AS doc, d.id, d.created_at, "
    "CASE WHEN q.tq IS NULL THEN 0 ELSE "
    "coalesce((SELECT max(ts_rank(c.tsv, q.tq)) FROM document_chunks c "
    "WHERE c.document_id = d.id AND c.tsv @@ q.tq), 0) + "
    "CASE WHEN to_tsvector('simple', d.original_filename) @@ q.tq "
    "THEN 1 ELSE 0 END END AS rank "
    "FROM documents d, q WHERE d.user_id = $1 "
    "AND ($2::text IS NULL OR d.processing_status = $2) "
    "AND ($3::text IS NULL OR d.document_category = $3) "
    "AND (q.tq IS NULL OR to_tsvector('simple', d.original_filename) "
    "@@ q.tq OR EXISTS (SELECT 1 FROM document_chunks c "
    "WHERE c.document_id = d.id AND c.tsv @@ q.tq))), "
    "p AS (SELECT * FROM f ORDER BY rank DESC, created_at DESC, id "
    "LIMIT $5::int OFFSET $6::int) "
    "SELECT json_build_object('items', coalesce((SELECT "
    "json_agg(document_json(p.doc) ORDER BY p.rank DESC, p.created_at "
    "DESC, p.id) FROM p), '[]'::json), 'total', (SELECT count(*) FROM f), "
    "'limit', $5::int, 'offset', $6::int)";

static const char sql_get[] =
    "SELECT document_json(d), array_to_json(d.warnings) FROM documents d "
    "WHERE d.id = $1 AND d.user_id = $2";

static const char sql_content[] =
    "SELECT json_build_object('document_id', d.id, 'processing_status', "
    "d.processing_status, 'content', d.content), "
    "array_to_json(d.warnings) FROM documents d "
    "WHERE d.id = $1 AND d.user_id = $2";

static const char sql_chunks[] =
    "SELECT json_build_object('items', coalesce((SELECT "
    "json_agg(chunk_json(c) ORDER BY c.chunk_index) FROM (SELECT * FROM "
    "document_chunks WHERE document_id = d.id ORDER BY chunk_index "
    "LIMIT $3::int OFFSET $4::int) c), '[]'::json), "
    "'total', d.chunk_count, 'limit', $3::int, 'offset', $4::int) "
    "FROM documents d WHERE d.id = $1 AND d.user_id = $2";

static const char sql_download[] =
    "SELECT d.original_filename, d.mime_type, b.data FROM documents d "
    "JOIN document_blobs b ON b.document_id = d.id "
    "WHERE d.id = $1 AND d.user_id = $2";

/* The document, its chunks, bytes and analyses (cascade), its jobs. */
static const char sql_delete[] =
    "WITH d AS (DELETE FROM documents WHERE id = $1 AND user_id = $2 "
    "RETURNING id, original_filename, file_size), "
    "j AS (UPDATE jobs SET status = 'cancelled', finished_at = now(), "
    "updated_at = now() FROM d WHERE jobs.status = 'queued' "
    "AND jobs.payload->>'document_id' = d.id::text), "
    "a AS (" AUDIT_INSERT_FROM("$2::uuid", "'document_deleted'", "$3", "$4",
    "jsonb_build_object('document_id', d.id, 'filename', "
    "d.original_filename, 'file_size', d.file_size)", "d") ") "
    "SELECT json_build_object('deleted_id', d.id) FROM d";

/*
 * Bulk delete: $1 user, $2 the ids (uuid[]), $3 ip, $4 user agent.  One
 * statement deletes every document of the user in the list as
 * sql_delete deletes one (jobs cancelled, one audit row each) and
 * answers which ids it deleted and which it did not find (or found under
 * another user), each in the order first given.
 */
static const char sql_bulk_delete[] =
    "WITH w AS (SELECT id, min(n) AS n FROM unnest($2::uuid[]) "
    "WITH ORDINALITY AS x(id, n) GROUP BY id), "
    "d AS (DELETE FROM documents USING w WHERE documents.id = w.id "
    "AND documents.user_id = $1 "
    "RETURNING documents.id, original_filename, file_size), "
    "j AS (UPDATE jobs SET status = 'cancelled', finished_at = now(), "
    "updated_at = now() FROM d WHERE jobs.status = 'queued' "
    "AND jobs.payload->>'document_id' = d.id::text), "
    "a AS (" AUDIT_INSERT_FROM("$1::uuid", "'document_deleted'", "$3", "$4",
    "jsonb_build_object('document_id', d.id, 'filename', "
    "d.original_filename, 'file_size', d.file_size, 'bulk', true)", "d")
    "), "
    "r AS (SELECT w.id, w.n, d.id IS NOT NULL AS hit FROM w "
    "LEFT JOIN d ON d.id = w.id) "
    "SELECT json_build_object('action', 'delete', "
    "'count', (SELECT count(*) FROM d), "
    "'ids', coalesce((SELECT json_agg(id ORDER BY n) FROM r WHERE hit), "
    "'[]'::json), "
    "'not_found', coalesce((SELECT json_agg(id ORDER BY n) FROM r "
    "WHERE NOT hit), '[]'::json))";

static const char *const doc_bulk_actions[] = { "delete", NULL };

static int
doc_id(struct http_request *req, char *id, size_t len)
{
	return (rq_path_id(req, DOC_SEG_ID, id, len) && uuid_valid(id));
}

static int
doc_list(struct http_request *req, struct rq *rq)
{
	const char	*p[6], *status, *cat, *q;
	char		 l[RQ_NUM], o[RQ_NUM];

	if (rq->step == 0) {
		if (!q_page_text(req, rq, l, o))
			return (KORE_RESULT_OK);
		status = q_get(req, "status");
		cat = q_get(req, "category");
		q = q_get(req, "q");
		p[0] = rq->user.id;
		p[1] = status;
		p[2] = cat;
		p[3] = q;
		p[4] = l;
		p[5] = o;
		db_start(req, &rq->q, sql_list, 6, p);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Documents"));
}

/* GET one document or its text: the stored warnings join the envelope's. */
static int
doc_one(struct http_request *req, struct rq *rq, const char *sql,
    const char *msg)
{
	json_t		*w, *e;
	size_t		 i;
	int		 r;

	if (!doc_row(req, rq, sql, &r))
		return (r);
	if ((w = json_loads(db_val(&rq->q, 0, 1), 0, NULL)) != NULL) {
		json_array_foreach(w, i, e) {
			if (json_is_string(e))
				rq_warn(rq, json_string_value(e));
		}
		json_decref(w);
	}
	return (rq_ok_raw(req, rq, 200, msg, db_val(&rq->q, 0, 0),
	    (size_t)db_len(&rq->q, 0, 0)));
}

static int
doc_get(struct http_request *req, struct rq *rq)
{
	return (doc_one(req, rq, sql_get, "Document"));
}

static int
doc_content(struct http_request *req, struct rq *rq)
{
	return (doc_one(req, rq, sql_content, "Document content"));
}

static int
doc_chunks(struct http_request *req, struct rq *rq)
{
	const char	*p[4];
	char		 id[40], l[RQ_NUM], o[RQ_NUM];

	if (rq->step == 0) {
		if (!doc_id(req, id, sizeof(id)))
			return (rq_not_found(req, rq));
		if (!q_page_text(req, rq, l, o))
			return (KORE_RESULT_OK);
		p[0] = id;
		p[1] = rq->user.id;
		p[2] = l;
		p[3] = o;
		db_start(req, &rq->q, sql_chunks, 4, p);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Document chunks"));
}

static int
doc_download(struct http_request *req, struct rq *rq)
{
	const char	*hex;
	char		 cd[DOC_CD_MAX];
	u_int8_t	*buf;
	size_t		 n;
	int		 r;

	if (!doc_row(req, rq, sql_download, &r))
		return (r);
	/* bytea in text form: \x and two hex digits a byte. */
	hex = db_val(&rq->q, 0, 2);
	n = (size_t)db_len(&rq->q, 0, 2);
	if (n < 2 || hex[0] != '\\' || hex[1] != 'x' || n % 2 != 0)
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal error", NULL));
	n = (n - 2) / 2;
	buf = kore_malloc(n ? n : 1);
	if (hex_decode(hex + 2, buf, n, 0) != 0) {
		kore_free(buf);
		return (rq_error(req, rq, 500, "internal_error",
		    "Internal error", NULL));
	}
	doc_disposition(db_val(&rq->q, 0, 0), cd, sizeof(cd));
	http_response_header(req, "content-disposition", cd);
	r = rq_send(req, rq, 200, db_val(&rq->q, 0, 1), buf, n);
	kore_free(buf);
	return (r);
}

/*
 * The row of sql on the caller's document of the path: 1 once it is
 * there; else 0 and *ret is what the handler returns (waiting, 404,
 * 503/500).
 */
static int
doc_row(struct http_request *req, struct rq *rq, const char *sql, int *ret)
{
	if (rq->step == 0) {
		if (!rq_owned(req, rq, DOC_SEG_ID, sql)) {
			*ret = KORE_RESULT_OK;
			return (0);
		}
		rq->step = 1;
	}
	if (!rq_polled(req, rq, ret))
		return (0);
	if (db_rows(&rq->q) == 0) {
		*ret = rq_not_found(req, rq);
		return (0);
	}
	return (1);
}

/*
 * attachment; filename="<printable ASCII, no quote or backslash>";
 * filename*=UTF-8''<RFC 5987 percent-encoding>.  Nothing of the name can
 * end the header or add a parameter: CR, LF, quotes, ';' never pass raw.
 */
static void
doc_disposition(const char *name, char *out, size_t len)
{
	static const char	 hexd[] = "0123456789ABCDEF";
	char			 ascii[DOC_FILENAME_MAX + 1];
	const unsigned char	*s;
	size_t			 a = 0, o;
	int			 c;

	for (s = (const unsigned char *)name; *s != '\0' &&
	    a < sizeof(ascii) - 1; s++) {
		c = *s;
		if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\' ||
		    c == ';' || c == '%')
			c = '_';
		ascii[a++] = (char)c;
	}
	ascii[a] = '\0';
	if (a == 0)
		(void)snprintf(ascii, sizeof(ascii), "download");
	o = (size_t)snprintf(out, len,
	    "attachment; filename=\"%s\"; filename*=UTF-8''", ascii);
	for (s = (const unsigned char *)name; *s != '\0' && o + 4 < len;
	    s++) {
		c = *s;
		if (isalnum(c) || strchr("!#$&+-.^_`|~", c) != NULL) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hexd[c >> 4];
			out[o++] = hexd[c & 0x0f];
		}
	}
	out[o < len ? o : len - 1] = '\0';
}

static int
doc_delete(struct http_request *req, struct rq *rq)
{
	const char	*p[4];
	char		 id[40], ua[AUDIT_UA_SIZE];

	if (rq->step == 0) {
		if (!doc_id(req, id, sizeof(id)))
			return (rq_not_found(req, rq));
		p[0] = id;
		p[1] = rq->user.id;
		p[2] = rq->ip;
		p[3] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_delete, 4, p);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Document deleted"));
}

/* POST /api/v1/documents/bulk {"action": "delete", "ids": [...]}. */
static int
doc_bulk(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*obj;
	const char	*p[4], *action;
	char		 ids[IDLIST_TEXT_MAX], ua[AUDIT_UA_SIZE];

	if (rq->step == 0) {
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		(void)jsonx_get_enum(obj, "action", JF_REQUIRED,
		    doc_bulk_actions, &v, &action);
		(void)idlist_get(obj, "ids", IDLIST_MAX, &v, ids);
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		p[0] = rq->user.id;
		p[1] = ids;
		p[2] = rq->ip;
		p[3] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_bulk_delete, 4, p);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Bulk operation done"));
}
