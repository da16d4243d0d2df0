/*
 * clock.c - checks the guest clocks: monotonic, sleeps and the wall clock.
 *
 * Prints the wall clock in seconds so the test can compare it with the host's,
 * and fails (status 1) if monotonic time goes backwards or a sleep is short.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hedge.h"

int main(int argc, char **argv)
{
	int sleeps = argc > 1 ? atoi(argv[1]) : 5;
	uint64_t sleep_ns = 10 * 1000 * 1000;
	int failures = 0;

	uint64_t prev = hedge_clock_monotonic_ns();
	for (int i = 0; i < 100000; i++) {
		uint64_t now = hedge_clock_monotonic_ns();
		if (now < prev) {
			printf("FAIL monotonic went back: %lu < %lu\n", (unsigned long)now,
			       (unsigned long)prev);
			failures++;
		}
		prev = now;
	}
	uint64_t start = hedge_clock_monotonic_ns();
	for (int i = 0; i < sleeps; i++) {
		uint64_t before = hedge_clock_monotonic_ns();
		hedge_sleep_ns(sleep_ns);
		uint64_t slept = hedge_clock_monotonic_ns() - before;
		if (slept < sleep_ns) {
			printf("FAIL sleep %d lasted %lu ns\n", i, (unsigned long)slept);
			failures++;
		}
	}
	uint64_t elapsed = hedge_clock_monotonic_ns() - start;
	printf("slept %d x 10 ms in %lu us\n", sleeps, (unsigned long)(elapsed / 1000));
	printf("wall_seconds=%lu\n", (unsigned long)(hedge_clock_wall_ns() / 1000000000ull));
	printf("%s\n", failures ? "clock: FAIL" : "clock: ok");
	return failures ? 1 : 0;
}
