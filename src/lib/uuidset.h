/*
 * A set of 16-byte keys (UUIDs) with a time each, by open addressing at
 * a load factor of at most 1/2: 24 bytes a slot.  It grows up to a cap;
 * past the cap it refuses new keys and says so (overflow), so a caller
 * whose correctness needs every key knows the set is incomplete.
 */
#ifndef ELENCHUS_UUIDSET_H
#define ELENCHUS_UUIDSET_H

#include <stddef.h>
#include <stdint.h>

struct uuidset_entry {
	uint8_t		key[16];
	int64_t		at;		/* > 0; 0 marks a free slot */
};

struct uuidset {
	struct uuidset_entry	*tab;
	size_t			cap;		/* slots, a power of two */
	size_t			count;
	size_t			min_cap;
	size_t			max_count;
	int			overflow;	/* a key was refused */
};

/* Empty, with min_cap slots (a power of two), holding up to max_count. */
void	uuidset_init(struct uuidset *, size_t min_cap, size_t max_count);
void	uuidset_free(struct uuidset *);

/* 1 when key is in the set. */
int	uuidset_has(const struct uuidset *, const uint8_t [16]);

/*
 * Add key (or raise its time to at; at <= 0 counts as 1): 0, or -1 when
 * the set is full (overflow is then set).
 */
int	uuidset_add(struct uuidset *, const uint8_t [16], int64_t at);

/* Drop the keys older than oldest and shrink the table to fit. */
void	uuidset_prune(struct uuidset *, int64_t oldest);

/* Clear overflow (the caller is reloading every key). */
void	uuidset_reset_overflow(struct uuidset *);

/* The slot for key in a table of cap slots (a power of two). */
size_t	uuidset_hash(const uint8_t [16], size_t cap);

#endif
