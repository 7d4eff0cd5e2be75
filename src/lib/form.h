/*
 * application/x-www-form-urlencoded bodies (the OAuth2 password form of
 * POST /api/v1/auth/login): name=value pairs joined by '&', each side
 * percent-decoded ('+' is a space) and checked to be UTF-8 without NUL.
 */
#ifndef ELENCHUS_FORM_H
#define ELENCHUS_FORM_H

/*
 * The next pair of the NUL-terminated text at *p, decoded in place:
 * 1 with *name and *val set (val "" when there is no '='), 0 at the end,
 * -1 on a bad pair (an escape that is not two hex digits, %00, invalid
 * UTF-8).  Empty pairs ("a&&b") are skipped.  *p moves past the pair.
 */
int	form_next(char **p, char **name, char **val);

/* Decode s in place ('+', %XX); 0 on a bad escape, %00 or bad UTF-8. */
int	form_decode(char *s);

#endif
