/*
 * uuid.c: UUID shape check and version 4 generation.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "uuid.h"

Test(uuid, valid_accepts_canonical_text_in_either_case)
{
	cr_assert(uuid_valid("123e4567-e89b-12d3-a456-426614174000"));
	cr_assert(uuid_valid("123E4567-E89B-12D3-A456-426614174000"));
	cr_assert(uuid_valid("00000000-0000-0000-0000-000000000000"));
}

Test(uuid, valid_refuses_other_shapes)
{
	static const char	*bad[] = {
		"",
		"123e4567e89b12d3a456426614174000",
		"{123e4567-e89b-12d3-a456-426614174000}",
		"123e4567-e89b-12d3-a456-42661417400",
		"123e4567-e89b-12d3-a456-4266141740000",
		"123e4567-e89b-12d3-a456_426614174000",
		"123e4567-e89b-12d3-a456-42661417400g",
		"123e4567-e89b-12d3-a4564-26614174000",
		" 123e4567-e89b-12d3-a456-42661417400",
		"123e4567-e89b-12d3-a456-426614174000\n",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(uuid_valid(bad[i]), "'%s'", bad[i]);
	cr_assert_not(uuid_valid(NULL));
}

Test(uuid, generate_makes_distinct_lower_case_version_4)
{
	char	a[UUID_STRLEN + 1], b[UUID_STRLEN + 1];
	int	i;

	for (i = 0; i < 100; i++) {
		cr_assert_eq(uuid_generate(a), 0);
		cr_assert(uuid_valid(a), "%s", a);
		cr_assert_eq(a[14], '4');
		cr_assert(strchr("89ab", a[19]) != NULL, "%s", a);
		cr_assert_eq(strspn(a, "0123456789abcdef-"), UUID_STRLEN);
	}
	cr_assert_eq(uuid_generate(b), 0);
	cr_assert_str_neq(a, b);
}

Test(uuid, parse_gives_the_sixteen_bytes_in_order)
{
	uint8_t		b[16];
	static const uint8_t	want[16] = { 0x12, 0x3e, 0x45, 0x67, 0xe8,
	    0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66, 0x14, 0x17, 0x40, 0x0f };

	cr_assert_eq(uuid_parse("123e4567-e89b-12d3-a456-42661417400f", b), 0);
	cr_assert_arr_eq(b, want, 16);
	cr_assert_eq(uuid_parse("123E4567-E89B-12D3-A456-42661417400F", b), 0);
	cr_assert_arr_eq(b, want, 16);
}

Test(uuid, parse_refuses_what_valid_refuses)
{
	uint8_t		b[16];

	cr_assert_eq(uuid_parse(NULL, b), -1);
	cr_assert_eq(uuid_parse("", b), -1);
	cr_assert_eq(uuid_parse("123e4567e89b12d3a456426614174000", b), -1);
	cr_assert_eq(uuid_parse("123e4567-e89b-12d3-a456-42661417400g", b), -1);
	cr_assert_eq(uuid_parse("123e4567-e89b-12d3-a456-4266141740000", b),
	    -1);
}

Test(uuid, format_is_the_inverse_of_parse)
{
	const char	*in = "0123abcd-4567-89ef-8a0b-fedcba987654";
	uint8_t		b[16];
	char		out[UUID_STRLEN + 1];
	int		i;

	cr_assert_eq(uuid_parse(in, b), 0);
	memset(out, 'x', sizeof(out));
	uuid_format(b, out);
	cr_expect_str_eq(out, in);
	for (i = 0; i < 16; i++)
		b[i] = 0xff;
	uuid_format(b, out);
	cr_expect_str_eq(out, "ffffffff-ffff-ffff-ffff-ffffffffffff");
}
