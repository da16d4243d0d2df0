/*
 * test_monitor.c - unit tests for the monitor's parsers and checks: the ELF
 * loader, the guest address check, hypercall decoding and size parsing.
 */
#include <arpa/inet.h>
#include <elf.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "elf_load.h"
#include "guest_mem.h"
#include "hedge_abi.h"
#include "hypercall.h"
#include "net_tap.h"
#include "status.h"

#define MEM_SIZE (4u << 20)

/* A valid two-segment image: text at 1 MiB (entry), data + bss at 1 MiB + 8 KiB. */
struct image {
	uint8_t bytes[8192];
	size_t size;
	Elf64_Ehdr *eh;
	Elf64_Phdr *ph;
};

static void make_image(struct image *im)
{
	memset(im, 0, sizeof(*im));
	im->size = 4096 + 2 * 64;
	im->eh = (Elf64_Ehdr *)im->bytes;
	im->ph = (Elf64_Phdr *)(im->bytes + sizeof(Elf64_Ehdr));
	Elf64_Ehdr *eh = im->eh;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = 0x100010;
	eh->e_phoff = sizeof(Elf64_Ehdr);
	eh->e_ehsize = sizeof(Elf64_Ehdr);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 2;
	im->ph[0] = (Elf64_Phdr){.p_type = PT_LOAD,
	                         .p_flags = PF_R | PF_X,
	                         .p_offset = 4096,
	                         .p_vaddr = 0x100000,
	                         .p_paddr = 0x100000,
	                         .p_filesz = 64,
	                         .p_memsz = 64,
	                         .p_align = 4096};
	im->ph[1] = (Elf64_Phdr){.p_type = PT_LOAD,
	                         .p_flags = PF_R | PF_W,
	                         .p_offset = 4096 + 64,
	                         .p_vaddr = 0x102000,
	                         .p_paddr = 0x102000,
	                         .p_filesz = 64,
	                         .p_memsz = 0x3000,
	                         .p_align = 4096};
	for (int i = 0; i < 128; i++)
		im->bytes[4096 + i] = (uint8_t)(i + 1);
}

struct loaded {
	int rc;
	char err[256];
	struct elf_image img;
	int mem_touched;
};

static struct loaded load(struct image *im, uint64_t mem_size)
{
	struct loaded r = {0};
	struct guest_mem mem = {.base = calloc(1, mem_size), .size = mem_size};
	r.rc = elf_load(im->bytes, im->size, &mem, &r.img, r.err, sizeof(r.err));
	for (uint64_t i = 0; i < mem_size && !r.mem_touched; i++)
		r.mem_touched = mem.base[i] != 0;
	free(mem.base);
	return r;
}

/* Expects the image to be refused with a reason containing want, memory untouched. */
static void expect_refused(struct image *im, const char *want)
{
	struct loaded r = load(im, MEM_SIZE);
	CHECK(r.rc == -1);
	CHECK(!r.mem_touched);
	CHECK(strchr(r.err, '\n') == NULL);
	CHECK_CONTAINS(r.err, want);
}

static void test_elf_valid(void)
{
	struct image im;
	make_image(&im);
	struct guest_mem mem = {.base = calloc(1, MEM_SIZE), .size = MEM_SIZE};
	struct elf_image img;
	char err[256] = "";
	CHECK(elf_load(im.bytes, im.size, &mem, &img, err, sizeof(err)) == 0);
	CHECK(img.entry == 0x100010);
	CHECK(img.nsegments == 2);
	CHECK(img.image_end == 0x105000);
	CHECK(mem.base[0x100000] == 1 && mem.base[0x10003f] == 64);
	CHECK(mem.base[0x102000] == 65 && mem.base[0x10203f] == 128);
	CHECK(mem.base[0x102040] == 0); /* .bss stays zero */
	free(mem.base);
}

static void test_elf_truncated_header(void)
{
	struct image im;
	make_image(&im);
	im.size = 20;
	expect_refused(&im, "truncated");
	im.size = 0;
	expect_refused(&im, "truncated");
}

static void test_elf_bad_magic(void)
{
	struct image im;
	make_image(&im);
	memcpy(im.bytes, "#!/bin/sh\n", 10);
	expect_refused(&im, "not an ELF file");
	im.size = 10;
	expect_refused(&im, "not an ELF file");
}

static void test_elf_wrong_class_and_machine(void)
{
	struct image im;
	make_image(&im);
	im.eh->e_ident[EI_CLASS] = ELFCLASS32;
	expect_refused(&im, "not a 64-bit");
	make_image(&im);
	im.eh->e_ident[EI_DATA] = ELFDATA2MSB;
	expect_refused(&im, "little-endian");
	make_image(&im);
	im.eh->e_machine = EM_AARCH64;
	expect_refused(&im, "not x86_64");
	make_image(&im);
	im.eh->e_type = ET_DYN;
	expect_refused(&im, "not a static executable");
}

static void test_elf_program_headers(void)
{
	struct image im;
	make_image(&im);
	im.eh->e_phnum = 0;
	expect_refused(&im, "no program headers");
	make_image(&im);
	im.eh->e_phentsize = 32;
	expect_refused(&im, "program header size");
	make_image(&im);
	im.eh->e_phoff = im.size - 10;
	expect_refused(&im, "truncated");
	make_image(&im);
	im.eh->e_phoff = UINT64_MAX - 8;
	expect_refused(&im, "truncated");
	make_image(&im);
	im.eh->e_phnum = 1000;
	expect_refused(&im, "program headers");
	make_image(&im);
	im.ph[0].p_type = PT_NOTE;
	im.ph[1].p_type = PT_NOTE;
	expect_refused(&im, "no loadable segments");
}

static void test_elf_segment_truncated(void)
{
	struct image im;
	make_image(&im);
	im.ph[1].p_filesz = 5000;
	im.ph[1].p_memsz = 0x3000;
	expect_refused(&im, "truncated");
	make_image(&im);
	im.ph[0].p_offset = UINT64_MAX - 10;
	expect_refused(&im, "truncated");
	make_image(&im);
	im.ph[0].p_filesz = 128;
	im.ph[0].p_memsz = 64;
	expect_refused(&im, "file size exceeds memory size");
}

static void test_elf_reserved_and_overlap(void)
{
	struct image im;
	make_image(&im);
	im.ph[0].p_paddr = im.ph[0].p_vaddr = 0x1000;
	im.eh->e_entry = 0x1000;
	expect_refused(&im, "reserved area");
	make_image(&im);
	im.ph[1].p_paddr = im.ph[1].p_vaddr = 0x100020;
	expect_refused(&im, "segments overlap");
	make_image(&im);
	im.ph[1].p_paddr = 0x200000;
	expect_refused(&im, "differs from physical");
}

static void test_elf_too_large(void)
{
	struct image im;
	make_image(&im);
	im.ph[1].p_memsz = MEM_SIZE;
	expect_refused(&im, "--mem");
	make_image(&im);
	im.ph[1].p_memsz = UINT64_MAX - 0x1000;
	expect_refused(&im, "does not fit");
	make_image(&im);
	struct loaded r = load(&im, 0x104000); /* bss end at 0x105000 does not fit */
	CHECK(r.rc == -1);
	CHECK_CONTAINS(r.err, "does not fit");
}

static void test_elf_entry(void)
{
	struct image im;
	make_image(&im);
	im.eh->e_entry = 0x400000;
	expect_refused(&im, "entry point");
	make_image(&im);
	im.eh->e_entry = 0x102000; /* inside a segment, but not an executable one */
	expect_refused(&im, "entry point");
	make_image(&im);
	im.eh->e_entry = 0x100040; /* one past the end of text */
	expect_refused(&im, "entry point");
}

static void test_gmem_at(void)
{
	uint8_t buf[64];
	struct guest_mem mem = {.base = buf, .size = sizeof(buf)};
	CHECK(gmem_at(&mem, 0, 64) == buf);
	CHECK(gmem_at(&mem, 63, 1) == buf + 63);
	CHECK(gmem_at(&mem, 64, 0) == buf + 64);
	CHECK(gmem_at(&mem, 64, 1) == NULL);
	CHECK(gmem_at(&mem, 0, 65) == NULL);
	CHECK(gmem_at(&mem, 65, 0) == NULL);
	CHECK(gmem_at(&mem, 1, UINT64_MAX) == NULL);
	CHECK(gmem_at(&mem, UINT64_MAX, 2) == NULL);
	CHECK(gmem_at(&mem, 32, UINT64_MAX - 16) == NULL);
}

struct hc_fixture {
	uint64_t words[1024]; /* 8 KiB of "guest memory", 8-byte aligned */
	struct guest_mem mem;
	char err[256];
};

static void fixture(struct hc_fixture *f)
{
	memset(f, 0, sizeof(*f));
	f->mem.base = (uint8_t *)f->words;
	f->mem.size = sizeof(f->words);
}

static int decode(struct hc_fixture *f, unsigned nr, uint32_t addr, struct hc_request *req)
{
	return hc_decode(&f->mem, (uint16_t)(HEDGE_HC_PORT_BASE + nr), addr, req, f->err,
	                 sizeof(f->err));
}

static void test_hc_console_ok(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_console_write *a = (void *)(f.mem.base + 0x100);
	a->hdr.abi_version = HEDGE_ABI_VERSION;
	a->data = 0x800;
	a->len = 100;
	a->stream = HEDGE_STREAM_STDOUT;
	struct hc_request req;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, 0x100, &req) == 0);
	CHECK(req.nr == HEDGE_HC_CONSOLE_WRITE);
	CHECK(req.u.buf.ptr == f.mem.base + 0x800);
	CHECK(req.u.buf.len == 100);
	CHECK(req.stream == HEDGE_STREAM_STDOUT);
	a->stream = 7;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, 0x100, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "unknown stream");
}

static void test_hc_poll_and_read(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_poll *p = (void *)(f.mem.base + 0x100);
	p->hdr.abi_version = HEDGE_ABI_VERSION;
	p->interest = HEDGE_EVENT_STDIN;
	p->timeout_ns = 5;
	struct hc_request req;
	CHECK(decode(&f, HEDGE_HC_POLL, 0x100, &req) == 0);
	CHECK(req.u.poll.interest == HEDGE_EVENT_STDIN && req.u.poll.timeout_ns == 5);
	p->interest = 1u << 9;
	CHECK(decode(&f, HEDGE_HC_POLL, 0x100, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "unknown events");

	struct hedge_hc_console_read *r = (void *)(f.mem.base + 0x200);
	r->hdr.abi_version = HEDGE_ABI_VERSION;
	r->buf = 0x1000;
	r->len = 0x1000;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_READ, 0x200, &req) == 0);
	CHECK(req.u.buf.ptr == f.mem.base + 0x1000 && req.u.buf.len == 0x1000);
	r->len = 0x1001;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_READ, 0x200, &req) == ST_BAD_HYPERCALL);
}

static void test_hc_bad_port_and_address(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hc_request req;
	CHECK(hc_decode(&f.mem, HEDGE_HC_PORT_BASE - 1, 0x100, &req, f.err, sizeof(f.err)) ==
	      ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "unknown port");
	CHECK(decode(&f, HEDGE_HC_COUNT, 0x100, &req) == ST_BAD_HYPERCALL);
	CHECK(decode(&f, HEDGE_HC_EXIT, 0x101, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "aligned");
	CHECK(decode(&f, HEDGE_HC_EXIT, sizeof(f.words), &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "outside guest memory");
	/* The struct starts inside memory but its last bytes are outside. */
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, sizeof(f.words) - 16, &req) == ST_BAD_HYPERCALL);
	CHECK(decode(&f, HEDGE_HC_EXIT, UINT32_MAX - 7, &req) == ST_BAD_HYPERCALL);
}

/* Every hypercall's struct must be checked whole: one at the very end of memory is refused. */
static void test_hc_every_struct_bounded(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hc_request req;
	for (unsigned nr = 0; nr < HEDGE_HC_COUNT; nr++) {
		CHECK(decode(&f, nr, sizeof(f.words), &req) == ST_BAD_HYPERCALL);
		CHECK(decode(&f, nr, sizeof(f.words) - 8, &req) == ST_BAD_HYPERCALL);
	}
}

static void test_hc_bad_abi(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_exit *a = (void *)(f.mem.base + 0x40);
	a->hdr.abi_version = HEDGE_ABI_VERSION + 1;
	struct hc_request req;
	CHECK(decode(&f, HEDGE_HC_EXIT, 0x40, &req) == ST_BAD_ABI);
	CHECK_CONTAINS(f.err, "ABI version");
}

static void test_hc_bad_buffers(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_console_write *a = (void *)(f.mem.base + 0x100);
	a->hdr.abi_version = HEDGE_ABI_VERSION;
	a->stream = HEDGE_STREAM_STDERR;
	struct hc_request req;
	a->data = sizeof(f.words) - 4;
	a->len = 8;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, 0x100, &req) == ST_BAD_HYPERCALL);
	a->data = 8;
	a->len = UINT64_MAX;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, 0x100, &req) == ST_BAD_HYPERCALL);
	a->data = UINT64_MAX;
	a->len = 2;
	CHECK(decode(&f, HEDGE_HC_CONSOLE_WRITE, 0x100, &req) == ST_BAD_HYPERCALL);

	struct hedge_hc_random *r = (void *)(f.mem.base + 0x200);
	r->hdr.abi_version = HEDGE_ABI_VERSION;
	r->buf = 0;
	r->len = HEDGE_RANDOM_MAX + 1;
	CHECK(decode(&f, HEDGE_HC_RANDOM, 0x200, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "exceeds");
}

static void test_hc_abort_message_cut(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_abort *a = (void *)(f.mem.base + 0x100);
	a->hdr.abi_version = HEDGE_ABI_VERSION;
	a->msg = 0x200;
	a->len = 1u << 30; /* far too long: cut to the maximum, which still fits */
	struct hc_request req;
	CHECK(decode(&f, HEDGE_HC_ABORT, 0x100, &req) == 0);
	CHECK(req.u.buf.len == HEDGE_ABORT_MSG_MAX);
	a->msg = sizeof(f.words) - 10;
	CHECK(decode(&f, HEDGE_HC_ABORT, 0x100, &req) == ST_BAD_HYPERCALL);
}

static void test_net_parse(void)
{
	uint32_t addr, mask;
	CHECK(net_parse_cidr("10.0.0.2/24", &addr, &mask) == 0);
	CHECK(addr == htonl(0x0a000002) && mask == htonl(0xffffff00));
	CHECK(net_parse_cidr("192.168.7.9/32", &addr, &mask) == 0 && mask == 0xffffffffu);
	CHECK(net_parse_cidr("10.0.0.2", &addr, &mask) == 0 && mask == htonl(0xffffff00));
	CHECK(net_parse_cidr("10.0.0/24", &addr, &mask) == -1);
	CHECK(net_parse_cidr("10.0.0.2/33", &addr, &mask) == -1);
	CHECK(net_parse_cidr("10.0.0.2/0", &addr, &mask) == -1);
	CHECK(net_parse_cidr("10.0.0.2/x", &addr, &mask) == -1);
	CHECK(net_parse_cidr("", &addr, &mask) == -1);
	struct hedge_listen_entry l;
	CHECK(net_parse_listen("0.0.0.0:8080", &l) == 0 && l.port == 8080 && l.ipv4 == 0);
	CHECK(net_parse_listen("10.1.2.3:1", &l) == 0 && l.ipv4 == htonl(0x0a010203));
	CHECK(l.proto == HEDGE_LISTEN_TCP);
	CHECK(net_parse_listen("0.0.0.0:0", &l) == -1);
	CHECK(net_parse_listen("0.0.0.0:65536", &l) == -1);
	CHECK(net_parse_listen(":80", &l) == -1);
	CHECK(net_parse_listen("host:80", &l) == -1);
	CHECK(net_parse_listen("0.0.0.0", &l) == -1);
	CHECK(net_parse_listen("0.0.0.0:80x", &l) == -1);
	uint8_t mac[6];
	CHECK(net_parse_mac("52:54:00:12:34:56", mac) == 0 && mac[5] == 0x56);
	CHECK(net_parse_mac("01:00:5e:00:00:01", mac) == -1); /* multicast */
	CHECK(net_parse_mac("52:54:00:12:34", mac) == -1);
	CHECK(net_parse_mac("52:54:00:12:34:56:78", mac) == -1);
}

/* A socketpair stands in for the TAP device: datagrams keep frame boundaries. */
struct net_fixture {
	struct net_dev dev;
	struct hedge_net_ring *tx, *rx;
	int host; /* the "network" end */
};

static void net_fixture(struct net_fixture *f)
{
	int sv[2];
	memset(f, 0, sizeof(*f));
	CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, sv) == 0);
	f->dev.tap_fd = sv[0];
	f->host = sv[1];
	static const uint8_t mac[6] = {0x52, 0x54, 0, 1, 2, 3};
	memcpy(f->dev.mac, mac, 6);
	f->tx = f->dev.tx = calloc(1, sizeof(struct hedge_net_ring));
	f->rx = f->dev.rx = calloc(1, sizeof(struct hedge_net_ring));
}

static void net_fixture_free(struct net_fixture *f)
{
	close(f->dev.tap_fd);
	close(f->host);
	free(f->tx);
	free(f->rx);
}

static void queue_tx(struct net_fixture *f, const uint8_t src[6], uint32_t len)
{
	struct hedge_net_slot *slot = &f->tx->slots[f->tx->head % HEDGE_NET_SLOTS];
	memset(slot->data, 0xab, sizeof(slot->data));
	if (src)
		memcpy(slot->data + 6, src, 6);
	slot->len = len;
	f->tx->head++;
}

static void test_net_tx_filters(void)
{
	struct net_fixture f;
	net_fixture(&f);
	char err[128];
	static const uint8_t other[6] = {0x52, 0x54, 0, 9, 9, 9};
	queue_tx(&f, f.dev.mac, 60);   /* good */
	queue_tx(&f, other, 60);       /* spoofed source: dropped */
	queue_tx(&f, f.dev.mac, 10);   /* runt: dropped */
	queue_tx(&f, f.dev.mac, 5000); /* oversized: dropped */
	queue_tx(&f, f.dev.mac, 1514); /* largest allowed */
	CHECK(net_pump(&f.dev, err, sizeof(err)) == 0);
	CHECK(f.tx->tail == f.tx->head);
	CHECK(f.dev.tx_frames == 2 && f.dev.tx_dropped == 3);
	uint8_t buf[4096];
	CHECK(read(f.host, buf, sizeof(buf)) == 60);
	CHECK(read(f.host, buf, sizeof(buf)) == 1514);
	CHECK(read(f.host, buf, sizeof(buf)) == -1);
	net_fixture_free(&f);
}

static void test_net_corrupt_ring(void)
{
	struct net_fixture f;
	net_fixture(&f);
	char err[128] = "";
	f.tx->head = HEDGE_NET_SLOTS + 5; /* more queued than the ring holds */
	CHECK(net_pump(&f.dev, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "tx ring is corrupt");
	f.tx->head = 0;
	f.rx->tail = 7; /* the guest claims to have consumed frames never produced */
	CHECK(net_pump(&f.dev, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "rx ring is corrupt");
	net_fixture_free(&f);
}

static void test_net_rx_fill(void)
{
	struct net_fixture f;
	net_fixture(&f);
	char err[128];
	uint8_t frame[2000];
	memset(frame, 0x11, sizeof(frame));
	CHECK(write(f.host, frame, 64) == 64);
	CHECK(write(f.host, frame, 8) == 8);       /* runt */
	CHECK(write(f.host, frame, 1600) == 1600); /* bigger than any Ethernet frame */
	CHECK(write(f.host, frame, 1514) == 1514);
	CHECK(net_pump(&f.dev, err, sizeof(err)) == 0);
	CHECK(f.rx->head == 2 && net_rx_pending(&f.dev));
	CHECK(f.rx->slots[0].len == 64 && f.rx->slots[1].len == 1514);
	CHECK(f.dev.rx_dropped == 2);
	/* A full ring takes no more; the rest waits in the device. */
	f.rx->tail = 2;
	for (unsigned i = 0; i < HEDGE_NET_SLOTS + 3; i++)
		CHECK(write(f.host, frame, 100) == 100);
	CHECK(net_pump(&f.dev, err, sizeof(err)) == 0);
	CHECK(f.rx->head - f.rx->tail == HEDGE_NET_SLOTS);
	net_fixture_free(&f);
}

static void test_hc_net_setup(void)
{
	struct hc_fixture f;
	fixture(&f);
	struct hedge_hc_net_setup *a = (void *)(f.mem.base + 0x100);
	a->hdr.abi_version = HEDGE_ABI_VERSION;
	a->tx_ring = 0x200;
	a->rx_ring = 0x400;
	struct hc_request req;
	/* The fixture's 8 KiB cannot hold a 512 KiB ring. */
	CHECK(decode(&f, HEDGE_HC_NET_SETUP, 0x100, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "outside guest memory");
	a->tx_ring = 0x201;
	CHECK(decode(&f, HEDGE_HC_NET_SETUP, 0x100, &req) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "aligned");

	size_t big = 3 * sizeof(struct hedge_net_ring);
	uint64_t *words = calloc(1, big);
	struct guest_mem mem = {.base = (uint8_t *)words, .size = big};
	struct hedge_hc_net_setup *b = (void *)words;
	b->hdr.abi_version = HEDGE_ABI_VERSION;
	b->tx_ring = 4096;
	b->rx_ring = 4096 + sizeof(struct hedge_net_ring) - 8; /* overlaps tx */
	CHECK(hc_decode(&mem, HEDGE_HC_PORT_BASE + HEDGE_HC_NET_SETUP, 0, &req, f.err,
	                sizeof(f.err)) == ST_BAD_HYPERCALL);
	CHECK_CONTAINS(f.err, "overlap");
	b->rx_ring = 4096 + sizeof(struct hedge_net_ring);
	CHECK(hc_decode(&mem, HEDGE_HC_PORT_BASE + HEDGE_HC_NET_SETUP, 0, &req, f.err,
	                sizeof(f.err)) == 0);
	CHECK((uint8_t *)req.u.net.rx == mem.base + b->rx_ring);
	free(words);
}

static void test_parse_size(void)
{
	uint64_t v = 0;
	CHECK(parse_size("32M", &v) == 0 && v == 32ull << 20);
	CHECK(parse_size("32MiB", &v) == 0 && v == 32ull << 20);
	CHECK(parse_size("1g", &v) == 0 && v == 1ull << 30);
	CHECK(parse_size("4096", &v) == 0 && v == 4096);
	CHECK(parse_size("512k", &v) == 0 && v == 512ull << 10);
	CHECK(parse_size("", &v) == -1);
	CHECK(parse_size("M", &v) == -1);
	CHECK(parse_size("-1M", &v) == -1);
	CHECK(parse_size("0", &v) == -1);
	CHECK(parse_size("12X", &v) == -1);
	CHECK(parse_size("12MX", &v) == -1);
	CHECK(parse_size("99999999999999999999", &v) == -1);
	CHECK(parse_size("17179869184G", &v) == -1);
}

int main(void)
{
	static const struct test_case cases[] = {
	    {"elf: valid image loads, bss untouched", test_elf_valid},
	    {"elf: truncated header", test_elf_truncated_header},
	    {"elf: not ELF", test_elf_bad_magic},
	    {"elf: wrong class, endianness, machine, type", test_elf_wrong_class_and_machine},
	    {"elf: program header table checks", test_elf_program_headers},
	    {"elf: truncated segments", test_elf_segment_truncated},
	    {"elf: reserved area and overlapping segments", test_elf_reserved_and_overlap},
	    {"elf: larger than guest memory", test_elf_too_large},
	    {"elf: entry point outside executable segments", test_elf_entry},
	    {"guest address check bounds and overflow", test_gmem_at},
	    {"hypercall: console write decodes", test_hc_console_ok},
	    {"hypercall: poll interest and console read", test_hc_poll_and_read},
	    {"hypercall: bad port and argument address", test_hc_bad_port_and_address},
	    {"hypercall: ABI version mismatch", test_hc_bad_abi},
	    {"hypercall: every argument struct is bounds-checked whole",
	     test_hc_every_struct_bounded},
	    {"hypercall: buffers outside memory or too long", test_hc_bad_buffers},
	    {"hypercall: abort message is cut, not trusted", test_hc_abort_message_cut},
	    {"cli: memory size parsing", test_parse_size},
	    {"net: address and MAC parsing", test_net_parse},
	    {"net: tx drops spoofed, runt and oversized frames", test_net_tx_filters},
	    {"net: a corrupt ring index is refused", test_net_corrupt_ring},
	    {"net: rx drops bad frames and stops when full", test_net_rx_fill},
	    {"hypercall: net_setup checks its rings", test_hc_net_setup},
	};
	return run_tests(cases, sizeof(cases) / sizeof(cases[0]));
}
