/*
 * The caller's own account (docs/API.md §3) against the real server: the user
 * object, profile changes, soft delete, settings, the caller's audit
 * trail, and that one user never reaches another's.
 */
#include "fixture.h"

static const char *const user_keys[] = { "id", "email", "email_verified",
    "username", "full_name",
    "phone", "phone_verified", "organization", "role", "is_active",
    "is_superuser", "preferences", "created_at", "updated_at",
    "last_login", NULL };

/* 2026-11-23T18:14:06.123Z */
static int
is_rfc3339(const char *s)
{
	static const char	shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t			i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return (0);
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') :
		    s[i] != shape[i])
			return (0);
	}
	return (1);
}

Test(users, me_answers_exactly_the_user_object)
{
	struct user	a;
	struct resp	*r;
	json_t		*d;
	size_t		i;

	fx_new(&a, "me-");
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	d = jpath(r->json, "data");
	for (i = 0; user_keys[i] != NULL; i++)
		cr_expect_not_null(json_object_get(d, user_keys[i]),
		    "missing %s", user_keys[i]);
	cr_expect_eq(json_object_size(d), i, "extra keys: %s", r->body);
	cr_expect_null(strstr(r->body, "password"));
	cr_expect_str_eq(jstr(r, "data.id"), a.id);
	cr_expect_str_eq(jstr(r, "data.email"), a.email);
	cr_expect_str_eq(jstr(r, "data.role"), "user");
	cr_expect(json_is_true(jpath(r->json, "data.is_active")));
	cr_expect(json_is_false(jpath(r->json, "data.is_superuser")));
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")));
	cr_expect(json_is_object(jpath(r->json, "data.preferences")));
	cr_expect(is_rfc3339(jstr(r, "data.created_at")), "%s", r->body);
	cr_expect(is_rfc3339(jstr(r, "data.updated_at")));
	cr_expect_str_eq(resp_header(r, "cache-control"), "private, no-cache");
	resp_free(r);
}

Test(users, me_without_or_with_bad_token_is_401)
{
	struct user	a;
	struct resp	*r;

	r = fx_call("GET", NULL, NULL, "/api/v1/users/me");
	fx_error(r, 401, "unauthorized");
	cr_expect_not_null(resp_header(r, "www-authenticate"));
	resp_free(r);

	(void)snprintf(a.token, sizeof(a.token), "not.a.jwt");
	r = fx_call("PATCH", &a, "{\"full_name\":\"Nobody\"}",
	    "/api/v1/users/me");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me/settings");
	cr_expect_eq(r->status, 401);
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit");
	cr_expect_eq(r->status, 401);
	resp_free(r);
}

Test(users, wrong_method_is_405_with_allow)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "m405-");
	r = fx_call("POST", &a, "{}", "/api/v1/users/me");
	fx_error(r, 405, "method_not_allowed");
	cr_expect_str_eq(resp_header(r, "allow"),
	    "GET, HEAD, PATCH, DELETE, OPTIONS");
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/me/settings");
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
}

Test(users, patch_me_changes_profile_fields)
{
	struct user	a;
	struct resp	*r;
	char		*b;

	fx_new(&a, "patch-");
	b = fx_dump(json_pack("{s:s, s:s, s:s, s:{s:s, s:i}}",
	    "full_name", "Ada Lovelace", "organization", "Analytical Ltd",
	    "phone", "+33612345678", "preferences", "lang", "fr", "page", 3));
	r = fx_call("PATCH", &a, b, "/api/v1/users/me");
	free(b);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.full_name"), "Ada Lovelace");
	cr_expect_str_eq(jstr(r, "data.organization"), "Analytical Ltd");
	cr_expect_str_eq(jstr(r, "data.phone"), "+33612345678");
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")));
	cr_expect_str_eq(jstr(r, "data.preferences.lang"), "fr");
	cr_expect_eq(jint(r, "data.preferences.page"), 3);
	resp_free(r);

	/* Only what is sent changes; null clears a nullable field. */
	r = fx_call("PATCH", &a, "{\"organization\": null}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_null(jpath(r->json, "data.organization")));
	cr_expect_str_eq(jstr(r, "data.full_name"), "Ada Lovelace");
	cr_expect_str_eq(jstr(r, "data.phone"), "+33612345678");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_str_eq(jstr(r, "data.full_name"), "Ada Lovelace");
	cr_expect_str_eq(jstr(r, "data.preferences.lang"), "fr");
	resp_free(r);
}

Test(users, patch_me_reports_every_invalid_field)
{
	struct user	a;
	struct resp	*r;
	char		org[260], *b;

	fx_new(&a, "inval-");
	memset(org, 'o', 201);
	org[201] = '\0';
	b = fx_dump(json_pack("{s:s, s:s, s:s, s:s}", "full_name", "A",
	    "organization", org, "phone", "0612345678",
	    "preferences", "not an object"));
	r = fx_call("PATCH", &a, b, "/api/v1/users/me");
	free(b);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "full_name"), "too_short");
	cr_expect_str_eq(fx_issue(r, "organization"), "too_long");
	cr_expect_str_eq(fx_issue(r, "phone"), "invalid");
	cr_expect_str_eq(fx_issue(r, "preferences"), "wrong_type");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"full_name\": \"   \"}",
	    "/api/v1/users/me");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "full_name"), "blank");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"full_name\": 42, \"email\": \"x@y\"}",
	    "/api/v1/users/me");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "full_name"), "wrong_type");
	resp_free(r);

	r = fx_call("PATCH", &a, "{}", "/api/v1/users/me");
	fx_error(r, 400, "validation_error");
	resp_free(r);

	r = fx_call("PATCH", &a, "{\"full_name\": ", "/api/v1/users/me");
	fx_error(r, 400, "invalid_json");
	resp_free(r);

	r = fx_call("PATCH", &a, "[1, 2]", "/api/v1/users/me");
	cr_expect_eq(r->status, 400);
	resp_free(r);

	/* The email is not a profile field: unchanged. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_str_eq(jstr(r, "data.email"), a.email);
	cr_expect_str_eq(jstr(r, "data.full_name"), FX_FULL_NAME);
	resp_free(r);
}

/* One rule for a phone wherever one is taken: register, PATCH, codes. */
Test(users, phone_is_checked_alike_everywhere)
{
	static const char *const bad[] = { "0612345678", "+1234",
	    "+123456789012345678", "+33 6 12 34 56 78", NULL };
	static const char *const path[] = { "/api/v1/users/me",
	    "/api/v1/auth/phone/request" };
	struct user	 a;
	struct resp	*r;
	char		*b, email[128];
	int		 i, j;

	fx_new(&a, "phone-rule-");
	for (i = 0; bad[i] != NULL; i++) {
		b = fx_dump(json_pack("{s:s}", "phone", bad[i]));
		for (j = 0; j < 2; j++) {
			r = fx_call(j == 0 ? "PATCH" : "POST", &a, b, "%s",
			    path[j]);
			fx_error(r, 400, "validation_error");
			cr_expect_str_eq(fx_issue(r, "phone"), "invalid",
			    "%s %s: %s", path[j], bad[i], r->body);
			resp_free(r);
		}
		free(b);
		(void)snprintf(email, sizeof(email), "%s-%d@example.test",
		    uniq("phone-rule"), i);
		b = fx_dump(json_pack("{s:s, s:s, s:s, s:s}", "email", email,
		    "password", FX_PASSWORD, "full_name", "Ada Lovelace",
		    "phone", bad[i]));
		r = http_json("POST", "/api/v1/auth/register", NULL, b);
		free(b);
		fx_error(r, 400, "validation_error");
		cr_expect_str_eq(fx_issue(r, "phone"), "invalid", "register "
		    "%s: %s", bad[i], r->body);
		resp_free(r);
	}

	/* An empty phone is none where a phone is optional. */
	r = fx_call("PATCH", &a, "{\"phone\": \"+33612345678\"}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"phone\": \"\"}", "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_null(jpath(r->json, "data.phone")), "%s", r->body);
	resp_free(r);
	r = fx_call("POST", &a, "{\"phone\": \"\"}",
	    "/api/v1/auth/phone/request");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "phone"), "blank", "%s", r->body);
	resp_free(r);
}

Test(users, preferences_have_a_size_bound)
{
	struct user	a;
	struct resp	*r;
	char		*big, *b;

	fx_new(&a, "prefs-");
	big = malloc(20000);
	memset(big, 'x', 19999);
	big[19999] = '\0';
	b = fx_dump(json_pack("{s:{s:s}}", "preferences", "blob", big));
	free(big);
	r = fx_call("PATCH", &a, b, "/api/v1/users/me");
	free(b);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "preferences"), "too_large");
	resp_free(r);
}

Test(users, hostile_and_unicode_input_is_stored_verbatim)
{
	static const char *const names[] = {
	    "Robert'); DROP TABLE users;--",
	    "100% _under_ \\back\\slash \"quoted\" <b>tag</b>",
	    "Łukasz Żółć 日本語の名前 🚀🚀 عربى",
	    "$1 $2 ::jsonb %s %n {{}}",
	    NULL };
	struct user	a;
	struct resp	*r;
	char		*b, name100[512];
	size_t		i;

	fx_new(&a, "hostile-");
	for (i = 0; names[i] != NULL; i++) {
		b = fx_dump(json_pack("{s:s, s:s, s:{s:s}}", "full_name",
		    names[i], "organization", names[i], "preferences",
		    names[i], names[i]));
		r = fx_call("PATCH", &a, b, "/api/v1/users/me");
		free(b);
		fx_status(r, 200);
		resp_free(r);
		r = fx_call("GET", &a, NULL, "/api/v1/users/me");
		fx_status(r, 200);
		cr_expect_str_eq(jstr(r, "data.full_name"), names[i]);
		cr_expect_str_eq(jstr(r, "data.organization"), names[i]);
		cr_expect_str_eq(json_string_value(json_object_get(jpath(
		    r->json, "data.preferences"), names[i])), names[i]);
		resp_free(r);
	}

	/* 100 code points of 4 bytes each is the limit; 101 is not. */
	name100[0] = '\0';
	for (i = 0; i < 100; i++)
		(void)strcat(name100, "\xf0\x9f\x98\x80");
	b = fx_dump(json_pack("{s:s}", "full_name", name100));
	r = fx_call("PATCH", &a, b, "/api/v1/users/me");
	free(b);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.full_name"), name100);
	resp_free(r);
	(void)strcat(name100, "\xf0\x9f\x98\x80");
	b = fx_dump(json_pack("{s:s}", "full_name", name100));
	r = fx_call("PATCH", &a, b, "/api/v1/users/me");
	free(b);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "full_name"), "too_long");
	resp_free(r);

	/* Invalid UTF-8 in a string is a 400, never a 500. */
	r = fx_call("PATCH", &a, "{\"full_name\": \"ab\xff\xfe\"}",
	    "/api/v1/users/me");
	cr_expect_eq(r->status, 400, "%s", r->body);
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"full_name\": \"ab\\u0000cd\"}",
	    "/api/v1/users/me");
	cr_expect_eq(r->status, 400, "%s", r->body);
	resp_free(r);
}

Test(users, delete_me_soft_deletes_and_locks_the_account_at_once)
{
	struct user	a, adm;
	struct resp	*r;
	char		*b, deleted[64];

	fx_new(&a, "softdel-");
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.deleted")));
	cr_expect_str_eq(jstr(r, "data.id"), a.id);
	resp_free(r);

	/* The same access token stops working at once. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);

	/* Login is refused; the email stays taken. */
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_expect_neq(r->status, 200, "%s", r->body);
	cr_expect(r->status >= 400 && r->status < 500);
	resp_free(r);
	b = fx_dump(json_pack("{s:s, s:s, s:s}", "email", a.email,
	    "password", FX_PASSWORD, "full_name", "Second Try"));
	r = http_json("POST", "/api/v1/auth/register", NULL, b);
	free(b);
	fx_error(r, 409, "email_taken");
	resp_free(r);

	/* The row stays, marked; its sessions are revoked. */
	(void)snprintf(deleted, sizeof(deleted), "%s",
	    fx_sql("SELECT (deleted_at IS NOT NULL AND NOT is_active)::text "
	    "FROM users WHERE id = $1", a.id));
	cr_expect_str_eq(deleted, "true");
	(void)snprintf(deleted, sizeof(deleted), "%s",
	    fx_sql("SELECT count(*) FROM sessions WHERE user_id = $1 AND "
	    "revoked_at IS NULL", a.id));
	cr_expect_str_eq(deleted, "0");

	/* The admin still sees it, with deleted_at. */
	fx_admin(&adm);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_status(r, 200);
	cr_expect_not_null(jstr(r, "data.deleted_at"));
	cr_expect(json_is_false(jpath(r->json, "data.is_active")));
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=%s&event="
	    "user_deleted", a.id);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect(json_is_true(jpath(r->json, "data.items.0.details.soft")));
	resp_free(r);
}

Test(users, settings_have_defaults_and_round_trip)
{
	struct user	a;
	struct resp	*r;
	char		*b;

	fx_new(&a, "set-");
	r = fx_call("GET", &a, NULL, "/api/v1/users/me/settings");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.language"), "en");
	cr_expect_str_eq(jstr(r, "data.timezone"), "UTC");
	cr_expect_str_eq(jstr(r, "data.theme"), "system");
	cr_expect(json_is_object(jpath(r->json, "data.notifications")));
	cr_expect_eq(jint(r, "data.privacy.data_retention_days"), 365);
	cr_expect(json_is_false(jpath(r->json, "data.privacy.share_usage")));
	resp_free(r);

	b = fx_dump(json_pack("{s:s, s:s, s:s, s:{s:b, s:b}, s:{s:i, s:b}}",
	    "language", "fr-CA", "timezone", "Europe/Paris", "theme", "dark",
	    "notifications", "email", 1, "sms", 0,
	    "privacy", "data_retention_days", 30, "share_usage", 1));
	r = fx_call("PUT", &a, b, "/api/v1/users/me/settings");
	free(b);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.language"), "fr-CA");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me/settings");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.language"), "fr-CA");
	cr_expect_str_eq(jstr(r, "data.timezone"), "Europe/Paris");
	cr_expect_str_eq(jstr(r, "data.theme"), "dark");
	cr_expect(json_is_true(jpath(r->json, "data.notifications.email")));
	cr_expect(json_is_false(jpath(r->json, "data.notifications.sms")));
	cr_expect_eq(jint(r, "data.privacy.data_retention_days"), 30);
	cr_expect(json_is_true(jpath(r->json, "data.privacy.share_usage")));
	resp_free(r);

	/* PUT replaces: what is left out returns to its default. */
	r = fx_call("PUT", &a, "{\"theme\": \"light\"}",
	    "/api/v1/users/me/settings");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.theme"), "light");
	cr_expect_str_eq(jstr(r, "data.language"), "en");
	cr_expect_str_eq(jstr(r, "data.timezone"), "UTC");
	cr_expect_eq(jint(r, "data.privacy.data_retention_days"), 365);
	resp_free(r);
}

Test(users, settings_reject_bad_values)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "setbad-");
	r = fx_call("PUT", &a, "{\"language\": \"english!\", \"theme\": "
	    "\"neon\", \"timezone\": \"Europe/Paris'; --\", "
	    "\"notifications\": {\"email\": \"yes\"}, "
	    "\"privacy\": {\"data_retention_days\": 0, \"share_usage\": 1}}",
	    "/api/v1/users/me/settings");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "language"), "invalid");
	cr_expect_str_eq(fx_issue(r, "theme"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "timezone"), "invalid");
	cr_expect_str_eq(fx_issue(r, "notifications"), "invalid_type");
	cr_expect_str_eq(fx_issue(r, "data_retention_days"), "out_of_range");
	cr_expect_str_eq(fx_issue(r, "share_usage"), "wrong_type");
	resp_free(r);

	/* Well formed, but not a zone PostgreSQL knows. */
	r = fx_call("PUT", &a, "{\"timezone\": \"Mars/Olympus_Mons\"}",
	    "/api/v1/users/me/settings");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "timezone"), "invalid");
	resp_free(r);

	r = fx_call("PUT", &a, "{\"privacy\": [1]}",
	    "/api/v1/users/me/settings");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "privacy"), "wrong_type");
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me/settings");
	cr_expect_str_eq(jstr(r, "data.timezone"), "UTC");
	resp_free(r);
}

Test(users, audit_lists_only_the_callers_events_with_paging)
{
	struct user	a, b;
	struct resp	*r;
	json_t		*it;
	const char	*uid;
	size_t		i;

	fx_new(&a, "auda-");
	fx_new(&b, "audb-");
	r = fx_call("PATCH", &a, "{\"full_name\": \"Audit One\"}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"full_name\": \"Audit Two\"}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit");
	fx_status(r, 200);
	cr_expect(jint(r, "data.total") >= 2, "%s", r->body);
	cr_expect_eq(jint(r, "data.limit"), 50);
	cr_expect_eq(jint(r, "data.offset"), 0);
	cr_expect_str_eq(jstr(r, "data.items.0.event"), "user_updated");
	cr_expect(is_rfc3339(jstr(r, "data.items.0.created_at")));
	cr_expect(json_is_integer(jpath(r->json, "data.items.0.id")));
	cr_expect(json_is_object(jpath(r->json, "data.items.0.details")));
	cr_expect_str_eq(jstr(r, "data.items.0.details.fields.0"),
	    "full_name");
	cr_expect_not_null(jpath(r->json, "data.items.0.ip"));
	cr_expect_not_null(jpath(r->json, "data.items.0.user_agent"));
	/* Every row names its user (docs/API.md §3), as the admin list does. */
	json_array_foreach(jpath(r->json, "data.items"), i, it) {
		uid = json_string_value(json_object_get(it, "user_id"));
		cr_expect_str_eq(uid != NULL ? uid : "(none)", a.id, "%s",
		    r->body);
	}
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit?limit=1&"
	    "offset=1");
	fx_status(r, 200);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 1);
	cr_expect_eq(jint(r, "data.limit"), 1);
	cr_expect_eq(jint(r, "data.offset"), 1);
	resp_free(r);

	/* B sees none of A's events (B's only: registration). */
	r = fx_call("GET", &b, NULL, "/api/v1/users/me/audit?limit=100");
	fx_status(r, 200);
	json_array_foreach(jpath(r->json, "data.items"), i, it)
		cr_expect_str_neq(json_string_value(json_object_get(it,
		    "event")), "user_updated", "%s", r->body);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit?limit=0");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "limit"), "out_of_range");
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit?offset=-1");
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(users, a_user_never_reaches_another_or_admin_routes)
{
	struct user	a, b;
	struct resp	*r;

	fx_new(&a, "iso-a-");
	fx_new(&b, "iso-b-");

	r = fx_call("GET", &a, NULL, "/api/v1/users/%s", b.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("PATCH", &a, "{\"full_name\": \"Hijacked\"}",
	    "/api/v1/users/%s", b.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("DELETE", &a, NULL, "/api/v1/users/%s", b.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users?search=iso");
	fx_error(r, 403, "forbidden");
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/audit?user_id=%s", b.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);
	/* Not even one's own id on the admin path. */
	r = fx_call("PATCH", &a, "{\"is_superuser\": true}",
	    "/api/v1/users/%s", a.id);
	fx_error(r, 403, "forbidden");
	resp_free(r);

	/* B is untouched. */
	r = fx_call("GET", &b, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.full_name"), FX_FULL_NAME);
	cr_expect(json_is_false(jpath(r->json, "data.is_superuser")));
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect(json_is_false(jpath(r->json, "data.is_superuser")));
	resp_free(r);
}
