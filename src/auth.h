/*
 * Auth and sessions (docs/API.md §2): register, login, refresh, logout, me,
 * sessions, password.  Shared with other handlers: the user object of
 * docs/API.md §3 as an SQL expression, and the worker start hook.
 */
#ifndef ELENCHUS_AUTH_H
#define ELENCHUS_AUTH_H

/*
 * The user object of docs/API.md §3 built by PostgreSQL from a users row
 * aliased u (never the password hash); user_json() in SQL is its twin
 * (sql/015_accounts.sql).  Use it inside a query text:
 *	"SELECT " AUTH_USER_JSON("u") " FROM users u WHERE u.id = $1"
 */
#define AUTH_USER_JSON(u)						\
	"json_build_object('id', " u ".id, 'email', " u ".email, "	\
	"'email_verified', " u ".email_verified, "			\
	"'username', " u ".username, "					\
	"'full_name', " u ".full_name, 'phone', " u ".phone, "		\
	"'phone_verified', " u ".phone_verified, "			\
	"'organization', " u ".organization, 'role', " u ".role, "	\
	"'is_active', " u ".is_active, 'is_superuser', " u		\
	".is_superuser, 'preferences', " u ".preferences, "		\
	"'created_at', rfc3339(" u ".created_at), "			\
	"'updated_at', rfc3339(" u ".updated_at), "			\
	"'last_login', rfc3339(" u ".last_login))"

/* Roles a user may pick at registration; none grants any right. */
#define AUTH_ROLES	"user", "lawyer", "paralegal", "legal_assistant", \
			"student", "researcher", "other"

/*
 * Per worker, after the database is registered: starts the revocation
 * listener on conninfo and primes the dummy bcrypt hash off the loop.
 */
void	auth_init(const char *);

#endif
