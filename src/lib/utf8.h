/*
 * Strict UTF-8 validation and code point counting (RFC 3629): no
 * overlong forms, no surrogates, nothing above U+10FFFF.
 */
#ifndef ELENCHUS_UTF8_H
#define ELENCHUS_UTF8_H

#include <sys/types.h>

#include <stddef.h>

int	utf8_valid(const char *, size_t);
ssize_t	utf8_codepoints(const char *, size_t);
size_t	utf8_decode(const char *, size_t, unsigned int *);
/* Largest n <= max (and <= len) that does not split a sequence. */
size_t	utf8_clip(const char *, size_t, size_t);
/* Bytes of the first max code points of a string. */
size_t	utf8_head(const char *, size_t);

#endif
