/*
 * Bounded JSON input and field validation (src/lib/jsonx.c).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "jsonx.h"

static int
parse(const char *s, json_t **out)
{
	return (jsonx_parse_object(s, strlen(s), out));
}

Test(jsonx, accepts_object_with_unicode_escapes)
{
	json_t	*j;

	cr_assert_eq(parse("{\"t\":\"caf\\u00e9 \\ud83d\\ude00\"}", &j),
	    JSONX_OK);
	cr_expect_str_eq(json_string_value(json_object_get(j, "t")),
	    "caf\xc3\xa9 \xf0\x9f\x98\x80");
	json_decref(j);
}

Test(jsonx, rejects_malformed_empty_and_non_objects)
{
	json_t	*j;

	cr_expect_eq(parse("{\"a\":", &j), JSONX_INVALID);
	cr_expect_null(j);
	cr_expect_eq(parse("", &j), JSONX_EMPTY);
	cr_expect_eq(parse("  \n", &j), JSONX_EMPTY);
	cr_expect_eq(parse("[1,2]", &j), JSONX_NOT_OBJECT);
	cr_expect_eq(parse("\"x\"", &j), JSONX_NOT_OBJECT);
	cr_expect_eq(parse("{\"a\":1,\"a\":2}", &j), JSONX_INVALID);
	cr_expect_eq(parse("{\"a\":\"\\u0000\"}", &j), JSONX_INVALID);
}

Test(jsonx, rejects_invalid_utf8)
{
	json_t	*j;

	cr_expect_eq(parse("{\"a\":\"\xc3\x28\"}", &j), JSONX_BAD_UTF8);
	cr_expect_eq(parse("{\"a\":\"\xed\xa0\x80\"}", &j), JSONX_BAD_UTF8);
}

Test(jsonx, depth_limit_is_32)
{
	char	buf[256];
	json_t	*j;
	int	i, n;

	n = 0;
	buf[n++] = '{';
	buf[n++] = '"'; buf[n++] = 'a'; buf[n++] = '"'; buf[n++] = ':';
	for (i = 0; i < 31; i++)
		buf[n++] = '[';
	for (i = 0; i < 31; i++)
		buf[n++] = ']';
	buf[n++] = '}';
	buf[n] = '\0';
	cr_expect_eq(parse(buf, &j), JSONX_OK);	/* depth 32 */
	json_decref(j);

	memmove(buf + 6, buf + 5, strlen(buf + 5) + 1);
	buf[5] = '[';
	memmove(buf + n - 1, buf + n - 2, 3);
	buf[n - 1] = ']';
	cr_expect_eq(parse(buf, &j), JSONX_TOO_DEEP, "%s", buf);
	/* Brackets inside strings don't count. */
	cr_expect_eq(parse("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}",
	    &j), JSONX_OK);
	json_decref(j);
}

Test(jsonx, every_bad_field_is_reported)
{
	static const char *const prio[] = { "high", "medium", "low", NULL };
	struct verr	v;
	json_t		*j, *f;
	const char	*t, *p;
	int		b, present;

	cr_assert_eq(parse("{\"title\":\"   \",\"priority\":\"urgent\","
	    "\"done\":\"yes\",\"extra\":1}", &j), JSONX_OK);
	verr_init(&v);
	cr_expect_not(jsonx_get_str(j, "title", JF_REQUIRED | JF_NOTBLANK, 1,
	    200, &v, &t));
	cr_expect_not(jsonx_get_enum(j, "priority", 0, prio, &v, &p));
	cr_expect_not(jsonx_get_bool(j, "done", 0, &v, &b, &present));
	cr_expect_not(jsonx_get_str(j, "name", JF_REQUIRED, 1, 10, &v, &t));
	cr_expect(jsonx_get_str(j, "absent", 0, 1, 10, &v, &t));
	cr_expect_null(t);
	cr_assert_eq(verr_count(&v), 4);
	f = verr_take(&v);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f,
	    0), "issue")), "blank");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f,
	    1), "issue")), "invalid_choice");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f,
	    2), "issue")), "wrong_type");
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(f,
	    3), "issue")), "missing");
	json_decref(f);
	json_decref(j);
}

Test(jsonx, lengths_count_code_points_and_null_handling)
{
	struct verr	v;
	json_t		*j;
	const char	*t;

	/* 200 'é' (400 bytes) fits a 200-character limit. */
	char	buf[1024];
	int	i, n;

	n = snprintf(buf, sizeof(buf), "{\"t\":\"");
	for (i = 0; i < 200; i++) {
		buf[n++] = '\xc3';
		buf[n++] = '\xa9';
	}
	(void)snprintf(buf + n, sizeof(buf) - n, "\",\"d\":null}");
	cr_assert_eq(parse(buf, &j), JSONX_OK);
	verr_init(&v);
	cr_expect(jsonx_get_str(j, "t", JF_REQUIRED, 1, 200, &v, &t));
	cr_expect_not(jsonx_get_str(j, "t", JF_REQUIRED, 1, 199, &v, &t));
	cr_expect(jsonx_get_str(j, "d", JF_NULLABLE, 0, 10, &v, &t));
	cr_expect_null(t);
	cr_expect_not(jsonx_get_str(j, "d", 0, 0, 10, &v, &t));
	cr_expect_eq(verr_count(&v), 2);
	verr_clear(&v);
	json_decref(j);
}
