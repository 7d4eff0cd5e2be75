/*
 * Limits that hold across workers and instances: per client IP and
 * endpoint on the auth endpoints, per user elsewhere, and the login
 * lockout with its expiry.  Each test runs instances of its own with
 * small limits, trusting 127.0.0.1 as a proxy so each test is its own
 * client IP (X-Forwarded-For).
 */
#include "fixture.h"

static const char *const limits_env[] = {
	"AUTH_RATE_LIMIT_PER_MINUTE=3", "RATE_LIMIT_PER_MINUTE=5",
	"TRUSTED_PROXIES=127.0.0.1", "LOCKOUT_THRESHOLD=3",
	"LOCKOUT_WINDOW_S=4", NULL
};

static char *
client_ip(void)
{
	static char	ip[32];

	(void)snprintf(ip, sizeof(ip), "198.51.100.%d",
	    (int)(time(NULL) % 200) + (int)(getpid() % 50));
	return (ip);
}

static void
expect_429(struct resp *r, long limit)
{
	long		ra;

	fx_error(r, 429, "rate_limited");
	cr_assert_not_null(resp_header(r, "retry-after"));
	ra = strtol(resp_header(r, "retry-after"), NULL, 10);
	cr_expect(ra >= 1 && ra <= 60, "retry-after %ld", ra);
	cr_expect_eq(strtol(resp_header(r, "x-ratelimit-limit"), NULL, 10),
	    limit);
	cr_expect_str_eq(resp_header(r, "x-ratelimit-remaining"), "0");
}

Test(auth_limits, ip_limit_per_endpoint_holds_across_two_instances)
{
	struct srv	 s1, s2;
	struct resp	*r;
	const char	*ip;
	char		 other[32];
	long		 reset;

	fx_srv_start(&s1, limits_env);
	fx_srv_start(&s2, limits_env);
	fx_fresh_minute();
	ip = client_ip();
	(void)snprintf(other, sizeof(other), "203.0.113.%d",
	    (int)(getpid() % 250));

	r = fx_login(s1.base, ip, uniq("nobody"), "x");
	cr_expect_eq(r->status, 401);
	cr_expect_str_eq(resp_header(r, "x-ratelimit-limit"), "3");
	cr_expect_str_eq(resp_header(r, "x-ratelimit-remaining"), "2");
	reset = strtol(resp_header(r, "x-ratelimit-reset"), NULL, 10);
	cr_expect(reset > time(NULL) - 5 && reset <= time(NULL) + 61 &&
	    reset % 60 == 0, "reset %ld", reset);
	resp_free(r);
	r = fx_login(s2.base, ip, uniq("nobody"), "x");
	cr_expect_eq(r->status, 401);
	cr_expect_str_eq(resp_header(r, "x-ratelimit-remaining"), "1");
	resp_free(r);
	r = fx_login(s1.base, ip, uniq("nobody"), "x");
	cr_expect_eq(r->status, 401);
	resp_free(r);
	r = fx_login(s2.base, ip, uniq("nobody"), "x");
	expect_429(r, 3);
	resp_free(r);

	/* Another endpoint, or another client, has its own budget. */
	r = fx_refresh(s1.base, ip, "not-a-token");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	r = fx_login(s1.base, other, uniq("nobody"), "x");
	cr_expect_eq(r->status, 401, "%s", r->body);
	resp_free(r);
	fx_srv_stop(&s1);
	fx_srv_stop(&s2);
}

Test(auth_limits, per_user_limit_holds_across_two_instances)
{
	struct srv	 s1, s2;
	struct user	 a;
	struct resp	*r;
	char		 want[8];
	int		 i;

	fx_srv_start(&s1, limits_env);
	fx_srv_start(&s2, limits_env);
	fx_fresh_minute();
	fx_new_at(s1.base, client_ip(), &a, "peruser");
	for (i = 0; i < 5; i++) {
		r = fx_req(i % 2 ? s2.base : s1.base, "GET",
		    "/api/v1/auth/sessions", a.token, NULL, NULL);
		cr_expect_eq(r->status, 200, "%d: %s", i, r->body);
		(void)snprintf(want, sizeof(want), "%d", 4 - i);
		cr_expect_str_eq(resp_header(r, "x-ratelimit-remaining"),
		    want);
		cr_expect_str_eq(resp_header(r, "x-ratelimit-limit"), "5");
		resp_free(r);
	}
	r = fx_req(s2.base, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	expect_429(r, 5);
	resp_free(r);
	/* /me is exempt from the per-user counter. */
	r = fx_req(s1.base, "GET", "/api/v1/auth/me", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	fx_srv_stop(&s1);
	fx_srv_stop(&s2);
}

Test(auth_limits, lockout_after_threshold_then_expires)
{
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 ip[32];
	long		 ra;
	int		 i, n;

	fx_srv_start(&s, limits_env);
	n = 0;
	(void)snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
	fx_new_at(s.base, ip, &a, "lock");
	for (i = 0; i < 3; i++) {
		(void)snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
		r = fx_login(s.base, ip, a.email, "Wrong-Passw0rd");
		fx_error(r, 401, "invalid_credentials");
		resp_free(r);
	}
	/* Locked, even with the right password; bcrypt is not run. */
	(void)snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
	r = fx_login(s.base, ip, a.email, FX_PASSWORD);
	fx_error(r, 423, "account_locked");
	cr_assert_not_null(resp_header(r, "retry-after"));
	ra = strtol(resp_header(r, "retry-after"), NULL, 10);
	cr_expect(ra >= 1 && ra <= 4, "retry-after %ld", ra);
	resp_free(r);
	/* The same answer for an unknown email locked the same way. */
	(void)snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
	r = fx_login(s.base, ip, a.email, "Wrong-Passw0rd");
	fx_error(r, 423, "account_locked");
	resp_free(r);
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'account_locked'", a.id), "1");

	(void)sleep(5);
	(void)snprintf(ip, sizeof(ip), "192.0.2.%d", ++n);
	r = fx_login(s.base, ip, a.email, FX_PASSWORD);
	cr_expect_eq(r->status, 200, "lock expired: %s", r->body);
	resp_free(r);
	fx_srv_stop(&s);
}

Test(auth_limits, unknown_email_locks_alike)
{
	struct srv	 s;
	struct resp	*r;
	char		 ip[32], email[200];
	int		 i;

	fx_srv_start(&s, limits_env);
	(void)snprintf(email, sizeof(email), "%s@example.test", uniq("ghost"));
	for (i = 0; i < 4; i++) {
		(void)snprintf(ip, sizeof(ip), "192.0.2.%d", 100 + i);
		r = fx_login(s.base, ip, email, "Wrong-Passw0rd");
		if (i < 3)
			fx_error(r, 401, "invalid_credentials");
		else
			fx_error(r, 423, "account_locked");
		resp_free(r);
	}
	fx_srv_stop(&s);
}
