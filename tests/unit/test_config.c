/*
 * Configuration from the environment and client IP selection
 * (src/lib/config.c, src/lib/netaddr.c).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "netaddr.h"

static const char *const *table;

static const char *
fake_env(const char *name)
{
	size_t	n, i;

	n = strlen(name);
	for (i = 0; table[i] != NULL; i++) {
		if (!strncmp(table[i], name, n) && table[i][n] == '=')
			return (table[i] + n + 1);
	}
	return (NULL);
}

static int
load(struct config *c, const char *const *env, const char **what)
{
	table = env;
	return (config_load(c, fake_env, what));
}

Test(config, defaults_match_the_contract)
{
	static const char *const env[] = { NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);
	cr_expect_eq(c.http_port, 8080);
	cr_expect_eq(c.tls_port, 8443);
	cr_expect_eq(c.access_ttl_min, 30);
	cr_expect_eq(c.refresh_ttl_days, 7);
	cr_expect_eq(c.refresh_reuse_grace_s, 10);
	cr_expect_eq(c.bcrypt_cost, 12);
	cr_expect_eq(c.lockout_threshold, 5);
	cr_expect_eq(c.auth_rate_per_min, 5);
	cr_expect_eq(c.rate_per_min, 60);
	cr_expect_eq(c.max_upload_bytes, 20u * 1024 * 1024);
	cr_expect_eq(c.json_body_max, 1024u * 1024);
	cr_expect_str_eq(c.sms_provider, "console");
	cr_expect(c.jwt_secret_generated);
	cr_expect_not(config_ai_configured(&c, "gemini"));
	cr_expect_not(config_ai_configured(&c, "openai"));
}

Test(config, production_requires_a_long_jwt_secret)
{
	static const char *const none[] = { "ENVIRONMENT=production", NULL };
	static const char *const shrt[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=short", NULL };
	static const char *const good[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=0123456789abcdef0123456789abcdef", NULL };
	struct config	c;
	const char	*what;

	cr_expect_eq(load(&c, none, &what), CONFIG_JWT_MISSING);
	cr_expect_str_eq(what, "JWT_SECRET");
	cr_expect_eq(load(&c, shrt, &what), CONFIG_JWT_SHORT);
	cr_expect_eq(load(&c, good, &what), CONFIG_OK);
	cr_expect(c.production);
}

/* The console sender writes the codes to the log: not in production. */
Test(config, production_refuses_the_console_sms_sender)
{
	static const char *const cons[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=0123456789abcdef0123456789abcdef",
	    "SMS_PROVIDER=console", NULL };
	static const char *const dflt[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=0123456789abcdef0123456789abcdef", NULL };
	static const char *const dev[] = { "SMS_PROVIDER=console", NULL };
	struct config	c;
	const char	*what;

	cr_expect_eq(load(&c, cons, &what), CONFIG_SMS_CONSOLE);
	cr_expect_str_eq(what, "SMS_PROVIDER");
	cr_expect_eq(load(&c, dflt, &what), CONFIG_OK);
	cr_expect_str_eq(c.sms_provider, "twilio");
	cr_expect_eq(load(&c, dev, &what), CONFIG_OK);
	cr_expect_str_eq(c.sms_provider, "console");
}

/* Nor the console email sender: it writes the codes to the log too. */
Test(config, production_refuses_the_console_email_sender)
{
	static const char *const cons[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=0123456789abcdef0123456789abcdef",
	    "EMAIL_PROVIDER=console", NULL };
	static const char *const dflt[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=0123456789abcdef0123456789abcdef", NULL };
	static const char *const dev[] = { "EMAIL_PROVIDER=console", NULL };
	struct config	c;
	const char	*what;

	cr_expect_eq(load(&c, cons, &what), CONFIG_EMAIL_CONSOLE);
	cr_expect_str_eq(what, "EMAIL_PROVIDER");
	cr_expect_str_eq(c.error, "EMAIL_PROVIDER: console (codes in the "
	    "log) is refused in production");
	cr_expect_eq(load(&c, dflt, &what), CONFIG_OK);
	cr_expect_str_eq(c.email_provider, "smtp");
	cr_expect_eq(load(&c, dev, &what), CONFIG_OK);
	cr_expect_str_eq(c.email_provider, "console");
}

Test(config, bad_numbers_and_lists_name_the_variable)
{
	static const char *const port[] = { "HTTP_PORT=80x", NULL };
	static const char *const big[] = { "BCRYPT_COST=40", NULL };
	static const char *const orig[] = { "ALLOWED_ORIGINS=ftp://x", NULL };
	static const char *const prox[] = { "TRUSTED_PROXIES=10.0.0.0/33",
	    NULL };
	static const char *const sms[] = { "SMS_PROVIDER=pigeon", NULL };
	struct config	c;
	const char	*what;

	cr_expect_eq(load(&c, port, &what), CONFIG_BAD_NUMBER);
	cr_expect_str_eq(what, "HTTP_PORT");
	cr_expect_eq(load(&c, big, &what), CONFIG_BAD_NUMBER);
	cr_expect_eq(load(&c, orig, &what), CONFIG_BAD_LIST);
	cr_expect_str_eq(what, "ALLOWED_ORIGINS");
	cr_expect_eq(load(&c, prox, &what), CONFIG_BAD_LIST);
	cr_expect_eq(load(&c, sms, &what), CONFIG_BAD_LIST);
}

Test(config, a_refusal_says_the_variable_the_value_and_the_range)
{
	static const char *const lock[] = { "LOCKOUT_THRESHOLD=100000", NULL };
	static const char *const port[] = { "HTTP_PORT=80x", NULL };
	static const char *const sms[] = { "SMS_PROVIDER=pigeon", NULL };
	static const char *const jwt[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=short-secret", NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, lock, &what), CONFIG_BAD_NUMBER);
	cr_expect_str_eq(c.error, "LOCKOUT_THRESHOLD=\"100000\" is not "
	    "allowed: a whole number from 1 to 1000 expected");
	cr_assert_eq(load(&c, port, &what), CONFIG_BAD_NUMBER);
	cr_expect_str_eq(c.error, "HTTP_PORT=\"80x\" is not allowed: a whole "
	    "number from 1 to 65535 expected");
	cr_assert_eq(load(&c, sms, &what), CONFIG_BAD_LIST);
	cr_expect_str_eq(c.error, "SMS_PROVIDER=\"pigeon\" is not allowed: "
	    "console or twilio expected");
	/* A secret's value is never repeated. */
	cr_assert_eq(load(&c, jwt, &what), CONFIG_JWT_SHORT);
	cr_expect_null(strstr(c.error, "short-secret"), "%s", c.error);
	cr_expect_not_null(strstr(c.error, "JWT_SECRET"), "%s", c.error);
}

/* Every refusal has words, also those no cfg_fail call wrote. */
Test(config, every_refusal_names_its_variable)
{
	static const char *const cons[] = { "ENVIRONMENT=production",
	    "JWT_SECRET=prod-secret-0123456789abcdef0123456789",
	    "SMS_PROVIDER=console", NULL };
	static const char *const nojwt[] = { "ENVIRONMENT=production", NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, cons, &what), CONFIG_SMS_CONSOLE);
	cr_expect_str_eq(c.error, "SMS_PROVIDER: console (codes in the log) "
	    "is refused in production");
	cr_assert_eq(load(&c, nojwt, &what), CONFIG_JWT_MISSING);
	cr_expect_not_null(strstr(c.error, "JWT_SECRET"), "%s", c.error);
}

Test(config, origins_and_ai_providers)
{
	static const char *const env[] = {
	    "ALLOWED_ORIGINS= https://a.test , http://localhost:3000",
	    "OPENAI_BASE_URL=http://127.0.0.1:8000/v1", NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);
	cr_expect(config_origin_allowed(&c, "https://a.test"));
	cr_expect(config_origin_allowed(&c, "http://localhost:3000"));
	cr_expect_not(config_origin_allowed(&c, "https://b.test"));
	cr_expect_not(config_origin_allowed(&c, NULL));
	/* A local OpenAI-compatible server needs no key. */
	cr_expect(config_ai_configured(&c, "openai"));
	cr_expect_str_eq(c.ai_provider, "openai");
}

Test(netaddr, forwarded_for_only_behind_trusted_proxies)
{
	static const char *const env[] = {
	    "TRUSTED_PROXIES=10.0.0.0/8, 127.0.0.2, fd00::/8", NULL };
	struct config	c;
	const char	*what;
	char		ip[NETADDR_STRLEN + 1];

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);

	netaddr_client_ip(&c, "127.0.0.1", "1.2.3.4", ip, sizeof(ip));
	cr_expect_str_eq(ip, "127.0.0.1");	/* peer not trusted */

	netaddr_client_ip(&c, "127.0.0.2", "1.2.3.4", ip, sizeof(ip));
	cr_expect_str_eq(ip, "1.2.3.4");

	/* The rightmost untrusted hop is the client; spoofs left of it
	 * are ignored. */
	netaddr_client_ip(&c, "10.1.2.3", "6.6.6.6, 1.2.3.4, 10.9.9.9",
	    ip, sizeof(ip));
	cr_expect_str_eq(ip, "1.2.3.4");

	netaddr_client_ip(&c, "fd00::1", "2001:db8::7", ip, sizeof(ip));
	cr_expect_str_eq(ip, "2001:db8::7");

	/* Garbage in the header never becomes the client address. */
	netaddr_client_ip(&c, "127.0.0.2", "<script>", ip, sizeof(ip));
	cr_expect_str_eq(ip, "127.0.0.2");
	netaddr_client_ip(&c, "127.0.0.2", "", ip, sizeof(ip));
	cr_expect_str_eq(ip, "127.0.0.2");

	/* All hops trusted: the leftmost is the client. */
	netaddr_client_ip(&c, "10.0.0.1", "10.0.0.5, 10.0.0.6", ip,
	    sizeof(ip));
	cr_expect_str_eq(ip, "10.0.0.5");
}

Test(config, jwt_secret_alone_is_the_one_key_default)
{
	static const char *const env[] = {
	    "JWT_SECRET=0123456789abcdef0123456789abcdef", NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);
	cr_expect_eq(c.n_jwt_keys, 1);
	cr_expect_str_eq(c.jwt_keys[0].kid, "default");
	cr_expect_str_eq(c.jwt_secret, "0123456789abcdef0123456789abcdef");
	cr_expect_eq(c.jwt_signer, 0);
}

Test(config, jwt_keys_list_every_verifier_and_the_signer_is_chosen)
{
	static const char *const first[] = {
	    "JWT_KEYS=k2:secret-two, default:secret-one", NULL };
	static const char *const chosen[] = {
	    "JWT_KEYS=k2:secret-two,default:secret-one",
	    "JWT_SIGNING_KID=default", NULL };
	struct config	c;
	const char	*what;

	cr_assert_eq(load(&c, first, &what), CONFIG_OK);
	cr_expect_eq(c.n_jwt_keys, 2);
	cr_expect_str_eq(c.jwt_keys[0].kid, "k2");
	cr_expect_str_eq(c.jwt_keys[1].kid, "default");
	cr_expect_str_eq(c.jwt_keys[1].secret, "secret-one");
	cr_expect_str_eq(c.jwt_secret, "secret-two");
	cr_expect_not(c.jwt_secret_generated);

	cr_assert_eq(load(&c, chosen, &what), CONFIG_OK);
	cr_expect_eq(c.jwt_signer, 1);
	cr_expect_str_eq(c.jwt_secret, "secret-one");
}

Test(config, bad_jwt_key_sets_are_refused)
{
	static const char *const bad[][3] = {
	    { "JWT_KEYS=nocolon", NULL, NULL },
	    { "JWT_KEYS=:secret", NULL, NULL },
	    { "JWT_KEYS=k1:", NULL, NULL },
	    { "JWT_KEYS=k 1:secret", NULL, NULL },
	    { "JWT_KEYS=k1:a,k1:b", NULL, NULL },
	    { "JWT_KEYS=0123456789abcdef0123456789abcdefX:s", NULL, NULL },
	    { "JWT_KEYS=k1:a,k2:b,k3:c,k4:d,k5:e,k6:f,k7:g,k8:h,k9:i", NULL,
	      NULL },
	    { "JWT_KEYS=k1:secret", "JWT_SECRET=also-set", NULL },
	};
	static const char *const signer[] = { "JWT_KEYS=k1:secret",
	    "JWT_SIGNING_KID=k2", NULL };
	static const char *const shrt[] = { "ENVIRONMENT=production",
	    "JWT_KEYS=k1:0123456789abcdef0123456789abcdef,k0:short", NULL };
	struct config	c;
	const char	*what;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(load(&c, bad[i], &what), CONFIG_JWT_KEYS, "%s",
		    bad[i][0]);
		cr_expect_str_eq(what, "JWT_KEYS");
	}
	cr_expect_eq(load(&c, signer, &what), CONFIG_JWT_SIGNER);
	cr_expect_str_eq(what, "JWT_SIGNING_KID");
	cr_expect_eq(load(&c, shrt, &what), CONFIG_JWT_SHORT);
	cr_expect_str_eq(what, "JWT_KEYS");
}

/*
 * Padding on the left must not push the hop our proxy appended out of
 * view: the walk starts at the end of the whole header.
 */
Test(netaddr, padded_forwarded_for_still_finds_the_appended_hop)
{
	static const char *const env[] = {
	    "TRUSTED_PROXIES=127.0.0.2", NULL };
	struct config	c;
	const char	*what;
	char		ip[NETADDR_STRLEN + 1], *xff;
	size_t		len, i;

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);
	for (len = 2000; len <= 9000; len += 7) {
		cr_assert_not_null(xff = malloc(len + 64));
		for (i = 0; i < len; i++)
			xff[i] = (i % 9 == 8) ? ',' : '1';
		/* a spoof right at the old 2,048-byte cut, then the real hop */
		(void)snprintf(xff + len, 64, "9.9.9.9, 198.51.100.7");
		netaddr_client_ip(&c, "127.0.0.2", xff, ip, sizeof(ip));
		cr_assert_str_eq(ip, "198.51.100.7", "padding %zu", len);
		free(xff);
	}
}

Test(netaddr, walk_is_bounded_by_hops)
{
	static const char *const env[] = {
	    "TRUSTED_PROXIES=10.0.0.0/8", NULL };
	struct config	c;
	const char	*what;
	char		ip[NETADDR_STRLEN + 1], xff[1024];
	size_t		n;
	int		i;

	cr_assert_eq(load(&c, env, &what), CONFIG_OK);
	/* 1.2.3.4 then 40 trusted hops: never more than 16 looked at */
	n = (size_t)snprintf(xff, sizeof(xff), "1.2.3.4");
	for (i = 0; i < 40; i++)
		n += (size_t)snprintf(xff + n, sizeof(xff) - n, ", 10.0.0.%d",
		    i + 1);
	netaddr_client_ip(&c, "10.0.0.99", xff, ip, sizeof(ip));
	cr_expect_str_neq(ip, "1.2.3.4");
	cr_expect_str_eq(ip, "10.0.0.25");
}

Test(netaddr, limit_key_is_the_ipv6_64)
{
	char		k[NETADDR_KEYLEN];

	netaddr_limit_key("198.51.100.7", k, sizeof(k));
	cr_expect_str_eq(k, "198.51.100.7");
	netaddr_limit_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", k, sizeof(k));
	cr_expect_str_eq(k, "2001:db8:1:2::/64");
	netaddr_limit_key("2001:db8:1:2::1", k, sizeof(k));
	cr_expect_str_eq(k, "2001:db8:1:2::/64");
	netaddr_limit_key("2001:db8:1:3::1", k, sizeof(k));
	cr_expect_str_eq(k, "2001:db8:1:3::/64");
	netaddr_limit_key("::ffff:198.51.100.7", k, sizeof(k));
	cr_expect_str_eq(k, "198.51.100.7");
	netaddr_limit_key("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", k,
	    sizeof(k));
	cr_expect_str_eq(k, "ffff:ffff:ffff:ffff::/64");
}

Test(config, email_verification_is_off_by_default_and_checked)
{
	static const char *const none[] = { NULL };
	static const char *const smtp[] = { "EMAIL_VERIFICATION=required",
	    "EMAIL_PROVIDER=smtp", "SMTP_URL=smtps://mail.example.test:465",
	    "SMTP_FROM=verify@example.test", "SMTP_STARTTLS=try", NULL };
	static const char *const bad[][2] = {
	    { "EMAIL_VERIFICATION=yes", "EMAIL_VERIFICATION" },
	    { "EMAIL_PROVIDER=sendmail", "EMAIL_PROVIDER" },
	    { "SMTP_URL=http://mail.example.test", "SMTP_URL" },
	    { "SMTP_FROM=nobody", "SMTP_FROM" },
	    { "SMTP_FROM=a@b.test\r\nBcc: x@y.test", "SMTP_FROM" },
	    { "SMTP_FROM=<a@b.test>", "SMTP_FROM" },
	    { "SMTP_STARTTLS=maybe", "SMTP_STARTTLS" },
	};
	const char	*env[2];
	struct config	c;
	const char	*what;
	size_t		i;

	cr_assert_eq(load(&c, none, &what), CONFIG_OK);
	cr_expect_eq(c.email_verification, CONFIG_EMAIL_OFF);
	cr_expect_str_eq(c.email_provider, "console");
	cr_expect_str_eq(c.smtp_starttls, "required");
	cr_expect_str_eq(c.smtp_from, "no-reply@localhost");

	cr_assert_eq(load(&c, smtp, &what), CONFIG_OK);
	cr_expect_eq(c.email_verification, CONFIG_EMAIL_REQUIRED);
	cr_expect_str_eq(c.email_provider, "smtp");
	cr_expect_str_eq(c.smtp_url, "smtps://mail.example.test:465");
	cr_expect_str_eq(c.smtp_starttls, "try");

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		env[0] = bad[i][0];
		env[1] = NULL;
		cr_expect_eq(load(&c, env, &what), CONFIG_BAD_LIST, "%s",
		    bad[i][0]);
		cr_expect_str_eq(what, bad[i][1]);
	}
}
