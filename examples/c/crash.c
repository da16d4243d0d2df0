/*
 * crash.c - faults on purpose, to show the runtime's panic path.
 *
 * Usage: crash null|div0|stack|ud|abort|assert|triple
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge_abi.h"

static volatile int zero = 0;

/* Recurses until the stack runs out; `zero` keeps the compiler from seeing that. */
static int recurse(int depth)
{
	volatile char frame[1024];
	frame[0] = (char)depth;
	if (depth < 0 && zero)
		return 0;
	return recurse(depth + 1) + frame[0];
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "null";
	printf("crashing: %s\n", how);
	if (strcmp(how, "null") == 0)
		return *(volatile int *)(uintptr_t)zero;
	if (strcmp(how, "div0") == 0)
		return 10 / zero;
	if (strcmp(how, "stack") == 0)
		return recurse(0);
	if (strcmp(how, "ud") == 0)
		__asm__ volatile("ud2");
	if (strcmp(how, "abort") == 0)
		abort();
	if (strcmp(how, "assert") == 0)
		assert(zero == 1);
	if (strcmp(how, "triple") == 0) {
		/* With every IDT gate gone, the fault escalates to a triple fault. */
		memset((void *)(uintptr_t)HEDGE_IDT_ADDR, 0, 256 * 16);
		__asm__ volatile("ud2");
	}
	printf("unknown crash kind\n");
	return 3;
}
