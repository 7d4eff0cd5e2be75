/*
 * The hex decoder and UUID parsing (session ids from NOTIFY payloads,
 * tokens and paths; request ids; bytea text): what is accepted encodes
 * back to the same digits, and UUID parsing agrees with uuid_valid.
 */
#include <ctype.h>

#include "hex.h"
#include "uuid.h"
#include "fuzz.h"

static void
fuzz_hex_back(const uint8_t *b, size_t n, const char *s, int lower)
{
	static const char	digits[] = "0123456789abcdef";
	size_t			i;

	for (i = 0; i < n; i++) {
		FUZZ_CHECK(digits[b[i] >> 4] ==
		    tolower((unsigned char)s[i * 2]));
		FUZZ_CHECK(digits[b[i] & 0x0f] ==
		    tolower((unsigned char)s[i * 2 + 1]));
		if (lower)
			FUZZ_CHECK(!isupper((unsigned char)s[i * 2]) &&
			    !isupper((unsigned char)s[i * 2 + 1]));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	uint8_t		*b, u[16];
	char		*s;
	size_t		 n, i;

	s = fuzz_str(data, len);
	n = strlen(s) / 2;
	if ((b = malloc(n ? n : 1)) == NULL)
		abort();
	if (hex_decode(s, b, n, 0) == 0)
		fuzz_hex_back(b, n, s, 0);
	if (hex_decode(s, b, n, HEX_LOWER) == 0)
		fuzz_hex_back(b, n, s, 1);
	for (i = 0; i < len; i++)
		FUZZ_CHECK((hex_val(data[i]) >= 0) == (isxdigit(data[i]) != 0));

	FUZZ_CHECK((uuid_parse(s, u) == 0) == uuid_valid(s));
	if (uuid_valid(s)) {
		fuzz_hex_back(u, 4, s, 0);
		fuzz_hex_back(u + 4, 2, s + 9, 0);
		fuzz_hex_back(u + 6, 2, s + 14, 0);
		fuzz_hex_back(u + 8, 2, s + 19, 0);
		fuzz_hex_back(u + 10, 6, s + 24, 0);
	}
	free(b);
	free(s);
	return (0);
}
