/*
 * flight.c: waiters for one key share a read, and no waiter is answered
 * by a read that started before it joined.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "flight.h"

static struct flight_table	t;

static void
key(uint8_t k[16], int n)
{
	memset(k, 0, 16);
	memcpy(k, &n, sizeof(n));
}

Test(flight, waiters_during_a_read_share_the_next_one)
{
	struct flight_wait	 a, b, c;
	struct flight		*f, *g;
	uint8_t			 k[16];
	int			 start;

	flight_init(&t, 1);
	key(k, 7);
	f = flight_join(&t, &a, k, &start);
	cr_assert_not_null(f);
	cr_assert_eq(start, 1);
	g = flight_join(&t, &b, k, &start);
	cr_assert_eq(g, f);
	cr_assert_eq(start, 0);
	(void)flight_join(&t, &c, k, &start);
	cr_assert_eq(start, 0);

	/* The first read answers a alone: b and c came after it started. */
	cr_assert_eq(flight_take(f), &a);
	cr_assert_null(flight_take(f));
	cr_assert_eq(flight_next(f), 1);
	cr_assert_eq(flight_take(f), &b);
	cr_assert_eq(flight_take(f), &c);
	cr_assert_null(flight_take(f));
	cr_assert_eq(flight_next(f), 0);

	/* Released: the key starts a read again. */
	(void)flight_join(&t, &a, k, &start);
	cr_assert_eq(start, 1);
	cr_assert_eq(flight_take(f), &a);
	cr_assert_eq(flight_next(f), 0);
}

Test(flight, a_waiter_that_leaves_is_not_answered)
{
	struct flight_wait	 a, b;
	struct flight		*f;
	uint8_t			 k[16];
	int			 start;

	flight_init(&t, 2);
	key(k, 1);
	f = flight_join(&t, &a, k, &start);
	(void)flight_join(&t, &b, k, &start);
	flight_leave(&b);
	flight_leave(&b);
	cr_assert_null(b.f);
	/* Nobody waits for the next read: none is started. */
	cr_assert_eq(flight_take(f), &a);
	cr_assert_eq(flight_next(f), 0);

	/* Every waiter gone while the read runs: it ends with nobody. */
	f = flight_join(&t, &a, k, &start);
	cr_assert_eq(start, 1);
	flight_leave(&a);
	cr_assert_null(flight_take(f));
	cr_assert_eq(flight_next(f), 0);
}

/* Keys on one slot: each gets a read of its own, none shared wrongly. */
Test(flight, keys_that_collide_each_get_their_own_read)
{
	struct flight_wait	 w[FLIGHT_SLOTS + 1];
	struct flight		*f[FLIGHT_SLOTS + 1];
	uint8_t			 k[16];
	int			 i, start;

	flight_init(&t, 3);
	for (i = 0; i <= FLIGHT_SLOTS; i++) {
		key(k, 1000 + i);
		f[i] = flight_join(&t, &w[i], k, &start);
		cr_assert_eq(start, 1, "key %d", i);
	}
	/* At least two of 65 keys share one of 64 slots. */
	for (i = 0; i <= FLIGHT_SLOTS; i++) {
		cr_assert_eq(flight_take(f[i]), &w[i]);
		cr_assert_null(flight_take(f[i]));
		cr_assert_eq(flight_next(f[i]), 0);
	}
}

/*
 * Random joins, leaves and ends of reads over a few keys, with a clock:
 * each waiter answered must have joined before its read started, and
 * every waiter that stays is answered.
 */
Test(flight, no_waiter_is_answered_by_a_read_older_than_itself)
{
	struct flight_wait	 w[200];
	struct flight		*f[200], *inflight[4];
	long			 joined[200], started[4], clock = 0;
	int			 waiting[200], answered = 0, left = 0;
	uint8_t			 k[16];
	int			 i, j, n, start;

	flight_init(&t, 4);
	srand(42);
	memset(inflight, 0, sizeof(inflight));
	memset(waiting, 0, sizeof(waiting));
	for (n = 0; n < 200; n++) {
		j = rand() % 4;
		key(k, j);
		joined[n] = ++clock;
		f[n] = flight_join(&t, &w[n], k, &start);
		waiting[n] = 1;
		if (start) {
			inflight[j] = f[n];
			started[j] = ++clock;
		}
		if (rand() % 7 == 0 && n > 0) {
			i = rand() % n;
			if (waiting[i]) {
				flight_leave(&w[i]);
				waiting[i] = 0;
				left++;
			}
		}
		/* Some read ends. */
		j = rand() % 4;
		if (inflight[j] != NULL && rand() % 2 == 0) {
			struct flight_wait	*x;

			while ((x = flight_take(inflight[j])) != NULL) {
				i = (int)(x - w);
				cr_assert(waiting[i]);
				cr_assert_lt(joined[i], started[j],
				    "waiter %d joined at %ld, its read started "
				    "at %ld", i, joined[i], started[j]);
				waiting[i] = 0;
				answered++;
			}
			if (flight_next(inflight[j]))
				started[j] = ++clock;
			else
				inflight[j] = NULL;
		}
	}
	/* Drain. */
	for (j = 0; j < 4; j++) {
		while (inflight[j] != NULL) {
			struct flight_wait	*x;

			while ((x = flight_take(inflight[j])) != NULL) {
				i = (int)(x - w);
				cr_assert_lt(joined[i], started[j]);
				waiting[i] = 0;
				answered++;
			}
			if (flight_next(inflight[j]))
				started[j] = ++clock;
			else
				inflight[j] = NULL;
		}
	}
	cr_assert_eq(answered + left, 200);
	for (i = 0; i < 200; i++)
		cr_assert_not(waiting[i], "waiter %d never answered", i);
}
