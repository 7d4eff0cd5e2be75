/*
 * phone.c: E.164 numbers and their masked form for logs.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "phone.h"

Test(phone, e164_accepts_plus_and_8_to_15_digits)
{
	cr_assert(phone_e164_valid("+33612345678"));
	cr_assert(phone_e164_valid("+14155552671"));
	cr_assert(phone_e164_valid("+12345678"));
	cr_assert(phone_e164_valid("+123456789012345"));
}

Test(phone, e164_refuses_everything_else)
{
	static const char	*bad[] = {
		"+1234567",		/* 7 digits */
		"+1234567890123456",	/* 16 digits */
		"33612345678",		/* no plus */
		"+03612345678",		/* leading zero */
		"+33 612345678",
		"+33-612-345-678",
		"+3361234567a",
		"++33612345678",
		"+33612345678 ",
		"+",
		"",
		"+\xd9\xa3\xd9\xa3\xd9\xa3\xd9\xa3\xd9\xa3\xd9\xa3\xd9\xa3"
		    "\xd9\xa3",	/* Arabic-Indic digits */
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(phone_e164_valid(bad[i]), "'%s'", bad[i]);
	cr_assert_not(phone_e164_valid(NULL));
}

Test(phone, mask_keeps_two_digits_at_each_end)
{
	char	out[PHONE_SIZE];

	cr_assert_eq(phone_mask("+33612345678", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "+33*******78");
	cr_assert_eq(phone_mask("+12345678", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "+12****78");
	cr_assert_eq(phone_mask("+123456789012345", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "+12***********45");
}

Test(phone, mask_of_an_invalid_number_shows_none_of_it)
{
	char	out[PHONE_SIZE];

	cr_assert_eq(phone_mask("0612345678", out, sizeof(out)), 0);
	cr_assert_str_eq(out, "<invalid>");
	cr_assert_eq(phone_mask("+33612345678901234567890", out, sizeof(out)),
	    0);
	cr_assert_str_eq(out, "<invalid>");
	cr_assert_eq(phone_mask(NULL, out, sizeof(out)), 0);
	cr_assert_str_eq(out, "<invalid>");
}

Test(phone, mask_refuses_a_short_buffer)
{
	char	out[PHONE_SIZE];

	cr_assert_eq(phone_mask("+33612345678", out, PHONE_SIZE - 1), -1);
	cr_assert_str_empty(out);
}
