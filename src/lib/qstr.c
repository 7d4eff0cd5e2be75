/*
 * Query strings and short text fields (see qstr.h).  Pure code.
 */
#include <sys/types.h>

#include <stdio.h>
#include <string.h>

#include "hex.h"
#include "qstr.h"
#include "utf8.h"

static int	qstr_blank(char);

char *
qstr_next(char **cursor, char **value)
{
	char	*p, *name, *eq;

	for (p = *cursor; p != NULL; ) {
		name = p;
		if ((p = strchr(p, '&')) != NULL)
			*p++ = '\0';
		if ((eq = strchr(name, '=')) != NULL) {
			*eq = '\0';
			*value = eq + 1;
		} else {
			*value = name + strlen(name);
		}
		if (*name == '\0')
			continue;
		*cursor = p;
		return (name);
	}
	*cursor = NULL;
	return (NULL);
}

int
qstr_decode(char *s)
{
	char	*in, *out;
	int	 v;

	for (in = out = s; *in != '\0'; ) {
		if (*in != '%') {
			*out++ = *in == '+' ? ' ' : *in;
			in++;
			continue;
		}
		if (in[1] == '\0' || in[2] == '\0')
			return (0);
		if (hex_val(in[1]) < 0 || hex_val(in[2]) < 0) {
			*out++ = *in++;
			continue;
		}
		v = hex_val(in[1]) * 16 + hex_val(in[2]);
		if (v <= 0x1f || v == 0x7f)
			return (0);
		*out++ = (char)v;
		in += 3;
	}
	*out = '\0';
	return (1);
}

const char *
qstr_text(const char *field, const char *s, size_t max_cp, size_t max_bytes,
    char *msg, size_t msglen)
{
	ssize_t		cp;

	if (max_bytes != 0 && strlen(s) > max_bytes) {
		(void)snprintf(msg, msglen, "%s is at most %zu characters",
		    field, max_bytes);
		return ("too_long");
	}
	if ((cp = utf8_codepoints(s, strlen(s))) < 0) {
		(void)snprintf(msg, msglen, "%s is not valid UTF-8", field);
		return ("invalid");
	}
	if (max_cp != 0 && (size_t)cp > max_cp) {
		(void)snprintf(msg, msglen, "%s is at most %zu characters",
		    field, max_cp);
		return ("too_long");
	}
	return (NULL);
}

const char *
qstr_field(const char *field, const char *s, size_t max_cp, char *msg,
    size_t msglen)
{
	const char	*e;
	ssize_t		 cp;

	while (qstr_blank(*s))
		s++;
	e = s + strlen(s);
	while (e > s && qstr_blank(e[-1]))
		e--;
	if ((cp = utf8_codepoints(s, (size_t)(e - s))) < 0) {
		(void)snprintf(msg, msglen, "%s is not valid UTF-8", field);
		return ("invalid");
	}
	if ((size_t)cp > max_cp) {
		(void)snprintf(msg, msglen, "%s is at most %zu characters",
		    field, max_cp);
		return ("too_long");
	}
	return (NULL);
}

static int
qstr_blank(char c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}
