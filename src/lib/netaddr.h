/*
 * Client addresses: which peers are trusted proxies, and the client IP
 * taken from X-Forwarded-For only behind one.
 */
#ifndef ELENCHUS_NETADDR_H
#define ELENCHUS_NETADDR_H

#include <stddef.h>

#include "config.h"

#define NETADDR_STRLEN		46	/* INET6_ADDRSTRLEN */
#define NETADDR_XFF_MAX		2048	/* longest X-Forwarded-For we read */

int	netaddr_trusted(const struct config *cfg, const char *ip);
void	netaddr_client_ip(const struct config *cfg, const char *peer,
	    const char *xff, char *out, size_t outlen);

#endif
