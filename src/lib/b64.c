/*
 * base64url without padding.  Decoding is strict: only the 64 URL-safe
 * characters, no padding, no whitespace, and the unused low bits of the
 * last character must be zero, so every byte string has exactly one
 * accepted encoding (a token cannot be altered without changing what it
 * decodes to).
 */

#include <stddef.h>
#include <stdint.h>

#include "b64.h"

static int	b64_value(unsigned char);

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/*
 * Encodes inlen bytes from in into out, which has room for outsz bytes,
 * and NUL-terminates it.  outsz must be at least B64URL_ENCLEN(inlen) + 1.
 * Returns 0, or -1 when out is too small or inlen exceeds B64_MAX_INPUT
 * (out is then an empty string if outsz > 0).  The caller owns out.
 */
int
b64url_encode(const void *in, size_t inlen, char *out, size_t outsz)
{
	const unsigned char	*p = in;
	size_t			 i, o;
	uint32_t		 v;

	if (outsz > 0)
		out[0] = '\0';
	if (inlen > B64_MAX_INPUT || outsz < B64URL_ENCLEN(inlen) + 1)
		return (-1);
	if (inlen > 0 && in == NULL)
		return (-1);

	o = 0;
	for (i = 0; i + 3 <= inlen; i += 3) {
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		out[o++] = b64url_alphabet[v & 0x3f];
	}

	switch (inlen - i) {
	case 1:
		v = (uint32_t)p[i] << 16;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		break;
	case 2:
		v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = b64url_alphabet[(v >> 18) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[o++] = b64url_alphabet[(v >> 6) & 0x3f];
		break;
	}

	out[o] = '\0';
	return (0);
}

/*
 * Decodes the inlen characters at in into out (room for outsz bytes) and
 * stores the decoded length in *outlen.  B64URL_DECLEN(inlen) bytes are
 * always enough.  Returns 0, or -1 on any character outside the alphabet,
 * padding, a length of 1 mod 4, non-zero trailing bits, an input longer
 * than B64_MAX_INPUT or an out too small.  out is not NUL-terminated and
 * its contents are unspecified on failure.  The caller owns out.
 */
int
b64url_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outsz, size_t *outlen)
{
	size_t		i, o, rem;
	uint32_t	v;
	int		c, k;

	*outlen = 0;
	if (inlen > B64_MAX_INPUT || inlen % 4 == 1)
		return (-1);
	if (outsz < B64URL_DECLEN(inlen))
		return (-1);
	if (inlen > 0 && (in == NULL || out == NULL))
		return (-1);

	o = 0;
	for (i = 0; i + 4 <= inlen; i += 4) {
		v = 0;
		for (k = 0; k < 4; k++) {
			if ((c = b64_value((unsigned char)in[i + k])) == -1)
				return (-1);
			v = v << 6 | (uint32_t)c;
		}
		out[o++] = (v >> 16) & 0xff;
		out[o++] = (v >> 8) & 0xff;
		out[o++] = v & 0xff;
	}

	rem = inlen - i;
	if (rem > 0) {
		v = 0;
		for (k = 0; (size_t)k < rem; k++) {
			if ((c = b64_value((unsigned char)in[i + k])) == -1)
				return (-1);
			v = v << 6 | (uint32_t)c;
		}
		if (rem == 2) {
			/* 12 bits: one byte and 4 bits that must be zero. */
			if (v & 0x0f)
				return (-1);
			out[o++] = (v >> 4) & 0xff;
		} else {
			/* 18 bits: two bytes and 2 bits that must be zero. */
			if (v & 0x03)
				return (-1);
			out[o++] = (v >> 10) & 0xff;
			out[o++] = (v >> 2) & 0xff;
		}
	}

	*outlen = o;
	return (0);
}

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}
