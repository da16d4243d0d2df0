/*
 * guest_mem.h - guest-physical memory and the one check every guest-supplied
 * address goes through.
 */
#ifndef HEDGE_GUEST_MEM_H
#define HEDGE_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	uint8_t *base; /* host mapping of guest-physical address 0 */
	uint64_t size;
};

/*
 * Returns the host address of guest range [gpa, gpa + len), or NULL when any
 * byte of it lies outside guest memory.  len may be 0.  This is the only place
 * where a guest address becomes a host pointer.
 */
static inline void *gmem_at(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->base + gpa;
}

int gmem_map(struct guest_mem *mem, uint64_t size);
void gmem_unmap(struct guest_mem *mem);

#endif
