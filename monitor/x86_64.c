/*
 * x86_64.c - putting a vCPU straight into 64-bit long mode, in ring 3.
 *
 * No firmware runs: the monitor writes a GDT, a TSS with an I/O permission
 * bitmap and identity-mapped page tables into the reserved low memory and
 * loads long-mode registers, so the first guest instruction already runs
 * 64-bit code at the ELF entry point.
 *
 * The guest runs in ring 3.  Hypervisors that cannot run ring 0 natively
 * (PVM, which these machines use, emulates every ring-0 instruction) run
 * ring-3 code at full speed, and on hardware KVM ring 3 costs nothing.  The
 * TSS's I/O bitmap opens just the hypercall ports to ring 3.
 *
 * All of guest memory is mapped with 2 MiB pages except the first 2 MiB,
 * which uses 4 KiB pages so that page 0 can stay unmapped and a NULL
 * dereference faults.
 */
#include "x86_64.h"

#include <errno.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "cpuid_cache.h"
#include "hedge_abi.h"

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_PS  (1ull << 7)
#define PTE_RWU (PTE_P | PTE_W | PTE_U)

#define CR0_PE         (1ull << 0)
#define CR0_MP         (1ull << 1)
#define CR0_ET         (1ull << 4)
#define CR0_NE         (1ull << 5)
#define CR0_WP         (1ull << 16)
#define CR0_PG         (1ull << 31)
#define CR4_PAE        (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define EFER_LME       (1ull << 8)
#define EFER_LMA       (1ull << 10)
#define EFER_NXE       (1ull << 11)

#define TSS_IOMAP_OFFSET 104u

static void write_gdt(struct guest_mem *mem)
{
	uint64_t *gdt = gmem_at(mem, HEDGE_GDT_ADDR, HEDGE_GDT_ENTRIES * 8);
	uint64_t base = HEDGE_TSS_ADDR, limit = HEDGE_TSS_SIZE - 1;
	gdt[0] = 0;
	gdt[1] = 0x00af9a000000ffffull; /* 64-bit code, ring 0 */
	gdt[2] = 0x00cf92000000ffffull; /* data, ring 0 */
	gdt[3] = 0x00affa000000ffffull; /* 64-bit code, ring 3 */
	gdt[4] = 0x00cff2000000ffffull; /* data, ring 3 */
	gdt[5] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x8bull << 40) |
	         (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	gdt[6] = base >> 32;
}

static void write_tss(struct guest_mem *mem)
{
	uint8_t *tss = gmem_at(mem, HEDGE_TSS_ADDR, HEDGE_TSS_SIZE);
	uint64_t rsp0 = HEDGE_SCRATCH_STACK;
	uint16_t iomap = TSS_IOMAP_OFFSET;
	memcpy(tss + 4, &rsp0, sizeof(rsp0));
	memcpy(tss + 102, &iomap, sizeof(iomap));
	/* A set bit denies the port: open only the hypercall ports. */
	uint8_t *bitmap = tss + TSS_IOMAP_OFFSET;
	memset(bitmap, 0xff, 8192 + 1);
	for (unsigned port = HEDGE_HC_PORT_BASE; port < HEDGE_HC_PORT_BASE + 0x100; port++)
		bitmap[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

static void write_page_tables(struct guest_mem *mem)
{
	const uint64_t two_mib = 2ull << 20;
	uint64_t *pml4 = gmem_at(mem, HEDGE_PML4_ADDR, 4096);
	uint64_t *pdpt = gmem_at(mem, HEDGE_PDPT_ADDR, 4096);
	uint64_t npd = (mem->size + (1ull << 30) - 1) >> 30;
	uint64_t *pd = gmem_at(mem, HEDGE_PD_ADDR, npd * 4096);
	uint64_t *pt0 = gmem_at(mem, HEDGE_PT0_ADDR, 4096);

	pml4[0] = HEDGE_PDPT_ADDR | PTE_RWU;
	for (uint64_t i = 0; i < npd; i++)
		pdpt[i] = (HEDGE_PD_ADDR + i * 4096) | PTE_RWU;
	for (uint64_t addr = two_mib; addr < mem->size; addr += two_mib)
		pd[addr / two_mib] = addr | PTE_RWU | PTE_PS;
	pd[0] = HEDGE_PT0_ADDR | PTE_RWU;
	for (uint64_t i = 1; i < 512; i++)
		pt0[i] = (i * 4096) | PTE_RWU;
}

void x86_write_tables(struct guest_mem *mem)
{
	write_gdt(mem);
	write_tss(mem);
	write_page_tables(mem);
}

static int set_cpuid(int kvm_fd, int vcpu_fd, char *err, size_t errlen)
{
	struct kvm_cpuid2 *cpuid = cpuid_supported(kvm_fd);
	if (!cpuid) {
		snprintf(err, errlen, "KVM cannot report its supported CPUID: %s", strerror(errno));
		return -1;
	}
	int rc = ioctl(vcpu_fd, KVM_SET_CPUID2, cpuid);
	if (rc < 0)
		snprintf(err, errlen, "setting CPUID: %s", strerror(errno));
	free(cpuid);
	return rc;
}

static void set_segment(struct kvm_segment *seg, uint16_t selector, int code)
{
	memset(seg, 0, sizeof(*seg));
	seg->limit = 0xffffffff;
	seg->selector = selector;
	seg->type = code ? 11 : 3;
	seg->present = 1;
	seg->dpl = selector & 3;
	seg->s = 1;
	seg->g = 1;
	seg->l = code;
	seg->db = !code;
}

int x86_setup_vcpu(int kvm_fd, int vcpu_fd, uint64_t entry, char *err, size_t errlen)
{
	if (set_cpuid(kvm_fd, vcpu_fd, err, errlen))
		return -1;

	struct kvm_sregs sregs;
	if (ioctl(vcpu_fd, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	set_segment(&sregs.cs, HEDGE_SEL_UCODE, 1);
	set_segment(&sregs.ds, HEDGE_SEL_UDATA, 0);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = HEDGE_TSS_ADDR;
	sregs.tr.limit = HEDGE_TSS_SIZE - 1;
	sregs.tr.selector = HEDGE_SEL_TSS;
	sregs.tr.type = 11; /* busy 64-bit TSS */
	sregs.tr.present = 1;
	sregs.gdt.base = HEDGE_GDT_ADDR;
	sregs.gdt.limit = HEDGE_GDT_ENTRIES * 8 - 1;
	sregs.idt.base = HEDGE_IDT_ADDR;
	sregs.idt.limit = 256 * 16 - 1;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.cr3 = HEDGE_PML4_ADDR;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.efer = EFER_LME | EFER_LMA | EFER_NXE;
	if (ioctl(vcpu_fd, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		return -1;
	}

	struct kvm_regs regs;
	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rdi = HEDGE_BOOT_INFO_ADDR;
	regs.rsp = HEDGE_SCRATCH_STACK - 0x10000; /* until _start sets its own */
	regs.rflags = 0x2;
	if (ioctl(vcpu_fd, KVM_SET_REGS, &regs) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		return -1;
	}
	return 0;
}
