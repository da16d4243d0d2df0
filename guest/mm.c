/*
 * mm.c - the guest's page tables and physical memory split.
 *
 * The monitor identity-maps guest memory with 2 MiB pages, user-accessible,
 * at HEDGE_PML4_ADDR.  The runtime only needs finer control in a few places
 * (guard pages), so it splits a 2 MiB mapping into 4 KiB pages on demand,
 * taking page-table pages from a small pool at the top of memory; the TLB
 * flush that follows is the one thing it asks ring 0 for.  Everything
 * between the image and that pool is the heap.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_heap.h"
#include "runtime.h"

#define PAGE       4096ull
#define PTE_P      (1ull << 0)
#define PTE_W      (1ull << 1)
#define PTE_U      (1ull << 2)
#define PTE_PS     (1ull << 7)
#define PTE_RWU    (PTE_P | PTE_W | PTE_U)
#define PTE_ADDR   0x000ffffffffff000ull
#define POOL_PAGES 64

static uintptr_t pool_next; /* next free pool page, growing down */
static uintptr_t pool_floor;

void *mm_alloc_page(void)
{
	if (pool_next <= pool_floor)
		hedge_abort("out of page-table pages");
	pool_next -= PAGE;
	void *page = (void *)pool_next;
	memset(page, 0, PAGE);
	return page;
}

static uint64_t *next_table(uint64_t *table, unsigned idx)
{
	if (!(table[idx] & PTE_P))
		hedge_abort("mm: address not mapped");
	return (uint64_t *)(uintptr_t)(table[idx] & PTE_ADDR);
}

void mm_unmap_page(uintptr_t va)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)HEDGE_PML4_ADDR;
	uint64_t *pdpt = next_table(pml4, (va >> 39) & 511);
	uint64_t *pd = next_table(pdpt, (va >> 30) & 511);
	unsigned pd_idx = (va >> 21) & 511;
	if (pd[pd_idx] & PTE_PS) {
		uint64_t *pt = mm_alloc_page();
		uint64_t base = pd[pd_idx] & PTE_ADDR & ~((2ull << 20) - 1);
		for (unsigned i = 0; i < 512; i++)
			pt[i] = (base + i * PAGE) | PTE_RWU;
		pd[pd_idx] = (uint64_t)(uintptr_t)pt | PTE_RWU;
	}
	uint64_t *pt = next_table(pd, pd_idx);
	pt[(va >> 12) & 511] = 0;
}

/* A zeroed page-table page from the heap, for mappings made after boot. */
static uint64_t *heap_table_page(void)
{
	uint64_t *page = aligned_alloc(PAGE, PAGE);
	if (page)
		memset(page, 0, PAGE);
	return page;
}

/* The table that entry idx of table points to, created if absent. */
static uint64_t *table_at(uint64_t *table, unsigned idx)
{
	if (!(table[idx] & PTE_P)) {
		uint64_t *next = heap_table_page();
		if (!next)
			return NULL;
		table[idx] = (uint64_t)(uintptr_t)next | PTE_RWU;
	}
	if (table[idx] & PTE_PS)
		hedge_abort("mm: cannot map a 4 KiB page inside a 2 MiB one (entry %u)", idx);
	return (uint64_t *)(uintptr_t)(table[idx] & PTE_ADDR);
}

int mm_map_page(uintptr_t va, uintptr_t pa)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)HEDGE_PML4_ADDR;
	uint64_t *pdpt = table_at(pml4, (va >> 39) & 511);
	uint64_t *pd = pdpt ? table_at(pdpt, (va >> 30) & 511) : NULL;
	uint64_t *pt = pd ? table_at(pd, (va >> 21) & 511) : NULL;
	if (!pt)
		return -1;
	/* Absent to present needs no TLB flush: absent entries are never cached. */
	pt[(va >> 12) & 511] = (pa & PTE_ADDR) | PTE_RWU;
	return 0;
}

size_t mm_phys_span(uintptr_t va, size_t len, uintptr_t *pa)
{
	if (va < boot_info->mem_size) { /* identity-mapped RAM */
		*pa = va;
		size_t room = boot_info->mem_size - va;
		return len < room ? len : room;
	}
	uint64_t *pml4 = (uint64_t *)(uintptr_t)HEDGE_PML4_ADDR;
	size_t span = 0;
	uintptr_t expect = 0;
	while (span < len) {
		uintptr_t page_va = (va + span) & ~(uintptr_t)(PAGE - 1);
		uint64_t *table = pml4;
		uint64_t entry = 0;
		for (int shift = 39; shift >= 12; shift -= 9) {
			entry = table[(page_va >> shift) & 511];
			if (!(entry & PTE_P) || (shift > 12 && (entry & PTE_PS)))
				return span;
			table = (uint64_t *)(uintptr_t)(entry & PTE_ADDR);
		}
		uintptr_t phys = (entry & PTE_ADDR) + ((va + span) & (PAGE - 1));
		if (span == 0)
			*pa = phys;
		else if (phys != expect)
			break;
		size_t chunk = PAGE - ((va + span) & (PAGE - 1));
		span += chunk;
		expect = phys + chunk;
	}
	return span < len ? span : len;
}

void mm_init(void)
{
	uintptr_t top = boot_info->mem_size;
	pool_next = top;
	pool_floor = top - POOL_PAGES * PAGE;

	mm_unmap_page((uintptr_t)__stack_guard);
	mm_unmap_page((uintptr_t)__kstack_guard);
	mm_unmap_page((uintptr_t)__panic_stack_guard);
	ring0_flush_tlb();

	/* The monitor may have loaded directories after the image: start above them. */
	uintptr_t image_end = (uintptr_t)_end;
	if (boot_info->heap_start > image_end)
		image_end = boot_info->heap_start;
	uintptr_t heap_start = (image_end + PAGE - 1) & ~(PAGE - 1);
	if (heap_start >= pool_floor)
		hedge_abort("no memory left for the heap (image ends at 0x%lx)",
		            (unsigned long)heap_start);
	heap_init((void *)heap_start, pool_floor - heap_start);
}
