/*
 * The caller's own account (docs/API.md §3): GET/PATCH/DELETE /users/me, the
 * settings document, the caller's audit trail; and the profile change
 * both /users/me and the admin's /users/{id} use.  The user object is
 * built by PostgreSQL (user_json in sql/008_users.sql).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rq.h"
#include "query.h"
#include "audit.h"
#include "auth.h"
#include "users.h"
#include "auth_mw.h"
#include "lib/phone.h"
#include "lib/username.h"

#define SET_LANG_MAX		35	/* BCP 47 tags in practice */
#define SET_TZ_MAX		64
#define SET_NOTIF_MAX		32	/* notification switches */
#define SET_KEY_MAX		64
#define SET_RETENTION_MIN	1
#define SET_RETENTION_MAX	3650
#define SET_RETENTION_DEF	365

static int	me_get(struct http_request *, struct rq *);
static int	me_patch(struct http_request *, struct rq *);
static int	me_delete(struct http_request *, struct rq *);
static int	settings_get(struct http_request *, struct rq *);
static int	settings_put(struct http_request *, struct rq *);
static int	me_audit(struct http_request *, struct rq *);
static int	username_available(struct http_request *, struct rq *);
static int	users_one(struct http_request *, struct rq *, const char *,
		    const char *);
static json_t	*settings_read(json_t *, struct verr *, const char **);
static json_t	*settings_notif(json_t *, struct verr *);
static void	settings_privacy(json_t *, struct verr *, int64_t *, int *);
static int	settings_lang_ok(const char *);
static int	settings_tz_ok(const char *);
static void	users_prefs_read(json_t *, struct users_patch *,
		    struct verr *);
static void	users_admin_read(json_t *, struct users_patch *,
		    struct verr *);

/* The roles of registration, and the admin's. */
static const char *const users_roles[] = { AUTH_ROLES, "admin", NULL };

ROUTE(page_users_me, "/api/v1/users/me",
    { HTTP_METHOD_GET, me_get, RQ_USER },
    { HTTP_METHOD_PATCH, me_patch, RQ_USER },
    { HTTP_METHOD_DELETE, me_delete, RQ_USER })
ROUTE(page_users_me_settings, "/api/v1/users/me/settings",
    { HTTP_METHOD_GET, settings_get, RQ_USER },
    { HTTP_METHOD_PUT, settings_put, RQ_USER })
ROUTE(page_users_me_audit, "/api/v1/users/me/audit",
    { HTTP_METHOD_GET, me_audit, RQ_USER })
ROUTE(page_username_available, "/api/v1/auth/username-available",
    { HTTP_METHOD_GET, username_available, RQ_PUBLIC | RQ_IPLIMIT })

static const char sql_me[] =
    "SELECT user_json(u) FROM users u WHERE id = $1 AND deleted_at IS NULL";

/*
 * One statement for every profile change: the old flags (to revoke the
 * sessions of a user deactivated, promoted, demoted or given another
 * role, whose tokens carry stale claims; the users_end_sessions trigger
 * does the same for any other writer), the update, the revocation (its
 * trigger tells every worker), and the audit row.  $17: admin view and admin
 * reach (soft-deleted rows too).  $18, $19: change the username, to.
 */
static const char sql_patch[] =
    "WITH o AS (SELECT id, is_active, is_superuser, role FROM users "
    "WHERE id = $1 AND ($17::bool OR deleted_at IS NULL) FOR UPDATE), "
    "u AS (UPDATE users SET "
    "full_name = coalesce($2, full_name), "
    "organization = CASE WHEN $3::bool THEN $4 ELSE organization END, "
    "phone = CASE WHEN $5::bool THEN $6 ELSE phone END, "
    "phone_verified = CASE WHEN $5::bool AND $6 IS DISTINCT FROM phone "
    "THEN false ELSE phone_verified END, "
    "preferences = coalesce($7::jsonb, preferences), "
    "username = CASE WHEN $18::bool THEN $19::citext ELSE username END, "
    "is_active = coalesce($8::bool, is_active), "
    "is_superuser = coalesce($9::bool, is_superuser), "
    "role = coalesce($10, role), "
    "token_quota_daily = CASE WHEN $11::bool THEN $12::bigint "
    "ELSE token_quota_daily END, "
    "updated_at = now() "
    "WHERE id = (SELECT id FROM o) RETURNING users.*), "
    "s AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'account_changed' WHERE revoked_at IS NULL AND "
    "user_id IN (SELECT u.id FROM u JOIN o ON o.id = u.id WHERE "
    "(o.is_active AND NOT u.is_active) OR "
    "o.is_superuser <> u.is_superuser OR o.role <> u.role) "
    "RETURNING id), "
    "a AS (" AUDIT_INSERT_FROM("u.id", "'user_updated'", "$14", "$15",
    "jsonb_build_object('actor_id', $13::uuid, 'fields', $16::jsonb, "
    "'sessions_revoked', (SELECT count(*) FROM s))", "u") ") "
    "SELECT CASE WHEN $17::bool THEN user_admin_json(u::users) "
    "ELSE user_json(u::users) END, (SELECT array_agg(id) FROM s)::text "
    "FROM u";

/*
 * Soft delete: the row stays (its email stays taken until an admin
 * purge), every session is revoked at once.
 */
static const char sql_me_delete[] =
    "WITH u AS (UPDATE users SET deleted_at = now(), is_active = false, "
    "updated_at = now() WHERE id = $1 AND deleted_at IS NULL "
    "RETURNING id, deleted_at), "
    "s AS (UPDATE sessions SET revoked_at = now(), "
    "revoke_reason = 'account_deleted' WHERE revoked_at IS NULL AND "
    "user_id IN (SELECT id FROM u) RETURNING id), "
    "a AS (" AUDIT_INSERT_FROM("u.id", "'user_deleted'", "$2", "$3",
    "jsonb_build_object('actor_id', u.id, 'soft', true, "
    "'sessions_revoked', (SELECT count(*) FROM s))", "u") ") "
    "SELECT json_build_object('id', id, 'deleted', true, "
    "'deleted_at', rfc3339(deleted_at)), "
    "(SELECT array_agg(id) FROM s)::text FROM u";

/* Free: no account, live or soft-deleted, holds it in any case. */
static const char sql_username_free[] =
    "SELECT NOT EXISTS (SELECT 1 FROM users WHERE username = $1::citext)";

static const char sql_settings_get[] =
    "SELECT user_settings(settings) FROM users "
    "WHERE id = $1 AND deleted_at IS NULL";

/* Zero rows: the time zone is unknown to PostgreSQL (the user exists). */
static const char sql_settings_put[] =
    "WITH u AS (UPDATE users SET settings = $2::jsonb, updated_at = now() "
    "WHERE id = $1 AND deleted_at IS NULL AND EXISTS (SELECT 1 FROM "
    "pg_timezone_names WHERE name = $3) RETURNING id, settings), "
    "a AS (" AUDIT_INSERT_FROM("u.id", "'user_updated'", "$4", "$5",
    "jsonb_build_object('actor_id', u.id, 'fields', "
    "jsonb_build_array('settings'))", "u") ") "
    "SELECT user_settings(settings) FROM u";

static const char sql_me_audit[] =
    "SELECT json_build_object('items', coalesce((SELECT json_agg("
    "json_build_object('id', a.id, 'user_id', a.user_id, "
    "'event', a.event, 'ip', a.ip, "
    "'user_agent', a.user_agent, 'details', a.details, "
    "'created_at', rfc3339(a.created_at)) "
    "ORDER BY a.created_at DESC, a.id DESC) FROM (SELECT * FROM "
    "audit_events WHERE user_id = $1 ORDER BY created_at DESC, id DESC "
    "LIMIT $2 OFFSET $3) a), '[]'::json), "
    "'total', (SELECT count(*) FROM audit_events WHERE user_id = $1), "
    "'limit', $2::int, 'offset', $3::int)";

static int
me_get(struct http_request *req, struct rq *rq)
{
	return (users_one(req, rq, sql_me, rq->user.id));
}

/* One row of JSON for one id, or 404. */
static int
users_one(struct http_request *req, struct rq *rq, const char *sql,
    const char *id)
{
	const char	*params[1];

	if (rq->step == 0) {
		params[0] = id;
		db_start(req, &rq->q, sql, 1, params);
		rq->step = 1;
	}
	return (rq_answer(req, rq, 200, "User"));
}

static int
me_patch(struct http_request *req, struct rq *rq)
{
	struct users_patch	p;
	struct verr		v;
	json_t			*obj;

	if (rq->step == 0) {
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		users_patch_read(obj, USERS_PROFILE, &p, &v);
		if (verr_count(&v)) {
			users_patch_clear(&p);
			return (rq_invalid(req, rq, &v));
		}
		verr_clear(&v);
		users_patch_start(req, rq, rq->user.id, &p, 0);
		users_patch_clear(&p);
		rq->step = 1;
	}
	return (users_patch_answer(req, rq, "User updated"));
}

static int
me_delete(struct http_request *req, struct rq *rq)
{
	const char	*params[3];
	char		ua[AUDIT_UA_SIZE];

	if (rq->step == 0) {
		params[0] = rq->user.id;
		params[1] = rq->ip[0] ? rq->ip : NULL;
		params[2] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_me_delete, 3, params);
		rq->step = 1;
	}
	return (rq_answer_revoked(req, rq, "Account deleted"));
}

static int
settings_get(struct http_request *req, struct rq *rq)
{
	return (users_one(req, rq, sql_settings_get, rq->user.id));
}

static int
settings_put(struct http_request *req, struct rq *rq)
{
	const char	*params[5], *tz;
	char		ua[AUDIT_UA_SIZE], *doc;
	struct verr	v;
	json_t		*obj, *set;
	int		r;

	if (rq->step == 0) {
		if (rq_json(req, rq, &obj) != KORE_RESULT_OK)
			return (KORE_RESULT_OK);
		verr_init(&v);
		set = settings_read(obj, &v, &tz);
		if (verr_count(&v)) {
			json_decref(set);
			return (rq_invalid(req, rq, &v));
		}
		verr_clear(&v);
		if ((doc = json_dumps(set, JSON_COMPACT)) == NULL)
			fatal("json_dumps failed");
		params[0] = rq->user.id;
		params[1] = doc;
		params[2] = tz;
		params[3] = rq->ip[0] ? rq->ip : NULL;
		params[4] = audit_ua(req, ua, sizeof(ua));
		db_start(req, &rq->q, sql_settings_put, 5, params);
		free(doc);
		json_decref(set);
		rq->step = 1;
	}
	if (!rq_polled(req, rq, &r))
		return (r);
	if (db_rows(&rq->q) == 0) {
		verr_init(&v);
		verr_add(&v, "timezone", "invalid",
		    "timezone must be an IANA time zone, e.g. Europe/Paris");
		return (rq_invalid(req, rq, &v));
	}
	return (rq_ok_raw(req, rq, 200, "Settings updated",
	    db_val(&rq->q, 0, 0), (size_t)db_len(&rq->q, 0, 0)));
}

/*
 * The whole settings document (PUT replaces it): a field left out takes
 * its default.  Returns the document to store; *tz is its time zone.
 */
static json_t *
settings_read(json_t *obj, struct verr *v, const char **tz)
{
	static const char *const themes[] = { "system", "light", "dark",
	    NULL };
	const char	*lang, *theme;
	json_t		*out, *n;
	int64_t		days;
	int		share;

	/* null, like absent, asks for the default. */
	if (jsonx_get_str(obj, "language", JF_NULLABLE, 2, SET_LANG_MAX, v,
	    &lang) && lang != NULL && !settings_lang_ok(lang))
		verr_add(v, "language", "invalid",
		    "language must be a language tag such as en or fr-CA");
	if (jsonx_get_str(obj, "timezone", JF_NULLABLE, 1, SET_TZ_MAX, v,
	    tz) && *tz != NULL && !settings_tz_ok(*tz))
		verr_add(v, "timezone", "invalid",
		    "timezone must be an IANA time zone, e.g. Europe/Paris");
	(void)jsonx_get_enum(obj, "theme", JF_NULLABLE, themes, v, &theme);
	if (lang == NULL)
		lang = "en";
	if (*tz == NULL)
		*tz = "UTC";
	if (theme == NULL)
		theme = "system";
	n = settings_notif(obj, v);
	settings_privacy(obj, v, &days, &share);
	out = json_pack("{s:s, s:s, s:s, s:o, s:{s:I, s:b}}",
	    "language", lang, "timezone", *tz, "theme", theme,
	    "notifications", n,
	    "privacy", "data_retention_days", (json_int_t)days,
	    "share_usage", share);
	if (out == NULL)
		fatal("json_pack failed");
	return (out);
}

/* notifications: at most SET_NOTIF_MAX switches, true or false. */
static json_t *
settings_notif(json_t *obj, struct verr *v)
{
	json_t		*notif, *n, *val;
	const char	*key;

	n = json_object();
	notif = NULL;
	if (!jsonx_get_object(obj, "notifications", JF_NULLABLE, v, &notif) ||
	    notif == NULL)
		return (n);
	if (json_object_size(notif) > SET_NOTIF_MAX)
		verr_add(v, "notifications", "too_many",
		    "at most %d notification settings", SET_NOTIF_MAX);
	json_object_foreach(notif, key, val) {
		if (jsonx_codepoints(key) < 1 ||
		    jsonx_codepoints(key) > SET_KEY_MAX)
			verr_add(v, "notifications", "invalid_key",
			    "keys are 1 to %d characters", SET_KEY_MAX);
		else if (!json_is_boolean(val))
			verr_add(v, "notifications", "invalid_type",
			    "every notification setting is true or false");
		else
			(void)json_object_set(n, key, val);
	}
	return (n);
}

/* privacy: data_retention_days and share_usage, or their defaults. */
static void
settings_privacy(json_t *obj, struct verr *v, int64_t *days, int *share)
{
	json_t		*priv;
	int		 present, ok;

	*days = SET_RETENTION_DEF;
	*share = 0;
	priv = NULL;
	if (!jsonx_get_object(obj, "privacy", JF_NULLABLE, v, &priv) ||
	    priv == NULL)
		return;
	ok = jsonx_get_int(priv, "data_retention_days", 0, SET_RETENTION_MIN,
	    SET_RETENTION_MAX, v, days, &present);
	if (!ok || !present)
		*days = SET_RETENTION_DEF;
	ok = jsonx_get_bool(priv, "share_usage", 0, v, share, &present);
	if (!ok || !present)
		*share = 0;
}

/* ll, lll, then subtags of 1-8 letters or digits: "en", "pt-BR". */
static int
settings_lang_ok(const char *s)
{
	size_t	n, i;

	for (n = 0; isalpha((unsigned char)s[n]); n++)
		;
	if (n < 2 || n > 3)
		return (0);
	while (s[n] == '-') {
		for (i = n + 1; isalnum((unsigned char)s[i]); i++)
			;
		if (i - n - 1 < 1 || i - n - 1 > 8)
			return (0);
		n = i;
	}
	return (s[n] == '\0');
}

/* The shape of an IANA name; PostgreSQL then says whether it exists. */
static int
settings_tz_ok(const char *s)
{
	for (; *s != '\0'; s++) {
		if (!isalnum((unsigned char)*s) && strchr("/_+-", *s) == NULL)
			return (0);
	}
	return (1);
}

static int
me_audit(struct http_request *req, struct rq *rq)
{
	return (q_user_page(req, rq, sql_me_audit, "Audit events"));
}

void
users_patch_read(json_t *obj, int what, struct users_patch *p,
    struct verr *v)
{
	memset(p, 0, sizeof(*p));
	p->fields = json_array();
	if (what & USERS_PROFILE) {
		users_profile_read(obj, 0, &p->prof, p->fields, v);
		if (users_username_read(obj, v, &p->username)) {
			p->has_username = 1;
			(void)json_array_append_new(p->fields,
			    json_string("username"));
		}
		users_prefs_read(obj, p, v);
	}
	if (what & USERS_ADMIN)
		users_admin_read(obj, p, v);
	if (json_array_size(p->fields) == 0)
		verr_add(v, "body", "empty", "no field to change");
}

void
users_profile_read(json_t *obj, int flags, struct users_profile *p,
    json_t *fields, struct verr *v)
{
	memset(p, 0, sizeof(*p));
	if (json_object_get(obj, "full_name") != NULL && fields != NULL)
		(void)json_array_append_new(fields, json_string("full_name"));
	(void)jsonx_get_str(obj, "full_name", JF_NOTBLANK |
	    ((flags & USERS_SIGNUP) ? JF_REQUIRED : 0), USERS_NAME_MIN,
	    USERS_NAME_MAX, v, &p->full_name);
	if (json_object_get(obj, "organization") != NULL) {
		p->has_org = 1;
		if (fields != NULL)
			(void)json_array_append_new(fields,
			    json_string("organization"));
		(void)jsonx_get_str(obj, "organization", JF_NULLABLE, 0,
		    USERS_ORG_MAX, v, &p->org);
	}
	if (users_phone_read(obj, JF_NULLABLE, v, &p->phone)) {
		p->has_phone = 1;
		if (fields != NULL)
			(void)json_array_append_new(fields,
			    json_string("phone"));
	}
}

int
users_phone_read(json_t *obj, int flags, struct verr *v, const char **phone)
{
	*phone = NULL;
	if (json_object_get(obj, "phone") == NULL && !(flags & JF_REQUIRED))
		return (0);
	if (!jsonx_get_str(obj, "phone", flags, (flags & JF_NULLABLE) ? 0 : 1,
	    PHONE_MAX_LEN * 4, v, phone) || *phone == NULL)
		return (1);
	if (**phone == '\0' && (flags & JF_NULLABLE))
		*phone = NULL;
	else if (!phone_e164_valid(*phone))
		verr_add(v, "phone", "invalid",
		    "phone must be in E.164 form, e.g. +33612345678");
	return (1);
}

/* preferences: an object of at most USERS_PREFS_MAX bytes as JSON. */
static void
users_prefs_read(json_t *obj, struct users_patch *p, struct verr *v)
{
	json_t		*prefs;

	if (json_object_get(obj, "preferences") == NULL)
		return;
	(void)json_array_append_new(p->fields, json_string("preferences"));
	prefs = NULL;
	if (!jsonx_get_object(obj, "preferences", 0, v, &prefs) ||
	    prefs == NULL)
		return;
	if ((p->prefs = json_dumps(prefs, JSON_COMPACT)) == NULL)
		fatal("json_dumps failed");
	if (strlen(p->prefs) > USERS_PREFS_MAX)
		verr_add(v, "preferences", "too_large", "preferences must "
		    "serialise to at most %d bytes", USERS_PREFS_MAX);
}

/* What only an admin may change. */
static void
users_admin_read(json_t *obj, struct users_patch *p, struct verr *v)
{
	static const char *const keys[] = { "is_active", "is_superuser",
	    "role", "token_quota_daily", NULL };
	int		present, i;

	if (!jsonx_get_bool(obj, "is_active", 0, v, &p->active,
	    &p->has_active))
		p->has_active = 0;
	if (!jsonx_get_bool(obj, "is_superuser", 0, v, &p->super,
	    &p->has_super))
		p->has_super = 0;
	(void)jsonx_get_enum(obj, "role", 0, users_roles, v, &p->role);
	if (json_object_get(obj, "token_quota_daily") != NULL) {
		p->has_quota = 1;
		if (json_is_null(json_object_get(obj, "token_quota_daily")))
			p->quota_null = 1;
		else
			(void)jsonx_get_int(obj, "token_quota_daily", 0, 0,
			    INT64_MAX, v, &p->quota, &present);
	}
	for (i = 0; keys[i] != NULL; i++) {
		if (json_object_get(obj, keys[i]) != NULL)
			(void)json_array_append_new(p->fields,
			    json_string(keys[i]));
	}
}

void
users_patch_clear(struct users_patch *p)
{
	free(p->prefs);
	p->prefs = NULL;
	json_decref(p->fields);
	p->fields = NULL;
}

void
users_patch_start(struct http_request *req, struct rq *rq, const char *id,
    const struct users_patch *p, int admin)
{
	const char	*params[USERS_PATCH_PARAMS];
	char		ua[AUDIT_UA_SIZE], quota[32], *fields;

	(void)snprintf(quota, sizeof(quota), "%lld", (long long)p->quota);
	if ((fields = json_dumps(p->fields, JSON_COMPACT)) == NULL)
		fatal("json_dumps failed");
	params[0] = id;
	params[1] = p->prof.full_name;
	params[2] = p->prof.has_org ? "t" : "f";
	params[3] = p->prof.org;
	params[4] = p->prof.has_phone ? "t" : "f";
	params[5] = p->prof.phone;
	params[6] = p->prefs;
	params[7] = p->has_active ? (p->active ? "t" : "f") : NULL;
	params[8] = p->has_super ? (p->super ? "t" : "f") : NULL;
	params[9] = p->role;
	params[10] = p->has_quota ? "t" : "f";
	params[11] = p->has_quota && !p->quota_null ? quota : NULL;
	params[12] = rq->user.id;
	params[13] = rq->ip[0] ? rq->ip : NULL;
	params[14] = audit_ua(req, ua, sizeof(ua));
	params[15] = fields;
	params[16] = admin ? "t" : "f";
	params[17] = p->has_username ? "t" : "f";
	params[18] = p->username;
	db_start(req, &rq->q, sql_patch, USERS_PATCH_PARAMS, params);
	free(fields);
}

int
users_patch_answer(struct http_request *req, struct rq *rq, const char *msg)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL && db_sqlstate_is(&rq->q, "23505") &&
	    db_constraint_is(&rq->q, USERS_USERNAME_KEY))
		return (users_username_taken(req, rq));
	return (rq_answer_revoked(req, rq, msg));
}

int
users_username_read(json_t *obj, struct verr *v, const char **u)
{
	const char	*issue, *msg;

	*u = NULL;
	if (json_object_get(obj, "username") == NULL)
		return (0);
	if (jsonx_get_str(obj, "username", JF_NULLABLE, 0, SIZE_MAX, v, u) &&
	    *u != NULL && (issue = username_check(*u, &msg)) != NULL)
		verr_add(v, "username", issue, "%s", msg);
	return (1);
}

int
users_username_taken(struct http_request *req, struct rq *rq)
{
	return (rq_error(req, rq, 409, "username_taken",
	    "This username is already taken",
	    json_pack("{s:s}", "field", "username")));
}

/*
 * GET /auth/username-available?username=: whether a sign-up or a
 * profile change could take it now.  Public, limited per client IP like
 * the other auth endpoints.
 */
static int
username_available(struct http_request *req, struct rq *rq)
{
	const char	*name, *params[1];
	struct verr	 v;
	int		 r;

	if (rq->step == 0) {
		name = NULL;
		verr_init(&v);
		/* v_username refuses what username_check does. */
		if (!q_refused(req, &v) &&
		    (name = q_get(req, "username")) == NULL)
			verr_add(&v, "username", "missing",
			    "username is required");
		if (verr_count(&v))
			return (rq_invalid(req, rq, &v));
		verr_clear(&v);
		params[0] = name;
		db_start(req, &rq->q, sql_username_free, 1, params);
		rq->step = 1;
	}
	if (!rq_polled_row(req, rq, &r))
		return (r);
	name = q_get(req, "username");
	return (rq_ok(req, rq, 200, "Username availability",
	    json_pack("{s:s, s:b}", "username", name ? name : "",
	    "available", !strcmp(db_val(&rq->q, 0, 0), "t"))));
}
