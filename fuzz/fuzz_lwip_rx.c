/*
 * fuzz_lwip_rx.c - libFuzzer harness for the guest's network receive path.
 *
 * The guest's whole network stack is built for the host: lwIP with hedge's
 * lwipopts.h and platform layer (sys_arch.c, syn_guard.c), the ring driver
 * (netif.c), the event loop (loop.c) and the socket layer, all unchanged;
 * fuzz/lwip_host/runtime.h turns hypercalls into calls to this file, which
 * plays the monitor and the rest of the runtime.  The guest runs a TCP echo
 * server (port 80, backlog 2 so that syn_guard.c is reached) and a UDP echo
 * socket (port 7) on 10.0.0.2/24, MAC 02:00:00:00:00:02.
 *
 * Input: byte 0 holds, in bits 0-2, how many big-endian 16-bit frame lengths
 * follow (the last frame takes whatever is left); bit 3 puts all frames in
 * the rx ring before the stack runs instead of one at a time; bits 4-6 are
 * how many 250 ms timer ticks pass after each frame (or after the batch);
 * bit 7 has the harness fill in the IPv4, TCP, UDP and ICMP checksums of
 * the frames, so that mutated headers get past the stack's checks.
 * A frame longer than a slot keeps its length in the slot's length word:
 * the driver must refuse it.
 *
 * The clock is virtual.  Each input starts where the clock term of TCP's
 * initial sequence number (sys_arch.c: microseconds / 4) is 0 modulo 2^32,
 * so the sequence number a SYN gets depends only on the input, and the
 * fuzzer (and fuzz/lwip_rx_seeds.py) can complete a handshake.
 *
 * Checked besides ASan, UBSan and lwIP's own assertions (which abort): every
 * frame the stack queues fits a tx slot, and once an input's connections
 * are closed and aborted, every lwIP pool, the memory budget and the
 * listener's backlog count are back where they started.
 */
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_heap.h"
#include "hedge_net.h"
#include "lwip/etharp.h"
#include "lwip/ip4_frag.h"
#include "lwip/memp.h"
#include "lwip/netif.h"
#include "lwip/priv/memp_priv.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/ethernet.h"
#include "net_internal.h"
#include "runtime.h"

#define GUEST_IP    HEDGE_IPV4(10, 0, 0, 2)
#define TCP_PORT    80
#define UDP_PORT    7
#define TICK_NS     250000000ull /* lwIP's TCP timer interval */
#define END_TICKS   16           /* after the last frame: retransmissions, delayed ACKs */
#define MAX_CONNS   64
#define LOOP_ROUNDS 256 /* loopback traffic must die down within this many turns */

/* --- the clock --- */

/* The sequence-number clock term, (ns / 4000) mod 2^32, repeats with this period. */
#define ISN_PERIOD_NS (4000ull << 32)
/* sys_now(), (ns / 10^6) mod 2^32, repeats with this one, a multiple of the first. */
#define CLOCK_WRAP_NS (1000000ull << 32)

static uint64_t now_ns;

uint64_t hedge_clock_monotonic_ns(void)
{
	return now_ns;
}

/*
 * Everything that reads the clock uses it modulo one of the periods above
 * (blocking socket calls, which compare raw values, are not used), so the
 * wrap is invisible to the stack.
 */
static void clock_advance(uint64_t ns)
{
	now_ns = (now_ns + ns) % CLOCK_WRAP_NS;
}

/* A few hours on: every lwIP timer fires once, and the ISN clock term is 0 again. */
static void clock_next_input(void)
{
	now_ns = ((now_ns / ISN_PERIOD_NS + 1) * ISN_PERIOD_NS) % CLOCK_WRAP_NS;
}

/* --- the rest of the runtime --- */

/* Fixed bytes: seeds sys_arch.c's generator and ISN key (fuzz/lwip_rx_seeds.py knows them). */
int hedge_random(void *buf, size_t len)
{
	uint8_t *out = buf;
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i + 1);
	return 0;
}

uint64_t hedge_mem_size(void)
{
	return 64u << 20;
}

_Noreturn void hedge_abort(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

size_t heap_usable_size(void *ptr)
{
	return malloc_usable_size(ptr);
}

size_t mm_phys_span(uintptr_t va, size_t len, uintptr_t *pa)
{
	*pa = va;
	return len;
}

/* --- the monitor --- */

static struct hedge_net_ring *tx_ring, *rx_ring;

/* Takes every queued tx frame, as NET_KICK and POLL do; each must fit a slot. */
static void tx_take(void)
{
	if (!tx_ring)
		return;
	uint32_t head = __atomic_load_n(&tx_ring->head, __ATOMIC_ACQUIRE);
	for (uint32_t i = tx_ring->tail; i != head; i++) {
		uint32_t len = tx_ring->slots[i % HEDGE_NET_SLOTS].len;
		if (len < SIZEOF_ETH_HDR || len > HEDGE_NET_FRAME_MAX)
			hedge_abort("the guest queued a %u-byte frame", len);
	}
	__atomic_store_n(&tx_ring->tail, head, __ATOMIC_RELEASE);
}

uint64_t hedge_poll(uint64_t interest, uint64_t timeout_ns)
{
	(void)interest;
	tx_take();
	clock_advance(timeout_ns);
	return 0;
}

void hypercall(unsigned nr, void *args)
{
	struct hedge_hc_header *hdr = args;
	hdr->ret = 0;
	switch (nr) {
	case HEDGE_HC_NET_INFO: {
		struct hedge_hc_net_info *info = args;
		static const uint8_t mac[6] = {2, 0, 0, 0, 0, 2};
		info->present = 1;
		info->mtu = 1500;
		memcpy(info->mac, mac, sizeof(mac));
		info->ipv4 = GUEST_IP;
		info->netmask = HEDGE_IPV4(255, 255, 255, 0);
		info->gateway = HEDGE_IPV4(10, 0, 0, 1);
		break;
	}
	case HEDGE_HC_NET_SETUP: {
		struct hedge_hc_net_setup *setup = args;
		tx_ring = (struct hedge_net_ring *)(uintptr_t)setup->tx_ring;
		rx_ring = (struct hedge_net_ring *)(uintptr_t)setup->rx_ring;
		break;
	}
	case HEDGE_HC_NET_KICK:
		tx_take();
		((struct hedge_hc_net_kick *)args)->ready = 0;
		break;
	default:
		hedge_abort("unexpected hypercall %u", nr);
	}
}

/* The Internet checksum of len bytes, added to sum (a partial one's-complement sum). */
static uint16_t inet_sum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Fills in the checksums of an IPv4 frame as far as its lengths are consistent. */
static void fix_checksums(uint8_t *f, size_t len)
{
	if (len < SIZEOF_ETH_HDR + 20 || f[12] != 0x08 || f[13] != 0x00)
		return;
	uint8_t *ip = f + SIZEOF_ETH_HDR;
	size_t hlen = (size_t)(ip[0] & 0xf) * 4;
	size_t tot = (size_t)ip[2] << 8 | ip[3];
	if (hlen < 20 || hlen > tot || tot > len - SIZEOF_ETH_HDR)
		return;
	put16(ip + 10, 0);
	put16(ip + 10, inet_sum(ip, hlen, 0));
	if ((ip[6] & 0x3f) != 0 || ip[7] != 0)
		return; /* a fragment: the transport checksum covers the whole datagram */
	uint8_t *seg = ip + hlen;
	size_t seg_len = tot - hlen;
	size_t at = ip[9] == 6 ? 16 : ip[9] == 17 ? 6 : ip[9] == 1 ? 2 : 0;
	if (at == 0 || seg_len < at + 2)
		return;
	put16(seg + at, 0);
	uint32_t pseudo = 0;
	if (ip[9] != 1) {
		/* The pseudo-header: addresses, protocol, length. */
		for (int i = 12; i < 20; i += 2)
			pseudo += (uint32_t)ip[i] << 8 | ip[i + 1];
		pseudo += ip[9] + (uint32_t)seg_len;
	}
	put16(seg + at, inet_sum(seg, seg_len, pseudo));
}

/*
 * Puts one frame in the rx ring.  The slot's length word says len even when
 * only a slot's worth of bytes fits: the driver must refuse such a frame.
 */
static void rx_put(const uint8_t *frame, size_t len, bool checksums)
{
	uint32_t head = rx_ring->head;
	struct hedge_net_slot *slot = &rx_ring->slots[head % HEDGE_NET_SLOTS];
	size_t copied = len < sizeof(slot->data) ? len : sizeof(slot->data);
	slot->len = (uint32_t)len;
	memcpy(slot->data, frame, copied);
	if (checksums)
		fix_checksums(slot->data, copied);
	__atomic_store_n(&rx_ring->head, head + 1, __ATOMIC_RELEASE);
}

/* --- the application: TCP and UDP echo --- */

static int listen_fd = -1, udp_fd = -1;
static int conns[MAX_CONNS];
static int nconns;
static uint8_t app_buf[4096];

static void setup_sockets(void)
{
	if (hedge_net_init() != 0)
		hedge_abort("no network interface");
	listen_fd = hedge_socket(HEDGE_SOCK_TCP);
	udp_fd = hedge_socket(HEDGE_SOCK_UDP);
	if (listen_fd < 0 || udp_fd < 0 || hedge_setsockopt(listen_fd, HEDGE_SO_NONBLOCK, 1) != 0 ||
	    hedge_setsockopt(udp_fd, HEDGE_SO_NONBLOCK, 1) != 0 ||
	    hedge_bind(listen_fd, HEDGE_IP_ANY, TCP_PORT) != 0 || hedge_listen(listen_fd, 2) != 0 ||
	    hedge_bind(udp_fd, HEDGE_IP_ANY, UDP_PORT) != 0)
		hedge_abort("cannot set up the echo sockets");
}

static void accept_all(void)
{
	int fd;
	while ((fd = hedge_accept(listen_fd, NULL)) >= 0) {
		if (nconns < MAX_CONNS && hedge_setsockopt(fd, HEDGE_SO_NONBLOCK, 1) == 0)
			conns[nconns++] = fd;
		else
			hedge_close(fd);
	}
}

/* Returns datagrams to their senders unless echo is false. */
static void udp_drain(bool echo)
{
	struct hedge_sockaddr from;
	long n;
	while ((n = hedge_recvfrom(udp_fd, app_buf, sizeof(app_buf), 0, &from)) >= 0) {
		if (echo)
			hedge_sendto(udp_fd, app_buf, (size_t)n, 0, from.ip, from.port);
	}
}

/* What a server does after each turn of the loop. */
static void serve(void)
{
	accept_all();
	for (int i = 0; i < nconns;) {
		long n = hedge_recv(conns[i], app_buf, sizeof(app_buf));
		if (n > 0) {
			hedge_send(conns[i], app_buf, (size_t)n);
		} else if (n != -EAGAIN) {
			/* End of stream or an error: close, which sends FIN or RST. */
			hedge_close(conns[i]);
			conns[i] = conns[--nconns];
			continue;
		}
		i++;
	}
	udp_drain(true);
}

static void turn(void)
{
	hedge_net_poll(0);
	serve();
}

static void ticks(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		clock_advance(TICK_NS);
		turn();
	}
}

/* --- back to the starting state after each input --- */

static void abort_all_connections(void)
{
	while (tcp_active_pcbs)
		tcp_abort(tcp_active_pcbs);
	while (tcp_tw_pcbs)
		tcp_abort(tcp_tw_pcbs);
}

/* Closes every connection the server holds, and any still waiting to be accepted. */
static void close_connections(void)
{
	accept_all();
	for (int i = 0; i < nconns; i++)
		hedge_close(conns[i]);
	nconns = 0;
}

static void reset_stack(void)
{
	close_connections();
	hedge_net_poll(0);
	/* Expiring reassemblies may answer with ICMP, hence before the ARP table is emptied. */
	for (int i = 0; i <= IP_REASS_MAXAGE; i++)
		ip_reass_tmr();
	/*
	 * Resets sent to our own address come back through loopback and end
	 * there; a connection with ourselves may appear on the way.  Accepting
	 * drops the connections that died before being accepted.
	 */
	for (int round = 0;; round++) {
		abort_all_connections();
		close_connections();
		if (!net_loopback_pending())
			break;
		if (round == LOOP_ROUNDS)
			hedge_abort("loopback traffic does not die down");
		netif_poll_all();
		udp_drain(false);
	}
	abort_all_connections();
	udp_drain(false);
	etharp_cleanup_netif(netif_default);
	tx_take();
}

static const char *const pool_names[MEMP_MAX] = {
#define LWIP_MEMPOOL(name, num, size, desc) #name,
#include "lwip/priv/memp_std.h"
};

static unsigned pool_free_count(memp_t pool)
{
	unsigned n = 0;
	for (const struct memp *m = *memp_pools[pool]->tab; m; m = m->next)
		n++;
	return n;
}

static unsigned baseline_free[MEMP_MAX];
static size_t baseline_mem;

static void take_baseline(void)
{
	for (int i = 0; i < MEMP_MAX; i++)
		baseline_free[i] = pool_free_count((memp_t)i);
	baseline_mem = net_mem_in_use();
}

/* Whatever the input did, nothing may be left held once it is cleaned up. */
static void check_nothing_held(void)
{
	for (int i = 0; i < MEMP_MAX; i++) {
		/* lwIP's TCP timer is registered only while connections exist. */
		if (i == MEMP_SYS_TIMEOUT)
			continue;
		unsigned n = pool_free_count((memp_t)i);
		if (n != baseline_free[i])
			hedge_abort("pool %s: %u free after the input, %u before", pool_names[i], n,
			            baseline_free[i]);
	}
	if (net_mem_in_use() != baseline_mem)
		hedge_abort("network memory: %zu bytes in use after the input, %zu before",
		            net_mem_in_use(), baseline_mem);
	for (struct tcp_pcb_listen *l = tcp_listen_pcbs.listen_pcbs; l; l = l->next) {
		if (l->accepts_pending != 0)
			hedge_abort(
			    "listener on port %u counts %u pending connections with none left",
			    l->local_port, l->accepts_pending);
	}
}

/* --- the input --- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (listen_fd < 0) {
		setup_sockets();
		reset_stack();
		take_baseline();
	}
	if (size == 0)
		return 0;
	clock_next_input();
	hedge_net_poll(0); /* the timers fire once, as after any long pause */

	unsigned nlens = data[0] & 7u;
	bool batch = data[0] & 8u;
	unsigned gap_ticks = (data[0] >> 4) & 7u;
	bool checksums = data[0] & 0x80u;
	size_t pos = 1;
	if (size < pos + 2 * nlens)
		nlens = (unsigned)((size - pos) / 2);
	const uint8_t *lens = data + pos;
	pos += 2 * nlens;

	/* At most 8 frames: the 256-slot ring never fills. */
	for (unsigned i = 0; i <= nlens && pos < size; i++) {
		size_t len = size - pos;
		if (i < nlens && ((size_t)lens[2 * i] << 8 | lens[2 * i + 1]) < len)
			len = (size_t)lens[2 * i] << 8 | lens[2 * i + 1];
		rx_put(data + pos, len, checksums);
		pos += len;
		if (!batch) {
			turn();
			ticks(gap_ticks);
		}
	}
	if (batch) {
		turn();
		ticks(gap_ticks);
	}
	ticks(END_TICKS);

	reset_stack();
	check_nothing_held();
	return 0;
}
