/*
 * b64.c: base64url without padding, decoded strictly.
 */

#include <string.h>

#include <criterion/criterion.h>

#include "b64.h"

static void	roundtrip(const char *, const char *);

Test(b64, encodes_rfc4648_vectors_without_padding)
{
	roundtrip("", "");
	roundtrip("f", "Zg");
	roundtrip("fo", "Zm8");
	roundtrip("foo", "Zm9v");
	roundtrip("foob", "Zm9vYg");
	roundtrip("fooba", "Zm9vYmE");
	roundtrip("foobar", "Zm9vYmFy");
}

Test(b64, uses_the_url_safe_alphabet)
{
	static const unsigned char	in[] = { 0xfb, 0xff, 0xbf };
	char				out[8];

	cr_assert_eq(b64url_encode(in, sizeof(in), out, sizeof(out)), 0);
	cr_assert_str_eq(out, "-_-_");
}

Test(b64, round_trips_every_length_up_to_64)
{
	unsigned char	in[64], back[64];
	char		enc[B64URL_ENCLEN(64) + 1];
	size_t		len, i, n;

	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)(i * 37 + 11);
	for (len = 0; len <= sizeof(in); len++) {
		cr_assert_eq(b64url_encode(in, len, enc, sizeof(enc)), 0);
		cr_assert_eq(strlen(enc), B64URL_ENCLEN(len));
		cr_assert_eq(b64url_decode(enc, strlen(enc), back, sizeof(back),
		    &n), 0);
		cr_assert_eq(n, len);
		cr_assert_leq(n, B64URL_DECLEN(strlen(enc)));
		cr_assert_eq(memcmp(in, back, len), 0);
	}
}

Test(b64, decode_refuses_padding_bad_characters_and_bad_lengths)
{
	static const char	*bad[] = {
		"Zg==", "Zm8=", "Zm9v=", "Z", "Zm9vY", "Zm+v", "Zm/v",
		"Zm 9v", "Zm9v\n", "Zm\x80v", "*",
	};
	unsigned char		 out[16];
	size_t			 i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(b64url_decode(bad[i], strlen(bad[i]), out,
		    sizeof(out), &n), -1, "'%s'", bad[i]);
}

Test(b64, decode_refuses_non_canonical_trailing_bits)
{
	unsigned char	out[16];
	size_t		n;

	/* "Zg" is canonical for "f"; "Zh" decodes to "f" too, leniently. */
	cr_assert_eq(b64url_decode("Zg", 2, out, sizeof(out), &n), 0);
	cr_assert_eq(b64url_decode("Zh", 2, out, sizeof(out), &n), -1);
	cr_assert_eq(b64url_decode("Zm8", 3, out, sizeof(out), &n), 0);
	cr_assert_eq(b64url_decode("Zm9", 3, out, sizeof(out), &n), -1);
}

Test(b64, both_directions_refuse_a_buffer_too_small)
{
	unsigned char	out[4];
	char		enc[8];
	size_t		n;

	cr_assert_eq(b64url_encode("foo", 3, enc, 4), -1);
	cr_assert_eq(b64url_encode("foo", 3, enc, 5), 0);
	cr_assert_eq(b64url_decode("Zm9vYmFy", 8, out, sizeof(out), &n), -1);
	cr_assert_eq(n, 0);
	cr_assert_eq(b64url_decode("Zm9vYg", 6, out, sizeof(out), &n), 0);
	cr_assert_eq(n, 4);
}

static void
roundtrip(const char *plain, const char *want)
{
	char		enc[64];
	unsigned char	dec[64];
	size_t		n;

	cr_assert_eq(b64url_encode(plain, strlen(plain), enc, sizeof(enc)), 0);
	cr_assert_str_eq(enc, want);
	cr_assert_eq(b64url_decode(want, strlen(want), dec, sizeof(dec), &n),
	    0);
	cr_assert_eq(n, strlen(plain));
	cr_assert_eq(memcmp(dec, plain, n), 0);
}
