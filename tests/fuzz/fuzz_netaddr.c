/*
 * The X-Forwarded-For walk: whatever the header, the client address is
 * the peer or one of the header's hops, and a valid address.
 */
#include <arpa/inet.h>

#include "config.h"
#include "netaddr.h"
#include "fuzz.h"

static struct config	cfg;

static int
valid_ip(const char *s)
{
	unsigned char	a[16];

	return (inet_pton(AF_INET, s, a) == 1 ||
	    inet_pton(AF_INET6, s, a) == 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static const char *const peers[] = { "127.0.0.2", "10.1.2.3",
	    "::1", "203.0.113.9" };
	char		 out[NETADDR_STRLEN + 1], *xff;
	const char	*peer;

	if (cfg.n_trusted == 0) {
		if (config_parse_cidr("127.0.0.0/8", &cfg.trusted[0]) == -1 ||
		    config_parse_cidr("10.0.0.0/8", &cfg.trusted[1]) == -1 ||
		    config_parse_cidr("::1/128", &cfg.trusted[2]) == -1 ||
		    config_parse_cidr("fd00::/8", &cfg.trusted[3]) == -1)
			abort();
		cfg.n_trusted = 4;
	}
	if (len == 0)
		return (0);
	peer = peers[data[0] % 4];
	xff = fuzz_str(data + 1, len - 1);
	netaddr_client_ip(&cfg, peer, xff, out, sizeof(out));
	FUZZ_CHECK(valid_ip(out));
	FUZZ_CHECK(strcmp(out, peer) == 0 || strstr(xff, out) != NULL);
	/* An untrusted peer is the client, whatever it says. */
	if (!netaddr_trusted(&cfg, peer))
		FUZZ_CHECK(strcmp(out, peer) == 0);
	free(xff);
	return (0);
}
