/*
 * fuzz.h -- shared bits of the libFuzzer targets in tests/fuzz.  Each
 * target feeds untrusted bytes to one parser and aborts when an invariant
 * of its answer breaks; ASan and UBSan catch the rest.
 */
#ifndef ELENCHUS_FUZZ_H
#define ELENCHUS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_CHECK(c) do {						\
	if (!(c)) {							\
		fprintf(stderr, "invariant failed: %s (%s:%d)\n", #c,	\
		    __FILE__, __LINE__);				\
		abort();						\
	}								\
} while (0)

/* The input as a NUL-terminated string (caller frees). */
static inline char *
fuzz_str(const uint8_t *data, size_t len)
{
	char	*s;

	if ((s = malloc(len + 1)) == NULL)
		abort();
	memcpy(s, data, len);
	s[len] = '\0';
	return (s);
}

#endif
