/*
 * exit.c - the ways a guest ends: exit, abort, failed assertions, panics.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "hedge.h"
#include "hedge_heap.h"
#include "runtime.h"

#define ATEXIT_MAX 32

static void (*atexit_fns[ATEXIT_MAX])(void);
static int atexit_count;

int atexit(void (*fn)(void))
{
	if (atexit_count == ATEXIT_MAX)
		return -1;
	atexit_fns[atexit_count++] = fn;
	return 0;
}

_Noreturn void hedge_exit(int status)
{
	console_flush();
	struct hedge_hc_exit args = {.status = status};
	for (;;)
		hypercall(HEDGE_HC_EXIT, &args);
}

_Noreturn void exit(int status)
{
	while (atexit_count > 0)
		atexit_fns[--atexit_count]();
	hedge_exit(status);
}

_Noreturn void _Exit(int status)
{
	hedge_exit(status);
}

static _Noreturn void abort_with(const char *msg, size_t len)
{
	console_flush();
	struct hedge_hc_abort args = {.msg = (uint64_t)(uintptr_t)msg, .len = len};
	for (;;)
		hypercall(HEDGE_HC_ABORT, &args);
}

_Noreturn void hedge_abort(const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	abort_with(msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
}

_Noreturn void abort(void)
{
	hedge_abort("abort() called");
}

_Noreturn void __assert_fail(const char *expr, const char *file, unsigned int line,
                             const char *func)
{
	hedge_abort("assertion failed: %s (%s:%u, %s)", expr, file, line, func);
}

_Noreturn void heap_corruption(const char *what, void *ptr)
{
	hedge_abort("heap corruption: %s at %p", what, ptr);
}
