/*
 * UUID strings.  Ids travel as text in paths, JSON and JWT claims; a
 * shape check before they reach SQL turns garbage into a clean 400/404
 * instead of a PostgreSQL cast error.
 */

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "hex.h"
#include "uuid.h"

/*
 * Returns 1 when s is a UUID in canonical text form: 36 characters,
 * hex digits (either case) in groups 8-4-4-4-12 separated by '-'.  Any
 * version and variant is accepted (ids are made by PostgreSQL too).
 */
int
uuid_valid(const char *s)
{
	size_t		i;

	if (s == NULL)
		return (0);

	for (i = 0; i < UUID_STRLEN; i++) {
		if (s[i] == '\0')
			return (0);
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return (0);
		} else if (hex_val((unsigned char)s[i]) < 0)
			return (0);
	}

	return (s[UUID_STRLEN] == '\0');
}

int
uuid_parse(const char *s, uint8_t out[16])
{
	/* Where each group of digits starts, and its length in bytes. */
	static const size_t	at[] = { 0, 9, 14, 19, 24 };
	static const size_t	len[] = { 4, 2, 2, 2, 6 };
	size_t			i, o;

	if (!uuid_valid(s))
		return (-1);
	for (i = 0, o = 0; i < sizeof(at) / sizeof(at[0]); o += len[i], i++)
		(void)hex_decode(s + at[i], out + o, len[i], 0);
	return (0);
}

/*
 * Writes a fresh random (version 4, RFC 9562) UUID in lower case into
 * out, NUL-terminated.  Returns 0, or -1 when the CSPRNG fails (out is
 * then an empty string).  The caller owns out.
 */
int
uuid_generate(char out[UUID_STRLEN + 1])
{
	unsigned char	b[16];

	out[0] = '\0';
	if (RAND_bytes(b, sizeof(b)) != 1)
		return (-1);

	b[6] = (b[6] & 0x0f) | 0x40;	/* version 4 */
	b[8] = (b[8] & 0x3f) | 0x80;	/* variant 10 */

	uuid_format(b, out);
	return (0);
}

void
uuid_format(const uint8_t b[16], char out[UUID_STRLEN + 1])
{
	static const char	hexd[] = "0123456789abcdef";
	size_t			i, o;

	for (i = 0, o = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hexd[b[i] >> 4];
		out[o++] = hexd[b[i] & 0x0f];
	}
	out[o] = '\0';
}
