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

/* A schedule of joins, leaves and ends of reads, with a clock. */
#define SIM_N		200
#define SIM_KEYS	4

struct sim {
	struct flight_wait	 w[SIM_N];
	struct flight		*inflight[SIM_KEYS];
	long			 joined[SIM_N], started[SIM_KEYS], clock;
	int			 waiting[SIM_N], answered, left;
};

static struct sim	sim;

/* The read of key j ends: whom it answers joined before it started. */
static void
sim_end(struct sim *m, int j)
{
	struct flight_wait	*x;
	int			 i;

	while ((x = flight_take(m->inflight[j])) != NULL) {
		i = (int)(x - m->w);
		cr_assert(m->waiting[i], "waiter %d answered twice", i);
		cr_assert_lt(m->joined[i], m->started[j], "waiter %d joined "
		    "at %ld, its read started at %ld", i, m->joined[i],
		    m->started[j]);
		m->waiting[i] = 0;
		m->answered++;
	}
	if (flight_next(m->inflight[j]))
		m->started[j] = ++m->clock;
	else
		m->inflight[j] = NULL;
}

/*
 * Random joins, leaves and ends of reads over a few keys: each waiter
 * answered must have joined before its read started, and every waiter
 * that stays is answered.
 */
Test(flight, no_waiter_is_answered_by_a_read_older_than_itself)
{
	struct sim	*m = &sim;
	uint8_t		 k[16];
	int		 i, j, n, start;

	flight_init(&t, 4);
	srand(42);
	memset(m, 0, sizeof(*m));
	for (n = 0; n < SIM_N; n++) {
		j = rand() % SIM_KEYS;
		key(k, j);
		m->joined[n] = ++m->clock;
		cr_assert_not_null(flight_join(&t, &m->w[n], k, &start));
		m->waiting[n] = 1;
		if (start) {
			m->inflight[j] = m->w[n].f;
			m->started[j] = ++m->clock;
		}
		i = rand() % (n + 1);
		if (rand() % 7 == 0 && i < n && m->waiting[i]) {
			flight_leave(&m->w[i]);
			m->waiting[i] = 0;
			m->left++;
		}
		j = rand() % SIM_KEYS;
		if (m->inflight[j] != NULL && rand() % 2 == 0)
			sim_end(m, j);
	}
	for (j = 0; j < SIM_KEYS; j++)
		while (m->inflight[j] != NULL)
			sim_end(m, j);
	cr_assert_eq(m->answered + m->left, SIM_N);
	for (i = 0; i < SIM_N; i++)
		cr_assert_not(m->waiting[i], "waiter %d never answered", i);
}
