/*
 * wasi_proc.c - the process-level WASI calls: arguments, environment,
 * clocks, randomness, exit, signals and yielding.
 */
#include "wasi_internal.h"

#include "hedge.h"
#include <stdlib.h>
#include <string.h>

/* Counts a NULL-terminated string array and the bytes of its strings with NULs. */
static void measure_strings(char **strings, uint32_t *count, uint64_t *bytes)
{
	*count = 0;
	*bytes = 0;
	for (; strings && strings[*count]; (*count)++)
		*bytes += strlen(strings[*count]) + 1;
}

static uint32_t sizes_get(wasi_t *wasi, char **strings, uint32_t count_ptr, uint32_t size_ptr)
{
	uint8_t *count_out = wasi_mem(wasi, count_ptr, 4);
	uint8_t *size_out = wasi_mem(wasi, size_ptr, 4);
	if (!count_out || !size_out)
		return WASI_EFAULT;
	uint32_t count;
	uint64_t bytes;
	measure_strings(strings, &count, &bytes);
	if (bytes > UINT32_MAX)
		return WASI_EOVERFLOW;
	wasi_store_u32(count_out, count);
	wasi_store_u32(size_out, (uint32_t)bytes);
	return 0;
}

/* Writes the strings into buf_ptr and their wasm addresses into array_ptr. */
static uint32_t strings_get(wasi_t *wasi, char **strings, uint32_t array_ptr, uint32_t buf_ptr)
{
	uint32_t count;
	uint64_t bytes;
	measure_strings(strings, &count, &bytes);
	uint8_t *array = wasi_mem(wasi, array_ptr, (uint64_t)count * 4);
	uint8_t *buf = wasi_mem(wasi, buf_ptr, bytes);
	if (!array || !buf)
		return WASI_EFAULT;
	uint32_t offset = 0;
	for (uint32_t i = 0; i < count; i++) {
		size_t len = strlen(strings[i]) + 1;
		memcpy(buf + offset, strings[i], len);
		wasi_store_u32(array + (uint64_t)i * 4, buf_ptr + offset);
		offset += (uint32_t)len;
	}
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_args_sizes_get(wasi_t *wasi, uint32_t argc_ptr,
                                                  uint32_t size_ptr)
{
	return sizes_get(wasi, hedge_argv(), argc_ptr, size_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_args_get(wasi_t *wasi, uint32_t argv_ptr, uint32_t buf_ptr)
{
	return strings_get(wasi, hedge_argv(), argv_ptr, buf_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_sizes_get(wasi_t *wasi, uint32_t count_ptr,
                                                     uint32_t size_ptr)
{
	return sizes_get(wasi, hedge_environ(), count_ptr, size_ptr);
}

uint32_t Z_wasi_snapshot_preview1Z_environ_get(wasi_t *wasi, uint32_t environ_ptr, uint32_t buf_ptr)
{
	return strings_get(wasi, hedge_environ(), environ_ptr, buf_ptr);
}

/* The CPU clocks are the guest's: one process, one thread, one vCPU. */
static int clock_read(uint32_t clock_id, uint64_t *now)
{
	switch (clock_id) {
	case WASI_CLOCK_REALTIME:
		*now = hedge_clock_wall_ns();
		return 0;
	case WASI_CLOCK_MONOTONIC:
		*now = hedge_clock_monotonic_ns();
		return 0;
	case WASI_CLOCK_PROCESS_CPUTIME:
	case WASI_CLOCK_THREAD_CPUTIME:
		*now = hedge_clock_cpu_ns();
		return 0;
	default:
		return WASI_EINVAL;
	}
}

uint32_t Z_wasi_snapshot_preview1Z_clock_res_get(wasi_t *wasi, uint32_t clock_id,
                                                 uint32_t resolution_ptr)
{
	uint8_t *out = wasi_mem(wasi, resolution_ptr, 8);
	if (!out)
		return WASI_EFAULT;
	uint64_t ignored;
	if (clock_read(clock_id, &ignored) != 0)
		return WASI_EINVAL;
	/* Every clock is derived from the TSC, counted in whole nanoseconds. */
	wasi_store_u64(out, 1);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_clock_time_get(wasi_t *wasi, uint32_t clock_id,
                                                  uint64_t precision, uint32_t time_ptr)
{
	(void)precision; /* reading the TSC is already as precise as it gets */
	uint8_t *out = wasi_mem(wasi, time_ptr, 8);
	if (!out)
		return WASI_EFAULT;
	uint64_t now;
	if (clock_read(clock_id, &now) != 0)
		return WASI_EINVAL;
	wasi_store_u64(out, now);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_random_get(wasi_t *wasi, uint32_t buf_ptr, uint32_t buf_len)
{
	uint8_t *buf = wasi_mem(wasi, buf_ptr, buf_len);
	if (!buf)
		return WASI_EFAULT;
	if (buf_len && hedge_random(buf, buf_len) != 0)
		return WASI_EIO;
	return 0;
}

void Z_wasi_snapshot_preview1Z_proc_exit(wasi_t *wasi, uint32_t code)
{
	(void)wasi;
	exit((int)code);
}

static const char *const signal_names[WASI_SIGMAX + 1] = {
    "",        "SIGHUP",    "SIGINT",  "SIGQUIT",  "SIGILL",  "SIGTRAP", "SIGABRT", "SIGBUS",
    "SIGFPE",  "SIGKILL",   "SIGUSR1", "SIGSEGV",  "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM",
    "SIGCHLD", "SIGCONT",   "SIGSTOP", "SIGTSTP",  "SIGTTIN", "SIGTTOU", "SIGURG",  "SIGXCPU",
    "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGPOLL", "SIGPWR",  "SIGSYS",
};

/*
 * There are no signal handlers: a signal whose default action ends a
 * process ends the VM as aborted; those ignored by default are ignored;
 * stopping has no meaning without a shell.
 */
uint32_t Z_wasi_snapshot_preview1Z_proc_raise(wasi_t *wasi, uint32_t signal)
{
	(void)wasi;
	switch (signal) {
	case 0:
	case WASI_SIGCHLD:
	case WASI_SIGCONT:
	case WASI_SIGURG:
	case WASI_SIGWINCH:
		return 0;
	case WASI_SIGSTOP:
	case WASI_SIGTSTP:
	case WASI_SIGTTIN:
	case WASI_SIGTTOU:
		return WASI_ENOSYS;
	default:
		if (signal > WASI_SIGMAX)
			return WASI_EINVAL;
		hedge_abort("wasm app raised %s", signal_names[signal]);
	}
}

uint32_t Z_wasi_snapshot_preview1Z_sched_yield(wasi_t *wasi)
{
	(void)wasi;
	hedge_yield();
	return 0;
}
