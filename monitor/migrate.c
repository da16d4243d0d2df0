/*
 * migrate.c - live migration of a VM over TCP.
 *
 * The stream reuses the snapshot format: the target gets the pages of guest
 * memory and, last, a snapshot prefix (header and state sections, see
 * snapfile.h) whose memory section lists no pages, checked by the same
 * snap_peek/snap_decode a snapshot file goes through and loaded by the same
 * snapshot_restore, clocks included.
 *
 * Source to target, frames of {u32 type, u32 crc, u64 length} + payload,
 * the CRC-32C covering the frame header (crc zero) and the payload:
 *   HELLO  magic "HEDGEMIG", u32 protocol, u32 hypercall ABI, u32 snapshot
 *          format, u32 0, u64 guest memory size, u64 0
 *   PAGES  u64 gpa, u32 npages (1..256), u32 0, the pages' bytes
 *   STATE  the snapshot prefix
 *   FRAMES the network frames that reached the source's TAP while the VM
 *          was paused (mig_frames.h), sent after READY
 *   DELTA  pages sent before, as the bytes that changed since (mig_delta.h)
 * Target to source, one text line each: "OK" after HELLO, "READY" after
 * STATE once the VM is built, or "ERR reason" at any point, after which it
 * closes.  Source to target after READY: FRAMES, then "GO".  Only then
 * does the target put the frames in the guest's receive ring and run the
 * VM, and it answers "RUNNING"; only on that does the source end its own.
 * A stream that breaks before GO leaves the source running and the target
 * gone.  One that breaks after GO but before RUNNING arrives leaves the
 * source unable to know whether the target has the VM: it keeps it paused
 * (never lost, never running twice) and says so.
 *
 * The source copies memory while the guest runs: the first round sends
 * every page that may hold data, later rounds the pages KVM's dirty log
 * names, each round once the target has acknowledged the last, until the
 * rest would go in about a millisecond or stops shrinking (see precopy);
 * then it pauses the vCPU and sends the rest.
 * KVM logs only the guest's writes, not the monitor's (hypercall results,
 * received frames), so the final round also checks each page sent before
 * against the CRC it had then.
 */
#include "migrate.h"
#include "errmsg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/kvm.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* struct tcp_info with tcpi_notsent_bytes; glibc's is older */
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crc32c.h"
#include "hedge_abi.h"
#include "le.h"
#include "mig_delta.h"
#include "mig_frames.h"
#include "snapshot.h"
#include "status.h"

#define MIG_MAGIC     "HEDGEMIG"
#define MIG_PROTOCOL  4u /* 2: the target confirms GO with RUNNING; 3: FRAMES; 4: DELTA */
#define MIG_HELLO     1u
#define MIG_PAGES     2u
#define MIG_STATE     3u
#define MIG_FRAMES    4u
#define MIG_DELTA     5u
#define CACHE_MAX     16384u /* pages remembered for deltas: 64 MiB at most */
#define FRAME_HEADER  16u
#define HELLO_SIZE    40u
#define PAGES_HEADER  16u
#define STATE_MAX     (16u << 20) /* a prefix without extents is far smaller */
#define LINE_MAX_LEN  512u
#define IO_TIMEOUT_MS 15000 /* a peer silent this long is gone */
#define MAX_ROUNDS    12
#define FEW_PAGES     16           /* dirty pages left that a paused round sends at once */
#define TARGET_NS     1000000ull   /* a final round predicted to take less is short enough */
#define DRAIN_POLL_NS 200000       /* how often to look whether the target has everything */
#define PROGRESS_NS   250000000ull /* at most this long between progress reports */
#define TICK_NS       10000000ull  /* and between ticks (migrate_hooks) */
#define MIN_MEM       (2ull << 20)
#define MAX_MEM       ((uint64_t)HEDGE_MAX_MEM_GIB << 30)
#define PAGE          SNAP_PAGE_SIZE

static int64_t ms_left(uint64_t deadline_ns)
{
	uint64_t now = host_monotonic_ns();
	return now >= deadline_ns ? 0 : (int64_t)((deadline_ns - now) / 1000000) + 1;
}

/* Waits for fd to be ready for events until deadline; 0, or -1 on timeout or error. */
static int wait_fd(int fd, short events, uint64_t deadline_ns)
{
	for (;;) {
		int64_t left = ms_left(deadline_ns);
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = {.fd = fd, .events = events};
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		int n = ppoll(&p, 1, &ts, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n > 0)
			return 0;
	}
}

/* Sockets are non-blocking; every transfer waits with ppoll, so none can hang. */
static int send_all(int fd, const void *buf, size_t len, int more, int timeout_ms)
{
	const uint8_t *p = buf;
	uint64_t deadline = host_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT | (more ? MSG_MORE : 0));
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline))
				return -1;
			continue;
		}
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		deadline = host_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	}
	return 0;
}

static int recv_all(int fd, void *buf, size_t len, int timeout_ms)
{
	uint8_t *p = buf;
	uint64_t deadline = host_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLIN, deadline))
				return -1;
			continue;
		}
		if (n == 0)
			errno = ECONNRESET;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
		deadline = host_monotonic_ns() + (uint64_t)timeout_ms * 1000000;
	}
	return 0;
}

/* Reads one line (without its newline) of at most LINE_MAX_LEN bytes; byte by byte, it is short. */
static int recv_line(int fd, char *line, size_t cap, int timeout_ms)
{
	size_t n = 0;
	for (;;) {
		char ch;
		if (recv_all(fd, &ch, 1, timeout_ms))
			return -1;
		if (ch == '\n')
			break;
		if (n + 1 >= cap || n >= LINE_MAX_LEN) {
			errno = EPROTO;
			return -1;
		}
		/* The peer is untrusted: keep the reason printable, one line. */
		line[n++] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
	}
	line[n] = '\0';
	return 0;
}

static int send_frame(int fd, uint32_t type, const void *a, size_t alen, const void *b, size_t blen,
                      uint64_t *bytes)
{
	uint8_t h[FRAME_HEADER];
	put32(h, type);
	put32(h + 4, 0);
	put64(h + 8, alen + blen);
	uint32_t crc = crc32c(0, h, sizeof(h));
	crc = crc32c(crc, a, alen);
	if (blen)
		crc = crc32c(crc, b, blen);
	put32(h + 4, crc);
	if (send_all(fd, h, sizeof(h), 1, IO_TIMEOUT_MS) ||
	    send_all(fd, a, alen, blen > 0, IO_TIMEOUT_MS) ||
	    (blen && send_all(fd, b, blen, 0, IO_TIMEOUT_MS)))
		return -1;
	*bytes += sizeof(h) + alen + blen;
	return 0;
}

int migrate_parse_addr(const char *spec, uint32_t *ip, uint16_t *port)
{
	if (strncmp(spec, "tcp:", 4) != 0)
		return -1;
	const char *host = spec + 4, *colon = strrchr(host, ':');
	char buf[INET_ADDRSTRLEN];
	if (!colon || (size_t)(colon - host) >= sizeof(buf) || colon == host)
		return -1;
	memcpy(buf, host, (size_t)(colon - host));
	buf[colon - host] = '\0';
	struct in_addr a;
	if (inet_pton(AF_INET, buf, &a) != 1)
		return -1;
	char *end;
	unsigned long p = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || p == 0 || p > 65535)
		return -1;
	*ip = a.s_addr;
	*port = (uint16_t)p;
	return 0;
}

/* ---- source ---- */

struct source {
	struct vm *vm;
	int fd;
	uint64_t pages;     /* guest pages */
	uint64_t *sent;     /* bit per page: the target has a copy */
	uint32_t *sent_crc; /* the CRC of that copy */
	uint64_t *pending;  /* bit per page: dirty since it was last sent */
	uint64_t *log;      /* KVM_GET_DIRTY_LOG's bitmap */
	uint8_t *copy;      /* one run of pages, copied out before it is checksummed */
	int logging;        /* the memory slot logs dirty pages */
	uint64_t bytes, pages_sent;
	uint8_t *frames_buf; /* MIG_FRAMES_BYTES */
	/*
	 * The last copy sent of up to cache_slots pages, slot pg % cache_slots,
	 * which is what the target has: a page sent again goes as a delta
	 * against it (NULL: no memory for it, pages go whole).
	 */
	uint8_t *cache;
	uint64_t *cache_pg; /* the page each slot holds, or UINT64_MAX */
	uint64_t cache_slots;
	uint8_t *delta; /* the DELTA message being filled, MIG_DELTA_BYTES */
	size_t delta_len;
	uint32_t delta_count;
	uint64_t delta_pages;
	const struct migrate_hooks *hooks;
	struct migrate_progress progress;
	uint64_t progress_at; /* when it was last reported */
	uint64_t tick_at;     /* when the tick hook last ran */
	int paused;           /* the vCPU is parked: no ticks, the downtime runs */
	char *err;
	size_t errlen;
};

static int bit(const uint64_t *map, uint64_t pg)
{
	return (int)((map[pg / 64] >> (pg % 64)) & 1);
}

static int page_is_zero(const uint8_t *p)
{
	for (size_t off = 0; off < PAGE; off += 64) {
		uint64_t w[8];
		memcpy(w, p + off, sizeof(w));
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
			return 0;
	}
	return 1;
}

/* Reports where the migration is: at once if phase is given, else if it is time. */
static void report(struct source *s, const char *phase)
{
	uint64_t now = host_monotonic_ns();
	if (s->hooks->tick && !s->paused && now - s->tick_at >= TICK_NS) {
		s->tick_at = now;
		s->hooks->tick(s->hooks->ctx);
	}
	if (!s->hooks->progress || (!phase && now - s->progress_at < PROGRESS_NS))
		return;
	if (phase)
		s->progress.phase = phase;
	s->progress.bytes = s->bytes;
	s->progress_at = now;
	s->hooks->progress(s->hooks->ctx, &s->progress);
}

/* Remembers the copy of page pg just sent (for deltas later). */
static void remember(struct source *s, uint64_t pg, const uint8_t *copy)
{
	if (!s->cache)
		return;
	uint64_t slot = pg % s->cache_slots;
	s->cache_pg[slot] = pg;
	memcpy(s->cache + slot * PAGE, copy, PAGE);
}

static void mark_sent(struct source *s, uint64_t pg, uint32_t crc)
{
	s->sent_crc[pg] = crc;
	s->sent[pg / 64] |= 1ull << (pg % 64);
	s->pending[pg / 64] &= ~(1ull << (pg % 64));
}

static int flush_deltas(struct source *s)
{
	if (!s->delta_count)
		return 0;
	put32(s->delta, s->delta_count);
	put32(s->delta + 4, 0);
	if (send_frame(s->fd, MIG_DELTA, s->delta, s->delta_len, NULL, 0, &s->bytes))
		return set_err(s->err, s->errlen, "the connection to the target broke: %s",
		               strerror(errno));
	s->delta_count = 0;
	s->delta_len = 8;
	report(s, NULL);
	return 0;
}

/*
 * Sends page pg as a delta against the copy the target has, if it is
 * remembered and the delta is short: 1 if it went, 0 if it must go whole,
 * -1 on a broken connection.
 */
static int send_delta(struct source *s, uint64_t pg)
{
	if (!s->cache || !bit(s->sent, pg) || s->cache_pg[pg % s->cache_slots] != pg)
		return 0;
	uint8_t *rec = s->delta + s->delta_len;
	/* The guest may be writing it: work on one copy, as send_run does. */
	memcpy(s->copy, s->vm->mem.base + pg * PAGE, PAGE);
	int n = mig_delta_encode(s->cache + (pg % s->cache_slots) * PAGE, s->copy,
	                         rec + MIG_DELTA_RECORD);
	if (n < 0)
		return 0;
	uint32_t crc = crc32c(0, s->copy, PAGE);
	put64(rec, pg * PAGE);
	put32(rec + 8, crc);
	put32(rec + 12, (uint32_t)n);
	s->delta_len += MIG_DELTA_RECORD + (size_t)n;
	s->delta_count++;
	mark_sent(s, pg, crc);
	remember(s, pg, s->copy);
	s->pages_sent++;
	s->delta_pages++;
	if (s->delta_count == MIG_DELTA_RECORDS && flush_deltas(s))
		return -1;
	return 1;
}

static int send_run(struct source *s, uint64_t first, uint64_t n)
{
	uint8_t h[PAGES_HEADER];
	put64(h, first * PAGE);
	put32(h + 8, (uint32_t)n);
	put32(h + 12, 0);
	/*
	 * The guest runs during pre-copy and may write these pages at any moment:
	 * copy them first, so the checksums and the bytes sent agree.  A page it
	 * writes after the copy is dirty again and goes in a later round.
	 */
	memcpy(s->copy, s->vm->mem.base + first * PAGE, n * PAGE);
	const uint8_t *data = s->copy;
	for (uint64_t i = 0; i < n; i++) {
		mark_sent(s, first + i, crc32c(0, data + i * PAGE, PAGE));
		remember(s, first + i, data + i * PAGE);
	}
	if (send_frame(s->fd, MIG_PAGES, h, sizeof(h), data, n * PAGE, &s->bytes))
		return set_err(s->err, s->errlen, "the connection to the target broke: %s",
		               strerror(errno));
	s->pages_sent += n;
	report(s, NULL);
	return 0;
}

/* Sends the pages need() picks, in runs of at most SNAP_EXTENT_PAGES. */
static int send_pages(struct source *s, int (*need)(struct source *, uint64_t),
                      const uint64_t *cand)
{
	uint64_t run_start = 0, run_len = 0;
	for (uint64_t pg = 0; pg <= s->pages; pg++) {
		int want = 0;
		if (pg < s->pages && (!cand || bit(cand, pg) || bit(s->pending, pg)))
			want = need(s, pg);
		if (want) {
			int sent = send_delta(s, pg);
			if (sent < 0)
				return -1;
			want = !sent;
		}
		if (want && run_len && run_start + run_len == pg && run_len < SNAP_EXTENT_PAGES) {
			run_len++;
			continue;
		}
		if (run_len && send_run(s, run_start, run_len))
			return -1;
		run_len = 0;
		if (want) {
			run_start = pg;
			run_len = 1;
		}
	}
	return flush_deltas(s);
}

/* First round: every page that may hold data; the target's memory starts zeroed. */
static int need_first(struct source *s, uint64_t pg)
{
	return !page_is_zero(s->vm->mem.base + pg * PAGE);
}

/* Later rounds: what the guest wrote since. */
static int need_dirty(struct source *s, uint64_t pg)
{
	return bit(s->pending, pg);
}

/*
 * The paused round: what the guest wrote, plus what the monitor may have
 * written behind KVM's back - a page whose CRC changed since it was sent,
 * or a new non-zero page.
 */
static int need_final(struct source *s, uint64_t pg)
{
	const uint8_t *p = s->vm->mem.base + pg * PAGE;
	if (bit(s->pending, pg))
		return bit(s->sent, pg) || !page_is_zero(p);
	if (bit(s->sent, pg))
		return crc32c(0, p, PAGE) != s->sent_crc[pg];
	return !page_is_zero(p);
}

static int set_logging(struct source *s, int on)
{
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .flags = on ? KVM_MEM_LOG_DIRTY_PAGES : 0,
	    .guest_phys_addr = 0,
	    .memory_size = s->vm->mem.size,
	    .userspace_addr = (uint64_t)(uintptr_t)s->vm->mem.base,
	};
	return ioctl(s->vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);
}

/* Adds the pages written since the last call to pending; returns how many, or -1. */
static int64_t fetch_dirty(struct source *s)
{
	uint64_t words = (s->pages + 63) / 64, count = 0;
	memset(s->log, 0, words * 8);
	struct kvm_dirty_log dl = {.slot = 0, .dirty_bitmap = s->log};
	if (ioctl(s->vm->vm_fd, KVM_GET_DIRTY_LOG, &dl) < 0)
		return -1;
	for (uint64_t w = 0; w < words; w++) {
		s->pending[w] |= s->log[w];
		count += (uint64_t)__builtin_popcountll(s->pending[w]);
	}
	return (int64_t)count;
}

static int connect_target(const char *to, char *err, size_t errlen)
{
	uint32_t ip;
	uint16_t port;
	if (migrate_parse_addr(to, &ip, &port))
		return set_err(err, errlen, "bad target address '%s' (want tcp:A.B.C.D:PORT)", to);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return set_err(err, errlen, "socket: %s", strerror(errno));
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = ip};
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc < 0 && errno == EINPROGRESS) {
		int soerr = 0;
		socklen_t len = sizeof(soerr);
		rc = wait_fd(fd, POLLOUT, host_monotonic_ns() + 5000000000ull);
		if (rc == 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr) {
			errno = soerr;
			rc = -1;
		}
	}
	if (rc < 0) {
		set_err(err, errlen, "cannot connect to %s: %s", to, strerror(errno));
		close(fd);
		return -1;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Reads the target's answer; "ERR reason" becomes the migration's reason. */
static int expect_line(struct source *s, const char *want, int timeout_ms)
{
	char line[LINE_MAX_LEN + 1];
	if (recv_line(s->fd, line, sizeof(line), timeout_ms))
		return set_err(s->err, s->errlen, "no answer from the target: %s", strerror(errno));
	if (strncmp(line, "ERR ", 4) == 0)
		return set_err(s->err, s->errlen, "the target refuses: %s", line + 4);
	if (strcmp(line, want) != 0)
		return set_err(s->err, s->errlen, "the target answers nonsense (expected %s)",
		               want);
	return 0;
}

/*
 * When a send fails the target has usually closed after sending its
 * reason: read it, briefly, so the user sees why rather than "broken pipe".
 */
static void fetch_reason(struct source *s)
{
	char line[LINE_MAX_LEN + 1];
	if (recv_line(s->fd, line, sizeof(line), 500) == 0 && strncmp(line, "ERR ", 4) == 0)
		snprintf(s->err, s->errlen, "the target refuses: %s", line + 4);
}

/*
 * The monitor writes the network rings (received frames, ring indices)
 * behind KVM's dirty log, and a guest that receives traffic has them
 * rewritten all the time.  Each round therefore also takes the ring pages
 * whose contents changed since they were sent; otherwise all of them would
 * wait for the paused round (the whole receive ring, with steady traffic).
 */
static void mark_ring_writes(struct source *s)
{
	const struct net_dev *net = s->vm->net;
	if (!net)
		return;
	const uint8_t *rings[2] = {(const uint8_t *)__atomic_load_n(&net->rx, __ATOMIC_ACQUIRE),
	                           (const uint8_t *)__atomic_load_n(&net->tx, __ATOMIC_ACQUIRE)};
	const uint8_t *base = s->vm->mem.base;
	for (int i = 0; i < 2; i++) {
		if (!rings[i] || rings[i] < base ||
		    (uint64_t)(rings[i] - base) + sizeof(struct hedge_net_ring) > s->vm->mem.size)
			continue;
		uint64_t first = (uint64_t)(rings[i] - base) / PAGE;
		uint64_t last =
		    ((uint64_t)(rings[i] - base) + sizeof(struct hedge_net_ring) - 1) / PAGE;
		for (uint64_t pg = first; pg <= last; pg++)
			if (bit(s->sent, pg) && !bit(s->pending, pg) &&
			    crc32c(0, base + pg * PAGE, PAGE) != s->sent_crc[pg])
				s->pending[pg / 64] |= 1ull << (pg % 64);
	}
}

/*
 * Waits until the target has acknowledged everything sent: send() returns
 * once data is in the socket's buffer, and on a slow link that buffer (and
 * the queues below it) hold seconds of data.  A round is only over when its
 * pages have arrived - otherwise the next dirty log covers too short a time
 * and the paused round waits behind the backlog.  0, or -1 if nothing moves
 * for IO_TIMEOUT_MS.  Without TCP_INFO it returns at once.
 */
static int drain(struct source *s)
{
	uint64_t deadline = host_monotonic_ns() + (uint64_t)IO_TIMEOUT_MS * 1000000;
	uint64_t acked = 0;
	for (;;) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);
		memset(&ti, 0, sizeof(ti));
		if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0 ||
		    len < offsetof(struct tcp_info, tcpi_notsent_bytes) + 4)
			return 0;
		if (ti.tcpi_unacked == 0 && ti.tcpi_notsent_bytes == 0)
			return 0;
		uint64_t now = host_monotonic_ns();
		if (ti.tcpi_bytes_acked != acked) {
			acked = ti.tcpi_bytes_acked;
			deadline = now + (uint64_t)IO_TIMEOUT_MS * 1000000;
		} else if (now >= deadline) {
			errno = ETIMEDOUT;
			return set_err(s->err, s->errlen, "the target stopped reading");
		}
		/* A peer that closed shows up here as readable. */
		struct pollfd p = {.fd = s->fd, .events = POLLIN};
		struct timespec ts = {.tv_nsec = DRAIN_POLL_NS};
		if (ppoll(&p, 1, &ts, NULL) > 0)
			return set_err(s->err, s->errlen, "the target closed the connection early");
		report(s, NULL);
	}
}

/*
 * Takes what reached the TAP while the VM was paused (the guest's traffic
 * still arrives here until the target announces it) into b, which holds
 * MIG_FRAMES_BYTES; the vCPU is parked, so nothing else reads the TAP now.
 * Frames past what the guest's receive ring holds would be dropped there
 * anyway, so they stay in the TAP and are lost with it.
 */
static void take_frames(struct source *s, struct mig_frames *b)
{
	struct net_dev *net = s->vm->net;
	static uint8_t frame[HEDGE_NET_FRAME_MAX];
	while (net && net->tap_fd >= 0 && b->count < MIG_FRAMES_MAX) {
		ssize_t n = net_take(net, frame, sizeof(frame));
		if (n <= 0)
			break;
		mig_frames_add(b, frame, (size_t)n);
	}
}

/* Puts the frames taken back into this VM's own receive ring, when it resumes here. */
static int give_back(void *ctx, const uint8_t *frame, size_t len)
{
	struct net_dev *net = ctx;
	char err[160];
	return net_deliver(net, frame, len, err, sizeof(err)) < 0;
}

/*
 * Copies memory while the guest runs, round after round, each round the
 * pages written since the previous one, until the rest can go in a short
 * paused round: when few pages are left, or when sending them at the rate
 * the last round achieved would take under TARGET_NS.  A guest that writes
 * faster than the link carries never gets there: once two rounds in a row
 * leave no fewer dirty pages (by an eighth) than the best round so far,
 * more rounds only cost time, and it stops there (or after MAX_ROUNDS).
 */
static int precopy(struct source *s, unsigned *rounds)
{
	uint64_t round_start = host_monotonic_ns(), round_bytes = s->bytes, best = UINT64_MAX;
	int stalls = 0;
	s->progress.round = 1;
	report(s, "copying");
	if (send_pages(s, need_first, snapshot_candidates(s->vm)))
		return -1;
	*rounds = 1;
	for (;;) {
		if (drain(s))
			return -1;
		mark_ring_writes(s);
		int64_t dirty = fetch_dirty(s);
		if (dirty < 0)
			return set_err(s->err, s->errlen, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
		s->progress.dirty_pages = (uint64_t)dirty;
		report(s, "copying");
		uint64_t took = host_monotonic_ns() - round_start + 1;
		double per_byte_ns = (double)took / (double)(s->bytes - round_bytes + 1);
		double predicted_ns = per_byte_ns * (double)dirty * (PAGE + FRAME_HEADER);
		if (dirty <= FEW_PAGES || predicted_ns <= TARGET_NS || *rounds >= MAX_ROUNDS)
			break;
		stalls = (uint64_t)dirty > best - best / 8 ? stalls + 1 : 0;
		if (stalls >= 2)
			break;
		if ((uint64_t)dirty < best)
			best = (uint64_t)dirty;
		round_start = host_monotonic_ns();
		round_bytes = s->bytes;
		s->progress.round = *rounds + 1;
		if (send_pages(s, need_dirty, s->pending))
			return -1;
		(*rounds)++;
	}
	return 0;
}
static int source_run(struct source *s, const char *to, const struct migrate_hooks *h,
                      struct migrate_result *res, int *paused, uint64_t start)
{
	struct vm *vm = s->vm;
	uint8_t hello[HELLO_SIZE] = {0};
	memcpy(hello, MIG_MAGIC, 8);
	put32(hello + 8, MIG_PROTOCOL);
	put32(hello + 12, HEDGE_ABI_VERSION);
	put32(hello + 16, SNAP_VERSION);
	put64(hello + 24, vm->mem.size);
	if (send_frame(s->fd, MIG_HELLO, hello, sizeof(hello), NULL, 0, &s->bytes))
		return set_err(s->err, s->errlen, "cannot send to %s: %s", to, strerror(errno));
	if (expect_line(s, "OK", IO_TIMEOUT_MS))
		return -1;

	unsigned rounds = 0;
	s->logging = set_logging(s, 1) == 0;
	if (s->logging && precopy(s, &rounds)) {
		fetch_reason(s);
		return -1;
	}
	if (h->pause(h->ctx, s->err, s->errlen))
		return -1;
	*paused = 1;
	s->paused = 1;
	uint64_t paused_at = host_monotonic_ns();
	s->progress.round = rounds + 1;
	report(s, "paused");
	if (s->logging && fetch_dirty(s) < 0)
		return set_err(s->err, s->errlen, "KVM_GET_DIRTY_LOG: %s", strerror(errno));
	uint8_t *state = NULL;
	size_t state_len = 0;
	if (send_pages(s, need_final, snapshot_candidates(vm)) ||
	    snapshot_encode_state(vm, &state, &state_len, s->err, s->errlen)) {
		fetch_reason(s);
		return -1;
	}
	rounds++;
	int rc = send_frame(s->fd, MIG_STATE, state, state_len, NULL, 0, &s->bytes);
	free(state);
	if (rc) {
		set_err(s->err, s->errlen, "the connection to the target broke: %s",
		        strerror(errno));
		fetch_reason(s);
		return -1;
	}
	/* The target builds its VM now: KVM set-up and every vCPU register. */
	report(s, "waiting");
	if (expect_line(s, "READY", 30000))
		return -1;
	uint64_t ready = host_monotonic_ns();
	struct mig_frames frames;
	mig_frames_start(&frames, s->frames_buf);
	take_frames(s, &frames);
	char why[160];
	if (send_frame(s->fd, MIG_FRAMES, frames.buf, frames.len, NULL, 0, &s->bytes) ||
	    send_all(s->fd, "GO\n", 3, 0, IO_TIMEOUT_MS)) {
		int saved = errno;
		/* Without GO the target never runs the VM: it goes on here, frames and all. */
		if (s->vm->net)
			mig_frames_decode(frames.buf, frames.len, give_back, s->vm->net, why,
			                  sizeof(why));
		return set_err(s->err, s->errlen, "the connection to the target broke: %s",
		               strerror(saved));
	}
	/*
	 * GO is out: from here the target may be running the VM.  Without its
	 * RUNNING this side cannot tell, so it neither resumes nor ends.
	 */
	char line[LINE_MAX_LEN + 1] = "";
	errno = 0;
	if (recv_line(s->fd, line, sizeof(line), IO_TIMEOUT_MS) == 0 &&
	    strncmp(line, "ERR ", 4) == 0) {
		/* It refused before running the VM (the frames, say): the VM goes on here. */
		if (s->vm->net)
			mig_frames_decode(frames.buf, frames.len, give_back, s->vm->net, why,
			                  sizeof(why));
		return set_err(s->err, s->errlen, "the target refuses: %s", line + 4);
	}
	if (strcmp(line, "RUNNING") != 0) {
		set_err(s->err, s->errlen,
		        "the target did not confirm that it runs the VM (%s): the VM stays paused "
		        "here; resume it only if the target does not run it",
		        errno ? strerror(errno) : "no answer");
		return MIGRATE_IN_DOUBT;
	}
	res->downtime_ms = (double)(ready - paused_at) / 1e6;
	res->total_ms = (double)(ready - start) / 1e6;
	res->bytes = s->bytes;
	res->pages = s->pages_sent;
	res->rounds = rounds;
	res->frames = frames.count;
	res->delta_pages = s->delta_pages;
	return 0;
}

int migrate_out(struct vm *vm, const char *to, const struct migrate_hooks *hooks,
                struct migrate_result *res, char *err, size_t errlen)
{
	uint64_t start = host_monotonic_ns();
	memset(res, 0, sizeof(*res));
	if (!vm->snap)
		return set_err(err, errlen, "this VM cannot be migrated (no snapshot support)");
	struct source s = {.vm = vm,
	                   .pages = vm->mem.size / PAGE,
	                   .hooks = hooks,
	                   .progress = {.mem_bytes = vm->mem.size},
	                   .err = err,
	                   .errlen = errlen};
	uint64_t words = (s.pages + 63) / 64;
	s.sent = calloc(words, 8);
	s.pending = calloc(words, 8);
	s.log = calloc(words, 8);
	s.sent_crc = calloc(s.pages, sizeof(uint32_t));
	s.copy = malloc((size_t)SNAP_EXTENT_PAGES * PAGE);
	s.frames_buf = malloc(MIG_FRAMES_BYTES);
	/* Without room to remember pages they simply go whole every time. */
	s.cache_slots = s.pages < CACHE_MAX ? s.pages : CACHE_MAX;
	s.cache = calloc(s.cache_slots, PAGE); /* untouched slots cost nothing */
	s.cache_pg = malloc(s.cache_slots * sizeof(uint64_t));
	s.delta = malloc(MIG_DELTA_BYTES);
	s.delta_len = 8;
	if (!s.cache || !s.cache_pg || !s.delta) {
		free(s.cache);
		s.cache = NULL;
	} else {
		memset(s.cache_pg, 0xff, s.cache_slots * sizeof(uint64_t));
	}
	int rc = -1, paused = 0;
	if (!s.sent || !s.pending || !s.log || !s.sent_crc || !s.copy || !s.frames_buf) {
		set_err(err, errlen, "out of memory");
	} else {
		s.fd = connect_target(to, err, errlen);
		if (s.fd >= 0) {
			rc = source_run(&s, to, hooks, res, &paused, start);
			close(s.fd);
		}
	}
	if (s.logging)
		set_logging(&s, 0);
	if (rc < 0 && paused)
		hooks->resume(hooks->ctx);
	free(s.sent);
	free(s.pending);
	free(s.log);
	free(s.sent_crc);
	free(s.copy);
	free(s.frames_buf);
	free(s.cache);
	free(s.cache_pg);
	free(s.delta);
	return rc;
}

/* ---- target ---- */

int migrate_accept(const char *spec, unsigned timeout_s, int *fd, char *err, size_t errlen)
{
	uint32_t ip;
	uint16_t port;
	if (migrate_parse_addr(spec, &ip, &port)) {
		set_err(err, errlen, "bad --incoming address '%s' (want tcp:A.B.C.D:PORT)", spec);
		return ST_USAGE;
	}
	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = ip};
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 1) < 0) {
		set_err(err, errlen, "cannot listen on %s: %s", spec, strerror(errno));
		if (lfd >= 0)
			close(lfd);
		return ST_USAGE;
	}
	uint64_t deadline = host_monotonic_ns() + (uint64_t)timeout_s * 1000000000ull;
	int c = -1;
	while (c < 0) {
		if (wait_fd(lfd, POLLIN, deadline)) {
			set_err(err, errlen, "no migration arrived on %s within %u s", spec,
			        timeout_s);
			close(lfd);
			return ST_NO_MIGRATION;
		}
		c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	}
	close(lfd); /* one migration per target */
	setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	*fd = c;
	return 0;
}

/* Reads a frame header and checks what can be checked before the payload. */
static int recv_header(int fd, int timeout_ms, uint32_t *type, uint32_t *crc, uint64_t *len,
                       uint8_t h[FRAME_HEADER])
{
	if (recv_all(fd, h, FRAME_HEADER, timeout_ms))
		return -1;
	*type = get32(h);
	*crc = get32(h + 4);
	*len = get64(h + 8);
	put32(h + 4, 0);
	return 0;
}

static int broken(char *err, size_t errlen)
{
	set_err(err, errlen, "the migration stream broke off: %s", strerror(errno));
	return ST_NO_MIGRATION;
}

static int bad(char *err, size_t errlen, const char *what)
{
	set_err(err, errlen, "bad migration stream: %s", what);
	return ST_BAD_SNAPSHOT;
}

static int recv_hello(int fd, uint64_t want_mem, int tmo, uint64_t *mem_size, char *err,
                      size_t errlen)
{
	uint8_t h[FRAME_HEADER], p[HELLO_SIZE];
	uint32_t type, crc;
	uint64_t len;
	if (recv_header(fd, tmo, &type, &crc, &len, h))
		return broken(err, errlen);
	if (type != MIG_HELLO || len != HELLO_SIZE)
		return bad(err, errlen, "it does not start with a hedge migration hello");
	if (recv_all(fd, p, sizeof(p), tmo))
		return broken(err, errlen);
	if (crc32c(crc32c(0, h, sizeof(h)), p, sizeof(p)) != crc || memcmp(p, MIG_MAGIC, 8))
		return bad(err, errlen, "the hello is corrupt");
	if (get32(p + 8) != MIG_PROTOCOL) {
		set_err(err, errlen, "migration protocol %u, this hedge speaks %u", get32(p + 8),
		        MIG_PROTOCOL);
		return ST_BAD_SNAPSHOT;
	}
	if (get32(p + 12) != HEDGE_ABI_VERSION || get32(p + 16) != SNAP_VERSION) {
		set_err(
		    err, errlen,
		    "the VM uses hypercall ABI %u and state format %u, this hedge has %u and %u",
		    get32(p + 12), get32(p + 16), HEDGE_ABI_VERSION, SNAP_VERSION);
		return ST_BAD_SNAPSHOT;
	}
	uint64_t mem = get64(p + 24);
	if (get32(p + 20) || get64(p + 32))
		return bad(err, errlen, "reserved hello fields are set");
	if (mem < MIN_MEM || mem > MAX_MEM || mem % MIN_MEM)
		return bad(err, errlen, "guest memory size out of range");
	if (want_mem && want_mem != mem) {
		set_err(err, errlen, "the VM has %llu MiB of memory, --mem asks for %llu MiB",
		        (unsigned long long)(mem >> 20), (unsigned long long)(want_mem >> 20));
		return ST_BAD_SNAPSHOT;
	}
	*mem_size = mem;
	return 0;
}

static int recv_pages(int fd, struct vm *vm, const uint8_t h[FRAME_HEADER], uint32_t crc,
                      uint64_t len, int tmo, char *err, size_t errlen)
{
	uint8_t p[PAGES_HEADER];
	if (len < PAGES_HEADER)
		return bad(err, errlen, "short pages frame");
	if (recv_all(fd, p, sizeof(p), tmo))
		return broken(err, errlen);
	uint64_t gpa = get64(p), n = get32(p + 8);
	if (get32(p + 12) || n == 0 || n > SNAP_EXTENT_PAGES || gpa % PAGE || gpa > vm->mem.size ||
	    n * PAGE > vm->mem.size - gpa || len != PAGES_HEADER + n * PAGE)
		return bad(err, errlen, "pages outside guest memory");
	uint8_t *dst = vm->mem.base + gpa;
	if (recv_all(fd, dst, n * PAGE, tmo))
		return broken(err, errlen);
	uint32_t got = crc32c(crc32c(crc32c(0, h, FRAME_HEADER), p, sizeof(p)), dst, n * PAGE);
	if (got != crc) {
		set_err(err, errlen, "bad migration stream: checksum mismatch in memory at 0x%llx",
		        (unsigned long long)gpa);
		return ST_BAD_SNAPSHOT;
	}
	return 0;
}

/*
 * A DELTA message: read whole, checksummed, then each record checked and
 * applied to its page, which must then have the CRC the source computed:
 * a delta meant for another copy of the page is caught here.
 */
static int recv_delta(int fd, struct vm *vm, const uint8_t h[FRAME_HEADER], uint32_t crc,
                      uint64_t len, int tmo, uint8_t *buf, char *err, size_t errlen)
{
	if (len < 8 || len > MIG_DELTA_BYTES)
		return bad(err, errlen, "delta message of an impossible size");
	if (recv_all(fd, buf, len, tmo))
		return broken(err, errlen);
	if (crc32c(crc32c(0, h, FRAME_HEADER), buf, len) != crc)
		return bad(err, errlen, "checksum mismatch in a delta message");
	uint32_t count = get32(buf);
	if (count == 0 || count > MIG_DELTA_RECORDS || get32(buf + 4))
		return bad(err, errlen, "delta message with a bad count");
	size_t off = 8;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < MIG_DELTA_RECORD)
			return bad(err, errlen, "delta message ends inside a record");
		uint64_t gpa = get64(buf + off);
		uint32_t page_crc = get32(buf + off + 8), n = get32(buf + off + 12);
		off += MIG_DELTA_RECORD;
		if (gpa % PAGE || gpa >= vm->mem.size || n > MIG_DELTA_MAX || n > len - off)
			return bad(err, errlen, "delta outside guest memory or past its message");
		uint8_t *page = vm->mem.base + gpa;
		if (mig_delta_apply(page, buf + off, n))
			return bad(err, errlen, "malformed delta");
		if (crc32c(0, page, PAGE) != page_crc) {
			set_err(
			    err, errlen,
			    "bad migration stream: the page at 0x%llx differs from the source's "
			    "after its delta",
			    (unsigned long long)gpa);
			return ST_BAD_SNAPSHOT;
		}
		off += n;
	}
	if (off != len)
		return bad(err, errlen, "bytes after the last delta");
	return 0;
}

static int recv_state(int fd, struct vm *vm, const uint8_t h[FRAME_HEADER], uint32_t crc,
                      uint64_t len, int tmo, struct snap_file *f, char *err, size_t errlen)
{
	if (len < SNAP_HEADER_SIZE || len > STATE_MAX)
		return bad(err, errlen, "state of an impossible size");
	uint8_t *buf = malloc(len);
	if (!buf) {
		set_err(err, errlen, "out of memory");
		return ST_INTERNAL;
	}
	if (recv_all(fd, buf, len, tmo)) {
		free(buf);
		return broken(err, errlen);
	}
	if (crc32c(crc32c(0, h, FRAME_HEADER), buf, len) != crc) {
		free(buf);
		return bad(err, errlen, "checksum mismatch in the VM state");
	}
	/* The same checks as a snapshot file whose memory image is already here. */
	char why[400];
	uint64_t prefix;
	struct snap_meta m;
	uint64_t file_size = len + vm->mem.size;
	if (snap_peek(buf, len, file_size, &prefix, why, sizeof(why)) ||
	    (prefix != len && snprintf(why, sizeof(why), "state size disagrees with its header")) ||
	    snap_decode(buf, len, file_size, &m, why, sizeof(why))) {
		free(buf);
		return bad(err, errlen, why);
	}
	if (m.mem_size != vm->mem.size || m.nextents) {
		snap_meta_free(&m);
		free(buf);
		return bad(err, errlen, "the state disagrees with the hello");
	}
	*f = (struct snap_file){.fd = -1, .prefix = buf, .meta = m};
	return 0;
}

int migrate_receive(int fd, struct vm *vm, uint64_t want_mem, unsigned timeout_s,
                    struct snap_file *f, char *err, size_t errlen)
{
	int tmo = (int)(timeout_s > IO_TIMEOUT_MS / 1000 ? timeout_s * 1000 : IO_TIMEOUT_MS);
	uint64_t mem_size;
	int rc = recv_hello(fd, want_mem, tmo, &mem_size, err, errlen);
	if (rc)
		return rc;
	if (gmem_map(&vm->mem, mem_size)) {
		set_err(err, errlen, "not enough memory for the VM's %llu MiB: %s",
		        (unsigned long long)(mem_size >> 20), strerror(errno));
		return ST_SNAPSHOT_HOST;
	}
	if (send_all(fd, "OK\n", 3, 0, IO_TIMEOUT_MS))
		return broken(err, errlen);
	uint8_t *delta = NULL; /* a DELTA message, once one comes */
	for (;;) {
		uint8_t h[FRAME_HEADER];
		uint32_t type, crc;
		uint64_t len;
		if (recv_header(fd, tmo, &type, &crc, &len, h)) {
			rc = broken(err, errlen);
			break;
		}
		if (type == MIG_STATE) {
			rc = recv_state(fd, vm, h, crc, len, tmo, f, err, errlen);
			break;
		}
		if (type == MIG_PAGES) {
			rc = recv_pages(fd, vm, h, crc, len, tmo, err, errlen);
		} else if (type == MIG_DELTA) {
			if (!delta && !(delta = malloc(MIG_DELTA_BYTES))) {
				set_err(err, errlen, "out of memory");
				rc = ST_INTERNAL;
			} else {
				rc = recv_delta(fd, vm, h, crc, len, tmo, delta, err, errlen);
			}
		} else {
			rc = bad(err, errlen, "unknown frame type");
		}
		if (rc)
			break;
	}
	free(delta);
	return rc;
}

/* The FRAMES message: read whole and checked before anything is delivered. */
static int recv_frames(int fd, uint8_t **batch, size_t *batch_len, char *err, size_t errlen)
{
	uint8_t h[FRAME_HEADER];
	uint32_t type, crc;
	uint64_t len;
	if (recv_header(fd, IO_TIMEOUT_MS, &type, &crc, &len, h))
		return broken(err, errlen);
	if (type != MIG_FRAMES || len > MIG_FRAMES_BYTES)
		return bad(err, errlen, "no network frames after the state");
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		set_err(err, errlen, "out of memory");
		return ST_INTERNAL;
	}
	char why[200];
	if (recv_all(fd, buf, len, IO_TIMEOUT_MS)) {
		free(buf);
		return broken(err, errlen);
	}
	int rc = 0;
	if (crc32c(crc32c(0, h, FRAME_HEADER), buf, len) != crc)
		rc = bad(err, errlen, "checksum mismatch in the network frames");
	else if (mig_frames_decode(buf, len, NULL, NULL, why, sizeof(why)))
		rc = bad(err, errlen, why);
	if (rc) {
		free(buf);
		return rc;
	}
	*batch = buf;
	*batch_len = len;
	return 0;
}

struct delivery {
	struct net_dev *net;
	unsigned delivered;
	char err[200];
};

static int deliver(void *ctx, const uint8_t *frame, size_t len)
{
	struct delivery *d = ctx;
	int rc = net_deliver(d->net, frame, len, d->err, sizeof(d->err));
	if (rc > 0)
		d->delivered++;
	return rc < 0;
}

int migrate_commit(int fd, struct net_dev *net, unsigned *frames, char *err, size_t errlen)
{
	char line[LINE_MAX_LEN + 1];
	uint8_t *batch = NULL;
	size_t batch_len = 0;
	*frames = 0;
	if (send_all(fd, "READY\n", 6, 0, IO_TIMEOUT_MS))
		return broken(err, errlen);
	int rc = recv_frames(fd, &batch, &batch_len, err, errlen);
	if (rc)
		return rc;
	if (recv_line(fd, line, sizeof(line), IO_TIMEOUT_MS)) {
		free(batch);
		return broken(err, errlen);
	}
	if (strcmp(line, "GO") != 0) {
		free(batch);
		set_err(err, errlen, "the source did not confirm the migration");
		return ST_NO_MIGRATION;
	}
	/*
	 * The VM is ours now, whatever happens to this message: a source that
	 * misses it keeps its copy paused rather than running it.
	 */
	send_all(fd, "RUNNING\n", 8, 0, 1000);
	/*
	 * A guest that corrupted its receive ring gets nothing here; the
	 * monitor ends it at its next look at the ring, as it would have anyway.
	 */
	struct delivery d = {.net = net};
	if (net)
		mig_frames_decode(batch, batch_len, deliver, &d, d.err, sizeof(d.err));
	free(batch);
	*frames = d.delivered;
	return 0;
}

void migrate_refuse(int fd, const char *reason)
{
	char line[LINE_MAX_LEN + 8];
	snprintf(line, sizeof(line), "ERR %s", reason);
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	size_t len = strlen(line);
	line[len++] = '\n';
	send_all(fd, line, len, 0, 1000);
	/*
	 * Read what the source is still sending for a moment before closing:
	 * closing with unread data resets the connection, and the reset can
	 * destroy the reason before the source reads it.
	 */
	shutdown(fd, SHUT_WR);
	uint64_t deadline = host_monotonic_ns() + 2000000000ull;
	static uint8_t sink[65536];
	while (wait_fd(fd, POLLIN, deadline) == 0) {
		ssize_t n = read(fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			break;
	}
}

/*
 * A bridge drops what arrives on a port until the kernel has processed the
 * port's carrier coming up, which it does asynchronously; IFF_RUNNING is
 * set at that point.  Bounded: the announcement is best effort.
 */
static void wait_link_running(const char *name)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		return;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	uint64_t deadline = host_monotonic_ns() + 200000000ull;
	while (ioctl(sock, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_RUNNING) &&
	       host_monotonic_ns() < deadline) {
		struct timespec ts = {.tv_nsec = 1000000};
		ppoll(NULL, 0, &ts, NULL);
	}
	close(sock);
}

void migrate_announce(struct net_dev *net)
{
	if (!net || !net->ipv4)
		return;
	wait_link_running(net->name);
	net_announce(net);
}
