/*
 * snapfile.c - the snapshot file format: a header, checksummed sections of
 * vCPU and device state, and a page-aligned image of guest memory.
 *
 * A snapshot is untrusted input (it may come from another host, or have
 * been damaged on the way), so the decoder checks every length against the
 * buffer with overflow-safe arithmetic, every checksum, every reserved byte
 * and every size a section's type implies, before anything else reads it.
 * Nothing here knows about KVM beyond the sizes of its structs: the fuzzer
 * and the unit tests run this file alone.
 */
#include "snapfile.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "hedge_abi.h"
#include "le.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the snapshot format is little-endian and so is this code"
#endif

#define SEC_HEADER_SIZE 24u
#define MIN_MEM         (2ull << 20)
#define MAX_MEM         ((uint64_t)HEDGE_MAX_MEM_GIB << 30)

/* Header field offsets. */
enum {
	H_MAGIC = 0,
	H_VERSION = 8,
	H_ABI = 12,
	H_HEADER_SIZE = 16,
	H_NSECTIONS = 20,
	H_META_SIZE = 24,
	H_MEM_OFFSET = 32,
	H_MEM_SIZE = 40,
	H_FILE_SIZE = 48,
	H_VENDOR = 56,
	H_SIGNATURE = 68,
	H_FEATURES = 72,
	H_CREATED = 104,
	H_RESERVED = 112, /* 12 zero bytes */
	H_CRC = 124,
};

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static int all_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

static const char *const sec_name[SNAP_SEC_COUNT] = {
    [SNAP_SEC_CPUID] = "cpuid",         [SNAP_SEC_REGS] = "regs",   [SNAP_SEC_SREGS] = "sregs",
    [SNAP_SEC_SREGS2] = "sregs2",       [SNAP_SEC_FPU] = "fpu",     [SNAP_SEC_XSAVE] = "xsave",
    [SNAP_SEC_XCRS] = "xcrs",           [SNAP_SEC_MSRS] = "msrs",   [SNAP_SEC_EVENTS] = "events",
    [SNAP_SEC_DEBUGREGS] = "debugregs", [SNAP_SEC_CLOCK] = "clock", [SNAP_SEC_NET] = "net",
    [SNAP_SEC_MEMORY] = "memory",
};

/* Exact payload sizes of the fixed-size sections; 0 for the variable ones. */
static const uint64_t sec_fixed_size[SNAP_SEC_COUNT] = {
    [SNAP_SEC_REGS] = sizeof(struct kvm_regs),
    [SNAP_SEC_SREGS] = sizeof(struct kvm_sregs),
    [SNAP_SEC_SREGS2] = sizeof(struct kvm_sregs2),
    [SNAP_SEC_FPU] = sizeof(struct kvm_fpu),
    [SNAP_SEC_XCRS] = sizeof(struct kvm_xcrs),
    [SNAP_SEC_EVENTS] = sizeof(struct kvm_vcpu_events),
    [SNAP_SEC_DEBUGREGS] = sizeof(struct kvm_debugregs),
    [SNAP_SEC_CLOCK] = sizeof(struct snap_clock),
    [SNAP_SEC_NET] = sizeof(struct snap_net),
};

void snap_meta_free(struct snap_meta *m)
{
	free(m->extents);
	m->extents = NULL;
	m->nextents = 0;
}

/* Copies the entry for function/index into *out (zeros if absent); entries may be unaligned. */
static void cpuid_find(const uint8_t *entries, uint32_t nent, uint32_t function, uint32_t index,
                       struct kvm_cpuid_entry2 *out)
{
	for (uint32_t i = 0; i < nent; i++) {
		memcpy(out, entries + (size_t)i * sizeof(*out), sizeof(*out));
		if (out->function == function &&
		    (!(out->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) || out->index == index))
			return;
	}
	memset(out, 0, sizeof(*out));
}

void snap_cpu_from_cpuid(const void *entries, uint32_t nent, struct snap_cpu *cpu)
{
	struct kvm_cpuid_entry2 l0, l1, l7, ld, x1;
	cpuid_find(entries, nent, 0, 0, &l0);
	cpuid_find(entries, nent, 1, 0, &l1);
	cpuid_find(entries, nent, 7, 0, &l7);
	cpuid_find(entries, nent, 0xd, 0, &ld);
	cpuid_find(entries, nent, 0x80000001u, 0, &x1);
	memset(cpu, 0, sizeof(*cpu));
	memcpy(cpu->vendor, &l0.ebx, 4);
	memcpy(cpu->vendor + 4, &l0.edx, 4);
	memcpy(cpu->vendor + 8, &l0.ecx, 4);
	cpu->signature = l1.eax;
	cpu->features[SNAP_CPU_1_ECX] = l1.ecx;
	cpu->features[SNAP_CPU_1_EDX] = l1.edx;
	cpu->features[SNAP_CPU_7_EBX] = l7.ebx;
	cpu->features[SNAP_CPU_7_ECX] = l7.ecx;
	cpu->features[SNAP_CPU_7_EDX] = l7.edx;
	cpu->features[SNAP_CPU_X1_ECX] = x1.ecx;
	cpu->features[SNAP_CPU_X1_EDX] = x1.edx;
	cpu->features[SNAP_CPU_XCR0] = ld.eax;
}

static int page_is_zero(const uint8_t *p)
{
	/* Eight words per step: the compiler turns this into vector ORs. */
	for (size_t off = 0; off < SNAP_PAGE_SIZE; off += 64) {
		uint64_t w[8];
		memcpy(w, p + off, sizeof(w));
		if (w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7])
			return 0;
	}
	return 1;
}

/*
 * Grows by hand, not with realloc: glibc moves large blocks with mremap,
 * which the monitor's sandbox does not allow.
 */
static int grow(struct snap_extent **ext, uint64_t *cap, uint64_t n)
{
	uint64_t ncap = *cap ? *cap * 2 : 64;
	struct snap_extent *grown = malloc(ncap * sizeof(**ext));
	if (!grown)
		return -1;
	if (n)
		memcpy(grown, *ext, n * sizeof(**ext));
	free(*ext);
	*ext = grown;
	*cap = ncap;
	return 0;
}

int snap_scan_memory(const uint8_t *mem, uint64_t mem_size, const uint64_t *candidates,
                     struct snap_extent **extents, uint64_t *nextents)
{
	uint64_t pages = mem_size / SNAP_PAGE_SIZE, n = 0, cap = 0;
	struct snap_extent *ext = NULL;
	for (uint64_t pg = 0; pg < pages; pg++) {
		if (candidates && !((candidates[pg / 64] >> (pg % 64)) & 1))
			continue;
		if (page_is_zero(mem + pg * SNAP_PAGE_SIZE))
			continue;
		struct snap_extent *last = n ? &ext[n - 1] : NULL;
		if (last && last->gpa / SNAP_PAGE_SIZE + last->npages == pg &&
		    last->npages < SNAP_EXTENT_PAGES) {
			last->npages++;
			continue;
		}
		if (n == cap && grow(&ext, &cap, n)) {
			free(ext);
			return -1;
		}
		ext[n++] = (struct snap_extent){.gpa = pg * SNAP_PAGE_SIZE, .npages = 1};
	}
	for (uint64_t i = 0; i < n; i++)
		ext[i].crc = crc32c(0, mem + ext[i].gpa, (size_t)ext[i].npages * SNAP_PAGE_SIZE);
	*extents = ext;
	*nextents = n;
	return 0;
}

/* Appends one section at *off: header, payload, zero padding, CRC over all three. */
static void put_section(uint8_t *buf, uint64_t *off, uint32_t type, const void *a, uint64_t alen,
                        const void *b, uint64_t blen)
{
	uint8_t *h = buf + *off;
	uint64_t len = alen + blen, padded = align_up(len, 8);
	put32(h, type);
	put32(h + 4, 0);
	put64(h + 8, len);
	put32(h + 16, 0); /* the CRC, filled in below */
	put32(h + 20, 0);
	if (alen)
		memcpy(h + SEC_HEADER_SIZE, a, alen);
	if (blen)
		memcpy(h + SEC_HEADER_SIZE + alen, b, blen);
	memset(h + SEC_HEADER_SIZE + len, 0, padded - len);
	put32(h + 16, crc32c(0, h, SEC_HEADER_SIZE + padded));
	*off += SEC_HEADER_SIZE + padded;
}

int snap_encode(struct snap_meta *m, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	uint64_t meta = SNAP_HEADER_SIZE;
	uint32_t nsec = 0;
	for (int t = 1; t < SNAP_SEC_COUNT; t++) {
		uint64_t len = t == SNAP_SEC_MEMORY ? 16 + m->nextents * sizeof(struct snap_extent)
		                                    : m->sec[t].len;
		if (t != SNAP_SEC_MEMORY && len == 0)
			continue;
		meta += SEC_HEADER_SIZE + align_up(len, 8);
		nsec++;
	}
	if (meta > SNAP_META_MAX)
		return set_err(err, errlen, "snapshot metadata of %llu bytes is too large",
		               (unsigned long long)meta);
	m->meta_size = meta;
	m->mem_offset = align_up(meta, SNAP_PAGE_SIZE);
	m->file_size = m->mem_offset + m->mem_size;

	uint8_t *buf = calloc(1, m->mem_offset);
	if (!buf)
		return set_err(err, errlen, "out of memory");
	memcpy(buf + H_MAGIC, SNAP_MAGIC, 8);
	put32(buf + H_VERSION, SNAP_VERSION);
	put32(buf + H_ABI, HEDGE_ABI_VERSION);
	put32(buf + H_HEADER_SIZE, SNAP_HEADER_SIZE);
	put32(buf + H_NSECTIONS, nsec);
	put64(buf + H_META_SIZE, m->meta_size);
	put64(buf + H_MEM_OFFSET, m->mem_offset);
	put64(buf + H_MEM_SIZE, m->mem_size);
	put64(buf + H_FILE_SIZE, m->file_size);
	memcpy(buf + H_VENDOR, m->cpu.vendor, 12);
	put32(buf + H_SIGNATURE, m->cpu.signature);
	for (int i = 0; i < SNAP_CPU_WORDS; i++)
		put32(buf + H_FEATURES + 4 * i, m->cpu.features[i]);
	put64(buf + H_CREATED, m->created_ns);
	put32(buf + H_CRC, crc32c(0, buf, SNAP_HEADER_SIZE));

	uint64_t off = SNAP_HEADER_SIZE;
	for (int t = 1; t < SNAP_SEC_COUNT; t++) {
		if (t == SNAP_SEC_MEMORY) {
			uint8_t head[16];
			put32(head, SNAP_PAGE_SIZE);
			put32(head + 4, 0);
			put64(head + 8, m->nextents);
			put_section(buf, &off, (uint32_t)t, head, sizeof(head), m->extents,
			            m->nextents * sizeof(struct snap_extent));
		} else if (m->sec[t].len) {
			put_section(buf, &off, (uint32_t)t, m->sec[t].data, m->sec[t].len, NULL, 0);
		}
	}
	*out = buf;
	*outlen = m->mem_offset;
	return 0;
}

int snap_peek(const uint8_t *buf, size_t len, uint64_t file_size, uint64_t *prefix_len, char *err,
              size_t errlen)
{
	size_t magic_len = len < 8 ? len : 8;
	if (memcmp(buf, SNAP_MAGIC, magic_len) != 0)
		return set_err(err, errlen, "not a hedge snapshot (bad magic)");
	if (len < SNAP_HEADER_SIZE)
		return set_err(err, errlen,
		               "truncated: %zu bytes is shorter than a snapshot header", len);
	uint32_t version = get32(buf + H_VERSION);
	if (version != SNAP_VERSION)
		return set_err(err, errlen,
		               "snapshot format version %u, this hedge reads version %u", version,
		               SNAP_VERSION);
	if (get32(buf + H_HEADER_SIZE) != SNAP_HEADER_SIZE)
		return set_err(err, errlen, "header size %u, expected %u",
		               get32(buf + H_HEADER_SIZE), SNAP_HEADER_SIZE);
	uint8_t copy[SNAP_HEADER_SIZE];
	memcpy(copy, buf, sizeof(copy));
	put32(copy + H_CRC, 0);
	if (crc32c(0, copy, sizeof(copy)) != get32(buf + H_CRC))
		return set_err(err, errlen, "header checksum mismatch: the snapshot is corrupt");
	uint32_t abi = get32(buf + H_ABI);
	if (abi != HEDGE_ABI_VERSION)
		return set_err(err, errlen,
		               "snapshot made for hypercall ABI version %u, this hedge speaks %u",
		               abi, HEDGE_ABI_VERSION);
	if (!all_zero(buf + H_RESERVED, H_CRC - H_RESERVED))
		return set_err(err, errlen, "reserved header bytes are not zero");
	uint64_t mem_size = get64(buf + H_MEM_SIZE), meta = get64(buf + H_META_SIZE);
	uint64_t mem_offset = get64(buf + H_MEM_OFFSET), size = get64(buf + H_FILE_SIZE);
	if (mem_size < MIN_MEM || mem_size > MAX_MEM || mem_size % MIN_MEM)
		return set_err(err, errlen, "bad guest memory size %llu bytes",
		               (unsigned long long)mem_size);
	if (meta < SNAP_HEADER_SIZE || meta > SNAP_META_MAX || meta % 8 ||
	    mem_offset != align_up(meta, SNAP_PAGE_SIZE) || size != mem_offset + mem_size)
		return set_err(err, errlen, "inconsistent sizes in the snapshot header");
	if (file_size < size)
		return set_err(err, errlen,
		               "truncated: the file has %llu bytes, its header says %llu",
		               (unsigned long long)file_size, (unsigned long long)size);
	if (file_size > size)
		return set_err(err, errlen, "%llu bytes of trailing data after the memory image",
		               (unsigned long long)(file_size - size));
	*prefix_len = mem_offset;
	return 0;
}

/* Checks what a section's type says about its payload p[0..len). */
static int check_payload(int type, const uint8_t *p, uint64_t len, uint64_t mem_size, char *err,
                         size_t errlen)
{
	const char *name = sec_name[type];
	if (sec_fixed_size[type] && len != sec_fixed_size[type])
		return set_err(err, errlen, "%s section has %llu bytes, expected %llu", name,
		               (unsigned long long)len, (unsigned long long)sec_fixed_size[type]);
	switch (type) {
	case SNAP_SEC_CPUID: {
		uint32_t n = len >= 8 ? get32(p) : 0;
		if (len < 8 || n == 0 || n > SNAP_CPUID_MAX || get32(p + 4) ||
		    len != 8 + (uint64_t)n * sizeof(struct kvm_cpuid_entry2))
			return set_err(err, errlen, "malformed cpuid section");
		return 0;
	}
	case SNAP_SEC_MSRS: {
		uint32_t n = len >= 8 ? get32(p) : 0;
		if (len < 8 || n > SNAP_MSRS_MAX || get32(p + 4) || len != 8 + (uint64_t)n * 16)
			return set_err(err, errlen, "malformed msrs section");
		for (uint32_t i = 0; i < n; i++)
			if (get32(p + 8 + 16 * i + 4))
				return set_err(err, errlen, "malformed msrs section");
		return 0;
	}
	case SNAP_SEC_XSAVE:
		if (len < 4096 || len > SNAP_XSAVE_MAX || len % 4)
			return set_err(err, errlen, "xsave section has %llu bytes",
			               (unsigned long long)len);
		return 0;
	case SNAP_SEC_XCRS:
		if (get32(p) > KVM_MAX_XCRS)
			return set_err(err, errlen, "malformed xcrs section");
		return 0;
	case SNAP_SEC_CLOCK:
		/* 100 GHz: far above any TSC, low enough that the clock arithmetic cannot overflow.
		 */
		if (get64(p) > 100000000ull)
			return set_err(err, errlen, "clock section: TSC frequency out of range");
		return 0;
	case SNAP_SEC_NET: {
		struct snap_net net;
		memcpy(&net, p, sizeof(net));
		const uint64_t ring = sizeof(struct hedge_net_ring);
		if (net.present > 1 || net.rings_set > 1 || (net.rings_set && !net.present) ||
		    net.pad[0] || net.pad[1] || net.pad2)
			return set_err(err, errlen, "malformed net section");
		if (net.rings_set &&
		    (net.tx_ring % 8 || net.rx_ring % 8 || net.tx_ring > mem_size ||
		     ring > mem_size - net.tx_ring || net.rx_ring > mem_size ||
		     ring > mem_size - net.rx_ring ||
		     (net.tx_ring < net.rx_ring + ring && net.rx_ring < net.tx_ring + ring)))
			return set_err(err, errlen,
			               "net section: rings outside guest memory or overlapping");
		if (!net.rings_set && (net.tx_ring || net.rx_ring))
			return set_err(err, errlen, "malformed net section");
		return 0;
	}
	case SNAP_SEC_MEMORY: {
		uint64_t n = len >= 16 ? get64(p + 8) : 0;
		if (len < 16 || get32(p) != SNAP_PAGE_SIZE || get32(p + 4) ||
		    n > mem_size / SNAP_PAGE_SIZE || len != 16 + n * sizeof(struct snap_extent))
			return set_err(err, errlen, "malformed memory section");
		uint64_t next = 0;
		for (uint64_t i = 0; i < n; i++) {
			struct snap_extent e;
			memcpy(&e, p + 16 + i * sizeof(e), sizeof(e));
			if (e.gpa % SNAP_PAGE_SIZE || e.gpa < next || e.npages == 0 ||
			    e.npages > SNAP_EXTENT_PAGES || e.gpa > mem_size ||
			    (uint64_t)e.npages * SNAP_PAGE_SIZE > mem_size - e.gpa)
				return set_err(
				    err, errlen,
				    "memory section: extent %llu is out of order or outside "
				    "guest memory",
				    (unsigned long long)i);
			next = e.gpa + (uint64_t)e.npages * SNAP_PAGE_SIZE;
		}
		return 0;
	}
	}
	return 0;
}

static int check_required(const struct snap_blob *sec, int have_memory, char *err, size_t errlen)
{
	static const int required[] = {SNAP_SEC_CPUID, SNAP_SEC_REGS, SNAP_SEC_MSRS,
	                               SNAP_SEC_EVENTS, SNAP_SEC_CLOCK};
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!sec[required[i]].len)
			return set_err(err, errlen, "the %s section is missing",
			               sec_name[required[i]]);
	if (!have_memory)
		return set_err(err, errlen, "the memory section is missing");
	if (!sec[SNAP_SEC_SREGS].len == !sec[SNAP_SEC_SREGS2].len)
		return set_err(err, errlen, "need exactly one of the sregs and sregs2 sections");
	if (!sec[SNAP_SEC_FPU].len && !sec[SNAP_SEC_XSAVE].len)
		return set_err(err, errlen, "the fpu and xsave sections are both missing");
	return 0;
}

int snap_decode(const uint8_t *buf, size_t len, uint64_t file_size, struct snap_meta *m, char *err,
                size_t errlen)
{
	uint64_t prefix;
	memset(m, 0, sizeof(*m));
	if (snap_peek(buf, len, file_size, &prefix, err, errlen))
		return -1;
	if (len < prefix)
		return set_err(err, errlen, "truncated: metadata ends past the data given");
	uint64_t meta = get64(buf + H_META_SIZE);
	uint32_t nsec = get32(buf + H_NSECTIONS);
	uint64_t off = SNAP_HEADER_SIZE;
	const uint8_t *memory = NULL;
	uint64_t memory_len = 0;
	for (uint32_t i = 0; i < nsec; i++) {
		if (meta - off < SEC_HEADER_SIZE)
			return set_err(err, errlen, "section %u: header runs past the metadata", i);
		const uint8_t *h = buf + off;
		uint32_t type = get32(h), flags = get32(h + 4), crc = get32(h + 16);
		uint64_t plen = get64(h + 8);
		uint64_t room = meta - off - SEC_HEADER_SIZE;
		if (plen > room || align_up(plen, 8) > room)
			return set_err(err, errlen, "section %u: %llu bytes run past the metadata",
			               i, (unsigned long long)plen);
		uint64_t padded = align_up(plen, 8);
		uint8_t hcopy[SEC_HEADER_SIZE];
		memcpy(hcopy, h, sizeof(hcopy));
		put32(hcopy + 16, 0);
		uint32_t got = crc32c(crc32c(0, hcopy, sizeof(hcopy)), h + SEC_HEADER_SIZE, padded);
		if (got != crc)
			return set_err(
			    err, errlen,
			    "section %u (%s): checksum mismatch: the snapshot is corrupt", i,
			    type > 0 && type < SNAP_SEC_COUNT ? sec_name[type] : "unknown");
		if ((flags & ~SNAP_SEC_OPTIONAL) || get32(h + 20) ||
		    !all_zero(h + SEC_HEADER_SIZE + plen, padded - plen))
			return set_err(err, errlen, "section %u: reserved bits are set", i);
		off += SEC_HEADER_SIZE + padded;
		if (type == 0 || type >= SNAP_SEC_COUNT) {
			if (flags & SNAP_SEC_OPTIONAL)
				continue;
			return set_err(err, errlen,
			               "unknown section type %u (made by a newer hedge?)", type);
		}
		const uint8_t *payload = h + SEC_HEADER_SIZE;
		if ((type == SNAP_SEC_MEMORY && memory) ||
		    (type != SNAP_SEC_MEMORY && m->sec[type].data))
			return set_err(err, errlen, "duplicate %s section", sec_name[type]);
		if (check_payload((int)type, payload, plen, get64(buf + H_MEM_SIZE), err, errlen))
			return -1;
		if (type == SNAP_SEC_MEMORY) {
			memory = payload;
			memory_len = plen;
		} else {
			m->sec[type] = (struct snap_blob){.data = payload, .len = plen};
		}
	}
	if (off != meta)
		return set_err(err, errlen, "%llu bytes after the last section",
		               (unsigned long long)(meta - off));
	if (!all_zero(buf + meta, prefix - meta))
		return set_err(err, errlen, "padding before the memory image is not zero");
	if (check_required(m->sec, memory != NULL, err, errlen))
		return -1;

	/* The header's CPU summary is what a planner reads; the cpuid section is what runs. */
	const struct snap_blob *cpuid = &m->sec[SNAP_SEC_CPUID];
	snap_cpu_from_cpuid((const uint8_t *)cpuid->data + 8, get32(cpuid->data), &m->cpu);
	if (memcmp(m->cpu.vendor, buf + H_VENDOR, 12) != 0 ||
	    m->cpu.signature != get32(buf + H_SIGNATURE))
		return set_err(err, errlen,
		               "the header's CPU summary disagrees with the cpuid section");
	for (int i = 0; i < SNAP_CPU_WORDS; i++)
		if (m->cpu.features[i] != get32(buf + H_FEATURES + 4 * i))
			return set_err(err, errlen,
			               "the header's CPU summary disagrees with the cpuid section");
	m->mem_size = get64(buf + H_MEM_SIZE);
	m->created_ns = get64(buf + H_CREATED);
	m->meta_size = meta;
	m->mem_offset = prefix;
	m->file_size = file_size;
	m->nextents = get64(memory + 8);
	if (m->nextents) {
		m->extents = malloc(m->nextents * sizeof(*m->extents));
		if (!m->extents)
			return set_err(err, errlen, "out of memory");
		memcpy(m->extents, memory + 16, memory_len - 16);
	}
	return 0;
}

int snap_verify_extents(const struct snap_meta *m, const uint8_t *mem, char *err, size_t errlen)
{
	for (uint64_t i = 0; i < m->nextents; i++) {
		const struct snap_extent *e = &m->extents[i];
		if (crc32c(0, mem + e->gpa, (size_t)e->npages * SNAP_PAGE_SIZE) != e->crc)
			return set_err(
			    err, errlen,
			    "memory at 0x%llx: checksum mismatch: the snapshot is corrupt",
			    (unsigned long long)e->gpa);
	}
	return 0;
}

static int pwrite_all(int fd, const uint8_t *p, uint64_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int snap_write_file(const char *path, struct snap_meta *m, const uint8_t *mem,
                    struct snap_write_stats *st, char *err, size_t errlen)
{
	uint8_t *prefix;
	size_t prefix_len;
	if (snap_encode(m, &prefix, &prefix_len, err, errlen))
		return -1;
	char tmp[4200];
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid()) >= sizeof(tmp)) {
		free(prefix);
		return set_err(err, errlen, "path too long");
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST &&
	    unlink(tmp) == 0) /* left by a crashed hedge with our pid */
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		free(prefix);
		return -1;
	}
	/* The size first, so the pages never written stay holes. */
	int rc = ftruncate(fd, (off_t)m->file_size);
	uint64_t written = prefix_len;
	if (rc == 0)
		rc = pwrite_all(fd, prefix, prefix_len, 0);
	for (uint64_t i = 0; i < m->nextents && rc == 0; i++) {
		const struct snap_extent *e = &m->extents[i];
		uint64_t bytes = (uint64_t)e->npages * SNAP_PAGE_SIZE;
		rc = pwrite_all(fd, mem + e->gpa, bytes, m->mem_offset + e->gpa);
		written += bytes;
	}
	int saved = errno;
	free(prefix);
	if (close(fd) < 0 && rc == 0) {
		rc = -1;
		saved = errno;
	}
	if (rc == 0 && rename(tmp, path) < 0) {
		rc = -1;
		saved = errno;
	}
	if (rc) {
		unlink(tmp);
		return set_err(err, errlen, "cannot write %s: %s", path, strerror(saved));
	}
	st->bytes_written = written;
	st->file_size = m->file_size;
	st->pages = 0;
	for (uint64_t i = 0; i < m->nextents; i++)
		st->pages += m->extents[i].npages;
	return 0;
}

static int pread_all(int fd, uint8_t *p, uint64_t len, uint64_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, p, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (uint64_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int snap_file_open(const char *path, struct snap_file *f, char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return set_err(err, errlen, "cannot open: %s", strerror(errno));
	struct stat st;
	uint8_t head[SNAP_HEADER_SIZE];
	uint64_t prefix_len;
	if (fstat(f->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "not a regular file");
		goto bad;
	}
	size_t head_len = (uint64_t)st.st_size < sizeof(head) ? (size_t)st.st_size : sizeof(head);
	if (pread_all(f->fd, head, head_len, 0)) {
		set_err(err, errlen, "cannot read: %s", strerror(errno));
		goto bad;
	}
	if (head_len == 0) {
		set_err(err, errlen, "empty file, not a snapshot");
		goto bad;
	}
	if (snap_peek(head, head_len, (uint64_t)st.st_size, &prefix_len, err, errlen))
		goto bad;
	f->prefix = malloc(prefix_len);
	if (!f->prefix) {
		set_err(err, errlen, "out of memory");
		goto bad;
	}
	if (pread_all(f->fd, f->prefix, prefix_len, 0)) {
		set_err(err, errlen, "cannot read: %s", strerror(errno));
		goto bad;
	}
	if (snap_decode(f->prefix, prefix_len, (uint64_t)st.st_size, &f->meta, err, errlen))
		goto bad;
	return 0;
bad:
	snap_file_close(f);
	return -1;
}

/* Checks that the file holds only zeros in [from, to) of the memory image. */
static int check_zero(const struct snap_file *f, uint64_t from, uint64_t to, char *err,
                      size_t errlen)
{
	for (uint64_t off = from; off < to; off += SNAP_PAGE_SIZE)
		if (!page_is_zero(f->mem + (off - f->meta.mem_offset)))
			return set_err(
			    err, errlen,
			    "memory at 0x%llx holds data the snapshot does not list: the "
			    "snapshot is corrupt",
			    (unsigned long long)(off - f->meta.mem_offset));
	return 0;
}

/*
 * Holes read as zero, so only the file's data regions can hide bytes that no
 * extent covers; SEEK_DATA finds them without reading the holes.
 */
static int check_unlisted(const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_meta *m = &f->meta;
	uint64_t pos = m->mem_offset, end = m->file_size, i = 0;
	while (pos < end) {
		off_t data = lseek(f->fd, (off_t)pos, SEEK_DATA);
		if (data < 0 && errno == ENXIO)
			return 0;
		off_t hole = data < 0 ? -1 : lseek(f->fd, data, SEEK_HOLE);
		uint64_t d, h;
		if (data < 0 || hole < 0) { /* no SEEK_DATA here: everything counts as data */
			d = pos;
			h = end;
		} else {
			d = (uint64_t)data & ~(uint64_t)(SNAP_PAGE_SIZE - 1);
			h = (uint64_t)hole < end ? align_up((uint64_t)hole, SNAP_PAGE_SIZE) : end;
		}
		if (d < pos)
			d = pos;
		/* Walk [d, h) against the sorted extents, checking the gaps between them. */
		uint64_t cur = d;
		while (cur < h) {
			while (i < m->nextents &&
			       m->mem_offset + m->extents[i].gpa +
			               (uint64_t)m->extents[i].npages * SNAP_PAGE_SIZE <=
			           cur)
				i++;
			uint64_t next = i < m->nextents ? m->mem_offset + m->extents[i].gpa : h;
			if (next > cur) {
				uint64_t stop = next < h ? next : h;
				if (check_zero(f, cur, stop, err, errlen))
					return -1;
				cur = stop;
			} else {
				cur = m->mem_offset + m->extents[i].gpa +
				      (uint64_t)m->extents[i].npages * SNAP_PAGE_SIZE;
			}
		}
		pos = h > pos ? h : pos + SNAP_PAGE_SIZE;
	}
	return 0;
}

int snap_file_map(struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_meta *m = &f->meta;
	void *p = mmap(NULL, m->mem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE,
	               f->fd, (off_t)m->mem_offset);
	if (p == MAP_FAILED)
		return set_err(err, errlen, "cannot map the memory image: %s", strerror(errno));
	f->mem = p;
	if (snap_verify_extents(m, f->mem, err, errlen) || check_unlisted(f, err, errlen)) {
		munmap(f->mem, m->mem_size);
		f->mem = NULL;
		return -1;
	}
	return 0;
}

void snap_file_close(struct snap_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	free(f->prefix);
	f->prefix = NULL;
	snap_meta_free(&f->meta);
}
