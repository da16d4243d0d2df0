/*
 * fuzz_elf.c - libFuzzer harness for the ELF image loader.
 *
 * Any byte string is a possible user-supplied image: the loader must refuse
 * or load it without reading or writing outside the file or guest memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf_load.h"

#define FUZZ_MEM (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t *guest;
	if (!guest)
		guest = malloc(FUZZ_MEM);
	/* A copy of exactly size bytes, so ASan catches any read past the end. */
	uint8_t *file = malloc(size ? size : 1);
	memcpy(file, data, size);
	struct guest_mem mem = {.base = guest, .size = FUZZ_MEM};
	struct elf_image img;
	char err[256];
	if (elf_load(file, size, &mem, &img, err, sizeof(err)) == 0) {
		if (img.entry < 0x100000 || img.image_end > FUZZ_MEM)
			abort();
	} else if (err[0] == '\0' || strchr(err, '\n')) {
		abort(); /* every refusal carries a one-line reason */
	}
	uint64_t mem_bytes;
	elf_config_mem(file, size, &mem_bytes);
	free(file);
	return 0;
}
