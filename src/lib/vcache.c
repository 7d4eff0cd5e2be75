/*
 * Versioned answer cache (vcache.h).
 */
#include <stdlib.h>
#include <string.h>

#include "fnv.h"
#include "vcache.h"

static size_t	vcache_slot(const struct vcache *, const void *, size_t);
static void	vcache_drop(struct vcache *, struct vcache_ent *);

void
vcache_init(struct vcache *vc, uint64_t seed, size_t budget)
{
	memset(vc, 0, sizeof(*vc));
	vc->seed = seed;
	vc->budget = budget;
}

void
vcache_clear(struct vcache *vc)
{
	size_t		i;

	for (i = 0; i < VCACHE_SLOTS; i++)
		vcache_drop(vc, &vc->ent[i]);
	vc->hand = 0;
}

const struct vcache_ent *
vcache_get(const struct vcache *vc, const void *key, size_t klen)
{
	const struct vcache_ent	*e;

	if (klen == 0 || klen > VCACHE_KEY_MAX)
		return (NULL);
	e = &vc->ent[vcache_slot(vc, key, klen)];
	if (e->klen != klen || memcmp(e->key, key, klen) != 0)
		return (NULL);
	return (e);
}

int
vcache_put(struct vcache *vc, const void *key, size_t klen, int64_t ver,
    const void *data, size_t len)
{
	struct vcache_ent	*e;
	char			*copy;

	if (klen == 0 || klen > VCACHE_KEY_MAX || len == 0 ||
	    len > vc->budget / 8)
		return (0);
	e = &vc->ent[vcache_slot(vc, key, klen)];
	vcache_drop(vc, e);
	while (vc->used + len > vc->budget) {
		vcache_drop(vc, &vc->ent[vc->hand]);
		vc->hand = (vc->hand + 1) & (VCACHE_SLOTS - 1);
	}
	if ((copy = malloc(len)) == NULL)
		return (0);
	memcpy(copy, data, len);
	memcpy(e->key, key, klen);
	e->klen = klen;
	e->ver = ver;
	e->data = copy;
	e->len = len;
	vc->used += len;
	return (1);
}

static size_t
vcache_slot(const struct vcache *vc, const void *key, size_t klen)
{
	return ((size_t)(fnv1a64(vc->seed, key, klen) & (VCACHE_SLOTS - 1)));
}

static void
vcache_drop(struct vcache *vc, struct vcache_ent *e)
{
	if (e->klen == 0)
		return;
	vc->used -= e->len;
	free(e->data);
	memset(e, 0, sizeof(*e));
}
