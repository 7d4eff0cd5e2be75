/*
 * Query strings: every pair qstr_next yields is a non-empty name within
 * the input, the pairs never overlap, and a decoded value is no longer
 * than before and holds no control character an escape made (a raw one
 * stays, as Kore leaves it).  The text checks either pass or name an
 * issue with a message.
 */
#include "qstr.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char	*issue;
	char		*s, *cur, *name, *val, *last, msg[128];
	size_t		 n, i, raw, ctl;

	s = fuzz_str(data, len);
	cur = s;
	last = s;
	while ((name = qstr_next(&cur, &val)) != NULL) {
		FUZZ_CHECK(name >= last && name < s + len);
		FUZZ_CHECK(*name != '\0');
		FUZZ_CHECK(val >= name && val <= s + len);
		last = val + strlen(val);
		n = strlen(val);
		for (i = raw = 0; i < n; i++)
			raw += (unsigned char)val[i] <= 0x1f ||
			    (unsigned char)val[i] == 0x7f;
		if (qstr_decode(val)) {
			FUZZ_CHECK(strlen(val) <= n);
			for (i = ctl = 0; val[i] != '\0'; i++)
				ctl += (unsigned char)val[i] <= 0x1f ||
				    (unsigned char)val[i] == 0x7f;
			FUZZ_CHECK(ctl <= raw);
			issue = qstr_text("f", val, 10, 100, msg, sizeof(msg));
			FUZZ_CHECK(issue == NULL || *msg != '\0');
			issue = qstr_field("f", val, 10, msg, sizeof(msg));
			FUZZ_CHECK(issue == NULL || *msg != '\0');
		}
		(void)qstr_decode(name);
	}
	free(s);
	return (0);
}
