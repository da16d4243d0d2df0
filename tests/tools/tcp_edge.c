/*
 * tcp_edge.c - plays a TCP client from raw Ethernet frames to send a guest
 * the segments that once ended it through lwIP assertions.
 *
 *   tcp_edge IFNAME GUEST_MAC GUEST_IP PEER_IP PORT CASE
 *
 * On interface IFNAME (the host end of the guest's TAP, inside the test's
 * namespace) it poses as PEER_IP, an address no host interface has, with a
 * MAC of its own: an ARP request teaches the guest that MAC, a SYN opens a
 * connection to PORT, and the guest's sequence number is read from its
 * SYN-ACK.  Then, by CASE:
 *
 *   half-space    the handshake's ACK carries a FIN whose sequence number
 *                 is 2^31 away from the expected one (lwIP's "insane
 *                 offset" assertion);
 *   small-window  the SYN offers a zero window, 18 bytes of data follow,
 *                 then 2 more with a 4-byte window, so that an echo server
 *                 queues a reply larger than half the window (lwIP's
 *                 "mss_local is too small" assertion).
 *
 * Prints "tcp_edge: CASE sent" and exits 0; 1 on an error or if no SYN-ACK
 * comes within 5 s.  The test then checks that the guest is still there.
 * In C, like net_client.c, because test machines need not have python.
 */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PEER_PORT 40123
#define PEER_ISN  1000u

static const uint8_t peer_mac[6] = {0x02, 0x00, 0x00, 0x00, 0xee, 0x05};
static uint8_t guest_mac[6];
static uint32_t guest_ip, peer_ip; /* network byte order */
static uint16_t port;
static int sock = -1;

static uint16_t checksum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void send_frame(const uint8_t *frame, size_t len)
{
	if (send(sock, frame, len, 0) != (ssize_t)len) {
		perror("tcp_edge: send");
		exit(1);
	}
}

static size_t eth_header(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, peer_mac, 6);
	put16(f + 12, type);
	return 14;
}

static void send_arp_request(void)
{
	static const uint8_t broadcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[42] = {0};
	size_t n = eth_header(f, broadcast, ETHERTYPE_ARP);
	put16(f + n, 1);          /* Ethernet */
	put16(f + n + 2, 0x0800); /* IPv4 */
	f[n + 4] = 6;
	f[n + 5] = 4;
	put16(f + n + 6, 1); /* request */
	memcpy(f + n + 8, peer_mac, 6);
	memcpy(f + n + 14, &peer_ip, 4);
	memcpy(f + n + 24, &guest_ip, 4);
	send_frame(f, sizeof(f));
}

enum { FIN = 1, SYN = 2, PSH = 8, ACK = 16 };

static void send_tcp(uint8_t flags, uint32_t seq, uint32_t ack, uint16_t window, const char *data)
{
	uint8_t f[128] = {0};
	size_t data_len = data ? strlen(data) : 0;
	size_t opt_len = flags & SYN ? 4 : 0;
	size_t tcp_len = 20 + opt_len + data_len;
	size_t n = eth_header(f, guest_mac, ETHERTYPE_IP);
	uint8_t *ip = f + n, *tcp = ip + 20;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + tcp_len));
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &peer_ip, 4);
	memcpy(ip + 16, &guest_ip, 4);
	put16(ip + 10, checksum(ip, 20, 0));
	put16(tcp, PEER_PORT);
	put16(tcp + 2, port);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = (uint8_t)((20 + opt_len) / 4 << 4);
	tcp[13] = flags;
	put16(tcp + 14, window);
	if (opt_len) {
		tcp[20] = 2; /* MSS 1460 */
		tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	memcpy(tcp + 20 + opt_len, data ? data : "", data_len);
	uint32_t pseudo = 6 + (uint32_t)tcp_len;
	for (int i = 12; i < 20; i += 2)
		pseudo += (uint32_t)ip[i] << 8 | ip[i + 1];
	put16(tcp + 16, checksum(tcp, tcp_len, pseudo));
	send_frame(f, n + 20 + tcp_len);
}

/*
 * Waits (5 s at most) for a segment from the guest to our port with all of
 * flags set and, if ack is not 0, acknowledging ack; returns its sequence
 * number.
 */
static uint32_t await_segment(uint8_t flags, uint32_t ack, const char *what)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		long waited_ms =
		    (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (waited_ms >= 5000) {
			fprintf(stderr, "tcp_edge: no %s from the guest within 5 s\n", what);
			exit(1);
		}
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		if (poll(&pfd, 1, (int)(5000 - waited_ms)) <= 0)
			continue;
		uint8_t f[2048];
		ssize_t len = recv(sock, f, sizeof(f), 0);
		if (len < 14 + 20 + 20 || memcmp(f, peer_mac, 6) != 0 || f[12] != 0x08 ||
		    f[13] != 0)
			continue;
		const uint8_t *ip = f + 14, *tcp = ip + (ip[0] & 0xf) * 4;
		if (ip[9] != 6 || tcp + 20 > f + len || memcmp(ip + 16, &peer_ip, 4) != 0)
			continue;
		if ((tcp[2] << 8 | tcp[3]) == PEER_PORT && (tcp[13] & flags) == flags &&
		    (ack == 0 || get32(tcp + 8) == ack))
			return get32(tcp + 4);
	}
}

int main(int argc, char **argv)
{
	if (argc != 7) {
		fprintf(stderr, "usage: tcp_edge IFNAME GUEST_MAC GUEST_IP PEER_IP PORT "
		                "half-space|small-window\n");
		return 64;
	}
	const char *kind = argv[6];
	bool half_space = strcmp(kind, "half-space") == 0;
	if (!half_space && strcmp(kind, "small-window") != 0) {
		fprintf(stderr, "tcp_edge: unknown case %s\n", kind);
		return 64;
	}
	unsigned m[6];
	if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &guest_ip) != 1 ||
	    inet_pton(AF_INET, argv[4], &peer_ip) != 1 || atoi(argv[5]) <= 0 ||
	    atoi(argv[5]) > 65535) {
		fprintf(stderr, "tcp_edge: bad MAC, address or port\n");
		return 64;
	}
	for (int i = 0; i < 6; i++)
		guest_mac[i] = (uint8_t)m[i];
	port = (uint16_t)atoi(argv[5]);

	sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET,
	                          .sll_protocol = htons(ETH_P_ALL),
	                          .sll_ifindex = (int)if_nametoindex(argv[1])};
	if (sock < 0 || sll.sll_ifindex == 0 ||
	    bind(sock, (struct sockaddr *)&sll, sizeof(sll)) != 0) {
		perror("tcp_edge: raw socket");
		return 1;
	}

	send_arp_request();
	send_tcp(SYN, PEER_ISN, 0, half_space ? 65535 : 0, NULL);
	uint32_t ours = await_segment(SYN | ACK, 0, "SYN-ACK") + 1, seq = PEER_ISN + 1;
	if (half_space) {
		send_tcp(FIN | ACK, seq + 0x80000000u, ours, 65535, NULL);
	} else {
		send_tcp(PSH | ACK, seq, ours, 0, "eighteen bytes ...");
		/* lwIP delays this ACK to its next timer: by then the echo is queued. */
		await_segment(ACK, seq + 18, "ACK of the data");
		send_tcp(PSH | ACK, seq + 18, ours, 4, "..");
	}
	printf("tcp_edge: %s sent\n", kind);
	close(sock);
	return 0;
}
