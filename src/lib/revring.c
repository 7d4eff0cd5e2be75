/*
 * Shared revocation ring (see revring.h).  A seqlock per slot: the writer
 * marks the slot busy (seq 0), writes the key, then publishes seq with a
 * release store; the reader loads seq (acquire), the key, then seq again,
 * and takes the key only when both loads show the index it wants.
 * Before, the counter was published before the slot was written, so a
 * reader could take the previous key of the slot (or zeros).
 */
#include <string.h>

#include "revring.h"

void
revring_put(struct revring *r, const uint8_t key[16])
{
	struct revring_slot	*s;
	uint64_t		 n, k[2];

	memcpy(k, key, sizeof(k));
	n = __atomic_fetch_add(&r->reserved, 1, __ATOMIC_ACQ_REL);
	s = &r->slot[n % REVRING_SLOTS];
	__atomic_store_n(&s->seq, 0, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&s->key[0], k[0], __ATOMIC_RELAXED);
	__atomic_store_n(&s->key[1], k[1], __ATOMIC_RELAXED);
	__atomic_store_n(&s->seq, n + 1, __ATOMIC_RELEASE);
}

int
revring_merge(struct revring *r, uint64_t *seen,
    void (*fn)(const uint8_t [16], void *), void *arg)
{
	struct revring_slot	*s;
	uint64_t		 w, i, q1, q2, k[2], next;
	uint8_t			 key[16];
	int			 lapped;

	lapped = 0;
	w = __atomic_load_n(&r->reserved, __ATOMIC_ACQUIRE);
	if (w - *seen > REVRING_SLOTS) {
		lapped = 1;
		*seen = w - REVRING_SLOTS;
	}
	next = w;
	for (i = *seen; i < w; i++) {
		s = &r->slot[i % REVRING_SLOTS];
		q1 = __atomic_load_n(&s->seq, __ATOMIC_ACQUIRE);
		if (q1 == i + 1) {
			k[0] = __atomic_load_n(&s->key[0], __ATOMIC_RELAXED);
			k[1] = __atomic_load_n(&s->key[1], __ATOMIC_RELAXED);
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			q2 = __atomic_load_n(&s->seq, __ATOMIC_RELAXED);
			if (q2 == i + 1) {
				memcpy(key, k, sizeof(key));
				fn(key, arg);
				continue;
			}
			q1 = q2;
		}
		if (q1 > i + 1) {
			/* overwritten by a later write: missed */
			lapped = 1;
			continue;
		}
		/*
		 * Not written yet: the next call starts here again (keys
		 * after it are taken now and again then; taking a key twice
		 * is harmless), unless it is so old its writer must be dead.
		 */
		if (next == w && w - i < REVRING_SLOTS / 2)
			next = i;
	}
	*seen = next;
	return (lapped);
}
