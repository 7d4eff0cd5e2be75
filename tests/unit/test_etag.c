/*
 * etag.c: entity tags from bytes, and If-None-Match.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "etag.h"

Test(etag, same_bytes_same_tag_other_bytes_other_tag)
{
	char	a[ETAG_LEN + 1], b[ETAG_LEN + 1], c[ETAG_LEN + 1];

	etag_make("{\"a\":1}", 7, a);
	etag_make("{\"a\":1}", 7, b);
	etag_make("{\"a\":2}", 7, c);
	cr_expect_str_eq(a, b);
	cr_expect_str_neq(a, c);
	cr_expect_eq(strlen(a), ETAG_LEN);
	cr_expect_eq(a[0], '"');
	cr_expect_eq(a[ETAG_LEN - 1], '"');
	/* SHA-256("") starts e3b0c44298fc1c149afbf4c8996fb924. */
	etag_make("", 0, a);
	cr_expect_str_eq(a, "\"e3b0c44298fc1c149afbf4c8996fb924\"");
}

Test(etag, if_none_match_lists_weak_tags_and_star)
{
	const char	*t = "\"e3b0c44298fc1c149afbf4c8996fb924\"";

	cr_expect(etag_match("\"e3b0c44298fc1c149afbf4c8996fb924\"", t));
	cr_expect(etag_match("W/\"e3b0c44298fc1c149afbf4c8996fb924\"", t));
	cr_expect(etag_match("\"x\", \"e3b0c44298fc1c149afbf4c8996fb924\"",
	    t));
	cr_expect(etag_match("\"x\",W/\"e3b0c44298fc1c149afbf4c8996fb924\" ,"
	    " \"y\"", t));
	cr_expect(etag_match("*", t));
	cr_expect(etag_match(" * ", t));
}

Test(etag, if_none_match_refuses_other_and_malformed)
{
	const char	*t = "\"e3b0c44298fc1c149afbf4c8996fb924\"";
	static const char *bad[] = {
		"",
		",,",
		"\"e3b0c44298fc1c149afbf4c8996fb925\"",
		"e3b0c44298fc1c149afbf4c8996fb924",
		"\"e3b0c44298fc1c149afbf4c8996fb924",
		"\"E3B0C44298FC1C149AFBF4C8996FB924\"",
		"w/\"e3b0c44298fc1c149afbf4c8996fb924\"",
		"\"x\" junk, \"e3b0c44298fc1c149afbf4c8996fb924\"",
		"\"a b\", \"e3b0c44298fc1c149afbf4c8996fb924\"",
		"*, junk",
		"**",
	};
	size_t		 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(etag_match(bad[i], t), "'%s'", bad[i]);
	cr_expect_not(etag_match(NULL, t));
	cr_expect_not(etag_match("*", NULL));
}
