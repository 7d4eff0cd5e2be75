/*
 * Entity tags: SHA-256 of the answer's bytes, cut to 128 bits, and the
 * If-None-Match list parsed without allocating.
 */
#include <string.h>

#include <openssl/evp.h>

#include "etag.h"

#define ETAG_HASH_BYTES		16

int
etag_match(const char *inm, const char *etag)
{
	const char	*p, *start;
	size_t		 elen, n;

	if (inm == NULL || etag == NULL)
		return (0);
	elen = strlen(etag);
	p = inm;
	while (*p == ' ' || *p == '\t')
		p++;
	/* "*" is the whole value or nothing. */
	if (*p == '*') {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		return (*p == '\0');
	}
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			return (0);
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p != '"')
			return (0);
		start = p++;
		/* etagc: any visible byte but '"' (and obs-text). */
		while (*p != '"') {
			if (*p == '\0' || (unsigned char)*p < 0x21 ||
			    *p == 0x7f)
				return (0);
			p++;
		}
		p++;
		n = (size_t)(p - start);
		if (n == elen && memcmp(start, etag, n) == 0)
			return (1);
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return (0);
	}
}

void
etag_make(const void *body, size_t len, char out[ETAG_LEN + 1])
{
	static const char	hex[] = "0123456789abcdef";
	unsigned char		md[EVP_MAX_MD_SIZE];
	unsigned int		mdlen;
	size_t			i;

	mdlen = 0;
	if (EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < ETAG_HASH_BYTES)
		memset(md, 0, sizeof(md));
	out[0] = '"';
	for (i = 0; i < ETAG_HASH_BYTES; i++) {
		out[1 + i * 2] = hex[md[i] >> 4];
		out[2 + i * 2] = hex[md[i] & 0x0f];
	}
	out[ETAG_LEN - 1] = '"';
	out[ETAG_LEN] = '\0';
}
