/*
 * bad_hypercall.c - makes malformed hypercalls, which the monitor must refuse.
 *
 * Usage: bad_hypercall ptr|len|abi|port|align|read|mmio
 * Each one must end the VM with the monitor's reason, never crash the host.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "hedge.h"
#include "hedge_abi.h"

static volatile uintptr_t zero_address = 0;

static void raw_out(uint16_t port, uint32_t value)
{
	__asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"(port) : "memory");
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "ptr";
	struct hedge_hc_console_write args = {.hdr.abi_version = HEDGE_ABI_VERSION,
					      .stream = HEDGE_STREAM_STDOUT};
	uint16_t port = HEDGE_HC_PORT_BASE + HEDGE_HC_CONSOLE_WRITE;
	printf("making a bad hypercall: %s\n", how);
	fflush(stdout);

	if (strcmp(how, "ptr") == 0) {
		/* The argument struct itself lies beyond guest memory. */
		raw_out(port, (uint32_t)(hedge_mem_size() + 4096));
	} else if (strcmp(how, "len") == 0) {
		/* A buffer that starts inside memory and runs past its end. */
		args.data = hedge_mem_size() - 16;
		args.len = 4096;
		raw_out(port, (uint32_t)(uintptr_t)&args);
	} else if (strcmp(how, "abi") == 0) {
		args.hdr.abi_version = HEDGE_ABI_VERSION + 41;
		args.data = (uint64_t)(uintptr_t) "x";
		args.len = 1;
		raw_out(port, (uint32_t)(uintptr_t)&args);
	} else if (strcmp(how, "port") == 0) {
		raw_out(HEDGE_HC_PORT_BASE + 200, (uint32_t)(uintptr_t)&args);
	} else if (strcmp(how, "align") == 0) {
		raw_out(port, (uint32_t)(uintptr_t)&args + 1);
	} else if (strcmp(how, "read") == 0) {
		uint32_t v;
		__asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port));
		(void)v;
	} else if (strcmp(how, "mmio") == 0) {
		/* Point the unused NULL page at a guest-physical address past RAM. */
		volatile uint64_t *pt0 = (uint64_t *)(uintptr_t)HEDGE_PT0_ADDR;
		pt0[0] = (hedge_mem_size() + (64ull << 20)) | 7;
		(void)*(volatile uint32_t *)(uintptr_t)zero_address;
	}
	printf("still running after a bad hypercall\n");
	return 0;
}
