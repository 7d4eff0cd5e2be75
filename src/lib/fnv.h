/*
 * A seeded FNV-1a of a byte string, for picking a slot in a worker's
 * direct-mapped caches (jwtcache, vcache): the seed is random per worker,
 * so nobody outside can aim two keys at one slot.
 */
#ifndef ELENCHUS_FNV_H
#define ELENCHUS_FNV_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t
fnv1a64(uint64_t seed, const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 h;
	size_t			 i;

	h = 14695981039346656037ULL ^ seed;
	for (i = 0; i < len; i++)
		h = (h ^ s[i]) * 1099511628211ULL;
	return (h ^ (h >> 29));
}

#endif
