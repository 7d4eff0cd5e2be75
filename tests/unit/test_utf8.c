/*
 * utf8.c: strict UTF-8 validation and code point counting.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "utf8.h"

#define V(s)	utf8_valid((s), sizeof(s) - 1)
#define N(s)	utf8_codepoints((s), sizeof(s) - 1)

Test(utf8, accepts_well_formed_text_of_every_length)
{
	cr_assert(V(""));
	cr_assert(V("plain ascii"));
	cr_assert(V("caf\xc3\xa9"));			/* U+00E9 */
	cr_assert(V("\xe2\x82\xac"));			/* U+20AC */
	cr_assert(V("\xf0\x9f\x98\x80"));		/* U+1F600 */
	cr_assert(V("\xc2\x80"));			/* U+0080 */
	cr_assert(V("\xdf\xbf\xe0\xa0\x80"));		/* U+07FF U+0800 */
	cr_assert(V("\xed\x9f\xbf\xee\x80\x80"));	/* U+D7FF U+E000 */
	cr_assert(V("\xef\xbf\xbf\xf0\x90\x80\x80"));	/* U+FFFF U+10000 */
	cr_assert(V("\xf4\x8f\xbf\xbf"));		/* U+10FFFF */
	cr_assert(utf8_valid("a\0b", 3));		/* U+0000 is UTF-8 */
	cr_assert(utf8_valid(NULL, 0));
}

Test(utf8, refuses_overlongs_surrogates_and_out_of_range)
{
	cr_assert_not(V("\xc0\x80"));			/* overlong NUL */
	cr_assert_not(V("\xc1\xbf"));
	cr_assert_not(V("\xe0\x9f\xbf"));		/* overlong U+07FF */
	cr_assert_not(V("\xf0\x8f\xbf\xbf"));		/* overlong U+FFFF */
	cr_assert_not(V("\xed\xa0\x80"));		/* U+D800 */
	cr_assert_not(V("\xed\xbf\xbf"));		/* U+DFFF */
	cr_assert_not(V("\xf4\x90\x80\x80"));		/* U+110000 */
	cr_assert_not(V("\xf5\x80\x80\x80"));
	cr_assert_not(V("\xff"));
	cr_assert_not(V("\xfe"));
}

Test(utf8, refuses_stray_and_missing_continuation_bytes)
{
	cr_assert_not(V("\x80"));
	cr_assert_not(V("a\xbf"));
	cr_assert_not(V("\xc3"));
	cr_assert_not(V("\xc3" "a"));
	cr_assert_not(V("\xe2\x82"));
	cr_assert_not(V("\xe2\x82" "a"));
	cr_assert_not(V("\xf0\x9f\x98"));
	cr_assert_not(V("\xf0\x9f\x98\xc3\xa9"));
	/* The length bounds the read: a valid char cut by len is refused. */
	cr_assert_not(utf8_valid("\xc3\xa9", 1));
	cr_assert_not(utf8_valid(NULL, 1));
}

Test(utf8, counts_code_points)
{
	cr_assert_eq(N(""), 0);
	cr_assert_eq(N("abc"), 3);
	cr_assert_eq(N("caf\xc3\xa9"), 4);
	cr_assert_eq(N("\xe2\x82\xac\xf0\x9f\x98\x80x"), 3);
	cr_assert_eq(N("\xff"), -1);
	cr_assert_eq(N("ab\xed\xa0\x80"), -1);
}

Test(utf8, decode_returns_length_and_code_point)
{
	unsigned int	cp;

	cp = 0;
	cr_assert_eq(utf8_decode("\xf0\x9f\x98\x80", 4, &cp), 4);
	cr_assert_eq(cp, 0x1f600);
	cr_assert_eq(utf8_decode("\xc3\xa9z", 3, &cp), 2);
	cr_assert_eq(cp, 0xe9);
	cr_assert_eq(utf8_decode("z", 1, &cp), 1);
	cr_assert_eq(cp, 'z');
	cr_assert_eq(utf8_decode("\xc3\xa9", 1, &cp), 0);
	cr_assert_eq(cp, 'z');
	cr_assert_eq(utf8_decode("", 0, &cp), 0);
}

Test(utf8, head_counts_code_points_not_bytes)
{
	cr_assert_eq(utf8_head("abc", 2), 2);
	cr_assert_eq(utf8_head("\xc3\xa9t\xc3\xa9", 2), 3);
	cr_assert_eq(utf8_head("\xf0\x9f\x98\x80z", 1), 4);
	cr_assert_eq(utf8_head("ab", 5), 2, "a shorter string whole");
	cr_assert_eq(utf8_head("ab", 0), 0);
}
