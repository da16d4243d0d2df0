/* poll - poll_oneoff with relative and absolute clock subscriptions (the
 * time that passes is at least what was asked for), several clocks at once
 * (the earliest fires), and fd subscriptions on a regular file, which are
 * always ready.  Also wasi-libc's sleeps, which are built on poll_oneoff.
 *
 * Node.js 20 treats an absolute deadline as a relative timeout and sleeps
 * for decades; `poll.wasm --no-abstime` skips those checks so the rest can
 * be compared against Node.js.  It also returns early from a 1 ms timeout. */
#include <time.h>
#include <unistd.h>

#include "check.h"

#define MS 1000000ull

static __wasi_subscription_t clock_sub(__wasi_userdata_t ud, __wasi_clockid_t id,
                                       __wasi_timestamp_t timeout, __wasi_subclockflags_t flags)
{
	__wasi_subscription_t s;
	memset(&s, 0, sizeof s);
	s.userdata = ud;
	s.u.tag = __WASI_EVENTTYPE_CLOCK;
	s.u.u.clock.id = id;
	s.u.u.clock.timeout = timeout;
	s.u.u.clock.precision = 0;
	s.u.u.clock.flags = flags;
	return s;
}

static __wasi_subscription_t fd_sub(__wasi_userdata_t ud, __wasi_eventtype_t type, __wasi_fd_t fd)
{
	__wasi_subscription_t s;
	memset(&s, 0, sizeof s);
	s.userdata = ud;
	s.u.tag = type;
	if (type == __WASI_EVENTTYPE_FD_READ)
		s.u.u.fd_read.file_descriptor = fd;
	else
		s.u.u.fd_write.file_descriptor = fd;
	return s;
}

/* sleep_via_poll: one clock subscription; returns the elapsed monotonic ns. */
static uint64_t poll_clock(__wasi_clockid_t id, __wasi_timestamp_t timeout,
                           __wasi_subclockflags_t flags, const char *what)
{
	__wasi_subscription_t s = clock_sub(0x1234, id, timeout, flags);
	__wasi_event_t ev[2];
	memset(ev, 0xee, sizeof ev);
	__wasi_size_t n = 99;
	__wasi_timestamp_t t0 = now_ns(__WASI_CLOCKID_MONOTONIC);
	__wasi_errno_t e = __wasi_poll_oneoff(&s, ev, 1, &n);
	uint64_t elapsed = now_ns(__WASI_CLOCKID_MONOTONIC) - t0;
	check(e == 0 && n == 1, "%s: poll_oneoff -> %s, %u event(s)", what, errno_name(e),
	      (unsigned)n);
	if (e == 0 && n == 1)
		check(ev[0].userdata == 0x1234 && ev[0].type == __WASI_EVENTTYPE_CLOCK &&
		          ev[0].error == 0,
		      "%s: the event is the clock's (userdata 0x%llx, type %u, error %s)", what,
		      (unsigned long long)ev[0].userdata, ev[0].type, errno_name(ev[0].error));
	return elapsed;
}

int main(int argc, char **argv)
{
	check_init();
	int abstime = !(argc > 1 && strcmp(argv[1], "--no-abstime") == 0);
	__wasi_fd_t root = sandbox_fd();
	uint64_t el;

	/* Relative timeouts on the monotonic and realtime clocks. */
	el = poll_clock(__WASI_CLOCKID_MONOTONIC, 50 * MS, 0, "relative 50 ms");
	check(el >= 50 * MS && el < 5000 * MS, "relative 50 ms: %.2f ms passed", (double)el / 1e6);
	el = poll_clock(__WASI_CLOCKID_MONOTONIC, 1 * MS, 0, "relative 1 ms");
	check(el >= 1 * MS && el < 5000 * MS, "relative 1 ms: %.3f ms passed", (double)el / 1e6);
	el = poll_clock(__WASI_CLOCKID_MONOTONIC, 0, 0, "relative 0");
	check(el < 1000 * MS, "relative 0: returns at once (%.3f ms)", (double)el / 1e6);
	el = poll_clock(__WASI_CLOCKID_REALTIME, 20 * MS, 0, "realtime relative 20 ms");
	check(el >= 19 * MS && el < 5000 * MS, "realtime relative 20 ms: %.2f ms passed",
	      (double)el / 1e6);

	/* Absolute deadlines. */
	__wasi_timestamp_t start = now_ns(__WASI_CLOCKID_MONOTONIC);
	if (!abstime)
		note("--no-abstime: absolute deadlines not checked");
	else {
		poll_clock(__WASI_CLOCKID_MONOTONIC, start + 30 * MS,
		           __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME, "absolute now+30 ms");
		el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
		check(el >= 30 * MS && el < 5000 * MS, "absolute now+30 ms: %.2f ms passed",
		      (double)el / 1e6);
		el = poll_clock(__WASI_CLOCKID_MONOTONIC, start,
		                __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME, "absolute, past");
		check(el < 1000 * MS, "absolute deadline in the past returns at once (%.3f ms)",
		      (double)el / 1e6);
		__wasi_timestamp_t rstart = now_ns(__WASI_CLOCKID_REALTIME);
		start = now_ns(__WASI_CLOCKID_MONOTONIC);
		poll_clock(__WASI_CLOCKID_REALTIME, rstart + 25 * MS,
		           __WASI_SUBCLOCKFLAGS_SUBSCRIPTION_CLOCK_ABSTIME,
		           "realtime absolute now+25 ms");
		el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
		check(el >= 24 * MS && el < 5000 * MS,
		      "realtime absolute now+25 ms: %.2f ms passed", (double)el / 1e6);
	}

	/* Two clocks: the earlier one fires, and not the later. */
	__wasi_subscription_t two[2] = {clock_sub(1, __WASI_CLOCKID_MONOTONIC, 2000 * MS, 0),
	                                clock_sub(2, __WASI_CLOCKID_MONOTONIC, 20 * MS, 0)};
	__wasi_event_t ev[4];
	__wasi_size_t n = 0;
	start = now_ns(__WASI_CLOCKID_MONOTONIC);
	if (CHECK_OK(__wasi_poll_oneoff(two, ev, 2, &n))) {
		el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
		check(n == 1 && ev[0].userdata == 2,
		      "of 20 ms and 2 s, the 20 ms clock fired alone (%u events, first %llu)",
		      (unsigned)n, (unsigned long long)ev[0].userdata);
		check(el >= 20 * MS && el < 1500 * MS, "... after %.2f ms", (double)el / 1e6);
	}

	/* A regular file is always ready for reading and writing. */
	__wasi_fd_t fd;
	if (CHECK_OK(open_at(root, "hello.txt", 0, RIGHTS_RO, 0, &fd))) {
		__wasi_subscription_t subs[2] = {
		    fd_sub(7, __WASI_EVENTTYPE_FD_READ, fd),
		    clock_sub(8, __WASI_CLOCKID_MONOTONIC, 3000 * MS, 0)};
		memset(ev, 0, sizeof ev);
		start = now_ns(__WASI_CLOCKID_MONOTONIC);
		if (CHECK_OK(__wasi_poll_oneoff(subs, ev, 2, &n))) {
			el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
			check(el < 1000 * MS, "fd_read on a file returns at once (%.3f ms)",
			      (double)el / 1e6);
			check(n >= 1 && ev[0].userdata == 7 &&
			          ev[0].type == __WASI_EVENTTYPE_FD_READ && ev[0].error == 0,
			      "the event is the fd_read one (%u events, userdata %llu, type %u, "
			      "error %s)",
			      (unsigned)n, (unsigned long long)ev[0].userdata, ev[0].type,
			      errno_name(ev[0].error));
			/* The spec: nbytes is the number of bytes available for reading. */
			check(ev[0].fd_readwrite.nbytes == strlen(HELLO_TXT),
			      "fd_read event: nbytes %llu, the bytes left to read (%zu)",
			      (unsigned long long)ev[0].fd_readwrite.nbytes, strlen(HELLO_TXT));
		}
		CHECK_OK(__wasi_fd_close(fd));
	}
	if (CHECK_OK(open_at(root, "poll.tmp", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RIGHTS_RW,
	                     0, &fd))) {
		__wasi_subscription_t subs[3] = {
		    fd_sub(10, __WASI_EVENTTYPE_FD_WRITE, fd),
		    fd_sub(11, __WASI_EVENTTYPE_FD_READ, fd),
		    clock_sub(12, __WASI_CLOCKID_MONOTONIC, 3000 * MS, 0)};
		memset(ev, 0, sizeof ev);
		start = now_ns(__WASI_CLOCKID_MONOTONIC);
		if (CHECK_OK(__wasi_poll_oneoff(subs, ev, 3, &n))) {
			el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
			int w = 0, r = 0, c = 0;
			for (__wasi_size_t i = 0; i < n && i < 4; i++) {
				w += ev[i].userdata == 10 && ev[i].error == 0;
				r += ev[i].userdata == 11 && ev[i].error == 0;
				c += ev[i].userdata == 12;
			}
			check(el < 1000 * MS && w == 1 && r == 1 && c == 0,
			      "fd_write and fd_read on a file are both ready at once (%u events, "
			      "%.3f ms)",
			      (unsigned)n, (double)el / 1e6);
		}
		CHECK_OK(__wasi_fd_close(fd));
		CHECK_OK(__wasi_path_unlink_file(root, "poll.tmp"));
	}

	/* A bad fd is reported in its event (or by the call). */
	__wasi_subscription_t bad[2] = {fd_sub(20, __WASI_EVENTTYPE_FD_READ, 999),
	                                clock_sub(21, __WASI_CLOCKID_MONOTONIC, 3000 * MS, 0)};
	memset(ev, 0, sizeof ev);
	start = now_ns(__WASI_CLOCKID_MONOTONIC);
	__wasi_errno_t e = __wasi_poll_oneoff(bad, ev, 2, &n);
	el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
	check((e == __WASI_ERRNO_BADF) || (e == 0 && n >= 1 && ev[0].userdata == 20 &&
	                                   ev[0].error == __WASI_ERRNO_BADF && el < 1000 * MS),
	      "fd_read on a bad fd: EBADF in the event or from the call (call %s, %u events, event "
	      "error %s)",
	      errno_name(e), (unsigned)n, errno_name(ev[0].error));

	/* Nothing to wait for is an error, not a hang. */
	CHECK_ERR(__wasi_poll_oneoff(two, ev, 0, &n), __WASI_ERRNO_INVAL);

	/* wasi-libc's sleeps. */
	start = now_ns(__WASI_CLOCKID_MONOTONIC);
	struct timespec req = {0, 30 * 1000 * 1000};
	check(nanosleep(&req, NULL) == 0, "nanosleep(30 ms)");
	el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
	check(el >= 30 * MS, "nanosleep(30 ms) slept %.2f ms", (double)el / 1e6);
	start = now_ns(__WASI_CLOCKID_MONOTONIC);
	check(usleep(20000) == 0, "usleep(20000)");
	el = now_ns(__WASI_CLOCKID_MONOTONIC) - start;
	check(el >= 20 * MS, "usleep(20 ms) slept %.2f ms", (double)el / 1e6);
	return check_done("poll");
}
