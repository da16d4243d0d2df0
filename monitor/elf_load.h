/*
 * elf_load.h - validation and loading of static x86_64 ELF unikernel images.
 */
#ifndef HEDGE_ELF_LOAD_H
#define HEDGE_ELF_LOAD_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

#define ELF_MAX_SEGMENTS 64

struct elf_image {
	uint64_t entry;
	uint64_t image_end; /* first byte above the highest segment, page aligned */
	unsigned nsegments;
};

/*
 * Checks file[0..size) as a hedge image and copies its PT_LOAD segments into
 * mem, which must be zero-filled: .bss is not cleared, so untouched pages stay
 * unallocated.  Returns 0, or -1 with a one-line reason in err.  Nothing is
 * written to mem unless the whole image is valid.
 */
int elf_load(const uint8_t *file, size_t size, struct guest_mem *mem, struct elf_image *out,
             char *err, size_t errlen);

/*
 * Reads the default guest memory size hedge build recorded in the image's
 * non-allocated ".hedge_config" section.  Returns 0 and sets *mem_bytes, or
 * -1 if the image has no such section or it is malformed (not an error:
 * images built by hand have none).
 */
int elf_config_mem(const uint8_t *file, size_t size, uint64_t *mem_bytes);

#endif
