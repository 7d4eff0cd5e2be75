/*
 * Writing JSON by hand where it is hot: a string escaper whose output is
 * what PostgreSQL's json functions produce for the same text, and the
 * RFC 3339 UTC millisecond form of rfc3339() in sql/001_foundation.sql.
 */
#ifndef ELENCHUS_JSONW_H
#define ELENCHUS_JSONW_H

#include <stddef.h>
#include <stdint.h>

/* Room jsonw_escape needs for len input bytes: "\u00XX" each, quotes. */
#define JSONW_ESC_MAX(len)	((len) * 6 + 2)

/* "-292277-01-01T00:00:00.000Z" and a NUL, rounded up. */
#define JSONW_TS_MAX		40

size_t	jsonw_escape_len(const char *, size_t);
size_t	jsonw_escape(char *, const char *, size_t);
size_t	jsonw_rfc3339(char *, int64_t);
/*
 * us microseconds as milliseconds the way jansson writes the real
 * us / 1000.0 (JSON_REAL_PRECISION(6): "%.6g", ".0" when it looks like an
 * integer) into out (len bytes, NUL terminated).  Under one second only
 * (every digit then fits in six); 0 when us is not, or len too small.
 */
size_t	jsonw_ms(char *, size_t, uint64_t);

#endif
