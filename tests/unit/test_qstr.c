/*
 * qstr.c: query strings split and percent-decoded as Kore decodes
 * arguments, and the text checks of query and form validators.
 */

#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "qstr.h"

/* "name=value|..." of every pair of qs, decoded ("!" when it fails). */
static void
pairs(const char *qs, char *out, size_t len)
{
	char	 buf[512], *cur, *name, *val;
	size_t	 o;

	(void)snprintf(buf, sizeof(buf), "%s", qs);
	cur = buf;
	o = 0;
	out[0] = '\0';
	while ((name = qstr_next(&cur, &val)) != NULL) {
		if (!qstr_decode(name) || !qstr_decode(val))
			o += (size_t)snprintf(out + o, len - o, "!|");
		else
			o += (size_t)snprintf(out + o, len - o, "%s=%s|", name,
			    val);
	}
}

Test(qstr, splits_on_ampersands_and_the_first_equals_sign)
{
	char	out[512];

	pairs("a=1&b=x=y&&c&=skipped&d=", out, sizeof(out));
	cr_expect_str_eq(out, "a=1|b=x=y|c=|d=|");
	pairs("", out, sizeof(out));
	cr_expect_str_eq(out, "");
	pairs("&&&", out, sizeof(out));
	cr_expect_str_eq(out, "");
}

Test(qstr, decodes_percent_escapes_and_plus)
{
	char	out[512];

	pairs("q=clause+7%2E3&n%61me=%C3%A9t%C3%A9", out, sizeof(out));
	cr_expect_str_eq(out, "q=clause 7.3|name=\xc3\xa9t\xc3\xa9|");
	/* Not an escape: the '%' stays, as Kore leaves it. */
	pairs("q=100%zz&r=%2", out, sizeof(out));
	cr_expect_str_eq(out, "q=100%zz|!|", "an escape cut by the end fails");
	pairs("q=%", out, sizeof(out));
	cr_expect_str_eq(out, "!|");
	pairs("q=%2541", out, sizeof(out));
	cr_expect_str_eq(out, "q=%41|", "decoded once");
}

Test(qstr, refuses_control_characters)
{
	char	out[512];

	pairs("a=%00&b=%1f&c=%7F&d=%20", out, sizeof(out));
	cr_expect_str_eq(out, "!|!|!|d= |");
}

Test(qstr, text_checks_bytes_then_utf8_then_code_points)
{
	char		 msg[128], big[1100];
	const char	*issue;

	cr_expect_null(qstr_text("q", "caf\xc3\xa9", 4, 5, msg, sizeof(msg)));
	issue = qstr_text("q", "caf\xc3\xa9", 3, 0, msg, sizeof(msg));
	cr_expect_str_eq(issue, "too_long");
	cr_expect_str_eq(msg, "q is at most 3 characters");
	issue = qstr_text("q", "caf\xe9", 0, 0, msg, sizeof(msg));
	cr_expect_str_eq(issue, "invalid");
	cr_expect_str_eq(msg, "q is not valid UTF-8");
	memset(big, 'a', 1001);
	big[1001] = '\0';
	cr_expect_str_eq(qstr_text("q", big, 0, 1000, msg, sizeof(msg)),
	    "too_long");
	cr_expect_null(qstr_text("q", big + 1, 0, 1000, msg, sizeof(msg)));
}

Test(qstr, fields_are_measured_trimmed)
{
	char	msg[128], s[128];

	cr_expect_null(qstr_field("f", "  \t lease \r\n", 5, msg, sizeof(msg)));
	cr_expect_null(qstr_field("f", "   ", 0, msg, sizeof(msg)));
	cr_expect_str_eq(qstr_field("f", " leases ", 5, msg, sizeof(msg)),
	    "too_long");
	cr_expect_str_eq(msg, "f is at most 5 characters");
	cr_expect_str_eq(qstr_field("f", "\xff", 5, msg, sizeof(msg)),
	    "invalid");
	memset(s, 'x', 100);
	s[100] = '\0';
	cr_expect_null(qstr_field("f", s, 100, msg, sizeof(msg)));
}
