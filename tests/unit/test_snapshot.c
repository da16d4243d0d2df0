/*
 * test_snapshot.c - unit tests of the snapshot file format (snapfile.c), its
 * checksum (crc32c.c), the control socket's JSON (jsonl.c), the batch of
 * network frames a migration forwards (mig_frames.c) and the page deltas it
 * sends (mig_delta.c).
 *
 * A snapshot is untrusted input, so beyond the round trip these tests damage
 * one written by the real writer in every way they can think of - every bit
 * of the metadata flipped, page data changed, data slipped into a hole,
 * truncation at many offsets, other versions and ABIs, crafted sections with
 * valid checksums - and expect each to be refused with a reason.
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "crc32c.h"
#include "hedge_abi.h"
#include "jsonl.h"
#include "mig_delta.h"
#include "mig_frames.h"
#include "snapfile.h"

#define MEM_SIZE (4ull << 20)
#define PAGE     4096u

static char tmpdir[] = "/tmp/hedge-test-snapshot.XXXXXX";
static char path[256];

/* ---- a small synthetic VM state ---- */

static struct {
	struct kvm_cpuid2 cpuid;
	struct kvm_cpuid_entry2 entries[3];
} cpuid;
static struct {
	struct kvm_msrs h;
	struct kvm_msr_entry e[3];
} msrs;
static struct kvm_regs regs;
static struct kvm_sregs2 sregs2;
static struct kvm_fpu fpu;
static uint8_t xsave[4096];
static struct kvm_vcpu_events events;
static struct snap_clock clk;
static struct snap_net net;
static uint8_t *mem;

static void fill_state(void)
{
	cpuid.cpuid.nent = 3;
	cpuid.entries[0] = (struct kvm_cpuid_entry2){
	    .function = 0, .eax = 0xd, .ebx = 0x68747541, .edx = 0x69746e65, .ecx = 0x444d4163};
	cpuid.entries[1] = (struct kvm_cpuid_entry2){
	    .function = 1, .eax = 0xa10f11, .ecx = 0x81202000, .edx = 0x078bfbff};
	cpuid.entries[2] = (struct kvm_cpuid_entry2){
	    .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0x01800002};
	msrs.h.nmsrs = 3;
	msrs.e[0] = (struct kvm_msr_entry){.index = 0x10, .data = 123456789};
	msrs.e[1] = (struct kvm_msr_entry){.index = 0xc0000080, .data = 0xd01};
	msrs.e[2] = (struct kvm_msr_entry){.index = 0xc0000100, .data = 0x7f0012340000};
	for (size_t i = 0; i < sizeof(regs); i++)
		((uint8_t *)&regs)[i] = (uint8_t)(i * 7 + 1);
	regs.rip = 0x101234;
	sregs2.cr0 = 0x80050033;
	sregs2.efer = 0xd00;
	for (size_t i = 0; i < sizeof(xsave); i++)
		xsave[i] = (uint8_t)(i ^ 0x5a);
	fpu.fcw = 0x37f;
	clk = (struct snap_clock){.tsc_khz = 2600000, .guest_tsc = 99, .guest_mono_ns = 5};
	net = (struct snap_net){.present = 1,
	                        .rings_set = 1,
	                        .tx_ring = 0x200000,
	                        .rx_ring = 0x200000 + sizeof(struct hedge_net_ring),
	                        .mac = {0x52, 0x54, 0, 1, 2, 3}};

	mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	/* A few scattered pages, a run longer than one extent, and a written zero page. */
	for (unsigned pg = 1; pg < 40; pg += 3)
		memset(mem + pg * PAGE, (int)pg, PAGE);
	for (unsigned pg = 300; pg < 300 + SNAP_EXTENT_PAGES + 20; pg++)
		mem[pg * PAGE + (pg % PAGE)] = (uint8_t)(pg | 1);
	mem[(MEM_SIZE - PAGE) + 17] = 0xee; /* the very last page */
	memset(mem + 700 * PAGE, 0, PAGE);
}

static void base_meta(struct snap_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->mem_size = MEM_SIZE;
	m->created_ns = 1700000000000000000ull;
	snap_cpu_from_cpuid(cpuid.entries, cpuid.cpuid.nent, &m->cpu);
	m->sec[SNAP_SEC_CPUID] = (struct snap_blob){&cpuid, sizeof(cpuid)};
	m->sec[SNAP_SEC_REGS] = (struct snap_blob){&regs, sizeof(regs)};
	m->sec[SNAP_SEC_SREGS2] = (struct snap_blob){&sregs2, sizeof(sregs2)};
	m->sec[SNAP_SEC_FPU] = (struct snap_blob){&fpu, sizeof(fpu)};
	m->sec[SNAP_SEC_XSAVE] = (struct snap_blob){xsave, sizeof(xsave)};
	m->sec[SNAP_SEC_MSRS] = (struct snap_blob){&msrs, sizeof(msrs)};
	m->sec[SNAP_SEC_EVENTS] = (struct snap_blob){&events, sizeof(events)};
	m->sec[SNAP_SEC_CLOCK] = (struct snap_blob){&clk, sizeof(clk)};
	m->sec[SNAP_SEC_NET] = (struct snap_blob){&net, sizeof(net)};
}

/* Writes the standard snapshot to path; returns its metadata (extents owned). */
static int write_standard(struct snap_meta *m)
{
	snap_meta_free(m); /* from an earlier call */
	base_meta(m);
	if (snap_scan_memory(mem, MEM_SIZE, NULL, &m->extents, &m->nextents))
		return -1;
	struct snap_write_stats st;
	char err[256];
	int rc = snap_write_file(path, m, mem, &st, err, sizeof(err));
	if (rc)
		printf("    write: %s\n", err);
	return rc;
}

static uint8_t *read_file(const char *p, size_t *len)
{
	int fd = open(p, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		return NULL;
	uint8_t *buf = malloc((size_t)st.st_size);
	if (pread(fd, buf, (size_t)st.st_size, 0) != st.st_size) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* Opens and maps path; 0 if the whole snapshot is accepted. err gets the reason otherwise. */
static int load(const char *p, char *err, size_t errlen)
{
	struct snap_file f;
	if (snap_file_open(p, &f, err, errlen))
		return -1;
	int rc = snap_file_map(&f, err, errlen);
	if (rc == 0)
		munmap(f.mem, f.meta.mem_size);
	snap_file_close(&f);
	return rc;
}

static void put_at(const char *p, uint64_t off, const void *data, size_t len)
{
	int fd = open(p, O_WRONLY);
	if (pwrite(fd, data, len, (off_t)off) != (ssize_t)len)
		CHECK(!"pwrite failed");
	close(fd);
}

static void get_at(const char *p, uint64_t off, void *data, size_t len)
{
	int fd = open(p, O_RDONLY);
	if (pread(fd, data, len, (off_t)off) != (ssize_t)len)
		CHECK(!"pread failed");
	close(fd);
}

/* ---- CRC-32C ---- */

static void test_crc32c(void)
{
	CHECK(crc32c(0, "123456789", 9) == 0xe3069283u);
	CHECK(crc32c_portable(0, "123456789", 9) == 0xe3069283u);
	CHECK(crc32c(0, "", 0) == 0);
	uint8_t buf[1000];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 31 + 7);
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len < 200; len += 13)
			CHECK(crc32c(0, buf + off, len) == crc32c_portable(0, buf + off, len));
	/* Continuation: a CRC computed in pieces equals the one computed at once. */
	CHECK(crc32c(crc32c(0, buf, 333), buf + 333, 667) == crc32c(0, buf, 1000));
	CHECK(crc32c_portable(crc32c_portable(0, buf, 5), buf + 5, 995) == crc32c(0, buf, 1000));
}

/* ---- the format ---- */

static void test_scan_memory(void)
{
	struct snap_extent *ext;
	uint64_t n;
	CHECK(snap_scan_memory(mem, MEM_SIZE, NULL, &ext, &n) == 0);
	uint64_t pages = 0;
	for (uint64_t i = 0; i < n; i++) {
		pages += ext[i].npages;
		CHECK(ext[i].npages >= 1 && ext[i].npages <= SNAP_EXTENT_PAGES);
		CHECK(ext[i].crc == crc32c(0, mem + ext[i].gpa, ext[i].npages * (size_t)PAGE));
		if (i)
			CHECK(ext[i].gpa >= ext[i - 1].gpa + ext[i - 1].npages * (uint64_t)PAGE);
	}
	CHECK(pages == 13 + SNAP_EXTENT_PAGES + 20 + 1); /* the zero page is not stored */
	CHECK(n == 13 + 2 + 1);
	free(ext);

	/* Only candidate pages are looked at. */
	uint64_t *cand = calloc(MEM_SIZE / PAGE / 64, sizeof(uint64_t));
	cand[0] = 1ull << 4; /* page 4 holds data */
	cand[1] = 1ull << 0; /* page 64 is zero */
	CHECK(snap_scan_memory(mem, MEM_SIZE, cand, &ext, &n) == 0);
	CHECK(n == 1 && ext[0].gpa == 4 * PAGE && ext[0].npages == 1);
	free(ext);
	free(cand);
}

static void test_round_trip(void)
{
	struct snap_meta m = {0};
	CHECK(write_standard(&m) == 0);
	struct stat st;
	CHECK(stat(path, &st) == 0);
	CHECK((uint64_t)st.st_size == m.file_size);
	CHECK((st.st_mode & 0777) == 0600);
	CHECK(m.mem_offset % PAGE == 0 && m.file_size == m.mem_offset + MEM_SIZE);
	/* Sparse: blocks only for the metadata and the pages that hold data. */
	CHECK((uint64_t)st.st_blocks * 512 < 2 * 1024 * 1024);

	struct snap_file f;
	char err[256] = "";
	CHECK(snap_file_open(path, &f, err, sizeof(err)) == 0);
	CHECK(snap_file_map(&f, err, sizeof(err)) == 0);
	if (err[0])
		printf("    %s\n", err);
	CHECK(f.mem && memcmp(f.mem, mem, MEM_SIZE) == 0);
	CHECK(f.meta.mem_size == MEM_SIZE);
	CHECK(f.meta.nextents == m.nextents);
	CHECK(memcmp(f.meta.extents, m.extents, m.nextents * sizeof(*m.extents)) == 0);
	CHECK(memcmp(&f.meta.cpu, &m.cpu, sizeof(m.cpu)) == 0);
	CHECK(memcmp(f.meta.cpu.vendor, "AuthenticAMD", 12) == 0);
	for (int t = 1; t < SNAP_SEC_COUNT; t++) {
		if (t == SNAP_SEC_MEMORY)
			continue;
		CHECK(f.meta.sec[t].len == m.sec[t].len);
		if (m.sec[t].len)
			CHECK(memcmp(f.meta.sec[t].data, m.sec[t].data, m.sec[t].len) == 0);
	}
	/* The mapping is private: the guest writing to it leaves the file alone. */
	f.mem[PAGE + 5] ^= 0xff;
	munmap(f.mem, MEM_SIZE);
	snap_file_close(&f);
	CHECK(load(path, err, sizeof(err)) == 0);

	/* Written again over the same path: replaced whole, no temporary left. */
	CHECK(write_standard(&m) == 0);
	char tmp[300];
	snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
	CHECK(access(tmp, F_OK) != 0);
	snap_meta_free(&m);
}

/* Every single-bit error in the metadata is caught, whatever the field. */
static void test_every_metadata_bit(void)
{
	struct snap_meta m = {0};
	CHECK(write_standard(&m) == 0);
	size_t len;
	uint8_t *buf = read_file(path, &len);
	CHECK(buf != NULL);
	struct snap_meta out;
	char err[256];
	CHECK(snap_decode(buf, m.mem_offset, len, &out, err, sizeof(err)) == 0);
	snap_meta_free(&out);
	uint64_t accepted = 0, header_refusals = 0;
	for (uint64_t byte = 0; byte < m.mem_offset; byte++)
		for (int bit = 0; bit < 8; bit++) {
			buf[byte] ^= (uint8_t)(1u << bit);
			if (snap_decode(buf, m.mem_offset, len, &out, err, sizeof(err)) == 0) {
				accepted++;
				snap_meta_free(&out);
				if (accepted < 5)
					printf("    flip at byte %llu bit %d accepted\n",
					       (unsigned long long)byte, bit);
			} else if (byte < SNAP_HEADER_SIZE) {
				header_refusals++;
			}
			buf[byte] ^= (uint8_t)(1u << bit);
		}
	CHECK(accepted == 0);
	CHECK(header_refusals == SNAP_HEADER_SIZE * 8);
	free(buf);
	snap_meta_free(&m);
}

/* The same through the file, for a sample, with the reason named. */
static void test_flipped_sections_in_file(void)
{
	struct snap_meta m = {0};
	CHECK(write_standard(&m) == 0);
	size_t len;
	uint8_t *orig = read_file(path, &len);
	/* One byte inside each section's payload: CRC mismatch naming the section. */
	uint64_t off = SNAP_HEADER_SIZE;
	int sections = 0;
	while (off < m.meta_size) {
		uint64_t plen;
		memcpy(&plen, orig + off + 8, 8);
		uint8_t b = orig[off + 24 + plen / 2] ^ 0x10;
		put_at(path, off + 24 + plen / 2, &b, 1);
		char err[256] = "";
		CHECK(load(path, err, sizeof(err)) != 0);
		CHECK_CONTAINS(err, "checksum mismatch");
		put_at(path, off + 24 + plen / 2, orig + off + 24 + plen / 2, 1);
		off += 24 + ((plen + 7) & ~7ull);
		sections++;
	}
	CHECK(sections == 10);
	char err[256] = "";
	CHECK(load(path, err, sizeof(err)) == 0);
	free(orig);
	snap_meta_free(&m);
}

static void test_memory_damage(void)
{
	struct snap_meta m = {0};
	CHECK(write_standard(&m) == 0);
	char err[256];
	/* First, middle and last byte of every extent. */
	for (uint64_t i = 0; i < m.nextents; i++) {
		uint64_t start = m.mem_offset + m.extents[i].gpa;
		uint64_t at[3] = {start, start + m.extents[i].npages * (uint64_t)PAGE / 2,
		                  start + m.extents[i].npages * (uint64_t)PAGE - 1};
		for (int k = 0; k < 3; k++) {
			uint8_t b;
			get_at(path, at[k], &b, 1);
			b ^= 0x01;
			put_at(path, at[k], &b, 1);
			err[0] = '\0';
			CHECK(load(path, err, sizeof(err)) != 0);
			CHECK_CONTAINS(err, "checksum mismatch");
			b ^= 0x01;
			put_at(path, at[k], &b, 1);
		}
	}
	CHECK(load(path, err, sizeof(err)) == 0);

	/* Data where the snapshot says there is none (a hole), even a single byte. */
	uint8_t one = 1;
	put_at(path, m.mem_offset + 2 * PAGE + 100, &one, 1);
	CHECK(load(path, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "does not list");
	CHECK(write_standard(&m) == 0);
	put_at(path, m.file_size - 2 * PAGE, &one, 1); /* just before the last extent */
	CHECK(load(path, err, sizeof(err)) != 0);
	/* A zero written into a hole allocates a block but changes nothing: accepted. */
	CHECK(write_standard(&m) == 0);
	uint8_t zero = 0;
	put_at(path, m.mem_offset + 3 * PAGE, &zero, 1);
	CHECK(load(path, err, sizeof(err)) == 0);
	snap_meta_free(&m);
}

static void test_truncation(void)
{
	struct snap_meta m = {0};
	CHECK(write_standard(&m) == 0);
	char copy[300], err[256];
	snprintf(copy, sizeof(copy), "%s/truncated", tmpdir);
	size_t len;
	uint8_t *orig = read_file(path, &len);
	uint64_t cuts[64];
	int n = 0;
	uint64_t small[] = {0, 1, 7, 8, 64, 127, 128, 129, 151, 152, 1000};
	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++)
		cuts[n++] = small[i];
	cuts[n++] = m.meta_size - 1;
	cuts[n++] = m.meta_size;
	cuts[n++] = m.mem_offset;
	cuts[n++] = m.mem_offset + 1;
	cuts[n++] = m.mem_offset + m.extents[0].gpa + 10;
	cuts[n++] = m.mem_offset + MEM_SIZE / 2;
	cuts[n++] = len - PAGE;
	cuts[n++] = len - 1;
	for (int i = 0; i < n; i++) {
		int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		CHECK(write(fd, orig, cuts[i] < len ? cuts[i] : len) >= 0);
		close(fd);
		err[0] = '\0';
		CHECK(load(copy, err, sizeof(err)) != 0);
		CHECK(err[0] != '\0' && !strchr(err, '\n'));
		if (cuts[i] >= SNAP_HEADER_SIZE)
			CHECK_CONTAINS(err, "truncated");
	}
	/* Every 8 bytes through the metadata, in memory. */
	for (uint64_t cut = 0; cut < m.mem_offset; cut += 8) {
		struct snap_meta out;
		CHECK(snap_decode(orig, cut, len, &out, err, sizeof(err)) != 0);
		CHECK(snap_decode(orig, m.mem_offset, cut + MEM_SIZE, &out, err, sizeof(err)) != 0);
	}
	/* A byte too many is refused as well. */
	int fd = open(copy, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, orig, len) == (ssize_t)len && write(fd, "", 1) == 1);
	close(fd);
	CHECK(load(copy, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "trailing");
	unlink(copy);
	free(orig);
	snap_meta_free(&m);
}

/* Rewrites a header field and its CRC, as a newer (or hostile) writer would. */
static void set_header32(uint64_t off, uint32_t value)
{
	uint8_t h[SNAP_HEADER_SIZE];
	get_at(path, 0, h, sizeof(h));
	memcpy(h + off, &value, 4);
	memset(h + 124, 0, 4);
	uint32_t crc = crc32c(0, h, sizeof(h));
	memcpy(h + 124, &crc, 4);
	put_at(path, 0, h, sizeof(h));
}

static void test_versions(void)
{
	struct snap_meta m = {0};
	char err[256];
	CHECK(write_standard(&m) == 0);
	set_header32(8, SNAP_VERSION + 1);
	CHECK(load(path, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "format version 2");
	CHECK(write_standard(&m) == 0);
	set_header32(12, HEDGE_ABI_VERSION + 1);
	CHECK(load(path, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "ABI version");
	CHECK(write_standard(&m) == 0);
	put_at(path, 0, "HEDGESNQ", 8);
	CHECK(load(path, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "bad magic");
	CHECK(write_standard(&m) == 0);
	set_header32(72, 0xffffffff); /* CPU summary no longer matches the cpuid section */
	CHECK(load(path, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "CPU summary");
	CHECK(write_standard(&m) == 0);
	set_header32(44, 1); /* memory size 4 GiB + 4 MiB: sizes disagree */
	CHECK(load(path, err, sizeof(err)) != 0);
	/* Not a snapshot at all. */
	char other[300];
	snprintf(other, sizeof(other), "%s/text", tmpdir);
	int fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, "#!/bin/sh\necho hi\n", 18) == 18);
	close(fd);
	CHECK(load(other, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "bad magic");
	fd = open(other, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	close(fd);
	CHECK(load(other, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "empty");
	CHECK(load(tmpdir, err, sizeof(err)) != 0);
	CHECK_CONTAINS(err, "not a regular file");
	snap_meta_free(&m);
}

/* Encodes m and decodes the result; returns what snap_decode returned. */
static int encode_decode(struct snap_meta *m, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	if (snap_encode(m, &buf, &len, err, errlen))
		return -2;
	struct snap_meta out;
	int rc = snap_decode(buf, len, len + m->mem_size, &out, err, errlen);
	if (rc == 0)
		snap_meta_free(&out);
	free(buf);
	return rc;
}

/* Well-checksummed but wrong: what a buggy or hostile writer could produce. */
static void test_crafted(void)
{
	struct snap_meta m;
	char err[256];
	struct snap_extent ext[3];
	base_meta(&m);
	CHECK(encode_decode(&m, err, sizeof(err)) == 0);

	m.extents = ext;
	m.nextents = 2;
	ext[0] = (struct snap_extent){.gpa = 8 * PAGE, .npages = 2};
	ext[1] = (struct snap_extent){.gpa = 9 * PAGE, .npages = 1}; /* overlaps */
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "extent 1");
	ext[1] = (struct snap_extent){.gpa = 4 * PAGE, .npages = 1}; /* out of order */
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	ext[1] = (struct snap_extent){.gpa = MEM_SIZE - PAGE, .npages = 2}; /* past the end */
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	ext[1] = (struct snap_extent){.gpa = 20 * PAGE + 1, .npages = 1}; /* unaligned */
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	ext[1] = (struct snap_extent){.gpa = 20 * PAGE, .npages = SNAP_EXTENT_PAGES + 1};
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	ext[1] = (struct snap_extent){.gpa = 20 * PAGE, .npages = 0};
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	ext[1] = (struct snap_extent){.gpa = 20 * PAGE, .npages = 3};
	CHECK(encode_decode(&m, err, sizeof(err)) == 0);
	m.extents = NULL;
	m.nextents = 0;

	/* Missing or doubled register sections. */
	base_meta(&m);
	m.sec[SNAP_SEC_REGS].len = 0;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "regs section is missing");
	base_meta(&m);
	struct kvm_sregs sregs;
	memset(&sregs, 0, sizeof(sregs));
	m.sec[SNAP_SEC_SREGS] = (struct snap_blob){&sregs, sizeof(sregs)};
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	base_meta(&m);
	m.sec[SNAP_SEC_FPU].len = 0;
	m.sec[SNAP_SEC_XSAVE].len = 0;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);

	/* Wrong sizes for their types. */
	base_meta(&m);
	m.sec[SNAP_SEC_REGS].len = sizeof(regs) - 8;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "regs section has");
	base_meta(&m);
	m.sec[SNAP_SEC_MSRS].len = sizeof(msrs) - 16; /* count says 3, room for 2 */
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	base_meta(&m);
	m.sec[SNAP_SEC_XSAVE].len = 1000;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	base_meta(&m);
	cpuid.cpuid.nent = 4;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	cpuid.cpuid.nent = 3;

	/* Network rings outside memory, overlapping or misaligned. */
	struct snap_net bad = net;
	base_meta(&m);
	m.sec[SNAP_SEC_NET].data = &bad;
	bad.tx_ring = MEM_SIZE - 100;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	bad = net;
	bad.rx_ring = bad.tx_ring + 64;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	bad = net;
	bad.tx_ring += 4;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	bad = net;
	bad.present = 2;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	bad = net;
	CHECK(encode_decode(&m, err, sizeof(err)) == 0);

	/* Impossible memory sizes are refused before anything else. */
	base_meta(&m);
	m.mem_size = 3ull << 20;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "memory size");
	m.mem_size = 64ull << 30;
	CHECK(encode_decode(&m, err, sizeof(err)) == -1);
}

/* Appends a section with a valid CRC to an encoded buffer and fixes the header up. */
static uint8_t *with_extra_section(const struct snap_meta *m, const uint8_t *buf, uint32_t type,
                                   uint32_t flags, size_t *outlen)
{
	size_t meta = m->meta_size, extra = 24 + 8;
	size_t prefix = (meta + extra + PAGE - 1) & ~(size_t)(PAGE - 1);
	uint8_t *out = calloc(1, prefix);
	memcpy(out, buf, meta);
	uint8_t *h = out + meta;
	uint64_t plen = 8;
	memcpy(h, &type, 4);
	memcpy(h + 4, &flags, 4);
	memcpy(h + 8, &plen, 8);
	memcpy(h + 24, "12345678", 8);
	uint32_t crc = crc32c(0, h, 32);
	memcpy(h + 16, &crc, 4);
	uint32_t nsec;
	memcpy(&nsec, out + 20, 4);
	nsec++;
	uint64_t meta_size = meta + extra, mem_offset = prefix, file_size = prefix + m->mem_size;
	memcpy(out + 20, &nsec, 4);
	memcpy(out + 24, &meta_size, 8);
	memcpy(out + 32, &mem_offset, 8);
	memcpy(out + 48, &file_size, 8);
	memset(out + 124, 0, 4);
	crc = crc32c(0, out, SNAP_HEADER_SIZE);
	memcpy(out + 124, &crc, 4);
	*outlen = prefix;
	return out;
}

static void test_unknown_sections(void)
{
	struct snap_meta m, out;
	char err[256];
	uint8_t *buf;
	size_t len, xlen;
	base_meta(&m);
	CHECK(snap_encode(&m, &buf, &len, err, sizeof(err)) == 0);
	uint8_t *x = with_extra_section(&m, buf, 99, 0, &xlen);
	CHECK(snap_decode(x, xlen, xlen + MEM_SIZE, &out, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "unknown section type 99");
	free(x);
	x = with_extra_section(&m, buf, 99, SNAP_SEC_OPTIONAL, &xlen);
	CHECK(snap_decode(x, xlen, xlen + MEM_SIZE, &out, err, sizeof(err)) == 0);
	snap_meta_free(&out);
	free(x);
	x = with_extra_section(&m, buf, SNAP_SEC_REGS, 0, &xlen); /* a second regs: wrong size */
	CHECK(snap_decode(x, xlen, xlen + MEM_SIZE, &out, err, sizeof(err)) == -1);
	free(x);
	x = with_extra_section(&m, buf, SNAP_SEC_CLOCK, 4, &xlen); /* unknown flag */
	CHECK(snap_decode(x, xlen, xlen + MEM_SIZE, &out, err, sizeof(err)) == -1);
	free(x);
	free(buf);
}

static void test_write_failure_keeps_old_file(void)
{
	struct snap_meta m = {0};
	char err[256];
	CHECK(write_standard(&m) == 0);
	char bad[300];
	snprintf(bad, sizeof(bad), "%s/no-such-dir/snap", tmpdir);
	struct snap_write_stats st;
	CHECK(snap_write_file(bad, &m, mem, &st, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "cannot create");
	CHECK(load(path, err, sizeof(err)) == 0);
	snap_meta_free(&m);
}

/* ---- the control socket's JSON ---- */

static int parses(const char *text)
{
	static struct jsonl_obj o;
	char err[200];
	return jsonl_parse(text, strlen(text), &o, err, sizeof(err)) == 0;
}

static void test_json(void)
{
	static struct jsonl_obj o;
	char err[200];
	const char *req =
	    " {\"op\" : \"snapshot\", \"path\":\"/tmp/a\\\"b\\u00e9\\ud83d\\ude00\","
	    "\"stop\":true,\"n\":-12.5e3,\"z\":null,\"big\":18446744073709551615}\r\n";
	CHECK(jsonl_parse(req, strlen(req), &o, err, sizeof(err)) == 0);
	CHECK(o.n == 6);
	CHECK(strcmp(jsonl_get(&o, "op")->str, "snapshot") == 0);
	CHECK(strcmp(jsonl_get(&o, "path")->str, "/tmp/a\"b\xc3\xa9\xf0\x9f\x98\x80") == 0);
	CHECK(jsonl_get(&o, "stop")->type == JSONL_BOOL && jsonl_get(&o, "stop")->boolean == 1);
	CHECK(jsonl_get(&o, "n")->type == JSONL_NUMBER);
	CHECK(jsonl_get(&o, "z")->type == JSONL_NULL);
	uint64_t v = 0;
	CHECK(jsonl_get_u64(&o, "big", &v) == 0 && v == UINT64_MAX);
	CHECK(jsonl_get_u64(&o, "n", &v) == -1);
	CHECK(jsonl_get(&o, "missing") == NULL);
	CHECK(parses("{}"));

	const char *bad[] = {
	    "",
	    "[]",
	    "{",
	    "{\"op\"}",
	    "{\"op\":}",
	    "{\"op\":\"a\",}",
	    "{\"op\":\"a\"} x",
	    "{\"op\":\"a\"}{}",
	    "{\"op\":{\"x\":1}}",
	    "{\"op\":[1]}",
	    "{\"op\":\"a\",\"op\":\"b\"}",
	    "{\"op\":\"a\\x\"}",
	    "{\"op\":\"a\\u00\"}",
	    "{\"op\":\"a\\u0000\"}",
	    "{\"op\":\"\\ud800\"}",
	    "{\"op\":\"\\udc00\"}",
	    "{\"op\":\"a\tb\"}",
	    "{\"op\":\"abc",
	    "{\"n\":01}",
	    "{\"n\":1.}",
	    "{\"n\":-}",
	    "{\"n\":1e}",
	    "{\"b\":tru}",
	    "{op:1}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int ok = jsonl_parse(bad[i], strlen(bad[i]), &o, err, sizeof(err)) == 0;
		if (ok)
			printf("    accepted: %s\n", bad[i]);
		CHECK(!ok && err[0]);
	}
	/* Embedded NUL bytes in the line itself are not JSON either. */
	CHECK(jsonl_parse("{\"op\":\"a\0b\"}", 12, &o, err, sizeof(err)) != 0);
	/* Too many fields, too much text. */
	char many[2048] = "{";
	for (int i = 0; i < JSONL_MAX_FIELDS + 1; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s\"k%d\":1",
		         i ? "," : "", i);
	strcat(many, "}");
	CHECK(!parses(many));
	char *huge = malloc(JSONL_MAX_TEXT + 64);
	strcpy(huge, "{\"k\":\"");
	memset(huge + 6, 'a', JSONL_MAX_TEXT);
	strcpy(huge + 6 + JSONL_MAX_TEXT, "\"}");
	CHECK(!parses(huge));
	free(huge);

	/* Quoting round-trips through the parser. */
	char quoted[256], line[300];
	jsonl_quote(quoted, sizeof(quoted), "a\"b\\c\nd\x01\x7f/é");
	snprintf(line, sizeof(line), "{\"s\":%s}", quoted);
	CHECK(jsonl_parse(line, strlen(line), &o, err, sizeof(err)) == 0);
	CHECK(strcmp(jsonl_get(&o, "s")->str, "a\"b\\c\nd\x01\x7f/é") == 0);
	/* And truncates rather than overflowing. */
	char small[8];
	CHECK(jsonl_quote(small, sizeof(small), "abcdefghij") < sizeof(small));
	CHECK(small[0] == '"' && small[strlen(small) - 1] == '"');
}

/* ---- migration's network frames ---- */

struct seen_frames {
	unsigned n;
	size_t bytes;
	uint8_t first[HEDGE_NET_FRAME_MAX];
	size_t first_len;
	int stop_at;
};

static int record_frame(void *ctx, const uint8_t *frame, size_t len)
{
	struct seen_frames *s = ctx;
	if (s->n == 0) {
		memcpy(s->first, frame, len);
		s->first_len = len;
	}
	s->n++;
	s->bytes += len;
	return s->stop_at && (int)s->n == s->stop_at ? 7 : 0;
}

static void test_mig_frames(void)
{
	static uint8_t buf[MIG_FRAMES_BYTES], frame[HEDGE_NET_FRAME_MAX];
	struct mig_frames b;
	char why[200];
	for (size_t i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);

	/* Empty, then one of each extreme length, then full. */
	mig_frames_start(&b, buf);
	struct seen_frames seen = {0};
	CHECK(b.len == 4 &&
	      mig_frames_decode(b.buf, b.len, record_frame, &seen, why, sizeof(why)) == 0);
	CHECK(seen.n == 0);
	CHECK(mig_frames_add(&b, frame, 13) == -1);
	CHECK(mig_frames_add(&b, frame, HEDGE_NET_FRAME_MAX + 1) == -1);
	CHECK(mig_frames_add(&b, frame, 14) == 0);
	CHECK(mig_frames_add(&b, frame, HEDGE_NET_FRAME_MAX) == 0);
	CHECK(mig_frames_decode(b.buf, b.len, record_frame, &seen, why, sizeof(why)) == 0);
	CHECK(seen.n == 2 && seen.bytes == 14 + HEDGE_NET_FRAME_MAX);
	CHECK(seen.first_len == 14 && memcmp(seen.first, frame, 14) == 0);
	while (mig_frames_add(&b, frame, HEDGE_NET_FRAME_MAX) == 0)
		;
	CHECK(b.count == MIG_FRAMES_MAX && b.len <= MIG_FRAMES_BYTES);
	memset(&seen, 0, sizeof(seen));
	CHECK(mig_frames_decode(b.buf, b.len, record_frame, &seen, why, sizeof(why)) == 0);
	CHECK(seen.n == MIG_FRAMES_MAX);

	/* A callback's non-zero result stops the walk and is returned. */
	memset(&seen, 0, sizeof(seen));
	seen.stop_at = 3;
	CHECK(mig_frames_decode(b.buf, b.len, record_frame, &seen, why, sizeof(why)) == 7);
	CHECK(seen.n == 3);

	/* Damaged batches: refused with a reason, and nothing is handed out. */
	mig_frames_start(&b, buf);
	mig_frames_add(&b, frame, 60);
	mig_frames_add(&b, frame, 100);
	size_t good = b.len;
	uint8_t copy[256];
	struct {
		const char *what, *reason;
		size_t at;
		uint32_t value;
		size_t len;
	} bad[] = {
	    {"count too high", "more than", 0, MIG_FRAMES_MAX + 1, 0},
	    {"count one more", "ends inside frame 2", 0, 3, 0},
	    {"count one less", "bytes after the last frame", 0, 1, 0},
	    {"runt", "frame 0 has length 13", 4, 13, 0},
	    {"jumbo", "frame 1 has length", 68, HEDGE_NET_FRAME_MAX + 1, 0},
	    {"length past the end", "ends inside frame 1", 68, 101, 0},
	    {"huge length", "frame 0 has length", 4, 0xffffffffu, 0},
	    {"truncated inside a frame", "ends inside frame 1", 0, 2, good - 1},
	    {"truncated inside a length", "ends inside frame 1", 0, 2, 70},
	    {"shorter than the count", "shorter than its count", 0, 2, 3},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(copy, buf, good);
		if (bad[i].at || bad[i].value != 2)
			memcpy(copy + bad[i].at, &bad[i].value, 4);
		memset(&seen, 0, sizeof(seen));
		why[0] = '\0';
		size_t len = bad[i].len ? bad[i].len : good;
		int rc = mig_frames_decode(copy, len, record_frame, &seen, why, sizeof(why));
		if (rc != -1 || seen.n != 0)
			printf("    case: %s\n", bad[i].what);
		CHECK(rc == -1 && seen.n == 0);
		CHECK_CONTAINS(why, bad[i].reason);
		CHECK(!strchr(why, '\n'));
	}
	uint8_t extra[300];
	memcpy(extra, buf, good);
	extra[good] = 0;
	CHECK(mig_frames_decode(extra, good + 1, NULL, NULL, why, sizeof(why)) == -1);
	CHECK_CONTAINS(why, "1 bytes after the last frame");
}

/* ---- migration's page deltas ---- */

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)rng_state;
}

/* Encodes old -> new, applies it to a copy of old: it must give new exactly. */
static int delta_round_trip(const uint8_t *old, const uint8_t *new_page, int *len)
{
	static uint8_t delta[MIG_DELTA_MAX], page[MIG_DELTA_PAGE];
	*len = mig_delta_encode(old, new_page, delta);
	if (*len < 0)
		return 1; /* too long: the page goes whole, nothing to check */
	memcpy(page, old, sizeof(page));
	return mig_delta_apply(page, delta, (size_t)*len) == 0 &&
	       memcmp(page, new_page, sizeof(page)) == 0;
}

static void test_mig_delta(void)
{
	static uint8_t old[MIG_DELTA_PAGE], cur[MIG_DELTA_PAGE];
	int len;
	for (size_t i = 0; i < sizeof(old); i++)
		old[i] = (uint8_t)rng();
	memcpy(cur, old, sizeof(cur));
	CHECK(delta_round_trip(old, cur, &len) && len == 0); /* unchanged: empty */
	cur[0] ^= 1;
	CHECK(delta_round_trip(old, cur, &len) && len == 5);
	cur[4095] ^= 1;
	CHECK(delta_round_trip(old, cur, &len) && len == 10);
	memcpy(cur, old, sizeof(cur));
	memset(cur + 1000, 0, 8); /* one word, as net_busy writes */
	cur[1000] = (uint8_t)~old[1000];
	CHECK(delta_round_trip(old, cur, &len) && len > 0 && len <= 12);
	for (size_t i = 0; i < sizeof(cur); i++)
		cur[i] = (uint8_t)~old[i];
	CHECK(mig_delta_encode(old, cur, (uint8_t[MIG_DELTA_MAX]){0}) == -1); /* all new */

	/* Random changes of every density, random lengths and places. */
	for (int round = 0; round < 3000; round++) {
		memcpy(cur, old, sizeof(cur));
		int changes = (int)(rng() % 200);
		for (int c = 0; c < changes; c++) {
			size_t at = rng() % sizeof(cur), n = 1 + rng() % 16;
			for (size_t k = at; k < at + n && k < sizeof(cur); k++)
				cur[k] = (uint8_t)rng();
		}
		if (!delta_round_trip(old, cur, &len)) {
			printf("    round %d: a delta of %d bytes did not give the page back\n",
			       round, len);
			CHECK(0);
			break;
		}
	}

	/* Malformed deltas are refused before they write past the page. */
	uint8_t page[MIG_DELTA_PAGE];
	memcpy(page, old, sizeof(page));
	const struct {
		const char *what;
		uint8_t bytes[8];
		size_t len;
	} bad[] = {
	    {"header cut short", {0, 0, 1}, 3},
	    {"empty run", {0, 0, 0, 0}, 4},
	    {"skip past the page", {0x01, 0x10, 1, 0, 0xaa}, 5},
	    {"run past the page", {0xff, 0x0f, 2, 0, 0xaa, 0xbb}, 6},
	    {"run past the delta", {0, 0, 4, 0, 0xaa}, 5},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mig_delta_apply(page, bad[i].bytes, bad[i].len) != -1) {
			printf("    accepted: %s\n", bad[i].what);
			CHECK(0);
		}
	}
	uint8_t last[] = {0xff, 0x0f, 1, 0, 0x5a}; /* the page's very last byte: fine */
	CHECK(mig_delta_apply(page, last, sizeof(last)) == 0 && page[4095] == 0x5a);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/snap", tmpdir);
	fill_state();
	static const struct test_case cases[] = {
	    {"crc32c: known value, hardware equals table, continuation", test_crc32c},
	    {"memory scan: zero pages skipped, extents bounded, candidates honoured",
	     test_scan_memory},
	    {"round trip: sections and memory come back, file sparse and 0600", test_round_trip},
	    {"every single-bit flip in the metadata is refused", test_every_metadata_bit},
	    {"a flipped byte in each section's payload names the checksum",
	     test_flipped_sections_in_file},
	    {"damaged page data and data in holes are refused", test_memory_damage},
	    {"truncation at many offsets and trailing bytes are refused", test_truncation},
	    {"other format version, ABI, magic; not a snapshot", test_versions},
	    {"crafted sections with valid checksums are refused", test_crafted},
	    {"unknown sections: refused unless optional", test_unknown_sections},
	    {"a failed write leaves the old snapshot alone", test_write_failure_keeps_old_file},
	    {"control JSON: strict parsing and quoting", test_json},
	    {"migration's network frames: round trip, limits, damage refused", test_mig_frames},
	    {"migration's page deltas: exact round trips, long ones refused, damage refused",
	     test_mig_delta},
	};
	int status = run_tests(cases, sizeof(cases) / sizeof(cases[0]));
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		status = 1;
	return status;
}
