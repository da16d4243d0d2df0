/*
 * clock.c - guest clocks read from the TSC without leaving the VM.
 *
 * A hypercall costs microseconds; rdtsc costs nanoseconds.  At boot the TSC
 * is pinned to the monitor's monotonic clock once, after which time is
 * computed locally from the TSC frequency the monitor reported.  Without a
 * known frequency every read falls back to a hypercall.
 */
#include <stdint.h>

#include "hedge.h"
#include "runtime.h"

static uint64_t tsc_base; /* TSC value at mono_base_ns */
static uint64_t mono_base_ns;
static uint64_t ns_per_tick_q32; /* nanoseconds per TSC tick, 32.32 fixed point */

static uint64_t hc_clock(unsigned nr)
{
	struct hedge_hc_clock args = {0};
	hypercall(nr, &args);
	return args.ns;
}

void clock_init(void)
{
	uint64_t khz = boot_info->tsc_khz;
	if (khz == 0)
		return;
	ns_per_tick_q32 = ((uint64_t)1000000 << 32) / khz;
	mono_base_ns = hc_clock(HEDGE_HC_CLOCK_MONOTONIC);
	tsc_base = rdtsc();
}

uint64_t hedge_clock_monotonic_ns(void)
{
	if (ns_per_tick_q32 == 0)
		return hc_clock(HEDGE_HC_CLOCK_MONOTONIC);
	uint64_t ticks = rdtsc() - tsc_base;
	return mono_base_ns + (uint64_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32);
}

uint64_t hedge_clock_wall_ns(void)
{
	if (ns_per_tick_q32 == 0)
		return hc_clock(HEDGE_HC_CLOCK_WALL);
	return boot_info->wall_epoch_ns + hedge_clock_monotonic_ns();
}

uint64_t hedge_clock_cpu_ns(void)
{
	return hedge_clock_monotonic_ns();
}

uint64_t hedge_poll(uint64_t interest, uint64_t timeout_ns)
{
	struct hedge_hc_poll args = {.timeout_ns = timeout_ns, .interest = interest};
	hypercall(HEDGE_HC_POLL, &args);
	return args.ready;
}

void hedge_sleep_ns(uint64_t ns)
{
	uint64_t now = hedge_clock_monotonic_ns();
	uint64_t deadline = now + ns;
	/* The monitor's sleep and our clock are different clocks: loop on ours. */
	while (now < deadline) {
		hedge_poll(0, deadline - now);
		now = hedge_clock_monotonic_ns();
	}
}

void hedge_yield(void)
{
	hedge_poll(0, 0);
}

int hedge_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len > 0) {
		uintptr_t pa;
		size_t chunk = mm_phys_span((uintptr_t)p,
		                            len > HEDGE_RANDOM_MAX ? HEDGE_RANDOM_MAX : len, &pa);
		if (chunk == 0)
			return -1;
		struct hedge_hc_random args = {.buf = pa, .len = chunk};
		hypercall(HEDGE_HC_RANDOM, &args);
		if (args.hdr.ret != 0)
			return -1;
		p += chunk;
		len -= chunk;
	}
	return 0;
}
