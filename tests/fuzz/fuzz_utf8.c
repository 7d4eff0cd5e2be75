/* UTF-8: the decoder, the validator, the counter and the clipper agree. */
#include "utf8.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char	*s = (const char *)data;
	unsigned int	 cp;
	size_t		 off, n, clip, cps = 0;
	ssize_t		 count;
	int		 valid, bad = 0;

	valid = utf8_valid(s, len);
	count = utf8_codepoints(s, len);
	FUZZ_CHECK((count >= 0) == (valid != 0));
	for (off = 0; off < len; off += n) {
		n = utf8_decode(s + off, len - off, &cp);
		if (n == 0) {
			bad = 1;
			break;
		}
		FUZZ_CHECK(n <= 4 && off + n <= len);
		FUZZ_CHECK(cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF));
		cps++;
	}
	FUZZ_CHECK(bad == !valid);
	if (valid) {
		FUZZ_CHECK((size_t)count == cps);
		/* Clipping at any byte budget keeps whole sequences. */
		for (n = 0; n <= len + 1; n += 1 + n / 3) {
			clip = utf8_clip(s, len, n);
			FUZZ_CHECK(clip <= len && clip <= n);
			FUZZ_CHECK(utf8_valid(s, clip));
			FUZZ_CHECK(clip + 4 > n || clip == len);
		}
	}
	return (0);
}
