/*
 * wasi_sock.c - sockets for WASI programs: preview1's own sock_accept,
 * sock_recv, sock_send and sock_shutdown, and the WasmEdge socket extension
 * (sock_open, sock_bind, sock_connect, ... in the same module), on top of
 * guest/net's socket API (hedge_net.h).
 *
 * A socket is a descriptor of kind WASI_FD_SOCKET whose entry holds the
 * guest/net descriptor; the network comes up on the first socket
 * (hedge_socket does hedge_net_init), and a VM without an interface still
 * has loopback, so nothing here needs to know whether there is one.
 *
 * WasmEdge changed a few of these calls in 0.12 without renaming them: the
 * old and new forms differ in their wasm types, and WasmEdge picks one by the
 * type the module imports.  hedge build does the same (toolchain/imports.c
 * sends the other type to a function with another C name), so each form is
 * one function here: _v1 for the original ones, _v2 for the new ones, which
 * are also importable under their own *_v2 names.
 *
 * WasmEdge's numbers: address family 1 is IPv4 (2 IPv6, 3 unix), socket type
 * 1 datagram, 2 stream.  An address travels as struct { u32 buf; u32 len; }
 * whose buffer holds 4 bytes of IPv4 (16 of IPv6), or 128 bytes of "address
 * storage": a u16 family, then the address.  Ports are separate arguments.
 * Only IPv4 exists here; IPv6 and unix addresses get EAFNOSUPPORT.
 *
 * Every pointer from the app goes through wasi_mem; guest/net may run the
 * network loop inside a call, but the app's memory cannot move meanwhile.
 */
#include "wasi_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_abi.h"
#include "hedge_net.h"
#include "runtime.h"

/* WASI errno values beyond the ones wasi_abi.h names (the file-system ones). */
#define WASI_EADDRINUSE      3
#define WASI_EADDRNOTAVAIL   4
#define WASI_EAFNOSUPPORT    5
#define WASI_EALREADY        7
#define WASI_ECONNABORTED    13
#define WASI_ECONNREFUSED    14
#define WASI_ECONNRESET      15
#define WASI_EDESTADDRREQ    17
#define WASI_EHOSTUNREACH    23
#define WASI_EINPROGRESS     26
#define WASI_EISCONN         30
#define WASI_EMSGSIZE        35
#define WASI_ENETDOWN        38
#define WASI_ENETUNREACH     40
#define WASI_ENOBUFS         42
#define WASI_ENOPROTOOPT     50
#define WASI_ENOTCONN        53
#define WASI_EPIPE           64
#define WASI_EPROTONOSUPPORT 66
#define WASI_EPROTOTYPE      67
#define WASI_ETIMEDOUT       73
/* WasmEdge's getaddrinfo errors, numbered after WASI's own. */
#define WASI_EAI_BADFLAG     79
#define WASI_EAI_FAMILY      81
#define WASI_EAI_MEMORY      82
#define WASI_EAI_NONAME      84
#define WASI_EAI_SERVICE     85
#define WASI_EAI_SOCKTYPE    86

/* WasmEdge's enumerations. */
#define WE_AF_UNSPEC    0
#define WE_AF_INET4     1
#define WE_AF_INET6     2
#define WE_SOCK_ANY     0
#define WE_SOCK_DGRAM   1
#define WE_SOCK_STREAM  2
#define WE_PROTO_IP     0
#define WE_PROTO_TCP    1
#define WE_PROTO_UDP    2
/* What sock_getlocaladdr/getpeeraddr (v1) report as the type of an IPv4 address: 4, not 1. */
#define WE_ADDR_TYPE_V4 4
/* The size of WasmEdge's address storage, and where the address starts in it. */
#define WE_STORAGE_SIZE 128
#define WE_STORAGE_ADDR 2

/* Socket options: level SOL_SOCKET is 0 in WasmEdge; the TCP level is hedge's addition. */
#define WE_SOL_SOCKET    0
#define WE_SO_REUSEADDR  0
#define WE_SO_TYPE       1
#define WE_SO_ERROR      2
#define WE_SO_SNDBUF     5
#define WE_SO_RCVBUF     6
#define WE_SO_KEEPALIVE  7
#define WE_SO_RCVTIMEO   11
#define WE_SO_SNDTIMEO   12
#define WE_SO_ACCEPTCONN 13
#define WE_IPPROTO_TCP   6 /* Linux's number: WasmEdge has no TCP level */
#define WE_TCP_NODELAY   1
#define TIMEVAL_SIZE     16 /* wasm32 struct timeval: i64 seconds, i64 microseconds */

/* riflags, roflags and sdflags of preview1. */
#define WASI_RIFLAG_PEEK      (1u << 0)
#define WASI_RIFLAG_WAITALL   (1u << 1)
#define WASI_ROFLAG_TRUNCATED (1u << 0)
#define WASI_SDFLAG_RD        (1u << 0)
#define WASI_SDFLAG_WR        (1u << 1)

/* As Linux's IOV_MAX, and WasmEdge's limit: longer lists are EINVAL. */
#define SOCK_IOV_MAX 1024
/* The largest UDP payload; scatter/gather of a datagram goes through a buffer this big. */
#define DGRAM_MAX    65535u
/* More listening sockets than this in the boot info means the boot info is bad. */
#define LISTEN_MAX   64

/* addrinfo and sockaddr as WasmEdge lays them out in wasm memory. */
#define AI_SIZE         28
#define AI_FLAGS        0
#define AI_FAMILY       2
#define AI_SOCKTYPE     3
#define AI_PROTOCOL     4
#define AI_ADDRLEN      8
#define AI_ADDR         12
#define AI_FLAGS_ALL    0x7fu
#define AI_PASSIVE      1u
#define SA_SIZE         12
#define SA_FAMILY       0
#define SA_DATA_LEN     4
#define SA_DATA         8
#define SOCKADDR_IN_LEN 16

/* ---- errors ---- */

/* A negative errno from guest/net as a WASI errno. */
static uint32_t wasi_errno(long neg)
{
	switch (-neg) {
	case 0:
		return 0;
	case EAGAIN:
		return WASI_EAGAIN;
	case EBADF:
		return WASI_EBADF;
	case EINVAL:
		return WASI_EINVAL;
	case EFAULT:
		return WASI_EFAULT;
	case ENOMEM:
		return WASI_ENOMEM;
	case EMFILE:
		return WASI_EMFILE;
	case EPIPE:
		return WASI_EPIPE;
	case EADDRINUSE:
		return WASI_EADDRINUSE;
	case EADDRNOTAVAIL:
		return WASI_EADDRNOTAVAIL;
	case EAFNOSUPPORT:
		return WASI_EAFNOSUPPORT;
	case EALREADY:
		return WASI_EALREADY;
	case ECONNABORTED:
		return WASI_ECONNABORTED;
	case ECONNREFUSED:
		return WASI_ECONNREFUSED;
	case ECONNRESET:
		return WASI_ECONNRESET;
	case EDESTADDRREQ:
		return WASI_EDESTADDRREQ;
	case EHOSTUNREACH:
		return WASI_EHOSTUNREACH;
	case EINPROGRESS:
		return WASI_EINPROGRESS;
	case EISCONN:
		return WASI_EISCONN;
	case EMSGSIZE:
		return WASI_EMSGSIZE;
	case ENETDOWN:
		return WASI_ENETDOWN;
	case ENETUNREACH:
		return WASI_ENETUNREACH;
	case ENOBUFS:
		return WASI_ENOBUFS;
	case ENOPROTOOPT:
		return WASI_ENOPROTOOPT;
	case ENOTCONN:
		return WASI_ENOTCONN;
	case ENOTSOCK:
		return WASI_ENOTSOCK;
	case EOPNOTSUPP:
		return WASI_ENOTSUP;
	case EPROTONOSUPPORT:
		return WASI_EPROTONOSUPPORT;
	case EPROTOTYPE:
		return WASI_EPROTOTYPE;
	case ETIMEDOUT:
		return WASI_ETIMEDOUT;
	default:
		return WASI_EIO;
	}
}

/* ---- descriptors ---- */

/* The socket behind fd: WASI_EBADF if it is not open, WASI_ENOTSOCK if it is no socket. */
static int socket_fd(wasi_t *wasi, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (entry->kind != WASI_FD_SOCKET)
		return WASI_ENOTSOCK;
	if ((entry->rights_base & rights) != rights)
		return WASI_ENOTCAPABLE;
	*out = entry;
	return 0;
}

static int stats_wanted(void)
{
	char **env = hedge_environ();
	for (; env && *env; env++) {
		if (strncmp(*env, "HEDGE_NET_STATS=", 16) == 0)
			return (*env)[16] != '\0' && strcmp(*env + 16, "0") != 0;
	}
	return 0;
}

/*
 * At exit: queued output would otherwise never leave (nothing runs the
 * network after the app), so give it two turns of the loop; and with
 * HEDGE_NET_STATS=1 in the guest's environment, report how many VM exits
 * the network cost, which a wasm app has no way to ask for itself.
 */
static void at_exit(void)
{
	hedge_net_poll(0);
	hedge_net_poll(0);
	if (!stats_wanted())
		return;
	struct hedge_net_stats st;
	hedge_net_stats(&st);
	char line[256];
	int n = snprintf(line, sizeof(line),
	                 "hedge-net: exits=%llu kicks=%llu waits=%llu rx_frames=%llu "
	                 "tx_frames=%llu rx_dropped=%llu tx_dropped=%llu\n",
	                 (unsigned long long)(st.kicks + st.waits), (unsigned long long)st.kicks,
	                 (unsigned long long)st.waits, (unsigned long long)st.rx_frames,
	                 (unsigned long long)st.tx_frames, (unsigned long long)st.rx_dropped,
	                 (unsigned long long)st.tx_dropped);
	if (n > 0)
		hedge_console_write_stream(HEDGE_STREAM_STDERR, line,
		                           (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* Gives sock a WASI descriptor; on failure the socket is closed. */
static int install(wasi_t *wasi, int sock, int kind, uint32_t *fd_out)
{
	static int exit_hook;
	if (!exit_hook && atexit(at_exit) == 0)
		exit_hook = 1;
	uint32_t fd;
	struct wasi_fd *entry;
	int error = wasi_fd_new(wasi, &fd, &entry);
	if (error) {
		hedge_close(sock);
		return error;
	}
	entry->kind = WASI_FD_SOCKET;
	entry->sock = sock;
	entry->sock_filetype =
	    kind == HEDGE_SOCK_TCP ? WASI_FILETYPE_SOCKET_STREAM : WASI_FILETYPE_SOCKET_DGRAM;
	entry->rights_base = WASI_RIGHTS_SOCKET;
	*fd_out = fd;
	return 0;
}

void wasi_sock_close(struct wasi_fd *entry)
{
	hedge_close(entry->sock);
}

int wasi_sock_set_flags(struct wasi_fd *entry, uint16_t flags)
{
	int r =
	    hedge_setsockopt(entry->sock, HEDGE_SO_NONBLOCK, (flags & WASI_FDFLAG_NONBLOCK) != 0);
	return r < 0 ? (int)wasi_errno(r) : 0;
}

void wasi_sock_run_network(uint64_t timeout_ns)
{
	hedge_net_poll(timeout_ns);
}

void wasi_sock_add_listeners(wasi_t *wasi)
{
	const struct hedge_boot_info *info = boot_info;
	if (!info || info->listen_count == 0)
		return;
	uint64_t bytes = (uint64_t)info->listen_count * sizeof(struct hedge_listen_entry);
	if (info->listen_count > LISTEN_MAX || info->listen_table < HEDGE_BOOT_INFO_ADDR ||
	    info->listen_table > info->mem_size || bytes > info->mem_size - info->listen_table)
		hedge_abort("wasi: the boot info's listening sockets are out of bounds");
	/* Guest-physical memory is mapped at the same virtual addresses. */
	const struct hedge_listen_entry *table =
	    (const struct hedge_listen_entry *)(uintptr_t)info->listen_table;
	for (uint32_t i = 0; i < info->listen_count; i++) {
		struct hedge_listen_entry want = table[i];
		char ip[16];
		hedge_inet_ntop(want.ipv4, ip, sizeof(ip));
		if (want.proto != HEDGE_LISTEN_TCP)
			hedge_abort("wasi: cannot listen on %s:%u: protocol %u is not TCP", ip,
			            want.port, want.proto);
		int sock = hedge_socket(HEDGE_SOCK_TCP);
		int r = sock;
		if (sock >= 0) {
			hedge_setsockopt(sock, HEDGE_SO_REUSEADDR, 1);
			r = hedge_bind(sock, want.ipv4, want.port);
			if (r == 0)
				r = hedge_listen(sock, 0);
		}
		if (r < 0)
			hedge_abort("wasi: cannot listen on %s:%u: %s", ip, want.port,
			            r == -EADDRNOTAVAIL ? "not an address of this VM"
			            : r == -EADDRINUSE  ? "address in use"
			                                : "socket error");
		uint32_t fd;
		if (install(wasi, sock, HEDGE_SOCK_TCP, &fd) != 0)
			hedge_abort("wasi: out of descriptors for --listen %s:%u", ip, want.port);
		wasi->fds[fd].sock_listening = 1;
	}
}

void wasi_sock_readiness(const struct wasi_fd *entry, uint8_t type, struct wasi_sock_readiness *out)
{
	memset(out, 0, sizeof(*out));
	int want_read = type == WASI_EVENTTYPE_FD_READ;
	int m = hedge_socket_ready(entry->sock, want_read, !want_read);
	if (m < 0 || (m & HEDGE_POLLNVAL)) {
		out->ready = 1;
		out->error = WASI_EBADF;
		return;
	}
	if (!want_read) {
		out->ready = (m & (HEDGE_POLLOUT | HEDGE_POLLERR | HEDGE_POLLHUP)) != 0;
		out->flags = (m & HEDGE_POLLHUP) ? WASI_EVENTRW_HANGUP : 0;
		return;
	}
	if (!(m & (HEDGE_POLLIN | HEDGE_POLLERR | HEDGE_POLLHUP)))
		return;
	out->ready = 1;
	if (entry->sock_listening) {
		out->nbytes = (m & HEDGE_POLLIN) ? 1 : 0; /* a connection is waiting */
		return;
	}
	if (m & HEDGE_POLLERR)
		return; /* a peek would take the error the app's next call must see */
	if (!(m & HEDGE_POLLIN)) {
		out->flags = WASI_EVENTRW_HANGUP;
		return;
	}
	/* Tells data from end of stream; a datagram's full length comes with TRUNC. */
	uint8_t byte;
	long n = hedge_recv_flags(entry->sock, &byte, 1,
	                          HEDGE_MSG_PEEK | HEDGE_MSG_DONTWAIT | HEDGE_MSG_TRUNC);
	if (n > 0)
		out->nbytes = (uint64_t)n;
	else if (n == 0 && entry->sock_filetype == WASI_FILETYPE_SOCKET_STREAM)
		out->flags = WASI_EVENTRW_HANGUP;
}

/* ---- scatter/gather lists ---- */

struct sock_iov {
	uint8_t *buf;
	uint32_t len;
};

/* Entry i of an iovec list, checked. */
static int iov_get(wasi_t *wasi, uint32_t iovs_ptr, uint32_t i, struct sock_iov *out)
{
	const uint8_t *iov =
	    wasi_mem(wasi, (uint64_t)iovs_ptr + (uint64_t)i * WASI_IOVEC_SIZE, WASI_IOVEC_SIZE);
	if (!iov)
		return WASI_EFAULT;
	out->len = wasi_load_u32(iov + 4);
	out->buf = wasi_mem(wasi, wasi_load_u32(iov), out->len);
	return out->buf ? 0 : WASI_EFAULT;
}

/* Checks a whole list before any byte moves; its total length, capped at 4 GiB - 1, in *total. */
static int iovs_check(wasi_t *wasi, uint32_t iovs_ptr, uint32_t iovs_len, uint64_t *total)
{
	if (iovs_len > SOCK_IOV_MAX)
		return WASI_EINVAL;
	if (!wasi_mem(wasi, iovs_ptr, (uint64_t)iovs_len * WASI_IOVEC_SIZE))
		return WASI_EFAULT;
	*total = 0;
	struct sock_iov iov;
	for (uint32_t i = 0; i < iovs_len; i++) {
		if (iov_get(wasi, iovs_ptr, i, &iov) != 0)
			return WASI_EFAULT;
		*total += iov.len;
	}
	if (*total > UINT32_MAX)
		*total = UINT32_MAX;
	return 0;
}

/* Copies buf into the list (scatter) or the list into buf (gather); returns the bytes moved. */
static size_t iovs_copy(wasi_t *wasi, uint32_t iovs_ptr, uint32_t iovs_len, uint8_t *buf,
                        size_t len, int scatter)
{
	size_t done = 0;
	for (uint32_t i = 0; i < iovs_len && done < len; i++) {
		struct sock_iov iov;
		iov_get(wasi, iovs_ptr, i, &iov); /* checked already */
		size_t n = len - done < iov.len ? len - done : iov.len;
		if (scatter)
			memcpy(iov.buf, buf + done, n);
		else
			memcpy(buf + done, iov.buf, n);
		done += n;
	}
	return done;
}

/* ---- receiving and sending ---- */

/* A datagram (or a peek) lands in one buffer, then goes out to the list. */
static long recv_via_buffer(wasi_t *wasi, int sock, uint32_t iovs_ptr, uint32_t iovs_len,
                            uint64_t total, int flags, struct hedge_sockaddr *from, int *truncated)
{
	size_t cap = total < DGRAM_MAX ? (size_t)total : DGRAM_MAX;
	uint8_t *tmp = malloc(cap ? cap : 1);
	if (!tmp)
		return -ENOMEM;
	long n = hedge_recvfrom(sock, tmp, cap, flags | HEDGE_MSG_TRUNC, from);
	if (n >= 0) {
		if ((size_t)n > cap) {
			*truncated = 1;
			n = (long)cap;
		}
		iovs_copy(wasi, iovs_ptr, iovs_len, tmp, (size_t)n, 1);
	}
	free(tmp);
	return n;
}

/*
 * Receives into a list the app has had checked by iovs_check.  TCP: fills
 * buffers in order; only the first wait blocks (unless WAITALL), later ones
 * take what is already there.  UDP: one datagram, cut to the list.
 */
static uint32_t sock_recv_common(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr,
                                 uint32_t iovs_len, uint64_t total, uint32_t riflags,
                                 struct hedge_sockaddr *from, uint32_t *nread, uint16_t *roflags)
{
	int sock = entry->sock;
	*nread = 0;
	*roflags = 0;
	int peek = (riflags & WASI_RIFLAG_PEEK) != 0;
	int waitall = (riflags & WASI_RIFLAG_WAITALL) && !peek;
	if (entry->sock_filetype == WASI_FILETYPE_SOCKET_DGRAM || peek) {
		int truncated = 0;
		int dgram = entry->sock_filetype == WASI_FILETYPE_SOCKET_DGRAM;
		long n = recv_via_buffer(wasi, sock, iovs_ptr, iovs_len, total,
		                         peek ? HEDGE_MSG_PEEK : 0, from, &truncated);
		if (n < 0)
			return wasi_errno(n);
		*nread = (uint32_t)n;
		if (truncated && dgram)
			*roflags = WASI_ROFLAG_TRUNCATED;
		return 0;
	}
	uint64_t done = 0;
	for (uint32_t i = 0; i < iovs_len && done < total; i++) {
		struct sock_iov iov;
		iov_get(wasi, iovs_ptr, i, &iov);
		uint32_t filled = 0;
		while (filled < iov.len && done < total) {
			uint64_t room =
			    total - done < iov.len - filled ? total - done : iov.len - filled;
			int flags = done && !waitall ? HEDGE_MSG_DONTWAIT : 0;
			long n = hedge_recvfrom(sock, iov.buf + filled, (size_t)room, flags,
			                        done ? NULL : from);
			if (n < 0) {
				if (done)
					goto out; /* what came so far is the answer; the error stays
					             for later */
				return wasi_errno(n);
			}
			if (n == 0)
				goto out; /* end of stream */
			filled += (uint32_t)n;
			done += (uint64_t)n;
			if (!waitall && (uint64_t)n < room)
				goto out; /* took everything that was there */
		}
	}
out:
	*nread = (uint32_t)done;
	return 0;
}

/*
 * Sends a checked list.  TCP: every buffer in order, all but the last
 * marked "more" so the stack packs them; a blocking socket waits until all
 * is queued, a non-blocking one stops at the first short write.  UDP: the
 * list is one datagram, to dest if given.
 */
static uint32_t sock_send_common(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr,
                                 uint32_t iovs_len, uint64_t total,
                                 const struct hedge_sockaddr *dest, uint32_t *nwritten)
{
	int sock = entry->sock;
	*nwritten = 0;
	if (entry->sock_filetype == WASI_FILETYPE_SOCKET_DGRAM) {
		if (total > DGRAM_MAX)
			return WASI_EMSGSIZE;
		uint8_t *tmp = malloc(total ? (size_t)total : 1);
		if (!tmp)
			return WASI_ENOMEM;
		iovs_copy(wasi, iovs_ptr, iovs_len, tmp, (size_t)total, 0);
		long n = dest ? hedge_sendto(sock, tmp, (size_t)total, 0, dest->ip, dest->port)
		              : hedge_send(sock, tmp, (size_t)total);
		free(tmp);
		if (n < 0)
			return wasi_errno(n);
		*nwritten = (uint32_t)n;
		return 0;
	}
	uint64_t done = 0;
	for (uint32_t i = 0; i < iovs_len && done < total; i++) {
		struct sock_iov iov;
		iov_get(wasi, iovs_ptr, i, &iov);
		uint64_t len = total - done < iov.len ? total - done : iov.len;
		if (len == 0)
			continue;
		int flags = done + len < total ? HEDGE_MSG_MORE : 0;
		long n = hedge_send_flags(sock, iov.buf, (size_t)len, flags);
		if (n < 0) {
			if (done)
				break;
			return wasi_errno(n);
		}
		done += (uint64_t)n;
		if ((uint64_t)n < len)
			break;
	}
	*nwritten = (uint32_t)done;
	return 0;
}

int wasi_sock_read(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr, uint32_t iovs_len,
                   uint64_t *nread)
{
	uint64_t total;
	int error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	if (error)
		return error;
	uint32_t n;
	uint16_t roflags;
	error =
	    (int)sock_recv_common(wasi, entry, iovs_ptr, iovs_len, total, 0, NULL, &n, &roflags);
	*nread = n;
	return error;
}

int wasi_sock_write(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr, uint32_t iovs_len,
                    uint64_t *nwritten)
{
	uint64_t total;
	int error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	if (error)
		return error;
	uint32_t n;
	error = (int)sock_send_common(wasi, entry, iovs_ptr, iovs_len, total, NULL, &n);
	*nwritten = n;
	return error;
}

/* ---- addresses ---- */

/* The buffer of a WasmEdge address struct { u32 buf; u32 len; } at addr_ptr. */
static int address_buffer(wasi_t *wasi, uint32_t addr_ptr, uint8_t **buf, uint32_t *len)
{
	const uint8_t *addr = wasi_mem(wasi, addr_ptr, 8);
	if (!addr)
		return WASI_EFAULT;
	*len = wasi_load_u32(addr + 4);
	*buf = wasi_mem(wasi, wasi_load_u32(addr), *len);
	return *buf ? 0 : WASI_EFAULT;
}

/* An IPv4 address given by the app, in network byte order. */
static int address_in(wasi_t *wasi, uint32_t addr_ptr, uint32_t *ip)
{
	uint8_t *buf;
	uint32_t len;
	int error = address_buffer(wasi, addr_ptr, &buf, &len);
	if (error)
		return error;
	switch (len) {
	case 4:
		memcpy(ip, buf, 4);
		return 0;
	case 16:
		return WASI_EAFNOSUPPORT;
	case WE_STORAGE_SIZE:
		if (wasi_load_u16(buf) != WE_AF_INET4)
			return WASI_EAFNOSUPPORT;
		memcpy(ip, buf + WE_STORAGE_ADDR, 4);
		return 0;
	default:
		return WASI_EINVAL;
	}
}

static int port_in(uint32_t port, uint16_t *out)
{
	if (port > 0xffff)
		return WASI_EINVAL;
	*out = (uint16_t)port;
	return 0;
}

/* Writes ip into an address buffer: raw (4 or 16 bytes) or as address storage (128). */
static int address_put(uint8_t *buf, uint32_t len, uint32_t ip)
{
	switch (len) {
	case 4:
	case 16:
		memset(buf, 0, len);
		memcpy(buf, &ip, 4);
		return 0;
	case WE_STORAGE_SIZE:
		wasi_store_u16(buf, WE_AF_INET4);
		memcpy(buf + WE_STORAGE_ADDR, &ip, 4);
		return 0;
	default:
		return WASI_EINVAL;
	}
}

/* ---- the WasmEdge socket extension ---- */

uint32_t Z_wasi_snapshot_preview1Z_sock_open(wasi_t *wasi, uint32_t af, uint32_t type,
                                             uint32_t fd_ptr)
{
	uint8_t *fd_out = wasi_mem(wasi, fd_ptr, 4);
	if (!fd_out)
		return WASI_EFAULT;
	if (af != WE_AF_INET4)
		return WASI_EAFNOSUPPORT;
	int kind;
	if (type == WE_SOCK_STREAM)
		kind = HEDGE_SOCK_TCP;
	else if (type == WE_SOCK_DGRAM)
		kind = HEDGE_SOCK_UDP;
	else
		return WASI_EINVAL;
	int sock = hedge_socket(kind);
	if (sock < 0)
		return wasi_errno(sock);
	uint32_t fd;
	int error = install(wasi, sock, kind, &fd);
	if (error)
		return (uint32_t)error;
	wasi_store_u32(fd_out, fd);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_bind(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                             uint32_t port)
{
	uint32_t ip;
	uint16_t p;
	int error = address_in(wasi, addr_ptr, &ip);
	if (!error)
		error = port_in(port, &p);
	if (error)
		return (uint32_t)error;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	return wasi_errno(hedge_bind(entry->sock, ip, p));
}

uint32_t Z_wasi_snapshot_preview1Z_sock_listen(wasi_t *wasi, uint32_t fd, uint32_t backlog)
{
	struct wasi_fd *entry;
	int error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	/* A negative backlog (as the app's int) means the default, the maximum. */
	int r = hedge_listen(entry->sock, (int32_t)backlog < 0 ? 0 : (int)backlog);
	if (r == 0)
		entry->sock_listening = 1;
	return wasi_errno(r);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_connect(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                uint32_t port)
{
	uint32_t ip;
	uint16_t p;
	int error = address_in(wasi, addr_ptr, &ip);
	if (!error)
		error = port_in(port, &p);
	if (error)
		return (uint32_t)error;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	return wasi_errno(hedge_connect(entry->sock, ip, p));
}

/*
 * preview1's sock_accept, also WasmEdge's since 0.12: the new descriptor
 * gets fdflags (only NONBLOCK means anything for a socket).
 */
uint32_t Z_wasi_snapshot_preview1Z_sock_accept(wasi_t *wasi, uint32_t fd, uint32_t fdflags,
                                               uint32_t fd_ptr)
{
	uint8_t *fd_out = wasi_mem(wasi, fd_ptr, 4);
	if (!fd_out)
		return WASI_EFAULT;
	if (fdflags & ~WASI_FDFLAGS_ALL)
		return WASI_EINVAL;
	struct wasi_fd *entry;
	int error = socket_fd(wasi, fd, WASI_RIGHT_SOCK_ACCEPT, &entry);
	if (error)
		return (uint32_t)error;
	if (!entry->sock_listening)
		return WASI_EINVAL;
	int sock = hedge_accept(entry->sock, NULL);
	if (sock < 0)
		return wasi_errno(sock);
	if (fdflags & WASI_FDFLAG_NONBLOCK)
		hedge_setsockopt(sock, HEDGE_SO_NONBLOCK, 1);
	uint32_t new_fd;
	error = install(wasi, sock, HEDGE_SOCK_TCP, &new_fd); /* entry may have moved */
	if (error)
		return (uint32_t)error;
	wasi->fds[new_fd].fdflags = (uint16_t)fdflags;
	wasi_store_u32(fd_out, new_fd);
	return 0;
}

/* WasmEdge before 0.12 (and the wasmedge_wasi_socket crate): sock_accept(fd, *new_fd). */
uint32_t Z_wasi_snapshot_preview1Z_sock_accept_v1(wasi_t *wasi, uint32_t fd, uint32_t fd_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_accept(wasi, fd, 0, fd_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_accept_v2(wasi_t *wasi, uint32_t fd, uint32_t fdflags,
                                                  uint32_t fd_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_accept(wasi, fd, fdflags, fd_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                             uint32_t iovs_len, uint32_t riflags,
                                             uint32_t nread_ptr, uint32_t roflags_ptr)
{
	uint8_t *nread_out = wasi_mem(wasi, nread_ptr, 4);
	uint8_t *roflags_out = wasi_mem(wasi, roflags_ptr, 2);
	uint64_t total;
	int error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	if (!nread_out || !roflags_out)
		return WASI_EFAULT;
	if (error)
		return (uint32_t)error;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, WASI_RIGHT_FD_READ, &entry);
	if (error)
		return (uint32_t)error;
	uint32_t n;
	uint16_t roflags;
	uint32_t r =
	    sock_recv_common(wasi, entry, iovs_ptr, iovs_len, total, riflags, NULL, &n, &roflags);
	if (r)
		return r;
	wasi_store_u32(nread_out, n);
	wasi_store_u16(roflags_out, roflags);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv_v2(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                uint32_t iovs_len, uint32_t riflags,
                                                uint32_t nread_ptr, uint32_t roflags_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_recv(wasi, fd, iovs_ptr, iovs_len, riflags, nread_ptr,
	                                           roflags_ptr);
}

/*
 * Both forms of sock_recv_from: v2 writes the sender into an address
 * buffer of 4, 16 or 128 bytes and its port (u16) at port_ptr; v1 has no
 * port argument and writes, as the wasmedge_wasi_socket crate reads it,
 * u16 family (2, AF_INET), u16 port, then the 4 address bytes.
 */
static uint32_t recv_from(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr, uint32_t iovs_len,
                          uint32_t addr_ptr, uint32_t riflags, int v1, uint32_t port_ptr,
                          uint32_t nread_ptr, uint32_t roflags_ptr)
{
	uint8_t *addr, *port_out = NULL;
	uint32_t addr_len;
	int error = address_buffer(wasi, addr_ptr, &addr, &addr_len);
	uint8_t *nread_out = wasi_mem(wasi, nread_ptr, 4);
	uint8_t *roflags_out = wasi_mem(wasi, roflags_ptr, 2);
	if (!v1)
		port_out = wasi_mem(wasi, port_ptr, 2);
	uint64_t total;
	int iov_error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	if (error || !nread_out || !roflags_out || (!v1 && !port_out))
		return WASI_EFAULT;
	if (iov_error)
		return (uint32_t)iov_error;
	if (v1 ? addr_len != 4 && addr_len < 8
	       : addr_len != 4 && addr_len != 16 && addr_len != WE_STORAGE_SIZE)
		return WASI_EINVAL;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, WASI_RIGHT_FD_READ, &entry);
	if (error)
		return (uint32_t)error;
	struct hedge_sockaddr from = {0};
	uint32_t n;
	uint16_t roflags;
	uint32_t r =
	    sock_recv_common(wasi, entry, iovs_ptr, iovs_len, total, riflags, &from, &n, &roflags);
	if (r)
		return r;
	if (v1 && addr_len >= 8) {
		wasi_store_u16(addr, 2);
		wasi_store_u16(addr + 2, from.port);
		memcpy(addr + 4, &from.ip, 4);
	} else {
		address_put(addr, addr_len, from.ip);
	}
	if (port_out)
		wasi_store_u16(port_out, from.port);
	wasi_store_u32(nread_out, n);
	wasi_store_u16(roflags_out, roflags);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv_from(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                  uint32_t iovs_len, uint32_t addr_ptr,
                                                  uint32_t riflags, uint32_t nread_ptr,
                                                  uint32_t roflags_ptr)
{
	return recv_from(wasi, fd, iovs_ptr, iovs_len, addr_ptr, riflags, 1, 0, nread_ptr,
	                 roflags_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv_from_v2(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                     uint32_t iovs_len, uint32_t addr_ptr,
                                                     uint32_t riflags, uint32_t port_ptr,
                                                     uint32_t nread_ptr, uint32_t roflags_ptr)
{
	return recv_from(wasi, fd, iovs_ptr, iovs_len, addr_ptr, riflags, 0, port_ptr, nread_ptr,
	                 roflags_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                             uint32_t iovs_len, uint32_t siflags,
                                             uint32_t nwritten_ptr)
{
	(void)siflags; /* preview1 defines none */
	uint8_t *nwritten_out = wasi_mem(wasi, nwritten_ptr, 4);
	uint64_t total;
	int error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	if (!nwritten_out)
		return WASI_EFAULT;
	if (error)
		return (uint32_t)error;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, WASI_RIGHT_FD_WRITE, &entry);
	if (error)
		return (uint32_t)error;
	uint32_t n;
	uint32_t r = sock_send_common(wasi, entry, iovs_ptr, iovs_len, total, NULL, &n);
	if (r)
		return r;
	wasi_store_u32(nwritten_out, n);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send_v2(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                uint32_t iovs_len, uint32_t siflags,
                                                uint32_t nwritten_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_send(wasi, fd, iovs_ptr, iovs_len, siflags,
	                                           nwritten_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send_to(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                uint32_t iovs_len, uint32_t addr_ptr, uint32_t port,
                                                uint32_t siflags, uint32_t nwritten_ptr)
{
	(void)siflags;
	uint8_t *nwritten_out = wasi_mem(wasi, nwritten_ptr, 4);
	uint64_t total;
	int iov_error = iovs_check(wasi, iovs_ptr, iovs_len, &total);
	struct hedge_sockaddr dest = {0};
	int error = address_in(wasi, addr_ptr, &dest.ip);
	if (!nwritten_out || iov_error == WASI_EFAULT)
		return WASI_EFAULT;
	if (!error)
		error = iov_error;
	if (!error)
		error = port_in(port, &dest.port);
	if (error)
		return (uint32_t)error;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, WASI_RIGHT_FD_WRITE, &entry);
	if (error)
		return (uint32_t)error;
	uint32_t n;
	uint32_t r = sock_send_common(wasi, entry, iovs_ptr, iovs_len, total, &dest, &n);
	if (r)
		return r;
	wasi_store_u32(nwritten_out, n);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send_to_v2(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                                   uint32_t iovs_len, uint32_t addr_ptr,
                                                   uint32_t port, uint32_t siflags,
                                                   uint32_t nwritten_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_send_to(wasi, fd, iovs_ptr, iovs_len, addr_ptr, port,
	                                              siflags, nwritten_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(wasi_t *wasi, uint32_t fd, uint32_t how)
{
	struct wasi_fd *entry;
	int error = socket_fd(wasi, fd, WASI_RIGHT_SOCK_SHUTDOWN, &entry);
	if (error)
		return (uint32_t)error;
	int hedge_how;
	switch (how) {
	case WASI_SDFLAG_RD:
		hedge_how = HEDGE_SHUT_RD;
		break;
	case WASI_SDFLAG_WR:
		hedge_how = HEDGE_SHUT_WR;
		break;
	case WASI_SDFLAG_RD | WASI_SDFLAG_WR:
		hedge_how = HEDGE_SHUT_RDWR;
		break;
	default:
		return WASI_EINVAL;
	}
	return wasi_errno(hedge_shutdown(entry->sock, hedge_how));
}

/* ---- options ---- */

/* The hedge option for a WasmEdge (level, name), or 0 if there is none. */
static int option_of(uint32_t level, uint32_t name)
{
	if (level == WE_IPPROTO_TCP)
		return name == WE_TCP_NODELAY ? HEDGE_TCP_NODELAY : 0;
	if (level != WE_SOL_SOCKET)
		return 0;
	switch (name) {
	case WE_SO_REUSEADDR:
		return HEDGE_SO_REUSEADDR;
	case WE_SO_TYPE:
		return HEDGE_SO_TYPE;
	case WE_SO_ERROR:
		return HEDGE_SO_ERROR;
	case WE_SO_SNDBUF:
		return HEDGE_SO_SNDBUF;
	case WE_SO_RCVBUF:
		return HEDGE_SO_RCVBUF;
	case WE_SO_KEEPALIVE:
		return HEDGE_SO_KEEPALIVE;
	case WE_SO_RCVTIMEO:
		return HEDGE_SO_RCVTIMEO;
	case WE_SO_SNDTIMEO:
		return HEDGE_SO_SNDTIMEO;
	default:
		return 0;
	}
}

uint32_t Z_wasi_snapshot_preview1Z_sock_setsockopt(wasi_t *wasi, uint32_t fd, uint32_t level,
                                                   uint32_t name, uint32_t flag_ptr,
                                                   uint32_t flag_size)
{
	const uint8_t *flag = wasi_mem(wasi, flag_ptr, flag_size);
	if (!flag)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	int error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	int opt = option_of(level, name);
	uint64_t value;
	switch (opt) {
	case HEDGE_SO_RCVTIMEO:
	case HEDGE_SO_SNDTIMEO: {
		if (flag_size < TIMEVAL_SIZE)
			return WASI_EINVAL;
		int64_t sec = (int64_t)wasi_load_u64(flag), usec = (int64_t)wasi_load_u64(flag + 8);
		if (sec < 0 || usec < 0 || usec >= 1000000)
			return WASI_EINVAL;
		/* Beyond ~292 years is "forever", which hedge spells 0 like a zero timeval. */
		value = (uint64_t)sec > UINT64_MAX / 1000000000u - 1
		            ? 0
		            : (uint64_t)sec * 1000000000u + (uint64_t)usec * 1000u;
		break;
	}
	case HEDGE_SO_REUSEADDR:
	case HEDGE_SO_KEEPALIVE:
	case HEDGE_TCP_NODELAY:
	case HEDGE_SO_SNDBUF:
	case HEDGE_SO_RCVBUF:
		if (flag_size < 4)
			return WASI_EINVAL;
		value = wasi_load_u32(flag) != 0;
		if (opt == HEDGE_SO_SNDBUF || opt == HEDGE_SO_RCVBUF)
			return 0; /* the stack sizes its buffers for every socket alike: accepted,
			             ignored */
		break;
	default:
		return WASI_ENOPROTOOPT; /* read-only (TYPE, ERROR) or not there (LINGER, ...) */
	}
	return wasi_errno(hedge_setsockopt(entry->sock, opt, value));
}

uint32_t Z_wasi_snapshot_preview1Z_sock_getsockopt(wasi_t *wasi, uint32_t fd, uint32_t level,
                                                   uint32_t name, uint32_t flag_ptr,
                                                   uint32_t flag_size_ptr)
{
	uint8_t *size_out = wasi_mem(wasi, flag_size_ptr, 4);
	if (!size_out)
		return WASI_EFAULT;
	uint32_t size = wasi_load_u32(size_out);
	uint8_t *flag = wasi_mem(wasi, flag_ptr, size);
	if (!flag)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	int error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	int opt = option_of(level, name);
	uint64_t value = 0;
	if (level == WE_SOL_SOCKET && name == WE_SO_ACCEPTCONN) {
		value = entry->sock_listening;
	} else if (!opt) {
		return WASI_ENOPROTOOPT;
	} else {
		int r = hedge_getsockopt(entry->sock, opt, &value);
		if (r < 0)
			return wasi_errno(r);
	}
	if (opt == HEDGE_SO_RCVTIMEO || opt == HEDGE_SO_SNDTIMEO) {
		if (size < TIMEVAL_SIZE)
			return WASI_EINVAL;
		wasi_store_u64(flag, value / 1000000000u);
		wasi_store_u64(flag + 8, value % 1000000000u / 1000u);
		wasi_store_u32(size_out, TIMEVAL_SIZE);
		return 0;
	}
	if (opt == HEDGE_SO_TYPE)
		value = value == HEDGE_SOCK_TCP ? WE_SOCK_STREAM : WE_SOCK_DGRAM;
	else if (opt == HEDGE_SO_ERROR)
		value = wasi_errno((long)(int64_t)value); /* the app reads WASI's numbers */
	if (size < 4)
		return WASI_EINVAL;
	wasi_store_u32(flag, (uint32_t)(value > INT32_MAX ? INT32_MAX : value));
	wasi_store_u32(size_out, 4);
	return 0;
}

/* ---- names ---- */

/*
 * sock_getlocaladdr / sock_getpeeraddr.  v1: a 4- or 16-byte buffer gets
 * the raw address, *addr_type 4 (WasmEdge's value for IPv4), *port a u32.
 * v2: a 128-byte address storage gets family and address, *port a u32.
 */
static uint32_t get_name(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr, int v1, uint32_t type_ptr,
                         uint32_t port_ptr, int peer)
{
	uint8_t *addr, *type_out = NULL;
	uint32_t addr_len;
	int error = address_buffer(wasi, addr_ptr, &addr, &addr_len);
	uint8_t *port_out = wasi_mem(wasi, port_ptr, 4);
	if (v1)
		type_out = wasi_mem(wasi, type_ptr, 4);
	if (error || !port_out || (v1 && !type_out))
		return WASI_EFAULT;
	if (v1 ? addr_len != 4 && addr_len != 16 : addr_len != WE_STORAGE_SIZE)
		return WASI_EINVAL;
	struct wasi_fd *entry;
	error = socket_fd(wasi, fd, 0, &entry);
	if (error)
		return (uint32_t)error;
	struct hedge_sockaddr sa;
	int r = peer ? hedge_getpeername(entry->sock, &sa) : hedge_getsockname(entry->sock, &sa);
	if (r < 0)
		return wasi_errno(r);
	address_put(addr, addr_len, sa.ip);
	if (type_out)
		wasi_store_u32(type_out, WE_ADDR_TYPE_V4);
	wasi_store_u32(port_out, sa.port);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_getlocaladdr(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                     uint32_t type_ptr, uint32_t port_ptr)
{
	return get_name(wasi, fd, addr_ptr, 1, type_ptr, port_ptr, 0);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_getpeeraddr(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                    uint32_t type_ptr, uint32_t port_ptr)
{
	return get_name(wasi, fd, addr_ptr, 1, type_ptr, port_ptr, 1);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_getlocaladdr_v2(wasi_t *wasi, uint32_t fd,
                                                        uint32_t addr_ptr, uint32_t port_ptr)
{
	return get_name(wasi, fd, addr_ptr, 0, 0, port_ptr, 0);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_getpeeraddr_v2(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                       uint32_t port_ptr)
{
	return get_name(wasi, fd, addr_ptr, 0, 0, port_ptr, 1);
}

/* ---- getaddrinfo, for literal addresses ---- */

/*
 * A NUL-terminated copy of a string the app passed with a length (which may
 * count the NUL); too_long if it does not fit in cap.
 */
static int string_in(wasi_t *wasi, uint32_t ptr, uint32_t len, char *out, size_t cap, int too_long)
{
	const char *s = wasi_mem(wasi, ptr, len);
	if (!s)
		return WASI_EFAULT;
	size_t n = strnlen(s, len);
	if (n >= cap)
		return too_long;
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

static int service_port(const char *service, uint16_t *port)
{
	static const struct {
		const char *name;
		uint16_t port;
	} known[] = {{"http", 80}, {"https", 443}, {"domain", 53}};
	if (service[0] == '\0') {
		*port = 0;
		return 0;
	}
	uint32_t value = 0;
	const char *p = service;
	for (; *p >= '0' && *p <= '9' && value <= 0xffff; p++)
		value = value * 10 + (uint32_t)(*p - '0');
	if (*p == '\0' && value <= 0xffff) {
		*port = (uint16_t)value;
		return 0;
	}
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(service, known[i].name) == 0) {
			*port = known[i].port;
			return 0;
		}
	}
	return WASI_EAI_SERVICE;
}

/*
 * Resolves a literal IPv4 address (or "localhost", or no name at all) with
 * a numeric or well-known service into the first addrinfo of the chain the
 * app prepared at *res_ptr, as WasmEdge does: its sockaddr's data gets the
 * port (big-endian) and the address, like sa_data of a struct sockaddr_in.
 * There is no DNS client in the guest; other names are EAI_NONAME.
 */
uint32_t Z_wasi_snapshot_preview1Z_sock_getaddrinfo(wasi_t *wasi, uint32_t node_ptr,
                                                    uint32_t node_len, uint32_t service_ptr,
                                                    uint32_t service_len, uint32_t hints_ptr,
                                                    uint32_t res_ptr, uint32_t max_res_len,
                                                    uint32_t res_len_ptr)
{
	char node[256], service[64];
	const uint8_t *hints = wasi_mem(wasi, hints_ptr, AI_SIZE);
	uint8_t *res = wasi_mem(wasi, res_ptr, 4);
	uint8_t *res_len_out = wasi_mem(wasi, res_len_ptr, 4);
	if (!hints || !res || !res_len_out)
		return WASI_EFAULT;
	int error = string_in(wasi, node_ptr, node_len, node, sizeof(node), WASI_EAI_NONAME);
	if (!error)
		error = string_in(wasi, service_ptr, service_len, service, sizeof(service),
		                  WASI_EAI_SERVICE);
	if (error)
		return (uint32_t)error;
	if (node[0] == '\0' && service[0] == '\0')
		return WASI_EAI_NONAME;
	if (max_res_len < 1)
		return WASI_EAI_MEMORY;
	uint16_t flags = wasi_load_u16(hints + AI_FLAGS);
	uint8_t family = hints[AI_FAMILY], socktype = hints[AI_SOCKTYPE],
	        protocol = hints[AI_PROTOCOL];
	if (flags & ~AI_FLAGS_ALL)
		return WASI_EAI_BADFLAG;
	if (family != WE_AF_UNSPEC && family != WE_AF_INET4)
		return WASI_EAI_FAMILY;
	if (socktype > WE_SOCK_STREAM)
		return WASI_EAI_SOCKTYPE;
	if (protocol > WE_PROTO_UDP)
		return WASI_ENOSYS;

	uint32_t ip;
	if (node[0] == '\0')
		ip = (flags & AI_PASSIVE) ? HEDGE_IP_ANY : HEDGE_IP_LOOPBACK;
	else if (strcmp(node, "localhost") == 0)
		ip = HEDGE_IP_LOOPBACK;
	else if (hedge_inet_pton(node, &ip) != 0)
		return WASI_EAI_NONAME;
	uint16_t port;
	error = service_port(service, &port);
	if (error)
		return (uint32_t)error;

	uint8_t *ai = wasi_mem(wasi, wasi_load_u32(res), AI_SIZE);
	uint8_t *sa = ai ? wasi_mem(wasi, wasi_load_u32(ai + AI_ADDR), SA_SIZE) : NULL;
	uint32_t data_len = sa ? wasi_load_u32(sa + SA_DATA_LEN) : 0;
	uint8_t *data = sa ? wasi_mem(wasi, wasi_load_u32(sa + SA_DATA), data_len) : NULL;
	if (!ai || !sa || !data)
		return WASI_EFAULT;
	if (data_len < 6)
		return WASI_EAI_MEMORY;
	if (socktype == WE_SOCK_ANY)
		socktype = WE_SOCK_STREAM;
	if (protocol == WE_PROTO_IP)
		protocol = socktype == WE_SOCK_STREAM ? WE_PROTO_TCP : WE_PROTO_UDP;
	wasi_store_u16(ai + AI_FLAGS, flags);
	ai[AI_FAMILY] = WE_AF_INET4;
	ai[AI_SOCKTYPE] = socktype;
	ai[AI_PROTOCOL] = protocol;
	wasi_store_u32(ai + AI_ADDRLEN, SOCKADDR_IN_LEN);
	sa[SA_FAMILY] = WE_AF_INET4;
	memset(data, 0, data_len);
	data[0] = (uint8_t)(port >> 8);
	data[1] = (uint8_t)port;
	memcpy(data + 2, &ip, 4);
	wasi_store_u32(res_len_out, 1);
	return 0;
}

/* ---- WasmEdge 0.12's *_v2 names for the calls whose v1 and v2 are alike ---- */

uint32_t Z_wasi_snapshot_preview1Z_sock_open_v2(wasi_t *wasi, uint32_t af, uint32_t type,
                                                uint32_t fd_ptr)
{
	return Z_wasi_snapshot_preview1Z_sock_open(wasi, af, type, fd_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_bind_v2(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                uint32_t port)
{
	return Z_wasi_snapshot_preview1Z_sock_bind(wasi, fd, addr_ptr, port);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_listen_v2(wasi_t *wasi, uint32_t fd, uint32_t backlog)
{
	return Z_wasi_snapshot_preview1Z_sock_listen(wasi, fd, backlog);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_connect_v2(wasi_t *wasi, uint32_t fd, uint32_t addr_ptr,
                                                   uint32_t port)
{
	return Z_wasi_snapshot_preview1Z_sock_connect(wasi, fd, addr_ptr, port);
}
