/*
 * lwipopts.h - how lwIP is configured for hedge guests.
 *
 * One thread, no OS (NO_SYS): lwIP's raw API is driven by the guest's event
 * loop (guest/net/loop.c), and hedge's own socket layer (guest/net/socket.c)
 * replaces lwIP's netconn/socket APIs.  IPv4 only, static addresses from the
 * monitor (no DHCP).  Sized for a server with hundreds of concurrent
 * connections on a fast virtual link where every exit costs microseconds:
 * large windows so a batch of frames per exit keeps the pipe full.
 */
#ifndef HEDGE_LWIPOPTS_H
#define HEDGE_LWIPOPTS_H

/* --- system --- */
#define NO_SYS                  1
#define LWIP_TIMERS             1
#define SYS_LIGHTWEIGHT_PROT    0
#define LWIP_NETCONN            0
#define LWIP_SOCKET             0
#define LWIP_TCPIP_CORE_LOCKING 0
#define LWIP_STATS              0
#define LWIP_PROVIDE_ERRNO      0

/* --- protocols --- */
#define LWIP_IPV4           1
#define LWIP_IPV6           0
#define LWIP_ETHERNET       1
#define LWIP_ARP            1
#define LWIP_ICMP           1 /* answers pings */
#define LWIP_RAW            0
#define LWIP_UDP            1
#define LWIP_TCP            1
#define LWIP_DHCP           0
#define LWIP_AUTOIP         0
#define LWIP_IGMP           0
#define LWIP_DNS            0
#define LWIP_BROADCAST_PING 0
#define LWIP_MULTICAST_PING 0

/* Reassembly is needed for UDP datagrams larger than the MTU; bounded. */
#define IP_REASSEMBLY      1
#define IP_FRAG            1
#define IP_REASS_MAX_PBUFS 64
#define MEMP_NUM_REASSDATA 8
#define MEMP_NUM_FRAG_PBUF 64

/* 127.0.0.1, and packets to our own address, go through lwIP's loopback. */
#define LWIP_NETIF_LOOPBACK     1
#define LWIP_HAVE_LOOPIF        1
#define LWIP_LOOPBACK_MAX_PBUFS 1024

/* Checksums are generated and checked in software: the TAP device does neither. */
#define CHECKSUM_GEN_IP     1
#define CHECKSUM_GEN_UDP    1
#define CHECKSUM_GEN_TCP    1
#define CHECKSUM_GEN_ICMP   1
#define CHECKSUM_CHECK_IP   1
#define CHECKSUM_CHECK_UDP  1
#define CHECKSUM_CHECK_TCP  1
#define CHECKSUM_CHECK_ICMP 1

/* --- memory --- */
/*
 * lwIP's heap (PBUF_RAM: queued TCP data, outgoing UDP, loopback copies)
 * comes from the guest heap through a budget (guest/net/sys_arch.c) that
 * grows with --mem, rather than a fixed MEM_SIZE array: a 32 MiB VM and a
 * 1 GiB VM both get a sensible amount, and exhaustion is an ordinary
 * ERR_MEM (send returns -EAGAIN / a short count) instead of a crash.
 */
#define MEM_LIBC_MALLOC 1
#define MEM_ALIGNMENT   8
#define MEM_SIZE        (4 * 1024 * 1024) /* unused with MEM_LIBC_MALLOC; documents intent */
#define mem_clib_malloc hedge_lwip_malloc
#define mem_clib_free   hedge_lwip_free
#define mem_clib_calloc hedge_lwip_calloc
#ifndef __ASSEMBLER__
#include <stddef.h>
void *hedge_lwip_malloc(size_t size);
void *hedge_lwip_calloc(size_t count, size_t size);
void hedge_lwip_free(void *ptr);
#endif

/* Fixed pools: their sizes are hard limits, kept in .bss (untouched pages cost nothing). */
#define MEMP_NUM_TCP_PCB        2048 /* 1024+ live connections plus TIME_WAIT */
#define MEMP_NUM_TCP_PCB_LISTEN 32
#define MEMP_NUM_UDP_PCB        128
#define MEMP_NUM_TCP_SEG        8192
#define MEMP_NUM_PBUF           512
#define MEMP_NUM_ARP_QUEUE      64
/* Received frames: the rx ring holds 256; sockets copy data out at once (sock_tcp.c). */
#define PBUF_POOL_SIZE          512

/* --- ARP --- */
/*
 * A whole /24: when the table is full lwIP recycles stable entries before
 * pending ones, so a flood from many on-link sources would otherwise keep
 * evicting the peers we actually talk to.
 */
#define ARP_TABLE_SIZE      256
#define ARP_QUEUEING        1
#define ETHARP_TRUST_IP_MAC 0

/* --- TCP --- */
#define TCP_MSS                    1460
#define LWIP_WND_SCALE             1
#define TCP_RCV_SCALE              2 /* advertises up to 256 KiB */
#define TCP_WND                    (128 * 1024)
#define TCP_SND_BUF                (128 * 1024)
#define TCP_SND_QUEUELEN           ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
/* The default (half of TCP_SND_BUF) would trip lwIP's u16 sanity check. */
#define TCP_SNDLOWAT               (32 * 1024)
/* Window updates once a quarter of the window is read, not every 4 segments: fewer pure ACKs. */
#define TCP_WND_UPDATE_THRESHOLD   (TCP_WND / 4)
#define TCP_QUEUE_OOSEQ            1
#define TCP_OOSEQ_MAX_BYTES        (64 * 1024) /* per connection */
#define TCP_OOSEQ_MAX_PBUFS        64
#define TCP_LISTEN_BACKLOG         1
#define TCP_DEFAULT_LISTEN_BACKLOG 255
#define LWIP_TCP_KEEPALIVE         1
#define SO_REUSE                   1
#define LWIP_CALLBACK_API          1
#define LWIP_EVENT_API             0

/*
 * Initial sequence numbers: lwIP's default is a counter, which makes blind
 * injection easy.  Ours is RFC 6528's keyed hash of the 4-tuple plus a clock.
 */
#ifndef __ASSEMBLER__
unsigned int hedge_tcp_isn(const void *local_ip, unsigned short local_port, const void *remote_ip,
                           unsigned short remote_port);
#endif
#define LWIP_HOOK_TCP_ISN(lip, lport, rip, rport) \
	hedge_tcp_isn((const void *)(lip), (lport), (const void *)(rip), (rport))

/* A SYN flood must not lock a listener out (guest/net/syn_guard.c). */
#ifndef __ASSEMBLER__
int hedge_tcp_inpacket(void *pcb, const void *hdr);
#endif
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p) \
	((err_t)hedge_tcp_inpacket((void *)(pcb), (const void *)(hdr)))

/* --- netif --- */
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK   0
#define LWIP_NETIF_HOSTNAME        0
#define LWIP_NETIF_TX_SINGLE_PBUF  0

#endif /* HEDGE_LWIPOPTS_H */
