/*
 * HS256 JSON Web Tokens (RFC 7519) for access tokens: sign and verify.
 */
#ifndef ELENCHUS_JWT_H
#define ELENCHUS_JWT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "uuid.h"

/* Longest token jwt_verify looks at; ours are about 330 characters. */
#define JWT_MAX_LEN		4096
/* Longest role claim, in bytes. */
#define JWT_ROLE_MAX		32
/* Longest key id (header "kid"), in bytes: [A-Za-z0-9._-] only. */
#define JWT_KID_MAX		32
/* Accepted key sizes in bytes (the production minimum is config's). */
#define JWT_KEY_MIN		1
#define JWT_KEY_MAX		4096
/*
 * Seconds a token stays valid after its exp.  Zero: issuer and verifier
 * are the same fleet with synchronised clocks, and access tokens are
 * short-lived anyway; raise it only if hosts are known to drift.
 */
#define JWT_LEEWAY_S		0

struct jwt_claims {
	char		sub[UUID_STRLEN + 1];	/* user id */
	char		sid[UUID_STRLEN + 1];	/* session id */
	char		jti[UUID_STRLEN + 1];	/* token id */
	char		role[JWT_ROLE_MAX + 1];
	char		kid[JWT_KID_MAX + 1];	/* header; "" for none */
	int64_t		iat;			/* issued at, Unix seconds */
	int64_t		exp;			/* expires at, Unix seconds */
	int		ev;	/* "ev": the email was verified at issue */
};

enum jwt_result {
	JWT_OK = 0,
	JWT_MALFORMED,		/* not a well-formed token with our claims */
	JWT_BAD_ALG,		/* alg missing or not exactly "HS256" */
	JWT_BAD_SIGNATURE,	/* signature does not match the key */
	JWT_EXPIRED,		/* genuine, but exp has passed */
	JWT_UNKNOWN_KID		/* names a key that is not in the set */
};

/* One verification key of a key set (the key is not copied). */
struct jwt_key {
	const char		*kid;
	const unsigned char	*key;
	size_t			 len;
};

int		jwt_sign(const struct jwt_claims *, const unsigned char *,
		    size_t, char **);
enum jwt_result	jwt_verify(const char *, const unsigned char *, size_t,
		    time_t, struct jwt_claims *);
enum jwt_result	jwt_verify_keys(const char *, const struct jwt_key *, size_t,
		    time_t, struct jwt_claims *);
int		jwt_role_valid(const char *);
int		jwt_kid_valid(const char *);
const char	*jwt_result_str(enum jwt_result);

#endif
