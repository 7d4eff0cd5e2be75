/*
 * vcache.c: an entry is found again whole with its version, under its
 * own key only, and the cache never holds more bytes than its budget.
 */
#include <stdio.h>
#include <string.h>

#include <criterion/criterion.h>

#include "vcache.h"

static struct vcache	vc;

static void
fini(void)
{
	vcache_clear(&vc);
	cr_assert_eq(vc.used, 0);
}

TestSuite(vcache, .fini = fini);

Test(vcache, an_entry_put_is_found_with_its_version_and_bytes)
{
	const struct vcache_ent	*e;
	const char		*key = "user-1/page-0";

	vcache_init(&vc, 42, 1 << 20);
	cr_assert_null(vcache_get(&vc, key, strlen(key)));
	cr_assert(vcache_put(&vc, key, strlen(key), 7, "{\"a\":1}", 7));
	e = vcache_get(&vc, key, strlen(key));
	cr_assert_not_null(e);
	cr_assert_eq(e->ver, 7);
	cr_assert_eq(e->len, 7);
	cr_assert_arr_eq(e->data, "{\"a\":1}", 7);

	/* A newer answer for the key replaces it. */
	cr_assert(vcache_put(&vc, key, strlen(key), 9, "[]", 2));
	e = vcache_get(&vc, key, strlen(key));
	cr_assert_eq(e->ver, 9);
	cr_assert_eq(e->len, 2);
	cr_assert_eq(vc.used, 2);
}

Test(vcache, any_other_key_misses)
{
	char		key[32], other[33];
	size_t		i, len;

	vcache_init(&vc, 7, 1 << 20);
	(void)snprintf(key, sizeof(key), "0123456789abcdef|s0|50|0");
	len = strlen(key);
	cr_assert(vcache_put(&vc, key, len, 1, "x", 1));
	for (i = 0; i < len; i++) {
		memcpy(other, key, len);
		other[i] ^= 1;
		cr_assert_null(vcache_get(&vc, other, len), "%.*s",
		    (int)len, other);
	}
	cr_assert_null(vcache_get(&vc, key, len - 1));
	memcpy(other, key, len);
	other[len] = 'x';
	cr_assert_null(vcache_get(&vc, other, len + 1));
	cr_assert_not_null(vcache_get(&vc, key, len));
}

Test(vcache, refuses_what_it_cannot_key_or_hold)
{
	char		key[VCACHE_KEY_MAX + 1], big[200];

	memset(key, 'k', sizeof(key));
	memset(big, 'b', sizeof(big));
	vcache_init(&vc, 1, 800);
	cr_assert_not(vcache_put(&vc, key, 0, 1, "x", 1));
	cr_assert_not(vcache_put(&vc, key, sizeof(key), 1, "x", 1));
	cr_assert_not(vcache_put(&vc, key, 4, 1, big, 0));
	/* More than an eighth of the budget. */
	cr_assert_not(vcache_put(&vc, key, 4, 1, big, 101));
	cr_assert(vcache_put(&vc, key, 4, 1, big, 100));
	cr_assert_null(vcache_get(&vc, key, sizeof(key)));

	/* No budget: nothing is kept. */
	vcache_clear(&vc);
	vcache_init(&vc, 1, 0);
	cr_assert_not(vcache_put(&vc, key, 4, 1, "x", 1));
}

Test(vcache, many_entries_stay_within_the_budget)
{
	const struct vcache_ent	*e;
	char			 key[16], data[100];
	size_t			 budget = 8000, kept = 0;
	int			 i;

	vcache_init(&vc, 3, budget);
	for (i = 0; i < 20000; i++) {
		(void)snprintf(key, sizeof(key), "k%d", i);
		memset(data, 'a' + i % 26, sizeof(data));
		cr_assert(vcache_put(&vc, key, strlen(key), i, data,
		    1 + (size_t)i % sizeof(data)));
		cr_assert_leq(vc.used, budget);
		/* The newest is always there, whole. */
		e = vcache_get(&vc, key, strlen(key));
		cr_assert_not_null(e);
		cr_assert_eq(e->ver, i);
		cr_assert_eq(e->len, 1 + (size_t)i % sizeof(data));
		cr_assert_eq(e->data[e->len - 1], 'a' + i % 26);
	}
	for (i = 0; i < VCACHE_SLOTS; i++)
		kept += vc.ent[i].len;
	cr_assert_eq(kept, vc.used);
}
