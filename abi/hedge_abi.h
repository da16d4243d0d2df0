/*
 * hedge_abi.h - the hypercall ABI shared by the monitor and the guest runtime.
 *
 * A guest makes a hypercall by writing the 32-bit guest-physical address of
 * an argument struct to I/O port HEDGE_HC_PORT_BASE + number.  Every argument
 * struct starts with struct hedge_hc_header; the monitor refuses a call whose
 * header does not carry HEDGE_ABI_VERSION.  Results are written back into the
 * same struct before the vCPU resumes.
 *
 * The monitor hands the guest a struct hedge_boot_info at HEDGE_BOOT_INFO_ADDR
 * (also passed in %rdi).  All structs are plain little-endian data with fixed
 * sizes so the two sides never disagree about layout.
 */
#ifndef HEDGE_ABI_H
#define HEDGE_ABI_H

#include <stdint.h>

#define HEDGE_ABI_VERSION 1u
#define HEDGE_BOOT_MAGIC  0x65676465685f6248ull /* "Hb_hedge" */

/* Guest-physical layout below 1 MiB, owned by the monitor. */
#define HEDGE_BOOT_INFO_ADDR 0x1000u
#define HEDGE_ARGS_ADDR      0x2000u /* argv and envp strings, NUL-separated */
#define HEDGE_ARGS_SIZE      0x8000u /* 32 KiB */
#define HEDGE_GDT_ADDR       0xa000u
#define HEDGE_PML4_ADDR      0xb000u
#define HEDGE_PDPT_ADDR      0xc000u
#define HEDGE_PD_ADDR        0xd000u  /* HEDGE_MAX_MEM_GIB consecutive page directories */
#define HEDGE_IDT_ADDR       0x1d000u /* 256 gates, filled in by the guest */
#define HEDGE_PT0_ADDR       0x1e000u /* 4 KiB mappings of the first 2 MiB */
#define HEDGE_TSS_ADDR       0x20000u /* 64-bit TSS followed by its I/O permission bitmap */
#define HEDGE_TSS_SIZE       (104u + 8192u + 1u)
#define HEDGE_SCRATCH_STACK  0x100000u /* ring-0 stack until the guest sets its own */
#define HEDGE_IMAGE_MIN      0x100000u /* nothing of the image may sit below 1 MiB */
#define HEDGE_MAX_MEM_GIB    16u

/*
 * The guest starts in ring 3 (CPL 3) with these selectors, and stays there:
 * hypervisors that emulate ring 0 (such as PVM) run ring-3 code natively.
 * The TSS's I/O bitmap lets ring 3 reach the hypercall ports and nothing
 * else; ring 0 is entered only through the IDT, for CPU exceptions.
 */
#define HEDGE_SEL_KCODE   0x08u
#define HEDGE_SEL_KDATA   0x10u
#define HEDGE_SEL_UCODE   0x1bu
#define HEDGE_SEL_UDATA   0x23u
#define HEDGE_SEL_TSS     0x28u
#define HEDGE_GDT_ENTRIES 7u

#define HEDGE_HC_PORT_BASE 0x500u

enum hedge_hypercall {
	HEDGE_HC_CONSOLE_WRITE = 0,
	HEDGE_HC_CLOCK_MONOTONIC = 1,
	HEDGE_HC_CLOCK_WALL = 2,
	HEDGE_HC_EXIT = 3,
	HEDGE_HC_ABORT = 4,
	HEDGE_HC_POLL = 5,
	HEDGE_HC_RANDOM = 6,
	HEDGE_HC_CONSOLE_READ = 7,
	HEDGE_HC_NET_INFO = 8,
	HEDGE_HC_NET_SETUP = 9,
	HEDGE_HC_NET_KICK = 10,
	HEDGE_HC_COUNT
};

struct hedge_hc_header {
	uint32_t abi_version; /* HEDGE_ABI_VERSION */
	int32_t ret;          /* 0 or a negative HEDGE_E* code, set by the monitor */
};

#define HEDGE_EOK    0
#define HEDGE_EIO    (-5)
#define HEDGE_EBADF  (-9)
#define HEDGE_EPIPE  (-32)
#define HEDGE_EINVAL (-22)

#define HEDGE_STREAM_STDOUT 1u
#define HEDGE_STREAM_STDERR 2u
struct hedge_hc_console_write {
	struct hedge_hc_header hdr;
	uint64_t data;   /* guest-physical address */
	uint64_t len;
	uint32_t stream; /* HEDGE_STREAM_STDOUT or HEDGE_STREAM_STDERR */
	uint32_t pad;
};

/* Reads the monitor's stdin; blocks until data, end of file (nread 0) or error. */
struct hedge_hc_console_read {
	struct hedge_hc_header hdr;
	uint64_t buf; /* guest-physical address */
	uint64_t len;
	uint64_t nread; /* out */
};

struct hedge_hc_clock {
	struct hedge_hc_header hdr;
	uint64_t ns; /* out: nanoseconds (monotonic since boot, or since the Unix epoch) */
};

struct hedge_hc_exit {
	struct hedge_hc_header hdr;
	int32_t status;
	uint32_t pad;
};

#define HEDGE_ABORT_MSG_MAX 4096u
struct hedge_hc_abort {
	struct hedge_hc_header hdr;
	uint64_t msg; /* guest-physical address of the message, not NUL-terminated */
	uint64_t len; /* at most HEDGE_ABORT_MSG_MAX is shown */
};

/* Block until an event in interest arrives or timeout_ns passes; ready reports which. */
#define HEDGE_EVENT_STDIN (1ull << 0) /* the monitor's stdin is readable (or at EOF) */
#define HEDGE_EVENT_NET   (1ull << 1) /* the network receive ring has frames */
struct hedge_hc_poll {
	struct hedge_hc_header hdr;
	uint64_t timeout_ns; /* relative; 0 returns at once */
	uint64_t interest;   /* HEDGE_EVENT_* bits to wait for */
	uint64_t ready;      /* out: HEDGE_EVENT_* bits that are pending */
};

#define HEDGE_RANDOM_MAX 65536u
struct hedge_hc_random {
	struct hedge_hc_header hdr;
	uint64_t buf; /* guest-physical address */
	uint64_t len; /* at most HEDGE_RANDOM_MAX */
};

/*
 * Networking: one Ethernet interface backed by a TAP device on the host.
 * Frames move through two single-producer rings in guest memory that the
 * guest allocates and registers with NET_SETUP: the guest produces on tx,
 * the monitor on rx.  A NET_KICK makes the monitor send everything queued
 * on tx and move whatever the TAP device has into rx, in one exit; a POLL
 * with HEDGE_EVENT_NET does the same and blocks until rx has frames.  So a
 * busy guest pays one exit per batch of frames, not one per frame.
 */
#define HEDGE_NET_SLOTS 256u       /* per ring; a power of two */
#define HEDGE_NET_SLOT_SIZE 2048u  /* bytes per slot, length word included */
#define HEDGE_NET_FRAME_MAX 1514u  /* Ethernet frame without FCS, MTU 1500 */

struct hedge_net_slot {
	uint32_t len; /* frame bytes in data */
	uint32_t pad;
	uint8_t data[HEDGE_NET_SLOT_SIZE - 8];
};

/* head and tail count frames forever; slot = index % HEDGE_NET_SLOTS. */
struct hedge_net_ring {
	uint32_t head; /* written by the producer only */
	uint32_t pad0[15];
	uint32_t tail; /* written by the consumer only */
	uint32_t pad1[15];
	struct hedge_net_slot slots[HEDGE_NET_SLOTS];
};

struct hedge_hc_net_info {
	struct hedge_hc_header hdr;
	uint32_t present;  /* out: 1 if the VM has an interface */
	uint32_t mtu;      /* out */
	uint8_t mac[6];    /* out */
	uint8_t pad[2];
	uint32_t ipv4;     /* out: address, network byte order; 0 if none given */
	uint32_t netmask;  /* out: network byte order */
	uint32_t gateway;  /* out: network byte order; 0 if none */
	uint32_t pad2;
};

struct hedge_hc_net_setup {
	struct hedge_hc_header hdr;
	uint64_t tx_ring; /* guest-physical address of a struct hedge_net_ring */
	uint64_t rx_ring; /* likewise; the two must not overlap */
};

struct hedge_hc_net_kick {
	struct hedge_hc_header hdr;
	uint64_t ready; /* out: HEDGE_EVENT_NET if rx has frames */
};

struct hedge_boot_info {
	uint64_t magic;       /* HEDGE_BOOT_MAGIC */
	uint32_t abi_version; /* HEDGE_ABI_VERSION */
	uint32_t argc;
	uint64_t mem_size;      /* bytes of guest-physical memory, starting at 0 */
	uint64_t tsc_khz;       /* 0 when the monitor could not tell */
	uint64_t wall_epoch_ns; /* wall clock at monotonic time 0 */
	uint64_t args;          /* guest-physical address of argc NUL-terminated strings */
	uint64_t args_size;     /* bytes used at args, environment strings included */
	uint32_t envc;          /* environment strings follow the arguments */
	uint32_t flags;
	uint64_t image_end;  /* first byte after the highest loaded segment */
	uint64_t heap_start; /* first free byte after the image and what the monitor loaded */
	uint64_t fs_table;   /* guest-physical address of fs_count struct hedge_fs_entry */
	uint32_t fs_count;
	uint32_t listen_count;
	uint64_t listen_table; /* guest-physical address of listen_count struct hedge_listen_entry */
	uint64_t reserved[7];
};

/*
 * A socket the guest should open and listen on before the program starts
 * (hedge run --listen ADDR:PORT), handed to WASI programs as a preopened
 * listening socket, as wasmtime's --listen does.
 */
#define HEDGE_LISTEN_TCP 1u
struct hedge_listen_entry {
	uint32_t ipv4;  /* network byte order; 0 = any */
	uint16_t port;  /* host byte order */
	uint16_t proto; /* HEDGE_LISTEN_TCP */
};

/*
 * A directory the monitor loaded into guest memory (hedge run --dir), as a
 * ustar archive, to appear at guest_path in the guest's file system.
 */
struct hedge_fs_entry {
	uint64_t path;     /* guest-physical address of a NUL-terminated guest path */
	uint64_t tar;      /* guest-physical address of the archive */
	uint64_t tar_size; /* bytes */
};

#endif
