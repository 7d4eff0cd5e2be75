/*
 * Shared reads ("single flight"): the waiters for one 16-byte key share
 * one read of it at a time.  A waiter that joins while its key's read is
 * in flight does not take that read's answer, which may predate it: it
 * waits for the next read, started when the current one ends, so every
 * waiter is answered by a read started after it joined.  A key whose
 * slot is held by another key's read gets a slot of its own for this
 * read (correct, not shared).  Pure code; the caller does the reads.
 */
#ifndef ELENCHUS_FLIGHT_H
#define ELENCHUS_FLIGHT_H

#include <sys/queue.h>

#include <stdint.h>

#define FLIGHT_SLOTS	64	/* power of two */

struct flight;

struct flight_wait {
	TAILQ_ENTRY(flight_wait) list;
	struct flight		*f;		/* NULL: not waiting */
	int			 in_next;
};

TAILQ_HEAD(flight_list, flight_wait);

/* One key's read in flight: cur are what it answers, next the later. */
struct flight {
	int			used;
	int			shared;		/* in the table, else malloc'd */
	uint8_t			key[16];
	struct flight_list	cur;
	struct flight_list	next;
};

struct flight_table {
	uint64_t		seed;
	struct flight		slot[FLIGHT_SLOTS];
};

void		 flight_init(struct flight_table *, uint64_t seed);
/*
 * w waits for a read of key.  Returns the flight; *start is 1 when the
 * caller must start its read now, 0 when one is in flight already.
 * NULL: out of memory.
 */
struct flight	*flight_join(struct flight_table *, struct flight_wait *,
		    const uint8_t *, int *);
/* w stops waiting (no-op when it is not). */
void		 flight_leave(struct flight_wait *);
/* The read of f has ended: its next waiter to answer, NULL when none. */
struct flight_wait *flight_take(struct flight *);
/*
 * After every flight_take: 1 when the waiters that came during the read
 * are now f's and the caller must start the next read; 0 when f is done
 * (and may be freed: do not use it again).
 */
int		 flight_next(struct flight *);

#endif
