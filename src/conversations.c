/*
 * Conversations (docs/API.md §5): create, list, get, rename or archive,
 * delete, their messages, and the documents attached to them.
 */
#include <stdio.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "chat.h"
#include "lib/uuid.h"

static int	conv_list(struct http_request *, struct rq *);
static int	conv_create(struct http_request *, struct rq *);
static int	conv_get(struct http_request *, struct rq *);
static int	conv_patch(struct http_request *, struct rq *);
static int	conv_delete(struct http_request *, struct rq *);
static int	conv_messages(struct http_request *, struct rq *);
static int	conv_doc_attach(struct http_request *, struct rq *);
static int	conv_doc_detach(struct http_request *, struct rq *);
static int	conv_one(struct http_request *, struct rq *, const char *);

ROUTE(page_chat_conversations, "/api/v1/chat/conversations",
    { HTTP_METHOD_GET, conv_list, RQ_USER },
    { HTTP_METHOD_POST, conv_create, RQ_USER })
ROUTE(page_chat_conversation, "/api/v1/chat/conversations/{conversation_id}",
    { HTTP_METHOD_GET, conv_get, RQ_USER },
    { HTTP_METHOD_PATCH, conv_patch, RQ_USER },
    { HTTP_METHOD_DELETE, conv_delete, RQ_USER })
ROUTE(page_chat_messages,
    "/api/v1/chat/conversations/{conversation_id}/messages",
    { HTTP_METHOD_GET, conv_messages, RQ_USER })
ROUTE(page_chat_conv_docs,
    "/api/v1/chat/conversations/{conversation_id}/documents",
    { HTTP_METHOD_POST, conv_doc_attach, RQ_USER })
ROUTE(page_chat_conv_doc,
    "/api/v1/chat/conversations/{conversation_id}/documents/{document_id}",
    { HTTP_METHOD_DELETE, conv_doc_detach, RQ_USER })
#define CONV_LIVE	"user_id = $2 AND deleted_at IS NULL"

static const char sql_conv_get[] =
    "SELECT chat_conversation_json(c) FROM conversations c "
    "WHERE id = $1 AND " CONV_LIVE;

static const char sql_conv_create[] =
    "INSERT INTO conversations (user_id, title, metadata) "
    "VALUES ($1, $2, coalesce($3::jsonb, '{}')) "
    "RETURNING chat_conversation_json(conversations)";

static const char sql_conv_patch[] =
    "UPDATE conversations SET title = coalesce($3, title), "
    "is_archived = coalesce($4::boolean, is_archived), "
    "metadata = coalesce($5::jsonb, metadata), updated_at = now() "
    "WHERE id = $1 AND " CONV_LIVE " "
    "RETURNING chat_conversation_json(conversations)";

static const char sql_conv_delete[] =
    "UPDATE conversations SET deleted_at = now(), updated_at = now() "
    "WHERE id = $1 AND " CONV_LIVE " "
    "RETURNING json_build_object('deleted_id', id)";

#define CONV_ORDER	"coalesce(last_message_at, created_at) DESC, id DESC"
#define CONV_FILTER	"user_id = $1 AND deleted_at IS NULL " \
			"AND is_archived = $2::boolean"

static const char sql_conv_list[] =
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "chat_conversation_json(c::conversations) ORDER BY " CONV_ORDER ") "
    "FROM (SELECT * FROM conversations WHERE " CONV_FILTER
    " ORDER BY " CONV_ORDER " LIMIT $3::int OFFSET $4::int) c), "
    "'[]'::json), 'total', (SELECT count(*) FROM conversations WHERE "
    CONV_FILTER "), 'limit', $3::int, 'offset', $4::int)";

static const char sql_conv_messages[] =
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "chat_message_json(m::messages) ORDER BY m.seq) FROM (SELECT * "
    "FROM messages WHERE conversation_id = c.id ORDER BY seq "
    "LIMIT $3::int OFFSET $4::int) m), '[]'::json), 'total', "
    "(SELECT count(*) FROM messages WHERE conversation_id = c.id), "
    "'limit', $3::int, 'offset', $4::int) "
    "FROM conversations c WHERE c.id = $1 AND c." CONV_LIVE;

/* chat_document_owned() is the documents migration's hook (004). */
static const char sql_conv_attach[] =
    "WITH d AS (SELECT c.id FROM conversations c WHERE c.id = $1 "
    "AND c." CONV_LIVE " AND chat_document_owned($3::uuid, $2::uuid)), "
    "ins AS (INSERT INTO conversation_documents (conversation_id, "
    "document_id) SELECT id, $3::uuid FROM d ON CONFLICT DO NOTHING "
    "RETURNING created_at) "
    "SELECT json_build_object('conversation_id', d.id, 'document_id', "
    "$3::uuid, 'created_at', rfc3339(coalesce((SELECT created_at FROM "
    "ins), (SELECT created_at FROM conversation_documents WHERE "
    "conversation_id = d.id AND document_id = $3::uuid)))), "
    "(SELECT count(*) FROM ins) FROM d";

static const char sql_conv_detach[] =
    "DELETE FROM conversation_documents cd USING conversations c "
    "WHERE cd.conversation_id = $1 AND cd.document_id = $3::uuid "
    "AND c.id = cd.conversation_id AND c." CONV_LIVE " "
    "RETURNING json_build_object('conversation_id', cd.conversation_id, "
    "'document_id', cd.document_id, 'detached', true)";

static int
conv_list(struct http_request *req, struct rq *rq)
{
	const char	*params[4];
	char		 lim[RQ_NUM], off[RQ_NUM];

	if (rq->step == 0) {
		if (!q_page_text(req, rq, lim, off))
			return (KORE_RESULT_OK);
		params[0] = rq->user.id;
		params[1] = q_bool(req, "archived", 0) ? "true" : "false";
		params[2] = lim;
		params[3] = off;
		db_start(req, &rq->q, sql_conv_list, 4, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Conversations"));
}

static int
conv_create(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*body, *meta;
	const char	*params[3], *title;
	char		*ms;

	if (rq->step == 0) {
		if (rq_json(req, rq, &body) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		title = NULL;
		meta = NULL;
		(void)jsonx_get_str(body, "title", JF_REQUIRED | JF_NOTBLANK,
		    CHAT_TITLE_MIN, CHAT_TITLE_MAX, &v, &title);
		(void)jsonx_get_object(body, "metadata", JF_NULLABLE, &v,
		    &meta);
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		ms = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
		params[0] = rq->user.id;
		params[1] = title;
		params[2] = ms;
		db_start(req, &rq->q, sql_conv_create, 3, params);
		free(ms);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 201, "Conversation created"));
}

static int
conv_get(struct http_request *req, struct rq *rq)
{
	return (conv_one(req, rq, sql_conv_get));
}

static int
conv_delete(struct http_request *req, struct rq *rq)
{
	return (conv_one(req, rq, sql_conv_delete));
}

/* One statement on the caller's conversation of the path, answered. */
static int
conv_one(struct http_request *req, struct rq *rq, const char *sql)
{
	if (rq->step == 0) {
		if (!rq_owned(req, rq, CHAT_SEG_CONV, sql))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "OK"));
}

static int
conv_patch(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*body, *meta;
	const char	*params[5], *title;
	char		 id[CHAT_ID_MAX], *ms;
	int		 arch, present;

	if (rq->step == 0) {
		if (!rq_path_id(req, CHAT_SEG_CONV, id, sizeof(id)) ||
		    !uuid_valid(id))
			return (rq_not_found(req, rq));
		if (rq_json(req, rq, &body) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		title = NULL;
		meta = NULL;
		arch = 0;
		present = 0;
		(void)jsonx_get_str(body, "title", JF_NOTBLANK, CHAT_TITLE_MIN,
		    CHAT_TITLE_MAX, &v, &title);
		(void)jsonx_get_bool(body, "is_archived", 0, &v, &arch,
		    &present);
		(void)jsonx_get_object(body, "metadata", 0, &v, &meta);
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		ms = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = title;
		params[3] = present ? (arch ? "true" : "false") : NULL;
		params[4] = ms;
		db_start(req, &rq->q, sql_conv_patch, 5, params);
		free(ms);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Conversation updated"));
}

static int
conv_messages(struct http_request *req, struct rq *rq)
{
	const char	*params[4];
	char		 id[CHAT_ID_MAX], lim[RQ_NUM], off[RQ_NUM];

	if (rq->step == 0) {
		if (!rq_path_id(req, CHAT_SEG_CONV, id, sizeof(id)) ||
		    !uuid_valid(id))
			return (rq_not_found(req, rq));
		if (!q_page_text(req, rq, lim, off))
			return (KORE_RESULT_OK);
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = lim;
		params[3] = off;
		db_start(req, &rq->q, sql_conv_messages, 4, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Messages"));
}

static int
conv_doc_attach(struct http_request *req, struct rq *rq)
{
	struct verr	 v;
	json_t		*body;
	const char	*params[3], *doc;
	char		 id[CHAT_ID_MAX];
	int		 r;

	if (rq->step == 0) {
		if (!rq_path_id(req, CHAT_SEG_CONV, id, sizeof(id)) ||
		    !uuid_valid(id))
			return (rq_not_found(req, rq));
		if (rq_json(req, rq, &body) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		doc = NULL;
		if (jsonx_get_str(body, "document_id", JF_REQUIRED, 1,
		    UUID_STRLEN, &v, &doc) && !uuid_valid(doc))
			verr_add(&v, "document_id", "invalid",
			    "document_id must be a UUID");
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = doc;
		db_start(req, &rq->q, sql_conv_attach, 3, params);
		rq->step = 1;
	}
	if (!rq_polled(req, rq, &r))
		return (r);
	if (db_rows(&rq->q) == 0)
		return (rq_not_found(req, rq));
	r = db_val(&rq->q, 0, 1) != NULL && strcmp(db_val(&rq->q, 0, 1), "0");
	return (rq_ok_raw(req, rq, r ? 201 : 200, "Document attached",
	    db_val(&rq->q, 0, 0), (size_t)db_len(&rq->q, 0, 0)));
}

static int
conv_doc_detach(struct http_request *req, struct rq *rq)
{
	const char	*params[3];
	char		 id[CHAT_ID_MAX], doc[CHAT_ID_MAX];

	if (rq->step == 0) {
		if (!rq_path_id(req, CHAT_SEG_CONV, id, sizeof(id)) ||
		    !uuid_valid(id) ||
		    !rq_path_id(req, CHAT_SEG_DOC, doc, sizeof(doc)) ||
		    !uuid_valid(doc))
			return (rq_not_found(req, rq));
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = doc;
		db_start(req, &rq->q, sql_conv_detach, 3, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Document detached"));
}
