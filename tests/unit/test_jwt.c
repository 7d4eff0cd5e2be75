/*
 * jwt.c: HS256 access tokens are accepted only as we issue them.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"
#include "uuid.h"

#define NOW		((time_t)1790000000)
#define TTL		1800

static const unsigned char	key[] = "0123456789abcdef0123456789abcdef";
#define KEYLEN		(sizeof(key) - 1)

static const char	good_hdr[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
static char		good_pl[512];

static void	make_claims(struct jwt_claims *);
static char	*craft(const char *, const char *, const unsigned char *,
		    size_t);
static char	*sign_ok(void);
static void	b64(const char *, char *, size_t);

static struct jwt_claims	claims;

static void
setup(void)
{
	make_claims(&claims);
	snprintf(good_pl, sizeof(good_pl),
	    "{\"sub\":\"%s\",\"sid\":\"%s\",\"jti\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld,\"role\":\"user\"}",
	    claims.sub, claims.sid, claims.jti,
	    (long long)claims.iat, (long long)claims.exp);
}

TestSuite(jwt, .init = setup);

Test(jwt, sign_then_verify_returns_the_same_claims)
{
	char			*tok;
	struct jwt_claims	 out;

	tok = sign_ok();
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.sub, claims.sub);
	cr_assert_str_eq(out.sid, claims.sid);
	cr_assert_str_eq(out.jti, claims.jti);
	cr_assert_str_eq(out.role, claims.role);
	cr_assert_eq(out.iat, claims.iat);
	cr_assert_eq(out.exp, claims.exp);
	free(tok);
}

Test(jwt, signed_header_is_exactly_hs256_jwt)
{
	char		*tok, *dot;
	unsigned char	 buf[256];
	size_t		 n;

	tok = sign_ok();
	dot = strchr(tok, '.');
	cr_assert_not_null(dot);
	cr_assert_eq(b64url_decode(tok, (size_t)(dot - tok), buf,
	    sizeof(buf), &n), 0);
	cr_assert_eq(n, strlen(good_hdr));
	cr_assert_eq(memcmp(buf, good_hdr, n), 0);
	free(tok);
}

Test(jwt, crafted_token_matching_ours_verifies)
{
	char			*tok;
	struct jwt_claims	 out;

	/* Guards the helper the negative tests below rely on. */
	tok = craft(good_hdr, good_pl, key, KEYLEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.sub, claims.sub);
	free(tok);
}

Test(jwt, any_single_character_change_is_rejected)
{
	char			*tok, saved;
	size_t			 i, len;
	struct jwt_claims	 out;

	tok = sign_ok();
	len = strlen(tok);
	for (i = 0; i < len; i++) {
		saved = tok[i];
		tok[i] = (saved == 'A') ? 'B' : 'A';
		cr_assert_neq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK,
		    "change at %zu accepted", i);
		cr_assert_str_empty(out.sub);
		tok[i] = saved;
	}
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	free(tok);
}

/* Another base64url letter than c: a bit flip can leave the alphabet. */
static char
other_letter(char c)
{
	return (c == 'A' ? 'B' : 'A');
}

Test(jwt, flipped_character_in_each_part_is_rejected)
{
	char			*tok, *d1, *d2, saved;
	struct jwt_claims	 out;

	tok = sign_ok();
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');

	/* A middle character of each part, replaced by another letter. */
	saved = tok[2];
	tok[2] = other_letter(saved);
	cr_assert_neq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	tok[2] = saved;

	saved = d1[10];
	d1[10] = other_letter(saved);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
	    JWT_BAD_SIGNATURE);
	d1[10] = saved;

	saved = d2[10];
	d2[10] = other_letter(saved);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
	    JWT_BAD_SIGNATURE);
	d2[10] = saved;

	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	free(tok);
}

Test(jwt, replaced_payload_with_old_signature_is_bad_signature)
{
	char			*tok, *forged, *d1, *d2, p64[512];
	char			 pl[512];
	struct jwt_claims	 out;

	tok = sign_ok();
	d1 = strchr(tok, '.');
	d2 = strchr(d1 + 1, '.');
	snprintf(pl, sizeof(pl),
	    "{\"sub\":\"%s\",\"sid\":\"%s\",\"jti\":\"%s\","
	    "\"iat\":%lld,\"exp\":%lld,\"role\":\"admin\"}",
	    claims.sub, claims.sid, claims.jti,
	    (long long)claims.iat, (long long)claims.exp);
	b64(pl, p64, sizeof(p64));

	forged = malloc(strlen(tok) + strlen(p64) + 1);
	cr_assert_not_null(forged);
	memcpy(forged, tok, (size_t)(d1 - tok) + 1);
	strcpy(forged + (d1 - tok) + 1, p64);
	strcat(forged, d2);
	cr_assert_eq(jwt_verify(forged, key, KEYLEN, NOW, &out),
	    JWT_BAD_SIGNATURE);
	free(forged);
	free(tok);
}

Test(jwt, replaced_header_with_old_signature_is_bad_signature)
{
	char			*tok, *forged, *d1, h64[128];
	struct jwt_claims	 out;

	tok = sign_ok();
	d1 = strchr(tok, '.');
	b64("{\"alg\":\"HS256\",\"typ\":\"JWS\"}", h64, sizeof(h64));
	forged = malloc(strlen(tok) + strlen(h64) + 1);
	cr_assert_not_null(forged);
	strcpy(forged, h64);
	strcat(forged, d1);
	cr_assert_eq(jwt_verify(forged, key, KEYLEN, NOW, &out),
	    JWT_BAD_SIGNATURE);
	free(forged);
	free(tok);
}

Test(jwt, alg_none_is_bad_alg_signed_or_not)
{
	char			*tok, h64[128], p64[512], unsigned_tok[800];
	struct jwt_claims	 out;

	b64("{\"alg\":\"none\",\"typ\":\"JWT\"}", h64, sizeof(h64));
	b64(good_pl, p64, sizeof(p64));
	snprintf(unsigned_tok, sizeof(unsigned_tok), "%s.%s.", h64, p64);
	cr_assert_eq(jwt_verify(unsigned_tok, key, KEYLEN, NOW, &out),
	    JWT_BAD_ALG);

	tok = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", good_pl, key, KEYLEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_BAD_ALG);
	free(tok);
}

Test(jwt, any_alg_but_exactly_hs256_is_bad_alg)
{
	static const char	*hdrs[] = {
		"{\"alg\":\"HS512\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS384\"}",
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"ES256\"}",
		"{\"alg\":\"hs256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"\"}",
		"{\"alg\":null}",
		"{\"alg\":256}",
		"{\"alg\":[\"HS256\"]}",
		"{\"typ\":\"JWT\"}",
		"{}",
	};
	char			*tok;
	size_t			 i;
	struct jwt_claims	 out;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		tok = craft(hdrs[i], good_pl, key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_BAD_ALG, "header %s", hdrs[i]);
		free(tok);
	}
}

Test(jwt, crit_header_is_refused)
{
	char			*tok;
	struct jwt_claims	 out;

	tok = craft("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", good_pl, key,
	    KEYLEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);
}

Test(jwt, missing_claims_are_malformed)
{
	static const char	*names[] = {
		"sub", "sid", "jti", "iat", "exp", "role"
	};
	char			*tok, pl[512];
	size_t			 i;
	struct jwt_claims	 out;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		/* Rename one claim so it is absent. */
		strcpy(pl, good_pl);
		memcpy(strstr(pl, names[i]), "xyz", 3);
		tok = craft(good_hdr, pl, key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_MALFORMED, "without %s", names[i]);
		free(tok);
	}
}

Test(jwt, ill_typed_claims_are_malformed)
{
	static const char	*pls[] = {
		"{\"sub\":1,\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":\"not-a-uuid\",\"sid\":\"%s\",\"jti\":\"%s\","
		    "\"iat\":1,\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":null,\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-5555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":\"1\","
		    "\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000.0,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":true,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":-1,"
		    "\"exp\":1890000000,\"role\":\"user\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":7}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"us er\"}",
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,"
		    "\"role\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
		/* Duplicate keys: two parsers could read two different subs. */
		"{\"sub\":\"11111111-2222-3333-4444-555555555555\","
		    "\"sid\":\"%s\",\"jti\":\"%s\",\"iat\":1,"
		    "\"exp\":1890000000,\"role\":\"user\",\"role\":\"admin\"}",
	};
	char			*tok, pl[512];
	size_t			 i;
	struct jwt_claims	 out;

	for (i = 0; i < sizeof(pls) / sizeof(pls[0]); i++) {
		snprintf(pl, sizeof(pl), pls[i], claims.sid, claims.jti);
		tok = craft(good_hdr, pl, key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_MALFORMED, "payload %s", pl);
		free(tok);
	}
}

Test(jwt, role_of_32_characters_is_accepted)
{
	char			*tok;
	struct jwt_claims	 out;

	memset(claims.role, 'r', JWT_ROLE_MAX);
	claims.role[JWT_ROLE_MAX] = '\0';
	cr_assert_eq(jwt_sign(&claims, key, KEYLEN, &tok), 0);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.role, claims.role);
	free(tok);
}

Test(jwt, expiry_is_exp_at_or_before_now)
{
	char			*tok;
	struct jwt_claims	 out;

	tok = sign_ok();
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW + TTL - 1, &out),
	    JWT_OK);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW + TTL, &out),
	    JWT_EXPIRED);
	/* Genuine but expired: the claims are there for the log. */
	cr_assert_str_eq(out.sub, claims.sub);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW + 86400, &out),
	    JWT_EXPIRED);
	free(tok);
}

Test(jwt, token_issued_already_expired_is_expired)
{
	char			*tok;
	struct jwt_claims	 out;

	claims.iat = NOW - 3600;
	claims.exp = NOW - 1800;
	cr_assert_eq(jwt_sign(&claims, key, KEYLEN, &tok), 0);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_EXPIRED);
	free(tok);
}

Test(jwt, wrong_key_is_bad_signature)
{
	static const unsigned char	other[] =
	    "0123456789abcdef0123456789abcdeF";
	char				*tok;
	struct jwt_claims		 out;

	tok = sign_ok();
	cr_assert_eq(jwt_verify(tok, other, sizeof(other) - 1, NOW, &out),
	    JWT_BAD_SIGNATURE);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN - 1, NOW, &out),
	    JWT_BAD_SIGNATURE);
	cr_assert_eq(jwt_verify(tok, key, 0, NOW, &out), JWT_BAD_SIGNATURE);
	cr_assert_eq(jwt_verify(tok, NULL, KEYLEN, NOW, &out),
	    JWT_BAD_SIGNATURE);
	cr_assert_str_empty(out.sub);
	free(tok);
}

Test(jwt, wrong_number_of_parts_is_malformed)
{
	char			*tok, buf[1024];
	struct jwt_claims	 out;

	tok = sign_ok();
	*strrchr(tok, '.') = '\0';
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);

	tok = sign_ok();
	snprintf(buf, sizeof(buf), "%s.AAAA", tok);
	cr_assert_eq(jwt_verify(buf, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	snprintf(buf, sizeof(buf), "%s.", tok);
	cr_assert_eq(jwt_verify(buf, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);

	cr_assert_eq(jwt_verify("", key, KEYLEN, NOW, &out), JWT_MALFORMED);
	cr_assert_eq(jwt_verify("..", key, KEYLEN, NOW, &out), JWT_MALFORMED);
	cr_assert_eq(jwt_verify("abc", key, KEYLEN, NOW, &out),
	    JWT_MALFORMED);
	cr_assert_eq(jwt_verify(NULL, key, KEYLEN, NOW, &out), JWT_MALFORMED);
}

Test(jwt, token_longer_than_max_is_malformed_even_if_genuine)
{
	char			*tok, pl[JWT_MAX_LEN * 2];
	struct jwt_claims	 out;
	size_t			 n;

	/* A genuine token whose padding claim pushes it past the bound. */
	n = (size_t)snprintf(pl, sizeof(pl), "%.*s,\"pad\":\"",
	    (int)strlen(good_pl) - 1, good_pl);
	memset(pl + n, 'x', JWT_MAX_LEN);
	strcpy(pl + n + JWT_MAX_LEN, "\"}");
	tok = craft(good_hdr, pl, key, KEYLEN);
	cr_assert_gt(strlen(tok), JWT_MAX_LEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);
}

Test(jwt, unknown_extra_claims_are_ignored)
{
	char			*tok, pl[600];
	struct jwt_claims	 out;

	snprintf(pl, sizeof(pl), "%.*s,\"aud\":\"x\"}",
	    (int)strlen(good_pl) - 1, good_pl);
	tok = craft(good_hdr, pl, key, KEYLEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	free(tok);
}

Test(jwt, payload_that_is_not_a_json_object_is_malformed)
{
	static const char	*pls[] = {
		"not json", "[1,2,3]", "\"a string\"", "42", "null", "",
		"{\"sub\":", "{}",
	};
	char			*tok;
	size_t			 i;
	struct jwt_claims	 out;

	for (i = 0; i < sizeof(pls) / sizeof(pls[0]); i++) {
		tok = craft(good_hdr, pls[i], key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_MALFORMED, "payload '%s'", pls[i]);
		free(tok);
	}
}

Test(jwt, header_that_is_not_a_json_object_is_malformed)
{
	static const char	*hdrs[] = {
		"HS256", "[\"HS256\"]", "", "{\"alg\":\"HS256\"",
		"{\"alg\":\"HS256\",\"alg\":\"HS256\"}",
	};
	char			*tok;
	size_t			 i;
	struct jwt_claims	 out;

	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		tok = craft(hdrs[i], good_pl, key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_MALFORMED, "header '%s'", hdrs[i]);
		free(tok);
	}
}

Test(jwt, base64_padding_or_bad_characters_are_malformed)
{
	char			*tok, buf[1024];
	struct jwt_claims	 out;

	tok = sign_ok();
	snprintf(buf, sizeof(buf), "%s=", tok);
	cr_assert_eq(jwt_verify(buf, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	strcpy(buf, tok);
	buf[3] = '+';
	cr_assert_eq(jwt_verify(buf, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	strcpy(buf, tok);
	*strchr(buf, '.') = ' ';
	cr_assert_eq(jwt_verify(buf, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);
}

Test(jwt, sign_refuses_invalid_claims_and_keys)
{
	struct jwt_claims	 c;
	char			*tok;

	c = claims;
	strcpy(c.sub, "not-a-uuid");
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), -1);
	cr_assert_null(tok);

	c = claims;
	c.role[0] = '\0';
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), -1);

	c = claims;
	memset(c.jti, 'a', sizeof(c.jti));	/* no terminating NUL */
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), -1);

	c = claims;
	c.exp = -1;
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), -1);

	cr_assert_eq(jwt_sign(&claims, key, 0, &tok), -1);
	cr_assert_eq(jwt_sign(&claims, NULL, KEYLEN, &tok), -1);
	cr_assert_eq(jwt_sign(NULL, key, KEYLEN, &tok), -1);
}

Test(jwt, result_names_are_stable)
{
	cr_assert_str_eq(jwt_result_str(JWT_OK), "ok");
	cr_assert_str_eq(jwt_result_str(JWT_MALFORMED), "malformed");
	cr_assert_str_eq(jwt_result_str(JWT_BAD_ALG), "bad_alg");
	cr_assert_str_eq(jwt_result_str(JWT_BAD_SIGNATURE), "bad_signature");
	cr_assert_str_eq(jwt_result_str(JWT_EXPIRED), "expired");
	cr_assert_str_eq(jwt_result_str(JWT_UNKNOWN_KID), "unknown_kid");
}

static const unsigned char	key2[] = "fedcba9876543210fedcba9876543210";

Test(jwt, kid_is_signed_into_the_header_and_read_back)
{
	struct jwt_claims	 c, out;
	char			*tok, hdr[128];
	const char		*dot;
	size_t			 n;

	c = claims;
	strcpy(c.kid, "2026-12.a");
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), 0);
	dot = strchr(tok, '.');
	cr_assert_eq(b64url_decode(tok, (size_t)(dot - tok),
	    (unsigned char *)hdr, sizeof(hdr) - 1, &n), 0);
	hdr[n] = '\0';
	cr_assert(strstr(hdr, "\"kid\":\"2026-12.a\"") != NULL, "%s", hdr);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.kid, "2026-12.a");
	free(tok);
}

Test(jwt, a_key_set_verifies_with_the_key_the_kid_names)
{
	struct jwt_key		 set[2] = {
		{ "new", key2, sizeof(key2) - 1 },
		{ "old", key, KEYLEN },
	};
	struct jwt_claims	 c, out;
	char			*tok;

	c = claims;
	strcpy(c.kid, "old");
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), 0);
	cr_assert_eq(jwt_verify_keys(tok, set, 2, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.kid, "old");
	cr_assert_str_eq(out.sub, claims.sub);
	/* The old key gone from the set: refused, without trying the rest. */
	cr_assert_eq(jwt_verify_keys(tok, set, 1, NOW, &out),
	    JWT_UNKNOWN_KID);
	cr_assert_str_eq(out.sub, "");
	free(tok);

	/* Signed with the new key but naming the old one: forged. */
	cr_assert_eq(jwt_sign(&c, key2, sizeof(key2) - 1, &tok), 0);
	cr_assert_eq(jwt_verify_keys(tok, set, 2, NOW, &out),
	    JWT_BAD_SIGNATURE);
	free(tok);
}

Test(jwt, a_token_without_kid_is_tried_against_every_key)
{
	struct jwt_key		 set[2] = {
		{ "new", key2, sizeof(key2) - 1 },
		{ "old", key, KEYLEN },
	};
	struct jwt_claims	 out;
	char			*tok;

	tok = sign_ok();
	cr_assert_eq(jwt_verify_keys(tok, set, 2, NOW, &out), JWT_OK);
	cr_assert_str_eq(out.kid, "");
	cr_assert_eq(jwt_verify_keys(tok, set, 1, NOW, &out),
	    JWT_BAD_SIGNATURE);
	cr_assert_eq(jwt_verify_keys(tok, set, 0, NOW, &out),
	    JWT_UNKNOWN_KID);
	free(tok);
}

Test(jwt, a_bad_kid_is_refused)
{
	static const char *const hdrs[] = {
		"{\"alg\":\"HS256\",\"kid\":\"\"}",
		"{\"alg\":\"HS256\",\"kid\":7}",
		"{\"alg\":\"HS256\",\"kid\":\"a/b\"}",
		"{\"alg\":\"HS256\",\"kid\":\"x\",\"kid\":\"y\"}",
		"{\"alg\":\"HS256\",\"kid\":"
		    "\"0123456789abcdef0123456789abcdefX\"}",
		NULL
	};
	struct jwt_claims	 c, out;
	char			*tok;
	int			 i;

	for (i = 0; hdrs[i] != NULL; i++) {
		tok = craft(hdrs[i], good_pl, key, KEYLEN);
		cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out),
		    JWT_MALFORMED, "%s", hdrs[i]);
		free(tok);
	}
	tok = craft("{\"alg\":\"HS256\",\"kid\":\"k.1_-\"}", good_pl, key,
	    KEYLEN);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	free(tok);

	c = claims;
	strcpy(c.kid, "no spaces");
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), -1);
	cr_assert(jwt_kid_valid("k1"));
	cr_assert_not(jwt_kid_valid(""));
	cr_assert_not(jwt_kid_valid(NULL));
}

static void
make_claims(struct jwt_claims *c)
{
	memset(c, 0, sizeof(*c));
	cr_assert_eq(uuid_generate(c->sub), 0);
	cr_assert_eq(uuid_generate(c->sid), 0);
	cr_assert_eq(uuid_generate(c->jti), 0);
	strcpy(c->role, "user");
	c->iat = NOW;
	c->exp = NOW + TTL;
}

static char *
sign_ok(void)
{
	char	*tok;

	cr_assert_eq(jwt_sign(&claims, key, KEYLEN, &tok), 0);
	cr_assert_not_null(tok);
	return (tok);
}

static void
b64(const char *s, char *out, size_t outsz)
{
	cr_assert_eq(b64url_encode(s, strlen(s), out, outsz), 0);
}

/* Builds header.payload.signature from raw JSON text, signed with k. */
static char *
craft(const char *hdr, const char *pl, const unsigned char *k, size_t klen)
{
	char		*tok, *p;
	size_t		 hl, pl_len, sz;
	unsigned char	 md[32];
	unsigned int	 mdlen;

	hl = B64URL_ENCLEN(strlen(hdr));
	pl_len = B64URL_ENCLEN(strlen(pl));
	sz = hl + 1 + pl_len + 1 + B64URL_ENCLEN(32) + 1;
	tok = malloc(sz);
	cr_assert_not_null(tok);

	b64(hdr, tok, sz);
	p = tok + hl;
	*p++ = '.';
	b64(pl, p, sz - (size_t)(p - tok));
	p += pl_len;
	cr_assert_not_null(HMAC(EVP_sha256(), k, (int)klen,
	    (unsigned char *)tok, (size_t)(p - tok), md, &mdlen));
	*p++ = '.';
	cr_assert_eq(b64url_encode(md, mdlen, p, sz - (size_t)(p - tok)), 0);
	return (tok);
}

Test(jwt, the_email_verified_claim_round_trips_and_must_be_boolean)
{
	struct jwt_claims	 c, out;
	char			*tok, pl[600];

	c = claims;
	c.ev = 1;
	cr_assert_eq(jwt_sign(&c, key, KEYLEN, &tok), 0);
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_expect_eq(out.ev, 1);
	free(tok);

	tok = sign_ok();
	cr_assert_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_OK);
	cr_expect_eq(out.ev, 0);
	free(tok);

	snprintf(pl, sizeof(pl), "%.*s,\"ev\":1}", (int)strlen(good_pl) - 1,
	    good_pl);
	tok = craft(good_hdr, pl, key, KEYLEN);
	cr_expect_eq(jwt_verify(tok, key, KEYLEN, NOW, &out), JWT_MALFORMED);
	free(tok);
}
