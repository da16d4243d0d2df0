/*
 * udp_probe.c - the service-gap probe of bench/migrate.sh: sends a numbered
 * datagram to IP:PORT every millisecond and notes when answers come back.
 *   udp_probe IP PORT [MS]
 * Runs for MS milliseconds (default: until SIGTERM or SIGINT), then prints
 * one line of JSON: datagrams sent, answered, and the longest time between
 * two consecutive answers - what a client sees of a guest that stops
 * answering for a while, whatever the reason.
 */
#define _GNU_SOURCE /* ppoll */

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: udp_probe IP PORT [MS]\n");
		return 64;
	}
	struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
	if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) {
		fprintf(stderr, "udp_probe: bad address %s\n", argv[1]);
		return 64;
	}
	uint64_t run_ns = argc > 3 ? strtoull(argv[3], NULL, 10) * 1000000u : UINT64_MAX;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("udp_probe");
		return 1;
	}
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	uint64_t start = now_ns(), next = start, seq = 0, answered = 0, last = 0, max_gap = 0;
	while (!stop && now_ns() - start < run_ns) {
		uint64_t t = now_ns();
		if (t >= next) {
			send(fd, &seq, sizeof(seq),
			     0); /* a full queue or ICMP error is a lost probe */
			seq++;
			next += 1000000;
			if (next < t)
				next = t + 1000000; /* we were descheduled: do not burst */
			continue;
		}
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct timespec wait = {.tv_nsec = (long)(next - t)};
		if (ppoll(&p, 1, &wait, NULL) <= 0)
			continue;
		uint64_t got;
		while (recv(fd, &got, sizeof(got), 0) == (ssize_t)sizeof(got)) {
			uint64_t at = now_ns();
			if (answered && at - last > max_gap)
				max_gap = at - last;
			last = at;
			answered++;
		}
	}
	printf("{\"sent\":%llu,\"answered\":%llu,\"max_gap_ms\":%.3f}\n", (unsigned long long)seq,
	       (unsigned long long)answered, (double)max_gap / 1e6);
	return 0;
}
