/*
 * Usernames and phone ownership (README "Accounts and sessions"): an
 * optional username, unique without regard to case and checked in one
 * place, with an availability check; a phone number verified by one
 * active account at most (409 phone_taken for the next one).
 */
#include "fixture.h"

#include <ctype.h>

static struct resp *
register_with(const char *email, const char *username)
{
	struct resp	*r;
	char		*b;

	b = fx_dump(json_pack("{s:s, s:s, s:s, s:s}", "email", email,
	    "password", FX_PASSWORD, "full_name", "Accounts Tester",
	    "username", username));
	r = http_json("POST", "/api/v1/auth/register", NULL, b);
	free(b);
	return (r);
}

static struct resp *
patch_username(struct user *a, const char *username)
{
	struct resp	*r;
	char		*b;

	b = fx_dump(json_pack("{s:s?}", "username", username));
	if (username == NULL) {
		free(b);
		b = strdup("{\"username\": null}");
	}
	r = fx_call("PATCH", a, b, "/api/v1/users/me");
	free(b);
	return (r);
}

static void
flip_case(const char *in, char *out, size_t len)
{
	size_t	i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		out[i] = (char)(islower((unsigned char)in[i]) ?
		    toupper((unsigned char)in[i]) :
		    tolower((unsigned char)in[i]));
	out[i] = '\0';
}

static long
available(const char *name, int *avail)
{
	struct resp	*r;
	char		 path[256];
	long		 st;

	(void)snprintf(path, sizeof(path),
	    "/api/v1/auth/username-available?username=%s", name);
	r = http_get(path);
	st = r->status;
	if (st == 200) {
		cr_expect_str_eq(jstr(r, "data.username"), name);
		*avail = json_is_true(jpath(r->json, "data.available"));
	}
	resp_free(r);
	return (st);
}

Test(accounts, a_username_is_unique_without_regard_to_case)
{
	struct resp	*r;
	char		 name[64], upper[64], email[160];
	int		 avail;

	(void)snprintf(name, sizeof(name), "%s", uniq("Un"));
	flip_case(name, upper, sizeof(upper));
	cr_assert_eq(available(name, &avail), 200);
	cr_expect(avail);

	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("un-a"));
	r = register_with(email, name);
	fx_status(r, 201);
	cr_expect_str_eq(jstr(r, "data.user.username"), name);
	cr_expect(json_is_false(jpath(r->json, "data.user.email_verified")));
	resp_free(r);

	cr_assert_eq(available(upper, &avail), 200);
	cr_expect_not(avail, "taken in another case");
	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("un-b"));
	r = register_with(email, upper);
	fx_error(r, 409, "username_taken");
	cr_expect_str_eq(jstr(r, "error.details.field"), "username");
	resp_free(r);

	/* The refused sign-up left no account behind. */
	r = fx_login(NULL, NULL, email, FX_PASSWORD);
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
}

Test(accounts, usernames_are_checked_in_one_place)
{
	static const char *const bad[][2] = {
		{ "ab", "too_short" },
		{ "9lives", "invalid" },
		{ "dot.", "invalid" },
		{ "a..b", "invalid" },
		{ "Admin", "reserved" },
		{ "abcdefghijklmnopqrstuvwxyz012345", "too_long" },
	};
	struct user	 a;
	struct resp	*r;
	char		 email[160];
	size_t		 i;

	fx_new(&a, "un-bad-");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(email, sizeof(email), "%s@example.test",
		    uniq("un-bad"));
		r = register_with(email, bad[i][0]);
		fx_error(r, 400, "validation_error");
		cr_expect_str_eq(fx_issue(r, "username"), bad[i][1], "%s: %s",
		    bad[i][0], r->body);
		resp_free(r);

		r = patch_username(&a, bad[i][0]);
		fx_error(r, 400, "validation_error");
		cr_expect_str_eq(fx_issue(r, "username"), bad[i][1], "%s",
		    bad[i][0]);
		resp_free(r);

		r = http_get("/api/v1/auth/username-available?username=ab");
		fx_error(r, 400, "validation_error");
		resp_free(r);
	}
	r = fx_call("PATCH", &a, "{\"username\": 42}", "/api/v1/users/me");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = http_get("/api/v1/auth/username-available");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "username"), "missing");
	resp_free(r);
}

Test(accounts, a_username_is_set_changed_and_released_by_patch)
{
	struct user	 a, b;
	struct resp	*r;
	char		 name[64], other[64];
	int		 avail;

	fx_new(&a, "un-pa-");
	fx_new(&b, "un-pb-");
	(void)snprintf(name, sizeof(name), "%s", uniq("Pn"));
	flip_case(name, other, sizeof(other));

	r = patch_username(&a, name);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.username"), name);
	resp_free(r);
	r = patch_username(&b, other);
	fx_error(r, 409, "username_taken");
	resp_free(r);

	/* null clears it, and it is free again. */
	r = patch_username(&a, NULL);
	fx_status(r, 200);
	cr_expect(json_is_null(jpath(r->json, "data.username")), "%s",
	    r->body);
	resp_free(r);
	cr_assert_eq(available(other, &avail), 200);
	cr_expect(avail);
	r = patch_username(&b, other);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.username"), other);
	resp_free(r);
	r = fx_call("GET", &b, NULL, "/api/v1/auth/me");
	cr_expect_str_eq(jstr(r, "data.username"), other);
	resp_free(r);
}

static struct resp *
phone_call(struct user *a, const char *what, const char *phone,
    const char *code)
{
	struct resp	*r;
	char		*b, path[64];

	b = fx_dump(code ? json_pack("{s:s, s:s}", "phone", phone, "code",
	    code) : json_pack("{s:s}", "phone", phone));
	(void)snprintf(path, sizeof(path), "/api/v1/auth/phone/%s", what);
	r = fx_call("POST", a, b, "%s", path);
	free(b);
	return (r);
}

static void
admin_set_active(struct user *adm, const char *id, int active)
{
	struct resp	*r;

	r = fx_call("PATCH", adm, active ? "{\"is_active\": true}" :
	    "{\"is_active\": false}", "/api/v1/users/%s", id);
	fx_status(r, 200);
	resp_free(r);
}

Test(accounts, a_phone_is_verified_by_one_active_account_only)
{
	struct user	 a, b, adm;
	struct resp	*r;
	char		 phone[32], code_a[7], code_b[7];
	const char	*log;

	log = env_or("E2E_SERVER_LOG", "/dev/null");
	fx_new(&a, "ph-own-a-");
	fx_new(&b, "ph-own-b-");
	fx_admin(&adm);
	fx_phone(phone, sizeof(phone));

	r = phone_call(&a, "request", phone, NULL);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(log, "sms", phone, code_a));
	r = phone_call(&a, "verify", phone, code_a);
	fx_status(r, 200);
	resp_free(r);

	/*
	 * The second account is sent a code as anyone is (the request
	 * tells nothing), but proving it holds the number gets 409.
	 */
	/* Instead of waiting out the 60 s between two codes to one phone. */
	(void)fx_sql("UPDATE phone_codes SET created_at = created_at - "
	    "interval '61 seconds' WHERE phone = $1", phone);
	r = phone_call(&b, "request", phone, NULL);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(log, "sms", phone, code_b));
	cr_assert_str_neq(code_a, code_b);
	r = phone_call(&b, "verify", phone, code_b);
	fx_error(r, 409, "phone_taken");
	resp_free(r);
	r = fx_call("GET", &b, NULL, "/api/v1/users/me");
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")));
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect(json_is_true(jpath(r->json, "data.phone_verified")));
	resp_free(r);

	/* Deactivated, the first account no longer holds it. */
	admin_set_active(&adm, a.id, 0);
	r = phone_call(&b, "verify", phone, code_b);
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.phone_verified")));
	resp_free(r);

	/* Reactivated, it comes back without the verification. */
	admin_set_active(&adm, a.id, 1);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.phone"), phone);
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")),
	    "%s", r->body);
	resp_free(r);
}
