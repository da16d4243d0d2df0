/*
 * netif.c - lwIP driver for hedge's shared-ring network device.
 *
 * The guest allocates two rings (abi/hedge_abi.h, struct hedge_net_ring)
 * and registers them with NET_SETUP.  It produces frames on tx and consumes
 * them from rx; the monitor does the opposite, but only while the guest is
 * in an exit (NET_KICK or a POLL on HEDGE_EVENT_NET).  So sending a frame
 * is a copy into the next tx slot, and the event loop decides when to pay
 * for the exit that takes a whole batch.
 *
 * Frames in rx come from the network: untrusted.  Their length is checked
 * before anything is copied; lwIP validates the contents.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "lwip/etharp.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/prot/ethernet.h"
#include "net_internal.h"
#include "netif/ethernet.h"
#include "runtime.h"

#define RING_MASK (HEDGE_NET_SLOTS - 1)
_Static_assert((HEDGE_NET_SLOTS & RING_MASK) == 0, "ring size must be a power of two");
_Static_assert(HEDGE_NET_FRAME_MAX <= sizeof(((struct hedge_net_slot *)0)->data),
               "a frame must fit in a slot");

static struct netif eth;
static struct hedge_net_ring *tx, *rx;
static uint32_t tx_head; /* our copy of tx->head: we are its only writer */
static uint32_t rx_tail; /* likewise for rx->tail */
static bool present;
static bool tx_pending;
static struct hedge_net_config config;
struct hedge_net_stats net_stats;

bool netdev_present(void)
{
	return present;
}

bool netdev_tx_pending(void)
{
	return tx_pending;
}

void netdev_get_config(struct hedge_net_config *cfg)
{
	*cfg = config;
}

void netdev_kick(void)
{
	struct hedge_hc_net_kick args = {0};
	hypercall(HEDGE_HC_NET_KICK, &args);
	net_stats.kicks++;
	tx_pending = false;
}

void netdev_wait(uint64_t timeout_ns)
{
	hedge_poll(HEDGE_EVENT_NET, timeout_ns);
	net_stats.waits++;
	tx_pending = false; /* the monitor sends queued frames before it waits */
}

static bool tx_full(void)
{
	uint32_t tail = __atomic_load_n(&tx->tail, __ATOMIC_ACQUIRE);
	/* More than a ring's worth outstanding would be a monitor bug: treat as full. */
	return tx_head - tail >= HEDGE_NET_SLOTS;
}

static err_t eth_linkoutput(struct netif *netif, struct pbuf *p)
{
	(void)netif;
	if (p->tot_len > HEDGE_NET_FRAME_MAX) {
		net_stats.tx_dropped++;
		return ERR_IF;
	}
	if (tx_full()) {
		/* Let the monitor drain the ring; an ERR_MEM keeps TCP's segment queued. */
		netdev_kick();
		if (tx_full()) {
			net_stats.tx_dropped++;
			return ERR_MEM;
		}
	}
	struct hedge_net_slot *slot = &tx->slots[tx_head & RING_MASK];
	pbuf_copy_partial(p, slot->data, p->tot_len, 0);
	slot->len = p->tot_len;
	/* Release: the slot's bytes are visible before the new head is. */
	__atomic_store_n(&tx->head, ++tx_head, __ATOMIC_RELEASE);
	tx_pending = true;
	net_stats.tx_frames++;
	return ERR_OK;
}

unsigned netdev_drain_rx(void)
{
	if (!present)
		return 0;
	uint32_t head = __atomic_load_n(&rx->head, __ATOMIC_ACQUIRE);
	uint32_t avail = head - rx_tail;
	/* Bounded by one ring: a confused producer cannot keep us here. */
	if (avail > HEDGE_NET_SLOTS)
		avail = HEDGE_NET_SLOTS;
	for (uint32_t i = 0; i < avail; i++) {
		struct hedge_net_slot *slot = &rx->slots[rx_tail & RING_MASK];
		uint32_t len = __atomic_load_n(&slot->len, __ATOMIC_RELAXED);
		struct pbuf *p = NULL;
		if (len >= SIZEOF_ETH_HDR && len <= HEDGE_NET_FRAME_MAX)
			p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
		if (p)
			pbuf_take(p, slot->data, (u16_t)len);
		/* The slot is copied: hand it back before input, which may kick. */
		__atomic_store_n(&rx->tail, ++rx_tail, __ATOMIC_RELEASE);
		if (!p) {
			net_stats.rx_dropped++;
			continue;
		}
		net_stats.rx_frames++;
		if (eth.input(p, &eth) != ERR_OK)
			pbuf_free(p);
	}
	return avail;
}

static err_t eth_init(struct netif *netif)
{
	netif->name[0] = 'e';
	netif->name[1] = 'n';
	netif->output = etharp_output;
	netif->linkoutput = eth_linkoutput;
	netif->mtu = config.mtu;
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, config.mac, ETH_HWADDR_LEN);
	netif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET;
	return ERR_OK;
}

/* Rings are handed to the monitor by physical address: they must be contiguous. */
static struct hedge_net_ring *ring_alloc(void)
{
	/* C11 wants the size a multiple of the alignment. */
	size_t size = (sizeof(struct hedge_net_ring) + 4095) & ~(size_t)4095;
	struct hedge_net_ring *r = aligned_alloc(4096, size);
	if (!r)
		return NULL;
	uintptr_t pa;
	if (mm_phys_span((uintptr_t)r, sizeof(*r), &pa) != sizeof(*r) || pa != (uintptr_t)r) {
		free(r);
		return NULL;
	}
	memset(r, 0, sizeof(*r));
	return r;
}

int netdev_init(void)
{
	struct hedge_hc_net_info info __attribute__((aligned(8)));
	memset(&info, 0, sizeof(info));
	hypercall(HEDGE_HC_NET_INFO, &info);
	if (info.hdr.ret != 0 || !info.present)
		return -1;

	config.present = 1;
	config.ip = info.ipv4;
	config.netmask = info.netmask;
	config.gateway = info.gateway;
	config.mtu = (uint16_t)(info.mtu >= 576 && info.mtu <= HEDGE_NET_FRAME_MAX - SIZEOF_ETH_HDR
	                            ? info.mtu
	                            : HEDGE_NET_FRAME_MAX - SIZEOF_ETH_HDR);
	memcpy(config.mac, info.mac, sizeof(config.mac));
	static const uint8_t zero_mac[6];
	if (memcmp(config.mac, zero_mac, 6) == 0 || (config.mac[0] & 1)) {
		/* No usable MAC from the monitor: a random locally administered one. */
		hedge_random(config.mac, sizeof(config.mac));
		config.mac[0] = (uint8_t)((config.mac[0] & 0xfe) | 0x02);
	}

	tx = ring_alloc();
	rx = ring_alloc();
	struct hedge_hc_net_setup setup = {.tx_ring = (uintptr_t)tx, .rx_ring = (uintptr_t)rx};
	if (tx && rx)
		hypercall(HEDGE_HC_NET_SETUP, &setup);
	if (!tx || !rx || setup.hdr.ret != 0) {
		printf("hedge net: %s\n", !tx || !rx ? "no memory for the network rings"
		                                     : "the monitor refused the network rings");
		free(tx);
		free(rx);
		tx = rx = NULL;
		config = (struct hedge_net_config){0};
		return -1;
	}

	ip4_addr_t ip = {config.ip}, mask = {config.netmask}, gw = {config.gateway};
	if (!netif_add(&eth, &ip, &mask, &gw, NULL, eth_init, ethernet_input)) {
		printf("hedge net: cannot add the interface\n");
		return -1;
	}
	present = true;
	netif_set_default(&eth);
	netif_set_link_up(&eth);
	netif_set_up(&eth); /* announces our address with a gratuitous ARP */
	return 0;
}
