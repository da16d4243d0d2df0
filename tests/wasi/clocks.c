/* clocks - clock_res_get / clock_time_get for the four preview1 clocks.
 * The host passes its own realtime in HOST_EPOCH (seconds since 1970, taken
 * just before the run); the guest's realtime must be close to it. */
#include <time.h>

#include "check.h"

static const struct {
	__wasi_clockid_t id;
	const char *name;
} clocks[] = {
    {__WASI_CLOCKID_REALTIME, "realtime"},
    {__WASI_CLOCKID_MONOTONIC, "monotonic"},
    {__WASI_CLOCKID_PROCESS_CPUTIME_ID, "process_cputime"},
    {__WASI_CLOCKID_THREAD_CPUTIME_ID, "thread_cputime"},
};

static volatile uint64_t sink;

/* spin: burns CPU until the monotonic clock has advanced by NS. */
static void spin(uint64_t ns)
{
	__wasi_timestamp_t start = now_ns(__WASI_CLOCKID_MONOTONIC);
	while (now_ns(__WASI_CLOCKID_MONOTONIC) - start < ns)
		for (int i = 0; i < 1000; i++)
			sink += (uint64_t)i * i;
}

int main(void)
{
	check_init();
	for (size_t c = 0; c < sizeof clocks / sizeof clocks[0]; c++) {
		__wasi_timestamp_t res = 0, t = 0;
		if (CHECK_OK(__wasi_clock_res_get(clocks[c].id, &res)))
			check(res > 0 && res <= 1000000000ull,
			      "%s resolution %llu ns is in (0, 1 s]", clocks[c].name,
			      (unsigned long long)res);
		if (CHECK_OK(__wasi_clock_time_get(clocks[c].id, 1, &t)))
			check(t > 0, "%s time %llu is non-zero", clocks[c].name,
			      (unsigned long long)t);
	}
	__wasi_timestamp_t t;
	CHECK_ERR(__wasi_clock_res_get(99, &t), __WASI_ERRNO_INVAL);
	CHECK_ERR(__wasi_clock_time_get(99, 1, &t), __WASI_ERRNO_INVAL);

	/* Monotonic never goes backwards and advances while we wait. */
	__wasi_timestamp_t prev = now_ns(__WASI_CLOCKID_MONOTONIC), first = prev;
	int backwards = 0;
	for (int i = 0; i < 100000; i++) {
		__wasi_timestamp_t now = now_ns(__WASI_CLOCKID_MONOTONIC);
		if (now < prev)
			backwards++;
		prev = now;
	}
	check(backwards == 0, "monotonic never decreased over 100000 reads (%d times)", backwards);
	check(prev > first, "monotonic advanced over 100000 reads (%llu ns)",
	      (unsigned long long)(prev - first));

	/* CPU-time clocks advance while we compute; one thread's no faster than real time. */
	__wasi_timestamp_t m0 = now_ns(__WASI_CLOCKID_MONOTONIC);
	__wasi_timestamp_t p0 = now_ns(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
	__wasi_timestamp_t th0 = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID);
	spin(50 * 1000 * 1000);
	__wasi_timestamp_t m1 = now_ns(__WASI_CLOCKID_MONOTONIC);
	__wasi_timestamp_t p1 = now_ns(__WASI_CLOCKID_PROCESS_CPUTIME_ID);
	__wasi_timestamp_t th1 = now_ns(__WASI_CLOCKID_THREAD_CPUTIME_ID);
	double mono_ms = (double)(m1 - m0) / 1e6;
	double proc_ms = (double)(p1 - p0) / 1e6;
	double thr_ms = (double)(th1 - th0) / 1e6;
	check(mono_ms >= 50, "monotonic: 50 ms of spinning took %.1f ms", mono_ms);
	/* A host process's CPU time counts all its threads, so no upper bound. */
	check(p1 > p0 && proc_ms >= 10,
	      "process cputime advanced %.1f ms during %.1f ms of spinning", proc_ms, mono_ms);
	check(th1 > th0 && thr_ms >= 10 && thr_ms <= mono_ms * 1.1 + 5,
	      "thread cputime advanced %.1f ms during %.1f ms of spinning", thr_ms, mono_ms);

	/* Realtime agrees with the host's. */
	__wasi_timestamp_t rt = now_ns(__WASI_CLOCKID_REALTIME);
	check(rt > 1577836800ull * 1000000000ull, "realtime %llu s is after 2020",
	      (unsigned long long)(rt / 1000000000ull));
	const char *host = getenv("HOST_EPOCH");
	if (check(host != NULL, "HOST_EPOCH is set (the host's time before the run)")) {
		double host_s = strtod(host, NULL);
		double guest_s = (double)rt / 1e9;
		/* The lower bound allows for clock granularity; the upper one for
		 * the runtime compiling the module before it starts. */
		check(guest_s > host_s - 2 && guest_s < host_s + 120,
		      "realtime %.3f is within [-2, +120] s of the host's %.3f (diff %.3f s)",
		      guest_s, host_s, guest_s - host_s);
	}

	/* wasi-libc's clocks are the same clocks. */
	struct timespec ts;
	check(clock_gettime(CLOCK_REALTIME, &ts) == 0 &&
	          (uint64_t)ts.tv_sec >= rt / 1000000000ull &&
	          (uint64_t)ts.tv_sec <= rt / 1000000000ull + 5,
	      "clock_gettime(CLOCK_REALTIME) agrees with clock_time_get");
	__wasi_timestamp_t before = now_ns(__WASI_CLOCKID_MONOTONIC);
	check(clock_gettime(CLOCK_MONOTONIC, &ts) == 0, "clock_gettime(CLOCK_MONOTONIC)");
	uint64_t libc_mono = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	check(libc_mono >= before && libc_mono - before < 1000000000ull,
	      "clock_gettime(CLOCK_MONOTONIC) agrees with clock_time_get");
	time_t now = time(NULL);
	check(now > 1577836800 && (uint64_t)now <= rt / 1000000000ull + 5, "time() is %lld",
	      (long long)now);
	return check_done("clocks");
}
