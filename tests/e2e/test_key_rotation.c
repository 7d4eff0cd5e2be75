/*
 * Signing-key rotation (README, "Rotating the signing key"): access
 * tokens carry the id of the key that signed them; every key of
 * JWT_KEYS verifies, one signs.  The tests restart instances with the
 * key sets of each step of the procedure while tokens issued before stay
 * in use, as a rolling deployment does.
 */
#include "fixture.h"
#include "b64.h"

#define SECRET_A	"rotation-secret-A-0123456789abcdef0123"
#define SECRET_B	"rotation-secret-B-0123456789abcdef0123"
#define SECRET_C	"rotation-secret-C-0123456789abcdef0123"

static const char *const only_a[] = { "JWT_SECRET=", "JOBS_DISABLED=1",
	"JWT_KEYS=ka:" SECRET_A, NULL };
/* Step 1: the new key is known everywhere before anything signs with it. */
static const char *const a_signs_b_known[] = { "JWT_SECRET=",
	"JOBS_DISABLED=1", "JWT_KEYS=ka:" SECRET_A ",kb:" SECRET_B,
	"JWT_SIGNING_KID=ka", NULL };
/* Step 2: the new key signs, the old one still verifies. */
static const char *const b_signs_a_known[] = { "JWT_SECRET=",
	"JOBS_DISABLED=1", "JWT_KEYS=kb:" SECRET_B ",ka:" SECRET_A, NULL };
/* Step 3, after ACCESS_TOKEN_TTL: the old key is gone. */
static const char *const only_b[] = { "JWT_SECRET=", "JOBS_DISABLED=1",
	"JWT_KEYS=kb:" SECRET_B, NULL };

/* The kid of a token's header ("" when it has none). */
static const char *
kid_of(const char *tok)
{
	static char	 kid[64];
	char		 hdr[512];
	const char	*dot;
	size_t		 n;
	json_t		*j;

	kid[0] = '\0';
	dot = strchr(tok, '.');
	cr_assert_not_null(dot, "not a JWT: %s", tok);
	cr_assert_eq(b64url_decode(tok, (size_t)(dot - tok),
	    (unsigned char *)hdr, sizeof(hdr) - 1, &n), 0);
	hdr[n] = '\0';
	j = json_loads(hdr, 0, NULL);
	cr_assert_not_null(j, "header: %s", hdr);
	if (json_is_string(json_object_get(j, "kid")))
		(void)snprintf(kid, sizeof(kid), "%s",
		    json_string_value(json_object_get(j, "kid")));
	json_decref(j);
	return (kid);
}

/* The status of GET /api/v1/users/me at base with tok. */
static long
me_status(const char *base, const char *tok, char *code, size_t len)
{
	struct resp	*r;
	long		 st;

	r = fx_req(base, "GET", "/api/v1/users/me", tok, NULL, NULL);
	st = r->status;
	if (code != NULL)
		(void)snprintf(code, len, "%s", st == 200 ? "" :
		    err_code(r) ? err_code(r) : "?");
	resp_free(r);
	return (st);
}

static void
login_at(const char *base, struct user *a)
{
	struct resp	*r;

	r = fx_login(base, NULL, a->email, FX_PASSWORD);
	cr_assert_eq(r->status, 200, "login: %ld %s", r->status, r->body);
	fx_take(a, r);
	resp_free(r);
}

Test(key_rotation, rotating_the_signing_key_logs_nobody_out,
    .timeout = 120)
{
	struct srv	 s1, s2, s3;
	struct user	 a, b, c;
	struct resp	*r;
	char		 code[64], old_refresh[128];
	char		*forged;
	struct jwt_claims cl;

	/* Before: one key. */
	fx_srv_start(&s1, only_a);
	fx_new_at(s1.base, NULL, &a, "rot");
	cr_expect_str_eq(kid_of(a.token), "ka");
	cr_expect_eq(me_status(s1.base, a.token, NULL, 0), 200);

	/* Step 1, rolled out beside s1: both verify, ka still signs. */
	fx_srv_start(&s2, a_signs_b_known);
	(void)snprintf(b.email, sizeof(b.email), "%s", a.email);
	login_at(s2.base, &b);
	cr_expect_str_eq(kid_of(b.token), "ka");
	cr_expect_eq(me_status(s1.base, b.token, NULL, 0), 200);
	cr_expect_eq(me_status(s2.base, a.token, NULL, 0), 200);
	fx_srv_stop(&s1);

	/* Step 2: kb signs; tokens signed with ka stay in use. */
	fx_srv_start(&s3, b_signs_a_known);
	cr_expect_eq(me_status(s3.base, a.token, NULL, 0), 200);
	cr_expect_eq(me_status(s3.base, b.token, NULL, 0), 200);
	(void)snprintf(c.email, sizeof(c.email), "%s", a.email);
	login_at(s3.base, &c);
	cr_expect_str_eq(kid_of(c.token), "kb");
	/* An instance still at step 1 accepts the new tokens. */
	cr_expect_eq(me_status(s2.base, c.token, NULL, 0), 200);
	/* A refresh token from before the switch gets a kb token. */
	(void)snprintf(old_refresh, sizeof(old_refresh), "%s", a.refresh);
	r = fx_refresh(s3.base, NULL, old_refresh);
	cr_assert_eq(r->status, 200, "refresh: %ld %s", r->status, r->body);
	fx_take(&a, r);
	resp_free(r);
	cr_expect_str_eq(kid_of(a.token), "kb");
	cr_expect_eq(me_status(s3.base, a.token, NULL, 0), 200);

	/* A token naming kb but signed with ka is a forgery. */
	cr_assert_eq(jwt_verify(c.token, (const unsigned char *)SECRET_B,
	    strlen(SECRET_B), time(NULL), &cl), JWT_OK);
	cr_expect_str_eq(cl.kid, "kb");
	cr_assert_eq(uuid_generate(cl.jti), 0);
	cr_assert_eq(jwt_sign(&cl, (const unsigned char *)SECRET_A,
	    strlen(SECRET_A), &forged), 0);
	cr_expect_eq(me_status(s3.base, forged, code, sizeof(code)), 401);
	cr_expect_str_eq(code, "unauthorized");
	free(forged);
	fx_srv_stop(&s2);
	fx_srv_stop(&s3);

	/* Step 3: ka removed; what it signed no longer opens anything. */
	fx_srv_start(&s1, only_b);
	cr_expect_eq(me_status(s1.base, b.token, code, sizeof(code)), 401);
	cr_expect_str_eq(code, "unauthorized");
	cr_expect_eq(me_status(s1.base, c.token, NULL, 0), 200);
	cr_expect_eq(me_status(s1.base, a.token, NULL, 0), 200);
	fx_srv_stop(&s1);
}

/*
 * From JWT_SECRET to JWT_KEYS: the secret's tokens carry kid "default",
 * so listing it as default:<secret> keeps them valid.
 */
Test(key_rotation, moving_from_jwt_secret_to_a_key_set_keeps_tokens,
    .timeout = 60)
{
	static const char *const moved[] = { "JWT_SECRET=",
		"JOBS_DISABLED=1",
		"JWT_KEYS=next:" SECRET_C ",default:" FX_SECRET, NULL };
	struct srv	 s;
	struct user	 a, b;
	char		*legacy;
	struct jwt_claims cl;

	fx_new(&a, "rotmove");
	cr_expect_str_eq(kid_of(a.token), "default");

	fx_srv_start(&s, moved);
	cr_expect_eq(me_status(s.base, a.token, NULL, 0), 200);
	/* A token from before key ids (no kid) is tried against each key. */
	fx_claims(a.token, &cl);
	legacy = fx_forge(cl.sub, cl.sid, "user", time(NULL),
	    time(NULL) + 600, NULL);
	cr_expect_str_eq(kid_of(legacy), "");
	cr_expect_eq(me_status(s.base, legacy, NULL, 0), 200);
	free(legacy);
	(void)snprintf(b.email, sizeof(b.email), "%s", a.email);
	login_at(s.base, &b);
	cr_expect_str_eq(kid_of(b.token), "next");
	/* The main instance does not know "next": refused, not crashed. */
	cr_expect_eq(me_status(NULL, b.token, NULL, 0), 401);
	fx_srv_stop(&s);
}
