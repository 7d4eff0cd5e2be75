/*
 * The shared revocation ring (src/lib/revring.c): writers in several
 * threads, a reader merging all along; every key a reader takes for
 * index i must be the key written for i (a slot published before it was
 * written would hand over the previous lap's key, or zeros).
 */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "revring.h"

#define WRITERS		3
#define PER_WRITER	300	/* a round fits in the ring: no lapping */
#define ROUNDS		1000

static struct revring	ring;

struct seen {
	uint64_t	taken;
	uint64_t	bad;
};

/* The key for a write: its writer's counter and the complement. */
static void
mkkey(uint8_t key[16], uint64_t v)
{
	uint64_t	k[2];

	k[0] = v;
	k[1] = ~v;
	memcpy(key, k, 16);
}

static void *
writer(void *arg)
{
	uint8_t		key[16];
	uint64_t	i, id;

	id = (uint64_t)(uintptr_t)arg;
	for (i = 1; i <= PER_WRITER; i++) {
		mkkey(key, id << 32 | i);
		revring_put(&ring, key);
	}
	return (NULL);
}

static void
take(const uint8_t key[16], void *arg)
{
	struct seen	*s = arg;
	uint64_t	 k[2];

	memcpy(k, key, 16);
	s->taken++;
	if (k[1] != ~k[0] || k[0] == 0)
		s->bad++;
}

/*
 * Rounds on a fresh ring: a slot taken before its key is written shows
 * as zeros.  Every key written is taken once the writers are done.
 */
Test(revring, a_reader_never_takes_an_unwritten_slot)
{
	pthread_t	t[WRITERS];
	struct seen	s;
	uint64_t	seen, i, total, taken;
	int		round;

	memset(&s, 0, sizeof(s));
	total = taken = 0;
	for (round = 0; round < ROUNDS; round++) {
		memset(&ring, 0, sizeof(ring));
		seen = 0;
		s.taken = 0;
		for (i = 0; i < WRITERS; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, writer,
			    (void *)(uintptr_t)(i + 1)), 0);
		while (seen < (uint64_t)WRITERS * PER_WRITER)
			(void)revring_merge(&ring, &seen, take, &s);
		for (i = 0; i < WRITERS; i++)
			(void)pthread_join(t[i], NULL);
		(void)revring_merge(&ring, &seen, take, &s);
		total += (uint64_t)WRITERS * PER_WRITER;
		taken += s.taken;
	}
	cr_expect_eq(s.bad, 0, "%llu keys taken were not written yet",
	    (unsigned long long)s.bad);
	cr_expect(taken >= total, "%llu of %llu", (unsigned long long)taken,
	    (unsigned long long)total);
}

static void
collect(const uint8_t key[16], void *arg)
{
	uint64_t	*n = arg, k[2];

	memcpy(k, key, 16);
	n[0]++;
	n[1] += k[0];
}

Test(revring, in_order_and_lapping_reported)
{
	uint8_t		key[16];
	uint64_t	seen, n[2], i;

	memset(&ring, 0, sizeof(ring));
	seen = 0;
	for (i = 1; i <= 10; i++) {
		mkkey(key, i);
		revring_put(&ring, key);
	}
	memset(n, 0, sizeof(n));
	cr_expect_eq(revring_merge(&ring, &seen, collect, n), 0);
	cr_expect_eq(n[0], 10);
	cr_expect_eq(n[1], 55);
	cr_expect_eq(seen, 10);
	/* nothing new: nothing taken */
	memset(n, 0, sizeof(n));
	cr_expect_eq(revring_merge(&ring, &seen, collect, n), 0);
	cr_expect_eq(n[0], 0);
	/* more than a ring behind: the last ring's worth, and lapped */
	for (i = 0; i < REVRING_SLOTS + 5; i++) {
		mkkey(key, 100 + i);
		revring_put(&ring, key);
	}
	memset(n, 0, sizeof(n));
	cr_expect_eq(revring_merge(&ring, &seen, collect, n), 1);
	cr_expect_eq(n[0], REVRING_SLOTS);
	/* a write begun but not finished is not taken, then is */
	i = __atomic_fetch_add(&ring.reserved, 1, __ATOMIC_ACQ_REL);
	memset(n, 0, sizeof(n));
	(void)revring_merge(&ring, &seen, collect, n);
	cr_expect_eq(n[0], 0);
	cr_expect_eq(seen, i);
	mkkey(key, 7);
	memcpy(ring.slot[i % REVRING_SLOTS].key, key, 16);
	ring.slot[i % REVRING_SLOTS].seq = i + 1;
	(void)revring_merge(&ring, &seen, collect, n);
	cr_expect_eq(n[0], 1);
	cr_expect_eq(n[1], 7);
}
