/*
 * elf_load.c - validation and loading of static x86_64 ELF unikernel images.
 *
 * The image comes from the user and is parsed before anything else, so every
 * field is checked against the file size and guest memory with overflow-safe
 * arithmetic before it is used.  Validation finishes before the first byte is
 * copied, so a bad image never leaves half a guest behind.
 */
#include "elf_load.h"
#include "errmsg.h"

#include <elf.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hedge_abi.h"

#define PAGE_SIZE 4096u

/* Reads the header at file offset off; memcpy because the file may be unaligned. */
static void read_phdr(const uint8_t *file, uint64_t off, Elf64_Phdr *ph)
{
	memcpy(ph, file + off, sizeof(*ph));
}

static int check_header(const Elf64_Ehdr *eh, size_t size, char *err, size_t errlen)
{
	if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
		return set_err(err, errlen, "not an ELF file (bad magic)");
	if (eh->e_ident[EI_CLASS] != ELFCLASS64)
		return set_err(err, errlen, "not a 64-bit ELF file (class %u)",
		               eh->e_ident[EI_CLASS]);
	if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
		return set_err(err, errlen, "not a little-endian ELF file");
	if (eh->e_machine != EM_X86_64)
		return set_err(err, errlen, "ELF machine %u is not x86_64", eh->e_machine);
	if (eh->e_type != ET_EXEC)
		return set_err(err, errlen, "ELF type %u is not a static executable", eh->e_type);
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return set_err(err, errlen, "program header size %u, expected %zu", eh->e_phentsize,
		               sizeof(Elf64_Phdr));
	if (eh->e_phnum == 0)
		return set_err(err, errlen, "no program headers");
	if (eh->e_phnum > ELF_MAX_SEGMENTS)
		return set_err(err, errlen, "%u program headers, at most %u allowed", eh->e_phnum,
		               ELF_MAX_SEGMENTS);
	uint64_t table = (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
	if (eh->e_phoff > size || table > size - eh->e_phoff)
		return set_err(err, errlen, "truncated: program headers end past the file");
	return 0;
}

static int check_segment(const Elf64_Phdr *ph, unsigned idx, size_t size, uint64_t mem_size,
                         char *err, size_t errlen)
{
	if (ph->p_filesz > ph->p_memsz)
		return set_err(err, errlen, "segment %u: file size exceeds memory size", idx);
	if (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)
		return set_err(err, errlen, "truncated: segment %u ends past the file", idx);
	if (ph->p_vaddr != ph->p_paddr)
		return set_err(
		    err, errlen, "segment %u: virtual address 0x%llx differs from physical 0x%llx",
		    idx, (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_paddr);
	if (ph->p_paddr < HEDGE_IMAGE_MIN)
		return set_err(
		    err, errlen,
		    "segment %u at 0x%llx overlaps the monitor's reserved area below 0x%x", idx,
		    (unsigned long long)ph->p_paddr, HEDGE_IMAGE_MIN);
	if (ph->p_memsz > UINT64_MAX - ph->p_paddr || ph->p_paddr + ph->p_memsz > mem_size)
		return set_err(err, errlen,
		               "image does not fit: segment %u ends at 0x%llx but guest memory is "
		               "%llu MiB (try a larger --mem)",
		               idx, (unsigned long long)(ph->p_paddr + ph->p_memsz),
		               (unsigned long long)(mem_size >> 20));
	return 0;
}

int elf_load(const uint8_t *file, size_t size, struct guest_mem *mem, struct elf_image *out,
             char *err, size_t errlen)
{
	Elf64_Ehdr eh;
	Elf64_Phdr loads[ELF_MAX_SEGMENTS];
	unsigned nloads = 0;

	if (size < sizeof(eh)) {
		if (size >= SELFMAG && memcmp(file, ELFMAG, SELFMAG) != 0)
			return set_err(err, errlen, "not an ELF file (bad magic)");
		return set_err(err, errlen, "truncated: %zu bytes is shorter than an ELF header",
		               size);
	}
	memcpy(&eh, file, sizeof(eh));
	if (check_header(&eh, size, err, errlen))
		return -1;

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		read_phdr(file, eh.e_phoff + (uint64_t)i * sizeof(ph), &ph);
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (check_segment(&ph, i, size, mem->size, err, errlen))
			return -1;
		loads[nloads++] = ph;
	}
	if (nloads == 0)
		return set_err(err, errlen, "no loadable segments");

	/* Quadratic, but there are at most ELF_MAX_SEGMENTS segments. */
	for (unsigned i = 0; i < nloads; i++)
		for (unsigned j = i + 1; j < nloads; j++) {
			const Elf64_Phdr *a = &loads[i], *b = &loads[j];
			if (a->p_paddr < b->p_paddr + b->p_memsz &&
			    b->p_paddr < a->p_paddr + a->p_memsz)
				return set_err(
				    err, errlen,
				    "segments overlap: [0x%llx, 0x%llx) and [0x%llx, 0x%llx)",
				    (unsigned long long)a->p_paddr,
				    (unsigned long long)(a->p_paddr + a->p_memsz),
				    (unsigned long long)b->p_paddr,
				    (unsigned long long)(b->p_paddr + b->p_memsz));
		}

	int entry_ok = 0;
	uint64_t end = 0;
	for (unsigned i = 0; i < nloads; i++) {
		const Elf64_Phdr *ph = &loads[i];
		if ((ph->p_flags & PF_X) && eh.e_entry >= ph->p_paddr &&
		    eh.e_entry - ph->p_paddr < ph->p_memsz)
			entry_ok = 1;
		if (ph->p_paddr + ph->p_memsz > end)
			end = ph->p_paddr + ph->p_memsz;
	}
	if (!entry_ok)
		return set_err(err, errlen,
		               "entry point 0x%llx is outside every executable segment",
		               (unsigned long long)eh.e_entry);

	for (unsigned i = 0; i < nloads; i++) {
		const Elf64_Phdr *ph = &loads[i];
		uint8_t *dst = gmem_at(mem, ph->p_paddr, ph->p_memsz);
		if (!dst) /* unreachable after check_segment; kept so the copy is never unchecked */
			return set_err(err, errlen, "segment %u outside guest memory", i);
		memcpy(dst, file + ph->p_offset, ph->p_filesz);
	}
	out->entry = eh.e_entry;
	out->image_end = (end + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	out->nsegments = nloads;
	return 0;
}

/* Section header i, or NULL if the table or the header lies outside the file. */
static int read_shdr(const uint8_t *file, size_t size, const Elf64_Ehdr *eh, unsigned i,
                     Elf64_Shdr *sh)
{
	uint64_t off = (uint64_t)i * sizeof(*sh);
	if (eh->e_shentsize != sizeof(*sh) || eh->e_shoff > size || off > size - eh->e_shoff ||
	    sizeof(*sh) > size - eh->e_shoff - off)
		return -1;
	memcpy(sh, file + eh->e_shoff + off, sizeof(*sh));
	return 0;
}

int elf_config_mem(const uint8_t *file, size_t size, uint64_t *mem_bytes)
{
	static const char name[] = ".hedge_config";
	Elf64_Ehdr eh;
	Elf64_Shdr strtab, sh;
	if (size < sizeof(eh))
		return -1;
	memcpy(&eh, file, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_shnum > 4096 || read_shdr(file, size, &eh, eh.e_shstrndx, &strtab) ||
	    strtab.sh_offset > size || strtab.sh_size > size - strtab.sh_offset)
		return -1;
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		if (read_shdr(file, size, &eh, i, &sh))
			return -1;
		if (sh.sh_name >= strtab.sh_size || strtab.sh_size - sh.sh_name < sizeof(name) ||
		    memcmp(file + strtab.sh_offset + sh.sh_name, name, sizeof(name)) != 0)
			continue;
		if (sh.sh_size < 8 || sh.sh_offset > size || 8 > size - sh.sh_offset)
			return -1;
		memcpy(mem_bytes, file + sh.sh_offset, 8);
		return 0;
	}
	return -1;
}
