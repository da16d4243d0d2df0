/*
 * wasi_sock_check.c - checks hedge's WASI sockets from inside a guest: the
 * WasmEdge socket extension, preview1's sock_* calls, fd_read/fd_write/
 * fd_close on sockets and poll_oneoff readiness, over the guest's own
 * loopback (no network device needed).  Built for wasm32-wasi by
 * tests/integration/net_wasm.sh; prints "ok - ..." per check and ends with
 * "wasi_sock_check: N passed, M failed" (exit status 1 if any failed).
 *
 * The imports are declared here with the exact types WasmEdge's host
 * functions have, as a program compiled against WasmEdge would.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <wasi/api.h>

#define IMPORT(name) __attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

struct addr {
	uint8_t *buf;
	uint32_t len;
};

uint32_t sock_open(uint32_t af, uint32_t type, uint32_t *fd) IMPORT("sock_open");
uint32_t sock_open_v2(uint32_t af, uint32_t type, uint32_t *fd) IMPORT("sock_open_v2");
uint32_t sock_bind(uint32_t fd, struct addr *a, uint32_t port) IMPORT("sock_bind");
uint32_t sock_listen(uint32_t fd, uint32_t backlog) IMPORT("sock_listen");
uint32_t sock_accept(uint32_t fd, uint32_t flags, uint32_t *nfd) IMPORT("sock_accept");
uint32_t sock_accept_v2(uint32_t fd, uint32_t flags, uint32_t *nfd) IMPORT("sock_accept_v2");
uint32_t sock_connect(uint32_t fd, struct addr *a, uint32_t port) IMPORT("sock_connect");
uint32_t sock_recv(uint32_t fd, __wasi_iovec_t *iovs, uint32_t n, uint32_t flags, uint32_t *nread,
                   uint16_t *roflags) IMPORT("sock_recv");
uint32_t sock_send(uint32_t fd, const __wasi_ciovec_t *iovs, uint32_t n, uint32_t flags,
                   uint32_t *nwritten) IMPORT("sock_send");
uint32_t sock_send_to(uint32_t fd, const __wasi_ciovec_t *iovs, uint32_t n, struct addr *a,
                      uint32_t port, uint32_t flags, uint32_t *nwritten) IMPORT("sock_send_to");
/* WasmEdge before 0.12: the sender is written into the address buffer, no port argument. */
uint32_t sock_recv_from(uint32_t fd, __wasi_iovec_t *iovs, uint32_t n, struct addr *a,
                        uint32_t flags, uint32_t *nread, uint16_t *roflags)
    IMPORT("sock_recv_from");
/* WasmEdge 0.12 (also importable as sock_recv_from with this type). */
uint32_t sock_recv_from_v2(uint32_t fd, __wasi_iovec_t *iovs, uint32_t n, struct addr *a,
                           uint32_t flags, uint32_t *port, uint32_t *nread, uint16_t *roflags)
    IMPORT("sock_recv_from_v2");
uint32_t sock_shutdown(uint32_t fd, uint32_t how) IMPORT("sock_shutdown");
uint32_t sock_getsockopt(uint32_t fd, uint32_t level, uint32_t name, void *value, uint32_t *len)
    IMPORT("sock_getsockopt");
uint32_t sock_setsockopt(uint32_t fd, uint32_t level, uint32_t name, const void *value,
                         uint32_t len) IMPORT("sock_setsockopt");
uint32_t sock_getlocaladdr(uint32_t fd, struct addr *a, uint32_t *type, uint32_t *port)
    IMPORT("sock_getlocaladdr");
uint32_t sock_getpeeraddr(uint32_t fd, struct addr *a, uint32_t *type, uint32_t *port)
    IMPORT("sock_getpeeraddr");
uint32_t sock_getlocaladdr_v2(uint32_t fd, struct addr *a, uint32_t *port)
    IMPORT("sock_getlocaladdr_v2");
uint32_t sock_getaddrinfo(const char *node, uint32_t node_len, const char *service,
                          uint32_t service_len, const void *hints, uint32_t *res, uint32_t max_res,
                          uint32_t *res_len) IMPORT("sock_getaddrinfo");

enum { AF_INET4 = 1, AF_INET6 = 2, DGRAM = 1, STREAM = 2 };
enum { E_AFNOSUPPORT = 5, E_CONNREFUSED = 14, E_INPROGRESS = 26, E_NETUNREACH = 40 };
enum { E_NOPROTOOPT = 50, E_AI_NONAME = 84 };

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

static uint8_t loopback[4] = {127, 0, 0, 1};

static void close_fd(uint32_t fd)
{
	if (__wasi_fd_close(fd) != 0)
		check(0, "fd_close");
}

/* Waits for one event on fd; returns its flags | 0x100 if it fired, 0 on timeout. */
static int wait_for(uint32_t fd, uint8_t type, uint64_t timeout_ms, uint64_t *nbytes)
{
	__wasi_subscription_t subs[2] = {0};
	subs[0].userdata = 1;
	subs[0].u.tag = type;
	subs[0].u.u.fd_read.file_descriptor = fd;
	subs[1].userdata = 2;
	subs[1].u.tag = __WASI_EVENTTYPE_CLOCK;
	subs[1].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	subs[1].u.u.clock.timeout = timeout_ms * 1000000u;
	__wasi_event_t ev[2];
	__wasi_size_t n = 0;
	if (__wasi_poll_oneoff(subs, ev, 2, &n) != 0)
		return 0;
	for (__wasi_size_t i = 0; i < n; i++)
		if (ev[i].userdata == 1) {
			if (nbytes)
				*nbytes = ev[i].fd_readwrite.nbytes;
			return 0x100 | ev[i].fd_readwrite.flags | (ev[i].error ? 0x200 : 0);
		}
	return 0;
}

static uint32_t tcp_listener(uint32_t *port)
{
	uint32_t fd = 0, type = 0, one = 1;
	struct addr a = {loopback, 4};
	uint8_t got[16];
	struct addr out = {got, sizeof(got)};
	check(sock_open(AF_INET4, STREAM, &fd) == 0, "sock_open(INET4, STREAM)");
	check(sock_setsockopt(fd, 0, 0, &one, 4) == 0, "setsockopt SO_REUSEADDR");
	check(sock_bind(fd, &a, 0) == 0, "sock_bind 127.0.0.1:0");
	check(sock_listen(fd, 16) == 0, "sock_listen");
	check(sock_getlocaladdr(fd, &out, &type, port) == 0 && type == 4 && *port != 0 &&
	          memcmp(got, loopback, 4) == 0,
	      "sock_getlocaladdr (v1): 127.0.0.1, type 4, a port");
	return fd;
}

static void tcp_checks(void)
{
	uint32_t port = 0, lfd = tcp_listener(&port);
	uint32_t cfd = 0, sfd = 0, v = 0, len = 4;
	struct addr a = {loopback, 4};
	check(sock_open_v2(AF_INET4, STREAM, &cfd) == 0, "sock_open_v2");
	check(__wasi_fd_fdstat_set_flags(cfd, __WASI_FDFLAGS_NONBLOCK) == 0,
	      "fd_fdstat_set_flags NONBLOCK");
	uint32_t e = sock_connect(cfd, &a, port);
	check(e == 0 || e == E_INPROGRESS, "non-blocking sock_connect: 0 or EINPROGRESS");
	check(wait_for(lfd, __WASI_EVENTTYPE_FD_READ, 2000, NULL) & 0x100,
	      "poll_oneoff: the listener is readable with a connection waiting");
	check(wait_for(cfd, __WASI_EVENTTYPE_FD_WRITE, 2000, NULL) & 0x100,
	      "poll_oneoff: the connecting socket becomes writable");
	check(sock_getsockopt(cfd, 0, 2, &v, &len) == 0 && v == 0 && len == 4, "SO_ERROR is 0");
	check(sock_accept(lfd, __WASI_FDFLAGS_NONBLOCK, &sfd) == 0, "sock_accept (preview1 type)");
	__wasi_fdstat_t st;
	check(__wasi_fd_fdstat_get(sfd, &st) == 0 &&
	          st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM &&
	          (st.fs_flags & __WASI_FDFLAGS_NONBLOCK),
	      "fd_fdstat_get: a stream socket, non-blocking as accepted");
	uint32_t more = 0;
	check(__wasi_fd_fdstat_set_flags(lfd, __WASI_FDFLAGS_NONBLOCK) == 0 &&
	          sock_accept_v2(lfd, 0, &more) == __WASI_ERRNO_AGAIN,
	      "sock_accept_v2 on a non-blocking listener with nothing waiting: EAGAIN");
	uint8_t peer[4] = {0};
	struct addr pa = {peer, 4};
	uint32_t ptype = 0, pport = 0;
	check(sock_getpeeraddr(sfd, &pa, &ptype, &pport) == 0 && memcmp(peer, loopback, 4) == 0 &&
	          pport != 0 && ptype == 4,
	      "sock_getpeeraddr (v1)");
	uint8_t storage[128] = {0};
	struct addr sa = {storage, sizeof(storage)};
	uint32_t lport = 0;
	check(sock_getlocaladdr_v2(sfd, &sa, &lport) == 0 && storage[0] == AF_INET4 &&
	          memcmp(storage + 2, loopback, 4) == 0 && lport == port,
	      "sock_getlocaladdr_v2: address storage, family 1");

	const __wasi_ciovec_t out[2] = {{(const uint8_t *)"hello, ", 7},
	                                {(const uint8_t *)"world", 5}};
	uint32_t nw = 0, nr = 0;
	uint16_t rof = 0;
	check(sock_send(cfd, out, 2, 0, &nw) == 0 && nw == 12, "sock_send of two buffers");
	uint64_t nbytes = 0;
	check(wait_for(sfd, __WASI_EVENTTYPE_FD_READ, 2000, &nbytes) == 0x100 && nbytes >= 1,
	      "poll_oneoff: data makes the socket readable (nbytes >= 1)");
	char buf[64] = {0}, buf2[8] = {0};
	__wasi_iovec_t in[2] = {{(uint8_t *)buf, 5}, {(uint8_t *)buf2, 7}};
	check(sock_recv(sfd, in, 2, __WASI_RIFLAGS_RECV_PEEK, &nr, &rof) == 0 && nr == 12 &&
	          memcmp(buf, "hello", 5) == 0 && memcmp(buf2, ", world", 7) == 0,
	      "sock_recv with PEEK into two buffers");
	memset(buf, 0, sizeof(buf));
	check(sock_recv(sfd, in, 2, 0, &nr, &rof) == 0 && nr == 12 && memcmp(buf, "hello", 5) == 0,
	      "sock_recv takes the same bytes");
	check(sock_recv(sfd, in, 1, 0, &nr, &rof) == __WASI_ERRNO_AGAIN,
	      "sock_recv on an empty non-blocking socket: EAGAIN");

	/* fd_write / fd_read / fd_close work on sockets too. */
	__wasi_size_t n = 0;
	const __wasi_ciovec_t w = {(const uint8_t *)"via fd_write", 12};
	check(__wasi_fd_write(sfd, &w, 1, &n) == 0 && n == 12, "fd_write on a socket");
	check(wait_for(cfd, __WASI_EVENTTYPE_FD_READ, 2000, NULL) & 0x100, "... arrives");
	__wasi_iovec_t r = {(uint8_t *)buf, sizeof(buf)};
	check(__wasi_fd_read(cfd, &r, 1, &n) == 0 && n == 12 &&
	          memcmp(buf, "via fd_write", 12) == 0,
	      "fd_read on a socket");

	/* Orderly shutdown: the reader sees end of stream and a hangup. */
	check(sock_shutdown(cfd, __WASI_SDFLAGS_WR) == 0, "sock_shutdown(WR)");
	int ev = wait_for(sfd, __WASI_EVENTTYPE_FD_READ, 2000, &nbytes);
	check((ev & 0x100) && (ev & __WASI_EVENTRWFLAGS_FD_READWRITE_HANGUP) && nbytes == 0,
	      "poll_oneoff: end of stream is readable with HANGUP");
	check(sock_recv(sfd, in, 1, 0, &nr, &rof) == 0 && nr == 0, "sock_recv at end of stream: 0");
	check(sock_shutdown(sfd, 4) == __WASI_ERRNO_INVAL, "sock_shutdown with bad flags: EINVAL");
	check(__wasi_fd_close(sfd) == 0 && __wasi_fd_close(cfd) == 0, "fd_close on sockets");
	check(sock_recv(sfd, in, 1, 0, &nr, &rof) == __WASI_ERRNO_BADF, "a closed socket: EBADF");

	/* Blocking connect to a port nobody listens on; a receive timeout. */
	uint32_t bfd = 0;
	sock_open(AF_INET4, STREAM, &bfd);
	check(sock_connect(bfd, &a, 1) == E_CONNREFUSED,
	      "blocking connect to a closed port: ECONNREFUSED");
	close_fd(bfd);
	sock_open(AF_INET4, STREAM, &cfd);
	sock_connect(cfd, &a, port);
	sock_accept(lfd, 0, &sfd);
	struct {
		int64_t sec, usec;
	} tv = {0, 100000}, got = {0, 0};
	uint32_t tvlen = sizeof(got);
	check(sock_setsockopt(cfd, 0, 11, &tv, sizeof(tv)) == 0, "setsockopt SO_RCVTIMEO 100 ms");
	check(sock_getsockopt(cfd, 0, 11, &got, &tvlen) == 0 && got.usec == 100000 && tvlen == 16,
	      "getsockopt SO_RCVTIMEO");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = sock_recv(cfd, in, 1, 0, &nr, &rof);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	check(e == __WASI_ERRNO_AGAIN && ms >= 90 && ms < 2000,
	      "a blocking recv times out: EAGAIN");
	uint32_t one = 1;
	check(sock_setsockopt(cfd, 6, 1, &one, 4) == 0, "setsockopt TCP_NODELAY (level 6)");
	len = 4;
	check(sock_getsockopt(cfd, 0, 1, &v, &len) == 0 && v == STREAM,
	      "getsockopt SO_TYPE: stream");
	len = 4;
	check(sock_getsockopt(lfd, 0, 13, &v, &len) == 0 && v == 1, "getsockopt SO_ACCEPTCONN");
	len = 4;
	check(sock_getsockopt(cfd, 0, 9, &v, &len) == E_NOPROTOOPT, "SO_LINGER: ENOPROTOOPT");
	close_fd(cfd);
	close_fd(sfd);
	close_fd(lfd);
}

static void udp_checks(void)
{
	uint32_t a = 0, b = 0, type = 0, pa = 0, pb = 0;
	struct addr lo = {loopback, 4};
	uint8_t got[16];
	struct addr out = {got, 16};
	check(sock_open(AF_INET4, DGRAM, &a) == 0 && sock_open(AF_INET4, DGRAM, &b) == 0,
	      "sock_open(INET4, DGRAM)");
	check(sock_bind(a, &lo, 0) == 0 && sock_bind(b, &lo, 0) == 0, "bind two UDP sockets");
	sock_getlocaladdr(a, &out, &type, &pa);
	sock_getlocaladdr(b, &out, &type, &pb);
	const __wasi_ciovec_t msg[2] = {{(const uint8_t *)"data", 4}, {(const uint8_t *)"gram", 4}};
	uint32_t nw = 0, nr = 0;
	uint16_t rof = 0;
	check(sock_send_to(b, msg, 2, &lo, pa, 0, &nw) == 0 && nw == 8,
	      "sock_send_to: one datagram of two buffers");
	check(wait_for(a, __WASI_EVENTTYPE_FD_READ, 2000, NULL) & 0x100,
	      "poll_oneoff: a datagram is readable");
	char buf[8] = {0};
	uint8_t from[16] = {0};
	struct addr fa = {from, 16};
	__wasi_iovec_t in = {(uint8_t *)buf, 8};
	check(sock_recv_from(a, &in, 1, &fa, 0, &nr, &rof) == 0 && nr == 8 &&
	          memcmp(buf, "datagram", 8) == 0 && from[0] == 2 &&
	          (from[2] | from[3] << 8) == (int)pb && memcmp(from + 4, loopback, 4) == 0,
	      "sock_recv_from (v1): data, then family 2, port, address");
	sock_send_to(b, msg, 2, &lo, pa, 0, &nw);
	wait_for(a, __WASI_EVENTTYPE_FD_READ, 2000, NULL);
	uint8_t storage[128] = {0};
	struct addr sa = {storage, 128};
	uint32_t port = 0;
	__wasi_iovec_t small = {(uint8_t *)buf, 4};
	check(sock_recv_from_v2(a, &small, 1, &sa, 0, &port, &nr, &rof) == 0 && nr == 4 &&
	          (rof & __WASI_ROFLAGS_RECV_DATA_TRUNCATED) && storage[0] == AF_INET4 &&
	          memcmp(storage + 2, loopback, 4) == 0 && (port & 0xffff) == pb,
	      "sock_recv_from_v2: storage, port, TRUNCATED for a short buffer");
	close_fd(a);
	close_fd(b);
}

static void addrinfo_checks(void)
{
	/* WasmEdge's addrinfo (28 bytes) and sockaddr (12 bytes), as the Rust crate lays them out.
	 */
	uint8_t hints[28] = {0}, ai[28] = {0}, sa[12] = {0}, data[26];
	uint32_t res = (uint32_t)(uintptr_t)ai, n = 0, tmp;
	tmp = (uint32_t)(uintptr_t)sa;
	memcpy(ai + 12, &tmp, 4);
	tmp = sizeof(data);
	memcpy(sa + 4, &tmp, 4);
	tmp = (uint32_t)(uintptr_t)data;
	memcpy(sa + 8, &tmp, 4);
	hints[3] = STREAM;
	check(sock_getaddrinfo("10.1.2.3", 9, "8080", 5, hints, &res, 1, &n) == 0 && n == 1 &&
	          ai[2] == AF_INET4 && ai[3] == STREAM && sa[0] == AF_INET4 && data[0] == 0x1f &&
	          data[1] == 0x90 && data[2] == 10 && data[5] == 3,
	      "sock_getaddrinfo of a literal address and port");
	check(sock_getaddrinfo("localhost", 10, "http", 5, hints, &res, 1, &n) == 0 &&
	          data[1] == 80 && data[2] == 127,
	      "sock_getaddrinfo localhost, service http");
	check(sock_getaddrinfo("example.com", 12, "80", 3, hints, &res, 1, &n) == E_AI_NONAME,
	      "sock_getaddrinfo of a name: EAI_NONAME (no DNS)");
}

static void error_checks(void)
{
	uint32_t fd = 0, nr;
	uint16_t rof;
	char buf[4];
	__wasi_iovec_t in = {(uint8_t *)buf, 4};
	check(sock_open(AF_INET6, STREAM, &fd) == E_AFNOSUPPORT, "sock_open(INET6): EAFNOSUPPORT");
	check(sock_open(AF_INET4, 7, &fd) == __WASI_ERRNO_INVAL, "sock_open of a bad type: EINVAL");
	check(sock_open(AF_INET4, STREAM, (uint32_t *)0xfffffff0u) == __WASI_ERRNO_FAULT,
	      "sock_open with a bad pointer: EFAULT");
	check(sock_recv(1, &in, 1, 0, &nr, &rof) == __WASI_ERRNO_NOTSOCK,
	      "sock_recv on stdout: ENOTSOCK");
	check(sock_recv(999, &in, 1, 0, &nr, &rof) == __WASI_ERRNO_BADF,
	      "sock_recv on no fd: EBADF");
	sock_open(AF_INET4, STREAM, &fd);
	uint8_t three[3] = {1, 2, 3};
	struct addr bad = {three, 3};
	check(sock_bind(fd, &bad, 80) == __WASI_ERRNO_INVAL,
	      "sock_bind with a 3-byte address: EINVAL");
	uint8_t net[4] = {192, 0, 2, 1}; /* TEST-NET-1: never routed, and no device here anyway */
	struct addr far = {net, 4};
	check(sock_connect(fd, &far, 80) == E_NETUNREACH, "no network device: ENETUNREACH");
	close_fd(fd);
}

int main(void)
{
	tcp_checks();
	udp_checks();
	addrinfo_checks();
	error_checks();
	printf("wasi_sock_check: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
