/*
 * http_server - a static-file HTTP/1.1 server: GET and HEAD of the files
 * under one directory, with keep-alive and pipelining, many connections on
 * one thread around one event loop.
 *
 *   http_server [--quit PATH] PORT ROOT
 *
 * Built for wasm32-wasi (make wasm-examples) it opens its listening socket
 * with the WasmEdge socket extension (wasmedge_sock.h), or takes one the
 * runtime preopened (hedge run --listen, wasmtime --listen) if there is a
 * socket among the descriptors from 3 on, and waits with poll_oneoff: the
 * same .wasm runs on hedge and on WasmEdge.  Built natively with -DNATIVE
 * (bench/http.sh) the same HTTP code runs on BSD sockets and poll(2): the
 * baseline hedge is measured against.
 *
 * Responses carry Content-Length; "Connection: close" and HTTP/1.0 without
 * keep-alive are honoured.  Errors: 400 for what does not parse (and for
 * paths that try to leave ROOT with ".."), 404, 405 for methods other than
 * GET and HEAD, 414 for a request line longer than 2 KiB, 431 for a head
 * larger than 8 KiB, 501 for request bodies in chunked encoding, 505 for
 * versions other than 1.0 and 1.1; after a 4xx/5xx that leaves the request
 * stream in doubt the connection is closed.  Files up to 1 MiB are read once
 * and kept in memory; larger ones are streamed.  A GET of the --quit PATH
 * (for benchmarks) answers, prints the counters and exits.
 */
#ifdef NATIVE
#define _GNU_SOURCE /* accept4 */
#endif
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifdef NATIVE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#else
#include <wasi/api.h>

#include "wasmedge_sock.h"
#endif

#define MAX_CONNS      4096
#define IN_SIZE        8192          /* the largest request head */
#define URI_MAX        2048          /* longer request targets get 414 */
#define OUT_BACKLOG    (256 * 1024)  /* stop parsing while this much output waits */
#define CACHE_FILE_MAX (1024 * 1024) /* larger files are streamed, not kept */
#define CACHE_MAX      (64ul << 20)  /* all kept files together */
#define CHUNK          (64 * 1024)   /* streamed files are read this much at a time */
#define IDLE_MS        60000         /* keep-alive connections idle this long are closed */
#define LINGER_MS      2000          /* after a closing response, how long to drain input */
#define ACCEPT_BATCH   256           /* connections taken per turn of the loop */

/* Results of net_recv / net_send besides a byte count. */
#define NET_AGAIN (-1)
#define NET_ERROR (-2)

/* ---- the platform: sockets and waiting ---- */

struct waiter {
	int fd;
	unsigned char want_read, want_write;
	unsigned char readable, writable; /* out */
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#ifdef NATIVE

static int net_listen(int port)
{
	signal(SIGPIPE, SIG_IGN);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 || listen(fd, 1024) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A new non-blocking connection, NET_AGAIN when none is waiting, or NET_ERROR. */
static int net_accept(int lfd)
{
	int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED ? NET_AGAIN
		                                                                        : NET_ERROR;
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static long net_recv(int fd, void *buf, size_t len)
{
	ssize_t n = recv(fd, buf, len, 0);
	if (n >= 0)
		return (long)n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_AGAIN : NET_ERROR;
}

static long net_send(int fd, const void *buf, size_t len)
{
	ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
	if (n >= 0)
		return (long)n;
	return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? NET_AGAIN : NET_ERROR;
}

static void net_shutdown_write(int fd)
{
	shutdown(fd, SHUT_WR);
}

/* Waits up to timeout_ms for what the waiters want; fills in what is ready. */
static void net_wait(struct waiter *w, size_t n, int timeout_ms)
{
	static struct pollfd pfds[MAX_CONNS + 1];
	for (size_t i = 0; i < n; i++) {
		pfds[i].fd = w[i].want_read || w[i].want_write ? w[i].fd : -1;
		pfds[i].events =
		    (short)((w[i].want_read ? POLLIN : 0) | (w[i].want_write ? POLLOUT : 0));
		pfds[i].revents = 0;
	}
	if (poll(pfds, n, timeout_ms) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		short r = pfds[i].revents;
		w[i].readable = w[i].want_read && (r & (POLLIN | POLLHUP | POLLERR));
		w[i].writable = w[i].want_write && (r & (POLLOUT | POLLHUP | POLLERR));
	}
}

#else /* WebAssembly: WASI preview1 and the WasmEdge socket extension */

/* A listening socket the runtime opened for us (fds after the preopened directories), or -1. */
static int preopened_socket(void)
{
	for (int fd = 3; fd < 64; fd++) {
		__wasi_fdstat_t st;
		if (__wasi_fd_fdstat_get((__wasi_fd_t)fd, &st) != 0)
			return -1;
		if (st.fs_filetype == __WASI_FILETYPE_SOCKET_STREAM)
			return fd;
	}
	return -1;
}

static int net_listen(int port)
{
	int fd = preopened_socket();
	if (fd < 0) {
		uint32_t sock;
		uint8_t any[4] = {0, 0, 0, 0};
		struct wasmedge_address addr = {any, sizeof(any)};
		int one = 1;
		if (wasmedge_sock_open(WASMEDGE_AF_INET4, WASMEDGE_SOCK_STREAM, &sock) != 0)
			return -1;
		wasmedge_sock_setsockopt(sock, WASMEDGE_SOL_SOCKET, WASMEDGE_SO_REUSEADDR, &one,
		                         sizeof(one));
		if (wasmedge_sock_bind(sock, &addr, (uint32_t)port) != 0 ||
		    wasmedge_sock_listen(sock, 1024) != 0) {
			close((int)sock);
			return -1;
		}
		fd = (int)sock;
	}
	/* Accepting in a loop until EAGAIN needs a non-blocking listener. */
	if (__wasi_fd_fdstat_set_flags((__wasi_fd_t)fd, __WASI_FDFLAGS_NONBLOCK) != 0)
		return -1;
	return fd;
}

static int net_accept(int lfd)
{
	uint32_t fd;
	uint32_t e = wasmedge_sock_accept((uint32_t)lfd, __WASI_FDFLAGS_NONBLOCK, &fd);
	if (e != 0)
		return e == __WASI_ERRNO_AGAIN || e == __WASI_ERRNO_CONNABORTED ? NET_AGAIN
		                                                                : NET_ERROR;
	/* hedge's extension; WasmEdge says EINVAL, which changes nothing. */
	int one = 1;
	wasmedge_sock_setsockopt(fd, WASMEDGE_IPPROTO_TCP, WASMEDGE_TCP_NODELAY, &one, sizeof(one));
	return (int)fd;
}

static long net_recv(int fd, void *buf, size_t len)
{
	__wasi_iovec_t iov = {buf, len};
	uint32_t n;
	uint16_t roflags;
	uint32_t e = wasmedge_sock_recv((uint32_t)fd, &iov, 1, 0, &n, &roflags);
	if (e == 0)
		return (long)n;
	return e == __WASI_ERRNO_AGAIN ? NET_AGAIN : NET_ERROR;
}

static long net_send(int fd, const void *buf, size_t len)
{
	__wasi_ciovec_t iov = {buf, len};
	uint32_t n;
	uint32_t e = wasmedge_sock_send((uint32_t)fd, &iov, 1, 0, &n);
	if (e == 0)
		return (long)n;
	return e == __WASI_ERRNO_AGAIN ? NET_AGAIN : NET_ERROR;
}

static void net_shutdown_write(int fd)
{
	wasmedge_sock_shutdown((uint32_t)fd, __WASI_SDFLAGS_WR);
}

/* One poll_oneoff over every socket that waits for something, and a timeout. */
static void net_wait(struct waiter *w, size_t n, int timeout_ms)
{
	static __wasi_subscription_t subs[2 * (MAX_CONNS + 1) + 1];
	static __wasi_event_t events[2 * (MAX_CONNS + 1) + 1];
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		w[i].readable = w[i].writable = 0;
		if (w[i].want_read) {
			subs[count].userdata = (uint64_t)i << 1;
			subs[count].u.tag = __WASI_EVENTTYPE_FD_READ;
			subs[count].u.u.fd_read.file_descriptor = (__wasi_fd_t)w[i].fd;
			count++;
		}
		if (w[i].want_write) {
			subs[count].userdata = (uint64_t)i << 1 | 1;
			subs[count].u.tag = __WASI_EVENTTYPE_FD_WRITE;
			subs[count].u.u.fd_write.file_descriptor = (__wasi_fd_t)w[i].fd;
			count++;
		}
	}
	subs[count].userdata = UINT64_MAX;
	subs[count].u.tag = __WASI_EVENTTYPE_CLOCK;
	subs[count].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	subs[count].u.u.clock.timeout = (uint64_t)timeout_ms * 1000000u;
	subs[count].u.u.clock.precision = 0;
	subs[count].u.u.clock.flags = 0;
	count++;
	__wasi_size_t nevents = 0;
	if (__wasi_poll_oneoff(subs, events, count, &nevents) != 0)
		return;
	for (size_t k = 0; k < nevents; k++) {
		uint64_t ud = events[k].userdata;
		if (ud == UINT64_MAX || (ud >> 1) >= n)
			continue;
		/* An error or a hangup is "ready" too: the next call reports it. */
		if (ud & 1)
			w[ud >> 1].writable = 1;
		else
			w[ud >> 1].readable = 1;
	}
}

#endif

static void net_close(int fd)
{
	close(fd);
}

/* ---- files ---- */

struct cached {
	struct cached *next;
	char *path;
	char *data;
	size_t len;
};

#define CACHE_BUCKETS 1024
static struct cached *cache[CACHE_BUCKETS];
static size_t cache_bytes;
static const char *root;

static unsigned hash(const char *s)
{
	unsigned h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

static const char *mime_type(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {".html", "text/html; charset=utf-8"},
	    {".htm", "text/html; charset=utf-8"},
	    {".css", "text/css; charset=utf-8"},
	    {".js", "text/javascript; charset=utf-8"},
	    {".json", "application/json"},
	    {".txt", "text/plain; charset=utf-8"},
	    {".svg", "image/svg+xml"},
	    {".png", "image/png"},
	    {".jpg", "image/jpeg"},
	    {".jpeg", "image/jpeg"},
	    {".gif", "image/gif"},
	    {".ico", "image/x-icon"},
	    {".wasm", "application/wasm"},
	    {".pdf", "application/pdf"},
	};
	const char *dot = strrchr(path, '.');
	if (dot && !strchr(dot, '/'))
		for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
			if (strcasecmp(dot, types[i].ext) == 0)
				return types[i].type;
	return "application/octet-stream";
}

/* Reads len bytes of fd into a new buffer; NULL if the file changed or failed. */
static char *read_all(int fd, size_t len)
{
	char *data = malloc(len ? len : 1);
	size_t got = 0;
	while (data && got < len) {
		ssize_t n = read(fd, data + got, len - got);
		if (n <= 0) {
			free(data);
			return NULL;
		}
		got += (size_t)n;
	}
	return data;
}

/* ---- connections ---- */

struct conn {
	int fd;
	unsigned char peer_closed; /* the client sent FIN: answer what came, then close */
	unsigned char closing;     /* close once the output is sent */
	unsigned char lingering;   /* output sent and write side shut: draining input */
	unsigned char dead;        /* to be closed and freed */
	int64_t deadline;          /* idle or linger limit, in now_ms() time */
	size_t in_len;
	uint64_t skip; /* request body bytes still to discard */
	char *out;     /* response bytes not yet sent: out[out_off..out_len) */
	size_t out_len, out_off, out_cap;
	int file_fd;        /* a streamed body still being sent, or -1 */
	uint64_t file_left; /* its bytes not yet read */
	char in[IN_SIZE];
};

static struct conn *conns[MAX_CONNS];
static size_t nconns;
static struct waiter waiters[MAX_CONNS + 1];
static uint64_t requests, connections;
static const char *quit_path;
static int quitting;
static int64_t now;

static int out_reserve(struct conn *c, size_t more)
{
	if (c->out_len + more <= c->out_cap)
		return 0;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + more <= c->out_cap)
			return 0;
	}
	size_t cap = c->out_cap ? c->out_cap : 4096;
	while (cap < c->out_len + more)
		cap *= 2;
	char *out = realloc(c->out, cap);
	if (!out)
		return -1;
	c->out = out;
	c->out_cap = cap;
	return 0;
}

static void out_add(struct conn *c, const void *data, size_t len)
{
	if (out_reserve(c, len) != 0) {
		c->dead = 1; /* no memory for the answer: drop the connection */
		return;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
}

/* The Date header's value, formatted once a second. */
static const char *http_date(void)
{
	static char buf[64];
	static time_t last = -1;
	time_t t = time(NULL);
	if (t != last) {
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		last = t;
	}
	return buf;
}

static const char *reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 414:
		return "URI Too Long";
	case 431:
		return "Request Header Fields Too Large";
	case 501:
		return "Not Implemented";
	case 505:
		return "HTTP Version Not Supported";
	default:
		return "Internal Server Error";
	}
}

static void respond_head(struct conn *c, int status, const char *type, uint64_t length,
                         int keep_alive, int http10)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nServer: hedge-http\r\nDate: %s\r\n"
	                 "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
	                 status, reason(status), http_date(), type, (unsigned long long)length,
	                 status == 405 ? "Allow: GET, HEAD\r\n" : "",
	                 !keep_alive ? "Connection: close\r\n"
	                 : http10    ? "Connection: keep-alive\r\n"
	                             : "");
	out_add(c, head, (size_t)n);
	if (!keep_alive)
		c->closing = 1;
}

/* A short text answer for an error. */
static void respond_error(struct conn *c, int status, int keep_alive, int http10, int head_only)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason(status));
	respond_head(c, status, "text/plain; charset=utf-8", (uint64_t)n, keep_alive, http10);
	if (!head_only)
		out_add(c, body, (size_t)n);
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/*
 * Turns the request target into a file system path under root: query cut
 * off, %XX decoded, "/" → "/index.html".  0, or the HTTP status to answer
 * (400 for bad escapes, NULs and ".." segments: nothing may leave root).
 */
static int target_to_path(const char *target, size_t len, char *path, size_t cap)
{
	size_t end = 0;
	while (end < len && target[end] != '?' && target[end] != '#')
		end++;
	if (end == 0 || target[0] != '/')
		return 400;
	size_t rlen = strlen(root);
	if (rlen + end + sizeof("index.html") >= cap)
		return 414;
	memcpy(path, root, rlen);
	size_t o = rlen, seg = rlen;
	for (size_t i = 0; i < end; i++) {
		int ch = (unsigned char)target[i];
		if (ch == '%') {
			int hi = i + 2 < end ? hexval(target[i + 1]) : -1;
			int lo = i + 2 < end ? hexval(target[i + 2]) : -1;
			if (hi < 0 || lo < 0)
				return 400;
			ch = hi * 16 + lo;
			i += 2;
		}
		if (ch == 0 || ch == '\\')
			return 400;
		if (ch == '/') {
			/* A finished segment: ".." would climb out of root. */
			if (o - seg == 2 && path[seg] == '.' && path[seg + 1] == '.')
				return 400;
			seg = o + 1;
		}
		path[o++] = (char)ch;
	}
	if (o - seg == 2 && path[seg] == '.' && path[seg + 1] == '.')
		return 400;
	if (path[o - 1] == '/') {
		memcpy(path + o, "index.html", sizeof("index.html"));
		o += sizeof("index.html") - 1;
	}
	path[o] = '\0';
	return 0;
}

/* Answers a GET or HEAD of target. */
static void serve(struct conn *c, const char *target, size_t target_len, int head_only,
                  int keep_alive, int http10)
{
	char path[URI_MAX + 512];
	int status = target_to_path(target, target_len, path, sizeof(path));
	if (status) {
		respond_error(c, status, 0, http10, head_only);
		return;
	}
	unsigned h = hash(path) % CACHE_BUCKETS;
	struct cached *e = cache[h];
	while (e && strcmp(e->path, path) != 0)
		e = e->next;
	if (e) {
		respond_head(c, 200, mime_type(path), e->len, keep_alive, http10);
		if (!head_only)
			out_add(c, e->data, e->len);
		return;
	}
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		respond_error(c, 404, keep_alive, http10, head_only);
		return;
	}
	size_t len = (size_t)st.st_size;
	if (len <= CACHE_FILE_MAX && cache_bytes + len <= CACHE_MAX) {
		char *data = read_all(fd, len);
		e = malloc(sizeof(*e));
		char *copy = strdup(path);
		close(fd);
		if (!data || !e || !copy) {
			free(data);
			free(e);
			free(copy);
			respond_error(c, 500, 0, http10, head_only);
			return;
		}
		*e = (struct cached){cache[h], copy, data, len};
		cache[h] = e;
		cache_bytes += len;
		respond_head(c, 200, mime_type(path), len, keep_alive, http10);
		if (!head_only)
			out_add(c, data, len);
		return;
	}
	respond_head(c, 200, mime_type(path), (uint64_t)st.st_size, keep_alive, http10);
	if (head_only || st.st_size == 0) {
		close(fd);
		return;
	}
	c->file_fd = fd; /* sent CHUNK by CHUNK as the connection drains */
	c->file_left = (uint64_t)st.st_size;
}

static int is_tchar(int ch)
{
	return isalnum(ch) || (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Case-insensitive: does the value list contain token? ("keep-alive, Upgrade") */
static int has_token(const char *v, size_t len, const char *token)
{
	size_t tlen = strlen(token);
	for (size_t i = 0; i < len;) {
		while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		size_t start = i;
		while (i < len && v[i] != ',')
			i++;
		size_t end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start == tlen && strncasecmp(v + start, token, tlen) == 0)
			return 1;
	}
	return 0;
}

/* Parses and answers one request whose head is in[0..head_len). */
static void handle_request(struct conn *c, size_t head_len)
{
	const char *in = c->in;
	const char *line_end = memchr(in, '\n', head_len);
	size_t line_len = (size_t)(line_end - in);
	if (line_len && in[line_len - 1] == '\r')
		line_len--;
	requests++;

	/* The request line: METHOD SP TARGET SP HTTP/x.y */
	const char *sp1 = memchr(in, ' ', line_len);
	const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', line_len - (size_t)(sp1 + 1 - in)) : NULL;
	if (!sp1 || !sp2 || sp1 == in || sp2 == sp1 + 1) {
		respond_error(c, 400, 0, 0, 0);
		return;
	}
	size_t method_len = (size_t)(sp1 - in);
	for (size_t i = 0; i < method_len; i++)
		if (!is_tchar((unsigned char)in[i])) {
			respond_error(c, 400, 0, 0, 0);
			return;
		}
	const char *target = sp1 + 1;
	size_t target_len = (size_t)(sp2 - target);
	const char *version = sp2 + 1;
	size_t version_len = line_len - (size_t)(version - in);
	if (target_len > URI_MAX) {
		respond_error(c, 414, 0, 0, 0);
		return;
	}
	for (size_t i = 0; i < target_len; i++)
		if ((unsigned char)target[i] <= ' ' || target[i] == 0x7f) {
			respond_error(c, 400, 0, 0, 0);
			return;
		}
	int http10;
	if (version_len == 8 && memcmp(version, "HTTP/1.1", 8) == 0) {
		http10 = 0;
	} else if (version_len == 8 && memcmp(version, "HTTP/1.0", 8) == 0) {
		http10 = 1;
	} else {
		int shaped = version_len == 8 && memcmp(version, "HTTP/", 5) == 0 &&
		             isdigit((unsigned char)version[5]) && version[6] == '.' &&
		             isdigit((unsigned char)version[7]);
		respond_error(c, shaped ? 505 : 400, 0, 0, 0);
		return;
	}

	/* Header fields: name ":" value, one per line, until the empty line. */
	int conn_close = 0, conn_keep = 0, has_host = 0, has_te = 0, has_length = 0;
	uint64_t length = 0;
	const char *p = line_end + 1, *end = in + head_len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)(nl - p);
		if (len && p[len - 1] == '\r')
			len--;
		if (len == 0)
			break; /* the blank line that ends the head */
		const char *colon = memchr(p, ':', len);
		if (!colon || colon == p) {
			respond_error(c, 400, 0, http10, 0);
			return;
		}
		size_t name_len = (size_t)(colon - p);
		for (size_t i = 0; i < name_len; i++)
			if (!is_tchar((unsigned char)p[i])) {
				respond_error(c, 400, 0, http10,
				              0); /* also obs-fold and "Name :" */
				return;
			}
		const char *v = colon + 1;
		size_t vlen = len - name_len - 1;
		while (vlen && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (name_len == 10 && strncasecmp(p, "Connection", 10) == 0) {
			conn_close |= has_token(v, vlen, "close");
			conn_keep |= has_token(v, vlen, "keep-alive");
		} else if (name_len == 4 && strncasecmp(p, "Host", 4) == 0) {
			has_host = 1;
		} else if (name_len == 17 && strncasecmp(p, "Transfer-Encoding", 17) == 0) {
			has_te = 1;
		} else if (name_len == 14 && strncasecmp(p, "Content-Length", 14) == 0) {
			uint64_t value = 0;
			if (vlen == 0 || vlen > 18) {
				respond_error(c, 400, 0, http10, 0);
				return;
			}
			for (size_t i = 0; i < vlen; i++) {
				if (!isdigit((unsigned char)v[i])) {
					respond_error(c, 400, 0, http10, 0);
					return;
				}
				value = value * 10 + (uint64_t)(v[i] - '0');
			}
			if (has_length && value != length) {
				respond_error(c, 400, 0, http10, 0);
				return;
			}
			has_length = 1;
			length = value;
		}
		p = nl + 1;
	}
	if (!http10 && !has_host) {
		respond_error(c, 400, 0, http10, 0); /* HTTP/1.1 requires Host */
		return;
	}
	if (has_te) {
		respond_error(c, 501, 0, http10, 0); /* cannot find where a chunked body ends */
		return;
	}
	c->skip = length; /* a body, if any, is read and dropped */
	int keep_alive = http10 ? conn_keep && !conn_close : !conn_close;
	int head_only = method_len == 4 && memcmp(in, "HEAD", 4) == 0;
	int get = method_len == 3 && memcmp(in, "GET", 3) == 0;
	if (!get && !head_only) {
		respond_error(c, 405, keep_alive, http10, 0);
		return;
	}
	if (get && quit_path && target_len == strlen(quit_path) &&
	    memcmp(target, quit_path, target_len) == 0) {
		respond_head(c, 200, "text/plain; charset=utf-8", 4, 0, http10);
		out_add(c, "bye\n", 4);
		quitting = 1;
		return;
	}
	serve(c, target, target_len, head_only, keep_alive, http10);
}

/* Where the head ends (after its blank line), or 0 if it has not all come. */
static size_t head_end(const char *in, size_t len)
{
	for (const char *p = in; (p = memchr(p, '\n', len - (size_t)(p - in))) != NULL;) {
		p++;
		size_t left = len - (size_t)(p - in);
		if (left >= 1 && p[0] == '\n')
			return (size_t)(p - in) + 1;
		if (left >= 2 && p[0] == '\r' && p[1] == '\n')
			return (size_t)(p - in) + 2;
		if (left == 0)
			break;
	}
	return 0;
}

/* Answers every complete request in the input, as far as output room allows. */
static void process_requests(struct conn *c)
{
	while (!c->dead && !c->closing && c->file_fd < 0 && c->out_len - c->out_off < OUT_BACKLOG) {
		if (c->skip) {
			size_t drop = c->skip < c->in_len ? (size_t)c->skip : c->in_len;
			memmove(c->in, c->in + drop, c->in_len - drop);
			c->in_len -= drop;
			c->skip -= drop;
			if (c->skip)
				return;
			continue;
		}
		if (c->in_len == 0)
			return;
		size_t len = head_end(c->in, c->in_len);
		if (len == 0) {
			if (c->in_len == IN_SIZE) {
				/* No room left: a huge request line, or too many header fields. */
				requests++;
				respond_error(c, memchr(c->in, '\n', c->in_len) ? 431 : 414, 0, 0,
				              0);
				c->in_len = 0;
			} else if (!memchr(c->in, '\n', c->in_len) && c->in_len > URI_MAX + 64) {
				requests++;
				respond_error(c, 414, 0, 0, 0);
				c->in_len = 0;
			}
			return;
		}
		handle_request(c, len);
		memmove(c->in, c->in + len, c->in_len - len);
		c->in_len -= len;
	}
}

/* Sends what is queued (streaming file bodies in); 1 when all is out, 0 when blocked. */
static int flush(struct conn *c)
{
	while (!c->dead) {
		if (c->out_off < c->out_len) {
			long n = net_send(c->fd, c->out + c->out_off, c->out_len - c->out_off);
			if (n == NET_AGAIN)
				return 0;
			if (n < 0) {
				c->dead = 1;
				return 0;
			}
			c->out_off += (size_t)n;
			c->deadline = now + IDLE_MS;
			if (c->out_off < c->out_len)
				return 0;
		}
		c->out_off = c->out_len = 0;
		if (c->file_fd < 0)
			return 1;
		size_t want = c->file_left < CHUNK ? (size_t)c->file_left : CHUNK;
		if (out_reserve(c, want) != 0) {
			c->dead = 1;
			return 0;
		}
		ssize_t n = read(c->file_fd, c->out, want);
		if (n <= 0) {
			c->dead = 1; /* the file shrank: the promised length cannot be kept */
			return 0;
		}
		c->out_len = (size_t)n;
		c->file_left -= (uint64_t)n;
		if (c->file_left == 0) {
			close(c->file_fd);
			c->file_fd = -1;
		}
	}
	return 0;
}

/* Answers what came in and sends it; then, if done with the connection, starts closing it. */
static void pump(struct conn *c)
{
	for (;;) {
		uint64_t before = requests;
		process_requests(c);
		int drained = flush(c);
		if (c->dead || !drained)
			return;
		if (requests == before)
			break;
	}
	if (c->peer_closed && !c->lingering)
		c->closing = 1;
	if (c->closing && !c->lingering) {
		/*
		 * Shut the write side and read what the client still sends before
		 * closing: closing with unread input makes TCP reset the
		 * connection, which can destroy the answer before it is read.
		 */
		net_shutdown_write(c->fd);
		c->lingering = 1;
		c->in_len = 0;
		c->deadline = now + LINGER_MS;
		if (c->peer_closed)
			c->dead = 1;
	}
}

static void on_readable(struct conn *c)
{
	while (!c->dead) {
		if (c->lingering) {
			char sink[4096];
			long n = net_recv(c->fd, sink, sizeof(sink));
			if (n == NET_AGAIN)
				return;
			if (n <= 0)
				c->dead = 1; /* the client is done too */
			continue;
		}
		size_t room = IN_SIZE - c->in_len;
		if (room == 0)
			break;
		long n = net_recv(c->fd, c->in + c->in_len, room);
		if (n == NET_AGAIN)
			break;
		if (n < 0) {
			c->dead = 1;
			return;
		}
		if (n == 0) {
			c->peer_closed = 1;
			break;
		}
		c->in_len += (size_t)n;
		c->deadline = now + IDLE_MS;
		if ((size_t)n < room)
			break; /* took all there was, most likely: no need to ask again */
	}
	pump(c);
}

static void conn_free(struct conn *c)
{
	net_close(c->fd);
	if (c->file_fd >= 0)
		close(c->file_fd);
	free(c->out);
	free(c);
}

static void accept_some(int lfd)
{
	for (int i = 0; i < ACCEPT_BATCH && nconns < MAX_CONNS; i++) {
		int fd = net_accept(lfd);
		if (fd == NET_AGAIN)
			return;
		if (fd < 0) {
			perror("http_server: accept");
			return;
		}
		struct conn *c = malloc(sizeof(*c));
		if (!c) {
			net_close(fd);
			return;
		}
		memset(c, 0, offsetof(struct conn, in));
		c->fd = fd;
		c->file_fd = -1;
		c->deadline = now + IDLE_MS;
		conns[nconns++] = c;
		connections++;
		/* The request usually comes with the connection: no need to wait a turn. */
		on_readable(c);
	}
}

static void print_counters(void)
{
	printf("http_server: %llu requests on %llu connections\n", (unsigned long long)requests,
	       (unsigned long long)connections);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int argi = 1;
	if (argi + 1 < argc && strcmp(argv[argi], "--quit") == 0) {
		quit_path = argv[argi + 1];
		argi += 2;
	}
	if (argc - argi != 2) {
		fprintf(stderr, "usage: http_server [--quit PATH] PORT ROOT\n");
		return 2;
	}
	char *end;
	long port = strtol(argv[argi], &end, 10);
	root = argv[argi + 1];
	if (*end || port < 0 || port > 65535) {
		fprintf(stderr, "http_server: bad port %s\n", argv[argi]);
		return 2;
	}
	size_t rlen = strlen(root);
	while (rlen > 1 && root[rlen - 1] == '/')
		((char *)root)[--rlen] = '\0'; /* target paths bring their own slash */
	struct stat st;
	if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "http_server: %s is not a directory\n", root);
		return 1;
	}
	int lfd = net_listen((int)port);
	if (lfd < 0) {
		fprintf(stderr, "http_server: cannot listen on port %ld\n", port);
		return 1;
	}
	printf("http_server: listening on port %ld, serving %s\n", port, root);
	fflush(stdout);

	now = now_ms();
	int64_t next_sweep = now + 1000;
	while (!quitting) {
		size_t n = 0;
		waiters[n++] = (struct waiter){.fd = lfd, .want_read = nconns < MAX_CONNS};
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = conns[i];
			int out_waiting = c->out_off < c->out_len || c->file_fd >= 0;
			waiters[n++] = (struct waiter){
			    .fd = c->fd,
			    .want_read = c->lingering ||
			                 (!c->closing && !c->peer_closed && c->in_len < IN_SIZE &&
			                  c->out_len - c->out_off < OUT_BACKLOG && c->file_fd < 0),
			    .want_write = out_waiting,
			};
		}
		net_wait(waiters, n, 1000);
		now = now_ms();
		size_t polled = nconns;
		for (size_t i = 0; i < polled; i++) {
			struct conn *c = conns[i];
			if (waiters[i + 1].writable && !c->dead)
				pump(c);
			if (waiters[i + 1].readable && !c->dead)
				on_readable(c);
		}
		if (waiters[0].readable)
			accept_some(lfd);
		if (now >= next_sweep) {
			/* Idle keep-alive connections and lingering closes that took too long. */
			for (size_t i = 0; i < nconns; i++)
				if (now > conns[i]->deadline &&
				    conns[i]->out_off == conns[i]->out_len && conns[i]->file_fd < 0)
					conns[i]->dead = 1;
			next_sweep = now + 1000;
		}
		size_t kept = 0;
		for (size_t i = 0; i < nconns; i++) {
			if (conns[i]->dead)
				conn_free(conns[i]);
			else
				conns[kept++] = conns[i];
		}
		nconns = kept;
	}
	print_counters();
	return 0;
}
