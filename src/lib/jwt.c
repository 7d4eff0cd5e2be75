/*
 * HS256 JWTs.  Only what we issue is accepted: the header must name
 * exactly HS256 (so "none", other HMACs and public-key algorithms are
 * refused before any key is used), the signature is checked in constant
 * time before the payload is parsed, and the payload must carry all six
 * of our claims with the right types (and "ev", when present, a boolean).  JSON goes through jansson with
 * duplicate keys rejected, so no two parsers can read one token two ways.
 *
 * Key rotation: the header may carry a key id ("kid").  A verifier with a
 * set of keys uses the key of that id only (an unknown id is refused
 * without trying the others); a token without one, issued before key ids
 * existed, is tried against every key of the set.
 */

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"
#include "uuid.h"

#define JWT_ALG			"HS256"
#define JWT_SIG_LEN		32	/* SHA-256 output */
#define JWT_PART_MAX		B64URL_DECLEN(JWT_MAX_LEN)

static int	jwt_claims_valid(const struct jwt_claims *);
static int	jwt_key_ok(const unsigned char *, size_t);
static int	jwt_hmac(const unsigned char *, size_t, const char *, size_t,
		    unsigned char [JWT_SIG_LEN]);
static char	*jwt_encode_json(json_t *);
static int	jwt_encode_parts(const struct jwt_claims *, char **,
		    char **);
static json_t	*jwt_decode_json(const char *, size_t);
static int	jwt_copy_uuid(json_t *, const char *, char *);
static int	jwt_sig_ok(const struct jwt_key *, const char *, size_t,
		    const unsigned char *);
static enum jwt_result	jwt_check_header(const char *, size_t,
			    char [JWT_KID_MAX + 1]);
static enum jwt_result	jwt_read_claims(const char *, size_t,
			    struct jwt_claims *);

/*
 * Signs the claims with key (keylen bytes) and stores a NUL-terminated
 * compact token in *out.  The caller owns *out and releases it with
 * free().  Returns 0, or -1 (and *out = NULL) when a claim is invalid
 * (ids not UUIDs, bad role), the key size is out of bounds, or a library
 * call fails.
 */
int
jwt_sign(const struct jwt_claims *c, const unsigned char *key, size_t keylen,
    char **out)
{
	char		*h64, *p64, *tok;
	size_t		 hlen, plen, toklen;
	unsigned char	 sig[JWT_SIG_LEN];
	int		 ret;

	*out = NULL;
	ret = -1;
	h64 = p64 = tok = NULL;

	if (c == NULL || !jwt_claims_valid(c) || !jwt_key_ok(key, keylen))
		return (-1);
	if (jwt_encode_parts(c, &h64, &p64) == -1)
		goto cleanup;

	hlen = strlen(h64);
	plen = strlen(p64);
	toklen = hlen + 1 + plen + 1 + B64URL_ENCLEN(JWT_SIG_LEN);
	if ((tok = malloc(toklen + 1)) == NULL)
		goto cleanup;

	memcpy(tok, h64, hlen);
	tok[hlen] = '.';
	memcpy(tok + hlen + 1, p64, plen);
	if (jwt_hmac(key, keylen, tok, hlen + 1 + plen, sig) == -1)
		goto cleanup;
	tok[hlen + 1 + plen] = '.';
	if (b64url_encode(sig, sizeof(sig), tok + hlen + 1 + plen + 1,
	    toklen + 1 - (hlen + 1 + plen + 1)) == -1)
		goto cleanup;

	*out = tok;
	tok = NULL;
	ret = 0;

cleanup:
	free(tok);
	free(h64);
	free(p64);
	return (ret);
}

/*
 * Verifies token against key at time now, whatever key id its header
 * names.  On JWT_OK and JWT_EXPIRED (the token is genuine) *out holds its
 * claims; on every other result *out is zeroed.  A token is expired when
 * exp + JWT_LEEWAY_S <= now.  The caller owns out; nothing is allocated.
 */
enum jwt_result
jwt_verify(const char *token, const unsigned char *key, size_t keylen,
    time_t now, struct jwt_claims *out)
{
	struct jwt_key	k;

	k.kid = NULL;		/* matches any key id */
	k.key = key;
	k.len = keylen;
	return (jwt_verify_keys(token, &k, 1, now, out));
}

/*
 * Verifies token against the key set keys[0..n-1]: the key whose kid
 * the header names (JWT_UNKNOWN_KID when none has it), or, for a token
 * without a key id, any key of the set.  A key whose kid is NULL matches
 * every key id.  Results and *out as for jwt_verify; out->kid is the
 * header's key id.
 */
enum jwt_result
jwt_verify_keys(const char *token, const struct jwt_key *keys, size_t n,
    time_t now, struct jwt_claims *out)
{
	const char	*dot1, *dot2, *p;
	size_t		 len, siglen, i;
	unsigned char	 sig[JWT_PART_MAX];
	char		 kid[JWT_KID_MAX + 1];
	enum jwt_result	 r;
	int		 named, ok;
	struct jwt_claims c;

	memset(out, 0, sizeof(*out));
	if (token == NULL)
		return (JWT_MALFORMED);
	if ((len = strnlen(token, JWT_MAX_LEN + 1)) > JWT_MAX_LEN)
		return (JWT_MALFORMED);

	if ((dot1 = memchr(token, '.', len)) == NULL)
		return (JWT_MALFORMED);
	p = dot1 + 1;
	if ((dot2 = memchr(p, '.', len - (size_t)(p - token))) == NULL)
		return (JWT_MALFORMED);
	p = dot2 + 1;
	if (memchr(p, '.', len - (size_t)(p - token)) != NULL)
		return (JWT_MALFORMED);

	if ((r = jwt_check_header(token, (size_t)(dot1 - token), kid)) !=
	    JWT_OK)
		return (r);

	if (b64url_decode(p, len - (size_t)(p - token), sig, sizeof(sig),
	    &siglen) == -1)
		return (JWT_MALFORMED);
	if (siglen != JWT_SIG_LEN)
		return (JWT_BAD_SIGNATURE);

	ok = named = 0;
	for (i = 0; i < n && !ok; i++) {
		if (kid[0] != '\0' && keys[i].kid != NULL &&
		    strcmp(keys[i].kid, kid) != 0)
			continue;
		named = 1;
		ok = jwt_sig_ok(&keys[i], token, (size_t)(dot2 - token), sig);
	}
	if (!named)
		return (JWT_UNKNOWN_KID);
	if (!ok)
		return (JWT_BAD_SIGNATURE);

	if ((r = jwt_read_claims(dot1 + 1, (size_t)(dot2 - dot1 - 1), &c)) !=
	    JWT_OK)
		return (r);

	memcpy(c.kid, kid, sizeof(c.kid));
	*out = c;
	if (c.exp <= (int64_t)now - JWT_LEEWAY_S)
		return (JWT_EXPIRED);

	return (JWT_OK);
}

/*
 * Returns 1 when role is 1 to JWT_ROLE_MAX bytes of [A-Za-z0-9_-]: it is
 * copied into logs and headers, so nothing else is allowed.
 */
int
jwt_role_valid(const char *role)
{
	size_t		i;
	char		ch;

	if (role == NULL || role[0] == '\0')
		return (0);

	for (i = 0; role[i] != '\0'; i++) {
		if (i >= JWT_ROLE_MAX)
			return (0);
		ch = role[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return (0);
	}

	return (1);
}

/* Returns 1 when kid is 1 to JWT_KID_MAX bytes of [A-Za-z0-9._-]. */
int
jwt_kid_valid(const char *kid)
{
	size_t		i;
	char		ch;

	if (kid == NULL || kid[0] == '\0')
		return (0);

	for (i = 0; kid[i] != '\0'; i++) {
		if (i >= JWT_KID_MAX)
			return (0);
		ch = kid[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
		    ch == '.'))
			return (0);
	}

	return (1);
}

/* Returns a static name for r, for logs. */
const char *
jwt_result_str(enum jwt_result r)
{
	switch (r) {
	case JWT_OK:
		return ("ok");
	case JWT_MALFORMED:
		return ("malformed");
	case JWT_BAD_ALG:
		return ("bad_alg");
	case JWT_BAD_SIGNATURE:
		return ("bad_signature");
	case JWT_EXPIRED:
		return ("expired");
	case JWT_UNKNOWN_KID:
		return ("unknown_kid");
	}

	return ("unknown");
}

static int
jwt_claims_valid(const struct jwt_claims *c)
{
	/* The arrays may come straight from a caller: bound every read. */
	if (memchr(c->sub, '\0', sizeof(c->sub)) == NULL ||
	    memchr(c->sid, '\0', sizeof(c->sid)) == NULL ||
	    memchr(c->jti, '\0', sizeof(c->jti)) == NULL ||
	    memchr(c->role, '\0', sizeof(c->role)) == NULL ||
	    memchr(c->kid, '\0', sizeof(c->kid)) == NULL)
		return (0);
	if (c->kid[0] != '\0' && !jwt_kid_valid(c->kid))
		return (0);

	return (uuid_valid(c->sub) && uuid_valid(c->sid) &&
	    uuid_valid(c->jti) && jwt_role_valid(c->role) &&
	    c->iat >= 0 && c->exp >= 0);
}

static int
jwt_key_ok(const unsigned char *key, size_t keylen)
{
	return (key != NULL && keylen >= JWT_KEY_MIN && keylen <= JWT_KEY_MAX);
}

/* 1 when sig is the HMAC of data[0..len) under k. */
static int
jwt_sig_ok(const struct jwt_key *k, const char *data, size_t len,
    const unsigned char *sig)
{
	unsigned char	want[JWT_SIG_LEN];

	if (!jwt_key_ok(k->key, k->len) ||
	    jwt_hmac(k->key, k->len, data, len, want) == -1)
		return (0);
	return (CRYPTO_memcmp(sig, want, JWT_SIG_LEN) == 0);
}

static int
jwt_hmac(const unsigned char *key, size_t keylen, const char *data,
    size_t len, unsigned char md[JWT_SIG_LEN])
{
	unsigned int	mdlen;

	mdlen = 0;
	if (keylen > INT_MAX)
		return (-1);
	if (HMAC(EVP_sha256(), key, (int)keylen, (const unsigned char *)data,
	    len, md, &mdlen) == NULL || mdlen != JWT_SIG_LEN)
		return (-1);

	return (0);
}

/* Returns the base64url of the compact JSON of j, owned by the caller. */
static char *
jwt_encode_json(json_t *j)
{
	char		*s, *enc;
	size_t		 len, enclen;

	if ((s = json_dumps(j, JSON_COMPACT)) == NULL)
		return (NULL);

	len = strlen(s);
	enclen = B64URL_ENCLEN(len) + 1;
	if ((enc = malloc(enclen)) != NULL &&
	    b64url_encode(s, len, enc, enclen) == -1) {
		free(enc);
		enc = NULL;
	}

	free(s);
	return (enc);
}

/*
 * Decodes a base64url part and parses it as a JSON object.  Returns a new
 * reference the caller must json_decref(), or NULL.
 */
static json_t *
jwt_decode_json(const char *part, size_t len)
{
	unsigned char	 buf[JWT_PART_MAX];
	size_t		 n;
	json_t		*j;

	if (b64url_decode(part, len, buf, sizeof(buf), &n) == -1)
		return (NULL);
	if ((j = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return (NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return (NULL);
	}

	return (j);
}

/* The header's alg must be ours; its key id (or "") goes to kid. */
static enum jwt_result
jwt_check_header(const char *part, size_t len, char kid[JWT_KID_MAX + 1])
{
	json_t		*h, *alg, *k;
	enum jwt_result	 r;

	kid[0] = '\0';
	if ((h = jwt_decode_json(part, len)) == NULL)
		return (JWT_MALFORMED);

	alg = json_object_get(h, "alg");
	k = json_object_get(h, "kid");
	if (!json_is_string(alg) || strcmp(json_string_value(alg), JWT_ALG))
		r = JWT_BAD_ALG;
	else if (json_object_get(h, "crit") != NULL)
		r = JWT_MALFORMED;	/* RFC 7515 4.1.11: we have none */
	else if (k != NULL && (!json_is_string(k) ||
	    !jwt_kid_valid(json_string_value(k))))
		r = JWT_MALFORMED;
	else
		r = JWT_OK;
	if (r == JWT_OK && k != NULL)
		memcpy(kid, json_string_value(k),
		    strlen(json_string_value(k)) + 1);

	json_decref(h);
	return (r);
}

static enum jwt_result
jwt_read_claims(const char *part, size_t len, struct jwt_claims *c)
{
	json_t		*pl, *role, *iat, *exp, *ev;
	enum jwt_result	 r;

	memset(c, 0, sizeof(*c));
	if ((pl = jwt_decode_json(part, len)) == NULL)
		return (JWT_MALFORMED);

	r = JWT_MALFORMED;
	if (!jwt_copy_uuid(pl, "sub", c->sub) ||
	    !jwt_copy_uuid(pl, "sid", c->sid) ||
	    !jwt_copy_uuid(pl, "jti", c->jti))
		goto cleanup;

	role = json_object_get(pl, "role");
	if (!json_is_string(role) || !jwt_role_valid(json_string_value(role)))
		goto cleanup;
	memcpy(c->role, json_string_value(role),
	    strlen(json_string_value(role)) + 1);

	iat = json_object_get(pl, "iat");
	exp = json_object_get(pl, "exp");
	if (!json_is_integer(iat) || !json_is_integer(exp))
		goto cleanup;
	c->iat = json_integer_value(iat);
	c->exp = json_integer_value(exp);
	if (c->iat < 0 || c->exp < 0)
		goto cleanup;
	ev = json_object_get(pl, "ev");
	if (ev != NULL && !json_is_boolean(ev))
		goto cleanup;
	c->ev = json_is_true(ev);

	r = JWT_OK;

cleanup:
	if (r != JWT_OK)
		memset(c, 0, sizeof(*c));
	json_decref(pl);
	return (r);
}

static int
jwt_copy_uuid(json_t *obj, const char *name, char *dst)
{
	json_t		*v;

	v = json_object_get(obj, name);
	if (!json_is_string(v) || !uuid_valid(json_string_value(v)))
		return (0);

	memcpy(dst, json_string_value(v), UUID_STRLEN + 1);
	return (1);
}

/*
 * The header (with the kid, when there is one) and the payload, each
 * base64url-encoded JSON into *h64 and *p64 (malloc'd): 0, or -1.
 */
static int
jwt_encode_parts(const struct jwt_claims *c, char **h64, char **p64)
{
	json_t		*hdr, *pl;
	int		 ret = -1;

	if (c->kid[0] != '\0')
		hdr = json_pack("{s:s, s:s, s:s}", "alg", JWT_ALG, "typ",
		    "JWT", "kid", c->kid);
	else
		hdr = json_pack("{s:s, s:s}", "alg", JWT_ALG, "typ", "JWT");
	pl = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}",
	    "sub", c->sub, "sid", c->sid, "jti", c->jti,
	    "iat", (json_int_t)c->iat, "exp", (json_int_t)c->exp,
	    "role", c->role);
	if (hdr == NULL || pl == NULL)
		goto cleanup;
	if (c->ev && json_object_set_new(pl, "ev", json_true()) != 0)
		goto cleanup;
	if ((*h64 = jwt_encode_json(hdr)) != NULL &&
	    (*p64 = jwt_encode_json(pl)) != NULL)
		ret = 0;
cleanup:
	json_decref(hdr);
	json_decref(pl);
	return (ret);
}
