/*
 * Passwords: the registration policy of docs/API.md section 2 and bcrypt
 * hashing through libxcrypt.
 */
#ifndef ELENCHUS_PASSWD_H
#define ELENCHUS_PASSWD_H

#include <stddef.h>

/* Policy bounds, in code points. */
#define PASSWD_MIN_CHARS	8
#define PASSWD_MAX_CHARS	128

/* bcrypt: cost bounds, and the size of a hash (60 characters + NUL). */
#define PASSWD_COST_MIN		4
#define PASSWD_COST_MAX		31
#define PASSWD_HASH_LEN		60
#define PASSWD_HASH_SIZE	(PASSWD_HASH_LEN + 1)
/* bcrypt reads no more than this many bytes of a password. */
#define PASSWD_BCRYPT_MAX_BYTES	72

/* Policy issues, a bit mask; passwd_issue_code() names each bit. */
#define PASSWD_ISSUE_TOO_SHORT		0x01
#define PASSWD_ISSUE_TOO_LONG		0x02
#define PASSWD_ISSUE_NEEDS_LETTER	0x04
#define PASSWD_ISSUE_NEEDS_DIGIT	0x08
#define PASSWD_ISSUE_SAME_AS_EMAIL	0x10
#define PASSWD_ISSUE_TOO_COMMON		0x20
#define PASSWD_ISSUE_INVALID_UTF8	0x40
#define PASSWD_ISSUE_ALL		0x7f

int		passwd_policy(const char *, const char *, int *);
int		passwd_is_common(const char *);
const char	*passwd_issue_code(int);
const char	*passwd_issue_message(int);

int		passwd_hash(const char *, int, char *, size_t);
int		passwd_verify(const char *, const char *);
int		passwd_hash_cost(const char *);
const char	*passwd_dummy_hash(int);

#endif
