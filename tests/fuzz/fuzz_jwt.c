/*
 * JWT verification.  The first byte picks the mode: the rest is either a
 * whole token as a client would send it, or a header and a payload (split
 * at the first NUL) that get encoded and correctly signed, so that the
 * claim parser behind the signature check is reached too.
 */
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"
#include "fuzz.h"

#define KEY	"fuzz-secret-0123456789abcdef0123456789"
#define NOW	1700000000

static char *
enc(const uint8_t *p, size_t n)
{
	char	*s;

	if ((s = malloc(B64URL_ENCLEN(n) + 1)) == NULL)
		abort();
	if (b64url_encode(p, n, s, B64URL_ENCLEN(n) + 1) == -1)
		abort();
	return (s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims	 c;
	unsigned char		 mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen;
	const uint8_t		*nul;
	char			*tok, *h, *p, *sig, *again;
	size_t			 hl, tl;
	enum jwt_result		 r;

	if (len == 0)
		return (0);
	if (data[0] & 1) {
		tok = fuzz_str(data + 1, len - 1);
	} else {
		data++;
		len--;
		nul = memchr(data, '\0', len);
		hl = nul != NULL ? (size_t)(nul - data) : 0;
		h = enc(data, hl);
		p = enc(data + hl + (nul != NULL), len - hl - (nul != NULL));
		tl = strlen(h) + 1 + strlen(p);
		if ((tok = malloc(tl + 1 + B64URL_ENCLEN(32) + 1)) == NULL)
			abort();
		snprintf(tok, tl + 1, "%s.%s", h, p);
		if (HMAC(EVP_sha256(), KEY, sizeof(KEY) - 1,
		    (unsigned char *)tok, tl, mac, &maclen) == NULL)
			abort();
		sig = enc(mac, maclen);
		tok[tl] = '.';
		memcpy(tok + tl + 1, sig, strlen(sig) + 1);
		free(h);
		free(p);
		free(sig);
	}
	memset(&c, 0, sizeof(c));
	r = jwt_verify(tok, (const unsigned char *)KEY, sizeof(KEY) - 1, NOW,
	    &c);
	FUZZ_CHECK(jwt_result_str(r) != NULL);
	if (r == JWT_OK) {
		/* What verifies carries claims we can sign again. */
		FUZZ_CHECK(c.exp > NOW);
		FUZZ_CHECK(jwt_role_valid(c.role));
		FUZZ_CHECK(jwt_sign(&c, (const unsigned char *)KEY,
		    sizeof(KEY) - 1, &again) == 0);
		free(again);
		/* A key set without the token's key id refuses it unseen. */
		if (c.kid[0] != '\0') {
			struct jwt_key		k = { "!", (const unsigned char *)
			    KEY, sizeof(KEY) - 1 };
			struct jwt_claims	c2;

			FUZZ_CHECK(jwt_verify_keys(tok, &k, 1, NOW, &c2) ==
			    JWT_UNKNOWN_KID);
		}
		/* The same bytes under another key do not. */
		FUZZ_CHECK(jwt_verify(tok, (const unsigned char *)"x", 1,
		    NOW, &c) != JWT_OK);
	}
	free(tok);
	return (0);
}
