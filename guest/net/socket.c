/*
 * socket.c - hedge's socket API: the descriptor table, the calls that are
 * the same for TCP and UDP, options, readiness and hedge_poll_sockets.
 *
 * The protocol-specific work is in sock_tcp.c and sock_udp.c.  Results are
 * negative errno values rather than -1 and errno, so a WASI layer can pass
 * them on without a global in between.
 */
#include <errno.h>
#include <string.h>

#include "hedge.h"
#include "lwip/ip4_addr.h"
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "net_internal.h"
#include "sock.h"

static struct sock *table[HEDGE_NET_MAX_SOCKETS];
static int lowest_free; /* no free descriptor below this one */
static struct sock *output_list;

int err_to_errno(err_t err)
{
	switch (err) {
	case ERR_OK:
		return 0;
	case ERR_MEM:
	case ERR_BUF:
		return -ENOBUFS;
	case ERR_TIMEOUT:
		return -ETIMEDOUT;
	case ERR_RTE:
		return -ENETUNREACH;
	case ERR_INPROGRESS:
		return -EINPROGRESS;
	case ERR_VAL:
	case ERR_ARG:
		return -EINVAL;
	case ERR_WOULDBLOCK:
		return -EAGAIN;
	case ERR_USE:
		return -EADDRINUSE;
	case ERR_ALREADY:
		return -EALREADY;
	case ERR_ISCONN:
		return -EISCONN;
	case ERR_CONN:
		return -ENOTCONN;
	case ERR_IF:
		return -ENETDOWN;
	case ERR_ABRT:
		return -ECONNABORTED;
	case ERR_RST:
		return -ECONNRESET;
	case ERR_CLSD:
		return -ENOTCONN;
	default:
		return -EIO;
	}
}

struct sock *sock_new(int kind)
{
	struct sock *s = net_mem_alloc(sizeof(*s));
	if (!s)
		return NULL;
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->kind = (uint8_t)kind;
	s->state = SS_NEW;
	return s;
}

void sock_free(struct sock *s)
{
	sock_unmark_output(s);
	bytebuf_reset(&s->rx);
	while (s->dq_head) {
		struct dgram *d = s->dq_head;
		s->dq_head = d->next;
		net_mem_free(d);
	}
	net_mem_free(s);
}

int sock_install(struct sock *s)
{
	for (int fd = lowest_free; fd < HEDGE_NET_MAX_SOCKETS; fd++) {
		if (!table[fd]) {
			table[fd] = s;
			s->fd = fd;
			lowest_free = fd + 1;
			return fd;
		}
	}
	lowest_free = HEDGE_NET_MAX_SOCKETS;
	return -EMFILE;
}

static struct sock *lookup(int fd)
{
	if (fd < 0 || fd >= HEDGE_NET_MAX_SOCKETS)
		return NULL;
	return table[fd];
}

void sock_mark_output(struct sock *s)
{
	if (s->in_output_list)
		return;
	s->in_output_list = true;
	s->out_prev = NULL;
	s->out_next = output_list;
	if (output_list)
		output_list->out_prev = s;
	output_list = s;
}

void sock_unmark_output(struct sock *s)
{
	if (!s->in_output_list)
		return;
	if (s->out_prev)
		s->out_prev->out_next = s->out_next;
	else
		output_list = s->out_next;
	if (s->out_next)
		s->out_next->out_prev = s->out_prev;
	s->in_output_list = false;
	s->out_next = s->out_prev = NULL;
}

void sock_flush_output(void)
{
	while (output_list) {
		struct sock *s = output_list;
		sock_unmark_output(s);
		if (s->kind == HEDGE_SOCK_TCP && s->pcb.tcp)
			tcp_output(s->pcb.tcp);
	}
}

int sock_take_error(struct sock *s)
{
	int e = s->error;
	s->error = 0;
	return e;
}

int sock_wait(struct sock *s, bool (*ready)(const struct sock *s), uint64_t timeout_ns)
{
	uint64_t start = hedge_clock_monotonic_ns();
	for (;;) {
		if (ready(s))
			return 0;
		uint64_t wait = UINT64_MAX;
		if (timeout_ns) {
			uint64_t spent = hedge_clock_monotonic_ns() - start;
			if (spent >= timeout_ns)
				return -EAGAIN;
			wait = timeout_ns - spent;
		}
		hedge_net_poll(wait);
	}
}

int hedge_socket(int kind)
{
	if (kind != HEDGE_SOCK_TCP && kind != HEDGE_SOCK_UDP)
		return -EPROTONOSUPPORT;
	hedge_net_init();
	struct sock *s = sock_new(kind);
	if (!s)
		return -ENOMEM;
	int r = kind == HEDGE_SOCK_TCP ? tcp_sock_open(s) : udp_sock_open(s);
	if (r == 0)
		r = sock_install(s);
	if (r < 0) {
		if (kind == HEDGE_SOCK_TCP)
			tcp_sock_close(s);
		else
			udp_sock_close(s);
		sock_free(s);
	}
	return r;
}

int hedge_bind(int fd, uint32_t ip, uint16_t port)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	return s->kind == HEDGE_SOCK_TCP ? tcp_sock_bind(s, ip, port) : udp_sock_bind(s, ip, port);
}

int hedge_listen(int fd, int backlog)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (s->kind != HEDGE_SOCK_TCP)
		return -EOPNOTSUPP;
	return tcp_sock_listen(s, backlog);
}

int hedge_accept(int fd, struct hedge_sockaddr *peer)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (s->kind != HEDGE_SOCK_TCP)
		return -EOPNOTSUPP;
	return tcp_sock_accept(s, peer);
}

int hedge_connect(int fd, uint32_t ip, uint16_t port)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	return s->kind == HEDGE_SOCK_TCP ? tcp_sock_connect(s, ip, port)
	                                 : udp_sock_connect(s, ip, port);
}

long hedge_send_flags(int fd, const void *buf, size_t len, int flags)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (s->kind == HEDGE_SOCK_TCP)
		return tcp_sock_send(s, buf, len, flags);
	return udp_sock_sendto(s, buf, len, true, 0, 0);
}

long hedge_send(int fd, const void *buf, size_t len)
{
	return hedge_send_flags(fd, buf, len, 0);
}

long hedge_sendto(int fd, const void *buf, size_t len, int flags, uint32_t ip, uint16_t port)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (s->kind == HEDGE_SOCK_TCP)
		return tcp_sock_send(s, buf, len, flags);
	return udp_sock_sendto(s, buf, len, false, ip, port);
}

long hedge_recvfrom(int fd, void *buf, size_t len, int flags, struct hedge_sockaddr *from)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (!buf && len)
		return -EFAULT;
	if (s->kind == HEDGE_SOCK_UDP)
		return udp_sock_recvfrom(s, buf, len, flags, from);
	long n = tcp_sock_recv(s, buf, len, flags);
	if (n >= 0 && from)
		*from = s->remote;
	return n;
}

long hedge_recv_flags(int fd, void *buf, size_t len, int flags)
{
	return hedge_recvfrom(fd, buf, len, flags, NULL);
}

long hedge_recv(int fd, void *buf, size_t len)
{
	return hedge_recvfrom(fd, buf, len, 0, NULL);
}

int hedge_shutdown(int fd, int how)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (how != HEDGE_SHUT_RD && how != HEDGE_SHUT_WR && how != HEDGE_SHUT_RDWR)
		return -EINVAL;
	if (s->kind != HEDGE_SOCK_TCP) {
		/* UDP: only stops the calls, as on Linux. */
		if (how != HEDGE_SHUT_WR)
			s->rd_shut = true;
		if (how != HEDGE_SHUT_RD)
			s->wr_shut = true;
		return 0;
	}
	return tcp_sock_shutdown(s, how);
}

int hedge_close(int fd)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	table[fd] = NULL;
	if (fd < lowest_free)
		lowest_free = fd;
	if (s->kind == HEDGE_SOCK_TCP)
		tcp_sock_close(s);
	else
		udp_sock_close(s);
	sock_free(s);
	return 0;
}

int hedge_getsockname(int fd, struct hedge_sockaddr *out)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (s->kind == HEDGE_SOCK_TCP)
		tcp_sock_names(s);
	*out = s->local;
	return 0;
}

int hedge_getpeername(int fd, struct hedge_sockaddr *out)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	if (s->kind == HEDGE_SOCK_TCP)
		tcp_sock_names(s);
	bool connected = s->kind == HEDGE_SOCK_TCP ? s->state == SS_CONNECTED && s->pcb.tcp
	                                           : s->remote.port != 0;
	if (!connected)
		return -ENOTCONN;
	*out = s->remote;
	return 0;
}

int hedge_setsockopt(int fd, int opt, uint64_t value)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	switch (opt) {
	case HEDGE_SO_NONBLOCK:
		s->nonblock = value != 0;
		return 0;
	case HEDGE_SO_RCVTIMEO:
		s->rcvtimeo = value;
		return 0;
	case HEDGE_SO_SNDTIMEO:
		s->sndtimeo = value;
		return 0;
	case HEDGE_TCP_NODELAY:
		if (s->kind != HEDGE_SOCK_TCP)
			return -ENOPROTOOPT;
		s->nodelay = value != 0;
		break;
	case HEDGE_SO_KEEPALIVE:
		if (s->kind != HEDGE_SOCK_TCP)
			return -ENOPROTOOPT;
		s->keepalive = value != 0;
		break;
	case HEDGE_SO_REUSEADDR:
		/* Lives on the PCB, where lwIP's bind looks for it. */
		if (s->kind == HEDGE_SOCK_TCP && s->pcb.tcp) {
			if (value)
				ip_set_option(s->pcb.tcp, SOF_REUSEADDR);
			else
				ip_reset_option(s->pcb.tcp, SOF_REUSEADDR);
		} else if (s->kind == HEDGE_SOCK_UDP && s->pcb.udp) {
			if (value)
				ip_set_option(s->pcb.udp, SOF_REUSEADDR);
			else
				ip_reset_option(s->pcb.udp, SOF_REUSEADDR);
		}
		return 0;
	default:
		return -ENOPROTOOPT;
	}
	tcp_sock_set_options(s);
	return 0;
}

int hedge_getsockopt(int fd, int opt, uint64_t *value)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	switch (opt) {
	case HEDGE_SO_NONBLOCK:
		*value = s->nonblock;
		return 0;
	case HEDGE_SO_RCVTIMEO:
		*value = s->rcvtimeo;
		return 0;
	case HEDGE_SO_SNDTIMEO:
		*value = s->sndtimeo;
		return 0;
	case HEDGE_TCP_NODELAY:
		*value = s->nodelay;
		return s->kind == HEDGE_SOCK_TCP ? 0 : -ENOPROTOOPT;
	case HEDGE_SO_KEEPALIVE:
		*value = s->keepalive;
		return s->kind == HEDGE_SOCK_TCP ? 0 : -ENOPROTOOPT;
	case HEDGE_SO_REUSEADDR:
		if (s->kind == HEDGE_SOCK_TCP)
			*value = s->pcb.tcp && ip_get_option(s->pcb.tcp, SOF_REUSEADDR);
		else
			*value = s->pcb.udp && ip_get_option(s->pcb.udp, SOF_REUSEADDR);
		return 0;
	case HEDGE_SO_ERROR:
		*value = (uint64_t)(int64_t)sock_take_error(s);
		return 0;
	case HEDGE_SO_TYPE:
		*value = s->kind;
		return 0;
	case HEDGE_SO_RCVBUF:
		*value = s->kind == HEDGE_SOCK_TCP ? TCP_WND : UDP_RCVBUF;
		return 0;
	case HEDGE_SO_SNDBUF:
		*value = s->kind == HEDGE_SOCK_TCP ? tcp_sock_sndbuf(s) : 65507;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
}

static int ready_mask(const struct sock *s, int want_read, int want_write)
{
	return s->kind == HEDGE_SOCK_TCP ? tcp_sock_ready(s, want_read, want_write)
	                                 : udp_sock_ready(s, want_read, want_write);
}

int hedge_socket_ready(int fd, int want_read, int want_write)
{
	struct sock *s = lookup(fd);
	if (!s)
		return -EBADF;
	return ready_mask(s, want_read, want_write);
}

static int scan(struct hedge_pollfd *fds, size_t nfds)
{
	int count = 0;
	for (size_t i = 0; i < nfds; i++) {
		fds[i].revents = 0;
		if (fds[i].fd < 0)
			continue;
		struct sock *s = lookup(fds[i].fd);
		int m =
		    s ? ready_mask(s, fds[i].events & HEDGE_POLLIN, fds[i].events & HEDGE_POLLOUT)
		      : HEDGE_POLLNVAL;
		fds[i].revents = (short)m;
		if (m)
			count++;
	}
	return count;
}

int hedge_poll_sockets(struct hedge_pollfd *fds, size_t nfds, int64_t timeout_ns)
{
	uint64_t start = hedge_clock_monotonic_ns();
	/* A non-blocking turn first: sends what the last round queued, takes what arrived. */
	hedge_net_poll(0);
	for (;;) {
		int count = scan(fds, nfds);
		if (count > 0 || timeout_ns == 0)
			return count;
		uint64_t wait = UINT64_MAX;
		if (timeout_ns > 0) {
			uint64_t spent = hedge_clock_monotonic_ns() - start;
			if (spent >= (uint64_t)timeout_ns)
				return 0;
			wait = (uint64_t)timeout_ns - spent;
		}
		hedge_net_poll(wait);
	}
}

int hedge_inet_pton(const char *text, uint32_t *ip)
{
	ip4_addr_t a;
	if (!text || !ip4addr_aton(text, &a))
		return -EINVAL;
	*ip = ip4_addr_get_u32(&a);
	return 0;
}

char *hedge_inet_ntop(uint32_t ip, char *buf, size_t len)
{
	ip4_addr_t a;
	ip4_addr_set_u32(&a, ip);
	if (!ip4addr_ntoa_r(&a, buf, (int)(len > 64 ? 64 : len)) && len)
		buf[0] = '\0';
	return buf;
}
