/*
 * wasi_poll.c - poll_oneoff: waits for clock deadlines and descriptor
 * readiness on one vCPU with no threads.
 *
 * Files and directories are always ready, and so are stdout and stderr;
 * stdin and sockets can make the VM wait.  Every clock is turned into a
 * deadline on the monotonic clock once, at the start of the call.
 *
 * Sockets make poll_oneoff the app's event loop: a call that watches one
 * first runs one turn of the network loop without blocking, which sends
 * everything the app queued since the last call and takes in what arrived
 * (one VM exit for the whole batch), then looks at readiness.  With nothing
 * ready it blocks inside the network loop until a frame arrives, a TCP
 * timer is due or the nearest clock deadline passes.  (Leaving the output
 * to that blocking wait saves the first exit but measured slower with one
 * connection: the send then comes just before the vCPU sleeps, and every
 * request pays the host's wake-up; sent earlier, the next request is often
 * there before the guest asks.)  Without sockets, stdin is waited for
 * through the poll hypercall, which also carries the nearest deadline as
 * its timeout.
 */
#include "wasi_internal.h"

#include "hedge.h"
#include <stdlib.h>
#include <string.h>

/* Subscriptions copied onto the stack below this count, to the heap above. */
#define POLL_STACK_SUBS     16
/* The longest single wait; a longer one is several in a row. */
#define POLL_MAX_WAIT_NS    (3600ull * 1000000000ull)
/* Watching sockets and stdin at once: the network wait is cut to this to look at stdin. */
#define POLL_STDIN_SLICE_NS (10ull * 1000000ull)

struct poll_clocks {
	uint64_t monotonic, wall, cpu; /* all read once, when the call began */
};

enum readiness {
	NOT_READY,
	READY,
	WAITS_FOR_STDIN,
};

struct poll_outcome {
	enum readiness readiness;
	uint16_t error;
	uint16_t flags; /* WASI_EVENTRW_HANGUP */
	uint64_t nbytes;
	uint64_t deadline; /* clock subscriptions: on the monotonic clock */
	int is_clock;
	int is_socket;
};

static uint64_t add_saturating(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* When, on the monotonic clock, a clock subscription fires. */
static int clock_deadline(const uint8_t *sub, const struct poll_clocks *start, uint64_t *deadline)
{
	uint32_t clock_id = wasi_load_u32(sub + WASI_SUB_CLOCK_ID);
	uint64_t timeout = wasi_load_u64(sub + WASI_SUB_CLOCK_TIMEOUT);
	uint16_t flags = wasi_load_u16(sub + WASI_SUB_CLOCK_FLAGS);
	uint64_t now;
	switch (clock_id) {
	case WASI_CLOCK_REALTIME:
		now = start->wall;
		break;
	case WASI_CLOCK_MONOTONIC:
		now = start->monotonic;
		break;
	case WASI_CLOCK_PROCESS_CPUTIME:
	case WASI_CLOCK_THREAD_CPUTIME:
		/* The vCPU only idles inside this call, so CPU time ~ elapsed time. */
		now = start->cpu;
		break;
	default:
		return WASI_EINVAL;
	}
	uint64_t relative = timeout;
	if (flags & WASI_SUBCLOCK_ABSTIME)
		relative = timeout > now ? timeout - now : 0;
	*deadline = add_saturating(start->monotonic, relative);
	return 0;
}

static void fd_outcome(wasi_t *wasi, uint8_t type, uint32_t fd, struct poll_outcome *out)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	out->readiness = READY;
	if (!entry) {
		out->error = WASI_EBADF;
		return;
	}
	switch (entry->kind) {
	case WASI_FD_STDIN:
		if (type == WASI_EVENTTYPE_FD_READ)
			out->readiness = WAITS_FOR_STDIN;
		else
			out->error = WASI_EBADF;
		return;
	case WASI_FD_CONSOLE:
		if (type != WASI_EVENTTYPE_FD_WRITE)
			out->error = WASI_EBADF;
		return;
	case WASI_FD_NODE:
		if (type == WASI_EVENTTYPE_FD_READ) {
			uint64_t size = vfs_node_size(entry->node);
			out->nbytes = size > entry->offset ? size - entry->offset : 0;
		}
		return;
	case WASI_FD_SOCKET: {
		/* wasi_sock.c is linked whenever a socket can exist. */
		struct wasi_sock_readiness r;
		wasi_sock_readiness(entry, type, &r);
		out->is_socket = 1;
		out->readiness = r.ready ? READY : NOT_READY;
		out->error = r.error;
		out->flags = r.flags;
		out->nbytes = r.nbytes;
		return;
	}
	default:
		out->error = WASI_EBADF;
		return;
	}
}

static void outcome(wasi_t *wasi, const uint8_t *sub, const struct poll_clocks *start,
                    struct poll_outcome *out)
{
	memset(out, 0, sizeof(*out));
	uint8_t type = sub[WASI_SUB_TAG];
	switch (type) {
	case WASI_EVENTTYPE_CLOCK:
		out->is_clock = 1;
		if (clock_deadline(sub, start, &out->deadline) != 0) {
			out->readiness = READY;
			out->error = WASI_EINVAL;
		}
		return;
	case WASI_EVENTTYPE_FD_READ:
	case WASI_EVENTTYPE_FD_WRITE:
		fd_outcome(wasi, type, wasi_load_u32(sub + WASI_SUB_FD), out);
		return;
	default:
		out->readiness = READY;
		out->error = WASI_EINVAL;
		return;
	}
}

static int is_ready(const struct poll_outcome *o, uint64_t now, int stdin_ready)
{
	if (o->is_clock && !o->error)
		return o->deadline <= now;
	if (o->readiness == WAITS_FOR_STDIN)
		return stdin_ready;
	return o->readiness == READY;
}

uint32_t Z_wasi_snapshot_preview1Z_poll_oneoff(wasi_t *wasi, uint32_t in_ptr, uint32_t out_ptr,
                                               uint32_t nsubscriptions, uint32_t nevents_ptr)
{
	if (nsubscriptions == 0)
		return WASI_EINVAL; /* it would wait forever */
	uint64_t in_size = (uint64_t)nsubscriptions * WASI_SUBSCRIPTION_SIZE;
	const uint8_t *in = wasi_mem(wasi, in_ptr, in_size);
	uint8_t *events = wasi_mem(wasi, out_ptr, (uint64_t)nsubscriptions * WASI_EVENT_SIZE);
	uint8_t *nevents_out = wasi_mem(wasi, nevents_ptr, 4);
	if (!in || !events || !nevents_out)
		return WASI_EFAULT;
	/* A copy, because the events written may overlap the subscriptions. */
	uint8_t on_stack[POLL_STACK_SUBS * WASI_SUBSCRIPTION_SIZE];
	uint8_t *subs = on_stack;
	if (nsubscriptions > POLL_STACK_SUBS) {
		subs = malloc(in_size);
		if (!subs)
			return WASI_ENOMEM;
	}
	memcpy(subs, in, in_size);

	struct poll_clocks start = {hedge_clock_monotonic_ns(), hedge_clock_wall_ns(),
	                            hedge_clock_cpu_ns()};
	uint64_t earliest = UINT64_MAX;
	int wants_stdin = 0, wants_socket = 0;
	struct poll_outcome o;
	for (uint32_t i = 0; i < nsubscriptions; i++) {
		const uint8_t *sub = subs + (uint64_t)i * WASI_SUBSCRIPTION_SIZE;
		uint8_t tag = sub[WASI_SUB_TAG];
		if (tag == WASI_EVENTTYPE_CLOCK) {
			outcome(wasi, sub, &start, &o);
			if (!o.error && o.deadline < earliest)
				earliest = o.deadline;
		} else if (tag == WASI_EVENTTYPE_FD_READ || tag == WASI_EVENTTYPE_FD_WRITE) {
			/* Only what kinds are watched: readiness is asked for below. */
			struct wasi_fd *entry = wasi_fd_get(wasi, wasi_load_u32(sub + WASI_SUB_FD));
			wants_stdin |=
			    entry && entry->kind == WASI_FD_STDIN && tag == WASI_EVENTTYPE_FD_READ;
			wants_socket |= entry && entry->kind == WASI_FD_SOCKET;
		}
	}
	/* Sends what the app queued and takes in what arrived, before looking. */
	if (wants_socket)
		wasi_sock_run_network(0);

	int stdin_ready = wants_stdin && (hedge_poll(HEDGE_POLL_STDIN, 0) & HEDGE_POLL_STDIN);
	uint64_t now = wants_socket ? hedge_clock_monotonic_ns() : start.monotonic;
	for (;;) {
		int any = 0;
		for (uint32_t i = 0; i < nsubscriptions && !any; i++) {
			outcome(wasi, subs + (uint64_t)i * WASI_SUBSCRIPTION_SIZE, &start, &o);
			any = is_ready(&o, now, stdin_ready);
		}
		if (any)
			break;
		uint64_t wait = earliest > now ? earliest - now : 0;
		if (wait > POLL_MAX_WAIT_NS)
			wait = POLL_MAX_WAIT_NS;
		if (wants_socket) {
			/* The network loop waits for frames only: stdin between slices. */
			if (wants_stdin && wait > POLL_STDIN_SLICE_NS)
				wait = POLL_STDIN_SLICE_NS;
			wasi_sock_run_network(wait);
			if (wants_stdin)
				stdin_ready =
				    (hedge_poll(HEDGE_POLL_STDIN, 0) & HEDGE_POLL_STDIN) != 0;
		} else if (wants_stdin) {
			stdin_ready = (hedge_poll(HEDGE_POLL_STDIN, wait) & HEDGE_POLL_STDIN) != 0;
		} else {
			hedge_sleep_ns(wait);
		}
		now = hedge_clock_monotonic_ns();
	}

	uint32_t count = 0;
	for (uint32_t i = 0; i < nsubscriptions; i++) {
		const uint8_t *sub = subs + (uint64_t)i * WASI_SUBSCRIPTION_SIZE;
		outcome(wasi, sub, &start, &o);
		if (!is_ready(&o, now, stdin_ready))
			continue;
		uint8_t event[WASI_EVENT_SIZE] = {0};
		memcpy(event + WASI_EVENT_USERDATA, sub + WASI_SUB_USERDATA, 8);
		wasi_store_u16(event + WASI_EVENT_ERROR, o.error);
		event[WASI_EVENT_TYPE] = sub[WASI_SUB_TAG];
		if (!o.is_clock) {
			wasi_store_u64(event + WASI_EVENT_NBYTES, o.nbytes);
			wasi_store_u16(event + WASI_EVENT_FLAGS, o.flags);
		}
		memcpy(events + (uint64_t)count * WASI_EVENT_SIZE, event, sizeof(event));
		count++;
	}
	wasi_store_u32(nevents_out, count);
	if (subs != on_stack)
		free(subs);
	return 0;
}
