/*
 * base64url (RFC 4648 section 5) without padding, as used by JWTs and
 * opaque tokens.
 */
#ifndef ELENCHUS_B64_H
#define ELENCHUS_B64_H

#include <stddef.h>

/* Largest input either direction accepts; keeps length arithmetic safe. */
#define B64_MAX_INPUT		(1024 * 1024 * 64)

/* Characters produced for n input bytes (without the NUL). */
#define B64URL_ENCLEN(n)	(((n) / 3) * 4 + (((n) % 3) * 4 + 2) / 3)
/* Upper bound of bytes decoded from n characters. */
#define B64URL_DECLEN(n)	(((n) / 4) * 3 + (((n) % 4) * 3) / 4)

int	b64url_encode(const void *, size_t, char *, size_t);
int	b64url_decode(const char *, size_t, unsigned char *, size_t,
	    size_t *);

#endif
