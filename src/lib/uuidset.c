/*
 * The UUID set (see uuidset.h).  Random UUIDs' bytes are already
 * uniform, so the hash is a multiply of the first eight.  Allocation
 * failure aborts, as kore_calloc does in the server.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uuidset.h"

/* The smallest table: two slots, so one key fits at load 1/2. */
#define UUIDSET_MIN_CAP		2

static void	uuidset_put(struct uuidset_entry *, size_t, size_t *,
		    const uint8_t [16], int64_t);
static void	uuidset_rebuild(struct uuidset *, size_t, int64_t);

void
uuidset_init(struct uuidset *s, size_t min_cap, size_t max_count)
{
	memset(s, 0, sizeof(*s));
	s->min_cap = min_cap;
	s->max_count = max_count;
	uuidset_rebuild(s, min_cap, 0);
}

void
uuidset_free(struct uuidset *s)
{
	free(s->tab);
	memset(s, 0, sizeof(*s));
}

size_t
uuidset_hash(const uint8_t key[16], size_t cap)
{
	uint64_t	h;

	memcpy(&h, key, sizeof(h));
	return ((size_t)(h * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1));
}

int
uuidset_has(const struct uuidset *s, const uint8_t key[16])
{
	size_t		i;

	if (s->tab == NULL)
		return (0);
	for (i = uuidset_hash(key, s->cap); ; i = (i + 1) & (s->cap - 1)) {
		if (s->tab[i].at == 0)
			return (0);
		if (!memcmp(s->tab[i].key, key, 16))
			return (1);
	}
}

int
uuidset_add(struct uuidset *s, const uint8_t key[16], int64_t at)
{
	if (at <= 0)
		at = 1;
	if ((s->count + 1) * 2 > s->cap) {
		if (s->cap > s->max_count) {
			s->overflow = 1;
			return (-1);
		}
		uuidset_rebuild(s, s->cap * 2, 0);
	}
	uuidset_put(s->tab, s->cap, &s->count, key, at);
	return (0);
}

void
uuidset_prune(struct uuidset *s, int64_t oldest)
{
	uuidset_rebuild(s, s->cap, oldest);
}

void
uuidset_reset_overflow(struct uuidset *s)
{
	s->overflow = 0;
}

/* Insert into tab, counting a new key in *count. */
static void
uuidset_put(struct uuidset_entry *tab, size_t cap, size_t *count,
    const uint8_t key[16], int64_t at)
{
	size_t		i;

	for (i = uuidset_hash(key, cap); ; i = (i + 1) & (cap - 1)) {
		if (tab[i].at == 0) {
			memcpy(tab[i].key, key, 16);
			tab[i].at = at;
			(*count)++;
			return;
		}
		if (!memcmp(tab[i].key, key, 16)) {
			if (at > tab[i].at)
				tab[i].at = at;
			return;
		}
	}
}

/* Rehash into about cap slots, dropping keys older than oldest. */
static void
uuidset_rebuild(struct uuidset *s, size_t cap, int64_t oldest)
{
	struct uuidset_entry	*old, *tab;
	size_t			 i, oldcap, live;

	old = s->tab;
	oldcap = s->cap;
	for (i = 0, live = 0; i < oldcap; i++) {
		if (old[i].at != 0 && old[i].at >= oldest)
			live++;
	}
	while (cap > s->min_cap && live * 8 < cap)
		cap /= 2;
	if (cap < UUIDSET_MIN_CAP)
		cap = UUIDSET_MIN_CAP;
	while (live * 2 > cap)
		cap *= 2;

	if ((tab = calloc(cap, sizeof(*tab))) == NULL) {
		fprintf(stderr, "uuidset: out of memory\n");
		abort();
	}
	s->tab = tab;
	s->cap = cap;
	s->count = 0;
	for (i = 0; i < oldcap; i++) {
		if (old[i].at != 0 && old[i].at >= oldest)
			uuidset_put(tab, cap, &s->count, old[i].key, old[i].at);
	}
	free(old);
}
