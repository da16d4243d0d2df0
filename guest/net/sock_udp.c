/*
 * sock_udp.c - UDP sockets on lwIP's raw UDP API.
 *
 * Each received datagram is copied into a queue entry of its own (the pbuf
 * goes back to the pool at once) until the socket holds UDP_RCVBUF bytes;
 * beyond that datagrams are dropped, which is what UDP promises.
 */
#include <errno.h>
#include <string.h>

#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "net_internal.h"
#include "sock.h"

#define UDP_PAYLOAD_MAX 65507u /* 65535 - IPv4 header - UDP header */

static void on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
                    u16_t port)
{
	struct sock *s = arg;
	(void)pcb;
	if (!s || s->rd_shut || s->dq_bytes + p->tot_len > UDP_RCVBUF) {
		pbuf_free(p);
		return;
	}
	struct dgram *d = net_mem_alloc(sizeof(*d) + p->tot_len);
	if (!d) {
		pbuf_free(p);
		return;
	}
	d->next = NULL;
	d->ip = ip4_addr_get_u32(ip_2_ip4(addr));
	d->port = port;
	d->len = p->tot_len;
	pbuf_copy_partial(p, d->data, p->tot_len, 0);
	pbuf_free(p);
	if (s->dq_tail)
		s->dq_tail->next = d;
	else
		s->dq_head = d;
	s->dq_tail = d;
	s->dq_bytes += d->len;
}

static void names(struct sock *s)
{
	struct udp_pcb *pcb = s->pcb.udp;
	s->local.ip = ip4_addr_get_u32(ip_2_ip4(&pcb->local_ip));
	s->local.port = pcb->local_port;
}

int udp_sock_open(struct sock *s)
{
	struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_V4);
	if (!pcb)
		return -ENOBUFS;
	s->pcb.udp = pcb;
	udp_recv(pcb, on_recv, s);
	return 0;
}

int udp_sock_bind(struct sock *s, uint32_t ip, uint16_t port)
{
	if (s->pcb.udp->local_port != 0)
		return -EINVAL;
	if (ip != HEDGE_IP_ANY) {
		bool ours = false;
		struct netif *n;
		NETIF_FOREACH(n)
		{
			ours |= ip4_addr_get_u32(netif_ip4_addr(n)) == ip;
		}
		if (!ours)
			return -EADDRNOTAVAIL;
	}
	ip_addr_t addr = IPADDR4_INIT(ip);
	err_t err = udp_bind(s->pcb.udp, &addr, port);
	if (err != ERR_OK)
		return err_to_errno(err);
	names(s);
	return 0;
}

int udp_sock_connect(struct sock *s, uint32_t ip, uint16_t port)
{
	if (port == 0) {
		/* As on Linux, connecting to port 0 dissolves the association. */
		udp_disconnect(s->pcb.udp);
		s->remote = (struct hedge_sockaddr){0};
		return 0;
	}
	ip_addr_t addr = IPADDR4_INIT(ip);
	err_t err = udp_connect(s->pcb.udp, &addr, port);
	if (err != ERR_OK)
		return err_to_errno(err);
	s->remote.ip = ip;
	s->remote.port = port;
	names(s);
	return 0;
}

long udp_sock_sendto(struct sock *s, const uint8_t *buf, size_t len, bool to_default, uint32_t ip,
                     uint16_t port)
{
	if (s->wr_shut)
		return -EPIPE;
	if (to_default) {
		if (s->remote.port == 0)
			return -EDESTADDRREQ;
		ip = s->remote.ip;
		port = s->remote.port;
	}
	if (port == 0)
		return -EINVAL;
	if (len > UDP_PAYLOAD_MAX)
		return -EMSGSIZE;
	struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return -ENOBUFS;
	if (len)
		pbuf_take(p, buf, (u16_t)len);
	ip_addr_t addr = IPADDR4_INIT(ip);
	err_t err = udp_sendto(s->pcb.udp, p, &addr, port);
	pbuf_free(p);
	if (err != ERR_OK)
		return err == ERR_RTE ? -EHOSTUNREACH : err_to_errno(err);
	names(s); /* sendto binds an unbound socket */
	return (long)len;
}

static bool can_recv(const struct sock *s)
{
	return s->dq_head != NULL || s->rd_shut;
}

long udp_sock_recvfrom(struct sock *s, uint8_t *buf, size_t len, int flags,
                       struct hedge_sockaddr *from)
{
	bool nonblock = s->nonblock || (flags & HEDGE_MSG_DONTWAIT);
	while (!s->dq_head) {
		if (s->rd_shut)
			return 0;
		if (nonblock)
			return -EAGAIN;
		int r = sock_wait(s, can_recv, s->rcvtimeo);
		if (r < 0)
			return r;
	}
	struct dgram *d = s->dq_head;
	size_t n = len < d->len ? len : d->len;
	if (n)
		memcpy(buf, d->data, n);
	if (from)
		*from = (struct hedge_sockaddr){.ip = d->ip, .port = d->port};
	long result = (flags & HEDGE_MSG_TRUNC) ? (long)d->len : (long)n;
	if (!(flags & HEDGE_MSG_PEEK)) {
		s->dq_head = d->next;
		if (!s->dq_head)
			s->dq_tail = NULL;
		s->dq_bytes -= d->len;
		net_mem_free(d);
	}
	return result;
}

void udp_sock_close(struct sock *s)
{
	if (s->pcb.udp)
		udp_remove(s->pcb.udp);
	s->pcb.udp = NULL;
}

int udp_sock_ready(const struct sock *s, int want_read, int want_write)
{
	int m = 0;
	if (want_read && can_recv(s))
		m |= HEDGE_POLLIN;
	if (want_write)
		m |= HEDGE_POLLOUT;
	return m;
}
