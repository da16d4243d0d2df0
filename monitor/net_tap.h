/*
 * net_tap.h - the VM's network interface: a host TAP device behind the two
 * shared rings of abi/hedge_abi.h.
 */
#ifndef HEDGE_NET_TAP_H
#define HEDGE_NET_TAP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hedge_abi.h"

struct net_config {
	const char *tap_name; /* NULL: the VM has no interface */
	uint8_t mac[6];
	uint32_t ipv4, netmask, gateway; /* network byte order; 0 if not given */
};

struct net_dev {
	int tap_fd;
	int created; /* we created the TAP: it vanishes when tap_fd closes */
	char name[16];
	uint8_t mac[6];
	uint32_t ipv4, netmask, gateway;
	struct hedge_net_ring *tx, *rx; /* host views, NULL until NET_SETUP */
	uint64_t tx_frames, rx_frames, tx_dropped, rx_dropped;
	unsigned announce_left;    /* gratuitous ARPs still to send (net_announce) */
	uint64_t announce_next_ns; /* when the next one is due */
};

/* Opens (creating if missing) and brings up the TAP device; -1 with a reason. */
int net_open(struct net_dev *dev, const struct net_config *cfg, char *err, size_t errlen);
void net_close(struct net_dev *dev);

/* Sends every frame queued on tx, then moves waiting TAP frames into rx. Returns -1
 * with a reason if the guest corrupted a ring index. */
int net_pump(struct net_dev *dev, char *err, size_t errlen);
/*
 * Reads one waiting frame from the TAP into buf (at least HEDGE_NET_FRAME_MAX
 * bytes), skipping runts and jumbo frames: its length, 0 if none waits, -1 on
 * an error (errno).
 */
ssize_t net_take(struct net_dev *dev, uint8_t *buf, size_t cap);
/*
 * Puts one frame into rx as if it had come from the TAP: 1, or 0 if it was
 * dropped (rx full or not set up, not a frame's length), or -1 with a reason
 * if the guest corrupted rx's indices.
 */
int net_deliver(struct net_dev *dev, const uint8_t *frame, size_t len, char *err, size_t errlen);
/*
 * Tells the network the guest is here now (after a migration): a gratuitous
 * ARP at once and NET_ANNOUNCE_REPEATS more, 50, 150 and 350 ms later, sent
 * by net_pump (as QEMU does; one lost broadcast must not hide the guest).
 */
#define NET_ANNOUNCE_REPEATS 3
void net_announce(struct net_dev *dev);
/* Nanoseconds until the next announcement is due, or UINT64_MAX if none is. */
uint64_t net_announce_wait_ns(const struct net_dev *dev, uint64_t now_ns);
/* Sends the announcement that has come due, if one has (net_pump does too). */
void net_announce_due(struct net_dev *dev);
/* True if rx holds frames the guest has not taken. */
int net_rx_pending(const struct net_dev *dev);

/* Parses "A.B.C.D/N" into address and netmask (network byte order). */
int net_parse_cidr(const char *text, uint32_t *addr, uint32_t *mask);
/* Parses "A.B.C.D:PORT" (port 1-65535) into a TCP listen entry. */
int net_parse_listen(const char *text, struct hedge_listen_entry *out);
/* Parses "aa:bb:cc:dd:ee:ff". */
int net_parse_mac(const char *text, uint8_t mac[6]);

#endif
