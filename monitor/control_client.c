/*
 * control_client.c - one request and its answer over a VM's control socket,
 * with the progress reports a migration sends before its answer.
 *
 * Signals are expected (hedged takes SIGCHLD, `hedge vm` may be stopped and
 * continued), so interrupted calls are retried and the time limit holds for
 * the whole exchange, not for each read.
 */
#include "control_client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "errmsg.h"

static uint64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int send_all(int fd, const char *data, size_t len)
{
	size_t sent = 0;
	while (sent < len) {
		ssize_t n = send(fd, data + sent, len - sent, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		sent += (size_t)n;
	}
	return 0;
}

/*
 * Reads lines until one that is not a progress report (those go to
 * on_progress, when given) and leaves it in answer; 0, or -1 with a reason.
 * A line is at most answer_len - 1 bytes, the answer included.  Each report
 * starts the time limit again: a long migration that keeps reporting is
 * not given up on.
 */
static int read_answer(int fd, const char *sock_path, char *answer, size_t answer_len,
                       int timeout_ms, void (*on_progress)(void *ctx, const char *line), void *ctx,
                       char *err, size_t errlen)
{
	size_t got = 0;
	uint64_t deadline = monotonic_ms() + (uint64_t)timeout_ms;
	answer[0] = '\0';
	for (;;) {
		char *nl;
		while ((nl = memchr(answer, '\n', got)) != NULL) {
			*nl = '\0';
			if (!on_progress || strncmp(answer, "{\"progress\":", 12) != 0)
				return 0;
			on_progress(ctx, answer);
			deadline = monotonic_ms() + (uint64_t)timeout_ms;
			got -= (size_t)(nl + 1 - answer);
			memmove(answer, nl + 1, got);
			answer[got] = '\0';
		}
		if (got == answer_len - 1)
			return set_err(err, errlen, "answer from %s is too long", sock_path);
		uint64_t now = monotonic_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int ready = now < deadline ? poll(&p, 1, (int)(deadline - now)) : 0;
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			return set_err(err, errlen, "no answer from %s within %d ms", sock_path,
			               timeout_ms);
		ssize_t n = read(fd, answer + got, answer_len - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return set_err(err, errlen, "%s closed the connection without an answer",
			               sock_path);
		got += (size_t)n;
		answer[got] = '\0';
	}
}

int control_exchange(const char *sock_path, const char *request, char *answer, size_t answer_len,
                     int timeout_ms, char *err, size_t errlen)
{
	return control_exchange_progress(sock_path, request, answer, answer_len, timeout_ms, NULL,
	                                 NULL, err, errlen);
}

int control_exchange_progress(const char *sock_path, const char *request, char *answer,
                              size_t answer_len, int timeout_ms,
                              void (*on_progress)(void *ctx, const char *line), void *ctx,
                              char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (answer_len < 2)
		return set_err(err, errlen, "no room for an answer");
	answer[0] = '\0';
	if (strlen(sock_path) >= sizeof(addr.sun_path))
		return set_err(err, errlen, "socket path too long: %s", sock_path);
	memcpy(addr.sun_path, sock_path, strlen(sock_path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		set_err(err, errlen, "cannot connect to %s: %s", sock_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int rc = send_all(fd, request, strlen(request));
	if (rc)
		set_err(err, errlen, "cannot send to %s: %s", sock_path, strerror(errno));
	else
		rc = read_answer(fd, sock_path, answer, answer_len, timeout_ms, on_progress, ctx,
		                 err, errlen);
	close(fd);
	return rc;
}
