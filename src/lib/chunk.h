/*
 * chunk.h -- split extracted text into chunks of about CHUNK_TARGET code
 * points on natural boundaries, with exact code point offsets.
 */

#ifndef ELENCHUS_CHUNK_H
#define ELENCHUS_CHUNK_H

#include <stddef.h>

/* Chunk lengths, in Unicode code points. */
#define CHUNK_TARGET	1000	/* aim for this */
#define CHUNK_MIN	500	/* a natural break shorter than this is a
				   last resort */
#define CHUNK_MAX	1200	/* never longer */

struct chunk_params {
	size_t	target;
	size_t	min;
	size_t	max;
};

/*
 * One chunk.  Offsets are into the text passed to chunk_split: bytes, and
 * code points as Python's str counts them (end exclusive), so
 * text[start_char:end_char] == the chunk's content.  A chunk never begins
 * or ends with whitespace; the whitespace between chunks belongs to none.
 * page_start/page_end are 1-based, 0 when no page offsets were given.
 */
struct chunk_span {
	size_t	byte_off;
	size_t	byte_len;
	size_t	start_char;
	size_t	end_char;
	int	page_start;
	int	page_end;
};

/*
 * Split text[0..len) (UTF-8; must be valid) into chunks.  page_starts, if
 * npages > 0, holds the code point offset where each page begins, in
 * ascending order (the first normally 0).  On success returns 0 and sets
 * *out to a malloc'd array of *nout spans (NULL and 0 for text with no
 * non-whitespace); the caller frees *out.  Returns -1 on invalid UTF-8,
 * bad parameters or allocation failure.
 */
int	chunk_split(const char *text, size_t len, const size_t *page_starts,
	    size_t npages, struct chunk_span **out, size_t *nout);

/* As chunk_split with explicit sizes (1 <= min <= target <= max). */
int	chunk_split_params(const char *text, size_t len,
	    const size_t *page_starts, size_t npages,
	    const struct chunk_params *params, struct chunk_span **out,
	    size_t *nout);

/* 1-based page holding code point offset pos, 0 when npages is 0. */
int	chunk_page_of(const size_t *page_starts, size_t npages, size_t pos);

#endif /* ELENCHUS_CHUNK_H */
