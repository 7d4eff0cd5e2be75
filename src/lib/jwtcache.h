/*
 * The access tokens a worker has verified lately, so that a client's
 * next request with the same token costs a hash and a compare instead of
 * an HMAC and two JSON parses.  Only tokens jwt_verify_keys accepted go
 * in; a hit is the whole token, compared in constant time, and is still
 * refused once its exp has passed.  Revocation is checked after this, on
 * every request, as before.
 */
#ifndef ELENCHUS_JWTCACHE_H
#define ELENCHUS_JWTCACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "jwt.h"

#define JWTC_SLOTS	256	/* power of two */
#define JWTC_TOK_MAX	640	/* longer tokens are not kept */

struct jwtc_ent {
	size_t			len;	/* 0: empty */
	char			tok[JWTC_TOK_MAX];
	struct jwt_claims	c;
};

struct jwtc {
	uint64_t		seed;	/* random: a collision only costs a miss */
	struct jwtc_ent		ent[JWTC_SLOTS];
};

void	jwtc_init(struct jwtc *, uint64_t);
/* The claims of tok, verified before and not expired at now: 1, else 0. */
int	jwtc_get(const struct jwtc *, const char *, size_t, time_t,
	    struct jwt_claims *);
void	jwtc_put(struct jwtc *, const char *, size_t,
	    const struct jwt_claims *);

#endif
