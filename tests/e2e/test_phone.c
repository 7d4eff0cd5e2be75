/*
 * Phone verification (docs/API.md §2) against the real server: the console
 * sender on the main instance (codes read from its log), the limits on
 * sending, wrong and burnt codes; and the Twilio sender on instances of
 * their own pointed at the stand-in (E2E_SMS), down to the exact request
 * Twilio receives and errors that never leak the auth token.
 */
#include "fixture.h"

#define TW_SID		"ACtest"
#define TW_TOKEN	"twilio-test-token"
#define TW_FROM		"+15005550006"
#define TW_BAD_TO	"+15005550001"

static struct resp *
code_request(const char *base, struct user *a, const char *phone)
{
	char	*b;
	struct resp *r;

	b = fx_dump(json_pack("{s:s}", "phone", phone));
	r = fx_call_at(base, "POST", a, b, "/api/v1/auth/phone/request");
	free(b);
	return (r);
}

static struct resp *
code_verify(const char *base, struct user *a, const char *phone,
    const char *code)
{
	char	*b;
	struct resp *r;

	b = fx_dump(json_pack("{s:s, s:s}", "phone", phone, "code", code));
	r = fx_call_at(base, "POST", a, b, "/api/v1/auth/phone/verify");
	free(b);
	return (r);
}

/* A six-digit code that is not code. */
static void
other_code(const char *code, char *out)
{
	(void)snprintf(out, 7, "%06u", (unsigned)(atoi(code) + 1) % 1000000u);
}

static const char *
main_log(void)
{
	return (env_or("E2E_SERVER_LOG", "/dev/null"));
}

Test(phone, console_code_verifies_the_phone)
{
	struct user	a;
	struct resp	*r;
	char		phone[32], masked[32], code[7], wrong[7];
	json_t		*it;
	size_t		i, n;
	int		sent, verified;

	fx_new(&a, "ph-ok-");
	fx_phone(phone, sizeof(phone));
	/* "+", two digits, a star for each digit but the last two, those. */
	n = strlen(phone);
	for (i = 0; i < n; i++)
		masked[i] = (i <= 2 || i >= n - 2) ? phone[i] : '*';
	masked[n] = '\0';
	r = code_request(NULL, &a, phone);
	fx_status(r, 202);
	cr_expect_eq(jint(r, "data.expires_in"), 600);
	cr_expect_eq(jint(r, "data.resend_after"), 60);
	cr_expect_null(strstr(r->body, phone + 3), "phone is masked: %s",
	    r->body);
	cr_expect_str_eq(jstr(r, "data.phone"), masked, "%s", r->body);
	resp_free(r);
	cr_assert(fx_console_code(main_log(), "sms", phone, code),
	    "no console SMS to %s in the log", phone);

	other_code(code, wrong);
	r = code_verify(NULL, &a, phone, wrong);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "invalid");
	cr_expect_eq(jint(r, "error.details.attempts_left"), 4);
	resp_free(r);

	r = code_verify(NULL, &a, phone, code);
	fx_status(r, 200);
	cr_expect(json_is_true(jpath(r->json, "data.phone_verified")));
	cr_expect_str_eq(jstr(r, "data.phone"), phone);
	resp_free(r);

	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect_str_eq(jstr(r, "data.phone"), phone);
	cr_expect(json_is_true(jpath(r->json, "data.phone_verified")));
	resp_free(r);

	/* A code works once. */
	r = code_verify(NULL, &a, phone, code);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);

	/* Both steps are in the caller's audit trail, phone masked. */
	r = fx_call("GET", &a, NULL, "/api/v1/users/me/audit");
	sent = verified = 0;
	json_array_foreach(jpath(r->json, "data.items"), i, it) {
		const char *ev = json_string_value(json_object_get(it,
		    "event"));
		if (!strcmp(ev, "phone_code_sent"))
			sent++;
		if (!strcmp(ev, "phone_verified"))
			verified++;
		if (!strcmp(ev, "phone_code_sent") ||
		    !strcmp(ev, "phone_verified"))
			cr_expect_str_eq(json_string_value(jpath(it,
			    "details.phone")), masked, "%s", r->body);
	}
	cr_expect_eq(sent, 1, "%s", r->body);
	cr_expect_eq(verified, 1, "%s", r->body);
	cr_expect_null(strstr(r->body, phone + 3), "%s", r->body);
	resp_free(r);

	/* Changing the phone afterwards clears the verification. */
	r = fx_call("PATCH", &a, "{\"phone\": \"+33612345678\"}",
	    "/api/v1/users/me");
	fx_status(r, 200);
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")));
	resp_free(r);
}

Test(phone, sends_are_limited_per_phone)
{
	struct user	a, b;
	struct resp	*r;
	char		phone[32];
	const char	*ra;
	int		i;

	fx_new(&a, "ph-lim-");
	fx_new(&b, "ph-lim2-");
	fx_phone(phone, sizeof(phone));
	r = code_request(NULL, &a, phone);
	fx_status(r, 202);
	resp_free(r);

	/* 60 s between two sends, whoever asks. */
	r = code_request(NULL, &b, phone);
	fx_error(r, 429, "rate_limited");
	ra = resp_header(r, "retry-after");
	cr_assert_not_null(ra);
	cr_expect(atoi(ra) >= 1 && atoi(ra) <= 60, "Retry-After %s", ra);
	resp_free(r);

	/* At most 3 in 10 minutes: age the codes past the 60 s gap. */
	for (i = 0; i < 2; i++) {
		(void)fx_sql("UPDATE phone_codes SET created_at = created_at - "
		    "interval '61 seconds' WHERE phone = $1", phone);
		r = code_request(NULL, &a, phone);
		fx_status(r, 202);
		resp_free(r);
	}
	(void)fx_sql("UPDATE phone_codes SET created_at = created_at - "
	    "interval '61 seconds' WHERE phone = $1", phone);
	r = code_request(NULL, &a, phone);
	fx_error(r, 429, "rate_limited");
	ra = resp_header(r, "retry-after");
	cr_assert_not_null(ra);
	/* The oldest of the three leaves the window in about 600-183 s. */
	cr_expect(atoi(ra) > 60 && atoi(ra) <= 600, "Retry-After %s", ra);
	cr_expect_eq(jint(r, "error.details.retry_after"), atoi(ra));
	resp_free(r);
}

Test(phone, five_wrong_codes_burn_it_and_old_codes_stop_working)
{
	struct user	a;
	struct resp	*r;
	char		phone[32], code[7], wrong[7];
	int		i;

	fx_new(&a, "ph-burn-");
	fx_phone(phone, sizeof(phone));
	r = code_request(NULL, &a, phone);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(main_log(), "sms", phone, code));
	other_code(code, wrong);
	for (i = 0; i < 5; i++) {
		r = code_verify(NULL, &a, phone, wrong);
		fx_error(r, 400, "validation_error");
		cr_expect_str_eq(fx_issue(r, "code"), "invalid");
		cr_expect_eq(jint(r, "error.details.attempts_left"), 4 - i);
		resp_free(r);
	}
	r = code_verify(NULL, &a, phone, code);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/users/me");
	cr_expect(json_is_false(jpath(r->json, "data.phone_verified")));
	resp_free(r);
}

Test(phone, expired_code_is_refused)
{
	struct user	a;
	struct resp	*r;
	char		phone[32], code[7];

	fx_new(&a, "ph-exp-");
	fx_phone(phone, sizeof(phone));
	r = code_request(NULL, &a, phone);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(main_log(), "sms", phone, code));
	(void)fx_sql("UPDATE phone_codes SET expires_at = now() - "
	    "interval '1 s' WHERE phone = $1", phone);
	r = code_verify(NULL, &a, phone, code);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);
}

Test(phone, a_code_belongs_to_its_user_and_phone)
{
	struct user	a, b;
	struct resp	*r;
	char		phone[32], other[32], code[7];

	fx_new(&a, "ph-own-a-");
	fx_new(&b, "ph-own-b-");
	fx_phone(phone, sizeof(phone));
	fx_phone(other, sizeof(other));
	r = code_request(NULL, &a, phone);
	fx_status(r, 202);
	resp_free(r);
	cr_assert(fx_console_code(main_log(), "sms", phone, code));

	r = code_verify(NULL, &b, phone, code);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);
	r = code_verify(NULL, &a, other, code);
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = fx_call("GET", &b, NULL, "/api/v1/users/me");
	cr_expect(json_is_null(jpath(r->json, "data.phone")));
	resp_free(r);

	r = code_verify(NULL, &a, phone, code);
	fx_status(r, 200);
	resp_free(r);
}

Test(phone, bad_input_and_anonymous_calls_are_refused)
{
	struct user	a;
	struct resp	*r;

	fx_new(&a, "ph-bad-");
	r = fx_call("POST", NULL, "{\"phone\": \"+33612345678\"}",
	    "/api/v1/auth/phone/request");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = fx_call("POST", NULL, "{\"phone\": \"+33612345678\", "
	    "\"code\": \"123456\"}", "/api/v1/auth/phone/verify");
	fx_error(r, 401, "unauthorized");
	resp_free(r);

	r = fx_call("POST", &a, "{\"phone\": \"0612345678\"}",
	    "/api/v1/auth/phone/request");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "phone"), "invalid");
	resp_free(r);
	r = fx_call("POST", &a, "{\"phone\": \"+1'; DROP TABLE users;--\"}",
	    "/api/v1/auth/phone/request");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = fx_call("POST", &a, "{}", "/api/v1/auth/phone/request");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "phone"), "missing");
	resp_free(r);
	r = fx_call("POST", &a, "{\"phone\": \"+33612345678\", \"code\": "
	    "\"12ab56\"}", "/api/v1/auth/phone/verify");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "invalid");
	resp_free(r);
	r = fx_call("POST", &a, "{\"phone\": 33612345678, \"code\": 123456}",
	    "/api/v1/auth/phone/verify");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "phone"), "wrong_type");
	cr_expect_str_eq(fx_issue(r, "code"), "wrong_type");
	resp_free(r);
	r = fx_call("GET", &a, NULL, "/api/v1/auth/phone/request");
	fx_error(r, 405, "method_not_allowed");
	resp_free(r);
}

/* The stand-in's recorded requests whose form To is phone. */
static json_t *
standin_requests(const char *phone)
{
	struct resp	*r;
	json_t		*out, *it;
	size_t		i;

	r = http_req_to(env_or("E2E_SMS", ""), "GET", "/__requests", NULL,
	    NULL, 0);
	cr_assert_eq(r->status, 200);
	out = json_array();
	json_array_foreach(jpath(r->json, "requests"), i, it) {
		if (!strcmp(json_string_value(jpath(it, "form.To")) ?
		    json_string_value(jpath(it, "form.To")) : "", phone))
			(void)json_array_append(out, it);
	}
	resp_free(r);
	return (out);
}

static void
twilio_start(struct srv *s, const char *token)
{
	char		base[256], tok[256];
	const char	*env[7];

	if (getenv("E2E_SMS") == NULL)
		cr_skip_test("no SMS stand-in (E2E_SMS)");
	(void)snprintf(base, sizeof(base), "TWILIO_BASE_URL=%s",
	    env_or("E2E_SMS", ""));
	(void)snprintf(tok, sizeof(tok), "TWILIO_AUTH_TOKEN=%s", token);
	env[0] = "SMS_PROVIDER=twilio";
	env[1] = base;
	env[2] = "TWILIO_ACCOUNT_SID=" TW_SID;
	env[3] = tok;
	env[4] = "TWILIO_FROM_NUMBER=" TW_FROM;
	env[5] = NULL;
	fx_srv_start(s, env);
}

static int
digits6_in(const char *s, char code[7])
{
	size_t	i, n;

	for (i = 0; s[i] != '\0'; i++) {
		for (n = 0; s[i + n] >= '0' && s[i + n] <= '9'; n++)
			;
		if (n == 6) {
			memcpy(code, s + i, 6);
			code[6] = '\0';
			return (1);
		}
		if (n > 0)
			i += n - 1;
	}
	return (0);
}

Test(phone, twilio_gets_the_exact_request_and_the_code_verifies,
    .timeout = 90)
{
	struct srv	s;
	struct user	a;
	struct resp	*r;
	json_t		*reqs, *q;
	char		phone[32], path[128], code[7], log[256];

	twilio_start(&s, TW_TOKEN);
	fx_new(&a, "ph-tw-");
	fx_phone(phone, sizeof(phone));
	r = code_request(s.base, &a, phone);
	fx_status(r, 202);
	resp_free(r);

	reqs = standin_requests(phone);
	cr_assert_eq(json_array_size(reqs), 1, "%s",
	    json_dumps(reqs, 0));
	q = json_array_get(reqs, 0);
	(void)snprintf(path, sizeof(path),
	    "/2010-04-01/Accounts/%s/Messages.json", TW_SID);
	cr_expect_str_eq(json_string_value(jpath(q, "method")), "POST");
	cr_expect_str_eq(json_string_value(jpath(q, "path")), path);
	cr_expect_str_eq(json_string_value(jpath(q, "auth_user")), TW_SID);
	cr_expect(json_is_true(jpath(q, "auth_ok")));
	cr_expect_str_eq(json_string_value(jpath(q, "content_type")),
	    "application/x-www-form-urlencoded");
	cr_expect_str_eq(json_string_value(jpath(q, "form.From")), TW_FROM);
	cr_assert(digits6_in(json_string_value(jpath(q, "form.Body")), code),
	    "no code in %s", json_string_value(jpath(q, "form.Body")));
	json_decref(reqs);

	/* Not on the console: the code went to Twilio only. */
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	cr_expect(!fx_file_has(log, "\"provider\":\"console\""));

	r = code_verify(s.base, &a, phone, code);
	fx_status(r, 200);
	resp_free(r);
	cr_expect(!fx_file_has(log, TW_TOKEN), "token in the server log");
	fx_srv_stop(&s);
}

Test(phone, twilio_errors_are_answered_without_leaking_the_token,
    .timeout = 90)
{
	struct srv	s, bad;
	struct user	a;
	struct resp	*r;
	char		phone[32], log[256];

	twilio_start(&s, TW_TOKEN);
	fx_new(&a, "ph-twerr-");

	/* Twilio 21211: the number itself is refused, a 400 on phone. */
	(void)fx_sql("DELETE FROM phone_codes WHERE phone = $1", TW_BAD_TO);
	r = code_request(s.base, &a, TW_BAD_TO);
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "phone"), "undeliverable");
	cr_expect_null(strstr(r->body, TW_TOKEN));
	resp_free(r);
	(void)snprintf(log, sizeof(log), "%s.log", s.dir);
	cr_expect(fx_file_has(log, "21211"), "the error is logged");
	cr_expect(!fx_file_has(log, TW_TOKEN), "token in the server log");
	fx_srv_stop(&s);

	/* Twilio refuses our credentials (20003): 502, nothing leaked. */
	twilio_start(&bad, "twilio-wrong-token-7731");
	fx_phone(phone, sizeof(phone));
	r = code_request(bad.base, &a, phone);
	fx_error(r, 502, "sms_upstream_error");
	cr_expect_null(strstr(r->body, "twilio-wrong-token-7731"));
	cr_expect_null(strstr(r->body, TW_TOKEN));
	resp_free(r);
	(void)snprintf(log, sizeof(log), "%s.log", bad.dir);
	cr_expect(fx_file_has(log, "20003"), "the error is logged");
	cr_expect(!fx_file_has(log, "twilio-wrong-token-7731"));
	fx_srv_stop(&bad);

	/* The undelivered code cannot be used. */
	r = code_verify(NULL, &a, phone, "000000");
	fx_error(r, 400, "validation_error");
	cr_expect_str_eq(fx_issue(r, "code"), "expired");
	resp_free(r);
}

/*
 * The SMS provider's circuit breaker: after BREAKER_THRESHOLD failed
 * sends it opens; a request then fails fast with 503 sms_unavailable and
 * Retry-After, issues no code and never reaches Twilio.  The state is in
 * /api/v1/health/detailed and /metrics.
 */
Test(phone, sms_breaker_opens_and_fails_fast, .timeout = 90)
{
	struct srv	s;
	struct user	a;
	struct resp	*r;
	json_t		*reqs;
	char		phone[32], base[256];
	const char	*env[8];
	int		i;

	if (getenv("E2E_SMS") == NULL)
		cr_skip_test("no SMS stand-in (E2E_SMS)");
	(void)snprintf(base, sizeof(base), "TWILIO_BASE_URL=%s",
	    env_or("E2E_SMS", ""));
	env[0] = "SMS_PROVIDER=twilio";
	env[1] = base;
	env[2] = "TWILIO_ACCOUNT_SID=" TW_SID;
	env[3] = "TWILIO_AUTH_TOKEN=not-the-token";
	env[4] = "TWILIO_FROM_NUMBER=" TW_FROM;
	env[5] = "BREAKER_THRESHOLD=2";
	env[6] = "BREAKER_OPEN_S=60";
	env[7] = NULL;
	fx_srv_start(&s, env);
	fx_new(&a, "ph-cb-");

	for (i = 0; i < 2; i++) {
		fx_phone(phone, sizeof(phone));
		r = code_request(s.base, &a, phone);
		fx_error(r, 502, "sms_upstream_error");
		resp_free(r);
	}
	r = http_req_to(s.base, "GET", "/api/v1/health/detailed", NULL, NULL,
	    0);
	cr_expect_str_eq(jstr(r, "data.circuits.sms.state"), "open", "%s",
	    r->body);
	cr_expect_eq(jint(r, "data.circuits.sms.opens"), 1);
	resp_free(r);

	fx_phone(phone, sizeof(phone));
	r = code_request(s.base, &a, phone);
	fx_error(r, 503, "sms_unavailable");
	cr_assert_not_null(resp_header(r, "retry-after"));
	cr_expect_gt(atoi(resp_header(r, "retry-after")), 50);
	resp_free(r);
	reqs = standin_requests(phone);
	cr_expect_eq(json_array_size(reqs), 0, "Twilio was called while "
	    "the breaker was open");
	json_decref(reqs);

	r = http_req_to(s.base, "GET", "/metrics", NULL, NULL, 0);
	cr_expect_not_null(strstr(r->body,
	    "elenchus_circuit_state{dependency=\"sms\"} 1"), "%s", r->body);
	cr_expect_not_null(strstr(r->body,
	    "elenchus_circuit_rejected_total{dependency=\"sms\"} 1"));
	resp_free(r);
	fx_srv_stop(&s);
}
