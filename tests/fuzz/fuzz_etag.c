/*
 * If-None-Match: whatever the header, etag_match answers 0 or 1 without
 * reading past it, "*" alone matches, and a list naming the tag (strong
 * or weak) matches.
 */
#include "etag.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char	 tag[ETAG_LEN + 1], *inm, *both;
	size_t	 n;
	int	 m;

	inm = fuzz_str(data, len);
	etag_make(data, len, tag);
	FUZZ_CHECK(strlen(tag) == ETAG_LEN);
	m = etag_match(inm, tag);
	FUZZ_CHECK(m == 0 || m == 1);
	/* The tag itself, appended to a well-formed list, is found. */
	n = strlen(tag) + 8;
	if ((both = malloc(n)) == NULL)
		abort();
	(void)snprintf(both, n, "W/%s", tag);
	FUZZ_CHECK(etag_match(both, tag) == 1);
	FUZZ_CHECK(etag_match(tag, tag) == 1);
	free(both);
	free(inm);
	return (0);
}
