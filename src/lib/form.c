/*
 * URL-encoded forms (see form.h).
 */
#include <stddef.h>
#include <string.h>

#include "form.h"
#include "hex.h"
#include "utf8.h"

int
form_next(char **p, char **name, char **val)
{
	char		*s, *e;

	s = *p;
	while (*s == '&')
		s++;
	if (*s == '\0') {
		*p = s;
		return (0);
	}
	if ((e = strchr(s, '&')) != NULL) {
		*e = '\0';
		*p = e + 1;
	} else {
		*p = s + strlen(s);
	}
	*name = s;
	if ((*val = strchr(s, '=')) != NULL)
		*(*val)++ = '\0';
	else
		*val = s + strlen(s);
	if (!form_decode(*name) || !form_decode(*val))
		return (-1);
	return (1);
}

int
form_decode(char *s)
{
	char		*o, *p;
	int		 hi, lo;

	for (p = o = s; *p != '\0'; p++) {
		if (*p == '+') {
			*o++ = ' ';
		} else if (*p == '%') {
			if ((hi = hex_val((unsigned char)p[1])) < 0 ||
			    (lo = hex_val((unsigned char)p[2])) < 0 ||
			    (hi == 0 && lo == 0))
				return (0);
			*o++ = (char)(hi << 4 | lo);
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	return (utf8_valid(s, (size_t)(o - s)));
}
