/*
 * net_http.c - a tiny HTTP/1.1 server with keep-alive that answers every GET
 * with one fixed body: `hedge run --net tap:T --ip 10.0.0.2/24 net_http.hvt [PORT [BYTES]]`.
 *
 * Enough HTTP for curl, browsers and load generators: persistent
 * connections (HTTP/1.1 by default, HTTP/1.0 with "Connection: keep-alive"),
 * pipelined requests, "Connection: close", HEAD, and request bodies
 * skipped by Content-Length.  Anything it cannot parse gets a 400 and the
 * connection closed.  BYTES sets the body size (default: a short greeting).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_net.h"

#define IN_SIZE   8192 /* largest request head we accept */
#define MAX_CONNS (HEDGE_NET_MAX_SOCKETS - 1)

struct conn {
	int fd;
	bool closing;  /* close once out is sent */
	size_t in_len; /* request bytes in in[] */
	size_t skip;   /* request body bytes still to discard */
	char *out;     /* response bytes not yet sent: out[out_off..out_len) */
	size_t out_len, out_off, out_cap;
	char in[IN_SIZE];
};

static struct conn *conns[MAX_CONNS];
static size_t nconns;
static struct hedge_pollfd pfds[MAX_CONNS + 1];
static char *body;
static size_t body_len;

static bool out_append(struct conn *c, const char *data, size_t len)
{
	if (c->out_len + len > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		while (cap < c->out_len + len)
			cap *= 2;
		char *p = realloc(c->out, cap);
		if (!p)
			return false;
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return true;
}

/* Case-insensitive search for header name in head; returns its value or NULL. */
static const char *header(const char *head, const char *name)
{
	size_t n = strlen(name);
	for (const char *line = strstr(head, "\r\n"); line; line = strstr(line, "\r\n")) {
		line += 2;
		if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
			const char *v = line + n + 1;
			while (*v == ' ' || *v == '\t')
				v++;
			return v;
		}
	}
	return NULL;
}

static bool value_is(const char *v, const char *word)
{
	return v && strncasecmp(v, word, strlen(word)) == 0;
}

static void respond(struct conn *c, int status, const char *reason, bool with_body)
{
	char head[256];
	size_t len = status == 200 ? body_len : 0;
	int n = snprintf(head, sizeof(head),
	                 "HTTP/1.1 %d %s\r\nServer: hedge\r\nContent-Type: text/plain\r\n"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 status, reason, len, c->closing ? "Connection: close\r\n" : "");
	bool ok = out_append(c, head, (size_t)n);
	if (ok && with_body && len)
		ok = out_append(c, body, len);
	if (!ok)
		c->closing = true;
}

/* Handles the request whose head (NUL-terminated, without the blank line) is head. */
static void handle(struct conn *c, char *head)
{
	char *sp1 = strchr(head, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	char *eol = strstr(head, "\r\n");
	if (!sp1 || !sp2 || (eol && sp2 > eol) || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
		c->closing = true;
		respond(c, 400, "Bad Request", true);
		return;
	}
	bool http10 = sp2[8] == '0';
	const char *connection = header(head, "Connection");
	if (value_is(connection, "close") || (http10 && !value_is(connection, "keep-alive")))
		c->closing = true;
	const char *cl = header(head, "Content-Length");
	if (cl)
		c->skip = strtoul(cl, NULL, 10);
	if (header(head, "Transfer-Encoding")) {
		/* Chunked request bodies are not worth parsing here. */
		c->closing = true;
		respond(c, 411, "Length Required", true);
		return;
	}
	*sp1 = '\0';
	if (strcmp(head, "GET") == 0)
		respond(c, 200, "OK", true);
	else if (strcmp(head, "HEAD") == 0)
		respond(c, 200, "OK", false);
	else
		respond(c, 405, "Method Not Allowed", true);
}

/* Parses every complete request in c->in, queueing the responses. */
static void parse(struct conn *c)
{
	size_t pos = 0;
	while (!c->closing && pos < c->in_len) {
		if (c->skip) {
			size_t n = c->in_len - pos < c->skip ? c->in_len - pos : c->skip;
			pos += n;
			c->skip -= n;
			continue;
		}
		char *start = c->in + pos;
		char *end = NULL;
		for (char *p = start; p + 3 < c->in + c->in_len; p++) {
			if (p[0] == '\r' && p[1] == '\n' && p[2] == '\r' && p[3] == '\n') {
				end = p;
				break;
			}
		}
		if (!end)
			break;
		end[2] = '\0'; /* keep the last line's CRLF for header() */
		handle(c, start);
		pos = (size_t)(end - c->in) + 4;
	}
	memmove(c->in, c->in + pos, c->in_len - pos);
	c->in_len -= pos;
	if (c->in_len == sizeof(c->in) - 1 && !c->closing) {
		c->closing = true;
		respond(c, 431, "Request Header Fields Too Large", true);
	}
}

static bool flush(struct conn *c)
{
	while (c->out_off < c->out_len) {
		long n = hedge_send(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n == -EAGAIN)
			return true;
		if (n < 0)
			return false;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	if (c->out_cap > 65536) {
		free(c->out);
		c->out = NULL;
		c->out_cap = 0;
	}
	return !c->closing;
}

/* False when the connection is finished. */
static bool serve(struct conn *c)
{
	if (c->out_off < c->out_len)
		return flush(c);
	long n = hedge_recv(c->fd, c->in + c->in_len, sizeof(c->in) - 1 - c->in_len);
	if (n == -EAGAIN)
		return true;
	if (n <= 0)
		return false;
	c->in_len += (size_t)n;
	parse(c);
	return flush(c);
}

static void drop(size_t i)
{
	struct conn *c = conns[i];
	hedge_close(c->fd);
	free(c->out);
	free(c);
	conns[i] = conns[--nconns];
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = hedge_accept(lfd, NULL);
		if (fd < 0)
			return;
		struct conn *c = nconns < MAX_CONNS ? calloc(1, sizeof(*c)) : NULL;
		if (!c) {
			hedge_close(fd);
			continue;
		}
		hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, 1);
		hedge_setsockopt(fd, HEDGE_TCP_NODELAY, 1);
		c->fd = fd;
		conns[nconns++] = c;
	}
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 80;
	if (port <= 0 || port > 65535) {
		printf("usage: net_http [PORT [BODY_BYTES]]\n");
		return 2;
	}
	if (argc > 2) {
		body_len = strtoul(argv[2], NULL, 10);
		body = malloc(body_len + 1);
		if (!body)
			return 1;
		for (size_t i = 0; i < body_len; i++)
			body[i] = (char)('a' + i % 26);
		if (body_len)
			body[body_len - 1] = '\n';
	} else {
		body = "Hello from a hedge unikernel!\n";
		body_len = strlen(body);
	}
	if (hedge_net_init() < 0) {
		printf("net_http: no network interface (run with hedge run --net tap:NAME --ip "
		       "ADDR/LEN)\n");
		return 1;
	}
	int lfd = hedge_socket(HEDGE_SOCK_TCP);
	hedge_setsockopt(lfd, HEDGE_SO_REUSEADDR, 1);
	int r = hedge_bind(lfd, HEDGE_IP_ANY, (uint16_t)port);
	if (r == 0)
		r = hedge_listen(lfd, 255);
	if (r < 0) {
		printf("net_http: cannot listen on port %d: %s\n", port, strerror(-r));
		return 1;
	}
	hedge_setsockopt(lfd, HEDGE_SO_NONBLOCK, 1);
	struct hedge_net_config cfg;
	hedge_net_config(&cfg);
	char ip[16];
	printf("net_http: listening on %s:%d\n", hedge_inet_ntop(cfg.ip, ip, sizeof(ip)), port);

	for (;;) {
		pfds[0] = (struct hedge_pollfd){.fd = lfd, .events = HEDGE_POLLIN};
		for (size_t i = 0; i < nconns; i++) {
			struct conn *c = conns[i];
			pfds[i + 1] = (struct hedge_pollfd){
			    .fd = c->fd,
			    .events = c->out_off < c->out_len ? HEDGE_POLLOUT : HEDGE_POLLIN};
		}
		size_t polled = nconns;
		if (hedge_poll_sockets(pfds, polled + 1, -1) <= 0)
			continue;
		for (size_t i = polled; i > 0; i--)
			if (pfds[i].revents && !serve(conns[i - 1]))
				drop(i - 1);
		if (pfds[0].revents & HEDGE_POLLIN)
			accept_all(lfd);
	}
}
