/*
 * hedge_net.h - networking for hedge unikernels: the event loop and a small
 * BSD-like socket API over lwIP (link with libhedgenet.a and liblwip.a).
 *
 * The guest is single-threaded, so nothing happens on the network unless
 * the application drives it: every blocking call below runs the event loop
 * while it waits, and a server built on non-blocking sockets calls
 * hedge_poll_sockets (or hedge_net_poll) in its main loop.  Frames move to
 * and from the monitor in batches, one VM exit per loop iteration at most.
 *
 * Conventions: IPv4 only.  Addresses are uint32_t in network byte order
 * (as in struct in_addr: HEDGE_IPV4(10, 0, 0, 2)), ports are in host byte
 * order.  Functions return a non-negative result or a negative errno value
 * from <errno.h> (-EAGAIN, -ECONNRESET, ...); errno itself is not touched.
 * Socket descriptors are small integers of their own, 0 to
 * HEDGE_NET_MAX_SOCKETS - 1, unrelated to any other descriptor table.
 */
#ifndef HEDGE_NET_H
#define HEDGE_NET_H

#include <stddef.h>
#include <stdint.h>

/* An IPv4 address a.b.c.d in network byte order (the guest is little-endian x86_64). */
#define HEDGE_IPV4(a, b, c, d) \
	((uint32_t)(a) | ((uint32_t)(b) << 8) | ((uint32_t)(c) << 16) | ((uint32_t)(d) << 24))
#define HEDGE_IP_ANY      0u
#define HEDGE_IP_LOOPBACK HEDGE_IPV4(127, 0, 0, 1)

/* --- the interface and the event loop --- */

/*
 * Sets up networking: asks the monitor for its network device and, if there
 * is one, brings it up with the address, netmask and gateway given to
 * `hedge run --ip/--gw`.  0, or -1 when the VM has no interface (loopback,
 * 127.0.0.1, works either way).  Idempotent; socket calls do it themselves.
 */
int hedge_net_init(void);

struct hedge_net_config {
	uint32_t ip, netmask, gateway; /* network byte order; 0 when not set */
	uint8_t mac[6];
	uint16_t mtu;
	int present; /* 1 when the VM has an interface */
};
/* Fills cfg with the interface's configuration (all zero without one). */
void hedge_net_config(struct hedge_net_config *cfg);

/*
 * One turn of the event loop: pushes queued frames to the monitor, feeds
 * received frames to the TCP/IP stack, runs its timers, and, if none of
 * that found work, blocks until a frame arrives, the next timer is due or
 * timeout_ns passes.  0 never blocks.
 */
void hedge_net_poll(uint64_t timeout_ns);

/* VM exits the network has caused: kicks plus blocking polls.  For benchmarks. */
uint64_t hedge_net_exits(void);

struct hedge_net_stats {
	uint64_t kicks;      /* NET_KICK hypercalls */
	uint64_t waits;      /* blocking POLLs on the network */
	uint64_t rx_frames;  /* frames handed to the stack */
	uint64_t tx_frames;  /* frames queued for the monitor */
	uint64_t rx_dropped; /* bad length or no buffer */
	uint64_t tx_dropped; /* too long, or tx ring still full after a kick */
};
void hedge_net_stats(struct hedge_net_stats *out);

/*
 * Caps the memory networking may take from the heap (lwIP's buffers and the
 * sockets' receive buffers).  Default: a quarter of guest memory, at least
 * 4 MiB.  Reaching it makes sends short (-EAGAIN) and slows receivers down.
 */
void hedge_net_set_memory_limit(size_t bytes);

/* --- sockets --- */

#define HEDGE_NET_MAX_SOCKETS 2048

enum hedge_sock_kind {
	HEDGE_SOCK_TCP = 1,
	HEDGE_SOCK_UDP = 2,
};

struct hedge_sockaddr {
	uint32_t ip;   /* network byte order */
	uint16_t port; /* host byte order */
	uint16_t pad;
};

/* A new socket of kind HEDGE_SOCK_TCP or HEDGE_SOCK_UDP; blocking until told otherwise. */
int hedge_socket(int kind);
/* ip HEDGE_IP_ANY and/or port 0 pick any; -EADDRINUSE if taken (see HEDGE_SO_REUSEADDR). */
int hedge_bind(int fd, uint32_t ip, uint16_t port);
/* TCP: starts accepting connections; backlog is capped at 255 (0 means the maximum). */
int hedge_listen(int fd, int backlog);
/* TCP: the next connection as a new blocking socket; peer may be NULL. */
int hedge_accept(int fd, struct hedge_sockaddr *peer);
/*
 * TCP: connects, waiting up to the HEDGE_SO_SNDTIMEO timeout (default: until
 * the stack gives up, about a minute).  A non-blocking socket returns
 * -EINPROGRESS; it becomes writable once connected, and HEDGE_SO_ERROR tells
 * how it went.  UDP: sets the default destination and the only accepted source.
 */
int hedge_connect(int fd, uint32_t ip, uint16_t port);

/* Flags for send/recv. */
#define HEDGE_MSG_DONTWAIT 0x40   /* this call does not block */
#define HEDGE_MSG_PEEK     0x02   /* recv: leave the data queued */
#define HEDGE_MSG_TRUNC    0x20   /* recv (UDP): return the datagram's full length */
#define HEDGE_MSG_MORE     0x8000 /* send (TCP): more follows; do not push yet */

/*
 * Queues data on a connected socket.  TCP: copies into the stack's send
 * buffer and returns how much fit; a blocking socket waits until everything
 * is queued (or an error or its timeout).  -EAGAIN when nothing fits on a
 * non-blocking socket, -EPIPE after shutdown or once the peer reset, which
 * is reported once as -ECONNRESET first.  Data goes out at the next turn of
 * the event loop, batched with everything else queued by then.
 */
long hedge_send(int fd, const void *buf, size_t len);
long hedge_send_flags(int fd, const void *buf, size_t len, int flags);
/*
 * Takes received data: > 0 bytes, 0 at orderly end of stream (TCP), or a
 * negative errno (-EAGAIN when nothing is there on a non-blocking socket).
 * UDP: one datagram per call, cut to len (see HEDGE_MSG_TRUNC).
 */
long hedge_recv(int fd, void *buf, size_t len);
long hedge_recv_flags(int fd, void *buf, size_t len, int flags);

/* UDP: a datagram to ip:port (at most 65507 bytes); TCP: ip is ignored, as send. */
long hedge_sendto(int fd, const void *buf, size_t len, int flags, uint32_t ip, uint16_t port);
/* As recv_flags; from (may be NULL) receives the sender's address. */
long hedge_recvfrom(int fd, void *buf, size_t len, int flags, struct hedge_sockaddr *from);

#define HEDGE_SHUT_RD   0
#define HEDGE_SHUT_WR   1
#define HEDGE_SHUT_RDWR 2
/* TCP: HEDGE_SHUT_WR sends FIN once queued data is out; HEDGE_SHUT_RD discards further input. */
int hedge_shutdown(int fd, int how);
/* Releases the socket; a TCP connection closes gracefully (reset if unread data was left). */
int hedge_close(int fd);

int hedge_getsockname(int fd, struct hedge_sockaddr *out);
/* -ENOTCONN unless connected. */
int hedge_getpeername(int fd, struct hedge_sockaddr *out);

/* Options; values are integers (timeouts in nanoseconds, 0 = none). */
enum hedge_sockopt {
	HEDGE_SO_NONBLOCK = 1,  /* 1: calls return -EAGAIN instead of blocking */
	HEDGE_SO_REUSEADDR = 2, /* 1: bind to a port still in TIME_WAIT; set before bind */
	HEDGE_TCP_NODELAY = 3,  /* 1: no Nagle (the loop still batches a turn's output) */
	HEDGE_SO_KEEPALIVE = 4, /* 1: TCP keep-alive probes */
	HEDGE_SO_RCVTIMEO = 5,  /* recv and accept give up with -EAGAIN after this long */
	HEDGE_SO_SNDTIMEO = 6,  /* send and connect give up after this long */
	HEDGE_SO_ERROR = 7,     /* get only: the pending error (0 or negative errno), cleared */
	HEDGE_SO_TYPE = 8,      /* get only: HEDGE_SOCK_TCP or HEDGE_SOCK_UDP */
	HEDGE_SO_RCVBUF = 9,    /* get only: receive window / UDP queue limit in bytes */
	HEDGE_SO_SNDBUF = 10,   /* get only: send buffer in bytes */
};
int hedge_setsockopt(int fd, int opt, uint64_t value);
int hedge_getsockopt(int fd, int opt, uint64_t *value);

/* Readiness, with poll(2)'s bit values. */
#define HEDGE_POLLIN   0x001 /* data, end of stream, or a connection to accept */
#define HEDGE_POLLOUT  0x004 /* send would queue something; a connect finished */
#define HEDGE_POLLERR  0x008 /* an error is pending (always reported) */
#define HEDGE_POLLHUP  0x010 /* the connection is closed in both directions (always reported) */
#define HEDGE_POLLNVAL 0x020 /* not an open socket (always reported) */

/*
 * What the socket is ready for now, without running the event loop:
 * HEDGE_POLLIN if want_read and it is readable, HEDGE_POLLOUT likewise,
 * plus HEDGE_POLLERR / HEDGE_POLLHUP; -EBADF for a bad descriptor.
 */
int hedge_socket_ready(int fd, int want_read, int want_write);

struct hedge_pollfd {
	int fd;        /* a negative fd is skipped (revents 0) */
	short events;  /* HEDGE_POLLIN | HEDGE_POLLOUT */
	short revents; /* out */
};
/*
 * poll(2) over sockets: runs the event loop until at least one entry is
 * ready or timeout_ns passes (-1 waits forever, 0 only looks).  Returns the
 * number of entries with revents set, or 0 on timeout.
 */
int hedge_poll_sockets(struct hedge_pollfd *fds, size_t nfds, int64_t timeout_ns);

/* "a.b.c.d" to an address in network byte order; 0 or -EINVAL. */
int hedge_inet_pton(const char *text, uint32_t *ip);
/* Writes "a.b.c.d" (at most 16 bytes with the NUL) and returns buf. */
char *hedge_inet_ntop(uint32_t ip, char *buf, size_t len);

#endif /* HEDGE_NET_H */
