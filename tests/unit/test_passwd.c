/*
 * passwd.c: the password policy of docs/API.md section 2, and bcrypt.
 */

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "passwd.h"
#include "passwd_common.h"

#define COST		4
#define EMAIL		"Jane.Doe@Example.com"

static int	issues_of(const char *, const char *);

Test(passwd_policy, accepts_a_reasonable_password)
{
	int	issues;

	cr_assert_eq(passwd_policy("correct horse 42", EMAIL, &issues), 1);
	cr_assert_eq(issues, 0);
	cr_assert_eq(issues_of("Tr0ub4dor&3", NULL), 0);
}

Test(passwd_policy, length_counts_code_points_not_bytes)
{
	/* 7 code points in 14 bytes is too short... */
	cr_assert_eq(issues_of("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "a1", NULL), PASSWD_ISSUE_TOO_SHORT);
	/* ...8 are enough. */
	cr_assert_eq(issues_of("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9" "a1", NULL), 0);
	cr_assert_eq(issues_of("abcde12", NULL), PASSWD_ISSUE_TOO_SHORT);
	cr_assert_eq(issues_of("abcde123", NULL), 0);
}

Test(passwd_policy, more_than_128_code_points_is_too_long)
{
	char	pw[700];
	size_t	i;

	memset(pw, 'a', 127);
	pw[127] = '7';
	pw[128] = '\0';
	cr_assert_eq(issues_of(pw, NULL), 0);
	pw[128] = 'b';
	pw[129] = '\0';
	cr_assert_eq(issues_of(pw, NULL), PASSWD_ISSUE_TOO_LONG);

	/* 128 four-byte code points (512 bytes) are not too long... */
	for (i = 0; i < 129; i++)
		memcpy(pw + i * 4, "\xf0\x9f\x98\x80", 4);
	pw[512] = '\0';
	cr_assert_eq(issues_of(pw, NULL),
	    PASSWD_ISSUE_NEEDS_LETTER | PASSWD_ISSUE_NEEDS_DIGIT);
	memcpy(pw + 504, "a1", 3);
	cr_assert_eq(issues_of(pw, NULL), 0);
	/* ...129 are. */
	memcpy(pw + 504, "\xf0\x9f\x98\x80\xf0\x9f\x98\x80"
	    "\xf0\x9f\x98\x80", 13);
	cr_assert(issues_of(pw, NULL) & PASSWD_ISSUE_TOO_LONG);

	memset(pw, 'a', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	cr_assert(issues_of(pw, NULL) & PASSWD_ISSUE_TOO_LONG);
}

Test(passwd_policy, needs_a_letter_and_a_digit)
{
	cr_assert_eq(issues_of("1029384756", NULL),
	    PASSWD_ISSUE_NEEDS_LETTER);
	cr_assert_eq(issues_of("abcdefghij", NULL), PASSWD_ISSUE_NEEDS_DIGIT);
	cr_assert_eq(issues_of("!@#$%^&*()", NULL),
	    PASSWD_ISSUE_NEEDS_LETTER | PASSWD_ISSUE_NEEDS_DIGIT);
	cr_assert_eq(issues_of("!!", NULL), PASSWD_ISSUE_TOO_SHORT |
	    PASSWD_ISSUE_NEEDS_LETTER | PASSWD_ISSUE_NEEDS_DIGIT);
}

Test(passwd_policy, letters_outside_ascii_count_as_letters)
{
	/* Cyrillic, Greek, CJK. */
	cr_assert_eq(issues_of("\xd0\xbf\xd0\xb0\xd1\x80\xd0\xbe\xd0\xbb"
	    "\xd1\x8c" "12", NULL), 0);
	cr_assert_eq(issues_of("\xce\xb1\xce\xb2\xce\xb3\xce\xb4" "9876",
	    NULL), 0);
	cr_assert_eq(issues_of("\xe5\xaf\x86\xe7\xa0\x81" "135792", NULL), 0);
	/* Symbols are not letters: euro signs and a digit. */
	cr_assert_eq(issues_of("\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac"
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac" "1", NULL),
	    PASSWD_ISSUE_NEEDS_LETTER);
}

Test(passwd_policy, equal_to_email_or_its_local_part_is_refused)
{
	cr_assert_eq(issues_of("jane.doe1@example.com",
	    "jane.doe1@example.com"), PASSWD_ISSUE_SAME_AS_EMAIL);
	cr_assert_eq(issues_of("JANE.DOE1@EXAMPLE.COM",
	    "jane.doe1@Example.com"), PASSWD_ISSUE_SAME_AS_EMAIL);
	cr_assert_eq(issues_of("Jane.Doe42", "jane.doe42@example.com"),
	    PASSWD_ISSUE_SAME_AS_EMAIL);
	cr_assert_eq(issues_of("\"a@b\"c9xx", "\"a@b\"c9xx@example.com"),
	    PASSWD_ISSUE_SAME_AS_EMAIL);
	/* Containing the local part is allowed; only equality is refused. */
	cr_assert_eq(issues_of("jane.doe42!", "jane.doe42@example.com"), 0);
	cr_assert_eq(issues_of("example.com1", "jane@example.com1"), 0);
}

Test(passwd_policy, common_passwords_are_refused_in_any_case)
{
	cr_assert_eq(issues_of("password1", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("PassWord1", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("12345678a", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("QWERTY123", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("iloveyou1", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("abc12345", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("P@ssw0rd", NULL), PASSWD_ISSUE_TOO_COMMON);
	cr_assert_eq(issues_of("password", NULL),
	    PASSWD_ISSUE_TOO_COMMON | PASSWD_ISSUE_NEEDS_DIGIT);
	cr_assert_eq(issues_of("12345678", NULL),
	    PASSWD_ISSUE_TOO_COMMON | PASSWD_ISSUE_NEEDS_LETTER);
	/* Near misses are not on the list. */
	cr_assert_eq(issues_of("password1x", NULL), 0);
	cr_assert_eq(issues_of("xpassword1", NULL), 0);
}

Test(passwd_policy, common_list_is_sorted_lower_case_and_every_entry_found)
{
	size_t	i, j, n;
	char	up[64];

	n = sizeof(passwd_common) / sizeof(passwd_common[0]);
	cr_assert_geq(n, 200);
	for (i = 0; i < n; i++) {
		if (i > 0)
			cr_assert_lt(strcmp(passwd_common[i - 1],
			    passwd_common[i]), 0, "order at %s",
			    passwd_common[i]);
		cr_assert(passwd_is_common(passwd_common[i]), "%s",
		    passwd_common[i]);
		cr_assert_lt(strlen(passwd_common[i]), sizeof(up));
		for (j = 0; passwd_common[i][j] != '\0'; j++) {
			cr_assert(passwd_common[i][j] < 'A' ||
			    passwd_common[i][j] > 'Z', "%s", passwd_common[i]);
			up[j] = passwd_common[i][j];
			if (up[j] >= 'a' && up[j] <= 'z')
				up[j] -= 'a' - 'A';
		}
		up[j] = '\0';
		cr_assert(passwd_is_common(up), "%s", up);
	}
	cr_assert_not(passwd_is_common(""));
	cr_assert_not(passwd_is_common(NULL));
}

Test(passwd_policy, invalid_utf8_is_reported_alone)
{
	static const char	*bad[] = {
		"abcdefg1\xff",
		"abcdefg1\xc0\xaf",		/* overlong '/' */
		"abcdefg1\xed\xa0\x80",		/* surrogate */
		"abcdefg1\xf4\x90\x80\x80",	/* above U+10FFFF */
		"abcdefg1\xe2\x82",		/* truncated */
		"\x80",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(issues_of(bad[i], NULL), PASSWD_ISSUE_INVALID_UTF8,
		    "case %zu", i);
}

Test(passwd_policy, null_password_is_refused)
{
	int	issues;

	cr_assert_eq(passwd_policy(NULL, EMAIL, &issues), 0);
	cr_assert_neq(issues, 0);
}

Test(passwd_policy, every_issue_has_a_code_and_a_message)
{
	static const struct {
		int		 issue;
		const char	*code;
	} want[] = {
		{ PASSWD_ISSUE_TOO_SHORT, "too_short" },
		{ PASSWD_ISSUE_TOO_LONG, "too_long" },
		{ PASSWD_ISSUE_NEEDS_LETTER, "needs_letter" },
		{ PASSWD_ISSUE_NEEDS_DIGIT, "needs_digit" },
		{ PASSWD_ISSUE_SAME_AS_EMAIL, "same_as_email" },
		{ PASSWD_ISSUE_TOO_COMMON, "too_common" },
		{ PASSWD_ISSUE_INVALID_UTF8, "invalid_utf8" },
	};
	size_t	i;
	int	all;

	all = 0;
	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		cr_assert_str_eq(passwd_issue_code(want[i].issue),
		    want[i].code);
		cr_assert_not_null(passwd_issue_message(want[i].issue));
		all |= want[i].issue;
	}
	cr_assert_eq(all, PASSWD_ISSUE_ALL);
	cr_assert_null(passwd_issue_code(0));
	cr_assert_null(passwd_issue_code(PASSWD_ISSUE_TOO_SHORT |
	    PASSWD_ISSUE_TOO_LONG));
}

Test(passwd_hash, hash_then_verify_round_trips)
{
	char	h[PASSWD_HASH_SIZE];

	cr_assert_eq(passwd_hash("correct horse 42", COST, h, sizeof(h)), 0);
	cr_assert_eq(strlen(h), PASSWD_HASH_LEN);
	cr_assert_eq(strncmp(h, "$2b$04$", 7), 0, "%s", h);
	cr_assert_eq(passwd_verify("correct horse 42", h), 1);
	cr_assert_eq(passwd_hash_cost(h), COST);
}

Test(passwd_hash, wrong_password_fails)
{
	char	h[PASSWD_HASH_SIZE];

	cr_assert_eq(passwd_hash("correct horse 42", COST, h, sizeof(h)), 0);
	cr_assert_eq(passwd_verify("correct horse 43", h), 0);
	cr_assert_eq(passwd_verify("Correct horse 42", h), 0);
	cr_assert_eq(passwd_verify("", h), 0);
	cr_assert_eq(passwd_verify(NULL, h), 0);
}

Test(passwd_hash, same_password_gets_a_fresh_salt_each_time)
{
	char	a[PASSWD_HASH_SIZE], b[PASSWD_HASH_SIZE];

	cr_assert_eq(passwd_hash("correct horse 42", COST, a, sizeof(a)), 0);
	cr_assert_eq(passwd_hash("correct horse 42", COST, b, sizeof(b)), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(passwd_verify("correct horse 42", b), 1);
}

Test(passwd_hash, garbage_hashes_fail_without_crashing)
{
	static const char	*bad[] = {
		"", "*", "*0", "$2b$", "$2b$04$", "x", "$1$abc$def",
		"$6$saltsalt$hash", "$2b$99$abcdefghijklmnopqrstuvABCDEFGHIJKL"
		    "MNOPQRSTUVWXYZ0123456789",
		"$2b$04$!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!",
		"$2x$04$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
		"aa",	/* traditional DES would accept a bare salt */
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(passwd_verify("correct horse 42", bad[i]), 0,
		    "%s", bad[i]);
		cr_assert_eq(passwd_verify("", bad[i]), 0);
	}
	cr_assert_eq(passwd_verify("x", NULL), 0);
	cr_assert_eq(passwd_hash_cost("$2b$04$short"), -1);
}

Test(passwd_hash, bcrypt_from_other_implementations_verifies)
{
	/* "U*U" from the OpenBSD / crypt_blowfish test vectors. */
	cr_assert_eq(passwd_verify("U*U",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), 1);
	cr_assert_eq(passwd_verify("U*V",
	    "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"), 0);
}

Test(passwd_hash, long_password_hashes_like_plain_bcrypt)
{
	char			 pw[512], h[PASSWD_HASH_SIZE];
	struct crypt_data	*cd;
	const char		*ref;
	size_t			 i;

	for (i = 0; i < sizeof(pw) - 1; i++)
		pw[i] = (char)('a' + i % 26);
	pw[sizeof(pw) - 1] = '\0';

	cr_assert_eq(passwd_hash(pw, COST, h, sizeof(h)), 0);
	cr_assert_eq(passwd_verify(pw, h), 1);

	/* Exactly what bcrypt itself makes of the whole password. */
	cd = calloc(1, sizeof(*cd));
	cr_assert_not_null(cd);
	ref = crypt_rn(pw, h, cd, sizeof(*cd));
	cr_assert_not_null(ref);
	cr_assert_str_eq(ref, h);
	free(cd);

	/* bcrypt's own limit: bytes past the 72nd do not count. */
	pw[PASSWD_BCRYPT_MAX_BYTES] = '\0';
	cr_assert_eq(passwd_verify(pw, h), 1);
	pw[PASSWD_BCRYPT_MAX_BYTES - 1] = '\0';
	cr_assert_eq(passwd_verify(pw, h), 0);
}

Test(passwd_hash, refuses_bad_arguments)
{
	char	h[PASSWD_HASH_SIZE];

	cr_assert_eq(passwd_hash("pw", 3, h, sizeof(h)), -1);
	cr_assert_str_empty(h);
	cr_assert_eq(passwd_hash("pw", 32, h, sizeof(h)), -1);
	cr_assert_eq(passwd_hash("pw", COST, h, PASSWD_HASH_LEN), -1);
	cr_assert_eq(passwd_hash(NULL, COST, h, sizeof(h)), -1);
}

Test(passwd_hash, dummy_hash_is_stable_valid_and_of_the_asked_cost)
{
	const char	*a, *b, *c;

	a = passwd_dummy_hash(COST);
	cr_assert_not_null(a);
	cr_assert_eq(strncmp(a, "$2b$04$", 7), 0);
	cr_assert_eq(strlen(a), PASSWD_HASH_LEN);
	b = passwd_dummy_hash(COST);
	cr_assert_eq(a, b);
	cr_assert_str_eq(a, b);
	cr_assert_eq(passwd_verify("", a), 0);
	cr_assert_eq(passwd_verify("password1", a), 0);

	c = passwd_dummy_hash(5);
	cr_assert_not_null(c);
	cr_assert_eq(passwd_hash_cost(c), 5);
	cr_assert_eq(passwd_hash_cost(a), COST);
	cr_assert_null(passwd_dummy_hash(3));
	cr_assert_null(passwd_dummy_hash(PASSWD_COST_MAX + 1));
}

static int
issues_of(const char *pw, const char *email)
{
	int	issues, ok;

	issues = -1;
	ok = passwd_policy(pw, email, &issues);
	cr_assert_eq(ok, issues == 0, "return %d with issues %#x", ok, issues);
	return (issues);
}
