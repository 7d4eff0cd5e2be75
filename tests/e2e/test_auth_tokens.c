/*
 * Access and refresh tokens: tampering, expiry, rotation, the reuse
 * grace window, reuse detection, and revocation seen by a second
 * instance within the NOTIFY delivery time.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static void
expect_refused(const char *tok, const char *code, const char *what)
{
	struct resp	*r;

	r = fx_req(NULL, "GET", "/api/v1/auth/me", tok, NULL, NULL);
	cr_expect_eq(r->status, 401, "%s: %ld %s", what, r->status, r->body);
	cr_expect_str_eq(err_code(r), code, "%s: %s", what, r->body);
	resp_free(r);
	r = fx_req(NULL, "GET", "/api/v1/auth/sessions", tok, NULL, NULL);
	cr_expect_eq(r->status, 401, "%s (sessions): %ld", what, r->status);
	resp_free(r);
}

/* Replace the part'th '.'-separated part of tok with part. */
static char *
swap_part(const char *tok, int n, const char *part)
{
	static char	 out[8192];
	const char	*p, *e;
	int		 i;
	size_t		 o;

	o = 0;
	p = tok;
	for (i = 0; ; i++) {
		e = strchr(p, '.');
		if (e == NULL)
			e = p + strlen(p);
		if (i == n)
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%s",
			    part);
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "%.*s",
			    (int)(e - p), p);
		if (*e == '\0')
			break;
		out[o++] = '.';
		p = e + 1;
	}
	out[o] = '\0';
	return (out);
}

static char *
b64url(const char *s)
{
	static char	out[2048];
	const char	*tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789-_";
	const unsigned char *p = (const unsigned char *)s;
	size_t		 n, i, o;
	unsigned int	 v;

	n = strlen(s);
	for (i = 0, o = 0; i < n; i += 3) {
		v = (unsigned int)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned int)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		out[o++] = tbl[v >> 18 & 63];
		out[o++] = tbl[v >> 12 & 63];
		if (i + 1 < n)
			out[o++] = tbl[v >> 6 & 63];
		if (i + 2 < n)
			out[o++] = tbl[v & 63];
	}
	out[o] = '\0';
	return (out);
}

/*
 * Another instance learns of a revocation by NOTIFY: it must reject the
 * token within the delivery time (1 s here; milliseconds when idle), and
 * from then on for good.  Within one instance it is at once (see above).
 */
static void
expect_revoked_soon(const char *base, const char *method, const char *path,
    const char *token)
{
	struct resp	*r;
	int		 i;

	for (i = 0; i < 20; i++) {
		r = fx_req(base, method, path, token, NULL, NULL);
		if (r->status == 401)
			break;
		resp_free(r);
		r = NULL;
		(void)usleep(50000);
	}
	cr_assert_not_null(r, "%s still accepted after 1 s", path);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
}

Test(auth_tokens, tampered_tokens_are_refused)
{
	struct jwt_claims	 c;
	struct user		 a;
	char			*tok, hdr[128], pl[512], two[4096], four[4200];
	char			 flip[4096];
	const char		*dot;
	size_t			 n;
	long			 now;

	fx_new(&a, "tamper");
	fx_claims(a.token, &c);
	now = (long)time(NULL);

	/* Each part changed by one character. */
	for (n = 0; n < 3; n++) {
		(void)snprintf(flip, sizeof(flip), "%s", a.token);
		dot = flip;
		if (n > 0)
			dot = strchr(flip, '.') + 1;
		if (n > 1)
			dot = strchr(dot, '.') + 1;
		flip[dot - flip + 2] = flip[dot - flip + 2] == 'A' ? 'B' : 'A';
		expect_refused(flip, "unauthorized", "flipped part");
	}

	/* Other algorithms, with the claims of the real token. */
	(void)snprintf(pl, sizeof(pl), "{\"sub\":\"%s\",\"sid\":\"%s\","
	    "\"jti\":\"%s\",\"role\":\"admin\",\"iat\":%ld,\"exp\":%ld}",
	    c.sub, c.sid, c.jti, now, now + 600);
	(void)snprintf(hdr, sizeof(hdr), "%s", b64url("{\"alg\":\"none\","
	    "\"typ\":\"JWT\"}"));
	(void)snprintf(two, sizeof(two), "%s.%s.", hdr, b64url(pl));
	expect_refused(two, "unauthorized", "alg none");
	(void)snprintf(two, sizeof(two), "%s.%s", hdr, b64url(pl));
	expect_refused(two, "unauthorized", "alg none, 2 parts");
	expect_refused(swap_part(a.token, 0, b64url("{\"alg\":\"HS512\","
	    "\"typ\":\"JWT\"}")), "unauthorized", "HS512");
	expect_refused(swap_part(a.token, 0, b64url("{\"alg\":\"RS256\","
	    "\"typ\":\"JWT\"}")), "unauthorized", "RS256");
	/* The payload raised to admin, signature kept. */
	expect_refused(swap_part(a.token, 1, b64url(pl)), "unauthorized",
	    "payload swapped");

	tok = fx_forge(c.sub, c.sid, "user", now, now + 600,
	    "another-secret-0123456789abcdef0123");
	expect_refused(tok, "unauthorized", "wrong key");
	free(tok);

	(void)snprintf(four, sizeof(four), "%s.extra", a.token);
	expect_refused(four, "unauthorized", "4 parts");
	expect_refused("", "unauthorized", "empty");
	expect_refused("a.b.c", "unauthorized", "garbage");

	/* Genuine but expired. */
	tok = fx_forge(c.sub, c.sid, "user", now - 3600, now - 60, NULL);
	expect_refused(tok, "token_expired", "expired");
	free(tok);

	/* Genuine, but no such session. */
	tok = fx_forge(c.sub, "00000000-0000-4000-8000-000000000001", "user",
	    now, now + 600, NULL);
	expect_refused(tok, "token_revoked", "unknown session");
	free(tok);
	/* Genuine session, someone else's user id. */
	tok = fx_forge("00000000-0000-4000-8000-000000000002", c.sid, "user",
	    now, now + 600, NULL);
	expect_refused(tok, "token_revoked", "sub does not own sid");
	free(tok);

	/* The real token still works. */
	{
		struct resp	*r;

		r = fx_req(NULL, "GET", "/api/v1/auth/me", a.token, NULL,
		    NULL);
		cr_expect_eq(r->status, 200);
		resp_free(r);
	}
}

Test(auth_tokens, short_ttl_token_expires)
{
	const char	*env[] = { "ACCESS_TOKEN_TTL_S=2", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;

	fx_srv_start(&s, env);
	fx_new_at(s.base, NULL, &a, "ttl");
	r = fx_req(s.base, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	(void)sleep(4);
	r = fx_req(s.base, "GET", "/api/v1/auth/sessions", a.token, NULL,
	    NULL);
	fx_error(r, 401, "token_expired");
	resp_free(r);
	/* A refresh still works and gives a live token. */
	r = fx_refresh(s.base, NULL, a.refresh);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_eq(jint(r, "data.expires_in"), 2);
	fx_take(&a, r);
	resp_free(r);
	r = fx_req(s.base, "GET", "/api/v1/auth/me", a.token, NULL, NULL);
	cr_expect_eq(r->status, 200);
	resp_free(r);
	fx_srv_stop(&s);
}

Test(auth_tokens, refresh_rotates_and_reuse_after_grace_kills_session)
{
	const char	*env[] = { "REFRESH_REUSE_GRACE_S=1", NULL };
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	char		 old[128], newer[128], access2[FX_TOKEN_MAX];

	fx_srv_start(&s, env);
	fx_new_at(s.base, NULL, &a, "reuse");
	(void)snprintf(old, sizeof(old), "%s", a.refresh);

	r = fx_refresh(s.base, NULL, old);
	cr_assert_eq(r->status, 200, "%s", r->body);
	cr_expect_str_neq(jstr(r, "data.refresh_token"), old);
	cr_expect_str_eq(jstr(r, "data.user.id"), a.id);
	(void)snprintf(newer, sizeof(newer), "%s",
	    jstr(r, "data.refresh_token"));
	(void)snprintf(access2, sizeof(access2), "%s",
	    jstr(r, "data.access_token"));
	resp_free(r);

	(void)sleep(2);
	r = fx_refresh(s.base, NULL, old);
	fx_error(r, 401, "token_reused");
	resp_free(r);

	/* The whole session is dead: its newer token and access tokens. */
	r = fx_refresh(s.base, NULL, newer);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	r = fx_req(s.base, "GET", "/api/v1/auth/me", access2, NULL, NULL);
	fx_error(r, 401, "token_revoked");
	resp_free(r);
	expect_revoked_soon(NULL, "GET", "/api/v1/auth/me", a.token);
	fx_srv_stop(&s);

	cr_expect_str_eq(fx_sql("SELECT count(*) FROM audit_events WHERE "
	    "user_id = $1::uuid AND event = 'token_reuse_detected'", a.id),
	    "1");
	cr_expect_str_eq(fx_sql("SELECT revoke_reason FROM sessions WHERE "
	    "user_id = $1::uuid", a.id), "token_reused");
}

struct conc {
	const char	*rt;
	struct resp	*r;
};

static void *
conc_refresh(void *arg)
{
	struct conc	*c = arg;

	c->r = fx_refresh(NULL, NULL, c->rt);
	return (NULL);
}

Test(auth_tokens, concurrent_refreshes_within_grace_each_get_a_pair)
{
	struct user	 a;
	struct conc	 c[4];
	pthread_t	 t[4];
	struct resp	*r;
	int		 i, j;

	fx_new(&a, "grace");
	for (i = 0; i < 4; i++) {
		c[i].rt = a.refresh;
		cr_assert_eq(pthread_create(&t[i], NULL, conc_refresh, &c[i]),
		    0);
	}
	for (i = 0; i < 4; i++)
		(void)pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		cr_expect_eq(c[i].r->status, 200, "%s", c[i].r->body);
		for (j = 0; j < i; j++)
			cr_expect_str_neq(jstr(c[i].r, "data.refresh_token"),
			    jstr(c[j].r, "data.refresh_token"));
	}
	/* Every pair works, and so does each new refresh token. */
	for (i = 0; i < 4; i++) {
		r = fx_req(NULL, "GET", "/api/v1/auth/me",
		    jstr(c[i].r, "data.access_token"), NULL, NULL);
		cr_expect_eq(r->status, 200);
		resp_free(r);
		r = fx_refresh(NULL, NULL, jstr(c[i].r, "data.refresh_token"));
		cr_expect_eq(r->status, 200, "%s", r->body);
		resp_free(r);
		resp_free(c[i].r);
	}
	cr_expect_str_eq(fx_sql("SELECT count(*) FROM sessions WHERE "
	    "user_id = $1::uuid AND revoked_at IS NULL", a.id), "1");
	r = fx_refresh(NULL, NULL, "not-a-token");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = fx_refresh(NULL, NULL,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/auth/refresh", NULL, NULL, "{}");
	fx_error(r, 400, "validation_error");
	resp_free(r);
}

Test(auth_tokens, revocation_reaches_a_second_instance_at_once)
{
	struct srv	 s;
	struct user	 a;
	struct resp	*r;
	int		 i;

	fx_srv_start(&s, NULL);
	fx_new(&a, "xinst");
	/* Both revocation paths of instance 2: cache (me) and database. */
	for (i = 0; i < 5; i++) {
		r = fx_req(s.base, "GET", "/api/v1/auth/me", a.token, NULL,
		    NULL);
		cr_expect_eq(r->status, 200, "%ld %s", r->status, r->body);
		resp_free(r);
	}
	(void)sleep(1);
	r = fx_req(NULL, "POST", "/api/v1/auth/logout", a.token, NULL, "");
	cr_assert_eq(r->status, 200);
	resp_free(r);
	expect_revoked_soon(s.base, "GET", "/api/v1/auth/me", a.token);
	expect_revoked_soon(s.base, "GET", "/api/v1/auth/sessions", a.token);

	/* A password change on instance 2 kills the other sessions on 1. */
	fx_new(&a, "xinst2");
	r = fx_login(NULL, NULL, a.email, FX_PASSWORD);
	cr_assert_eq(r->status, 200);
	r->status = 0;
	{
		struct resp	*p;

		p = fx_req(s.base, "POST", "/api/v1/auth/password",
		    jstr(r, "data.access_token"), NULL,
		    "{\"current_password\": \"" FX_PASSWORD "\", "
		    "\"new_password\": \"An0ther-Passw0rd\"}");
		cr_expect_eq(p->status, 200, "%s", p->body);
		resp_free(p);
	}
	resp_free(r);
	expect_revoked_soon(NULL, "GET", "/api/v1/auth/me", a.token);
	fx_srv_stop(&s);
}

Test(auth_tokens, expired_refresh_token_is_token_expired)
{
	struct user	 a;
	struct resp	*r;

	fx_new(&a, "rexp");
	(void)fx_sql("UPDATE refresh_tokens SET expires_at = now() - "
	    "interval '1 second' WHERE session_id IN (SELECT id FROM sessions "
	    "WHERE user_id = $1::uuid)", a.id);
	r = fx_refresh(NULL, NULL, a.refresh);
	fx_error(r, 401, "token_expired");
	resp_free(r);
}

Test(auth_tokens, refresh_with_any_wrong_token_is_401_only_empty_is_400)
{
	struct user	 a;
	struct resp	*r;
	char		*big;

	fx_new(&a, "rshape");
	/* An access token is not a refresh token: 401, not a length error. */
	r = fx_refresh(NULL, NULL, a.token);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	big = malloc(64 * 1024 + 1);
	cr_assert_not_null(big);
	memset(big, 'A', 64 * 1024);
	big[64 * 1024] = '\0';
	r = fx_refresh(NULL, NULL, big);
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	free(big);
	r = fx_refresh(NULL, NULL, "x");
	fx_error(r, 401, "unauthorized");
	resp_free(r);
	/* Missing or empty: the request itself is wrong. */
	r = fx_refresh(NULL, NULL, "");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	r = fx_req(NULL, "POST", "/api/v1/auth/refresh", NULL, NULL,
	    "{\"refresh_token\": null}");
	fx_error(r, 400, "validation_error");
	resp_free(r);
	/* The real one still works after all that. */
	r = fx_refresh(NULL, NULL, a.refresh);
	cr_expect_eq(r->status, 200, "%s", r->body);
	resp_free(r);
}
