/*
 * Shared reads (flight.h).  Slots are direct-mapped by a seeded FNV-1a
 * of the key.
 */
#include <stdlib.h>
#include <string.h>

#include "flight.h"
#include "fnv.h"

void
flight_init(struct flight_table *t, uint64_t seed)
{
	memset(t, 0, sizeof(*t));
	t->seed = seed;
}

struct flight *
flight_join(struct flight_table *t, struct flight_wait *w,
    const uint8_t *key, int *start)
{
	struct flight	*f;

	f = &t->slot[fnv1a64(t->seed, key, 16) & (FLIGHT_SLOTS - 1)];
	if (f->used && memcmp(f->key, key, sizeof(f->key)) == 0) {
		/* Its read started before w came: w waits for the next. */
		TAILQ_INSERT_TAIL(&f->next, w, list);
		w->in_next = 1;
		w->f = f;
		*start = 0;
		return (f);
	}
	if (f->used) {
		if ((f = calloc(1, sizeof(*f))) == NULL)
			return (NULL);
	} else
		f->shared = 1;
	f->used = 1;
	memcpy(f->key, key, sizeof(f->key));
	TAILQ_INIT(&f->cur);
	TAILQ_INIT(&f->next);
	TAILQ_INSERT_TAIL(&f->cur, w, list);
	w->in_next = 0;
	w->f = f;
	*start = 1;
	return (f);
}

void
flight_leave(struct flight_wait *w)
{
	if (w->f == NULL)
		return;
	if (w->in_next)
		TAILQ_REMOVE(&w->f->next, w, list);
	else
		TAILQ_REMOVE(&w->f->cur, w, list);
	w->f = NULL;
}

struct flight_wait *
flight_take(struct flight *f)
{
	struct flight_wait	*w;

	if ((w = TAILQ_FIRST(&f->cur)) != NULL) {
		TAILQ_REMOVE(&f->cur, w, list);
		w->f = NULL;
	}
	return (w);
}

int
flight_next(struct flight *f)
{
	struct flight_wait	*w;

	if (!TAILQ_EMPTY(&f->next)) {
		TAILQ_CONCAT(&f->cur, &f->next, list);
		for (w = TAILQ_FIRST(&f->cur); w != NULL;
		    w = TAILQ_NEXT(w, list))
			w->in_next = 0;
		return (1);
	}
	f->used = 0;
	if (!f->shared)
		free(f);
	return (0);
}
