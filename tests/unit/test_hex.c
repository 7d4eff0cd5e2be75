/*
 * hex.c: the one hexadecimal decoder (trace ids, UUIDs, percent-escapes).
 */
#include <string.h>

#include <criterion/criterion.h>

#include "hex.h"

Test(hex, val_maps_digits_of_either_case)
{
	cr_assert_eq(hex_val('0'), 0);
	cr_assert_eq(hex_val('9'), 9);
	cr_assert_eq(hex_val('a'), 10);
	cr_assert_eq(hex_val('f'), 15);
	cr_assert_eq(hex_val('A'), 10);
	cr_assert_eq(hex_val('F'), 15);
}

Test(hex, val_refuses_everything_else)
{
	static const int	bad[] = { 'g', 'G', '/', ':', '@', '`', ' ',
	    '-', '\0', 0x80, 0xff, -1 };
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(hex_val(bad[i]), -1, "0x%x", bad[i]);
}

Test(hex, decode_reads_two_digits_a_byte)
{
	uint8_t		out[4];

	cr_assert_eq(hex_decode("00ff7A10", out, 4, 0), 0);
	cr_assert_eq(out[0], 0x00);
	cr_assert_eq(out[1], 0xff);
	cr_assert_eq(out[2], 0x7a);
	cr_assert_eq(out[3], 0x10);
}

Test(hex, decode_reads_only_n_bytes)
{
	uint8_t		out[3] = { 0xee, 0xee, 0xee };

	/* What follows the 2n digits is not looked at. */
	cr_assert_eq(hex_decode("abcdZZ", out, 2, 0), 0);
	cr_assert_eq(out[0], 0xab);
	cr_assert_eq(out[1], 0xcd);
	cr_assert_eq(out[2], 0xee);
	cr_assert_eq(hex_decode("", out, 0, 0), 0);
}

Test(hex, decode_refuses_a_non_digit_anywhere)
{
	uint8_t		out[2];

	cr_assert_eq(hex_decode("0g00", out, 2, 0), -1);
	cr_assert_eq(hex_decode("000x", out, 2, 0), -1);
	/* A string shorter than 2n ends at its NUL, which is no digit. */
	cr_assert_eq(hex_decode("00", out, 2, 0), -1);
}

Test(hex, decode_lower_refuses_upper_case)
{
	uint8_t		out[2];

	cr_assert_eq(hex_decode("abcd", out, 2, HEX_LOWER), 0);
	cr_assert_eq(hex_decode("aBcd", out, 2, HEX_LOWER), -1);
	cr_assert_eq(hex_decode("abcD", out, 2, HEX_LOWER), -1);
	cr_assert_eq(hex_decode("aBcd", out, 2, 0), 0);
}
