/*
 * vm.c - ending a VM and the host clocks the monitor reports to guests.
 */
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

void vm_stop(struct vm *vm, int status, const char *fmt, ...)
{
	if (vm->stopped)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(vm->reason, sizeof(vm->reason), fmt, ap);
	va_end(ap);
	vm->stopped = 1;
	vm->exit_status = status;
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t host_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

uint64_t host_realtime_ns(void)
{
	return clock_ns(CLOCK_REALTIME);
}
