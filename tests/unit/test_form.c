/*
 * form.c: URL-encoded pairs, decoded in place, and the bodies refused.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "form.h"

Test(form, pairs_come_decoded_in_order)
{
	char	buf[] = "username=ada%40example.test&password=S3cr%21t+x"
	    "&&grant_type=password&flag";
	char	*p, *name, *val;

	p = buf;
	cr_assert_eq(form_next(&p, &name, &val), 1);
	cr_assert_str_eq(name, "username");
	cr_assert_str_eq(val, "ada@example.test");
	cr_assert_eq(form_next(&p, &name, &val), 1);
	cr_assert_str_eq(name, "password");
	cr_assert_str_eq(val, "S3cr!t x");
	cr_assert_eq(form_next(&p, &name, &val), 1);
	cr_assert_str_eq(name, "grant_type");
	cr_assert_str_eq(val, "password");
	cr_assert_eq(form_next(&p, &name, &val), 1);
	cr_assert_str_eq(name, "flag");
	cr_assert_str_eq(val, "");
	cr_assert_eq(form_next(&p, &name, &val), 0);
	cr_assert_eq(form_next(&p, &name, &val), 0);
}

Test(form, empty_bodies_have_no_pair)
{
	char	a[] = "", b[] = "&&&";
	char	*p, *name, *val;

	p = a;
	cr_assert_eq(form_next(&p, &name, &val), 0);
	p = b;
	cr_assert_eq(form_next(&p, &name, &val), 0);
}

Test(form, bad_escapes_nul_and_bad_utf8_are_refused)
{
	static const char *const bad[] = { "a=%zz", "a=%4", "a=%", "%00=x",
	    "a=%00", "a=%ff", "a=%c3%28", "x%e2%82=1", NULL };
	char	buf[32], *p, *name, *val;
	int	i;

	for (i = 0; bad[i] != NULL; i++) {
		(void)snprintf(buf, sizeof(buf), "%s", bad[i]);
		p = buf;
		cr_expect_eq(form_next(&p, &name, &val), -1, "%s", bad[i]);
	}
}

Test(form, utf8_escapes_decode_to_their_bytes)
{
	char	s[] = "%C3%A9t%c3%a9+%E2%82%AC";

	cr_assert(form_decode(s));
	cr_assert_str_eq(s, "\xc3\xa9t\xc3\xa9 \xe2\x82\xac");
}
