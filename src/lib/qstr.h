/*
 * Query strings and short text fields: the pure part of src/query.c.
 * A query string is split on '&' and each pair on its first '=' (a value
 * keeps any later '='), names and values percent-decoded the way Kore
 * decodes arguments.  The text checks say why a value is refused.
 */
#ifndef ELENCHUS_QSTR_H
#define ELENCHUS_QSTR_H

#include <stddef.h>

/*
 * The next pair of the query string at *cursor, split in place: returns
 * its name (never empty) and sets *value ("" when the pair has no '='),
 * or NULL when none is left.  Start with *cursor at a writable copy.
 */
char		*qstr_next(char **cursor, char **value);

/*
 * Percent-decode s in place, '+' as a space; a '%' without two hex digits
 * after it stays.  Returns 0 (s undefined) for an escape cut by the end
 * or one that decodes to a control character (0x00-0x1f, 0x7f).
 */
int		 qstr_decode(char *s);

/*
 * Text checks: NULL when s is fine, else the issue ("invalid",
 * "too_long") with *msg a message naming field.  max_cp bounds code
 * points, max_bytes bytes (0: no bound).  qstr_field trims blanks first.
 */
const char	*qstr_text(const char *field, const char *s, size_t max_cp,
		    size_t max_bytes, char *msg, size_t msglen);
const char	*qstr_field(const char *field, const char *s, size_t max_cp,
		    char *msg, size_t msglen);

#endif
