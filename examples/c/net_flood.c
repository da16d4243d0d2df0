/*
 * net_flood.c - sends UDP datagrams as fast as it can for a while.
 *
 * Usage: net_flood [SECONDS] (default 3).  The target is host .1 of the
 * interface's network, port 9 (discard).  Used to check that a guest
 * flooding the network cannot stall its monitor: the control socket must
 * keep answering and the VM must still end on time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_net.h"

int main(int argc, char **argv)
{
	uint64_t seconds = argc > 1 ? strtoul(argv[1], NULL, 10) : 3;
	if (hedge_net_init() != 0) {
		printf("net_flood: no network interface\n");
		return 1;
	}
	struct hedge_net_config cfg;
	hedge_net_config(&cfg);
	/* Host .1 of our network: in network byte order the last octet is the high byte. */
	uint32_t target = (cfg.ip & cfg.netmask) | HEDGE_IPV4(0, 0, 0, 1);
	int fd = hedge_socket(HEDGE_SOCK_UDP);
	if (fd < 0) {
		printf("net_flood: socket failed (%d)\n", fd);
		return 1;
	}
	static char payload[1400];
	memset(payload, 0x5a, sizeof(payload));
	printf("net_flood: flooding for %lu s\n", (unsigned long)seconds);
	fflush(stdout);
	uint64_t deadline = hedge_clock_monotonic_ns() + seconds * 1000000000ull;
	uint64_t sent = 0, refused = 0;
	while (hedge_clock_monotonic_ns() < deadline) {
		long n = hedge_sendto(fd, payload, sizeof(payload), HEDGE_MSG_DONTWAIT, target, 9);
		if (n == (long)sizeof(payload))
			sent++;
		else
			refused++;
		if ((sent + refused) % 64 == 0)
			hedge_net_poll(0);
	}
	printf("net_flood: sent %lu datagrams (%lu refused), %lu exits\n", (unsigned long)sent,
	       (unsigned long)refused, (unsigned long)hedge_net_exits());
	return sent > 0 ? 0 : 1;
}
