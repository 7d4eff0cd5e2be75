/*
 * The user profile change shared by PATCH /users/me and the admin's
 * PATCH /users/{id}: one reader for the body, one statement.
 */
#ifndef ELENCHUS_USERS_H
#define ELENCHUS_USERS_H

#include <jansson.h>

#include "rq.h"

/* The profile's bounds, for registration and every change alike. */
#define USERS_NAME_MIN		2
#define USERS_NAME_MAX		100
#define USERS_ORG_MAX		200
#define USERS_PREFS_MAX		16384	/* bytes of serialised JSON */
#define USERS_PATCH_PARAMS	19
/* The unique constraint on users.username (sql/015_accounts.sql). */
#define USERS_USERNAME_KEY	"users_username_key"

/* Which parts of a user a body may change. */
#define USERS_PROFILE		0x01	/* full_name, organization, phone, prefs,
					   username */
#define USERS_ADMIN		0x02	/* is_active, is_superuser, role, quota */

/* The profile fields of a body (register, PATCH /users/{me,id}). */
struct users_profile {
	const char	*full_name;	/* NULL: absent */
	int		has_org;
	const char	*org;		/* NULL: none */
	int		has_phone;
	const char	*phone;		/* NULL: none */
};

struct users_patch {
	struct users_profile	prof;
	int		has_username;
	const char	*username;	/* NULL: cleared */
	char		*prefs;		/* JSON text (malloc) or NULL */
	int		has_active;
	int		active;
	int		has_super;
	int		super;
	const char	*role;
	int		has_quota;
	int		quota_null;
	int64_t		quota;
	json_t		*fields;	/* names of the fields sent */
};

/*
 * full_name, organization and phone of obj into p, problems into v:
 * full_name is required with USERS_SIGNUP, else optional; organization
 * and phone are nullable.  Each field present is appended to fields
 * when it is not NULL.
 */
#define USERS_SIGNUP		0x01
void	users_profile_read(json_t *, int, struct users_profile *,
	    json_t *, struct verr *);
/*
 * The "phone" of obj, one rule wherever a phone is taken: E.164
 * (lib/phone.h), else issue "invalid".  flags: JF_REQUIRED, or
 * JF_NULLABLE, where null and "" mean none (*phone NULL).  Returns 1
 * when the field was present.
 */
int	users_phone_read(json_t *, int, struct verr *, const char **);

/* Read obj into p; problems go to v.  Free p with users_patch_clear. */
void	users_patch_read(json_t *, int, struct users_patch *, struct verr *);
void	users_patch_clear(struct users_patch *);
/* Start the UPDATE for user id by actor; the row is user_admin_json
 * when admin is set, else user_json.  Zero rows: no such user. */
void	users_patch_start(struct http_request *, struct rq *,
	    const char *, const struct users_patch *, int);
/* The tail of a patch: the user, 404, or 409 username_taken. */
int	users_patch_answer(struct http_request *, struct rq *, const char *);

/*
 * The optional "username" of a body (a string, or null): checked by
 * username_check, problems into v; *u is the name, or NULL when absent
 * or null.  Returns 1 when the field was present.
 */
int	users_username_read(json_t *, struct verr *, const char **);
/* 409 username_taken. */
int	users_username_taken(struct http_request *, struct rq *);

#endif
