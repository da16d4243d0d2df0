/*
 * sock_tcp.c - TCP sockets on lwIP's raw TCP API.
 *
 * lwIP calls back when data, connections or errors arrive; the callbacks
 * only record what happened in the socket (received bytes go into its
 * byte ring, new connections into its listener's accept queue) so that the
 * application can pick it up from any later call.  The receive window is
 * reopened (tcp_recved) only as the application reads, which is what slows
 * a fast sender down to the reader's pace.  Sends copy into lwIP's queue
 * and leave tcp_output to the event loop, which batches every socket's
 * output of one turn into one exit.
 */
#include <errno.h>
#include <string.h>

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "net_internal.h"
#include "sock.h"

/* The window bounds unread data; twice that is a safety margin, not a target. */
#define RX_MAX ((size_t)TCP_WND * 2)

static void addr_out(struct hedge_sockaddr *out, const ip_addr_t *ip, u16_t port)
{
	out->ip = ip4_addr_get_u32(ip_2_ip4(ip));
	out->port = port;
	out->pad = 0;
}

void tcp_sock_names(struct sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	if (!pcb)
		return;
	addr_out(&s->local, &pcb->local_ip, pcb->local_port);
	/* A listening PCB is a smaller struct without the remote port. */
	if (s->state == SS_CONNECTED || s->state == SS_CONNECTING)
		addr_out(&s->remote, &pcb->remote_ip, pcb->remote_port);
}

uint64_t tcp_sock_sndbuf(const struct sock *s)
{
	(void)s;
	return TCP_SND_BUF;
}

/* --- callbacks from lwIP --- */

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct sock *s = arg;
	(void)err; /* always ERR_OK in lwIP 2.1 */
	if (!p) {
		if (s)
			s->rd_eof = true;
		return ERR_OK;
	}
	if (!s || s->rd_shut) {
		tcp_recved(pcb, p->tot_len);
		pbuf_free(p);
		return ERR_OK;
	}
	/* Refused (ERR_MEM): lwIP keeps the data and offers it again later. */
	if (bytebuf_reserve(&s->rx, p->tot_len, RX_MAX) != 0)
		return ERR_MEM;
	for (struct pbuf *q = p; q; q = q->next)
		bytebuf_put(&s->rx, q->payload, q->len);
	pbuf_free(p);
	return ERR_OK;
}

/* The PCB is gone (lwIP freed it); keep the reason for the application. */
static void on_err(void *arg, err_t err)
{
	struct sock *s = arg;
	if (!s)
		return;
	s->pcb.tcp = NULL;
	sock_unmark_output(s);
	s->rd_eof = true;
	if (err == ERR_CLSD)
		return; /* both sides closed in order */
	if (err == ERR_RST)
		s->error = s->state == SS_CONNECTING ? -ECONNREFUSED : -ECONNRESET;
	else if (err == ERR_ABRT)
		s->error = -ETIMEDOUT; /* retransmissions or keep-alives gave up */
	else
		s->error = err_to_errno(err);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct sock *s = arg;
	(void)pcb;
	(void)err;
	if (s) {
		s->state = SS_CONNECTED;
		tcp_sock_names(s);
	}
	return ERR_OK;
}

static void attach(struct sock *s, struct tcp_pcb *pcb)
{
	tcp_arg(pcb, s);
	tcp_recv(pcb, on_recv);
	tcp_err(pcb, on_err);
}

/* After this lwIP finishes the connection on its own and never calls us about it. */
static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_err(pcb, NULL);
}

static err_t on_accept(void *arg, struct tcp_pcb *newpcb, err_t err)
{
	struct sock *ls = arg;
	if (!newpcb || err != ERR_OK)
		return ERR_VAL; /* lwIP could not allocate a PCB; nothing to do */
	struct sock *s = ls ? sock_new(HEDGE_SOCK_TCP) : NULL;
	if (!s)
		return ERR_MEM; /* lwIP resets the connection */
	s->pcb.tcp = newpcb;
	s->state = SS_CONNECTED;
	s->nodelay = ls->nodelay;
	s->keepalive = ls->keepalive;
	attach(s, newpcb);
	tcp_sock_set_options(s);
	tcp_sock_names(s);
	/* Counts against the backlog until hedge_accept takes it. */
	tcp_backlog_delayed(newpcb);
	if (ls->acc_tail)
		ls->acc_tail->acc_next = s;
	else
		ls->acc_head = s;
	ls->acc_tail = s;
	return ERR_OK;
}

/* --- calls --- */

void tcp_sock_set_options(struct sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	if (!pcb || s->state == SS_LISTEN)
		return; /* a listener's options are copied to each accepted socket */
	if (s->nodelay)
		tcp_nagle_disable(pcb);
	else
		tcp_nagle_enable(pcb);
	if (s->keepalive)
		ip_set_option(pcb, SOF_KEEPALIVE);
	else
		ip_reset_option(pcb, SOF_KEEPALIVE);
}

int tcp_sock_open(struct sock *s)
{
	struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb)
		return -ENOBUFS;
	s->pcb.tcp = pcb;
	attach(s, pcb);
	return 0;
}

/* Is ip one of ours (or any)?  lwIP itself would bind to any address. */
static bool local_address(uint32_t ip)
{
	if (ip == HEDGE_IP_ANY)
		return true;
	struct netif *n;
	NETIF_FOREACH(n)
	{
		if (ip4_addr_get_u32(netif_ip4_addr(n)) == ip)
			return true;
	}
	return false;
}

int tcp_sock_bind(struct sock *s, uint32_t ip, uint16_t port)
{
	if (s->state != SS_NEW || !s->pcb.tcp || s->pcb.tcp->local_port != 0)
		return -EINVAL;
	if (!local_address(ip))
		return -EADDRNOTAVAIL;
	ip_addr_t addr = IPADDR4_INIT(ip);
	err_t err = tcp_bind(s->pcb.tcp, &addr, port);
	if (err != ERR_OK)
		return err_to_errno(err);
	tcp_sock_names(s);
	return 0;
}

int tcp_sock_listen(struct sock *s, int backlog)
{
	if (s->state == SS_LISTEN)
		return 0;
	if (s->state != SS_NEW || !s->pcb.tcp)
		return -EINVAL;
	if (backlog <= 0 || backlog > 255)
		backlog = 255;
	if (s->pcb.tcp->local_port == 0) {
		/* Unbound: an ephemeral port, as on Linux. */
		err_t err = tcp_bind(s->pcb.tcp, IP4_ADDR_ANY, 0);
		if (err != ERR_OK)
			return err_to_errno(err);
	}
	err_t err = ERR_OK;
	struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(s->pcb.tcp, (u8_t)backlog, &err);
	if (!lpcb)
		return err_to_errno(err);
	/* The connection PCB is freed; lpcb is a smaller listening one. */
	s->pcb.tcp = lpcb;
	s->state = SS_LISTEN;
	tcp_arg(lpcb, s);
	tcp_accept(lpcb, on_accept);
	tcp_sock_names(s);
	return 0;
}

static bool accept_ready(const struct sock *s)
{
	return s->acc_head != NULL || !s->pcb.tcp;
}

int tcp_sock_accept(struct sock *ls, struct hedge_sockaddr *peer)
{
	if (ls->state != SS_LISTEN)
		return -EINVAL;
	for (;;) {
		while (ls->acc_head) {
			struct sock *s = ls->acc_head;
			ls->acc_head = s->acc_next;
			if (!ls->acc_head)
				ls->acc_tail = NULL;
			s->acc_next = NULL;
			if (!s->pcb.tcp) {
				/* Reset before it was accepted: nothing left to hand out. */
				sock_free(s);
				continue;
			}
			int fd = sock_install(s);
			if (fd < 0) {
				s->acc_next = ls->acc_head;
				ls->acc_head = s;
				if (!ls->acc_tail)
					ls->acc_tail = s;
				return fd;
			}
			tcp_backlog_accepted(s->pcb.tcp);
			if (peer)
				*peer = s->remote;
			return fd;
		}
		if (ls->nonblock)
			return -EAGAIN;
		int r = sock_wait(ls, accept_ready, ls->rcvtimeo);
		if (r < 0)
			return r;
		if (!ls->pcb.tcp)
			return -EINVAL;
	}
}

static bool connect_done(const struct sock *s)
{
	return s->state != SS_CONNECTING || !s->pcb.tcp;
}

int tcp_sock_connect(struct sock *s, uint32_t ip, uint16_t port)
{
	if (s->state == SS_CONNECTED)
		return -EISCONN;
	if (s->state == SS_LISTEN)
		return -EINVAL;
	if (s->state == SS_NEW) {
		if (!s->pcb.tcp)
			return -EINVAL;
		if (port == 0)
			return -EADDRNOTAVAIL;
		ip_addr_t addr = IPADDR4_INIT(ip);
		/* Sends the SYN (into the tx ring, out at the next turn of the loop). */
		err_t err = tcp_connect(s->pcb.tcp, &addr, port, on_connected);
		if (err != ERR_OK)
			return err_to_errno(err);
		s->state = SS_CONNECTING;
		tcp_sock_names(s);
		if (s->nonblock)
			return -EINPROGRESS;
	} else if (s->nonblock) {
		return s->pcb.tcp ? -EALREADY : sock_take_error(s);
	}
	int r = sock_wait(s, connect_done, s->sndtimeo);
	if (r < 0 && s->pcb.tcp) {
		/* Timed out: give the attempt up so the socket is in a defined state. */
		struct tcp_pcb *pcb = s->pcb.tcp;
		detach(pcb);
		s->pcb.tcp = NULL;
		s->rd_eof = true;
		tcp_abort(pcb);
		return -ETIMEDOUT;
	}
	if (s->state == SS_CONNECTED)
		return 0;
	int e = sock_take_error(s);
	return e ? e : -ECONNREFUSED;
}

/*
 * lwIP 2.1.3's tcp_write sizes segments to half the largest window the peer
 * has offered (its full MSS while that is 0 or 1) and asserts, which would
 * end the VM, that the last unsent segment is no longer than that.  A peer
 * that opens with a zero window and then offers a few bytes breaks this
 * while our first reply is still queued; until that segment is out, queue
 * nothing more (found by fuzz/fuzz_lwip_rx.c).
 */
static bool unsent_tail_fits(const struct tcp_pcb *pcb)
{
	u16_t seg_max = LWIP_MIN(pcb->mss, TCPWND_MIN16(pcb->snd_wnd_max / 2));
	/* No segment is longer than the MSS: only a peer with a tiny window costs a walk. */
	if (!pcb->unsent || seg_max == 0 || seg_max == pcb->mss)
		return true;
	const struct tcp_seg *last = pcb->unsent;
	while (last->next)
		last = last->next;
	return last->len + LWIP_TCP_OPT_LENGTH(last->flags) <= seg_max;
}

/* Room for at least a segment, in the window, the queue and the memory budget. */
static bool send_room(struct tcp_pcb *pcb, size_t low_water, size_t queue_low)
{
	return tcp_sndbuf(pcb) >= low_water && tcp_sndqueuelen(pcb) < queue_low &&
	       net_mem_available() >= 2 * (TCP_MSS + 64) && unsent_tail_fits(pcb);
}

static bool can_send(const struct sock *s)
{
	if (!s->pcb.tcp || s->error || s->wr_shut)
		return true; /* so that the caller sees the error */
	if (s->state != SS_CONNECTED)
		return false;
	return send_room(s->pcb.tcp, 1, TCP_SND_QUEUELEN);
}

/* Copies as much of buf as lwIP takes now; returns the count. */
static size_t write_some(struct sock *s, const uint8_t *buf, size_t len, int flags)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	size_t done = 0, limit = 0xffff; /* tcp_write takes a u16 */
	if (!unsent_tail_fits(pcb))
		return 0;
	while (done < len) {
		size_t room = tcp_sndbuf(pcb);
		if (room == 0 || tcp_sndqueuelen(pcb) >= TCP_SND_QUEUELEN)
			break;
		size_t n = len - done;
		if (n > room)
			n = room;
		if (n > limit)
			n = limit;
		u8_t apiflags = TCP_WRITE_FLAG_COPY;
		if (done + n < len || (flags & HEDGE_MSG_MORE))
			apiflags |= TCP_WRITE_FLAG_MORE;
		err_t err = tcp_write(pcb, buf + done, (u16_t)n, apiflags);
		if (err == ERR_MEM && n > TCP_MSS) {
			limit = n / 2; /* out of segments or memory: try a smaller piece */
			continue;
		}
		if (err != ERR_OK)
			break;
		done += n;
	}
	if (done)
		sock_mark_output(s);
	return done;
}

long tcp_sock_send(struct sock *s, const uint8_t *buf, size_t len, int flags)
{
	bool nonblock = s->nonblock || (flags & HEDGE_MSG_DONTWAIT);
	size_t done = 0;
	for (;;) {
		if (s->error)
			return done ? (long)done : sock_take_error(s);
		if (s->wr_shut)
			return done ? (long)done : -EPIPE;
		if (s->state == SS_NEW || s->state == SS_LISTEN)
			return -ENOTCONN;
		if (!s->pcb.tcp)
			return done ? (long)done : -EPIPE;
		if (s->state == SS_CONNECTED) {
			done += write_some(s, buf + done, len - done, flags);
			if (done == len)
				return (long)done;
		}
		if (nonblock)
			return done ? (long)done : -EAGAIN;
		if (sock_wait(s, can_send, s->sndtimeo) < 0)
			return done ? (long)done : -EAGAIN;
	}
}

/* Reopens the receive window by n bytes the application has taken. */
static void window_update(struct sock *s, size_t n)
{
	while (s->pcb.tcp && n > 0) {
		u16_t chunk = n > 0xffff ? 0xffff : (u16_t)n;
		tcp_recved(s->pcb.tcp, chunk);
		n -= chunk;
	}
}

static bool can_recv(const struct sock *s)
{
	return s->rx.len > 0 || s->rd_eof || s->rd_shut || s->error || !s->pcb.tcp;
}

long tcp_sock_recv(struct sock *s, uint8_t *buf, size_t len, int flags)
{
	bool nonblock = s->nonblock || (flags & HEDGE_MSG_DONTWAIT);
	if (s->state == SS_NEW || s->state == SS_LISTEN)
		return -ENOTCONN;
	for (;;) {
		if (s->rx.len > 0) {
			size_t n = bytebuf_get(&s->rx, buf, len, flags & HEDGE_MSG_PEEK);
			if (!(flags & HEDGE_MSG_PEEK))
				window_update(s, n);
			return (long)n;
		}
		if (s->error)
			return sock_take_error(s);
		if (len == 0 || s->rd_eof || s->rd_shut || !s->pcb.tcp)
			return 0;
		if (nonblock)
			return -EAGAIN;
		int r = sock_wait(s, can_recv, s->rcvtimeo);
		if (r < 0)
			return r;
	}
}

int tcp_sock_shutdown(struct sock *s, int how)
{
	if (s->state != SS_CONNECTED && s->state != SS_CONNECTING)
		return -ENOTCONN;
	if (how != HEDGE_SHUT_WR && !s->rd_shut) {
		s->rd_shut = true;
		size_t unread = s->rx.len;
		bytebuf_reset(&s->rx);
		window_update(s, unread);
	}
	if (how != HEDGE_SHUT_RD && !s->wr_shut) {
		s->wr_shut = true;
		if (s->pcb.tcp) {
			/* Queues the FIN behind the data and sends what it can now. */
			sock_unmark_output(s);
			err_t err = tcp_shutdown(s->pcb.tcp, 0, 1);
			if (err != ERR_OK)
				return err_to_errno(err);
		}
	}
	return 0;
}

void tcp_sock_close(struct sock *s)
{
	struct tcp_pcb *pcb = s->pcb.tcp;
	s->pcb.tcp = NULL;
	sock_unmark_output(s);
	if (s->state == SS_LISTEN) {
		if (pcb) {
			tcp_arg(pcb, NULL);
			tcp_accept(pcb, NULL);
			tcp_close(pcb); /* cannot fail for a listening PCB */
		}
		/* Connections nobody accepted are reset, as on Linux. */
		while (s->acc_head) {
			struct sock *q = s->acc_head;
			s->acc_head = q->acc_next;
			if (q->pcb.tcp) {
				detach(q->pcb.tcp);
				tcp_abort(q->pcb.tcp);
				q->pcb.tcp = NULL;
			}
			sock_free(q);
		}
		s->acc_tail = NULL;
		return;
	}
	if (!pcb)
		return;
	detach(pcb);
	/*
	 * lwIP sends the queued data and a FIN, then frees the PCB by itself;
	 * if the application left received data unread it sends a reset
	 * instead, as Linux does.  Without memory for the FIN, reset now.
	 */
	if (tcp_close(pcb) != ERR_OK)
		tcp_abort(pcb);
}

static bool writable(const struct sock *s)
{
	return send_room(s->pcb.tcp, TCP_SNDLOWAT, TCP_SNDQUEUELOWAT);
}

int tcp_sock_ready(const struct sock *s, int want_read, int want_write)
{
	int m = 0;
	bool alive = s->pcb.tcp != NULL;
	switch (s->state) {
	case SS_LISTEN:
		if (want_read && s->acc_head)
			m |= HEDGE_POLLIN;
		break;
	case SS_NEW:
		/* Never connected: Linux reports this as hung up, and so do we. */
		m |= HEDGE_POLLHUP;
		if (want_write)
			m |= HEDGE_POLLOUT;
		break;
	case SS_CONNECTING:
		if (!alive) {
			m |= HEDGE_POLLHUP;
			if (want_write)
				m |= HEDGE_POLLOUT;
			if (want_read)
				m |= HEDGE_POLLIN;
		}
		break;
	case SS_CONNECTED:
		if (want_read && can_recv(s))
			m |= HEDGE_POLLIN;
		if (want_write && (!alive || s->error || s->wr_shut || writable(s)))
			m |= HEDGE_POLLOUT;
		if (!alive || (s->rd_eof && s->wr_shut))
			m |= HEDGE_POLLHUP;
		break;
	}
	if (s->error)
		m |= HEDGE_POLLERR;
	return m;
}
