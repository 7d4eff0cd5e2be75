/*
 * Hexadecimal digits to bytes: the one decoder for trace ids, UUIDs,
 * bytea text and percent-encoding.
 */
#ifndef ELENCHUS_HEX_H
#define ELENCHUS_HEX_H

#include <stddef.h>
#include <stdint.h>

/* hex_decode: refuse upper-case digits (W3C Trace Context). */
#define HEX_LOWER		0x01

/* The value of one hex digit (either case), or -1. */
int	hex_val(int c);

/*
 * n bytes into out from the 2n hex digits at s (not NUL-terminated):
 * 0, or -1 on a character that is no (allowed) digit; out may then be
 * partly written.
 */
int	hex_decode(const char *s, uint8_t *out, size_t n, int flags);

#endif
