/*
 * guest_mem.c - allocation of guest-physical memory.
 *
 * Memory is reserved, not committed: pages cost host RAM only once the guest
 * or the loader touches them, which keeps a thousand small VMs affordable.
 */
#include "guest_mem.h"

#include <sys/mman.h>

int gmem_map(struct guest_mem *mem, uint64_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	mem->base = p;
	mem->size = size;
	return 0;
}

void gmem_unmap(struct guest_mem *mem)
{
	if (mem->base)
		munmap(mem->base, mem->size);
	mem->base = NULL;
	mem->size = 0;
}
