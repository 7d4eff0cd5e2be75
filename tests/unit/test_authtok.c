/*
 * authtok.c: refresh tokens and phone codes, and their stored hashes.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "authtok.h"
#include "b64.h"

#define DRAWS		20000

static const unsigned char	secret[] = "server-secret-server-secret-1234";
#define SECRETLEN	(sizeof(secret) - 1)

Test(authtok, new_token_is_43_base64url_characters_of_32_bytes)
{
	char		tok[AUTHTOK_SIZE];
	unsigned char	raw[64];
	size_t		n;

	cr_assert_eq(authtok_new(tok, sizeof(tok)), 0);
	cr_assert_eq(strlen(tok), AUTHTOK_LEN);
	cr_assert_eq(b64url_decode(tok, strlen(tok), raw, sizeof(raw), &n), 0);
	cr_assert_eq(n, 32);
	cr_assert(authtok_valid(tok));
}

Test(authtok, new_tokens_differ)
{
	char	a[AUTHTOK_SIZE], b[AUTHTOK_SIZE];

	cr_assert_eq(authtok_new(a, sizeof(a)), 0);
	cr_assert_eq(authtok_new(b, sizeof(b)), 0);
	cr_assert_str_neq(a, b);
}

Test(authtok, new_refuses_a_short_buffer)
{
	char	tok[AUTHTOK_SIZE];

	cr_assert_eq(authtok_new(tok, AUTHTOK_LEN), -1);
	cr_assert_str_empty(tok);
}

Test(authtok, valid_rejects_anything_not_shaped_like_our_tokens)
{
	char	tok[AUTHTOK_SIZE + 1];

	cr_assert_eq(authtok_new(tok, sizeof(tok)), 0);
	cr_assert(authtok_valid(tok));
	tok[5] = '+';
	cr_assert_not(authtok_valid(tok));
	cr_assert_eq(authtok_new(tok, sizeof(tok)), 0);
	tok[AUTHTOK_LEN - 1] = '\0';
	cr_assert_not(authtok_valid(tok));
	cr_assert_eq(authtok_new(tok, sizeof(tok)), 0);
	tok[AUTHTOK_LEN] = 'A';
	tok[AUTHTOK_LEN + 1] = '\0';
	cr_assert_not(authtok_valid(tok));
	/* Last character with non-zero trailing bits: not canonical. */
	cr_assert_not(authtok_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"));
	cr_assert(authtok_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"));
	cr_assert_not(authtok_valid(""));
	cr_assert_not(authtok_valid(NULL));
}

Test(authtok, hash_is_hex_sha256)
{
	char	h[AUTHTOK_HASH_SIZE];

	cr_assert_eq(authtok_hash("abc", h), 0);
	cr_assert_str_eq(h, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	cr_assert_eq(authtok_hash("", h), 0);
	cr_assert_str_eq(h, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	cr_assert_eq(authtok_hash(NULL, h), -1);
	cr_assert_str_empty(h);
}

Test(authtok, code6_is_six_digits)
{
	char	c[AUTHTOK_CODE_SIZE];
	int	i;

	for (i = 0; i < 1000; i++) {
		cr_assert_eq(authtok_code6(c), 0);
		cr_assert_eq(strlen(c), 6);
		cr_assert(authtok_code_valid(c), "%s", c);
	}
}

Test(authtok, code6_digits_are_roughly_uniform)
{
	char	c[AUTHTOK_CODE_SIZE];
	int	count[6][10], i, pos, d;

	/*
	 * 20000 codes: each digit value is expected 2000 times per position
	 * (sd ~42); the bounds are ~7 sd, so a correct generator fails with
	 * negligible probability while a stuck or skewed one does not pass.
	 */
	memset(count, 0, sizeof(count));
	for (i = 0; i < DRAWS; i++) {
		cr_assert_eq(authtok_code6(c), 0);
		for (pos = 0; pos < 6; pos++)
			count[pos][c[pos] - '0']++;
	}
	for (pos = 0; pos < 6; pos++) {
		for (d = 0; d < 10; d++) {
			cr_assert_gt(count[pos][d], 1700, "pos %d digit %d: %d",
			    pos, d, count[pos][d]);
			cr_assert_lt(count[pos][d], 2300, "pos %d digit %d: %d",
			    pos, d, count[pos][d]);
		}
	}
}

Test(authtok, code_valid_wants_exactly_six_digits)
{
	cr_assert(authtok_code_valid("000000"));
	cr_assert(authtok_code_valid("123456"));
	cr_assert_not(authtok_code_valid("12345"));
	cr_assert_not(authtok_code_valid("1234567"));
	cr_assert_not(authtok_code_valid("12345a"));
	cr_assert_not(authtok_code_valid(" 12345"));
	cr_assert_not(authtok_code_valid(""));
	cr_assert_not(authtok_code_valid(NULL));
}

Test(authtok, code_hash_depends_on_code_phone_and_key)
{
	char	a[AUTHTOK_HASH_SIZE], b[AUTHTOK_HASH_SIZE];

	cr_assert_eq(authtok_code_hash("123456", "+33612345678", secret,
	    SECRETLEN, a), 0);
	cr_assert_eq(strlen(a), 64);
	cr_assert_eq(strspn(a, "0123456789abcdef"), 64);

	cr_assert_eq(authtok_code_hash("123456", "+33612345678", secret,
	    SECRETLEN, b), 0);
	cr_assert_str_eq(a, b);

	cr_assert_eq(authtok_code_hash("123457", "+33612345678", secret,
	    SECRETLEN, b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(authtok_code_hash("123456", "+33612345679", secret,
	    SECRETLEN, b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(authtok_code_hash("123456", "+33612345678", secret,
	    SECRETLEN - 1, b), 0);
	cr_assert_str_neq(a, b);
}

Test(authtok, code_hash_is_not_a_plain_hash_of_the_code)
{
	char	a[AUTHTOK_HASH_SIZE], b[AUTHTOK_HASH_SIZE];

	cr_assert_eq(authtok_code_hash("123456", "+33612345678", secret,
	    SECRETLEN, a), 0);
	cr_assert_eq(authtok_hash("123456", b), 0);
	cr_assert_str_neq(a, b);
	cr_assert_eq(authtok_hash("+33612345678123456", b), 0);
	cr_assert_str_neq(a, b);
}

Test(authtok, code_hash_refuses_bad_input)
{
	char	h[AUTHTOK_HASH_SIZE];
	char	longphone[AUTHTOK_SUBJECT_MAX + 2];

	memset(longphone, '1', sizeof(longphone) - 1);
	longphone[sizeof(longphone) - 1] = '\0';
	cr_assert_eq(authtok_code_hash("12345", "+33612345678", secret,
	    SECRETLEN, h), -1);
	cr_assert_str_empty(h);
	cr_assert_eq(authtok_code_hash("123456", "", secret, SECRETLEN, h), -1);
	cr_assert_eq(authtok_code_hash("123456", NULL, secret, SECRETLEN, h),
	    -1);
	cr_assert_eq(authtok_code_hash("123456", longphone, secret, SECRETLEN,
	    h), -1);
	cr_assert_eq(authtok_code_hash("123456", "+33612345678", secret, 0, h),
	    -1);
	cr_assert_eq(authtok_code_hash("123456", "+33612345678", NULL,
	    SECRETLEN, h), -1);
}

Test(authtok, an_email_code_is_bound_to_the_user_id)
{
	char	a[AUTHTOK_HASH_SIZE], b[AUTHTOK_HASH_SIZE];

	cr_assert_eq(authtok_code_hash("123456",
	    "0b6f4a56-6d1e-4b43-9a4e-0c6a54a1f001", secret, SECRETLEN, a), 0);
	cr_assert_eq(authtok_code_hash("123456",
	    "0b6f4a56-6d1e-4b43-9a4e-0c6a54a1f002", secret, SECRETLEN, b), 0);
	cr_assert_str_neq(a, b);
}
