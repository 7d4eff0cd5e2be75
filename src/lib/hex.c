/*
 * Hexadecimal decoding (see hex.h).
 */
#include "hex.h"

int
hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

int
hex_decode(const char *s, uint8_t *out, size_t n, int flags)
{
	size_t	i;
	int	hi, lo;

	for (i = 0; i < n; i++) {
		if ((flags & HEX_LOWER) &&
		    ((s[i * 2] >= 'A' && s[i * 2] <= 'F') ||
		    (s[i * 2 + 1] >= 'A' && s[i * 2 + 1] <= 'F')))
			return (-1);
		if ((hi = hex_val(s[i * 2])) < 0 ||
		    (lo = hex_val(s[i * 2 + 1])) < 0)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}
