/*
 * Opaque secrets of the auth flows: refresh tokens and SMS codes, and the
 * hashes under which they are stored.
 */
#ifndef ELENCHUS_AUTHTOK_H
#define ELENCHUS_AUTHTOK_H

#include <stddef.h>

/* Refresh token: 32 random bytes, base64url without padding. */
#define AUTHTOK_BYTES		32
#define AUTHTOK_LEN		43
#define AUTHTOK_SIZE		(AUTHTOK_LEN + 1)
/* Hex SHA-256 / HMAC-SHA256, with NUL. */
#define AUTHTOK_HASH_SIZE	65
/* Phone verification code: 6 decimal digits, with NUL. */
#define AUTHTOK_CODE_DIGITS	6
#define AUTHTOK_CODE_SIZE	(AUTHTOK_CODE_DIGITS + 1)
/* Longest subject (a phone number, a user id) a code is bound to, bytes. */
#define AUTHTOK_SUBJECT_MAX	64

int	authtok_new(char *, size_t);
int	authtok_valid(const char *);
int	authtok_hash(const char *, char [AUTHTOK_HASH_SIZE]);
int	authtok_code6(char [AUTHTOK_CODE_SIZE]);
int	authtok_code_valid(const char *);
int	authtok_code_hash(const char *, const char *, const unsigned char *,
	    size_t, char [AUTHTOK_HASH_SIZE]);

#endif
