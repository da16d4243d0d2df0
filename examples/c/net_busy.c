/*
 * net_busy.c - a guest for the migration benchmark (bench/migrate.sh): it
 * keeps writing memory while answering a UDP probe.
 *   hedge run --net tap:T --ip A.B.C.D/N net_busy.hvt PORT [MIB [LIFETIME_MS [WORDS]]]
 *
 * Every datagram that arrives on PORT is sent back unchanged, so a client can
 * measure how long the guest stops answering.  With MIB > 0 it fills a
 * buffer of MIB MiB and then rewrites WORDS 8-byte words (default 1, at
 * most 512: the whole page) in each of its pages, sweep after sweep, as fast
 * as it can: every page is dirty again within milliseconds, the worst case
 * for pre-copy - and with one word a page, the best case for sending pages
 * as deltas, with 512 the worst.  With MIB 0 it is idle,
 * waiting for datagrams.  It exits after LIFETIME_MS of its monotonic clock
 * (default: never), printing how many sweeps it made; a restored snapshot
 * whose clock has passed that exits at once.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_abi.h"
#include "hedge_net.h"

#define PAGE        4096u
#define CHUNK_PAGES 64u     /* pages written between two looks at the socket */
#define POLL_NS     200000u /* at most this long between two fetches of frames */

static void answer_all(int fd)
{
	static char buf[2048];
	for (;;) {
		struct hedge_sockaddr from;
		long n = hedge_recvfrom(fd, buf, sizeof(buf), HEDGE_MSG_DONTWAIT, &from);
		if (n < 0)
			return;
		hedge_sendto(fd, buf, (size_t)n, 0, from.ip, from.port);
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 0;
	size_t mib = argc > 2 ? strtoul(argv[2], NULL, 10) : 0;
	uint64_t lifetime_ms = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	size_t words = argc > 4 ? strtoul(argv[4], NULL, 10) : 1;
	if (port <= 0 || port > 65535 || words < 1 || words > PAGE / 8) {
		printf("usage: net_busy PORT [MIB [LIFETIME_MS [WORDS (1-512)]]]\n");
		return 2;
	}
	if (hedge_net_init() < 0) {
		printf("net_busy: no network interface\n");
		return 1;
	}
	int fd = hedge_socket(HEDGE_SOCK_UDP);
	if (fd < 0 || hedge_bind(fd, HEDGE_IP_ANY, (uint16_t)port) < 0) {
		printf("net_busy: cannot bind UDP port %d\n", port);
		return 1;
	}
	hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, 1);
	size_t pages = mib * (1u << 20) / PAGE;
	volatile uint64_t *buf = pages ? malloc(pages * PAGE) : NULL;
	if (pages && !buf) {
		printf("net_busy: cannot allocate %zu MiB\n", mib);
		return 1;
	}
	for (size_t i = 0; i < pages * PAGE / 8; i++)
		buf[i] = i | 1;
	uint64_t start = hedge_clock_monotonic_ns();
	uint64_t end = lifetime_ms ? start + lifetime_ms * 1000000 : UINT64_MAX;
	printf("net_busy: answering on UDP port %d, rewriting %zu MiB\n", port, mib);

	uint64_t sweeps = 0, polled = 0;
	size_t next = 0;
	struct hedge_pollfd pfd = {.fd = fd, .events = HEDGE_POLLIN};
	for (;;) {
		uint64_t now = hedge_clock_monotonic_ns();
		if (now >= end)
			break;
		if (!pages) {
			/* Idle: sleep until a datagram comes or the lifetime ends. */
			if (hedge_poll_sockets(&pfd, 1, (int64_t)(end - now)) > 0)
				answer_all(fd);
			continue;
		}
		for (size_t i = 0; i < CHUNK_PAGES; i++) {
			for (size_t w = 0; w < words; w++)
				buf[next * (PAGE / 8) + w] += 1;
			if (++next == pages) {
				next = 0;
				sweeps++;
			}
		}
		/*
		 * hedge_poll_sockets with no timeout only looks at frames already in
		 * the receive ring; the ring is refilled on a VM exit, so pay for one
		 * every POLL_NS, as a blocking server would when it waits.
		 */
		if (now - polled >= POLL_NS) {
			hedge_poll(HEDGE_EVENT_NET, 0);
			polled = now;
		}
		if (hedge_poll_sockets(&pfd, 1, 0) > 0)
			answer_all(fd);
	}
	printf("net_busy: %llu sweeps of %zu MiB\n", (unsigned long long)sweeps, mib);
	return 0;
}
