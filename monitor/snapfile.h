/*
 * snapfile.h - the snapshot file format: a header, checksummed sections of
 * vCPU and device state, and a page-aligned image of guest memory.
 *
 *   [0, 128)                 header (magic, versions, sizes, CPU summary, CRC)
 *   [128, meta_size)         sections: {type, flags, length, crc} + payload,
 *                            each padded to 8 bytes
 *   [meta_size, mem_offset)  zeros up to the next page boundary
 *   [mem_offset, file_size)  guest memory, mem_size bytes, byte for byte: the
 *                            pages the MEMORY section lists hold data, every
 *                            other page is a hole (reads as zero)
 *
 * All integers are little-endian.  Every section and every memory extent
 * carries a CRC-32C, and every byte outside them must be zero, so a flipped
 * bit anywhere is caught.  The memory image sits where mmap can map it
 * copy-on-write, which makes a restore cost what the guest touched, not
 * what it was given.
 *
 * The same bytes stream: the prefix [0, mem_offset) followed by each
 * extent's data in table order carries everything, and a receiver that
 * writes each piece at mem_offset + gpa rebuilds the file.
 */
#ifndef HEDGE_SNAPFILE_H
#define HEDGE_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC        "HEDGESNP"
#define SNAP_VERSION      1u
#define SNAP_HEADER_SIZE  128u
#define SNAP_PAGE_SIZE    4096u
#define SNAP_EXTENT_PAGES 256u /* an extent covers at most 1 MiB: checksums stay local */
#define SNAP_CPUID_MAX    256u
#define SNAP_MSRS_MAX     1024u
#define SNAP_XSAVE_MAX    (1u << 20)
/* Room for the extent table of the largest guest, one extent per page, and the rest. */
#define SNAP_META_MAX     ((16ull << 30) / SNAP_PAGE_SIZE * 16 + (1u << 20))

#define SNAP_SEC_OPTIONAL 1u /* section flag: a reader that does not know the type may skip it */

enum snap_sec {
	SNAP_SEC_CPUID = 1,      /* u32 nent, u32 0, nent x struct kvm_cpuid_entry2 */
	SNAP_SEC_REGS = 2,       /* struct kvm_regs */
	SNAP_SEC_SREGS = 3,      /* struct kvm_sregs (hosts without KVM_CAP_SREGS2) */
	SNAP_SEC_SREGS2 = 4,     /* struct kvm_sregs2 */
	SNAP_SEC_FPU = 5,        /* struct kvm_fpu */
	SNAP_SEC_XSAVE = 6,      /* the KVM_GET_XSAVE(2) region */
	SNAP_SEC_XCRS = 7,       /* struct kvm_xcrs */
	SNAP_SEC_MSRS = 8,       /* u32 n, u32 0, n x {u32 index, u32 0, u64 value} */
	SNAP_SEC_EVENTS = 9,     /* struct kvm_vcpu_events */
	SNAP_SEC_DEBUGREGS = 10, /* struct kvm_debugregs */
	SNAP_SEC_CLOCK = 11,     /* struct snap_clock */
	SNAP_SEC_NET = 12,       /* struct snap_net */
	SNAP_SEC_MEMORY = 13,    /* u32 page size, u32 0, u64 n, n x struct snap_extent */
	SNAP_SEC_COUNT
};

/* CPU summary in the header: what the guest was shown, checked against the host on restore. */
enum snap_cpu_word {
	SNAP_CPU_1_ECX, /* CPUID leaf 1 */
	SNAP_CPU_1_EDX,
	SNAP_CPU_7_EBX, /* leaf 7 subleaf 0 */
	SNAP_CPU_7_ECX,
	SNAP_CPU_7_EDX,
	SNAP_CPU_X1_ECX, /* leaf 0x80000001 */
	SNAP_CPU_X1_EDX,
	SNAP_CPU_XCR0, /* leaf 0xd subleaf 0, eax: XSAVE features */
	SNAP_CPU_WORDS
};

struct snap_cpu {
	char vendor[12];    /* CPUID leaf 0 ebx, edx, ecx */
	uint32_t signature; /* leaf 1 eax: family, model, stepping */
	uint32_t features[SNAP_CPU_WORDS];
};

/* Guest clocks at the snapshot, so they can continue (see docs/snapshot.md). */
struct snap_clock {
	uint64_t tsc_khz;       /* the guest's TSC frequency; 0 if KVM could not tell */
	uint64_t guest_tsc;     /* the guest's TSC when the state was saved */
	uint64_t guest_mono_ns; /* its monotonic clock (what CLOCK_MONOTONIC hypercalls return) */
	uint64_t host_wall_ns;  /* the host's wall clock at that moment */
};

/* The network device as the monitor saw it; its rings live in guest memory. */
struct snap_net {
	uint32_t present;   /* the VM had an interface (0 or 1) */
	uint32_t rings_set; /* the guest registered its rings (0 or 1) */
	uint64_t tx_ring;   /* guest-physical addresses of the struct hedge_net_ring pair */
	uint64_t rx_ring;
	uint8_t mac[6];
	uint8_t pad[2];
	uint32_t ipv4, netmask, gateway; /* network byte order */
	uint32_t pad2;
};

/* npages pages of memory image starting at gpa, with their CRC-32C. */
struct snap_extent {
	uint64_t gpa;
	uint32_t npages;
	uint32_t crc;
};

struct snap_blob {
	const void *data;
	uint64_t len; /* 0: the section is absent */
};

/*
 * A snapshot's contents.  The writer fills in everything above the line;
 * the decoder fills in all of it, with blobs pointing into its buffer and
 * extents in memory of its own (snap_meta_free).
 */
struct snap_meta {
	uint64_t mem_size;
	uint64_t created_ns; /* host wall clock */
	struct snap_cpu cpu;
	struct snap_blob sec[SNAP_SEC_COUNT]; /* by type; SNAP_SEC_MEMORY comes from extents */
	struct snap_extent *extents;
	uint64_t nextents;
	/* ---- */
	uint64_t meta_size;  /* header and sections */
	uint64_t mem_offset; /* where the memory image starts, page-aligned */
	uint64_t file_size;  /* mem_offset + mem_size */
};

void snap_meta_free(struct snap_meta *m);

/* Fills a CPU summary from a CPUID table (nent struct kvm_cpuid_entry2). */
void snap_cpu_from_cpuid(const void *entries, uint32_t nent, struct snap_cpu *cpu);

/*
 * Builds the extent list of mem: pages that are set in candidates (one bit
 * per page; NULL: every page) and not all zero, in runs of at most
 * SNAP_EXTENT_PAGES, each with its CRC.  Returns 0 or -1 (out of memory).
 */
int snap_scan_memory(const uint8_t *mem, uint64_t mem_size, const uint64_t *candidates,
                     struct snap_extent **extents, uint64_t *nextents);

/*
 * Serialises m (which needs mem_size, cpu, sections and extents) into a
 * malloc'd buffer holding the file's first mem_offset bytes, and sets
 * m->meta_size, m->mem_offset and m->file_size.  Returns 0 or -1 with a reason.
 */
int snap_encode(struct snap_meta *m, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/*
 * Peeks at the header in buf[0..len) of a file of file_size bytes: sets
 * *prefix_len to the bytes snap_decode needs.  Returns 0 or -1 with a
 * one-line reason (bad magic, version or ABI, truncated, header checksum).
 */
int snap_peek(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t *prefix_len, char *err,
              size_t errlen);

/*
 * Checks and parses the first len bytes of a snapshot file of file_size
 * bytes (len >= the prefix snap_peek asked for).  Every field is checked
 * before use; on success m points into buf.  Returns 0 or -1 with a one-line
 * reason; nothing needs freeing after a failure.
 */
int snap_decode(const uint8_t *buf, size_t len, uint64_t file_size, struct snap_meta *m, char *err,
                size_t errlen);

/* Checks each extent's CRC against mem (mem_size bytes).  0 or -1 with a reason. */
int snap_verify_extents(const struct snap_meta *m, const uint8_t *mem, char *err, size_t errlen);

struct snap_write_stats {
	uint64_t bytes_written; /* metadata and page data actually written */
	uint64_t file_size;     /* the file's apparent size (it is sparse) */
	uint64_t pages;         /* guest pages stored */
};

/*
 * Writes a snapshot of m and mem (m->mem_size bytes) to path: into a new
 * file next to it, renamed over path only once complete, so a failure
 * leaves whatever was at path untouched.  Created 0600: it holds guest
 * memory.  Returns 0 or -1 with a reason.
 */
int snap_write_file(const char *path, struct snap_meta *m, const uint8_t *mem,
                    struct snap_write_stats *st, char *err, size_t errlen);

/* A snapshot file opened for restore. */
struct snap_file {
	int fd;
	uint8_t *prefix; /* the file's first meta.mem_offset bytes */
	struct snap_meta meta;
	uint8_t *mem; /* after snap_file_map: the memory image, mapped copy-on-write */
};

/* Opens path and checks everything but the memory image.  0 or -1 with a reason. */
int snap_file_open(const char *path, struct snap_file *f, char *err, size_t errlen);

/*
 * Maps the memory image MAP_PRIVATE (pages are read from the file when the
 * guest first touches them) and checks it: every extent's CRC, and that the
 * file holds no data outside the extents.  Returns 0 or -1 with a reason;
 * f->mem then belongs to the caller (munmap it with meta.mem_size).
 */
int snap_file_map(struct snap_file *f, char *err, size_t errlen);

/* Closes the file and frees the metadata; leaves f->mem mapped. */
void snap_file_close(struct snap_file *f);

#endif
