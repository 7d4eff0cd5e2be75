/*
 * Auth and sessions (docs/API.md §2) on the main instance: register, login
 * (JSON and OAuth2 form), me, sessions, logout, password, and hostile
 * input in every field.
 */
#include "fixture.h"

static json_t *
reg_body(const char *email, const char *pw, const char *name)
{
	return (json_pack("{s:s, s:s, s:s}", "email", email, "password", pw,
	    "full_name", name));
}

static int
has_issue(struct resp *r, const char *field, const char *issue)
{
	json_t		*f, *e;
	size_t		 i;

	f = jpath(r->json, "error.details.fields");
	json_array_foreach(f, i, e) {
		if (!strcmp(json_string_value(json_object_get(e, "field")),
		    field) && !strcmp(json_string_value(json_object_get(e,
		    "issue")), issue))
			return (1);
	}
	return (0);
}

Test(auth, register_answers_201_with_tokens_and_user_without_hash)
{
	struct jwt_claims	 c;
	struct resp		*r;
	char			 email[200];

	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("reg"));
	r = fx_register(NULL, NULL, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:s}", "email", email, "password", FX_PASSWORD, "full_name",
	    "Ada Lovelace", "phone", "+33612345678", "organization",
	    "Analytical Engines", "role", "lawyer"));
	cr_assert_eq(r->status, 201, "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "success")));
	cr_expect_str_eq(jstr(r, "data.token_type"), "bearer");
	cr_expect_eq(jint(r, "data.expires_in"), 30 * 60);
	cr_expect_not_null(jstr(r, "data.refresh_token"));
	cr_expect_str_eq(jstr(r, "data.user.email"), email);
	cr_expect_str_eq(jstr(r, "data.user.full_name"), "Ada Lovelace");
	cr_expect_str_eq(jstr(r, "data.user.phone"), "+33612345678");
	cr_expect_str_eq(jstr(r, "data.user.organization"),
	    "Analytical Engines");
	cr_expect_str_eq(jstr(r, "data.user.role"), "lawyer");
	cr_expect(json_is_false(jpath(r->json, "data.user.is_superuser")));
	cr_expect(json_is_true(jpath(r->json, "data.user.is_active")));
	cr_expect(json_is_false(jpath(r->json, "data.user.phone_verified")));
	cr_expect(json_is_object(jpath(r->json, "data.user.preferences")));
	cr_expect_not_null(jstr(r, "data.user.created_at"));
	cr_expect_null(strstr(r->body, "password"), "%s", r->body);
	cr_expect_null(strstr(r->body, "$2b$"));

	fx_claims(jstr(r, "data.access_token"), &c);
	cr_expect_str_eq(c.sub, jstr(r, "data.user.id"));
	cr_expect_str_eq(c.role, "lawyer");
	cr_expect_eq(c.exp - c.iat, 30 * 60);
	cr_expect(uuid_valid(c.sid) && uuid_valid(c.jti));
	resp_free(r);
}

Test(auth, register_duplicate_email_is_409_email_taken_any_case)
{
	struct user	 a;
	struct resp	*r;
	char		 upper[200];
	size_t		 i;

	fx_new(&a, "dup");
	r = fx_register(NULL, NULL, reg_body(a.email, FX_PASSWORD,
	    "Someone Else"));
	fx_error(r, 409, "email_taken");
	resp_free(r);

	for (i = 0; a.email[i] != '\0' && i < sizeof(upper) - 1; i++)
		upper[i] = (char)toupper((unsigned char)a.email[i]);
	upper[i] = '\0';
	r = fx_register(NULL, NULL, reg_body(upper, FX_PASSWORD,
	    "Someone Else"));
	fx_error(r, 409, "email_taken");
	resp_free(r);
}

Test(auth, weak_password_reports_every_issue)
{
	struct resp	*r;
	char		 email[200];

	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("weak"));
	r = fx_register(NULL, NULL, reg_body(email, "abc", "Weak Pw"));
	fx_error(r, 400, "weak_password");
	cr_expect(has_issue(r, "password", "too_short"), "%s", r->body);
	cr_expect(has_issue(r, "password", "needs_digit"), "%s", r->body);
	resp_free(r);

	r = fx_register(NULL, NULL, reg_body(email, "password1",
	    "Weak Pw"));
	fx_error(r, 400, "weak_password");
	cr_expect(has_issue(r, "password", "too_common"), "%s", r->body);
	resp_free(r);

	r = fx_register(NULL, NULL, reg_body(email, email, "Weak Pw"));
	fx_error(r, 400, "weak_password");
	cr_expect(has_issue(r, "password", "same_as_email"), "%s", r->body);
	resp_free(r);

	r = fx_register(NULL, NULL, reg_body(email, "12345678901234",
	    "Weak Pw"));
	fx_error(r, 400, "weak_password");
	cr_expect(has_issue(r, "password", "needs_letter"), "%s", r->body);
	resp_free(r);
}

Test(auth, other_invalid_fields_are_validation_error_listing_all)
{
	struct resp	*r;

	r = fx_register(NULL, NULL, json_pack("{s:s, s:s, s:s, s:s, s:s, "
	    "s:i}", "email", "not-an-email", "password", "short",
	    "full_name", "X", "phone", "0612345678", "role", "admin",
	    "organization", 5));
	fx_error(r, 400, "validation_error");
	cr_expect(has_issue(r, "email", "invalid_format"), "%s", r->body);
	cr_expect(has_issue(r, "full_name", "too_short"), "%s", r->body);
	cr_expect(has_issue(r, "phone", "invalid"), "%s", r->body);
	cr_expect(has_issue(r, "role", "invalid_choice"), "%s", r->body);
	cr_expect(has_issue(r, "organization", "wrong_type"), "%s", r->body);
	cr_expect(has_issue(r, "password", "too_short"), "%s", r->body);
	resp_free(r);

	r = fx_register(NULL, NULL, json_pack("{}"));
	fx_error(r, 400, "validation_error");
	cr_expect(has_issue(r, "email", "missing"), "%s", r->body);
	cr_expect(has_issue(r, "password", "missing"), "%s", r->body);
	cr_expect(has_issue(r, "full_name", "missing"), "%s", r->body);
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/register", NULL, NULL,
	    "{\"email\": ");
	fx_error(r, 400, "invalid_json");
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/register", NULL, NULL,
	    "[1, 2]");
	cr_expect_eq(r->status, 400);
	resp_free(r);
}

Test(auth, hostile_text_is_stored_verbatim_or_refused_never_500)
{
	static const char *const names[] = {
		"Robert'); DROP TABLE users;--",
		"Zoë Ünïcødé 😀 名前 \\\" %s %n",
		"  leading and trailing  ",
		"\xe2\x80\xae\xe2\x80\x8b tab\there",
	};
	static const char *const emails[] = {
		"x\"y@example.test", "x;y@example.test",
		"user@exa mple.test", "ünï@example.test", "a@b",
		    "@example.test",
		"a..b@example.test", "x@-bad-.test",
	};
	struct resp	*r, *m;
	char		 email[200], org[202], longname[512];
	size_t		 i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		(void)snprintf(email, sizeof(email), "%s@example.test",
		    uniq("meta"));
		memset(org, '\'', 200);
		org[200] = '\0';
		r = fx_register(NULL, NULL, json_pack("{s:s, s:s, s:s, "
		    "s:s}", "email", email, "password", FX_PASSWORD,
		    "full_name", names[i], "organization", org));
		cr_assert_eq(r->status, 201, "%s: %s", names[i], r->body);
		cr_expect_str_eq(jstr(r, "data.user.full_name"), names[i]);
		cr_expect_str_eq(jstr(r, "data.user.organization"), org);
		m = fx_req(NULL, "GET", "/api/v1/auth/me",
		    jstr(r, "data.access_token"), NULL, NULL);
		cr_expect_eq(m->status, 200);
		cr_expect_str_eq(jstr(m, "data.full_name"), names[i]);
		resp_free(m);
		resp_free(r);
	}
	for (i = 0; i < sizeof(emails) / sizeof(emails[0]); i++) {
		r = fx_register(NULL, NULL, reg_body(emails[i],
		    FX_PASSWORD, "Meta Tester"));
		cr_expect_eq(r->status, 400, "%s: %ld %s", emails[i],
		    r->status, r->body);
		resp_free(r);
		r = fx_login(NULL, NULL, emails[i], FX_PASSWORD);
		cr_expect(r->status == 401 || r->status == 400, "%s: %ld",
		    emails[i], r->status);
		resp_free(r);
	}

	/* Quotes are legal in a local part: stored and returned as is. */
	(void)snprintf(email, sizeof(email), "o'r%s'--@example.test",
	    uniq("q"));
	r = fx_register(NULL, NULL, reg_body(email, FX_PASSWORD,
	    "Quote Mail"));
	cr_expect_eq(r->status, 201, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.user.email"), email);
	resp_free(r);
	r = fx_login(NULL, NULL, email, FX_PASSWORD);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);

	/* Too long: 101 code points of 4 bytes each, a 255-char email. */
	longname[0] = '\0';
	for (i = 0; i < 101; i++)
		(void)strcat(longname, "\xf0\x9f\x98\x80");
	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("long"));
	r = fx_register(NULL, NULL, reg_body(email, FX_PASSWORD,
	    longname));
	fx_error(r, 400, "validation_error");
	cr_expect(has_issue(r, "full_name", "too_long"), "%s", r->body);
	resp_free(r);
	memset(longname, 'a', 250);
	(void)strcpy(longname + 250, "@x.io");
	r = fx_register(NULL, NULL, reg_body(longname, FX_PASSWORD,
	    "Long Mail"));
	fx_error(r, 400, "validation_error");
	resp_free(r);

	/* A password of metacharacters and emoji works end to end. */
	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("pwm"));
	r = fx_register(NULL, NULL, reg_body(email,
	    "p4ss'; DROP--\"😀\\%", "Meta Pw"));
	cr_expect_eq(r->status, 201, "%s", r->body);
	resp_free(r);
	r = fx_login(NULL, NULL, email, "p4ss'; DROP--\"😀\\%");
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
}

Test(auth, login_json_and_oauth2_form)
{
	const char	*hdrs[] = { "Content-Type: application/x-www-form-"
	    "urlencoded", NULL };
	struct user	 a;
	struct resp	*r, *m;
	char		 form[512], enc[256];
	size_t		 i, o;

	fx_new(&a, "login+tag");
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.token_type"), "bearer");
	cr_expect_str_eq(jstr(r, "data.user.id"), a.id);
	cr_expect_not_null(jstr(r, "data.user.last_login"));
	m = fx_req(NULL, "GET", "/api/v1/auth/me",
	    jstr(r, "data.access_token"), NULL, NULL);
	cr_expect_eq(m->status, 200);
	cr_expect_str_eq(jstr(m, "data.id"), a.id);
	resp_free(m);
	resp_free(r);

	/* The form: '+' in the email percent-encoded, the rest as is. */
	for (i = 0, o = 0; a.email[i] != '\0'; i++) {
		if (a.email[i] == '+' || a.email[i] == '@')
			o += (size_t)snprintf(enc + o, sizeof(enc) - o,
			    "%%%02X",
			    (unsigned char)a.email[i]);
		else
			enc[o++] = a.email[i];
	}
	enc[o] = '\0';
	(void)snprintf(form, sizeof(form),
	    "grant_type=password&username=%s&password=Str0ng-Passw0rd%%21"
	    "&scope=", enc);
	r = http_req("POST", "/api/v1/auth/login", hdrs, form, strlen(form));
	cr_assert_eq(r->status, 200, "%s -> %s", form, r->body);
	cr_expect_str_eq(jstr(r, "data.user.email"), a.email);
	resp_free(r);

	(void)snprintf(form, sizeof(form),
	    "username=%s&password=wrong-Passw0rd", enc);
	r = http_req("POST", "/api/v1/auth/login", hdrs, form, strlen(form));
	fx_error(r, 401, "invalid_credentials");
	resp_free(r);

	(void)snprintf(form, sizeof(form), "username=%s&password=%%zz", enc);
	r = http_req("POST", "/api/v1/auth/login", hdrs, form, strlen(form));
	fx_error(r, 400, "validation_error");
	resp_free(r);

	(void)snprintf(form, sizeof(form), "grant_type=client_credentials&"
	    "username=%s&password=x", enc);
	r = http_req("POST", "/api/v1/auth/login", hdrs, form, strlen(form));
	fx_error(r, 400, "validation_error");
	resp_free(r);

	r = http_req("POST", "/api/v1/auth/login", hdrs, "password=x", 10);
	fx_error(r, 400, "validation_error");
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/login", NULL, NULL,
	    "{\"email\": \"x@example.test\"}");
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(auth, unknown_email_and_wrong_password_answer_alike)
{
	struct user	 a;
	struct resp	*r1, *r2;

	fx_new(&a, "alike");
	r1 = fx_login(NULL, NULL, a.email, "Wrong-Passw0rd");
	r2 = fx_login(NULL, NULL, "nobody-ever@example.test",
	    "Wrong-Passw0rd");
	fx_error(r1, 401, "invalid_credentials");
	fx_error(r2, 401, "invalid_credentials");
	cr_expect_str_eq(jstr(r1, "message"), jstr(r2, "message"));
	cr_expect_str_eq(json_dumps(jpath(r1->json, "error"), JSON_SORT_KEYS),
	    json_dumps(jpath(r2->json, "error"), JSON_SORT_KEYS));
	resp_free(r1);
	resp_free(r2);
}

Test(auth, inactive_or_deleted_user_cannot_log_in_and_tokens_die)
{
	struct user	 a, b;
	struct resp	*r;

	fx_new(&a, "inact");
	(void)fx_sql("UPDATE users SET is_active = false WHERE id = $1::uuid",
	    a.id);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_error(r, 401, "invalid_credentials");
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_refresh(NULL, NULL, a.refresh);
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);

	fx_new(&b, "deleted");
	(void)fx_sql("UPDATE users SET deleted_at = now() WHERE id = $1::uuid",
	    b.id);
	r = fx_login(NULL, NULL, b.email, FX_PASSWORD);
	fx_error(r, 401, "invalid_credentials");
	resp_free(r);
}

Test(auth, admin_login_carries_admin_role)
{
	struct jwt_claims	 c;
	struct resp		*r;

	r = fx_login(NULL, NULL, "admin@elenchus.test", "Adm1n-Passw0rd!");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect(json_is_true(jpath(r->json, "data.user.is_superuser")));
	fx_claims(jstr(r, "data.access_token"), &c);
	cr_expect_str_eq(c.role, "admin");
	resp_free(r);
}

Test(auth, sessions_list_current_and_delete_rules)
{
	struct user	 a, b;
	struct resp	*r, *l2;
	char		 path[128], other[64];
	json_t		*items, *it;
	size_t		 i;
	int		 cur;

	fx_new(&a, "sess");
	fx_new(&b, "sessb");
	l2 = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert_eq(l2->status, 200);

	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.total"), 2);
	items = jpath(r->json, "data.items");
	cr_assert_eq(json_array_size(items), 2);
	cur = 0;
	other[0] = '\0';
	json_array_foreach(items, i, it) {
		cr_expect_not_null(json_object_get(it, "created_at"));
		cr_expect_not_null(json_object_get(it, "last_used_at"));
		cr_expect_str_eq(json_string_value(json_object_get(it,
		    "user_agent")), "elenchus-e2e/1.0");
		cr_expect_not_null(json_string_value(json_object_get(it,
		    "ip")));
		if (json_is_true(json_object_get(it, "current")))
			cur++;
		else
			(void)snprintf(other, sizeof(other), "%s",
			    json_string_value(json_object_get(it, "id")));
	}
	cr_expect_eq(cur, 1);
	resp_free(r);

	/* B cannot see or revoke A's session. */
	(void)snprintf(path, sizeof(path), "/api/v1/auth/sessions/%s", other);
	r = fx_req(NULL, "DELETE", path, b.token, NULL, NULL);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_req(NULL, "DELETE", "/api/v1/auth/sessions/"
	    "00000000-0000-4000-8000-000000000000", a.token, NULL, NULL);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_req(NULL, "DELETE", "/api/v1/auth/sessions/not-a-uuid';--",
	    a.token, NULL, NULL);
	cr_expect_eq(r->status, 404);
	resp_free(r);

	/* A revokes its second session: that session's token dies. */
	r = fx_req(NULL, "DELETE", path, a.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "%s", r->body);
	cr_expect_str_eq(jstr(r, "data.revoked_id"), other);
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/me",
	    jstr(l2, "data.access_token"), NULL, NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_req(NULL, "DELETE", path, a.token, NULL, NULL);
	fx_error(r, 404, "not_found");
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/me", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	resp_free(l2);

	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", b.token, NULL,
	    NULL);
	cr_expect_eq(jint(r, "data.total"), 1);
	resp_free(r);
}

Test(auth, logout_bites_at_once_and_all_revokes_every_session)
{
	struct user	 a;
	struct resp	*r, *l2, *l3;

	fx_new(&a, "logout");
	l2 = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	l3 = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert(l2->status == 200 && l3->status == 200);

	r = fx_req(NULL, "POST", "/api/v1/auth/logout", a.token, NULL, "");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.sessions_revoked"), 1);
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/me", a.token, NULL, NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_refresh(NULL, NULL, a.refresh);
	fx_error(r, 401, "token_revoked");
	resp_free(r);

	r = fx_req(NULL, "GET", "/api/v1/auth/me",
	    jstr(l2, "data.access_token"), NULL, NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/logout",
	    jstr(l2, "data.access_token"), NULL, "{\"all\": true}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.sessions_revoked"), 2);
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/me",
	    jstr(l3, "data.access_token"), NULL, NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/logout",
	    jstr(l3, "data.access_token"), NULL, "{\"all\": \"yes\"}");
	cr_expect_eq(r->status, 401);
	resp_free(r);
	resp_free(l2);
	resp_free(l3);

	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'logout'", a.id), "2");
}

Test(auth, password_change_rules_and_other_sessions_revoked)
{
	struct user	 a;
	struct resp	*r, *l2;

	fx_new(&a, "pwchg");
	l2 = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert_eq(l2->status, 200);

	r = fx_req(NULL, "POST", "/api/v1/auth/password", a.token, NULL,
	    "{\"current_password\": \"Not-The-0ne\", "
	    "\"new_password\": \"N3w-Passw0rd-ok\"}");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/auth/password", a.token, NULL,
	    "{\"current_password\": \"" FX_PASSWORD "\", "
	    "\"new_password\": \"short\"}");
	fx_error(r, 400, "weak_password");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/auth/password", a.token, NULL,
	    "{\"current_password\": \"" FX_PASSWORD "\"}");
	fx_error(r, 400, "validation_error");
	resp_free(r);

	r = fx_req(NULL, "POST", "/api/v1/auth/password", a.token, NULL,
	    "{\"current_password\": \"" FX_PASSWORD "\", "
	    "\"new_password\": \"N3w-Passw0rd-ok\"}");
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.sessions_revoked"), 1);
	resp_free(r);

	r = fx_req(NULL, "GET", "/api/v1/auth/me", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200, "the current session stays");
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/me",
	    jstr(l2, "data.access_token"), NULL, NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	resp_free(l2);

	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	fx_error(r, 401, "invalid_credentials");
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, "N3w-Passw0rd-ok");
	cr_expect_eq(r->status, 200);
	resp_free(r);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'password_changed'", a.id), "1");
}

Test(auth, audit_rows_for_register_login_and_failure)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "audit");
	r = fx_login(NULL, NULL, a.email, "Wrong-Passw0rd");
	resp_free(r);
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	resp_free(r);
	cr_expect_str_eq(fx_sql("SELECT string_agg(event, ',' ORDER BY id) "
	    "FROM audit_events WHERE user_id = $1::uuid", a.id),
	    "register,login_failed,login_success");
	cr_expect_str_eq(fx_sql("SELECT user_agent || ' ' || "
	    "(ip IS NOT NULL)::text FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'register'", a.id),
	    "elenchus-e2e/1.0 true");
}

Test(auth, protected_routes_refuse_missing_or_bad_schemes)
{
	const char	*h1[] = { "Authorization: Basic dXNlcjpwYXNz", NULL };
	const char	*h2[] = { "Authorization: Bearer", NULL };
	struct resp	*r;

	r = fx_req(NULL, "GET", "/api/v1/auth/me", NULL, NULL, NULL);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = http_req("GET", "/api/v1/auth/sessions", h1, NULL, 0);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = http_req("GET", "/api/v1/auth/sessions", h2, NULL, 0);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/login", NULL, NULL, NULL);
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
}

Test(auth, oversized_bodies_are_413)
{
	const char	*hdrs[] = { "Content-Type: application/x-www-form-"
	    "urlencoded", NULL };
	struct resp	*r;
	char		*big;
	size_t		 n;

	n = 8192;
	big = malloc(n + 1);
	memset(big, 'a', n);
	memcpy(big, "username=", 9);
	big[n] = '\0';
	r = http_req("POST", "/api/v1/auth/login", hdrs, big, n);
	fx_error(r, 413, "payload_too_large");
	resp_free(r);
	free(big);

	n = 2 * 1024 * 1024;
	big = malloc(n + 1);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	r = fx_req(NULL, "POST", "/api/v1/auth/register", NULL, NULL, big);
	fx_error(r, 413, "payload_too_large");
	resp_free(r);
	free(big);
}
