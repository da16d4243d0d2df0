/*
 * snapshot.c - saving a paused VM to a snapshot file and resuming one from it.
 *
 * Saving reads the vCPU's whole architectural state from KVM, the
 * monitor's device state and every guest page that may hold data, and
 * hands them to snapfile.c.  Restoring checks that this host can run what
 * the snapshot's guest was shown (CPU vendor, features, TSC frequency),
 * loads the state back in an order KVM accepts, and moves the clocks so
 * the guest's never go backwards.
 *
 * Everything that needs a file or a KVM system ioctl happens in
 * snapshot_prepare, before the sandbox; snapshot_take itself only reads
 * vCPU state, /proc/self/pagemap (already open) and guest memory, and
 * writes the file.
 */
#include "snapshot.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpuid_cache.h"
#include "hedge_abi.h"
#include "kvm.h"
#include "net_tap.h"
#include "status.h"

#define MSR_IA32_TSC 0x10u

/* Pagemap entry bits: the page is in RAM, or in swap. Either way it may hold data. */
#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

struct snap_ctx {
	struct kvm_cpuid2 *cpuid; /* the guest's CPUID, laid out as the cpuid section */
	uint64_t cpuid_len;
	struct kvm_msrs *msrs; /* the MSRs KVM_GET_MSRS accepts; the msrs section's layout */
	uint32_t nmsrs;
	uint8_t *xsave;
	uint32_t xsave_size; /* 0: the host has no XSAVE */
	int has_sregs2, has_xcrs, has_debugregs;
	uint64_t tsc_khz;
	int pagemap_fd; /* -1: every page is a candidate */
	uint64_t *candidates;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_sregs2 sregs2;
	struct kvm_fpu fpu;
	struct kvm_xcrs xcrs;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct snap_clock clock;
	struct snap_net net;
};

static int has_cap(int fd, int cap)
{
	return ioctl(fd, KVM_CHECK_EXTENSION, cap);
}

static size_t msrs_size(uint32_t n)
{
	return sizeof(struct kvm_msrs) + n * sizeof(struct kvm_msr_entry);
}

/*
 * KVM_GET_MSR_INDEX_LIST names MSRs that KVM_GET_MSRS may still refuse on
 * this vCPU; KVM_GET_MSRS stops at the first refusal and says where, so
 * drop that one and try again until all pass.
 */
static int probe_msrs(struct vm *vm, struct snap_ctx *s, char *err, size_t errlen)
{
	struct kvm_msr_list probe = {.nmsrs = 0};
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, &probe) < 0 && errno != E2BIG)
		return set_err(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	uint32_t n = probe.nmsrs;
	struct kvm_msr_list *list = calloc(1, sizeof(*list) + (n + 1) * sizeof(uint32_t));
	s->msrs = calloc(1, msrs_size(n + 1));
	if (!list || !s->msrs) {
		free(list);
		return set_err(err, errlen, "out of memory");
	}
	list->nmsrs = n;
	if (ioctl(vm->kvm_fd, KVM_GET_MSR_INDEX_LIST, list) < 0) {
		free(list);
		return set_err(err, errlen, "KVM_GET_MSR_INDEX_LIST: %s", strerror(errno));
	}
	n = list->nmsrs < SNAP_MSRS_MAX ? list->nmsrs : SNAP_MSRS_MAX;
	for (uint32_t i = 0; i < n; i++)
		s->msrs->entries[i].index = list->indices[i];
	free(list);
	for (;;) {
		s->msrs->nmsrs = n;
		int got = ioctl(vm->vcpu_fd, KVM_GET_MSRS, s->msrs);
		if (got < 0)
			return set_err(err, errlen, "KVM_GET_MSRS: %s", strerror(errno));
		if ((uint32_t)got >= n)
			break;
		memmove(&s->msrs->entries[got], &s->msrs->entries[got + 1],
		        (n - (uint32_t)got - 1) * sizeof(s->msrs->entries[0]));
		n--;
	}
	s->nmsrs = n;
	return 0;
}

static int prepare_cpuid(struct vm *vm, struct snap_ctx *s, char *err, size_t errlen)
{
	s->cpuid = calloc(1, sizeof(*s->cpuid) + SNAP_CPUID_MAX * sizeof(s->cpuid->entries[0]));
	if (!s->cpuid)
		return set_err(err, errlen, "out of memory");
	s->cpuid->nent = SNAP_CPUID_MAX;
	if (ioctl(vm->vcpu_fd, KVM_GET_CPUID2, s->cpuid) < 0)
		return set_err(err, errlen, "KVM_GET_CPUID2: %s", strerror(errno));
	s->cpuid->padding = 0;
	s->cpuid_len = sizeof(*s->cpuid) + s->cpuid->nent * sizeof(s->cpuid->entries[0]);
	return 0;
}

int snapshot_prepare(struct vm *vm, char *err, size_t errlen)
{
	struct snap_ctx *s = calloc(1, sizeof(*s));
	if (!s)
		return set_err(err, errlen, "out of memory");
	s->pagemap_fd = -1;
	vm->snap = s;
	if (prepare_cpuid(vm, s, err, errlen) || probe_msrs(vm, s, err, errlen))
		return -1;
	if (has_cap(vm->kvm_fd, KVM_CAP_XSAVE) > 0) {
		int size = has_cap(vm->vm_fd, KVM_CAP_XSAVE2);
		s->xsave_size = size > (int)sizeof(struct kvm_xsave)
		                    ? (uint32_t)size
		                    : (uint32_t)sizeof(struct kvm_xsave);
		s->xsave = calloc(1, s->xsave_size);
		if (!s->xsave)
			return set_err(err, errlen, "out of memory");
	}
	s->has_sregs2 = has_cap(vm->kvm_fd, KVM_CAP_SREGS2) > 0;
	s->has_xcrs = has_cap(vm->kvm_fd, KVM_CAP_XCRS) > 0;
	s->has_debugregs = has_cap(vm->kvm_fd, KVM_CAP_DEBUGREGS) > 0;
	s->tsc_khz = kvm_tsc_khz(vm);
	uint64_t pages = vm->mem.size / SNAP_PAGE_SIZE;
	s->candidates = calloc((pages + 63) / 64, sizeof(uint64_t));
	if (!s->candidates)
		return set_err(err, errlen, "out of memory");
	/* Without it every page is read to find the non-zero ones: slower, still right. */
	s->pagemap_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return 0;
}

void snapshot_release(struct vm *vm)
{
	struct snap_ctx *s = vm->snap;
	if (!s)
		return;
	if (s->pagemap_fd >= 0)
		close(s->pagemap_fd);
	free(s->cpuid);
	free(s->msrs);
	free(s->xsave);
	free(s->candidates);
	free(s);
	vm->snap = NULL;
}

static int get_state(int fd, unsigned long req, void *arg, const char *name, char *err,
                     size_t errlen)
{
	if (ioctl(fd, req, arg) < 0)
		return set_err(err, errlen, "%s: %s", name, strerror(errno));
	return 0;
}

static uint64_t ticks_to_ns(uint64_t ticks, uint64_t khz)
{
	return (uint64_t)((unsigned __int128)ticks * 1000000u / khz);
}

/* The guest's TSC and monotonic clock read as close together as two calls allow. */
static int read_clock(struct vm *vm, struct snap_ctx *s, char *err, size_t errlen)
{
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} tsc = {.h.nmsrs = 1, .e.index = MSR_IA32_TSC};
	if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, &tsc) != 1)
		return set_err(err, errlen, "cannot read the guest's TSC");
	uint64_t mono = host_monotonic_ns();
	s->clock = (struct snap_clock){
	    .tsc_khz = s->tsc_khz,
	    .guest_tsc = tsc.e.data,
	    .guest_mono_ns = mono - vm->mono_base_ns,
	    .host_wall_ns = host_realtime_ns(),
	};
	for (uint32_t i = 0; i < s->nmsrs; i++)
		if (s->msrs->entries[i].index == MSR_IA32_TSC)
			s->msrs->entries[i].data = tsc.e.data;
	return 0;
}

/*
 * A vCPU parked inside a hypercall (a read of stdin that has not returned)
 * is copied as it was just before the hypercall instruction, so that the
 * copy issues it again.  KVM leaves RIP on the instruction until the next
 * KVM_RUN completes it; PVM has already moved past it.  The instruction is
 * the guest runtime's `outl %eax, %dx` (one byte, 0xef; guest/runtime.h),
 * and code is identity-mapped, so RIP or the byte before it shows which.
 */
static int rewind_hypercall(struct vm *vm, struct kvm_regs *regs, char *err, size_t errlen)
{
	const uint8_t *code = regs->rip ? gmem_at(&vm->mem, regs->rip - 1, 2) : NULL;
	if (code && code[1] == 0xef)
		return 0;
	if (code && code[0] == 0xef) {
		regs->rip--;
		return 0;
	}
	return set_err(err, errlen,
	               "the guest waits in a hypercall whose instruction is not at rip 0x%llx: "
	               "its state cannot be copied until the wait ends",
	               (unsigned long long)regs->rip);
}

static int read_vcpu(struct vm *vm, struct snap_ctx *s, char *err, size_t errlen)
{
	int fd = vm->vcpu_fd;
	if (get_state(fd, KVM_GET_REGS, &s->regs, "KVM_GET_REGS", err, errlen) ||
	    (s->has_sregs2
	         ? get_state(fd, KVM_GET_SREGS2, &s->sregs2, "KVM_GET_SREGS2", err, errlen)
	         : get_state(fd, KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS", err, errlen)) ||
	    get_state(fd, KVM_GET_FPU, &s->fpu, "KVM_GET_FPU", err, errlen) ||
	    get_state(fd, KVM_GET_VCPU_EVENTS, &s->events, "KVM_GET_VCPU_EVENTS", err, errlen))
		return -1;
	if (vm->in_hypercall && rewind_hypercall(vm, &s->regs, err, errlen))
		return -1;
	if (s->xsave &&
	    get_state(fd, s->xsave_size > sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
	              s->xsave, "KVM_GET_XSAVE", err, errlen))
		return -1;
	if (s->has_xcrs && get_state(fd, KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS", err, errlen))
		return -1;
	if (s->has_debugregs &&
	    get_state(fd, KVM_GET_DEBUGREGS, &s->debugregs, "KVM_GET_DEBUGREGS", err, errlen))
		return -1;
	s->msrs->nmsrs = s->nmsrs;
	s->msrs->pad = 0;
	int got = ioctl(fd, KVM_GET_MSRS, s->msrs);
	if (got < 0 || (uint32_t)got != s->nmsrs)
		return set_err(err, errlen, "KVM_GET_MSRS read %d of %u MSRs", got, s->nmsrs);
	for (uint32_t i = 0; i < s->nmsrs; i++)
		s->msrs->entries[i].reserved = 0;
	return read_clock(vm, s, err, errlen);
}

static void read_net(const struct vm *vm, struct snap_ctx *s)
{
	memset(&s->net, 0, sizeof(s->net));
	const struct net_dev *net = vm->net;
	if (!net)
		return;
	s->net.present = 1;
	if (net->tx && net->rx) {
		s->net.rings_set = 1;
		s->net.tx_ring = (uint64_t)((const uint8_t *)net->tx - vm->mem.base);
		s->net.rx_ring = (uint64_t)((const uint8_t *)net->rx - vm->mem.base);
	}
	memcpy(s->net.mac, net->mac, 6);
	s->net.ipv4 = net->ipv4;
	s->net.netmask = net->netmask;
	s->net.gateway = net->gateway;
}

static void set_bits(uint64_t *bitmap, uint64_t first, uint64_t n)
{
	for (uint64_t pg = first; pg < first + n; pg++)
		bitmap[pg / 64] |= 1ull << (pg % 64);
}

/*
 * Pages that may hold data: those in RAM or swap (pagemap; mincore would
 * miss swapped ones) and, for a restored VM, those its snapshot file holds,
 * which page cache eviction can make look untouched.
 */
static void mark_candidates(const struct vm *vm, struct snap_ctx *s)
{
	uint64_t pages = vm->mem.size / SNAP_PAGE_SIZE, words = (pages + 63) / 64;
	memset(s->candidates, 0, words * sizeof(uint64_t));
	uint64_t first_vpn = (uint64_t)(uintptr_t)vm->mem.base / SNAP_PAGE_SIZE;
	uint64_t entries[4096];
	for (uint64_t pg = 0; pg < pages; pg += 4096) {
		uint64_t n = pages - pg < 4096 ? pages - pg : 4096;
		ssize_t got = s->pagemap_fd < 0 ? -1
		                                : pread(s->pagemap_fd, entries, n * 8,
		                                        (off_t)((first_vpn + pg) * 8));
		if (got != (ssize_t)(n * 8)) {
			memset(s->candidates, 0xff, words * sizeof(uint64_t));
			return;
		}
		for (uint64_t i = 0; i < n; i++)
			if (entries[i] & (PM_PRESENT | PM_SWAPPED))
				s->candidates[(pg + i) / 64] |= 1ull << ((pg + i) % 64);
	}
	for (uint64_t i = 0; i < vm->nbacking; i++)
		set_bits(s->candidates, vm->backing[i].gpa / SNAP_PAGE_SIZE, vm->backing[i].npages);
}

/* Points m at the state read_vcpu and read_net left in s; m's extents are the caller's. */
static void fill_meta(const struct vm *vm, struct snap_ctx *s, struct snap_meta *m)
{
	*m = (struct snap_meta){.mem_size = vm->mem.size, .created_ns = s->clock.host_wall_ns};
	snap_cpu_from_cpuid(s->cpuid->entries, s->cpuid->nent, &m->cpu);
	m->sec[SNAP_SEC_CPUID] = (struct snap_blob){s->cpuid, s->cpuid_len};
	m->sec[SNAP_SEC_REGS] = (struct snap_blob){&s->regs, sizeof(s->regs)};
	if (s->has_sregs2)
		m->sec[SNAP_SEC_SREGS2] = (struct snap_blob){&s->sregs2, sizeof(s->sregs2)};
	else
		m->sec[SNAP_SEC_SREGS] = (struct snap_blob){&s->sregs, sizeof(s->sregs)};
	m->sec[SNAP_SEC_FPU] = (struct snap_blob){&s->fpu, sizeof(s->fpu)};
	if (s->xsave)
		m->sec[SNAP_SEC_XSAVE] = (struct snap_blob){s->xsave, s->xsave_size};
	if (s->has_xcrs)
		m->sec[SNAP_SEC_XCRS] = (struct snap_blob){&s->xcrs, sizeof(s->xcrs)};
	m->sec[SNAP_SEC_MSRS] = (struct snap_blob){s->msrs, msrs_size(s->nmsrs)};
	m->sec[SNAP_SEC_EVENTS] = (struct snap_blob){&s->events, sizeof(s->events)};
	if (s->has_debugregs)
		m->sec[SNAP_SEC_DEBUGREGS] =
		    (struct snap_blob){&s->debugregs, sizeof(s->debugregs)};
	m->sec[SNAP_SEC_CLOCK] = (struct snap_blob){&s->clock, sizeof(s->clock)};
	m->sec[SNAP_SEC_NET] = (struct snap_blob){&s->net, sizeof(s->net)};
}

int snapshot_take(struct vm *vm, const char *path, struct snapshot_result *res, char *err,
                  size_t errlen)
{
	struct snap_ctx *s = vm->snap;
	uint64_t start = host_monotonic_ns();
	if (read_vcpu(vm, s, err, errlen))
		return -1;
	read_net(vm, s);
	struct snap_meta m;
	fill_meta(vm, s, &m);
	mark_candidates(vm, s);
	if (snap_scan_memory(vm->mem.base, vm->mem.size, s->candidates, &m.extents, &m.nextents))
		return set_err(err, errlen, "out of memory");
	struct snap_write_stats st;
	int rc = snap_write_file(path, &m, vm->mem.base, &st, err, errlen);
	snap_meta_free(&m);
	if (rc)
		return -1;
	res->bytes_written = st.bytes_written;
	res->file_size = st.file_size;
	res->pages = st.pages;
	res->ms = (double)(host_monotonic_ns() - start) / 1e6;
	return 0;
}

const uint64_t *snapshot_candidates(struct vm *vm)
{
	mark_candidates(vm, vm->snap);
	return vm->snap->candidates;
}

int snapshot_encode_state(struct vm *vm, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
	struct snap_ctx *s = vm->snap;
	if (read_vcpu(vm, s, err, errlen))
		return -1;
	read_net(vm, s);
	struct snap_meta m;
	fill_meta(vm, s, &m); /* no extents: the pages travel on their own */
	return snap_encode(&m, out, outlen, err, errlen);
}

int snapshot_load_memory(struct vm *vm, struct snap_file *f, uint64_t mem_size, char *err,
                         size_t errlen)
{
	uint64_t have = f->meta.mem_size;
	if (mem_size && mem_size != have) {
		set_err(err, errlen,
		        "the snapshot has %llu MiB of guest memory, --mem asks for %llu MiB",
		        (unsigned long long)(have >> 20), (unsigned long long)(mem_size >> 20));
		return ST_BAD_SNAPSHOT;
	}
	if (snap_file_map(f, err, errlen))
		return ST_BAD_SNAPSHOT;
	vm->mem.base = f->mem;
	vm->mem.size = have;
	f->mem = NULL;
	/* Re-snapshotting must not forget the pages this file backs (see mark_candidates). */
	vm->backing = f->meta.extents;
	vm->nbacking = f->meta.nextents;
	f->meta.extents = NULL;
	f->meta.nextents = 0;
	return 0;
}

/* Bits the CPU reports from the guest's own control registers, not from the host. */
static const uint32_t dynamic_bits[SNAP_CPU_WORDS] = {
    [SNAP_CPU_1_ECX] = 1u << 27, /* OSXSAVE */
    [SNAP_CPU_1_EDX] = 1u << 9,  /* APIC, off until the APIC base MSR enables it */
    [SNAP_CPU_7_ECX] = 1u << 4,  /* OSPKE */
};

static const char *const word_name[SNAP_CPU_WORDS] = {
    [SNAP_CPU_1_ECX] = "leaf 1 ecx",           [SNAP_CPU_1_EDX] = "leaf 1 edx",
    [SNAP_CPU_7_EBX] = "leaf 7 ebx",           [SNAP_CPU_7_ECX] = "leaf 7 ecx",
    [SNAP_CPU_7_EDX] = "leaf 7 edx",           [SNAP_CPU_X1_ECX] = "leaf 0x80000001 ecx",
    [SNAP_CPU_X1_EDX] = "leaf 0x80000001 edx", [SNAP_CPU_XCR0] = "XSAVE features",
};

/*
 * What this host gives a guest: KVM's supported CPUID, and what the vCPU
 * reports once given it (PVM, which runs guest code natively, shows the
 * guest more of the real CPU than it lists as supported).  Setting the
 * table is harmless: the snapshot's own replaces it before the first run.
 */
static int host_cpu(struct vm *vm, struct snap_cpu *hc, char *err, size_t errlen)
{
	struct kvm_cpuid2 *host = cpuid_supported(vm->kvm_fd);
	if (!host)
		return set_err(err, errlen, "KVM cannot report its supported CPUID: %s",
		               strerror(errno));
	snap_cpu_from_cpuid(host->entries, host->nent, hc);
	struct kvm_cpuid2 *eff = calloc(1, sizeof(*eff) + SNAP_CPUID_MAX * sizeof(eff->entries[0]));
	if (eff) {
		eff->nent = SNAP_CPUID_MAX;
		if (ioctl(vm->vcpu_fd, KVM_SET_CPUID2, host) == 0 &&
		    ioctl(vm->vcpu_fd, KVM_GET_CPUID2, eff) == 0) {
			struct snap_cpu shown;
			snap_cpu_from_cpuid(eff->entries, eff->nent, &shown);
			for (int i = 0; i < SNAP_CPU_WORDS; i++)
				hc->features[i] |= shown.features[i];
		}
	}
	free(eff);
	free(host);
	return 0;
}

static int check_host_cpu(struct vm *vm, const struct snap_meta *m, char *err, size_t errlen)
{
	struct snap_cpu hc;
	if (host_cpu(vm, &hc, err, errlen))
		return -1;
	if (memcmp(hc.vendor, m->cpu.vendor, 12) != 0)
		return set_err(err, errlen,
		               "the snapshot was taken on a %.12s CPU, this host has %.12s",
		               m->cpu.vendor, hc.vendor);
	for (int i = 0; i < SNAP_CPU_WORDS; i++) {
		uint32_t missing = m->cpu.features[i] & ~hc.features[i] & ~dynamic_bits[i];
		if (missing)
			return set_err(
			    err, errlen,
			    "this host's CPU lacks features the snapshot's guest may use "
			    "(CPUID %s bits 0x%08x)",
			    word_name[i], missing);
	}
	const struct snap_blob *xs = &m->sec[SNAP_SEC_XSAVE];
	if (xs->len) {
		int size = has_cap(vm->kvm_fd, KVM_CAP_XSAVE) > 0
		               ? has_cap(vm->vm_fd, KVM_CAP_XSAVE2)
		               : -1;
		if (size < 0)
			return set_err(err, errlen, "this host's KVM has no XSAVE");
		if (size < (int)sizeof(struct kvm_xsave))
			size = (int)sizeof(struct kvm_xsave);
		if (xs->len > (uint64_t)size)
			return set_err(
			    err, errlen,
			    "the snapshot's XSAVE state has %llu bytes, this host takes %d",
			    (unsigned long long)xs->len, size);
	}
	return 0;
}

static int set_state(int fd, unsigned long req, const void *arg, const char *name, char *err,
                     size_t errlen)
{
	if (ioctl(fd, req, arg) < 0)
		return set_err(err, errlen, "KVM refuses the snapshot's state (%s: %s)", name,
		               strerror(errno));
	return 0;
}

/* A copy of a section's payload in memory aligned for KVM's structs. */
static void *copy_blob(const struct snap_blob *b)
{
	void *p = malloc(b->len);
	if (p)
		memcpy(p, b->data, b->len);
	return p;
}

/*
 * Sets the saved MSRs but IA32_TSC (restore_clock does that last).  KVM
 * refuses some values it already holds (an unset async-PF vector, say):
 * when the refused MSR already has the saved value, go on without it.
 */
static int set_msrs(struct vm *vm, const struct snap_blob *b, char *err, size_t errlen)
{
	struct kvm_msrs *saved = copy_blob(b);
	struct kvm_msrs *batch = calloc(1, b->len);
	if (!saved || !batch) {
		free(saved);
		free(batch);
		return set_err(err, errlen, "out of memory");
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < saved->nmsrs; i++)
		if (saved->entries[i].index != MSR_IA32_TSC)
			batch->entries[n++] = saved->entries[i];
	uint32_t done = 0;
	int rc = 0;
	while (done < n && rc == 0) {
		struct kvm_msrs *rest = saved; /* reuse: saved is no longer needed */
		rest->nmsrs = n - done;
		memmove(rest->entries, batch->entries + done,
		        (n - done) * sizeof(rest->entries[0]));
		int set = ioctl(vm->vcpu_fd, KVM_SET_MSRS, rest);
		if (set < 0) {
			rc = set_err(err, errlen, "KVM_SET_MSRS: %s", strerror(errno));
			break;
		}
		done += (uint32_t)set;
		if (done >= n)
			break;
		struct {
			struct kvm_msrs h;
			struct kvm_msr_entry e;
		} one = {.h.nmsrs = 1, .e.index = batch->entries[done].index};
		if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, &one) != 1 ||
		    one.e.data != batch->entries[done].data)
			rc = set_err(err, errlen, "KVM refuses the snapshot's MSR 0x%x = 0x%llx",
			             batch->entries[done].index,
			             (unsigned long long)batch->entries[done].data);
		done++;
	}
	free(saved);
	free(batch);
	return rc;
}

static int set_sregs(struct vm *vm, const struct snap_meta *m, char *err, size_t errlen)
{
	if (m->sec[SNAP_SEC_SREGS].len) {
		struct kvm_sregs sregs;
		memcpy(&sregs, m->sec[SNAP_SEC_SREGS].data, sizeof(sregs));
		return set_state(vm->vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", err, errlen);
	}
	struct kvm_sregs2 s2;
	memcpy(&s2, m->sec[SNAP_SEC_SREGS2].data, sizeof(s2));
	if (has_cap(vm->kvm_fd, KVM_CAP_SREGS2) > 0)
		return set_state(vm->vcpu_fd, KVM_SET_SREGS2, &s2, "KVM_SET_SREGS2", err, errlen);
	/* The PDPTRs only matter in PAE paging; a hedge guest is in long mode. */
	struct kvm_sregs sregs;
	memset(&sregs, 0, sizeof(sregs));
	sregs.cs = s2.cs;
	sregs.ds = s2.ds;
	sregs.es = s2.es;
	sregs.fs = s2.fs;
	sregs.gs = s2.gs;
	sregs.ss = s2.ss;
	sregs.tr = s2.tr;
	sregs.ldt = s2.ldt;
	sregs.gdt = s2.gdt;
	sregs.idt = s2.idt;
	sregs.cr0 = s2.cr0;
	sregs.cr2 = s2.cr2;
	sregs.cr3 = s2.cr3;
	sregs.cr4 = s2.cr4;
	sregs.cr8 = s2.cr8;
	sregs.efer = s2.efer;
	sregs.apic_base = s2.apic_base;
	return set_state(vm->vcpu_fd, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS", err, errlen);
}

/* The fixed-size sections, copied out and handed to KVM in a working order. */
static int set_vcpu(struct vm *vm, const struct snap_meta *m, char *err, size_t errlen)
{
	static const struct {
		int sec;
		unsigned long req;
		const char *name;
	} order[] = {
	    {SNAP_SEC_REGS, KVM_SET_REGS, "KVM_SET_REGS"},
	    {SNAP_SEC_FPU, KVM_SET_FPU, "KVM_SET_FPU"},
	    {SNAP_SEC_XCRS, KVM_SET_XCRS, "KVM_SET_XCRS"},
	    {SNAP_SEC_XSAVE, KVM_SET_XSAVE, "KVM_SET_XSAVE"},
	    {SNAP_SEC_EVENTS, KVM_SET_VCPU_EVENTS, "KVM_SET_VCPU_EVENTS"},
	    {SNAP_SEC_DEBUGREGS, KVM_SET_DEBUGREGS, "KVM_SET_DEBUGREGS"},
	};
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		const struct snap_blob *b = &m->sec[order[i].sec];
		if (!b->len)
			continue;
		/* KVM_SET_XSAVE reads as many bytes as this host's XSAVE area has. */
		uint64_t size = b->len;
		if (order[i].sec == SNAP_SEC_XSAVE) {
			int host = has_cap(vm->vm_fd, KVM_CAP_XSAVE2);
			if (host > 0 && (uint64_t)host > size)
				size = (uint64_t)host;
		}
		void *copy = calloc(1, size);
		if (!copy)
			return set_err(err, errlen, "out of memory");
		memcpy(copy, b->data, b->len);
		int rc = set_state(vm->vcpu_fd, order[i].req, copy, order[i].name, err, errlen);
		free(copy);
		if (rc)
			return -1;
	}
	return 0;
}

/*
 * The guest computes time from its TSC and the frequency it was told at
 * boot.  Ask KVM for the saved TSC value: where KVM can offset the TSC
 * the guest's clock continues exactly where it stopped; where it cannot
 * (PVM runs the guest's rdtsc natively) the TSC just keeps the host's
 * value, and the guest's clock jumps forward by the time the snapshot sat
 * on disk, which is fine as long as it is not backwards.  Either way the
 * monitor's CLOCK_MONOTONIC hypercall and the wall clock in the boot info
 * are moved to agree with what the guest's TSC now says.
 */
static int restore_clock(struct vm *vm, const struct snap_meta *m, char *err, size_t errlen)
{
	struct snap_clock c;
	memcpy(&c, m->sec[SNAP_SEC_CLOCK].data, sizeof(c));
	uint64_t host_khz = kvm_tsc_khz(vm);
	if (c.tsc_khz && host_khz && c.tsc_khz != host_khz) {
		/* KVM's own tolerance for calling two TSC frequencies the same. */
		uint64_t diff = c.tsc_khz > host_khz ? c.tsc_khz - host_khz : host_khz - c.tsc_khz;
		if (diff * 1000000 > c.tsc_khz * 250 &&
		    (has_cap(vm->kvm_fd, KVM_CAP_TSC_CONTROL) <= 0 ||
		     ioctl(vm->vcpu_fd, KVM_SET_TSC_KHZ, (unsigned long)c.tsc_khz) < 0))
			return set_err(
			    err, errlen,
			    "the snapshot's TSC ran at %llu kHz, this host's runs at %llu kHz "
			    "and KVM cannot scale it",
			    (unsigned long long)c.tsc_khz, (unsigned long long)host_khz);
	}
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e;
	} tsc = {.h.nmsrs = 1, .e.index = MSR_IA32_TSC, .e.data = c.guest_tsc};
	if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &tsc) != 1)
		return set_err(err, errlen, "KVM refuses to set the guest's TSC");
	uint64_t now_mono = host_monotonic_ns(), now_wall = host_realtime_ns();
	if (ioctl(vm->vcpu_fd, KVM_GET_MSRS, &tsc) != 1)
		return set_err(err, errlen, "cannot read the guest's TSC");
	uint64_t guest_mono = c.guest_mono_ns;
	if (c.tsc_khz) {
		if (tsc.e.data < c.guest_tsc)
			return set_err(
			    err, errlen,
			    "this host's TSC is behind the snapshot's and KVM cannot set the "
			    "guest's: its clock would go backwards");
		guest_mono += ticks_to_ns(tsc.e.data - c.guest_tsc, c.tsc_khz);
	}
	if (guest_mono > now_mono)
		return set_err(err, errlen,
		               "the snapshot's guest has run longer than this host has");
	vm->mono_base_ns = now_mono - guest_mono;
	/* The guest adds this to its monotonic clock for the wall clock; it reads it every time. */
	struct hedge_boot_info *bi = gmem_at(&vm->mem, HEDGE_BOOT_INFO_ADDR, sizeof(*bi));
	if (bi && bi->magic == HEDGE_BOOT_MAGIC && now_wall > guest_mono)
		bi->wall_epoch_ns = now_wall - guest_mono;
	return 0;
}

static void restore_net(struct vm *vm, const struct snap_meta *m)
{
	struct snap_net net;
	memcpy(&net, m->sec[SNAP_SEC_NET].data, sizeof(net));
	if (!vm->net || !net.rings_set)
		return;
	/* snap_decode checked both rings against guest memory; gmem_at checks again. */
	const uint64_t ring = sizeof(struct hedge_net_ring);
	vm->net->tx = gmem_at(&vm->mem, net.tx_ring, ring);
	vm->net->rx = gmem_at(&vm->mem, net.rx_ring, ring);
}

int snapshot_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen)
{
	const struct snap_meta *m = &f->meta;
	if (check_host_cpu(vm, m, err, errlen))
		return ST_SNAPSHOT_HOST;
	struct kvm_cpuid2 *cpuid = copy_blob(&m->sec[SNAP_SEC_CPUID]);
	if (!cpuid) {
		set_err(err, errlen, "out of memory");
		return ST_INTERNAL;
	}
	int rc = set_state(vm->vcpu_fd, KVM_SET_CPUID2, cpuid, "KVM_SET_CPUID2", err, errlen);
	free(cpuid);
	if (rc || set_sregs(vm, m, err, errlen) ||
	    set_msrs(vm, &m->sec[SNAP_SEC_MSRS], err, errlen) || set_vcpu(vm, m, err, errlen) ||
	    restore_clock(vm, m, err, errlen))
		return ST_SNAPSHOT_HOST;
	if (m->sec[SNAP_SEC_NET].len)
		restore_net(vm, m);
	return 0;
}

int snapshot_net(const struct snap_file *f, struct snap_net *net)
{
	memset(net, 0, sizeof(*net));
	const struct snap_blob *b = &f->meta.sec[SNAP_SEC_NET];
	if (b->len)
		memcpy(net, b->data, sizeof(*net));
	return net->present;
}
