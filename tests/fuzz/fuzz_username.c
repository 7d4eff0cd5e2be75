/*
 * Usernames: what username_check accepts has the documented shape, every
 * refusal names an issue and says why, and case never changes the
 * verdict (the database compares without regard to case).
 */
#include <ctype.h>

#include "username.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char	*issue, *msg, *issue2, *msg2;
	char		*s, *t;
	size_t		 n, i;

	s = fuzz_str(data, len);
	t = fuzz_str(data, len);
	for (i = 0; i < len; i++) {
		if (isupper((unsigned char)t[i]))
			t[i] = (char)tolower((unsigned char)t[i]);
		else if (islower((unsigned char)t[i]))
			t[i] = (char)toupper((unsigned char)t[i]);
	}
	issue = username_check(s, &msg);
	issue2 = username_check(t, &msg2);
	FUZZ_CHECK((issue == NULL) == (issue2 == NULL));
	if (issue == NULL) {
		FUZZ_CHECK(msg == NULL);
		n = strlen(s);
		FUZZ_CHECK(n >= USERNAME_MIN && n <= USERNAME_MAX);
		FUZZ_CHECK(isalpha((unsigned char)s[0]));
		FUZZ_CHECK(isalnum((unsigned char)s[n - 1]));
		for (i = 0; i < n; i++)
			FUZZ_CHECK((unsigned char)s[i] < 0x80 &&
			    (isalnum((unsigned char)s[i]) ||
			    strchr("_.-", s[i]) != NULL));
	} else {
		FUZZ_CHECK(msg != NULL && *msg != '\0');
		FUZZ_CHECK(!strcmp(issue, "too_short") ||
		    !strcmp(issue, "too_long") || !strcmp(issue, "invalid") ||
		    !strcmp(issue, "reserved"));
		FUZZ_CHECK(!strcmp(issue, issue2));
	}
	free(s);
	free(t);
	return (0);
}
