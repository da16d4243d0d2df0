/*
 * http_load.c - host-side HTTP/1.1 load client for the network tests.
 *
 *   http_load IP PORT CONNECTIONS REQUESTS PATH EXPECT_FILE [TIMEOUT_S]
 *
 * Opens CONNECTIONS connections at once and sends REQUESTS keep-alive GETs
 * of PATH on each, one after the other, checking every answer: status 200,
 * a Content-Length, and a body byte for byte equal to EXPECT_FILE.  All of
 * it is bounded by TIMEOUT_S (default 60).  Prints one summary line and
 * exits 0 when every request got its answer, 1 otherwise.
 *
 * Written in C because the test machines need not have python, and wrk
 * counts answers without checking them.
 */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct conn {
	int fd;
	int connected;
	int done;      /* all requests answered */
	long answered; /* requests answered so far */
	size_t sent;   /* bytes of the current request sent */
	char head[8192];
	size_t head_len; /* bytes of the current answer's head */
	long body_left;  /* -1 while in the head */
	size_t body_at;  /* where in the expected body we are */
};

static const char *expect;
static size_t expect_len;
static char request[1024];
static size_t request_len;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0)
		return NULL;
	char *data = malloc((size_t)st.st_size + 1);
	size_t got = 0;
	while (data && got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return data;
}

static int fail(int i, const char *what)
{
	fprintf(stderr, "http_load: connection %d: %s\n", i, what);
	return -1;
}

/* Checks a complete answer head; sets the body length to expect. */
static int parse_head(struct conn *c, int i)
{
	if (strncmp(c->head, "HTTP/1.1 200 ", 13) != 0) {
		char line[80];
		snprintf(line, sizeof(line), "answer %ld: %.40s", c->answered + 1, c->head);
		return fail(i, line);
	}
	const char *cl = strcasestr(c->head, "\r\nContent-Length:");
	if (!cl)
		return fail(i, "no Content-Length");
	long len = strtol(cl + 17, NULL, 10);
	if (len != (long)expect_len)
		return fail(i, "Content-Length differs from the file's size");
	c->body_left = len;
	c->body_at = 0;
	return 0;
}

/* Takes n received bytes; -1 on a wrong answer. */
static int take(struct conn *c, int i, const char *buf, size_t n, long requests)
{
	while (n > 0) {
		if (c->body_left < 0) {
			/* Byte by byte into the head until its blank line. */
			if (c->head_len + 1 >= sizeof(c->head))
				return fail(i, "answer head too long");
			c->head[c->head_len++] = *buf++;
			n--;
			c->head[c->head_len] = '\0';
			if (c->head_len >= 4 &&
			    memcmp(c->head + c->head_len - 4, "\r\n\r\n", 4) == 0 &&
			    parse_head(c, i) != 0)
				return -1;
		} else {
			size_t k = n < (size_t)c->body_left ? n : (size_t)c->body_left;
			if (memcmp(buf, expect + c->body_at, k) != 0)
				return fail(i, "body differs from the file");
			c->body_at += k;
			c->body_left -= (long)k;
			buf += k;
			n -= k;
		}
		if (c->body_left == 0) {
			c->answered++;
			c->head_len = 0;
			c->body_left = -1;
			c->sent = 0;
			if (c->answered == requests) {
				c->done = 1;
				if (n)
					return fail(i, "bytes after the last answer");
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: http_load IP PORT CONNECTIONS REQUESTS PATH EXPECT_FILE "
		                "[TIMEOUT_S]\n");
		return 2;
	}
	struct sockaddr_in sin = {.sin_family = AF_INET,
	                          .sin_port = htons((uint16_t)atoi(argv[2]))};
	int nconns = atoi(argv[3]);
	long requests = atol(argv[4]);
	double timeout = argc > 7 ? atof(argv[7]) : 60;
	if (inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1 || nconns <= 0 || requests <= 0) {
		fprintf(stderr, "http_load: bad arguments\n");
		return 2;
	}
	expect = read_file(argv[6], &expect_len);
	if (!expect) {
		fprintf(stderr, "http_load: cannot read %s\n", argv[6]);
		return 2;
	}
	request_len = (size_t)snprintf(
	    request, sizeof(request),
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: http_load\r\n\r\n", argv[5], argv[1]);

	struct conn *conns = calloc((size_t)nconns, sizeof(*conns));
	struct pollfd *pfds = calloc((size_t)nconns, sizeof(*pfds));
	if (!conns || !pfds)
		return 2;
	for (int i = 0; i < nconns; i++) {
		conns[i].body_left = -1;
		conns[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (conns[i].fd < 0) {
			perror("http_load: socket");
			return 1;
		}
		if (connect(conns[i].fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 &&
		    errno != EINPROGRESS) {
			perror("http_load: connect");
			return 1;
		}
	}

	double start = now_s(), deadline = start + timeout;
	int remaining = nconns, failed = 0;
	char buf[65536];
	while (remaining > 0 && !failed) {
		double left = deadline - now_s();
		if (left <= 0) {
			fprintf(stderr, "http_load: timed out with %d connections unfinished\n",
			        remaining);
			failed = 1;
			break;
		}
		for (int i = 0; i < nconns; i++) {
			struct conn *c = &conns[i];
			pfds[i].fd = c->done ? -1 : c->fd;
			pfds[i].events =
			    (short)(!c->connected || c->sent < request_len ? POLLOUT : POLLIN);
			pfds[i].revents = 0;
		}
		if (poll(pfds, (nfds_t)nconns, (int)(left * 1000) + 1) < 0 && errno != EINTR) {
			perror("http_load: poll");
			return 1;
		}
		for (int i = 0; i < nconns && !failed; i++) {
			struct conn *c = &conns[i];
			short r = pfds[i].revents;
			if (!r)
				continue;
			if (!c->connected) {
				int err = 0;
				socklen_t len = sizeof(err);
				getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
				if (err) {
					failed = fail(i, strerror(err)) != 0;
					break;
				}
				c->connected = 1;
			}
			if (c->sent < request_len) {
				ssize_t n = send(c->fd, request + c->sent, request_len - c->sent,
				                 MSG_NOSIGNAL);
				if (n < 0 && errno != EAGAIN) {
					failed = fail(i, strerror(errno)) != 0;
					break;
				}
				if (n > 0)
					c->sent += (size_t)n;
				continue;
			}
			ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
			if (n == 0) {
				failed = fail(i, "the server closed the connection") != 0;
			} else if (n < 0 && errno != EAGAIN) {
				failed = fail(i, strerror(errno)) != 0;
			} else if (n > 0) {
				failed = take(c, i, buf, (size_t)n, requests) != 0;
				if (c->done) {
					close(c->fd);
					remaining--;
				}
			}
		}
	}
	double seconds = now_s() - start;
	long answered = 0;
	for (int i = 0; i < nconns; i++)
		answered += conns[i].answered;
	if (failed) {
		printf("http_load: FAILED after %ld answers\n", answered);
		return 1;
	}
	printf("http_load ok: %d connection(s) x %ld request(s), %ld answers checked in %.2f s\n",
	       nconns, requests, answered, seconds);
	return 0;
}
