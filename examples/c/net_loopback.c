/*
 * net_loopback.c - self-test of hedge's socket API over 127.0.0.1.
 *
 * Client and server live in the same unikernel and talk through lwIP's
 * loopback interface, so this runs without any network device:
 * `hedge run net_loopback.hvt [CONNECTIONS]`.  It checks blocking and non-blocking TCP
 * (bulk transfer with checksums, hundreds of concurrent connections,
 * orderly close, reset, refused connections, timeouts), UDP, the error
 * codes, and prints "net_loopback: ok" or the first failure.  An argument
 * sets the number of concurrent connections (default 200; each uses two
 * of lwIP's 2048 TCP PCBs, one per end).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_net.h"

#define LO HEDGE_IP_LOOPBACK

static int failures;

#define CHECK(cond, ...)                                                       \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("FAIL %s:%d: %s: ", __func__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                   \
			printf("\n");                                          \
			failures++;                                            \
			return;                                                \
		}                                                              \
	} while (0)

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static int listener(uint16_t port, bool nonblock)
{
	int fd = hedge_socket(HEDGE_SOCK_TCP);
	if (fd < 0)
		return fd;
	hedge_setsockopt(fd, HEDGE_SO_REUSEADDR, 1);
	int r = hedge_bind(fd, LO, port);
	if (r == 0)
		r = hedge_listen(fd, 255);
	if (r < 0) {
		hedge_close(fd);
		return r;
	}
	hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, nonblock);
	return fd;
}

/* Blocking calls: connect, accept, send and recv, with the loop run inside them. */
static void test_blocking(void)
{
	int lfd = listener(5001, false);
	CHECK(lfd >= 0, "listener: %d", lfd);
	int c = hedge_socket(HEDGE_SOCK_TCP);
	CHECK(hedge_connect(c, LO, 5001) == 0, "connect");
	struct hedge_sockaddr peer, name;
	int s = hedge_accept(lfd, &peer);
	CHECK(s >= 0, "accept: %d", s);
	CHECK(hedge_getsockname(c, &name) == 0 && name.ip == LO && name.port == peer.port,
	      "client name %x:%u, server sees %x:%u", name.ip, name.port, peer.ip, peer.port);
	CHECK(hedge_getpeername(c, &peer) == 0 && peer.port == 5001, "peer port %u", peer.port);

	/* 1 MiB each way: more than the window, so both sides must take turns. */
	enum { TOTAL = 1 << 20 };
	uint8_t *buf = malloc(TOTAL), *got = malloc(TOTAL);
	CHECK(buf && got, "malloc");
	for (uint64_t i = 0; i < TOTAL; i++)
		buf[i] = pattern(i);
	hedge_setsockopt(c, HEDGE_SO_NONBLOCK, 1); /* the client must not block the server */
	size_t sent = 0, recvd = 0;
	while (recvd < TOTAL) {
		if (sent < TOTAL) {
			long n = hedge_send(c, buf + sent, TOTAL - sent);
			CHECK(n > 0 || n == -EAGAIN, "send: %ld", n);
			if (n > 0)
				sent += (size_t)n;
		}
		long n = hedge_recv(s, got + recvd, TOTAL - recvd); /* blocking */
		CHECK(n > 0, "recv: %ld after %zu", n, recvd);
		recvd += (size_t)n;
	}
	CHECK(memcmp(buf, got, TOTAL) == 0, "data differs");
	free(buf);
	free(got);

	/* Orderly close: the server reads end of stream, then the client does. */
	CHECK(hedge_shutdown(c, HEDGE_SHUT_WR) == 0, "shutdown");
	char b[16];
	CHECK(hedge_recv(s, b, sizeof(b)) == 0, "server sees EOF");
	CHECK(hedge_send(s, "bye", 3) == 3, "half-closed send");
	CHECK(hedge_close(s) == 0, "close");
	hedge_setsockopt(c, HEDGE_SO_NONBLOCK, 0);
	CHECK(hedge_recv(c, b, sizeof(b)) == 3 && memcmp(b, "bye", 3) == 0, "client reads bye");
	CHECK(hedge_recv(c, b, sizeof(b)) == 0, "client sees EOF");
	CHECK(hedge_send(c, "x", 1) == -EPIPE, "send after shutdown");
	hedge_close(c);
	hedge_close(lfd);
}

/* Many connections at once through one non-blocking event loop. */
static void test_many(int nconn, size_t bytes)
{
	int lfd = listener(5002, true);
	CHECK(lfd >= 0, "listener");
	int *cli = calloc((size_t)nconn, sizeof(int)), *srv = calloc((size_t)nconn, sizeof(int));
	size_t *sent = calloc((size_t)nconn, sizeof(size_t));
	size_t *echoed = calloc((size_t)nconn, sizeof(size_t));
	size_t *back = calloc((size_t)nconn, sizeof(size_t));
	uint8_t **pend = calloc((size_t)nconn, sizeof(uint8_t *));
	size_t *pend_len = calloc((size_t)nconn, sizeof(size_t));
	struct hedge_pollfd *pfd = calloc((size_t)nconn * 2 + 1, sizeof(*pfd));
	CHECK(cli && srv && sent && echoed && back && pend && pend_len && pfd, "malloc");
	for (int i = 0; i < nconn; i++) {
		cli[i] = hedge_socket(HEDGE_SOCK_TCP);
		CHECK(cli[i] >= 0, "socket %d: %d", i, cli[i]);
		hedge_setsockopt(cli[i], HEDGE_SO_NONBLOCK, 1);
		int r = hedge_connect(cli[i], LO, 5002);
		CHECK(r == -EINPROGRESS, "connect %d: %d", i, r);
		srv[i] = -1;
		pend[i] = malloc(4096);
		CHECK(pend[i], "malloc");
	}
	int accepted = 0, finished = 0;
	uint64_t deadline = hedge_clock_monotonic_ns() + 60000000000ull;
	uint8_t buf[4096];
	while (finished < nconn) {
		CHECK(hedge_clock_monotonic_ns() < deadline, "timed out: %d accepted, %d finished",
		      accepted, finished);
		size_t n = 0;
		pfd[n++] = (struct hedge_pollfd){.fd = lfd, .events = HEDGE_POLLIN};
		for (int i = 0; i < nconn; i++) {
			pfd[n++] = (struct hedge_pollfd){
			    .fd = back[i] == bytes ? -1 : cli[i],
			    .events =
			        (short)(HEDGE_POLLIN | (sent[i] < bytes ? HEDGE_POLLOUT : 0))};
			pfd[n++] = (struct hedge_pollfd){
			    .fd = srv[i], .events = pend_len[i] ? HEDGE_POLLOUT : HEDGE_POLLIN};
		}
		int ready = hedge_poll_sockets(pfd, n, 1000000000);
		CHECK(ready >= 0, "poll: %d", ready);
		if (pfd[0].revents & HEDGE_POLLIN) {
			for (;;) {
				struct hedge_sockaddr peer;
				int fd = hedge_accept(lfd, &peer);
				if (fd == -EAGAIN)
					break;
				CHECK(fd >= 0, "accept: %d", fd);
				hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, 1);
				/* Match the server side to its client by port. */
				int k = -1;
				for (int i = 0; i < nconn && k < 0; i++) {
					struct hedge_sockaddr me;
					hedge_getsockname(cli[i], &me);
					if (me.port == peer.port)
						k = i;
				}
				CHECK(k >= 0 && srv[k] < 0, "unknown peer port %u", peer.port);
				srv[k] = fd;
				accepted++;
			}
		}
		for (int i = 0; i < nconn; i++) {
			/* Client: send the pattern, read it back. */
			if (sent[i] < bytes) {
				size_t len =
				    bytes - sent[i] < sizeof(buf) ? bytes - sent[i] : sizeof(buf);
				for (size_t j = 0; j < len; j++)
					buf[j] = pattern(sent[i] + j + (size_t)i);
				long w = hedge_send(cli[i], buf, len);
				CHECK(w > 0 || w == -EAGAIN || w == -ENOTCONN, "client send: %ld",
				      w);
				if (w > 0)
					sent[i] += (size_t)w;
			}
			if (back[i] < bytes) {
				long r = hedge_recv(cli[i], buf, sizeof(buf));
				CHECK(r > 0 || r == -EAGAIN, "client recv %d: %ld", i, r);
				for (long j = 0; j < r; j++)
					CHECK(buf[j] == pattern(back[i] + (size_t)j + (size_t)i),
					      "conn %d byte %zu", i, back[i] + (size_t)j);
				if (r > 0) {
					back[i] += (size_t)r;
					if (back[i] == bytes) {
						hedge_close(cli[i]);
						finished++;
					}
				}
			}
			/* Server: echo. */
			if (srv[i] < 0)
				continue;
			if (!pend_len[i]) {
				long r = hedge_recv(srv[i], pend[i], 4096);
				if (r == 0) {
					hedge_close(srv[i]);
					srv[i] = -1;
					continue;
				}
				CHECK(r > 0 || r == -EAGAIN, "server recv: %ld", r);
				if (r > 0)
					pend_len[i] = (size_t)r;
			}
			if (pend_len[i]) {
				long w = hedge_send(srv[i], pend[i], pend_len[i]);
				CHECK(w > 0 || w == -EAGAIN, "server send: %ld", w);
				if (w > 0) {
					memmove(pend[i], pend[i] + w, pend_len[i] - (size_t)w);
					pend_len[i] -= (size_t)w;
				}
				echoed[i] += w > 0 ? (size_t)w : 0;
			}
		}
	}
	CHECK(accepted == nconn, "accepted %d of %d", accepted, nconn);
	for (int i = 0; i < nconn; i++) {
		if (srv[i] >= 0)
			hedge_close(srv[i]);
		free(pend[i]);
	}
	hedge_close(lfd);
	free(cli);
	free(srv);
	free(sent);
	free(echoed);
	free(back);
	free(pend);
	free(pend_len);
	free(pfd);
	printf("net_loopback: %d connections x %zu bytes echoed\n", nconn, bytes);
}

static void test_errors(void)
{
	char b[8];
	CHECK(hedge_socket(99) == -EPROTONOSUPPORT, "bad kind");
	CHECK(hedge_send(12345, b, 1) == -EBADF, "bad fd");
	CHECK(hedge_recv(-1, b, 1) == -EBADF, "negative fd");
	CHECK(hedge_close(2047) == -EBADF, "unused fd");

	/* Nobody listens: refused, whether waiting or not. */
	int c = hedge_socket(HEDGE_SOCK_TCP);
	CHECK(hedge_connect(c, LO, 5999) == -ECONNREFUSED, "refused");
	hedge_close(c);
	c = hedge_socket(HEDGE_SOCK_TCP);
	hedge_setsockopt(c, HEDGE_SO_NONBLOCK, 1);
	CHECK(hedge_connect(c, LO, 5999) == -EINPROGRESS, "in progress");
	struct hedge_pollfd p = {.fd = c, .events = HEDGE_POLLOUT};
	CHECK(hedge_poll_sockets(&p, 1, 2000000000) == 1 && (p.revents & HEDGE_POLLERR),
	      "poll revents %x", p.revents);
	uint64_t err = 0;
	CHECK(hedge_getsockopt(c, HEDGE_SO_ERROR, &err) == 0 && (int64_t)err == -ECONNREFUSED,
	      "SO_ERROR %ld", (long)err);
	hedge_close(c);

	int lfd = listener(5003, true);
	CHECK(lfd >= 0, "listener");
	CHECK(hedge_accept(lfd, NULL) == -EAGAIN, "accept would block");
	CHECK(hedge_recv(lfd, b, 1) == -ENOTCONN, "recv on a listener");
	int other = hedge_socket(HEDGE_SOCK_TCP);
	CHECK(hedge_bind(other, LO, 5003) == -EADDRINUSE, "port in use");
	CHECK(hedge_bind(other, HEDGE_IPV4(192, 0, 2, 1), 0) == -EADDRNOTAVAIL, "foreign address");
	hedge_close(other);

	/* Receive timeout on a connection with nothing to read. */
	c = hedge_socket(HEDGE_SOCK_TCP);
	CHECK(hedge_connect(c, LO, 5003) == 0, "connect");
	hedge_setsockopt(c, HEDGE_SO_RCVTIMEO, 50000000);
	uint64_t t0 = hedge_clock_monotonic_ns();
	CHECK(hedge_recv(c, b, 1) == -EAGAIN, "timeout");
	uint64_t waited = hedge_clock_monotonic_ns() - t0;
	CHECK(waited >= 50000000 && waited < 1000000000, "waited %lu ns", (unsigned long)waited);

	/* Closing with unread data resets the connection, as on Linux. */
	hedge_setsockopt(lfd, HEDGE_SO_NONBLOCK, 0);
	int s = hedge_accept(lfd, NULL);
	CHECK(s >= 0, "accept");
	CHECK(hedge_send(c, "unread", 6) == 6, "send");
	hedge_setsockopt(c, HEDGE_SO_RCVTIMEO, 0);
	while (hedge_socket_ready(s, 1, 0) == 0)
		hedge_net_poll(1000000);
	hedge_close(s);
	CHECK(hedge_recv(c, b, 1) == -ECONNRESET, "reset seen");
	CHECK(hedge_recv(c, b, 1) == 0, "then end of stream");
	CHECK(hedge_send(c, "x", 1) == -EPIPE, "send after reset");
	hedge_close(c);
	hedge_close(lfd);
}

static void test_udp(void)
{
	int a = hedge_socket(HEDGE_SOCK_UDP), b = hedge_socket(HEDGE_SOCK_UDP);
	CHECK(a >= 0 && b >= 0, "sockets");
	CHECK(hedge_bind(a, LO, 6001) == 0, "bind");
	CHECK(hedge_send(b, "x", 1) == -EDESTADDRREQ, "unconnected send");
	CHECK(hedge_sendto(b, "hello", 5, 0, LO, 6001) == 5, "sendto");
	char buf[2000];
	struct hedge_sockaddr from;
	long n = hedge_recvfrom(a, buf, 2, HEDGE_MSG_PEEK | HEDGE_MSG_TRUNC, &from);
	CHECK(n == 5, "peek+trunc: %ld", n);
	n = hedge_recvfrom(a, buf, sizeof(buf), 0, &from);
	CHECK(n == 5 && memcmp(buf, "hello", 5) == 0 && from.ip == LO, "recvfrom: %ld", n);
	struct hedge_sockaddr bname;
	hedge_getsockname(b, &bname);
	CHECK(bname.port == from.port && bname.port != 0, "auto-bound port %u vs %u", bname.port,
	      from.port);

	/* A datagram larger than the MTU is fragmented and reassembled. */
	static char big[8000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)pattern(i);
	CHECK(hedge_connect(b, LO, 6001) == 0, "connect");
	CHECK(hedge_send(b, big, sizeof(big)) == (long)sizeof(big), "big send");
	static char got[9000];
	n = hedge_recv(a, got, sizeof(got));
	CHECK(n == (long)sizeof(big) && memcmp(got, big, sizeof(big)) == 0, "big recv: %ld", n);
	CHECK(hedge_sendto(b, big, 70000, 0, LO, 6001) == -EMSGSIZE, "too big");

	hedge_setsockopt(a, HEDGE_SO_NONBLOCK, 1);
	CHECK(hedge_recv(a, buf, 1) == -EAGAIN, "empty");
	hedge_close(a);
	hedge_close(b);
}

int main(int argc, char **argv)
{
	int nconn = argc > 1 ? atoi(argv[1]) : 200;
	int has_device = hedge_net_init() == 0;
	printf("net_loopback: %s network device\n", has_device ? "with a" : "without a");
	test_errors();
	test_blocking();
	test_udp();
	test_many(nconn > 0 ? nconn : 200, 20000);
	/* Every socket closed: their descriptors are free again. */
	int fd = hedge_socket(HEDGE_SOCK_TCP);
	if (fd != 0) {
		printf("FAIL lowest descriptor is %d after closing everything\n", fd);
		failures++;
	}
	hedge_close(fd);
	if (failures) {
		printf("net_loopback: %d failure(s)\n", failures);
		return 1;
	}
	printf("net_loopback: ok\n");
	return 0;
}
