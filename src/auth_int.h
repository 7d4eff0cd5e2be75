/*
 * What the auth handlers share (src/auth.c: register and the common
 * pieces; src/auth_login.c: login; src/auth_session.c: refresh, logout,
 * me, sessions, password): the request state, the SQL of a new session,
 * the token answer and the wiping of passwords.
 */
#ifndef ELENCHUS_AUTH_INT_H
#define ELENCHUS_AUTH_INT_H

#include "rq.h"
#include "pwjob.h"
#include "lib/authtok.h"
#include "lib/passwd.h"
#include "lib/uuid.h"

/* Longest password accepted at all, in bytes (the policy's own bound). */
#define AUTH_PW_MAX_BYTES	PWJOB_PW_MAX
#define AUTH_EMAIL_MAX		254

struct auth_st {
	struct pwjob	*job;
	char		 user_id[UUID_STRLEN + 1];
	char		 email[AUTH_EMAIL_MAX * 4 + 1];
	char		 hash[PASSWD_HASH_SIZE];
	char		 newhash[PASSWD_HASH_SIZE];	/* login: rehash */
	int		 known;		/* login: the email has an account */
	int		 active;
	int		 reached;	/* login: this attempt locks the email */
	int		 failed;	/* login: recording a failure */
	char		 refresh[AUTHTOK_SIZE];
	char		 refresh_hash[AUTHTOK_HASH_SIZE];
	char		*form_user;	/* login form fields (kore_malloc) */
	char		*form_pw;
	const char	*password;
};

/*
 * CTEs s and t: a session for the user of CTE u and its first refresh
 * token.  Arguments are the parameters: lifetime (days), ip, user agent,
 * token hash.
 */
#define AUTH_NEW_SESSION(days, ip, ua, hash)				\
    "s AS (INSERT INTO sessions (user_id, expires_at, ip, user_agent) "	\
    "SELECT id, now() + make_interval(days => " days "::int), " ip ", "	\
    ua " FROM u RETURNING id), "					\
    "t AS (INSERT INTO refresh_tokens (token_hash, session_id, "	\
    "expires_at) SELECT " hash ", s.id, now() + make_interval(days => "	\
    days "::int) FROM s), "

/* The request's auth_st (zeroed on first use, freed with the request). */
struct auth_st	*auth_state(struct rq *);
/*
 * 200/201 with the token payload from the row of rq->q whose columns
 * base.. are: session id, user id, role, is_superuser, user JSON; the
 * refresh token is st's.
 */
int	auth_tokens(struct http_request *, struct rq *, int, const char *,
	    struct auth_st *, int);
/* A fresh refresh token and its hash in st; 0 when it has answered. */
int	auth_new_refresh(struct http_request *, struct rq *, struct auth_st *);
/* The password policy's issues as fields of v. */
void	auth_pw_issues(struct verr *, const char *, int);
/* Wipe the request's copies of the passwords (the job holds its own). */
void	auth_wipe(struct http_request *, struct rq *, struct auth_st *);
/* 500 internal_error. */
int	auth_internal(struct http_request *, struct rq *);

#endif
