/*
 * net_echo.c - a TCP echo server: `hedge run --net tap:T --ip 10.0.0.2/24 net_echo.hvt PORT [N]`.
 *
 * One thread, non-blocking sockets and hedge_poll_sockets: the shape of an
 * event-driven server on hedge.  It serves any number of connections at
 * once (up to the socket table) and, given N, exits after N connections
 * have closed, printing how many VM exits the network cost.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_net.h"

#define BUF_SIZE  8192
#define MAX_CONNS (HEDGE_NET_MAX_SOCKETS - 1)

struct conn {
	int fd;
	size_t len, off; /* bytes in buf not yet echoed: buf[off..len) */
	uint8_t buf[BUF_SIZE];
};

static struct conn *conns[MAX_CONNS];
static size_t nconns;
static struct hedge_pollfd pfds[MAX_CONNS + 1];

static void drop(size_t i)
{
	hedge_close(conns[i]->fd);
	free(conns[i]);
	conns[i] = conns[--nconns];
}

/* Echoes what is pending; false when the connection is finished. */
static bool flush(struct conn *c)
{
	while (c->off < c->len) {
		long n = hedge_send(c->fd, c->buf + c->off, c->len - c->off);
		if (n == -EAGAIN)
			return true;
		if (n < 0)
			return false;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return true;
}

static bool serve(struct conn *c)
{
	if (c->off < c->len)
		return flush(c);
	long n = hedge_recv(c->fd, c->buf, sizeof(c->buf));
	if (n == -EAGAIN)
		return true;
	if (n <= 0)
		return false; /* end of stream or error */
	c->len = (size_t)n;
	c->off = 0;
	return flush(c);
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = hedge_accept(lfd, NULL);
		if (fd < 0)
			return; /* -EAGAIN: no more for now */
		struct conn *c = nconns < MAX_CONNS ? malloc(sizeof(*c)) : NULL;
		if (!c) {
			hedge_close(fd);
			continue;
		}
		hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, 1);
		hedge_setsockopt(fd, HEDGE_TCP_NODELAY, 1);
		c->fd = fd;
		c->len = c->off = 0;
		conns[nconns++] = c;
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 7;
	long limit = argc > 2 ? atol(argv[2]) : 0;
	if (port <= 0 || port > 65535) {
		printf("usage: net_echo PORT [CONNECTIONS]\n");
		return 2;
	}
	if (hedge_net_init() < 0) {
		printf("net_echo: no network interface (run with hedge run --net tap:NAME --ip "
		       "ADDR/LEN)\n");
		return 1;
	}
	int lfd = hedge_socket(HEDGE_SOCK_TCP);
	hedge_setsockopt(lfd, HEDGE_SO_REUSEADDR, 1);
	int r = hedge_bind(lfd, HEDGE_IP_ANY, (uint16_t)port);
	if (r == 0)
		r = hedge_listen(lfd, 255);
	if (r < 0) {
		printf("net_echo: cannot listen on port %d: %s\n", port, strerror(-r));
		return 1;
	}
	hedge_setsockopt(lfd, HEDGE_SO_NONBLOCK, 1);
	struct hedge_net_config cfg;
	hedge_net_config(&cfg);
	char ip[16];
	printf("net_echo: listening on %s:%d\n", hedge_inet_ntop(cfg.ip, ip, sizeof(ip)), port);

	long served = 0;
	while (limit == 0 || served < limit) {
		pfds[0] = (struct hedge_pollfd){.fd = lfd, .events = HEDGE_POLLIN};
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = conns[i];
			pfds[i + 1] = (struct hedge_pollfd){
			    .fd = c->fd, .events = c->off < c->len ? HEDGE_POLLOUT : HEDGE_POLLIN};
		}
		size_t polled = nconns;
		if (hedge_poll_sockets(pfds, polled + 1, -1) <= 0)
			continue;
		/* Backwards, so that drop() moving the last entry down skips nothing. */
		for (size_t i = polled; i > 0; i--) {
			if (pfds[i].revents && !serve(conns[i - 1])) {
				drop(i - 1);
				served++;
			}
		}
		if (pfds[0].revents & HEDGE_POLLIN)
			accept_all(lfd);
	}
	struct hedge_net_stats st;
	hedge_net_stats(&st);
	printf("net_echo: served %ld connections; exits %lu (kicks %lu, waits %lu), frames rx %lu "
	       "tx %lu, dropped rx %lu tx %lu\n",
	       served, (unsigned long)hedge_net_exits(), (unsigned long)st.kicks,
	       (unsigned long)st.waits, (unsigned long)st.rx_frames, (unsigned long)st.tx_frames,
	       (unsigned long)st.rx_dropped, (unsigned long)st.tx_dropped);
	hedge_close(lfd);
	return 0;
}
