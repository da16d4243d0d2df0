/*
 * net_internal.h - interfaces between the modules of guest networking.
 *
 *   sys_arch.c  lwIP's platform layer: clock, randomness, memory budget
 *   netif.c     the driver for hedge's shared-ring network device
 *   loop.c      the event loop that drives lwIP, the device and timers
 *   socket.c    hedge's socket table, options and readiness
 *   sock_tcp.c  TCP sockets on lwIP's raw TCP API
 *   sock_udp.c  UDP sockets on lwIP's raw UDP API
 *   bytebuf.c   the byte ring that holds a TCP socket's received data
 *
 * Everything runs on the guest's single thread; lwIP's callbacks run inside
 * hedge_net_poll (input, timers) or inside the socket call that caused them.
 */
#ifndef HEDGE_NET_INTERNAL_H
#define HEDGE_NET_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hedge_net.h"

/* --- sys_arch.c: networking memory, counted against one budget --- */
void *net_mem_alloc(size_t size);
void net_mem_free(void *ptr);
void net_mem_set_limit(size_t bytes);
size_t net_mem_in_use(void);
/* Bytes left in the budget. */
size_t net_mem_available(void);

/* --- netif.c --- */
/* Asks the monitor for an interface and, if there is one, adds it to lwIP; 0 or -1. */
int netdev_init(void);
bool netdev_present(void);
/* Frames queued on tx since the monitor last took them. */
bool netdev_tx_pending(void);
/* NET_KICK: the monitor sends queued tx frames and refills rx; one exit. */
void netdev_kick(void);
/* Blocks in the monitor until rx has frames or timeout_ns passes (sends tx first). */
void netdev_wait(uint64_t timeout_ns);
/* Feeds up to one ring's worth of received frames to lwIP; returns how many. */
unsigned netdev_drain_rx(void);
void netdev_get_config(struct hedge_net_config *cfg);
extern struct hedge_net_stats net_stats;

/* --- loop.c --- */
/* Initialises lwIP once (loopback works even without a device). */
void net_core_init(void);
/* True while frames wait in a netif's loopback queue (netif_poll_all delivers them). */
bool net_loopback_pending(void);

/* --- socket.c / sock_tcp.c --- */
/* Runs tcp_output for every socket that queued data since the last flush. */
void sock_flush_output(void);

#endif /* HEDGE_NET_INTERNAL_H */
