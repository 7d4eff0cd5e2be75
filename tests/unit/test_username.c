/*
 * username.c: the one definition of a valid username.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "username.h"

static const char *
issue(const char *s)
{
	const char	*msg;
	const char	*r;

	r = username_check(s, &msg);
	if (r == NULL)
		cr_assert_null(msg);
	else
		cr_assert_not_null(msg, "%s: no message", s);
	return (r);
}

Test(username, ordinary_handles_are_accepted)
{
	static const char *const ok[] = { "ann", "Jean-Luc", "m.curie",
	    "counsel_42", "A1b", "abcdefghijklmnopqrstuvwxyz0123", NULL };
	int	i;

	for (i = 0; ok[i] != NULL; i++)
		cr_expect_null(issue(ok[i]), "%s", ok[i]);
}

Test(username, length_is_bounded)
{
	cr_expect_str_eq(issue(""), "too_short");
	cr_expect_str_eq(issue("ab"), "too_short");
	cr_expect_str_eq(issue("abcdefghijklmnopqrstuvwxyz01234"), "too_long");
	cr_expect_str_eq(issue(NULL), "invalid");
}

Test(username, shape_is_enforced)
{
	static const char *const bad[] = { "1abc", "_abc", "abc_", "abc.",
	    "a..b", "a-_b", "an@example.test", "with space", "caf\xc3\xa9",
	    "tab\tx", "new\nline", "semi;colon", "a/b", NULL };
	int	i;

	for (i = 0; bad[i] != NULL; i++)
		cr_expect_str_eq(issue(bad[i]), "invalid", "%s", bad[i]);
}

Test(username, reserved_names_are_refused_in_any_case)
{
	cr_expect_str_eq(issue("admin"), "reserved");
	cr_expect_str_eq(issue("ADMIN"), "reserved");
	cr_expect_str_eq(issue("Elenchus"), "reserved");
	cr_expect_null(issue("admin2"));
}
