/*
 * hedge_heap.h - runtime-facing interface of the guest heap (guest/lib/heap.c).
 *
 * The runtime hands the heap one contiguous region at start-up; malloc and
 * friends (declared in <stdlib.h>) then carve it up.  The region must read
 * as zeros, as fresh guest memory does: calloc relies on that to skip zeroing
 * memory the heap has never handed out, and the heap only ever touches the
 * part of the region it has handed out, so untouched pages stay unbacked.
 *
 * Not reentrant: the guest is single-threaded, and nothing that runs
 * asynchronously (interrupt or exception handlers) may allocate or free.
 */
#ifndef HEDGE_HEAP_H
#define HEDGE_HEAP_H

#include <stddef.h>

struct heap_stats {
	size_t arena_size;  /* bytes managed, after aligning the region */
	size_t in_use;      /* bytes held by live allocations, headers included */
	size_t peak_in_use; /* highest in_use seen */
	size_t free_bytes;  /* arena_size - in_use: free blocks plus never-used tail */
	size_t alloc_count; /* live allocations */
};

/* Gives the heap [start, start + size).  Call once, before any malloc. */
void heap_init(void *start, size_t size);

void heap_get_stats(struct heap_stats *stats);

/* Usable bytes of a live allocation (at least what was asked for). */
size_t heap_usable_size(void *ptr);

/*
 * Walks every block and free list and reports the first inconsistency
 * through heap_corruption.  O(heap size); for tests and debugging.
 */
void heap_check(void);

/*
 * Called when the heap detects misuse (double free, a pointer it never
 * handed out, overwritten block headers).  Defined by the runtime; must not
 * return.
 */
_Noreturn void heap_corruption(const char *what, void *ptr);

#endif /* HEDGE_HEAP_H */
