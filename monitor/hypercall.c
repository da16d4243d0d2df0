/*
 * hypercall.c - decoding and execution of guest hypercalls.
 *
 * hc_decode is the guest/monitor boundary: it reads the argument struct the
 * guest points at, checks its ABI version, and turns every embedded guest
 * address into a host pointer through gmem_at.  hc_execute only ever sees
 * checked pointers.
 */
#include "hypercall.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "net_tap.h"
#include "status.h"
#include "vm.h"

static const size_t arg_size[HEDGE_HC_COUNT] = {
    [HEDGE_HC_CONSOLE_WRITE] = sizeof(struct hedge_hc_console_write),
    [HEDGE_HC_CLOCK_MONOTONIC] = sizeof(struct hedge_hc_clock),
    [HEDGE_HC_CLOCK_WALL] = sizeof(struct hedge_hc_clock),
    [HEDGE_HC_EXIT] = sizeof(struct hedge_hc_exit),
    [HEDGE_HC_ABORT] = sizeof(struct hedge_hc_abort),
    [HEDGE_HC_POLL] = sizeof(struct hedge_hc_poll),
    [HEDGE_HC_RANDOM] = sizeof(struct hedge_hc_random),
    [HEDGE_HC_CONSOLE_READ] = sizeof(struct hedge_hc_console_read),
    [HEDGE_HC_NET_INFO] = sizeof(struct hedge_hc_net_info),
    [HEDGE_HC_NET_SETUP] = sizeof(struct hedge_hc_net_setup),
    [HEDGE_HC_NET_KICK] = sizeof(struct hedge_hc_net_kick),
};

static const char *const hc_name[HEDGE_HC_COUNT] = {
    [HEDGE_HC_CONSOLE_WRITE] = "console_write",
    [HEDGE_HC_CLOCK_MONOTONIC] = "clock_monotonic",
    [HEDGE_HC_CLOCK_WALL] = "clock_wall",
    [HEDGE_HC_EXIT] = "exit",
    [HEDGE_HC_ABORT] = "abort",
    [HEDGE_HC_POLL] = "poll",
    [HEDGE_HC_RANDOM] = "random",
    [HEDGE_HC_CONSOLE_READ] = "console_read",
    [HEDGE_HC_NET_INFO] = "net_info",
    [HEDGE_HC_NET_SETUP] = "net_setup",
    [HEDGE_HC_NET_KICK] = "net_kick",
};

static int reject(char *err, size_t errlen, int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return status;
}

/* Translates a buffer named inside an argument struct; max bounds its length. */
static int decode_buf(const struct guest_mem *mem, uint64_t gpa, uint64_t len, uint64_t max,
                      struct hc_request *req, char *err, size_t errlen)
{
	if (len > max)
		return reject(err, errlen, ST_BAD_HYPERCALL,
		              "bad hypercall %s: length %llu exceeds %llu", hc_name[req->nr],
		              (unsigned long long)len, (unsigned long long)max);
	req->u.buf.ptr = gmem_at(mem, gpa, len);
	req->u.buf.len = len;
	if (!req->u.buf.ptr)
		return reject(err, errlen, ST_BAD_HYPERCALL,
		              "bad hypercall %s: buffer 0x%llx+%llu is outside guest memory",
		              hc_name[req->nr], (unsigned long long)gpa, (unsigned long long)len);
	return 0;
}

int hc_decode(const struct guest_mem *mem, uint16_t port, uint32_t value, struct hc_request *req,
              char *err, size_t errlen)
{
	memset(req, 0, sizeof(*req));
	if (port < HEDGE_HC_PORT_BASE || port >= HEDGE_HC_PORT_BASE + HEDGE_HC_COUNT)
		return reject(err, errlen, ST_BAD_HYPERCALL, "bad hypercall: unknown port 0x%x",
		              port);
	req->nr = port - HEDGE_HC_PORT_BASE;
	if (value % 8 != 0)
		return reject(err, errlen, ST_BAD_HYPERCALL,
		              "bad hypercall %s: argument address 0x%x is not 8-byte aligned",
		              hc_name[req->nr], value);
	void *args = gmem_at(mem, value, arg_size[req->nr]);
	if (!args)
		return reject(err, errlen, ST_BAD_HYPERCALL,
		              "bad hypercall %s: argument address 0x%x is outside guest memory",
		              hc_name[req->nr], value);
	req->hdr = args;
	if (req->hdr->abi_version != HEDGE_ABI_VERSION)
		return reject(err, errlen, ST_BAD_ABI,
		              "bad hypercall %s: guest ABI version %u, monitor speaks %u",
		              hc_name[req->nr], req->hdr->abi_version, HEDGE_ABI_VERSION);

	switch (req->nr) {
	case HEDGE_HC_CONSOLE_WRITE: {
		struct hedge_hc_console_write *a = args;
		if (a->stream != HEDGE_STREAM_STDOUT && a->stream != HEDGE_STREAM_STDERR)
			return reject(err, errlen, ST_BAD_HYPERCALL,
			              "bad hypercall console_write: unknown stream %u", a->stream);
		req->stream = a->stream;
		return decode_buf(mem, a->data, a->len, mem->size, req, err, errlen);
	}
	case HEDGE_HC_CONSOLE_READ: {
		struct hedge_hc_console_read *a = args;
		return decode_buf(mem, a->buf, a->len, mem->size, req, err, errlen);
	}
	case HEDGE_HC_ABORT: {
		struct hedge_hc_abort *a = args;
		/* A too-long message is cut, not refused: the guest is already dying. */
		uint64_t len = a->len > HEDGE_ABORT_MSG_MAX ? HEDGE_ABORT_MSG_MAX : a->len;
		return decode_buf(mem, a->msg, len, HEDGE_ABORT_MSG_MAX, req, err, errlen);
	}
	case HEDGE_HC_RANDOM: {
		struct hedge_hc_random *a = args;
		return decode_buf(mem, a->buf, a->len, HEDGE_RANDOM_MAX, req, err, errlen);
	}
	case HEDGE_HC_EXIT:
		req->u.status = ((struct hedge_hc_exit *)args)->status;
		return 0;
	case HEDGE_HC_POLL: {
		struct hedge_hc_poll *a = args;
		if (a->interest & ~(uint64_t)(HEDGE_EVENT_STDIN | HEDGE_EVENT_NET))
			return reject(err, errlen, ST_BAD_HYPERCALL,
			              "bad hypercall poll: unknown events 0x%llx",
			              (unsigned long long)a->interest);
		req->u.poll.timeout_ns = a->timeout_ns;
		req->u.poll.interest = a->interest;
		return 0;
	}
	case HEDGE_HC_NET_SETUP: {
		struct hedge_hc_net_setup *a = args;
		const uint64_t size = sizeof(struct hedge_net_ring);
		if (a->tx_ring % 8 || a->rx_ring % 8)
			return reject(err, errlen, ST_BAD_HYPERCALL,
			              "bad hypercall net_setup: rings must be 8-byte aligned");
		req->u.net.tx = gmem_at(mem, a->tx_ring, size);
		req->u.net.rx = gmem_at(mem, a->rx_ring, size);
		if (!req->u.net.tx || !req->u.net.rx)
			return reject(err, errlen, ST_BAD_HYPERCALL,
			              "bad hypercall net_setup: a ring is outside guest memory");
		if (a->tx_ring < a->rx_ring + size && a->rx_ring < a->tx_ring + size)
			return reject(err, errlen, ST_BAD_HYPERCALL,
			              "bad hypercall net_setup: the rings overlap");
		return 0;
	}
	case HEDGE_HC_CLOCK_MONOTONIC:
	case HEDGE_HC_CLOCK_WALL:
	case HEDGE_HC_NET_INFO:
	case HEDGE_HC_NET_KICK:
	case HEDGE_HC_COUNT:
		return 0;
	}
	return 0;
}

/* The guest-visible error for a failed console read or write. */
static int32_t console_error(int err)
{
	switch (err) {
	case EPIPE:
		return HEDGE_EPIPE;
	case EBADF:
		return HEDGE_EBADF;
	default:
		return HEDGE_EIO;
	}
}

/* Returns 0, or the error the guest sees: a reader that went away is EPIPE. */
/*
 * A pause interrupting a write blocked on a full pipe parks here only while
 * nothing of it is written: a copy made then (snapshot, migration) issues
 * the whole write again, which must not repeat what this VM already wrote.
 */
static int32_t write_all(struct vm *vm, int fd, const uint8_t *p, uint64_t len)
{
	int written = 0;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			if (!written && vm->interrupted)
				vm->interrupted(vm);
			if (vm->stopped)
				return 0;
			continue;
		}
		if (n < 0)
			return console_error(errno);
		if (n == 0)
			return HEDGE_EIO;
		p += n;
		len -= (uint64_t)n;
		written = 1;
	}
	return 0;
}

/* Copies an abort message into one printable line. */
static void sanitize_line(char *dst, size_t dstlen, const uint8_t *src, uint64_t len)
{
	size_t n = 0;
	for (uint64_t i = 0; i < len && n + 1 < dstlen; i++) {
		uint8_t c = src[i];
		if (c == '\n' && i + 1 == len)
			break;
		dst[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	dst[n] = '\0';
}

/* Moves frames both ways; a corrupt ring stops the VM. */
static int pump_net(struct vm *vm)
{
	char err[128];
	if (net_pump(vm->net, err, sizeof(err)) == 0)
		return 0;
	vm_stop(vm, ST_BAD_HYPERCALL, "%s", err);
	return -1;
}

static void do_net_info(const struct vm *vm, struct hedge_hc_net_info *a)
{
	a->present = vm->net != NULL;
	if (!vm->net)
		return;
	a->mtu = 1500;
	memcpy(a->mac, vm->net->mac, 6);
	a->ipv4 = vm->net->ipv4;
	a->netmask = vm->net->netmask;
	a->gateway = vm->net->gateway;
}

static void do_poll(struct vm *vm, struct hedge_hc_poll *a, uint64_t timeout_ns, uint64_t interest)
{
	/* Capped so the timespec cannot overflow; the guest loops on its own clock. */
	const uint64_t max_ns = 3600ull * 1000000000ull;
	if (timeout_ns > max_ns)
		timeout_ns = max_ns;
	struct timespec ts = {.tv_sec = timeout_ns / 1000000000ull,
	                      .tv_nsec = timeout_ns % 1000000000ull};
	struct pollfd fds[2];
	nfds_t nfds = 0;
	int stdin_slot = -1, net_slot = -1;
	int want_stdin = (interest & HEDGE_EVENT_STDIN) != 0;
	int want_net = (interest & HEDGE_EVENT_NET) && vm->net;
	a->ready = 0;
	/* A guest that only waits still wakes its monitor for the next announcement. */
	if (vm->net) {
		net_announce_due(vm->net);
		uint64_t announce_ns = net_announce_wait_ns(vm->net, host_monotonic_ns());
		if (announce_ns < timeout_ns) {
			timeout_ns = announce_ns;
			ts = (struct timespec){.tv_sec = timeout_ns / 1000000000ull,
			                       .tv_nsec = timeout_ns % 1000000000ull};
		}
	}
	/* A closed stdin is at end of file: always readable, never blocking. */
	if (want_stdin && vm->stdin_fd < 0)
		a->ready |= HEDGE_EVENT_STDIN;
	if (want_net) {
		if (pump_net(vm))
			return;
		if (net_rx_pending(vm->net))
			a->ready |= HEDGE_EVENT_NET;
	}
	if (a->ready)
		return;
	if (want_stdin) {
		stdin_slot = (int)nfds;
		fds[nfds++] = (struct pollfd){.fd = vm->stdin_fd, .events = POLLIN};
	}
	if (want_net) {
		net_slot = (int)nfds;
		fds[nfds++] = (struct pollfd){.fd = vm->net->tap_fd, .events = POLLIN};
	}
	if (nfds == 0 && timeout_ns == 0)
		return;
	if (ppoll(fds, nfds, &ts, NULL) <= 0)
		return;
	if (stdin_slot >= 0 && (fds[stdin_slot].revents & (POLLIN | POLLHUP | POLLERR)))
		a->ready |= HEDGE_EVENT_STDIN;
	if (net_slot >= 0 && (fds[net_slot].revents & POLLIN) && pump_net(vm) == 0 &&
	    net_rx_pending(vm->net))
		a->ready |= HEDGE_EVENT_NET;
}

static void do_console_read(struct vm *vm, struct hedge_hc_console_read *a, uint8_t *buf,
                            uint64_t len)
{
	a->nread = 0;
	if (vm->stdin_fd < 0 || len == 0)
		return;
	for (;;) {
		ssize_t n = read(vm->stdin_fd, buf, len);
		if (n < 0 && errno == EINTR) {
			/* Maybe a pause: the VM may have moved or ended by the time it is over. */
			if (vm->interrupted)
				vm->interrupted(vm);
			if (vm->stopped)
				return;
			continue;
		}
		if (n < 0)
			a->hdr.ret = console_error(errno);
		else
			a->nread = (uint64_t)n;
		return;
	}
}

void hc_execute(struct vm *vm, const struct hc_request *req)
{
	struct hedge_hc_header *hdr = req->hdr;
	hdr->ret = HEDGE_EOK;
	switch (req->nr) {
	case HEDGE_HC_CONSOLE_WRITE:
		if (vm->console_fd >= 0)
			hdr->ret = write_all(vm,
			                     req->stream == HEDGE_STREAM_STDERR ? vm->console_err_fd
			                                                        : vm->console_fd,
			                     req->u.buf.ptr, req->u.buf.len);
		break;
	case HEDGE_HC_CONSOLE_READ:
		do_console_read(vm, (struct hedge_hc_console_read *)hdr, req->u.buf.ptr,
		                req->u.buf.len);
		break;
	case HEDGE_HC_CLOCK_MONOTONIC:
		((struct hedge_hc_clock *)hdr)->ns = host_monotonic_ns() - vm->mono_base_ns;
		break;
	case HEDGE_HC_CLOCK_WALL:
		((struct hedge_hc_clock *)hdr)->ns = host_realtime_ns();
		break;
	case HEDGE_HC_EXIT:
		vm_stop(vm, req->u.status & 0xff, "%s", "");
		break;
	case HEDGE_HC_ABORT: {
		char line[512];
		sanitize_line(line, sizeof(line), req->u.buf.ptr, req->u.buf.len);
		vm_stop(vm, ST_GUEST_ABORT, "guest aborted: %s", line);
		break;
	}
	case HEDGE_HC_POLL:
		do_poll(vm, (struct hedge_hc_poll *)hdr, req->u.poll.timeout_ns,
		        req->u.poll.interest);
		break;
	case HEDGE_HC_RANDOM: {
		uint64_t done = 0;
		while (done < req->u.buf.len) {
			ssize_t n = getrandom(req->u.buf.ptr + done, req->u.buf.len - done, 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				hdr->ret = HEDGE_EINVAL;
				break;
			}
			done += (uint64_t)n;
		}
		break;
	}
	case HEDGE_HC_NET_INFO:
		do_net_info(vm, (struct hedge_hc_net_info *)hdr);
		break;
	case HEDGE_HC_NET_SETUP:
		if (!vm->net) {
			hdr->ret = HEDGE_EINVAL;
			break;
		}
		vm->net->tx = req->u.net.tx;
		vm->net->rx = req->u.net.rx;
		break;
	case HEDGE_HC_NET_KICK: {
		struct hedge_hc_net_kick *a = (struct hedge_hc_net_kick *)hdr;
		a->ready = 0;
		if (!vm->net) {
			hdr->ret = HEDGE_EINVAL;
			break;
		}
		if (pump_net(vm) == 0 && net_rx_pending(vm->net))
			a->ready = HEDGE_EVENT_NET;
		break;
	}
	case HEDGE_HC_COUNT:
		break;
	}
}
