/*
 * Verified-token cache (jwtcache.h): direct-mapped, the slot chosen by a
 * seeded FNV-1a of the whole token, a newer token replacing an older one
 * in its slot.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "fnv.h"
#include "jwtcache.h"

static size_t	jwtc_slot(const struct jwtc *, const char *, size_t);

void
jwtc_init(struct jwtc *jc, uint64_t seed)
{
	memset(jc, 0, sizeof(*jc));
	jc->seed = seed;
}

int
jwtc_get(const struct jwtc *jc, const char *tok, size_t len, time_t now,
    struct jwt_claims *out)
{
	const struct jwtc_ent	*e;

	if (len == 0 || len > JWTC_TOK_MAX)
		return (0);
	e = &jc->ent[jwtc_slot(jc, tok, len)];
	if (e->len != len || CRYPTO_memcmp(e->tok, tok, len) != 0)
		return (0);
	/* As jwt_verify_keys: expired is for it to say. */
	if (e->c.exp <= (int64_t)now - JWT_LEEWAY_S)
		return (0);
	*out = e->c;
	return (1);
}

void
jwtc_put(struct jwtc *jc, const char *tok, size_t len,
    const struct jwt_claims *c)
{
	struct jwtc_ent		*e;

	if (len == 0 || len > JWTC_TOK_MAX)
		return;
	e = &jc->ent[jwtc_slot(jc, tok, len)];
	memcpy(e->tok, tok, len);
	e->len = len;
	e->c = *c;
}

static size_t
jwtc_slot(const struct jwtc *jc, const char *tok, size_t len)
{
	return ((size_t)(fnv1a64(jc->seed, tok, len) & (JWTC_SLOTS - 1)));
}
