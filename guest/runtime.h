/*
 * runtime.h - interfaces between the guest runtime's own modules.
 */
#ifndef HEDGE_RUNTIME_H
#define HEDGE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "hedge_abi.h"

extern const struct hedge_boot_info *boot_info;

/* Makes hypercall nr with argument struct args, which must be 8-byte aligned. */
static inline void hypercall(unsigned nr, void *args)
{
	struct hedge_hc_header *hdr = args;
	hdr->abi_version = HEDGE_ABI_VERSION;
	__asm__ volatile("outl %0, %w1"
	                 :
	                 : "a"((uint32_t)(uintptr_t)args), "Nd"((uint16_t)(HEDGE_HC_PORT_BASE + nr))
	                 : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

void cpu_init(void);
/* Flushes the TLB by a trip through ring 0 (guest/arch/isr.S); slow under PVM, so rare. */
void ring0_flush_tlb(void);
void mm_init(void);
/* Removes the 4 KiB page at va from the page tables; flush the TLB after. */
void mm_unmap_page(uintptr_t va);
/*
 * Maps the 4 KiB page at virtual va to physical pa, taking any page tables it
 * needs from the heap; 0, or -1 when the heap is exhausted.  va must not lie
 * inside a 2 MiB mapping (use addresses above guest memory).
 */
int mm_map_page(uintptr_t va, uintptr_t pa);
/*
 * Hypercalls take guest-physical addresses, but buffers may live in mapped
 * regions such as wasm linear memory.  Returns how many bytes from va on are
 * physically contiguous (at most len, 0 if va is not mapped) and sets *pa to
 * the physical address of va.
 */
size_t mm_phys_span(uintptr_t va, size_t len, uintptr_t *pa);
/* A zeroed, page-aligned physical page for page tables; aborts when none is left. */
void *mm_alloc_page(void);
void clock_init(void);
void console_flush(void);

extern char __image_start[], _end[], __stack_guard[], __stack_top[], __kstack_guard[],
    __kstack_top[], __panic_stack_guard[], __panic_stack_top[];

#endif
