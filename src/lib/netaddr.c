/*
 * Client IP selection.  X-Forwarded-For is walked from the right: each hop
 * appended by a trusted proxy is skipped, the first untrusted address is
 * the client.  A peer that is not a trusted proxy is the client itself.
 *
 * The walk starts at the true end of the whole header (the hops our
 * proxies append are there, however much the client padded the left)
 * and is bounded by hops, not bytes: at most NETADDR_XFF_HOPS addresses
 * are looked at.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "netaddr.h"

static int	netaddr_match(const struct config_cidr *, int,
		    const unsigned char *);
static int	netaddr_valid(const char *);

int
netaddr_trusted(const struct config *cfg, const char *ip)
{
	unsigned char	addr[16];
	int		family, i;

	if (inet_pton(AF_INET, ip, addr) == 1)
		family = AF_INET;
	else if (inet_pton(AF_INET6, ip, addr) == 1)
		family = AF_INET6;
	else
		return (0);

	for (i = 0; i < cfg->n_trusted; i++) {
		if (netaddr_match(&cfg->trusted[i], family, addr))
			return (1);
	}
	return (0);
}

void
netaddr_client_ip(const struct config *cfg, const char *peer,
    const char *xff, char *out, size_t outlen)
{
	char		hop[NETADDR_STRLEN + 1];
	const char	*end, *start;
	size_t		len, n;
	int		hops;

	(void)snprintf(out, outlen, "%s", peer);
	if (xff == NULL || !netaddr_trusted(cfg, peer))
		return;

	len = strlen(xff);
	end = xff + len;
	for (hops = 0; end > xff && hops < NETADDR_XFF_HOPS; hops++) {
		start = end;
		while (start > xff && start[-1] != ',')
			start--;
		n = (size_t)(end - start);
		end = (start > xff) ? start - 1 : xff;
		while (n > 0 && isspace((unsigned char)*start)) {
			start++;
			n--;
		}
		while (n > 0 && isspace((unsigned char)start[n - 1]))
			n--;
		if (n == 0 || n > NETADDR_STRLEN)
			return;
		memcpy(hop, start, n);
		hop[n] = '\0';
		if (!netaddr_valid(hop))
			return;
		(void)snprintf(out, outlen, "%s", hop);
		if (!netaddr_trusted(cfg, hop))
			return;
	}
}

/*
 * The key per-IP limits count under: an IPv4 address as it is (an
 * IPv4-mapped IPv6 address as its IPv4), an IPv6 address as its /64,
 * which one subscriber usually holds whole.  Anything else as given.
 */
void
netaddr_limit_key(const char *ip, char *out, size_t outlen)
{
	unsigned char	addr[16];
	char		buf[NETADDR_STRLEN + 1];

	if (inet_pton(AF_INET6, ip, addr) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)addr)) {
			if (inet_ntop(AF_INET, addr + 12, buf,
			    sizeof(buf)) != NULL) {
				(void)snprintf(out, outlen, "%s", buf);
				return;
			}
		}
		memset(addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, addr, buf, sizeof(buf)) != NULL) {
			(void)snprintf(out, outlen, "%s/64", buf);
			return;
		}
	}
	(void)snprintf(out, outlen, "%s", ip);
}

static int
netaddr_valid(const char *ip)
{
	unsigned char	tmp[16];

	return (inet_pton(AF_INET, ip, tmp) == 1 ||
	    inet_pton(AF_INET6, ip, tmp) == 1);
}

static int
netaddr_match(const struct config_cidr *c, int family,
    const unsigned char *addr)
{
	int		bytes, bits;
	unsigned char	mask;

	if (c->family != family)
		return (0);
	bytes = c->prefix / 8;
	bits = c->prefix % 8;
	if (memcmp(c->addr, addr, (size_t)bytes) != 0)
		return (0);
	if (bits == 0)
		return (1);
	mask = (unsigned char)(0xff << (8 - bits));
	return ((c->addr[bytes] & mask) == (addr[bytes] & mask));
}
