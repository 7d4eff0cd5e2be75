/*
 * Answers a worker keeps with the version of the data each was made
 * from.  An entry is only as good as its version: the caller reads the
 * current version from the store (in the snapshot it would read the data
 * in) and uses the entry only when the two are equal, so a hit is exact
 * whoever changed the data and through whichever instance.
 *
 * Direct-mapped: a seeded FNV-1a of the key picks the slot, and a newer
 * entry replaces whatever was there.  Bounded in bytes: an entry larger
 * than an eighth of the budget is not kept, and when a new one would
 * pass the budget a clock hand frees entries until it fits.  Pure code.
 */
#ifndef ELENCHUS_VCACHE_H
#define ELENCHUS_VCACHE_H

#include <stddef.h>
#include <stdint.h>

#define VCACHE_SLOTS	1024	/* power of two */
#define VCACHE_KEY_MAX	40

struct vcache_ent {
	size_t		 klen;		/* 0: empty */
	uint8_t		 key[VCACHE_KEY_MAX];
	int64_t		 ver;
	size_t		 len;
	char		*data;
};

struct vcache {
	uint64_t		seed;
	size_t			budget;	/* bytes of data, at most */
	size_t			used;
	size_t			hand;	/* the next slot the clock frees */
	struct vcache_ent	ent[VCACHE_SLOTS];
};

/* budget 0: nothing is kept. */
void	vcache_init(struct vcache *, uint64_t seed, size_t budget);
void	vcache_clear(struct vcache *);
/* The entry of key, whatever its version; NULL when there is none. */
const struct vcache_ent *vcache_get(const struct vcache *, const void *,
	    size_t);
/* Keep data[0..len) as key's at ver: 1 when kept, 0 when not. */
int	vcache_put(struct vcache *, const void *, size_t, int64_t,
	    const void *, size_t);

#endif
