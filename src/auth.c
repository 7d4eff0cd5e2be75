/*
 * Auth and sessions (docs/API.md §2): registration here, and what every
 * auth handler shares (src/auth_int.h): the session SQL, the token
 * answer, the request state and the wiping of passwords.  Login is in
 * src/auth_login.c; refresh, logout, me, sessions and the password
 * change in src/auth_session.c.
 *
 * bcrypt never runs on the event loop: see src/pwjob.c.  Every change
 * and its audit row are one statement (CTEs).
 */
#include <sys/queue.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "rq.h"

#include <kore/tasks.h>

#include "auth.h"
#include "auth_int.h"
#include "auth_mw.h"
#include "audit.h"
#include "ratelimit.h"
#include "revoke.h"
#include "users.h"
#include "lib/jwt.h"

#define AUTH_EMAIL_LOCAL_MAX	64
#define AUTH_LABEL_MAX		63

static int	auth_register(struct http_request *, struct rq *);
static int	auth_register_read(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_register_check(struct http_request *, struct rq *,
		    json_t *);
static int	auth_register_insert(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_register_answer(struct http_request *, struct rq *,
		    struct auth_st *);
static int	auth_email_ok(const char *);
static void	auth_st_free(void *);
static void	auth_wipe_head(struct http_request *);

ROUTE(page_auth_register, "/api/v1/auth/register",
    { HTTP_METHOD_POST, auth_register, RQ_PUBLIC | RQ_IPLIMIT })

static const char *const auth_roles[] = { AUTH_ROLES, NULL };

/*
 * A new account and its first session.  $1 email, $2 hash, $3 full_name,
 * $4 phone, $5 organization, $6 role, $7 refresh TTL (days), $8 ip,
 * $9 user agent, $10 refresh token hash, $11 username.
 */
static const char sql_register[] =
    "WITH u AS (INSERT INTO users (email, password_hash, full_name, phone, "
    "organization, role, username) VALUES ($1, $2, $3, $4, $5, "
    "COALESCE($6, 'user'), $11) RETURNING *), "
    AUTH_NEW_SESSION("$7", "$8", "$9", "$10")
    "a AS (" AUDIT_INSERT_FROM("u.id", "'register'", "$8", "$9",
    "jsonb_build_object('session_id', s.id)", "u, s") ") "
    "SELECT s.id, u.id, u.role, u.is_superuser, " AUTH_USER_JSON("u")
    " FROM u, s";

void
auth_init(const char *conninfo)
{
	revoke_init(conninfo);
	ratelimit_init();
	pwjob_init();
}

/* POST /register: check, hash the password, store, answer the tokens. */
static int
auth_register(struct http_request *req, struct rq *rq)
{
	struct auth_st	*st;

	st = auth_state(rq);
	if (rq->step == 0) {
		if (!auth_register_read(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 1;
	}
	if (rq->step == 1) {
		if (!pwjob_done(req, &st->job))
			return (KORE_RESULT_RETRY);
		if (!auth_register_insert(req, rq, st))
			return (KORE_RESULT_OK);
		rq->step = 2;
	}
	return (auth_register_answer(req, rq, st));
}

/* The body checked, the hash job started; 0 when it has answered. */
static int
auth_register_read(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	json_t		*in;
	const char	*pw;

	if (rq_json(req, rq, &in) != KORE_RESULT_OK)
		return (0);
	if (!auth_register_check(req, rq, in))
		return (0);
	pw = json_string_value(json_object_get(in, "password"));
	(void)kore_strlcpy(st->email, json_string_value(json_object_get(in,
	    "email")), sizeof(st->email));
	st->password = pw;
	if (pwjob_start(req, &st->job, PWJOB_HASH, pw, NULL, NULL) == NULL) {
		(void)auth_internal(req, rq);
		return (0);
	}
	auth_wipe(req, rq, st);
	return (1);
}

/*
 * Every field at once: 400 weak_password when only the password fails
 * the policy, else validation_error with every field, password issues
 * included.  1 when the body is good.
 */
static int
auth_register_check(struct http_request *req, struct rq *rq, json_t *in)
{
	struct users_profile prof;
	struct verr	 v, pv;
	const char	*email, *pw, *role, *uname;
	int		 issues;

	verr_init(&v);
	verr_init(&pv);
	if (jsonx_get_str(in, "email", JF_REQUIRED | JF_NOTBLANK, 3,
	    AUTH_EMAIL_MAX, &v, &email) && !auth_email_ok(email))
		verr_add(&v, "email", "invalid_format",
		    "email is not a valid address");
	if (jsonx_get_str(in, "password", JF_REQUIRED, 0, SIZE_MAX, &v, &pw)) {
		(void)passwd_policy(pw, email, &issues);
		auth_pw_issues(&pv, "password", issues);
	}
	users_profile_read(in, USERS_SIGNUP, &prof, NULL, &v);
	(void)jsonx_get_enum(in, "role", JF_NULLABLE, auth_roles, &v, &role);
	users_username_read(in, &v, &uname);
	if (verr_count(&v) == 0 && verr_count(&pv) > 0) {
		verr_clear(&v);
		(void)rq_error(req, rq, 400, "weak_password",
		    "The password does not meet the policy",
		    json_pack("{s:o}", "fields", verr_take(&pv)));
		return (0);
	}
	if (verr_count(&v) > 0 || verr_count(&pv) > 0) {
		(void)json_array_extend(v.fields, pv.fields);
		verr_clear(&pv);
		(void)rq_invalid(req, rq, &v);
		return (0);
	}
	verr_clear(&v);
	verr_clear(&pv);
	return (1);
}

/* The password hashed: insert the account; 0 when it has answered. */
static int
auth_register_insert(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	json_t		*in;
	const char	*params[11], *phone;
	char		 days[16], ua[AUDIT_UA_SIZE];

	if (st->job->err) {
		pwjob_release(&st->job);
		(void)auth_internal(req, rq);
		return (0);
	}
	(void)kore_strlcpy(st->hash, st->job->out, sizeof(st->hash));
	pwjob_release(&st->job);
	if (!auth_new_refresh(req, rq, st))
		return (0);

	in = rq->body;
	(void)snprintf(days, sizeof(days), "%d", cfg.refresh_ttl_days);
	phone = json_string_value(json_object_get(in, "phone"));
	params[0] = st->email;
	params[1] = st->hash;
	params[2] = json_string_value(json_object_get(in, "full_name"));
	params[3] = phone != NULL && *phone != '\0' ? phone : NULL;
	params[4] = json_string_value(json_object_get(in, "organization"));
	params[5] = json_string_value(json_object_get(in, "role"));
	params[6] = days;
	params[7] = rq->ip;
	params[8] = audit_ua(req, ua, sizeof(ua));
	params[9] = st->refresh_hash;
	params[10] = json_string_value(json_object_get(in, "username"));
	db_start(req, &rq->q, sql_register, 11, params);
	return (1);
}

static int
auth_register_answer(struct http_request *req, struct rq *rq,
    struct auth_st *st)
{
	int		r;

	if ((r = db_poll(req, &rq->q)) == DB_WAIT)
		return (KORE_RESULT_RETRY);
	if (r == DB_FAIL) {
		if (db_sqlstate_is(&rq->q, "23505") &&
		    db_constraint_is(&rq->q, USERS_USERNAME_KEY))
			return (users_username_taken(req, rq));
		if (db_sqlstate_is(&rq->q, "23505"))
			return (rq_error(req, rq, 409, "email_taken",
			    "An account with this email already exists",
			    json_pack("{s:s}", "field", "email")));
		return (rq_db_error(req, rq));
	}
	return (auth_tokens(req, rq, 201, "Account created", st, 0));
}

/*
 * The token payload from the row of rq->q whose columns base.. are:
 * session id, user id, role, is_superuser, user JSON; and the refresh
 * token in st.  The role claim is "admin" for superusers, else the
 * user's role (a non-superuser never carries "admin").
 */
int
auth_tokens(struct http_request *req, struct rq *rq, int status,
    const char *message, struct auth_st *st, int base)
{
	struct jwt_claims	 c;
	json_t			*user, *data;
	char			*tok;
	const char		*role;
	int			 su;
	time_t			 now;

	if (db_rows(&rq->q) != 1 || db_isnull(&rq->q, 0, base) ||
	    db_isnull(&rq->q, 0, base + 4))
		return (auth_internal(req, rq));
	memset(&c, 0, sizeof(c));
	(void)kore_strlcpy(c.sid, db_val(&rq->q, 0, base), sizeof(c.sid));
	(void)kore_strlcpy(c.sub, db_val(&rq->q, 0, base + 1), sizeof(c.sub));
	su = !strcmp(db_val(&rq->q, 0, base + 3), "t");
	role = db_val(&rq->q, 0, base + 2);
	if (su)
		role = "admin";
	else if (!jwt_role_valid(role) || !strcmp(role, "admin"))
		role = "user";
	(void)kore_strlcpy(c.role, role, sizeof(c.role));
	if (uuid_generate(c.jti) != 0)
		return (auth_internal(req, rq));
	now = time(NULL);
	c.iat = (int64_t)now;
	c.exp = (int64_t)now + cfg.access_ttl_s;
	user = json_loadb(db_val(&rq->q, 0, base + 4),
	    (size_t)db_len(&rq->q, 0, base + 4), 0, NULL);
	c.ev = json_is_true(json_object_get(user, "email_verified"));
	if (auth_token_sign(&c, &tok) != 0) {
		json_decref(user);
		return (auth_internal(req, rq));
	}
	data = json_pack("{s:s, s:s, s:s, s:I, s:o*}", "access_token", tok,
	    "refresh_token", st->refresh, "token_type", "bearer",
	    "expires_in", (json_int_t)cfg.access_ttl_s, "user", user);
	free(tok);
	return (rq_ok(req, rq, status, message, data));
}

/* A fresh refresh token and its hash in st; 0 when it has answered. */
int
auth_new_refresh(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	if (authtok_new(st->refresh, sizeof(st->refresh)) != 0 ||
	    authtok_hash(st->refresh, st->refresh_hash) != 0) {
		(void)auth_internal(req, rq);
		return (0);
	}
	return (1);
}

/*
 * A practical address check (not all of RFC 5321): ASCII, one '@', a
 * local part of 1-64 characters without spaces, quotes or dots at the
 * ends, and a domain of at least two dot-separated labels of letters,
 * digits and inner hyphens, the last alphabetic (or an xn-- label).
 */
static int
auth_email_ok(const char *s)
{
	const char	*at, *p, *label;
	size_t		 n;

	if (strlen(s) > AUTH_EMAIL_MAX || (at = strchr(s, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL)
		return (0);
	n = (size_t)(at - s);
	if (n == 0 || n > AUTH_EMAIL_LOCAL_MAX || s[0] == '.' ||
	    at[-1] == '.')
		return (0);
	for (p = s; p < at; p++) {
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f ||
		    strchr("\"(),:;<>[\\]", *p) != NULL ||
		    (*p == '.' && p[1] == '.'))
			return (0);
	}
	label = at + 1;
	n = 0;
	for (p = at + 1; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > AUTH_LABEL_MAX ||
			    label[0] == '-' || p[-1] == '-')
				return (0);
			if (*p == '\0')
				break;
			n++;
			label = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return (0);
	}
	if (n == 0)
		return (0);
	/* The top-level label: letters, or an IDN in ACE form. */
	if (strncasecmp(label, "xn--", 4) == 0)
		return (1);
	for (p = label; *p != '\0'; p++) {
		if (!isalpha((unsigned char)*p))
			return (0);
	}
	return (p - label >= 2);
}

void
auth_pw_issues(struct verr *v, const char *field, int issues)
{
	int		bit;

	for (bit = 1; bit <= PASSWD_ISSUE_ALL; bit <<= 1) {
		if (issues & bit)
			verr_add(v, field, passwd_issue_code(bit), "%s %s",
			    field, passwd_issue_message(bit));
	}
}

struct auth_st *
auth_state(struct rq *rq)
{
	return (rq_state(rq, sizeof(struct auth_st), auth_st_free));
}

/*
 * Kore keeps the buffer the request's head was read into as req->headers
 * (its header values point into it) until the request is freed.  The
 * body, or its start, came in the same read: find it there and wipe it.
 */
static void
auth_wipe_head(struct http_request *req)
{
	const u_int8_t	*body;
	u_int8_t	*p, *end;
	size_t		 n;

	if (req->headers == NULL || req->http_body == NULL ||
	    (n = req->http_body->offset) == 0)
		return;
	body = req->http_body->data;
	end = req->headers + http_header_max;
	p = kore_mem_find(req->headers, http_header_max, body, n < 32 ? n : 32);
	if (p != NULL)
		explicit_bzero(p, (size_t)(end - p) < n ? (size_t)(end - p) : n);
}

/*
 * The password job holds its own copy (wiped when released): wipe the
 * request's, in the connection's buffer, the raw body, the parsed JSON
 * and the login form.
 */
void
auth_wipe(struct http_request *req, struct rq *rq, struct auth_st *st)
{
	static const char *const keys[] = { "password", "current_password",
	    "new_password", NULL };
	struct netbuf	*nb;
	const char	*v;
	int		 i;

	auth_wipe_head(req);
	if (req->http_body != NULL && req->http_body->data != NULL)
		explicit_bzero(req->http_body->data, req->http_body->offset);
	/*
	 * The connection's receive buffer holds the body if it came in
	 * reads of its own, past what has been received since (s_off): the
	 * next request's bytes, if any, are before that.
	 */
	if (req->owner != NULL && (nb = req->owner->rnb) != NULL &&
	    nb->buf != NULL && nb->s_off < nb->m_len)
		explicit_bzero(nb->buf + nb->s_off, nb->m_len - nb->s_off);
	for (i = 0; rq->body != NULL && keys[i] != NULL; i++) {
		if ((v = json_string_value(json_object_get(rq->body,
		    keys[i]))) != NULL)
			explicit_bzero((void *)(uintptr_t)v,
			    json_string_length(json_object_get(rq->body,
			    keys[i])));
	}
	if (st->form_pw != NULL)
		explicit_bzero(st->form_pw, strlen(st->form_pw));
	st->password = NULL;
}

/* Runs from rq_free, possibly while a task still writes into st->job. */
static void
auth_st_free(void *p)
{
	struct auth_st	*st = p;

	kore_free(st->form_user);
	if (st->form_pw != NULL)
		explicit_bzero(st->form_pw, strlen(st->form_pw));
	kore_free(st->form_pw);
	st->form_user = st->form_pw = NULL;
	pwjob_abandon(&st->job);
}

int
auth_internal(struct http_request *req, struct rq *rq)
{
	return (rq_error(req, rq, 500, "internal_error",
	    "Internal server error", NULL));
}
