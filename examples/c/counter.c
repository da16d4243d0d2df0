/*
 * counter.c - counts, printing one line per tick with its monotonic time,
 * for the snapshot tests: counter [TICKS [INTERVAL_MS [STATUS]]]
 * (defaults 50, 20, 0).
 *
 * Each line is "count=N mono_ns=T".  A snapshot taken between two lines and
 * resumed must go on with the next N and a T that is not smaller; at the
 * end it prints "final count=TICKS" and exits with STATUS.
 */
#include <stdio.h>
#include <stdlib.h>

#include "hedge.h"

int main(int argc, char **argv)
{
	int ticks = argc > 1 ? atoi(argv[1]) : 50;
	uint64_t interval_ns = (uint64_t)(argc > 2 ? atoi(argv[2]) : 20) * 1000 * 1000;
	int status = argc > 3 ? atoi(argv[3]) : 0;
	uint64_t next = hedge_clock_monotonic_ns();
	int count = 0;
	while (count < ticks) {
		count++;
		printf("count=%d mono_ns=%llu\n", count,
		       (unsigned long long)hedge_clock_monotonic_ns());
		next += interval_ns;
		uint64_t now = hedge_clock_monotonic_ns();
		if (next > now)
			hedge_sleep_ns(next - now);
	}
	printf("final count=%d\n", count);
	return status;
}
