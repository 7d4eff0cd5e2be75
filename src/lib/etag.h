/*
 * Entity tags for conditional GETs: a strong tag from the bytes of an
 * answer, and the If-None-Match test.  Pure code (OpenSSL for SHA-256).
 */
#ifndef ELENCHUS_ETAG_H
#define ELENCHUS_ETAG_H

#include <stddef.h>

/* A quoted tag: '"' + 32 hex digits (128 bits of SHA-256) + '"'. */
#define ETAG_LEN		34

/* The tag of body[0..len) into out (NUL-terminated). */
void	etag_make(const void *body, size_t len, char out[ETAG_LEN + 1]);

/*
 * Does an If-None-Match value (a comma-separated list of tags, each
 * maybe weak "W/", or "*") match etag?  Weak comparison, as RFC 9110
 * asks for If-None-Match.  A malformed value matches nothing.
 */
int	etag_match(const char *if_none_match, const char *etag);

#endif
