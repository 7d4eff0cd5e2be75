/*
 * Administration of accounts (docs/API.md §3) against the real server: the
 * list and its search, reading and changing one user (with the sessions
 * that must die on deactivation or demotion), the purge, and the audit
 * trail of everyone.
 */
#include "fixture.h"

#include <curl/curl.h>

/* PATCH /users/{id} as the admin with body; the answer. */
static struct resp *
adm_patch(struct user *adm, const char *id, const char *body)
{
	return (fx_call("PATCH", adm, body, "/api/v1/users/%s", id));
}

/* Register an account named name (exact full_name). */
static void
named(struct user *a, const char *prefix, const char *name)
{
	struct resp	*r;
	char		*b;

	fx_new(a, prefix);
	b = fx_dump(json_pack("{s:s}", "full_name", name));
	r = fx_call("PATCH", a, b, "/api/v1/users/me");
	free(b);
	fx_status(r, 200);
	resp_free(r);
}

/* Total of GET /users?search=<q> (q percent-encoded by curl). */
static long long
search_total(struct user *adm, const char *q)
{
	struct resp	*r;
	char		*enc;
	long long	n;
	CURL		*c;

	c = curl_easy_init();
	enc = curl_easy_escape(c, q, 0);
	r = fx_call("GET", adm, NULL, "/api/v1/users?search=%s&limit=100",
	    enc);
	curl_free(enc);
	curl_easy_cleanup(c);
	fx_status(r, 200);
	n = jint(r, "data.total");
	cr_expect_eq((long long)json_array_size(jpath(r->json,
	    "data.items")), n);
	resp_free(r);
	return (n);
}

Test(admin, list_searches_email_and_name_with_literal_metacharacters)
{
	struct user	adm, a, b, c, d;
	struct resp	*r;
	char		tag[64], name[256];

	fx_admin(&adm);
	(void)snprintf(tag, sizeof(tag), "%s", uniq("T"));
	(void)snprintf(name, sizeof(name), "Pct 100%% %s", tag);
	named(&a, "srch-a-", name);
	(void)snprintf(name, sizeof(name), "Pct 1000 %s", tag);
	named(&b, "srch-b-", name);
	(void)snprintf(name, sizeof(name), "Und a_b %s", tag);
	named(&c, "srch-c-", name);
	(void)snprintf(name, sizeof(name), "Und axb %s", tag);
	named(&d, "srch-d-", name);

	cr_expect_eq(search_total(&adm, tag), 4);
	(void)snprintf(name, sizeof(name), "100%% %s", tag);
	cr_expect_eq(search_total(&adm, name), 1, "%% must be literal");
	(void)snprintf(name, sizeof(name), "a_b %s", tag);
	cr_expect_eq(search_total(&adm, name), 1, "_ must be literal");
	(void)snprintf(name, sizeof(name), "\\%% %s", tag);
	cr_expect_eq(search_total(&adm, name), 0);
	cr_expect_eq(search_total(&adm, "'; DROP TABLE users; --"), 0);
	/* By email, case-insensitive. */
	cr_expect_eq(search_total(&adm, a.email), 1);
	(void)snprintf(name, sizeof(name), "%s", a.email);
	name[0] = (char)(name[0] - 32);
	cr_expect_eq(search_total(&adm, name), 1);

	r = fx_call("GET", &adm, NULL, "/api/v1/users?search=%s&limit=2",
	    tag);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 4);
	cr_expect_eq(jint(r, "data.limit"), 2);
	cr_expect_eq(json_array_size(jpath(r->json, "data.items")), 2);
	cr_expect_not_null(jpath(r->json, "data.items.0.token_quota_daily"));
	cr_expect_null(strstr(r->body, "password"));
	resp_free(r);
}

Test(admin, list_filters_on_is_active_and_checks_its_query)
{
	struct user	adm, a;
	struct resp	*r;

	fx_admin(&adm);
	fx_new(&a, "inact-");
	r = adm_patch(&adm, a.id, "{\"is_active\": false}");
	fx_status(r, 200);
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/users?search=%s&"
	    "is_active=false", a.email);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 1);
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/users?search=%s&"
	    "is_active=true", a.email);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 0);
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/users?is_active=maybe&"
	    "limit=101");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "is_active"), "invalid");
	cr_expect_str_eq(fx_issue(r, "limit"), "out_of_range");
	resp_free(r);
	/* Bytes that are not UTF-8: refused or ignored, never a 500. */
	r = fx_call("GET", &adm, NULL, "/api/v1/users?search=%%ff%%fe");
	cr_expect(r->status == 400 || r->status == 200, "%s", r->body);
	resp_free(r);
}

Test(admin, get_one_user_404_for_unknown_and_400_for_malformed)
{
	struct user	adm, a;
	struct resp	*r;

	fx_admin(&adm);
	fx_new(&a, "get1-");
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.email"), a.email);
	cr_expect(json_is_null(jpath(r->json, "data.deleted_at")));
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/users/" FX_NO_SUCH_ID);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = adm_patch(&adm, FX_NO_SUCH_ID, "{\"full_name\": \"Ghost\"}");
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/" FX_NO_SUCH_ID);
	fx_error(r, 404, "not_found");
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/users/not-a-uuid");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/1%%27%%20OR%%201=1");
	cr_expect(r->status == 400 || r->status == 404, "%s", r->body);
	resp_free(r);
	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/12345");
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(admin, patch_changes_admin_fields_and_is_audited)
{
	struct user	adm, a;
	struct resp	*r;

	fx_admin(&adm);
	fx_new(&a, "adpatch-");
	r = adm_patch(&adm, a.id, "{\"role\": \"lawyer\", "
	    "\"token_quota_daily\": 5000, \"full_name\": \"Renamed By Admin\","
	    " \"organization\": \"Firm & Co\", \"phone\": \"+442071234567\"}");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.role"), "lawyer");
	cr_expect_eq(jint(r, "data.token_quota_daily"), 5000);
	cr_expect_str_eq(jstr(r, "data.full_name"), "Renamed By Admin");
	cr_expect_str_eq(jstr(r, "data.organization"), "Firm & Co");
	cr_expect_str_eq(jstr(r, "data.phone"), "+442071234567");
	resp_free(r);

	r = adm_patch(&adm, a.id, "{\"token_quota_daily\": null}");
	fx_status(r, 200);
	cr_expect(json_is_null(jpath(r->json, "data.token_quota_daily")));
	resp_free(r);

	r = adm_patch(&adm, a.id, "{\"token_quota_daily\": -1, \"role\": "
	    "\"emperor\", \"is_active\": \"no\", \"is_superuser\": 1}");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "token_quota_daily"), "out_of_range");
	cr_expect_str_eq(fx_issue(r, "role"), "invalid_choice");
	cr_expect_str_eq(fx_issue(r, "is_active"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "is_superuser"), "wrong_type");
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=%s&"
	    "event=user_updated", a.id);
	fx_status(r, 200);
	cr_expect(jint(r, "data.total") >= 2, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.items.0.event"), "user_updated");
	cr_expect_str_eq(jstr(r, "data.items.0.user_id"), a.id);
	cr_expect_str_eq(jstr(r, "data.items.0.details.actor_id"), adm.id);
	cr_expect_str_eq(jstr(r, "data.items.0.details.fields.0"),
	    "token_quota_daily");
	resp_free(r);

	/* A new role makes the old tokens' claims stale: they are revoked. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_status(r, 200);
	fx_take(&a, r);
	cr_expect_str_eq(jstr(r, "data.user.role"), "lawyer");
	resp_free(r);

	/* The user sees the change, not the admin-only fields. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.full_name"), "Renamed By Admin");
	cr_expect_null(jpath(r->json, "data.token_quota_daily"));
	resp_free(r);
}

Test(admin, deactivation_refuses_the_user_at_once)
{
	struct user	adm, a;
	struct resp	*r;

	fx_admin(&adm);
	fx_new(&a, "deact-");
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);

	r = adm_patch(&adm, a.id, "{\"is_active\": false}");
	fx_status(r, 200);
	cr_expect(json_is_false(jpath(r->json, "data.is_active")));
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_expect(r->status >= 400 && r->status < 500, "%s", r->body);
	resp_free(r);

	/* Reactivated, the user can sign in again. */
	r = adm_patch(&adm, a.id, "{\"is_active\": true}");
	fx_status(r, 200);
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_status(r, 200);
	resp_free(r);
}

Test(admin, promotion_grants_and_demotion_revokes_admin_rights)
{
	struct user	adm, a;
	struct resp	*r;

	fx_admin(&adm);
	fx_new(&a, "promo-");
	r = adm_patch(&adm, a.id, "{\"is_superuser\": true}");
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.is_superuser")));
	resp_free(r);

	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_status(r, 200);
	fx_take(&a, r);
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users?limit=1");
	fx_status(r, 200);
	resp_free(r);

	r = adm_patch(&adm, a.id, "{\"is_superuser\": false}");
	fx_status(r, 200);
	resp_free(r);
	/* The admin-era token is dead, and a new one has no admin right. */
	r = fx_call("GET", &a, NULL, "/api/v1/users?limit=1");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_status(r, 200);
	fx_take(&a, r);
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users?limit=1");
	fx_error(r, 403, "forbidden");
	resp_free(r);
}

Test(admin, an_admin_cannot_purge_deactivate_or_demote_themself)
{
	struct user	adm;
	struct resp	*r;

	fx_admin(&adm);
	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/%s", adm.id);
	fx_error(r, 409, "conflict");
	resp_free(r);
	r = adm_patch(&adm, adm.id, "{\"is_active\": false}");
	fx_error(r, 409, "conflict");
	resp_free(r);
	r = adm_patch(&adm, adm.id, "{\"is_superuser\": false}");
	fx_error(r, 409, "conflict");
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.is_superuser")));
	resp_free(r);
}

Test(admin, purge_removes_the_user_and_keeps_the_audit_row)
{
	struct user	adm, a;
	struct resp	*r;
	char		*b, n[64];

	fx_admin(&adm);
	fx_new(&a, "purge-");
	r = fx_call("PATCH", &a, "{\"full_name\": \"To Be Purged\"}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);

	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_status(r, 200);
	cr_expect_str_eq(jstr(r, "data.id"), a.id);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_call("GET", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_call("DELETE", &adm, NULL, "/api/v1/users/%s", a.id);
	fx_error(r, 404, "not_found");
	resp_free(r);
	(void)snprintf(n, sizeof(n), "%s",
	    fx_sql("SELECT count(*) FROM sessions WHERE user_id = $1", a.id));
	cr_expect_str_eq(n, "0");

	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=%s&"
	    "event=user_deleted", a.id);
	fx_status(r, 200);
	cr_expect_eq(jint(r, "data.total"), 1);
	cr_expect_str_eq(jstr(r, "data.items.0.details.actor_id"), adm.id);
	cr_expect(json_is_true(jpath(r->json, "data.items.0.details.purge")));
	resp_free(r);
	/* The older rows keep the id too. */
	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=%s", a.id);
	cr_expect(jint(r, "data.total") >= 2, "%s", r->body);
	resp_free(r);

	/* The email is free again. */
	b = fx_dump(json_pack("{s:s, s:s, s:s}", "email", a.email,
	    "password", FX_PASSWORD, "full_name", "Born Again"));
	r = http_json("POST", "/api/v1/auth/register", NULL, b);
	free(b);
	fx_status(r, 201);
	resp_free(r);
}

Test(admin, audit_filters_and_checks_its_query)
{
	struct user	adm, a;
	struct resp	*r;
	json_t		*it;
	size_t		i;

	fx_admin(&adm);
	fx_new(&a, "audf-");
	r = fx_call("GET", &adm, NULL, "/api/v1/audit?event=user_updated&"
	    "limit=20");
	fx_status(r, 200);
	json_array_foreach(jpath(r->json, "data.items"), i, it)
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "event")), "user_updated");
	cr_expect_eq(jint(r, "data.limit"), 20);
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=%s", a.id);
	fx_status(r, 200);
	json_array_foreach(jpath(r->json, "data.items"), i, it)
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "user_id")), a.id);
	resp_free(r);

	r = fx_call("GET", &adm, NULL, "/api/v1/audit?user_id=nope&"
	    "event=DROP%%20TABLE&offset=x");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "user_id"), "invalid");
	cr_expect_str_eq(fx_issue(r, "event"), "invalid");
	cr_expect_str_eq(fx_issue(r, "offset"), "out_of_range");
	resp_free(r);

	r = fx_call("GET", NULL, NULL, "/api/v1/audit");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
}
