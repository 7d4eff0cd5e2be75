/*
 * uuidset.c: the set of revoked session ids (keys with a time), its
 * growth, pruning, shrinking and the cap past which it admits overflow.
 */
#include <string.h>

#include <criterion/criterion.h>

#include "uuidset.h"

/* A key from a counter, spread like a random UUID's bytes. */
static void
mkkey(uint8_t key[16], uint64_t v)
{
	uint64_t	k[2];

	k[0] = v * 0xd6e8feb86659fd93ULL + 1;
	k[1] = ~v;
	memcpy(key, k, 16);
}

Test(uuidset, holds_what_was_added_and_nothing_else)
{
	struct uuidset	s;
	uint8_t		k[16];
	uint64_t	i;

	uuidset_init(&s, 16, 1 << 20);
	for (i = 0; i < 1000; i++) {
		mkkey(k, i);
		cr_assert_eq(uuidset_add(&s, k, 100 + (int64_t)i), 0);
	}
	cr_assert_eq(s.count, 1000);
	cr_assert_geq(s.cap, 2000, "load factor at most 1/2");
	for (i = 0; i < 2000; i++) {
		mkkey(k, i);
		cr_assert_eq(uuidset_has(&s, k), i < 1000, "key %lu",
		    (unsigned long)i);
	}
	uuidset_free(&s);
}

Test(uuidset, adding_a_key_again_counts_it_once)
{
	struct uuidset	s;
	uint8_t		k[16];

	uuidset_init(&s, 16, 1 << 20);
	mkkey(k, 7);
	cr_assert_eq(uuidset_add(&s, k, 10), 0);
	cr_assert_eq(uuidset_add(&s, k, 5), 0);
	cr_assert_eq(uuidset_add(&s, k, 0), 0);
	cr_assert_eq(s.count, 1);
	/* It kept the latest time: a prune at 10 keeps it. */
	uuidset_prune(&s, 10);
	cr_assert(uuidset_has(&s, k));
	uuidset_free(&s);
}

Test(uuidset, prune_drops_older_keys_and_shrinks)
{
	struct uuidset	s;
	uint8_t		k[16];
	uint64_t	i;
	size_t		big;

	uuidset_init(&s, 16, 1 << 20);
	for (i = 0; i < 4000; i++) {
		mkkey(k, i);
		(void)uuidset_add(&s, k, i < 3990 ? 100 : 200);
	}
	big = s.cap;
	uuidset_prune(&s, 150);
	cr_assert_eq(s.count, 10);
	cr_assert_lt(s.cap, big);
	cr_assert_geq(s.cap, 16);
	for (i = 0; i < 4000; i++) {
		mkkey(k, i);
		cr_assert_eq(uuidset_has(&s, k), i >= 3990);
	}
	uuidset_free(&s);
}

Test(uuidset, past_the_cap_it_refuses_and_says_so_until_reset)
{
	struct uuidset	s;
	uint8_t		k[16];
	uint64_t	i;
	int		refused;

	uuidset_init(&s, 16, 64);
	for (i = 0, refused = 0; i < 200; i++) {
		mkkey(k, i);
		if (uuidset_add(&s, k, 1) == -1)
			refused++;
	}
	cr_assert(s.overflow);
	cr_assert_gt(refused, 0);
	cr_assert_leq(s.count, 64);
	cr_assert_eq(s.count + (size_t)refused, 200);
	uuidset_prune(&s, 2);
	cr_assert_eq(s.count, 0);
	cr_assert(s.overflow, "still incomplete until reloaded");
	uuidset_reset_overflow(&s);
	cr_assert_not(s.overflow);
	mkkey(k, 1);
	cr_assert_eq(uuidset_add(&s, k, 3), 0);
	cr_assert(uuidset_has(&s, k));
	uuidset_free(&s);
}

Test(uuidset, an_empty_or_freed_set_holds_nothing)
{
	struct uuidset	s;
	uint8_t		k[16];

	uuidset_init(&s, 16, 64);
	mkkey(k, 3);
	cr_assert_not(uuidset_has(&s, k));
	uuidset_free(&s);
	cr_assert_not(uuidset_has(&s, k));
}
