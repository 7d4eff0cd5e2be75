/*
 * Email verification (README "Accounts and sessions"): instances of
 * their own with EMAIL_VERIFICATION=required and the SMTP sender pointed
 * at the SMTP stand-in (E2E_SMTP, messages read back from
 * E2E_SMTP_ADMIN), or with the console sender; the main instance has it
 * off.
 */
#include "fixture.h"
#include "b64.h"

#define SMTP_USER	"e2e-mailer"
#define SMTP_PASS	"e2e-mail-pass"
#define SMTP_FROM	"verify@elenchus.test"

static char	smtp_url[128], smtp_env[6][160];

/* EMAIL_VERIFICATION=mode with the SMTP sender at the stand-in. */
static const char *const *
smtp_env_for(const char *mode, const char *starttls)
{
	static const char	*env[12];
	int			 n;

	if (getenv("E2E_SMTP") == NULL)
		cr_skip_test("no SMTP stand-in (E2E_SMTP)");
	(void)snprintf(smtp_url, sizeof(smtp_url), "%s", getenv("E2E_SMTP"));
	(void)snprintf(smtp_env[0], sizeof(smtp_env[0]),
	    "EMAIL_VERIFICATION=%s", mode);
	(void)snprintf(smtp_env[1], sizeof(smtp_env[1]), "SMTP_URL=%s",
	    smtp_url);
	(void)snprintf(smtp_env[2], sizeof(smtp_env[2]), "SMTP_STARTTLS=%s",
	    starttls);
	n = 0;
	env[n++] = smtp_env[0];
	env[n++] = smtp_env[1];
	env[n++] = smtp_env[2];
	env[n++] = "EMAIL_PROVIDER=smtp";
	env[n++] = "SMTP_USERNAME=" SMTP_USER;
	env[n++] = "SMTP_PASSWORD=" SMTP_PASS;
	env[n++] = "SMTP_FROM=" SMTP_FROM;
	env[n++] = "JOBS_DISABLED=1";
	env[n] = NULL;
	return (env);
}

/* A fresh account at base: email local-part prefix<unique>. */
static void
new_at(const char *base, struct user *a, const char *prefix)
{
	struct resp	*r;

	(void)snprintf(a->email, sizeof(a->email), "%s@example.test",
	    uniq(prefix));
	r = fx_register(base, NULL, json_pack("{s:s, s:s, s:s}", "email",
	    a->email, "password", FX_PASSWORD, "full_name", FX_FULL_NAME));
	cr_assert_eq(r->status, 201, "register: %ld %s", r->status, r->body);
	cr_expect(json_is_false(jpath(r->json, "data.user.email_verified")));
	fx_take(a, r);
	resp_free(r);
}

static struct resp *
email_call(const char *base, struct user *a, const char *what,
    const char *code)
{
	char	*b, path[64];
	struct resp *r;

	b = code ? fx_dump(json_pack("{s:s}", "code", code)) : strdup("{}");
	(void)snprintf(path, sizeof(path), "/api/v1/auth/email/%s", what);
	r = fx_call_at(base, "POST", a, b, "%s", path);
	free(b);
	return (r);
}

/*
 * The last message the stand-in took for rcpt (its raw data in msg), and
 * the code in it; 1 when found.
 */
static int
smtp_code(const char *rcpt, char code[7], json_t **msg)
{
	struct resp	*r;
	json_t		*m, *it;
	const char	*data, *p;
	size_t		 i;
	int		 found;

	found = 0;
	r = http_req_to(env_or("E2E_SMTP_ADMIN", ""), "GET", "/__messages",
	    NULL, NULL, 0);
	cr_assert_eq(r->status, 200, "%s", r->body);
	json_array_foreach(jpath(r->json, "messages"), i, m) {
		it = json_array_get(json_object_get(m, "rcpt"), 0);
		if (!json_is_string(it) || strcmp(json_string_value(it), rcpt))
			continue;
		data = json_string_value(json_object_get(m, "data"));
		if (data == NULL || (p = strstr(data, "code is ")) == NULL)
			continue;
		memcpy(code, p + 8, 6);
		code[6] = '\0';
		if (msg != NULL) {
			json_decref(*msg);
			*msg = json_incref(m);
		}
		found = 1;
	}
	resp_free(r);
	return (found);
}

static void
other_code(const char *code, char *out)
{
	(void)snprintf(out, 7, "%06u", (unsigned)(atoi(code) + 1) % 1000000u);
}

/* The "ev" claim of an access token (not verified here). */
static int
token_ev(const char *tok)
{
	char		 pl[2048];
	const char	*d1, *d2;
	size_t		 n;
	json_t		*j;
	int		 ev;

	d1 = strchr(tok, '.');
	cr_assert_not_null(d1);
	d2 = strchr(d1 + 1, '.');
	cr_assert_not_null(d2);
	cr_assert_eq(b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1),
	    (unsigned char *)pl, sizeof(pl) - 1, &n), 0);
	pl[n] = '\0';
	j = json_loads(pl, 0, NULL);
	cr_assert_not_null(j, "%s", pl);
	ev = json_is_true(json_object_get(j, "ev"));
	json_decref(j);
	return (ev);
}

Test(email, required_verification_gates_until_the_mailed_code_is_entered,
    .timeout = 90)
{
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	json_t		*msg, *it;
	const char	*data, *ra;
	char		 code[7], wrong[7], to[256];
	size_t		 i;
	int		 sent, verified;

	fx_srv_start(&s, smtp_env_for("required", "off"));
	new_at(s.base, &a, "em-req-");
	cr_expect_not(token_ev(a.token));

	/* Logged in, but everything else waits for the address. */
	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/users/me");
	fx_error(r, 403, "email_unverified");
	resp_free(r);
	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/users/%s/todos",
	    a.id);
	fx_error(r, 403, "email_unverified");
	resp_free(r);
	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/auth/me");
	fx_status(r, 200);
	cr_expect(json_is_false(jpath(r->json, "data.email_verified")));
	resp_free(r);

	r = email_call(s.base, &a, "request", NULL);
	fx_status(r, 202);
	cr_expect_str_eq(jstr(r, "data.email"), a.email);
	cr_expect_eq(jint(r, "data.expires_in"), 600);
	cr_expect_eq(jint(r, "data.resend_after"), 60);
	resp_free(r);

	/* What the mail server received, over SMTP with AUTH. */
	msg = NULL;
	cr_assert(smtp_code(a.email, code, &msg), "no message to %s",
	    a.email);
	cr_expect_str_eq(json_string_value(json_object_get(msg,
	    "mail_from")), SMTP_FROM);
	cr_expect_str_eq(json_string_value(json_object_get(msg, "auth")),
	    SMTP_USER);
	data = json_string_value(json_object_get(msg, "data"));
	(void)snprintf(to, sizeof(to), "To: %s\r\n", a.email);
	cr_expect_not_null(strstr(data, to), "%s", data);
	cr_expect_not_null(strstr(data,
	    "Subject: Your Elenchus verification code\r\n"), "%s", data);
	cr_expect_not_null(strstr(data, "From: " SMTP_FROM "\r\n"));
	cr_expect_not_null(strstr(data, "Date: "), "%s", data);
	cr_expect_not_null(strstr(data, "Message-ID: <"));
	json_decref(msg);

	/* 60 s between two codes to one address. */
	r = email_call(s.base, &a, "request", NULL);
	fx_error(r, 429, "rate_limited");
	ra = resp_header(r, "retry-after");
	cr_assert_not_null(ra);
	cr_expect(atoi(ra) >= 1 && atoi(ra) <= 60, "retry-after %s", ra);
	resp_free(r);

	other_code(code, wrong);
	r = email_call(s.base, &a, "verify", wrong);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "invalid");
	cr_expect_eq(jint(r, "error.details.attempts_left"), 4);
	resp_free(r);
	r = email_call(s.base, &a, "verify", "12345");
	fx_error(r, 400, "validation_error");
	resp_free(r);

	r = email_call(s.base, &a, "verify", code);
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.email_verified")));
	resp_free(r);

	/* The same token now opens everything; a new one says so itself. */
	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.email_verified")));
	resp_free(r);
	r = fx_login(s.base, NULL, a.email, FX_PASSWORD);
	fx_status(r, 200);
	fx_take(&a, r);
	resp_free(r);
	cr_expect(token_ev(a.token));
	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/users/%s/todos",
	    a.id);
	fx_status(r, 200);
	resp_free(r);

	/* Verified is verified: no second code, no error. */
	r = email_call(s.base, &a, "request", NULL);
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.email_verified")));
	resp_free(r);
	r = email_call(s.base, &a, "verify", code);
	fx_status(r, 200);
	resp_free(r);

	r = fx_call_at(s.base, "GET", &a, NULL, "/api/v1/users/me/audit");
	sent = verified = 0;
	json_array_foreach(jpath(r->json, "data.items"), i, it) {
		data = json_string_value(json_object_get(it, "event"));
		sent += !strcmp(data, "email_code_sent");
		verified += !strcmp(data, "email_verified");
	}
	cr_expect_eq(sent, 1, "%s", r->body);
	cr_expect_eq(verified, 1, "%s", r->body);
	resp_free(r);
	fx_srv_stop(&s);
}

Test(email, a_refusing_mail_server_answers_422_or_502, .timeout = 90)
{
	struct srv	 s, t;
	struct user	 a, b, c;
	struct resp	*r;
	char		 code[7], log[192];

	fx_srv_start(&s, smtp_env_for("optional", "off"));

	/* 550 at RCPT: this address will never take mail. */
	new_at(s.base, &a, "reject-");
	r = email_call(s.base, &a, "request", NULL);
	fx_error(r, 422, "email_undeliverable");
	cr_expect_eq(jint(r, "error.details.smtp_code"), 550);
	resp_free(r);

	/* 451: the mail server's trouble, not the caller's. */
	new_at(s.base, &b, "tempfail-");
	r = email_call(s.base, &b, "request", NULL);
	fx_error(r, 502, "email_upstream_error");
	resp_free(r);
	cr_expect_not(smtp_code(b.email, code, NULL));

	/* Optional: nothing is gated meanwhile. */
	r = fx_call_at(s.base, "GET", &b, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	resp_free(r);

	/* STARTTLS required, the server offers none: 502, no plain text. */
	fx_srv_start(&t, smtp_env_for("optional", "required"));
	new_at(t.base, &c, "em-tls-");
	r = email_call(t.base, &c, "request", NULL);
	fx_error(r, 502, "email_upstream_error");
	resp_free(r);
	cr_expect_not(smtp_code(c.email, code, NULL));

	/* Failures are logged, never with the SMTP password. */
	(void)snprintf(log, sizeof(log), "%s.log", t.dir);
	fx_srv_stop(&t);
	fx_srv_stop(&s);
	cr_expect(fx_file_has(log, "\"event\":\"email_failed\""));
	cr_expect_not(fx_file_has(log, SMTP_PASS));
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	cr_expect(fx_file_has(log, "\"event\":\"email_failed\""));
	cr_expect_not(fx_file_has(log, SMTP_PASS));
}

Test(email, console_sender_and_burnt_codes, .timeout = 90)
{
	static const char *const env[] = { "EMAIL_VERIFICATION=optional",
		"EMAIL_PROVIDER=console", "JOBS_DISABLED=1", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 code[7], wrong[7], log[192];
	int		 i;

	fx_srv_start(&s, env);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	new_at(s.base, &a, "em-con-");
	r = email_call(s.base, &a, "request", NULL);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(log, "email", a.email, code),
	    "no console email to %s", a.email);

	/* Five wrong codes burn it: the right one is then refused too. */
	other_code(code, wrong);
	for (i = 4; i >= 0; i--) {
		r = email_call(s.base, &a, "verify", wrong);
		fx_error(r, 400, "validation_error");
		cr_expect_str_eq(fx_issue(r, "code"), "invalid");
		cr_expect_eq(jint(r, "error.details.attempts_left"), i);
		resp_free(r);
	}
	r = email_call(s.base, &a, "verify", code);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);

	/* A new code (after the 60 s gap) works. */
	(void)fx_sql("UPDATE email_codes SET created_at = created_at - "
	    "interval '61 seconds' WHERE email = $1", a.email);
	r = email_call(s.base, &a, "request", NULL);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(log, "email", a.email, wrong));
	cr_expect_str_neq(wrong, code);
	r = email_call(s.base, &a, "verify", wrong);
	fx_status(r, 200);
	resp_free(r);
	fx_srv_stop(&s);
}

Test(email, off_by_default)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "em-off-");
	r = email_call(NULL, &a, "request", NULL);
	fx_error(r, 404, "feature_disabled");
	resp_free(r);
	r = email_call(NULL, &a, "verify", "123456");
	fx_error(r, 404, "feature_disabled");
	resp_free(r);
	/* Off means nothing is gated. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_false(jpath(r->json, "data.email_verified")));
	resp_free(r);
}
