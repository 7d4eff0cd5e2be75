/* base64url: whatever decodes re-encodes to the same text. */
#include "b64.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned char	*dec;
	char		*enc;
	size_t		 dlen, cap;

	cap = B64URL_DECLEN(len) + 1;
	if ((dec = malloc(cap)) == NULL)
		abort();
	if (b64url_decode((const char *)data, len, dec, cap, &dlen) == 0) {
		FUZZ_CHECK(dlen <= B64URL_DECLEN(len));
		if ((enc = malloc(B64URL_ENCLEN(dlen) + 1)) == NULL)
			abort();
		FUZZ_CHECK(b64url_encode(dec, dlen, enc,
		    B64URL_ENCLEN(dlen) + 1) == 0);
		FUZZ_CHECK(strlen(enc) == len &&
		    memcmp(enc, data, len) == 0);
		free(enc);
	}
	/* A buffer one byte short never overflows. */
	if (len > 0 && cap > 1)
		(void)b64url_decode((const char *)data, len, dec, cap - 2,
		    &dlen);
	free(dec);
	return (0);
}
