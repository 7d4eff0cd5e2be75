/*
 * Refresh tokens and phone codes.  Both are stored only as hashes.  A
 * refresh token carries 256 random bits, so a plain SHA-256 is enough: a
 * leaked table cannot be inverted.  A 6-digit code carries under 20 bits,
 * so its hash is an HMAC under a server secret (and bound to the phone):
 * without the secret a leaked table gives nothing to brute-force offline.
 */

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "authtok.h"
#include "b64.h"

/* Separates code hashes from any other use of the same secret. */
#define AUTHTOK_CODE_DOMAIN	"elenchus-phone-code-v1"
/* 10^6, and the largest multiple of it that fits in 32 bits. */
#define AUTHTOK_CODE_RANGE	1000000u
#define AUTHTOK_CODE_LIMIT	(UINT32_MAX - (UINT32_MAX % AUTHTOK_CODE_RANGE))
/* Draws before giving up; each is rejected with probability < 1e-3. */
#define AUTHTOK_CODE_TRIES	16

static void	authtok_hex(const unsigned char *, size_t, char *);

/*
 * Writes a new refresh token (AUTHTOK_LEN characters of base64url, 256
 * random bits) into out, which has room for len >= AUTHTOK_SIZE bytes.
 * Returns 0, or -1 when out is too small or the CSPRNG fails (out is then
 * an empty string if len > 0).  The caller owns out.
 */
int
authtok_new(char *out, size_t len)
{
	unsigned char	rnd[AUTHTOK_BYTES];
	int		ret;

	if (len > 0)
		out[0] = '\0';
	if (len < AUTHTOK_SIZE)
		return (-1);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return (-1);

	ret = b64url_encode(rnd, sizeof(rnd), out, len);
	OPENSSL_cleanse(rnd, sizeof(rnd));

	return (ret);
}

/*
 * Returns 1 when tok has the shape of one of our refresh tokens: exactly
 * AUTHTOK_LEN base64url characters that decode to AUTHTOK_BYTES bytes.
 * Lets a handler refuse garbage before touching the database.
 */
int
authtok_valid(const char *tok)
{
	unsigned char	buf[B64URL_DECLEN(AUTHTOK_LEN)];
	size_t		n;

	if (tok == NULL || strnlen(tok, AUTHTOK_SIZE) != AUTHTOK_LEN)
		return (0);
	if (b64url_decode(tok, AUTHTOK_LEN, buf, sizeof(buf), &n) == -1)
		return (0);

	return (n == AUTHTOK_BYTES);
}

/*
 * Writes the lower-case hex SHA-256 of the string tok into out (64 hex
 * digits and a NUL).  Returns 0, or -1 on a NULL tok or a library failure
 * (out is then an empty string).  The caller owns out.
 */
int
authtok_hash(const char *tok, char out[AUTHTOK_HASH_SIZE])
{
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;

	out[0] = '\0';
	if (tok == NULL)
		return (-1);
	if (EVP_Digest(tok, strlen(tok), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != (AUTHTOK_HASH_SIZE - 1) / 2)
		return (-1);

	authtok_hex(md, mdlen, out);
	return (0);
}

/*
 * Writes a uniformly random 6-digit code ("000000" to "999999") into out.
 * Draws above the largest multiple of 10^6 are thrown away, so no code is
 * likelier than another.  Returns 0, or -1 when the CSPRNG fails (out is
 * then an empty string).  The caller owns out.
 */
int
authtok_code6(char out[AUTHTOK_CODE_SIZE])
{
	unsigned char	b[4];
	uint32_t	v;
	int		i, k;

	out[0] = '\0';
	for (i = 0; i < AUTHTOK_CODE_TRIES; i++) {
		if (RAND_bytes(b, sizeof(b)) != 1)
			return (-1);
		v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
		    (uint32_t)b[2] << 8 | b[3];
		if (v >= AUTHTOK_CODE_LIMIT)
			continue;

		v %= AUTHTOK_CODE_RANGE;
		for (k = AUTHTOK_CODE_DIGITS - 1; k >= 0; k--) {
			out[k] = (char)('0' + v % 10);
			v /= 10;
		}
		out[AUTHTOK_CODE_DIGITS] = '\0';
		return (0);
	}

	return (-1);
}

/* Returns 1 when code is exactly AUTHTOK_CODE_DIGITS decimal digits. */
int
authtok_code_valid(const char *code)
{
	int		i;

	if (code == NULL)
		return (0);
	for (i = 0; i < AUTHTOK_CODE_DIGITS; i++) {
		if (code[i] < '0' || code[i] > '9')
			return (0);
	}

	return (code[AUTHTOK_CODE_DIGITS] == '\0');
}

/*
 * Writes the lower-case hex HMAC-SHA256, under key (keylen bytes), of the
 * code bound to its subject (a phone number, which starts with '+', or
 * for email codes the user id, which never does), into out (64 hex
 * digits and a NUL).  The message is domain NUL subject NUL code:
 * unambiguous, since neither part holds a NUL.  Returns 0, or -1 when
 * code is not 6 digits, the subject is empty or
 * longer than AUTHTOK_SUBJECT_MAX, the key is empty, or a library call
 * fails (out is then an empty string).  The caller owns out.
 */
int
authtok_code_hash(const char *code, const char *phone,
    const unsigned char *key, size_t keylen, char out[AUTHTOK_HASH_SIZE])
{
	unsigned char	msg[sizeof(AUTHTOK_CODE_DOMAIN) + AUTHTOK_SUBJECT_MAX +
			    1 + AUTHTOK_CODE_DIGITS];
	unsigned char	md[EVP_MAX_MD_SIZE];
	unsigned int	mdlen;
	size_t		plen, n;

	out[0] = '\0';
	if (!authtok_code_valid(code) || phone == NULL || key == NULL ||
	    keylen == 0 || keylen > INT_MAX)
		return (-1);
	plen = strnlen(phone, AUTHTOK_SUBJECT_MAX + 1);
	if (plen == 0 || plen > AUTHTOK_SUBJECT_MAX)
		return (-1);

	/* sizeof includes the domain's NUL, which is the first separator. */
	n = 0;
	memcpy(msg, AUTHTOK_CODE_DOMAIN, sizeof(AUTHTOK_CODE_DOMAIN));
	n += sizeof(AUTHTOK_CODE_DOMAIN);
	memcpy(msg + n, phone, plen);
	n += plen;
	msg[n++] = '\0';
	memcpy(msg + n, code, AUTHTOK_CODE_DIGITS);
	n += AUTHTOK_CODE_DIGITS;

	if (HMAC(EVP_sha256(), key, (int)keylen, msg, n, md, &mdlen) == NULL ||
	    mdlen != (AUTHTOK_HASH_SIZE - 1) / 2) {
		OPENSSL_cleanse(msg, sizeof(msg));
		return (-1);
	}
	OPENSSL_cleanse(msg, sizeof(msg));

	authtok_hex(md, mdlen, out);
	return (0);
}

/* Writes len bytes as lower-case hex and a NUL into out (2 * len + 1). */
static void
authtok_hex(const unsigned char *p, size_t len, char *out)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < len; i++) {
		out[i * 2] = digits[p[i] >> 4];
		out[i * 2 + 1] = digits[p[i] & 0x0f];
	}
	out[len * 2] = '\0';
}
