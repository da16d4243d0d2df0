/*
 * wasm_rt.c - the wasm2c runtime API (wasm-rt.h, wabt 1.0.32) for the guest.
 *
 * Linear memories live in their own virtual region above guest RAM, 8 GiB
 * apart: 4 GiB of addressable memory plus 4 GiB that is never mapped.  A
 * wasm address is a 32-bit index plus a 32-bit offset, so every access
 * wasm2c emits without a bounds check (WASM_RT_MEMCHECK_SIGNAL_HANDLER)
 * lands either in mapped memory or in an unmapped page, and the page fault
 * becomes the trap "out of bounds memory access".  That costs nothing on
 * the hot path; bounds checks on every access would.
 *
 * A trap ends the VM: hedge runs WASI commands, which have no way to resume.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "runtime.h"
#include "wasm-rt.h"
#include "wasm_hedge.h"

#define WASM_PAGE      65536u
#define WASM_MAX_PAGES 65536u
#define PAGE           4096u
#define REGION_BASE    (64ull << 30) /* above any guest RAM (16 GiB at most) */
#define REGION_STRIDE  (8ull << 30)
#define MAX_MEMORIES   8

/* Used only by modules built with explicit bounds checks (hedge build --bounds-checks). */
uint32_t wasm_rt_call_stack_depth;

static bool initialized;
static unsigned memories_used;

/* The guard page below the wasm stack, to tell exhaustion from other faults. */
static uintptr_t stack_guard;

void wasm_rt_init(void)
{
	initialized = true;
}

bool wasm_rt_is_initialized(void)
{
	return initialized;
}

void wasm_rt_free(void)
{
	initialized = false;
}

const char *wasm_rt_strerror(wasm_rt_trap_t trap)
{
	switch (trap) {
	case WASM_RT_TRAP_NONE:
		return "no error";
	case WASM_RT_TRAP_OOB:
		return "out of bounds memory access";
	case WASM_RT_TRAP_INT_OVERFLOW:
		return "integer overflow";
	case WASM_RT_TRAP_DIV_BY_ZERO:
		return "integer divide by zero";
	case WASM_RT_TRAP_INVALID_CONVERSION:
		return "invalid conversion to integer";
	case WASM_RT_TRAP_UNREACHABLE:
		return "unreachable instruction executed";
	case WASM_RT_TRAP_CALL_INDIRECT:
		return "indirect call to a null or mismatched function";
	case WASM_RT_TRAP_UNCAUGHT_EXCEPTION:
		return "uncaught exception";
#if !WASM_RT_MERGED_OOB_AND_EXHAUSTION_TRAPS
	case WASM_RT_TRAP_EXHAUSTION:
		return "call stack exhausted";
#endif
	}
	return "unknown trap";
}

void wasm_rt_trap(wasm_rt_trap_t trap)
{
	hedge_abort("wasm trap: %s", wasm_rt_strerror(trap));
}

/* The page fault handler asks here whether a fault is a wasm trap. */
const char *panic_explain(unsigned long vector, uint64_t cr2)
{
	if (vector != 14)
		return NULL;
	if (cr2 >= REGION_BASE && cr2 < REGION_BASE + MAX_MEMORIES * REGION_STRIDE)
		return "wasm trap: out of bounds memory access";
	if (stack_guard && cr2 >= stack_guard && cr2 < stack_guard + PAGE)
		return "wasm trap: call stack exhausted";
	return NULL;
}

/* Backs pages [from, to) of a memory with fresh zeroed RAM; -1 if there is none. */
static int map_pages(wasm_rt_memory_t *mem, uint32_t from, uint32_t to)
{
	if (to == from)
		return 0;
	size_t bytes = (size_t)(to - from) * WASM_PAGE;
	/* calloc leaves never-used heap memory untouched, so this costs no RAM yet. */
	uint8_t *raw = calloc(1, bytes + PAGE);
	if (!raw)
		return -1;
	uintptr_t phys = ((uintptr_t)raw + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	uintptr_t virt = (uintptr_t)mem->data + (uintptr_t)from * WASM_PAGE;
	for (size_t off = 0; off < bytes; off += PAGE)
		if (mm_map_page(virt + off, phys + off))
			return -1;
	return 0;
}

void wasm_rt_allocate_memory(wasm_rt_memory_t *mem, uint32_t initial_pages, uint32_t max_pages)
{
	if (memories_used == MAX_MEMORIES)
		hedge_abort("wasm: more than %u linear memories", MAX_MEMORIES);
	if (max_pages > WASM_MAX_PAGES)
		max_pages = WASM_MAX_PAGES;
	mem->data = (uint8_t *)(uintptr_t)(REGION_BASE + memories_used++ * REGION_STRIDE);
	mem->pages = 0;
	mem->size = 0;
	mem->max_pages = max_pages;
	if (initial_pages > max_pages || map_pages(mem, 0, initial_pages))
		hedge_abort("wasm: not enough guest memory for %u pages of linear memory "
		            "(try a larger --mem)",
		            initial_pages);
	mem->pages = initial_pages;
	mem->size = initial_pages * WASM_PAGE;
}

uint32_t wasm_rt_grow_memory(wasm_rt_memory_t *mem, uint32_t delta)
{
	uint32_t old_pages = mem->pages;
	if (delta > mem->max_pages - old_pages)
		return UINT32_MAX;
	if (map_pages(mem, old_pages, old_pages + delta))
		return UINT32_MAX;
	mem->pages = old_pages + delta;
	mem->size = mem->pages * WASM_PAGE; /* 65536 pages wrap to 0: wasm2c's own limit */
	return old_pages;
}

void wasm_rt_free_memory(wasm_rt_memory_t *mem)
{
	/* The region and its pages stay reserved: the VM ends soon after. */
	mem->pages = 0;
	mem->size = 0;
}

/* Function types: wasm2c compares indices, so equal signatures share one. */
struct func_type {
	uint32_t params, results;
	wasm_rt_type_t *types;
};
static struct func_type *func_types;
static uint32_t func_type_count;

uint32_t wasm_rt_register_func_type(uint32_t params, uint32_t results, ...)
{
	uint32_t n = params + results;
	wasm_rt_type_t *types = calloc(n ? n : 1, sizeof(*types));
	if (!types)
		hedge_abort("wasm: out of memory registering function types");
	va_list ap;
	va_start(ap, results);
	for (uint32_t i = 0; i < n; i++)
		types[i] = (wasm_rt_type_t)va_arg(ap, int);
	va_end(ap);
	for (uint32_t i = 0; i < func_type_count; i++) {
		struct func_type *t = &func_types[i];
		if (t->params == params && t->results == results &&
		    memcmp(t->types, types, n * sizeof(*types)) == 0) {
			free(types);
			return i;
		}
	}
	struct func_type *grown = realloc(func_types, (func_type_count + 1) * sizeof(*grown));
	if (!grown)
		hedge_abort("wasm: out of memory registering function types");
	func_types = grown;
	func_types[func_type_count] = (struct func_type){params, results, types};
	return func_type_count++;
}

/*
 * Tables: plain heap arrays, grown in place.  Both element types share one
 * implementation over untyped storage.
 */
static void *table_allocate(uint32_t elements, size_t element_size)
{
	void *data = calloc(elements ? elements : 1, element_size);
	if (!data)
		hedge_abort("wasm: out of memory for a table of %u elements", elements);
	return data;
}

/* Returns the grown array, or NULL (table unchanged) if it may not or cannot grow. */
static void *table_grow(void *data, uint32_t size, uint32_t max_size, uint32_t delta,
                        size_t element_size, const void *init)
{
	if (delta > max_size - size)
		return NULL;
	uint8_t *grown = realloc(data, ((size_t)size + delta) * element_size);
	if (!grown)
		return NULL;
	for (uint32_t i = size; i < size + delta; i++)
		memcpy(grown + (size_t)i * element_size, init, element_size);
	return grown;
}

void wasm_rt_allocate_funcref_table(wasm_rt_funcref_table_t *table, uint32_t elements,
                                    uint32_t max_elements)
{
	table->data = table_allocate(elements, sizeof(*table->data));
	table->size = elements;
	table->max_size = max_elements;
}

void wasm_rt_allocate_externref_table(wasm_rt_externref_table_t *table, uint32_t elements,
                                      uint32_t max_elements)
{
	table->data = table_allocate(elements, sizeof(*table->data));
	table->size = elements;
	table->max_size = max_elements;
}

void wasm_rt_free_funcref_table(wasm_rt_funcref_table_t *table)
{
	free(table->data);
	table->data = NULL;
	table->size = 0;
}

void wasm_rt_free_externref_table(wasm_rt_externref_table_t *table)
{
	free(table->data);
	table->data = NULL;
	table->size = 0;
}

uint32_t wasm_rt_grow_funcref_table(wasm_rt_funcref_table_t *table, uint32_t delta,
                                    wasm_rt_funcref_t init)
{
	void *grown = table_grow(table->data, table->size, table->max_size, delta,
	                         sizeof(*table->data), &init);
	if (!grown)
		return UINT32_MAX;
	uint32_t old = table->size;
	table->data = grown;
	table->size = old + delta;
	return old;
}

uint32_t wasm_rt_grow_externref_table(wasm_rt_externref_table_t *table, uint32_t delta,
                                      wasm_rt_externref_t init)
{
	void *grown = table_grow(table->data, table->size, table->max_size, delta,
	                         sizeof(*table->data), &init);
	if (!grown)
		return UINT32_MAX;
	uint32_t old = table->size;
	table->data = grown;
	table->size = old + delta;
	return old;
}

/* Exceptions (the wasm exception-handling proposal), as wasm2c drives them. */
static uint32_t tag_count;
static uint32_t exception_tag_value, exception_size_value;
static uint8_t exception_data[256];
static WASM_RT_UNWIND_TARGET *unwind_target;

uint32_t wasm_rt_register_tag(uint32_t size)
{
	if (size > sizeof(exception_data))
		hedge_abort("wasm: exception tag of %u bytes is too large", size);
	return tag_count++;
}

void wasm_rt_load_exception(uint32_t tag, uint32_t size, const void *values)
{
	if (size > sizeof(exception_data))
		hedge_abort("wasm: exception of %u bytes is too large", size);
	exception_tag_value = tag;
	exception_size_value = size;
	memcpy(exception_data, values, size);
}

void wasm_rt_throw(void)
{
	if (!unwind_target)
		wasm_rt_trap(WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
	longjmp(*unwind_target, WASM_RT_TRAP_UNCAUGHT_EXCEPTION);
}

WASM_RT_UNWIND_TARGET *wasm_rt_get_unwind_target(void)
{
	return unwind_target;
}

void wasm_rt_set_unwind_target(WASM_RT_UNWIND_TARGET *target)
{
	unwind_target = target;
}

uint32_t wasm_rt_exception_tag(void)
{
	return exception_tag_value;
}

uint32_t wasm_rt_exception_size(void)
{
	return exception_size_value;
}

void *wasm_rt_exception(void)
{
	return exception_data;
}

extern void stack_call(void (*fn)(void *), void *arg, void *stack_top);

void wasm_run_on_own_stack(void (*fn)(void *arg), void *arg, size_t stack_bytes)
{
	/* Untouched stack pages cost nothing, so the stack can be generous. */
	uint8_t *raw = malloc(stack_bytes + 2 * PAGE);
	if (!raw)
		hedge_abort("wasm: not enough memory for an %zu KiB stack (try a larger --mem)",
		            stack_bytes >> 10);
	uintptr_t guard = ((uintptr_t)raw + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
	mm_unmap_page(guard);
	ring0_flush_tlb();
	stack_guard = guard;
	stack_call(fn, arg, (void *)(guard + PAGE + stack_bytes));
}
