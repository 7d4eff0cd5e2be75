/*
 * Strict UTF-8 decoding.  Client strings (passwords, titles, names) are
 * measured in code points and must be well-formed before they reach the
 * database or a JSON encoder, so the rules are those of RFC 3629 table 3.7
 * of the Unicode standard: shortest form only, no UTF-16 surrogates, no
 * code point above U+10FFFF.  U+0000 is valid UTF-8; callers that keep C
 * strings reject embedded NULs themselves.
 */

#include <sys/types.h>

#include <stddef.h>

#include "utf8.h"

/*
 * Returns 1 when the len bytes at s are well-formed UTF-8, 0 otherwise.
 * A NULL s with len 0 is the empty string and valid.
 */
int
utf8_valid(const char *s, size_t len)
{
	return (utf8_codepoints(s, len) >= 0);
}

/*
 * Returns the number of code points in the len bytes at s, or -1 when
 * they are not well-formed UTF-8.
 */
ssize_t
utf8_codepoints(const char *s, size_t len)
{
	size_t		off, n;
	ssize_t		count;
	unsigned int	cp;

	if (s == NULL)
		return (len == 0 ? 0 : -1);

	count = 0;
	for (off = 0; off < len; off += n) {
		if ((n = utf8_decode(s + off, len - off, &cp)) == 0)
			return (-1);
		count++;
	}

	return (count);
}

/*
 * Decodes the code point starting at s (at most len bytes available) into
 * *cp and returns its length in bytes (1 to 4), or 0 when the sequence is
 * ill-formed or truncated (then *cp is left untouched).
 */
size_t
utf8_decode(const char *s, size_t len, unsigned int *cp)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned char		 lo, hi;
	unsigned int		 v;
	size_t			 n, i;

	if (len == 0)
		return (0);

	if (p[0] < 0x80) {
		*cp = p[0];
		return (1);
	}

	/* Per lead byte: length, and the range allowed for the 2nd byte. */
	lo = 0x80;
	hi = 0xbf;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		v = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		v = p[0] & 0x0f;
		if (p[0] == 0xe0)
			lo = 0xa0;		/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;		/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		v = p[0] & 0x07;
		if (p[0] == 0xf0)
			lo = 0x90;		/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;		/* above U+10FFFF */
	} else
		return (0);

	if (len < n)
		return (0);
	if (p[1] < lo || p[1] > hi)
		return (0);

	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		v = (v << 6) | (p[i] & 0x3f);
	}

	*cp = v;
	return (n);
}

/* Largest n <= max (and <= len) that does not split a UTF-8 sequence. */
size_t
utf8_clip(const char *s, size_t len, size_t max)
{
	size_t	n;

	if (len <= max)
		return (len);
	n = max;
	while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return (n);
}

/* Bytes of the first max code points of the string s. */
size_t
utf8_head(const char *s, size_t max)
{
	size_t	i, n;

	n = 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80) {
			if (n == max)
				break;
			n++;
		}
	}
	return (i);
}
