/*
 * sock.h - the socket object shared by socket.c, sock_tcp.c and sock_udp.c.
 *
 * A socket owns its lwIP PCB while the PCB lives; lwIP frees a TCP PCB on
 * its own after a reset or timeout and tells us through the error callback,
 * which clears the pointer.  Socket objects themselves are freed only by
 * calls the application makes (close, or accept skipping a dead
 * connection), never from inside an lwIP callback, so a socket pointer held
 * across a turn of the event loop stays valid.
 */
#ifndef HEDGE_NET_SOCK_H
#define HEDGE_NET_SOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hedge_net.h"
#include "lwip/err.h"

struct tcp_pcb;
struct udp_pcb;

/* A growable byte ring: a TCP socket's received, not yet read, data. */
struct bytebuf {
	uint8_t *data; /* NULL while empty: idle connections hold no buffer */
	uint32_t cap;  /* a power of two, or 0 */
	uint32_t head; /* offset of the first unread byte */
	uint32_t len;
};

/* Makes room for extra more bytes without exceeding max in all; 0, or -1 (no memory, or full). */
int bytebuf_reserve(struct bytebuf *b, size_t extra, size_t max);
/* Appends n bytes; room must have been reserved. */
void bytebuf_put(struct bytebuf *b, const void *src, size_t n);
/* Copies up to n bytes out; unless peek, consumes them.  Returns the count. */
size_t bytebuf_get(struct bytebuf *b, void *dst, size_t n, bool peek);
/* Drops everything and gives the memory back. */
void bytebuf_reset(struct bytebuf *b);

/* A queued UDP datagram. */
struct dgram {
	struct dgram *next;
	uint32_t ip;
	uint16_t port;
	uint16_t len;
	uint8_t data[];
};

enum sock_state {
	SS_NEW,        /* created, maybe bound */
	SS_LISTEN,     /* TCP, accepting */
	SS_CONNECTING, /* TCP, SYN sent */
	SS_CONNECTED,  /* TCP connected (the PCB may have gone since: see pcb) */
};

struct sock {
	int fd; /* -1 while waiting in a listener's accept queue */
	uint8_t kind;
	uint8_t state;
	bool nonblock, nodelay, keepalive;
	bool rd_eof;           /* TCP: the peer sent FIN, or the connection ended */
	bool rd_shut, wr_shut; /* shut down by the application */
	bool in_output_list;
	int error; /* pending error as a negative errno, reported once */
	uint64_t rcvtimeo, sndtimeo;
	union {
		struct tcp_pcb *tcp;
		struct udp_pcb *udp;
		void *any;
	} pcb;
	struct hedge_sockaddr local, remote; /* cached: they outlive the PCB */

	struct bytebuf rx; /* TCP */

	struct dgram *dq_head, *dq_tail; /* UDP */
	size_t dq_bytes;

	struct sock *acc_head, *acc_tail; /* TCP listener: connections not accepted yet */
	struct sock *acc_next;

	struct sock *out_next, *out_prev; /* sockets with output to flush */
};

/* socket.c */
struct sock *sock_new(int kind);
void sock_free(struct sock *s);
/* Gives s the lowest free descriptor; the descriptor, or -EMFILE. */
int sock_install(struct sock *s);
/* Remembers that s queued data for tcp_output at the next flush. */
void sock_mark_output(struct sock *s);
void sock_unmark_output(struct sock *s);
/* The pending error, cleared; 0 if none. */
int sock_take_error(struct sock *s);
/*
 * Runs the event loop until ready(s) holds or timeout_ns passes (0: no
 * limit).  0, or -EAGAIN on timeout.
 */
int sock_wait(struct sock *s, bool (*ready)(const struct sock *s), uint64_t timeout_ns);
int err_to_errno(err_t err);

/* sock_tcp.c */
int tcp_sock_open(struct sock *s);
int tcp_sock_bind(struct sock *s, uint32_t ip, uint16_t port);
int tcp_sock_listen(struct sock *s, int backlog);
int tcp_sock_accept(struct sock *s, struct hedge_sockaddr *peer);
int tcp_sock_connect(struct sock *s, uint32_t ip, uint16_t port);
long tcp_sock_send(struct sock *s, const uint8_t *buf, size_t len, int flags);
long tcp_sock_recv(struct sock *s, uint8_t *buf, size_t len, int flags);
int tcp_sock_shutdown(struct sock *s, int how);
void tcp_sock_close(struct sock *s);
int tcp_sock_ready(const struct sock *s, int want_read, int want_write);
void tcp_sock_set_options(struct sock *s);
void tcp_sock_names(struct sock *s);
uint64_t tcp_sock_sndbuf(const struct sock *s);

/* sock_udp.c */
int udp_sock_open(struct sock *s);
int udp_sock_bind(struct sock *s, uint32_t ip, uint16_t port);
int udp_sock_connect(struct sock *s, uint32_t ip, uint16_t port);
long udp_sock_sendto(struct sock *s, const uint8_t *buf, size_t len, bool to_default, uint32_t ip,
                     uint16_t port);
long udp_sock_recvfrom(struct sock *s, uint8_t *buf, size_t len, int flags,
                       struct hedge_sockaddr *from);
void udp_sock_close(struct sock *s);
int udp_sock_ready(const struct sock *s, int want_read, int want_write);

/* Bytes a UDP socket may hold in received datagrams before dropping more. */
#define UDP_RCVBUF (256u * 1024u)

#endif /* HEDGE_NET_SOCK_H */
