/*
 * Administration of accounts (docs/API.md §3, is_superuser only): list and
 * search users, read and change one, purge one, and read the audit
 * trail of everyone.  The dispatcher answers 403 to non-admins
 * (RQ_ADMIN).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "audit.h"
#include "users.h"
#include "lib/uuid.h"

static int	adm_list(struct http_request *, struct rq *);
static int	adm_get(struct http_request *, struct rq *);
static int	adm_patch(struct http_request *, struct rq *);
static int	adm_delete(struct http_request *, struct rq *);
static int	adm_audit(struct http_request *, struct rq *);
static int	adm_id(struct http_request *, struct rq *, char *, size_t);
static int	adm_bad_id(struct http_request *, struct rq *);
static int	adm_answer(struct http_request *, struct rq *, const char *);

ROUTE(page_users, "/api/v1/users",
    { HTTP_METHOD_GET, adm_list, RQ_ADMIN })
ROUTE(page_user, "/api/v1/users/{user_id}",
    { HTTP_METHOD_GET, adm_get, RQ_ADMIN },
    { HTTP_METHOD_PATCH, adm_patch, RQ_ADMIN },
    { HTTP_METHOD_DELETE, adm_delete, RQ_ADMIN })
ROUTE(page_audit, "/api/v1/audit",
    { HTTP_METHOD_GET, adm_audit, RQ_ADMIN })

/*
 * search matches email or full name as a substring: LIKE's own
 * metacharacters in it (\ % _) are escaped, so they match themselves.
 */
static const char sql_list[] =
    "WITH q AS (SELECT '%' || replace(replace(replace($1::text, '\\', "
    "'\\\\'), '%', '\\%'), '_', '\\_') || '%' AS pat), "
    "f AS (SELECT u.* FROM users u, q WHERE ($1::text IS NULL OR "
    "u.email::text ILIKE q.pat ESCAPE '\\' OR "
    "u.full_name ILIKE q.pat ESCAPE '\\') AND "
    "($2::bool IS NULL OR u.is_active = $2::bool)) "
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "user_admin_json(p::users) ORDER BY p.created_at DESC, p.id) FROM "
    "(SELECT * FROM f ORDER BY created_at DESC, id LIMIT $3 OFFSET $4) p),"
    " '[]'::json), 'total', (SELECT count(*) FROM f), "
    "'limit', $3::int, 'offset', $4::int)";

static const char sql_get[] =
    "SELECT user_admin_json(u) FROM users u WHERE id = $1";

/*
 * A purge: the row goes and the foreign keys cascade to everything the
 * user owns.  Sessions are revoked first, in the same statement, so the
 * trigger's NOTIFY drops them from every worker's cache at commit.  The
 * audit row keeps the id (audit_events has no foreign key).
 */
static const char sql_purge[] =
    "WITH s AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'account_purged' WHERE user_id = $1 AND "
    "revoked_at IS NULL RETURNING id), "
    "d AS (DELETE FROM users WHERE id = $1 RETURNING id, email), "
    "a AS (" AUDIT_INSERT_FROM("d.id", "'user_deleted'", "$3", "$4",
    "jsonb_build_object('actor_id', $2::uuid, 'purge', true, "
    "'email', d.email, 'sessions_revoked', (SELECT count(*) FROM s))",
    "d") ") "
    "SELECT json_build_object('id', id, 'deleted', true, 'purged', true), "
    "(SELECT array_agg(id) FROM s)::text FROM d";

static const char sql_audit[] =
    "WITH f AS (SELECT * FROM audit_events WHERE "
    "($1::uuid IS NULL OR user_id = $1::uuid) AND "
    "($2::text IS NULL OR event = $2)) "
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "json_build_object('id', a.id, 'user_id', a.user_id, "
    "'event', a.event, 'ip', a.ip, 'user_agent', a.user_agent, "
    "'details', a.details, 'created_at', rfc3339(a.created_at)) "
    "ORDER BY a.created_at DESC, a.id DESC) FROM (SELECT * FROM f "
    "ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4) a), "
    "'[]'::json), 'total', (SELECT count(*) FROM f), "
    "'limit', $3::int, 'offset', $4::int)";

static int
adm_list(struct http_request *req, struct rq *rq)
{
	const char	*params[4], *search, *active;
	char		lim[RQ_NUM], off[RQ_NUM];
	struct verr	v;
	int		b;

	if (rq->step == 0) {
		verr_init(&v);
		(void)q_refused(req, &v);
		q_paging_text(req, lim, off);
		search = q_get(req, "search");
		b = q_bool(req, "is_active", -1);
		active = b < 0 ? NULL : b ? "t" : "f";
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = search;
		params[1] = active;
		params[2] = lim;
		params[3] = off;
		db_start(req, &rq->q, sql_list, 4, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Users"));
}

static int
adm_get(struct http_request *req, struct rq *rq)
{
	const char	*params[1];
	char		id[UUID_STRLEN + 1];

	if (rq->step == 0) {
		if (!adm_id(req, rq, id, sizeof(id)))
			return (adm_bad_id(req, rq));
		params[0] = id;
		db_start(req, &rq->q, sql_get, 1, params);
		rq->step = 1;
	}
	return (adm_answer(req, rq, "User"));
}

static int
adm_patch(struct http_request *req, struct rq *rq)
{
	struct users_patch	p;
	struct verr		v;
	char			id[UUID_STRLEN + 1];
	json_t			*obj;

	if (rq->step == 0) {
		if (!adm_id(req, rq, id, sizeof(id)))
			return (adm_bad_id(req, rq));
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		users_patch_read(obj, USERS_PROFILE | USERS_ADMIN, &p, &v);
		if (verr_count(&v)) {
			users_patch_clear(&p);
			return (rq_invalid(req, rq, &v));
		}
		verr_clear(&v);
		/* An admin who locks themself out leaves nobody in charge. */
		if (!strcmp(id, rq->user.id) && ((p.has_active && !p.active) ||
		    (p.has_super && !p.super))) {
			users_patch_clear(&p);
			return (rq_error(req, rq, 409, "conflict",
			    "An admin cannot deactivate or demote themself",
			    NULL));
		}
		users_patch_start(req, rq, id, &p, 1);
		users_patch_clear(&p);
		rq->step = 1;
	}
	return (users_patch_answer(req, rq, "User updated"));
}

static int
adm_delete(struct http_request *req, struct rq *rq)
{
	const char	*params[4];
	char		id[UUID_STRLEN + 1], ua[AUDIT_UA_SIZE];

	if (rq->step == 0) {
		if (!adm_id(req, rq, id, sizeof(id)))
			return (adm_bad_id(req, rq));
		if (!strcmp(id, rq->user.id))
			return (rq_error(req, rq, 409, "conflict",
			    "An admin cannot purge themself", NULL));
		params[0] = id;
		params[1] = rq->user.id;
		params[2] = rq->ip[0] ? rq->ip : NULL;
		params[3] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_purge, 4, params);
		rq->step = 1;
	}
	return (adm_answer(req, rq, "User purged"));
}

static int
adm_audit(struct http_request *req, struct rq *rq)
{
	const char	*params[4], *uid, *ev;
	char		lim[RQ_NUM], off[RQ_NUM];
	struct verr	v;

	if (rq->step == 0) {
		verr_init(&v);
		(void)q_refused(req, &v);
		q_paging_text(req, lim, off);
		uid = q_get(req, "user_id");
		ev = q_get(req, "event");
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = uid;
		params[1] = ev;
		params[2] = lim;
		params[3] = off;
		db_start(req, &rq->q, sql_audit, 4, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "Audit events"));
}

/* The {user_id} of /api/v1/users/{user_id}, a UUID. */
static int
adm_id(struct http_request *req, struct rq *rq, char *id, size_t len)
{
	(void)rq;
	return (rq_path_id(req, 3, id, len) && uuid_valid(id));
}

static int
adm_bad_id(struct http_request *req, struct rq *rq)
{
	struct verr	v;

	verr_init(&v);
	verr_add(&v, "user_id", "invalid", "user_id must be a UUID");
	return (rq_invalid(req, rq, &v));
}

/*
 * Poll a one-row JSON answer: the row, or 404 when there is none.  A
 * second column lists the sessions the statement revoked: this
 * instance's workers drop them before the answer leaves.
 */
static int
adm_answer(struct http_request *req, struct rq *rq, const char *msg)
{
	return (rq_answer_revoked(req, rq, msg));
}
