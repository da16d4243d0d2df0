/*
 * net_tap.c - the VM's network interface: a host TAP device behind the two
 * shared rings of abi/hedge_abi.h.
 *
 * The rings live in guest memory and their indices are written by an
 * untrusted guest, so every index and length is checked before use and a
 * guest that corrupts its ring ends its own VM.  The TAP fd is non-blocking:
 * a guest flooding the network makes the monitor drop frames, never stall.
 * Frames whose source MAC is not the VM's are dropped, so a guest cannot
 * impersonate other hosts on the link.
 */
#include "net_tap.h"
#include "vm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_HEADER 14u

int net_parse_cidr(const char *text, uint32_t *addr, uint32_t *mask)
{
	char buf[32];
	const char *slash = strchr(text, '/');
	size_t len = slash ? (size_t)(slash - text) : strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	struct in_addr in;
	if (inet_pton(AF_INET, buf, &in) != 1)
		return -1;
	long prefix = 24;
	if (slash) {
		char *end;
		prefix = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || prefix < 1 || prefix > 32)
			return -1;
	}
	*addr = in.s_addr;
	*mask = htonl(prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix));
	return 0;
}

int net_parse_listen(const char *text, struct hedge_listen_entry *out)
{
	const char *colon = strrchr(text, ':');
	if (!colon || colon == text || strchr(text, '/'))
		return -1;
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (end == colon + 1 || *end || port < 1 || port > 65535)
		return -1;
	char addr[32];
	size_t len = (size_t)(colon - text);
	if (len >= sizeof(addr))
		return -1;
	memcpy(addr, text, len);
	addr[len] = '\0';
	struct in_addr in;
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -1;
	*out = (struct hedge_listen_entry){
	    .ipv4 = in.s_addr, .port = (uint16_t)port, .proto = HEDGE_LISTEN_TCP};
	return 0;
}

int net_parse_mac(const char *text, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(text, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
	           &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)v[i];
	/* A multicast source address is never valid for an interface. */
	return (mac[0] & 1) ? -1 : 0;
}

static int set_link_up(const char *name, char *err, size_t errlen)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
	if (rc == 0) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
	}
	if (rc < 0)
		snprintf(err, errlen, "cannot bring %s up: %s", name, strerror(errno));
	close(sock);
	return rc;
}

int net_open(struct net_dev *dev, const struct net_config *cfg, char *err, size_t errlen)
{
	memset(dev, 0, sizeof(*dev));
	dev->tap_fd = -1;
	if (strlen(cfg->tap_name) >= IFNAMSIZ || !cfg->tap_name[0] || strchr(cfg->tap_name, '/')) {
		snprintf(err, errlen, "bad TAP device name '%s'", cfg->tap_name);
		return -1;
	}
	dev->created = if_nametoindex(cfg->tap_name) == 0;
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		return -1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", cfg->tap_name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "cannot attach to TAP device %s: %s", cfg->tap_name,
		         strerror(errno));
		close(fd);
		return -1;
	}
	dev->tap_fd = fd;
	snprintf(dev->name, sizeof(dev->name), "%s", ifr.ifr_name);
	memcpy(dev->mac, cfg->mac, 6);
	dev->ipv4 = cfg->ipv4;
	dev->netmask = cfg->netmask;
	dev->gateway = cfg->gateway;
	if (set_link_up(dev->name, err, errlen)) {
		net_close(dev);
		return -1;
	}
	return 0;
}

void net_close(struct net_dev *dev)
{
	if (dev->tap_fd >= 0)
		close(dev->tap_fd);
	dev->tap_fd = -1;
}

int net_rx_pending(const struct net_dev *dev)
{
	if (!dev->rx)
		return 0;
	uint32_t head = __atomic_load_n(&dev->rx->head, __ATOMIC_ACQUIRE);
	uint32_t tail = __atomic_load_n(&dev->rx->tail, __ATOMIC_ACQUIRE);
	return head != tail;
}

/* Sends the frames the guest queued; stops early if the TAP queue is full. */
static int pump_tx(struct net_dev *dev, char *err, size_t errlen)
{
	struct hedge_net_ring *tx = dev->tx;
	uint32_t head = __atomic_load_n(&tx->head, __ATOMIC_ACQUIRE);
	uint32_t tail = tx->tail;
	if (head - tail > HEDGE_NET_SLOTS) {
		snprintf(err, errlen, "net: guest tx ring is corrupt (head %u, tail %u)", head,
		         tail);
		return -1;
	}
	for (; tail != head; tail++) {
		struct hedge_net_slot *slot = &tx->slots[tail % HEDGE_NET_SLOTS];
		uint32_t len = __atomic_load_n(&slot->len, __ATOMIC_RELAXED);
		if (len < ETH_HEADER || len > HEDGE_NET_FRAME_MAX ||
		    memcmp(slot->data + 6, dev->mac, 6) != 0) {
			dev->tx_dropped++;
			continue;
		}
		if (write(dev->tap_fd, slot->data, len) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break; /* try again on the next kick */
			dev->tx_dropped++;
			continue;
		}
		dev->tx_frames++;
	}
	__atomic_store_n(&tx->tail, tail, __ATOMIC_RELEASE);
	return 0;
}

/* Checks rx's indices; -1 with a reason if the guest corrupted them. */
static int rx_indices(struct net_dev *dev, uint32_t *head, uint32_t *tail, char *err, size_t errlen)
{
	*head = dev->rx->head;
	*tail = __atomic_load_n(&dev->rx->tail, __ATOMIC_ACQUIRE);
	if (*head - *tail > HEDGE_NET_SLOTS) {
		snprintf(err, errlen, "net: guest rx ring is corrupt (head %u, tail %u)", *head,
		         *tail);
		return -1;
	}
	return 0;
}

/* Moves waiting TAP frames into rx until it is full or the TAP is empty. */
static int pump_rx(struct net_dev *dev, char *err, size_t errlen)
{
	struct hedge_net_ring *rx = dev->rx;
	uint32_t head, tail;
	if (rx_indices(dev, &head, &tail, err, errlen))
		return -1;
	while (head - tail < HEDGE_NET_SLOTS) {
		struct hedge_net_slot *slot = &rx->slots[head % HEDGE_NET_SLOTS];
		ssize_t n = read(dev->tap_fd, slot->data, sizeof(slot->data));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if ((size_t)n < ETH_HEADER || (size_t)n > HEDGE_NET_FRAME_MAX) {
			dev->rx_dropped++; /* runts and jumbo frames never reach the guest */
			continue;
		}
		__atomic_store_n(&slot->len, (uint32_t)n, __ATOMIC_RELAXED);
		head++;
		dev->rx_frames++;
	}
	__atomic_store_n(&rx->head, head, __ATOMIC_RELEASE);
	return 0;
}

ssize_t net_take(struct net_dev *dev, uint8_t *buf, size_t cap)
{
	for (;;) {
		ssize_t n = read(dev->tap_fd, buf, cap);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == EAGAIN ? 0 : -1;
		if ((size_t)n >= ETH_HEADER && (size_t)n <= HEDGE_NET_FRAME_MAX)
			return n;
		dev->rx_dropped++;
	}
}

int net_deliver(struct net_dev *dev, const uint8_t *frame, size_t len, char *err, size_t errlen)
{
	uint32_t head, tail;
	if (!dev->rx)
		return 0;
	if (rx_indices(dev, &head, &tail, err, errlen))
		return -1;
	if (head - tail >= HEDGE_NET_SLOTS || len < ETH_HEADER || len > HEDGE_NET_FRAME_MAX) {
		dev->rx_dropped++;
		return 0;
	}
	struct hedge_net_slot *slot = &dev->rx->slots[head % HEDGE_NET_SLOTS];
	memcpy(slot->data, frame, len);
	__atomic_store_n(&slot->len, (uint32_t)len, __ATOMIC_RELAXED);
	__atomic_store_n(&dev->rx->head, head + 1, __ATOMIC_RELEASE);
	dev->rx_frames++;
	return 1;
}

/* An ARP request for the guest's own address, from it, to everyone. */
static void send_announcement(struct net_dev *dev)
{
	uint8_t f[60] = {0};
	memset(f, 0xff, 6);
	memcpy(f + 6, dev->mac, 6);
	f[12] = 0x08, f[13] = 0x06;                 /* ARP */
	f[14] = 0x00, f[15] = 0x01;                 /* Ethernet */
	f[16] = 0x08, f[17] = 0x00;                 /* IPv4 */
	f[18] = 6, f[19] = 4, f[20] = 0, f[21] = 1; /* request */
	memcpy(f + 22, dev->mac, 6);
	memcpy(f + 28, &dev->ipv4, 4);
	memcpy(f + 38, &dev->ipv4, 4);
	/* Best effort: peers relearn on the guest's next packet anyway. */
	if (write(dev->tap_fd, f, sizeof(f)) == (ssize_t)sizeof(f))
		dev->tx_frames++;
}

#define ANNOUNCE_FIRST_NS 50000000ull /* then twice the gap each time */

void net_announce(struct net_dev *dev)
{
	if (!dev->ipv4 || dev->tap_fd < 0)
		return;
	send_announcement(dev);
	dev->announce_left = NET_ANNOUNCE_REPEATS;
	dev->announce_next_ns = host_monotonic_ns() + ANNOUNCE_FIRST_NS;
}

uint64_t net_announce_wait_ns(const struct net_dev *dev, uint64_t now_ns)
{
	if (!dev->announce_left)
		return UINT64_MAX;
	return dev->announce_next_ns > now_ns ? dev->announce_next_ns - now_ns : 0;
}

void net_announce_due(struct net_dev *dev)
{
	if (!dev->announce_left)
		return;
	uint64_t now = host_monotonic_ns();
	if (now < dev->announce_next_ns)
		return;
	send_announcement(dev);
	dev->announce_left--;
	unsigned sent = NET_ANNOUNCE_REPEATS - dev->announce_left;
	dev->announce_next_ns = now + (ANNOUNCE_FIRST_NS << sent);
}

int net_pump(struct net_dev *dev, char *err, size_t errlen)
{
	net_announce_due(dev);
	if (!dev->tx || !dev->rx)
		return 0;
	if (pump_tx(dev, err, errlen) || pump_rx(dev, err, errlen))
		return -1;
	return 0;
}
