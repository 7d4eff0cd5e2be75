/*
 * Client addresses: which peers are trusted proxies, and the client IP
 * taken from X-Forwarded-For only behind one.
 */
#ifndef ELENCHUS_NETADDR_H
#define ELENCHUS_NETADDR_H

#include <stddef.h>

#include "config.h"

#define NETADDR_STRLEN		46	/* INET6_ADDRSTRLEN */
#define NETADDR_XFF_HOPS	16	/* X-Forwarded-For hops looked at */
/* A per-IP limit key: "a.b.c.d" or "x:x:x:x::/64". */
#define NETADDR_KEYLEN		(NETADDR_STRLEN + 4)

int	netaddr_trusted(const struct config *cfg, const char *ip);
void	netaddr_client_ip(const struct config *cfg, const char *peer,
	    const char *xff, char *out, size_t outlen);
void	netaddr_limit_key(const char *ip, char *out, size_t outlen);

#endif
