/*
 * A ring of recent revocations in memory shared by the workers of one
 * instance: many writers, each worker reads what it has not seen yet.
 * Each slot carries the sequence number of the write it holds, stored
 * with release semantics after the key, so a reader never takes a slot
 * that is reserved but not yet written (or half written).
 */
#ifndef ELENCHUS_REVRING_H
#define ELENCHUS_REVRING_H

#include <stdint.h>

#define REVRING_SLOTS		1024

struct revring_slot {
	uint64_t	seq;		/* index + 1 of the write held; 0 busy */
	uint64_t	key[2];
};

struct revring {
	uint64_t		reserved;	/* writes begun */
	struct revring_slot	slot[REVRING_SLOTS];
};

/* Write a 16-byte key (any process or thread). */
void	revring_put(struct revring *, const uint8_t key[16]);

/*
 * Call fn for each key written since *seen and advance *seen; a write
 * begun but not yet finished is looked at again by the next call (keys
 * after it may then be passed twice) unless it is half a ring old.  1: some keys were overwritten before
 * this reader saw them (it fell a whole ring behind).
 */
int	revring_merge(struct revring *, uint64_t *seen,
	    void (*fn)(const uint8_t [16], void *), void *arg);

#endif
