/*
 * Hand-written JSON pieces: every control character, quote and
 * backslash escaped as PostgreSQL's json functions escape them, UTF-8
 * and DEL untouched, the exact escaped length, and timestamps formatted
 * as rfc3339() in sql/001_foundation.sql formats them (reference values
 * taken from PostgreSQL 15: microseconds truncated to milliseconds).
 */

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "jsonw.h"

static void
check_escape(const char *in, size_t len, const char *want)
{
	char	out[JSONW_ESC_MAX(64)];
	size_t	n;

	cr_assert_leq(len, 64);
	n = jsonw_escape(out, in, len);
	cr_assert_eq(n, strlen(want), "length %zu for %s", n, want);
	cr_assert_eq(memcmp(out, want, n), 0, "got %.*s, want %s", (int)n,
	    out, want);
	cr_assert_eq(jsonw_escape_len(in, len), n);
}

Test(jsonw, plain_text_is_only_quoted)
{
	check_escape("Todo 12 of Bench User", 21, "\"Todo 12 of Bench User\"");
	check_escape("", 0, "\"\"");
	cr_assert_eq(jsonw_escape_len("abc", 3), 5);
}

Test(jsonw, quote_and_backslash_are_escaped)
{
	check_escape("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	check_escape("/", 1, "\"/\"");
}

Test(jsonw, short_escapes_for_common_controls)
{
	check_escape("\b\f\n\r\t", 5, "\"\\b\\f\\n\\r\\t\"");
}

Test(jsonw, every_other_control_char_as_u00xx)
{
	char	in[1], want[16];
	int	c;

	for (c = 0; c < 0x20; c++) {
		in[0] = (char)c;
		switch (c) {
		case '\b':
			(void)snprintf(want, sizeof(want), "\"\\b\"");
			break;
		case '\f':
			(void)snprintf(want, sizeof(want), "\"\\f\"");
			break;
		case '\n':
			(void)snprintf(want, sizeof(want), "\"\\n\"");
			break;
		case '\r':
			(void)snprintf(want, sizeof(want), "\"\\r\"");
			break;
		case '\t':
			(void)snprintf(want, sizeof(want), "\"\\t\"");
			break;
		default:
			(void)snprintf(want, sizeof(want), "\"\\u%04x\"", c);
			break;
		}
		check_escape(in, 1, want);
	}
	check_escape("\x1f", 1, "\"\\u001f\"");
	check_escape("x\0y", 3, "\"x\\u0000y\"");
}

Test(jsonw, del_and_utf8_pass_through)
{
	/* DEL, é, €, 😀 (4 bytes), a Cyrillic word. */
	check_escape("\x7f", 1, "\"\x7f\"");
	check_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    14, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
	check_escape("\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xbe", 8,
	    "\"\xd0\xb4\xd0\xb5\xd0\xbb\xd0\xbe\"");
}

Test(jsonw, worst_case_fits_the_bound)
{
	char	in[32], out[JSONW_ESC_MAX(32)];

	memset(in, 1, sizeof(in));
	cr_assert_eq(jsonw_escape(out, in, sizeof(in)), JSONW_ESC_MAX(32));
	cr_assert_eq(jsonw_escape_len(in, sizeof(in)), JSONW_ESC_MAX(32));
}

static void
check_ts(long long us, const char *want)
{
	char	out[JSONW_TS_MAX];
	size_t	n;

	n = jsonw_rfc3339(out, (int64_t)us);
	cr_assert_str_eq(out, want, "%lld", us);
	cr_assert_eq(n, strlen(want));
}

Test(jsonw, timestamp_milliseconds_are_truncated)
{
	check_ts(1795457646123999LL, "2026-11-23T18:14:06.123Z");
	check_ts(1735689599999000LL, "2024-12-31T23:59:59.999Z");
	check_ts(951825600001000LL, "2000-02-29T12:00:00.001Z");
	check_ts(0, "1970-01-01T00:00:00.000Z");
}

Test(jsonw, timestamp_before_1970_floors)
{
	check_ts(-1, "1969-12-31T23:59:59.999Z");
	check_ts(-999500, "1969-12-31T23:59:59.000Z");
	check_ts(-2203891200000000LL, "1900-03-01T00:00:00.000Z");
}

Test(jsonw, timestamp_years_as_to_char_prints_them)
{
	check_ts(253402300799999999LL, "9999-12-31T23:59:59.999Z");
	check_ts(253402300800000000LL, "10000-01-01T00:00:00.000Z");
	check_ts(-62135596800000000LL, "0001-01-01T00:00:00.000Z");
	/* 1 BC and 44 BC: YYYY prints the BC year number. */
	check_ts(-62135596800500000LL, "0001-12-31T23:59:59.500Z");
	check_ts(-63517780800000000LL, "0044-03-15T12:00:00.000Z");
}

Test(jsonw, timestamp_every_day_of_a_leap_year_round_trips)
{
	char		out[JSONW_TS_MAX], want[JSONW_TS_MAX];
	struct tm	tm;
	time_t		t;
	int		i;

	/* 2024-01-01 .. 2025-01-01 against gmtime_r. */
	for (i = 0; i <= 366; i++) {
		t = (time_t)1704067200 + (time_t)i * 86400 + 3723;
		(void)gmtime_r(&t, &tm);
		(void)strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%S.042Z",
		    &tm);
		(void)jsonw_rfc3339(out, (int64_t)t * 1000000 + 42999);
		cr_assert_str_eq(out, want);
	}
}

/* As the access log's duration_ms was written: "%.6g", ".0" if integral. */
static void
ms_reference(char *out, size_t len, uint64_t us)
{
	size_t	n;

	n = (size_t)snprintf(out, len, "%.6g", (double)us / 1000.0);
	if (strchr(out, '.') == NULL && strchr(out, 'e') == NULL)
		(void)snprintf(out + n, len - n, ".0");
}

Test(jsonw, ms_is_what_printf_g_writes_under_a_second)
{
	char		got[32], want[32];
	uint64_t	us;

	for (us = 0; us < 1000000; us++) {
		cr_assert_neq(jsonw_ms(got, sizeof(got), us), 0);
		ms_reference(want, sizeof(want), us);
		cr_assert_str_eq(got, want, "%llu us", (unsigned long long)us);
	}
	cr_assert_eq(jsonw_ms(got, sizeof(got), 1000000), 0);
	cr_assert_eq(jsonw_ms(got, sizeof(got), UINT64_MAX), 0);
	cr_assert_eq(jsonw_ms(got, 8, 123456), 0);
	cr_assert_eq(jsonw_ms(got, 9, 123456), strlen("123.456"));
}
