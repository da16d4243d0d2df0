/*
 * loop.c - the networking event loop of a hedge guest.
 *
 * Exits are the cost to minimise: one costs microseconds, a frame copy
 * nanoseconds.  Each turn first does all the work that needs no exit
 * (frames already in the rx ring, loopback traffic, lwIP's timers, TCP
 * output queued by the sockets).  If that found work, the turn pays at most
 * one NET_KICK, and only if frames are waiting to go out; if it found none,
 * one blocking POLL both sends the queued frames and waits for new ones.
 */
#include <stdbool.h>
#include <stdint.h>

#include "hedge.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/netif.h"
#include "lwip/timeouts.h"
#include "net_internal.h"

static bool core_ready;
static int device_state; /* 0 not asked yet, 1 present, -1 absent */

void net_core_init(void)
{
	if (!core_ready) {
		core_ready = true;
		lwip_init();
	}
}

int hedge_net_init(void)
{
	net_core_init();
	if (device_state == 0)
		device_state = netdev_init() == 0 ? 1 : -1;
	return device_state > 0 ? 0 : -1;
}

void hedge_net_config(struct hedge_net_config *cfg)
{
	hedge_net_init();
	netdev_get_config(cfg);
}

uint64_t hedge_net_exits(void)
{
	return net_stats.kicks + net_stats.waits;
}

void hedge_net_stats(struct hedge_net_stats *out)
{
	*out = net_stats;
}

void hedge_net_set_memory_limit(size_t bytes)
{
	net_mem_set_limit(bytes);
}

bool net_loopback_pending(void)
{
	struct netif *n;
	NETIF_FOREACH(n)
	{
		if (n->loop_first)
			return true;
	}
	return false;
}

/* The exit-free part of a turn; true if frames were delivered. */
static bool service(void)
{
	bool progress = netdev_drain_rx() > 0;
	if (net_loopback_pending()) {
		netif_poll_all();
		progress = true;
	}
	sys_check_timeouts();
	sock_flush_output();
	return progress;
}

void hedge_net_poll(uint64_t timeout_ns)
{
	hedge_net_init();
	sock_flush_output();
	bool progress = service();

	uint64_t wait_ns = timeout_ns;
	u32_t timer_ms = sys_timeouts_sleeptime();
	if (timer_ms != SYS_TIMEOUTS_SLEEPTIME_INFINITE && (uint64_t)timer_ms * 1000000u < wait_ns)
		wait_ns = (uint64_t)timer_ms * 1000000u;

	if (progress || wait_ns == 0 || net_loopback_pending()) {
		if (netdev_tx_pending()) {
			netdev_kick();
			service();
		}
		return;
	}
	if (netdev_present())
		netdev_wait(wait_ns);
	else
		hedge_poll(0, wait_ns);
	service();
}
