/*
 * net_client.c - host-side TCP echo client for the network tests.
 *
 *   net_client echo IP PORT BYTES [CONNECTIONS [TIMEOUT_S]]
 *   net_client garbage IFNAME DST_MAC DST_IP PORT COUNT [SEED]
 *
 * Opens CONNECTIONS connections at once (default 1), sends BYTES of
 * pseudo-random data on each, and checks that exactly the same bytes come
 * back: each connection's stream is regenerated from its seed and compared
 * byte for byte, and the FNV-1a checksums of what was sent and what came
 * back are printed.  Everything is bounded by TIMEOUT_S (default 60).
 * Exits 0 on success, 1 on a mismatch, error or timeout.
 *
 * garbage writes COUNT malformed Ethernet frames to interface IFNAME (the
 * host end of the guest's TAP device, inside the test's namespace): random
 * bytes, and mutated ARP, ICMP, UDP, TCP and IPv4-fragment packets aimed at
 * DST_IP, half of them with their checksums fixed up so that they get past
 * the checksum checks into the protocol code.  The test then checks that
 * the guest still answers.
 *
 * Written in C because the test machines need not have python or netcat.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int connected;
	uint64_t sent, received;
	uint64_t seed;           /* of the data this connection sends */
	uint64_t tx_sum, rx_sum; /* FNV-1a of the bytes sent and received */
};

/* Byte pos of a connection's stream: a hash of (seed, pos / 8), so any range can be regenerated. */
static void stream(uint64_t seed, uint64_t pos, uint8_t *buf, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++, pos++) {
		if (i == 0 || pos % 8 == 0) {
			uint64_t z = seed + (pos / 8) * 0x9e3779b97f4a7c15ull;
			z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
			z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
			v = z ^ (z >> 31);
		}
		buf[i] = (uint8_t)(v >> (8 * (pos % 8)));
	}
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fail(const char *what, int conn)
{
	fprintf(stderr, "net_client: connection %d: %s\n", conn, what);
	return 1;
}

static int run_echo(const char *ip, int port, uint64_t bytes, int nconns, int timeout_s)
{
	struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
		fprintf(stderr, "net_client: bad address %s\n", ip);
		return 1;
	}
	struct conn *c = calloc((size_t)nconns, sizeof(*c));
	struct pollfd *pfd = calloc((size_t)nconns, sizeof(*pfd));
	if (!c || !pfd)
		return 1;
	for (int i = 0; i < nconns; i++) {
		c[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (c[i].fd < 0)
			return fail(strerror(errno), i);
		int one = 1;
		setsockopt(c[i].fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(c[i].fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 &&
		    errno != EINPROGRESS)
			return fail(strerror(errno), i);
		c[i].seed = 0x2545f4914f6cdd1dull * (uint64_t)(i + 1);
		c[i].tx_sum = c[i].rx_sum = 0xcbf29ce484222325ull;
	}
	static uint8_t out[65536], in[65536], want[65536];
	double start = now_s(), deadline = start + timeout_s;
	int done = 0;
	while (done < nconns) {
		int left_ms = (int)((deadline - now_s()) * 1000);
		if (left_ms <= 0) {
			uint64_t got = 0;
			for (int i = 0; i < nconns; i++)
				got += c[i].received;
			fprintf(
			    stderr,
			    "net_client: timed out after %d s (%d of %d done, %llu bytes back)\n",
			    timeout_s, done, nconns, (unsigned long long)got);
			return 1;
		}
		for (int i = 0; i < nconns; i++) {
			pfd[i].fd = c[i].received == bytes ? -1 : c[i].fd;
			pfd[i].events =
			    POLLIN | (c[i].sent < bytes || !c[i].connected ? POLLOUT : 0);
		}
		if (poll(pfd, (nfds_t)nconns, left_ms < 100 ? left_ms : 100) < 0 && errno != EINTR)
			return fail(strerror(errno), -1);
		for (int i = 0; i < nconns; i++) {
			struct conn *k = &c[i];
			if (pfd[i].fd < 0 || !pfd[i].revents)
				continue;
			if (!k->connected && (pfd[i].revents & (POLLOUT | POLLERR | POLLHUP))) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(k->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err)
					return fail(strerror(err), i);
				k->connected = 1;
			}
			if (k->connected && k->sent < bytes && (pfd[i].revents & POLLOUT)) {
				uint64_t n =
				    bytes - k->sent < sizeof(out) ? bytes - k->sent : sizeof(out);
				stream(k->seed, k->sent, out, (size_t)n);
				ssize_t w = send(k->fd, out, (size_t)n, MSG_NOSIGNAL);
				if (w < 0 && errno != EAGAIN)
					return fail(strerror(errno), i);
				if (w > 0) {
					k->tx_sum = fnv(k->tx_sum, out, (size_t)w);
					k->sent += (uint64_t)w;
				}
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = recv(k->fd, in, sizeof(in), 0);
				if (r < 0 && errno != EAGAIN)
					return fail(strerror(errno), i);
				if (r == 0)
					return fail(
					    "closed by the server before everything came back", i);
				if (r > 0) {
					if (k->received + (uint64_t)r > bytes)
						return fail("more bytes came back than were sent",
						            i);
					size_t n = (size_t)r;
					stream(k->seed, k->received, want, n);
					if (memcmp(want, in, n) != 0)
						return fail(
						    "echoed data differs from what was sent", i);
					k->rx_sum = fnv(k->rx_sum, in, n);
					k->received += (uint64_t)r;
					if (k->received == bytes) {
						if (k->rx_sum != k->tx_sum)
							return fail("checksums differ", i);
						close(k->fd);
						done++;
					}
				}
			}
		}
	}
	double secs = now_s() - start;
	printf("echo ok: %d connection(s) x %llu bytes, checksum %016llx, %.3f s, %.1f MB/s\n",
	       nconns, (unsigned long long)bytes, (unsigned long long)c[0].tx_sum, secs,
	       (double)bytes * nconns / secs / 1e6);
	return 0;
}

/* --- garbage frames --- */

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static uint16_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		sum += (uint32_t)(p[n - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Recomputes the IPv4 header checksum and, for TCP/UDP/ICMP, the payload's. */
static void fix_checksums(uint8_t *ip, size_t len)
{
	if (len < 20)
		return;
	size_t ihl = (size_t)(ip[0] & 15) * 4;
	if (ihl < 20 || ihl > len)
		return;
	put16(ip + 10, 0);
	put16(ip + 10, (uint16_t)~csum_add(0, ip, ihl));
	uint8_t *l4 = ip + ihl;
	size_t l4len = len - ihl;
	uint8_t proto = ip[9];
	size_t off = proto == 6 ? 16 : proto == 17 ? 6 : proto == 1 ? 2 : 0;
	if (!off || l4len < off + 2)
		return;
	put16(l4 + off, 0);
	uint32_t sum = 0;
	if (proto != 1) {
		uint8_t pseudo[12];
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = proto;
		put16(pseudo + 10, (uint16_t)l4len);
		sum = csum_add(0, pseudo, sizeof(pseudo));
	}
	put16(l4 + off, (uint16_t)~csum_add(sum, l4, l4len));
}

static size_t make_frame(uint8_t *f, const uint8_t dst_mac[6], uint32_t dst_ip, uint16_t port)
{
	static const uint8_t src_mac[6] = {0x02, 0x00, 0x00, 0x77, 0x00, 0x01};
	uint32_t kind = rnd() % 8;
	if (kind == 0) {
		/* Anything at all, any length the TAP carries. */
		size_t len = rnd() % 1515;
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)rnd();
		return len;
	}
	memcpy(f, rnd() % 4 ? dst_mac : (const uint8_t[6]){0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, 6);
	memcpy(f + 6, src_mac, 6);
	if (kind == 1) {
		/* ARP with random operation, addresses and lengths. */
		put16(f + 12, 0x0806);
		size_t len = 14 + rnd() % 40;
		for (size_t i = 14; i < len; i++)
			f[i] = (uint8_t)rnd();
		if (rnd() % 2) {
			const uint8_t head[8] = {0, 1, 8, 0, 6, 4, 0, (uint8_t)(1 + rnd() % 2)};
			memcpy(f + 14, head, len - 14 < 8 ? len - 14 : 8);
		}
		return len;
	}
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14;
	size_t payload = rnd() % 1481;
	size_t len = 20 + payload;
	for (size_t i = 0; i < len; i++)
		ip[i] = (uint8_t)rnd();
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(rnd() % 8 ? len : rnd()));
	put16(ip + 6, kind == 2 ? (uint16_t)(rnd() & 0x3fff) : 0x4000); /* fragments */
	ip[8] = 64;
	ip[9] = kind == 3 ? 1 : kind == 4 ? 17 : 6;
	uint32_t src = htonl(0x0a4d0000u | (rnd() % 254 + 1)); /* 10.77.0.x */
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst_ip, 4);
	uint8_t *l4 = ip + 20;
	if (ip[9] == 6 && payload >= 20) {
		put16(l4 + 2, rnd() % 2 ? port : (uint16_t)rnd());
		l4[12] = (uint8_t)((5 + rnd() % 11) << 4);    /* data offset, maybe with options */
		l4[13] = (uint8_t)(rnd() % 2 ? 0x02 : rnd()); /* SYN, or any flags */
	} else if (ip[9] == 1 && payload >= 8) {
		l4[0] = rnd() % 2 ? 8 : (uint8_t)rnd(); /* echo request */
	} else if (ip[9] == 17 && payload >= 8) {
		put16(l4 + 4, (uint16_t)(rnd() % 2 ? payload : rnd()));
	}
	/* A few flipped header bits, then usually valid checksums. */
	for (uint32_t n = rnd() % 4; n > 0; n--)
		ip[rnd() % (len < 60 ? len : 60)] ^= (uint8_t)(1u << (rnd() % 8));
	ip[0] = (uint8_t)(rnd() % 16 ? 0x45 : ip[0]);
	if (rnd() % 4)
		fix_checksums(ip, len);
	return 14 + len;
}

static int run_garbage(const char *ifname, const char *mac_text, const char *ip_text, int port,
                       long count, uint64_t seed)
{
	uint8_t mac[6];
	unsigned m[6];
	struct in_addr dst;
	if (sscanf(mac_text, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, ip_text, &dst) != 1) {
		fprintf(stderr, "net_client: bad MAC or address\n");
		return 2;
	}
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0) {
		fprintf(stderr, "net_client: packet socket: %s\n", strerror(errno));
		return 1;
	}
	struct sockaddr_ll ll = {.sll_family = AF_PACKET,
	                         .sll_protocol = htons(ETH_P_ALL),
	                         .sll_ifindex = (int)if_nametoindex(ifname)};
	if (ll.sll_ifindex == 0 || bind(fd, (struct sockaddr *)&ll, sizeof(ll)) < 0) {
		fprintf(stderr, "net_client: cannot use %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	rng_state = seed ? seed : 1;
	static uint8_t frame[2048];
	long sent = 0;
	for (long i = 0; i < count; i++) {
		size_t len = make_frame(frame, mac, dst.s_addr, (uint16_t)port);
		if (len < 14)
			len = 14; /* the kernel refuses shorter frames */
		if (send(fd, frame, len, 0) >= 0)
			sent++;
		if (i % 64 == 63)
			usleep(2000); /* lets the guest keep up instead of the TAP queue dropping */
	}
	close(fd);
	printf("garbage: %ld of %ld frames sent\n", sent, count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 7 && strcmp(argv[1], "garbage") == 0)
		return run_garbage(argv[2], argv[3], argv[4], atoi(argv[5]), atol(argv[6]),
		                   argc > 7 ? strtoull(argv[7], NULL, 0) : 1);
	if (argc < 5 || strcmp(argv[1], "echo") != 0) {
		fprintf(stderr,
		        "usage: net_client echo IP PORT BYTES [CONNECTIONS [TIMEOUT_S]]\n"
		        "       net_client garbage IFNAME DST_MAC DST_IP PORT COUNT [SEED]\n");
		return 2;
	}
	int port = atoi(argv[3]);
	uint64_t bytes = strtoull(argv[4], NULL, 10);
	int conns = argc > 5 ? atoi(argv[5]) : 1;
	int timeout = argc > 6 ? atoi(argv[6]) : 60;
	if (port <= 0 || port > 65535 || bytes == 0 || conns <= 0 || conns > 10000 ||
	    timeout <= 0) {
		fprintf(stderr, "net_client: bad arguments\n");
		return 2;
	}
	return run_echo(argv[2], port, bytes, conns, timeout);
}
