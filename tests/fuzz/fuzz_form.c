/*
 * URL-encoded forms (the login form): form_next ends, never reads past
 * the text, and every pair it answers is UTF-8 without NUL, no longer
 * than what it was decoded from.
 */
#include "form.h"
#include "utf8.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	*s, *p, *name, *val;
	size_t	 total;
	int	 r, n;

	s = fuzz_str(data, len);
	total = strlen(s);
	p = s;
	n = 0;
	while ((r = form_next(&p, &name, &val)) == 1) {
		FUZZ_CHECK(utf8_valid(name, strlen(name)));
		FUZZ_CHECK(utf8_valid(val, strlen(val)));
		FUZZ_CHECK(strlen(name) + strlen(val) <= total);
		FUZZ_CHECK(p >= s && p <= s + total);
		FUZZ_CHECK(++n <= (int)total);
	}
	FUZZ_CHECK(r == 0 || r == -1);
	free(s);
	return (0);
}
