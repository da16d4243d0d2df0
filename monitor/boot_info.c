/*
 * boot_info.c - the boot information block handed to the guest.
 *
 * Arguments and environment are copied as NUL-terminated strings, one after
 * the other, so the guest can build argv without any quoting rules.
 */
#include "boot_info.h"

#include <stdio.h>
#include <string.h>

#include "hedge_abi.h"

static int pack(uint8_t *area, uint64_t *used, int n, char *const *strs, char *err, size_t errlen)
{
	for (int i = 0; i < n; i++) {
		size_t len = strlen(strs[i]) + 1;
		if (len > HEDGE_ARGS_SIZE - *used) {
			snprintf(err, errlen, "arguments and environment exceed %u bytes",
			         HEDGE_ARGS_SIZE);
			return -1;
		}
		memcpy(area + *used, strs[i], len);
		*used += len;
	}
	return 0;
}

/*
 * Copies each directory's archive into guest memory after the image and
 * describes it in a table in the argument area.  Returns the first free
 * guest-physical address after the archives, or 0 if they do not fit.
 */
static uint64_t load_fs(struct guest_mem *mem, const struct boot_params *p, uint8_t *area,
                        uint64_t *used, uint64_t *table_gpa, char *err, size_t errlen)
{
	const uint64_t page = 4096;
	uint64_t next = (p->image_end + page - 1) & ~(page - 1);
	if (p->nfs == 0)
		return next;
	/* The table first (8-byte aligned), then the path strings after it. */
	*used = (*used + 7) & ~(uint64_t)7;
	uint64_t table_bytes = (uint64_t)p->nfs * sizeof(struct hedge_fs_entry);
	if (table_bytes > HEDGE_ARGS_SIZE - *used) {
		snprintf(err, errlen, "too many --dir options");
		return 0;
	}
	struct hedge_fs_entry *table = (struct hedge_fs_entry *)(area + *used);
	*table_gpa = HEDGE_ARGS_ADDR + *used;
	*used += table_bytes;
	for (int i = 0; i < p->nfs; i++) {
		const struct boot_fs *fs = &p->fs[i];
		uint64_t path_gpa = HEDGE_ARGS_ADDR + *used;
		if (pack(area, used, 1, (char *const *)&fs->guest_path, err, errlen))
			return 0;
		uint8_t *dst = gmem_at(mem, next, fs->size);
		if (!dst) {
			snprintf(err, errlen,
			         "directory %s (%zu KiB archived) does not fit in guest memory "
			         "(try a larger --mem)",
			         fs->guest_path, fs->size >> 10);
			return 0;
		}
		memcpy(dst, fs->tar, fs->size);
		table[i] =
		    (struct hedge_fs_entry){.path = path_gpa, .tar = next, .tar_size = fs->size};
		next = (next + fs->size + page - 1) & ~(page - 1);
	}
	return next;
}

int boot_info_write(struct guest_mem *mem, const struct boot_params *p, char *err, size_t errlen)
{
	struct hedge_boot_info *bi = gmem_at(mem, HEDGE_BOOT_INFO_ADDR, sizeof(*bi));
	uint8_t *area = gmem_at(mem, HEDGE_ARGS_ADDR, HEDGE_ARGS_SIZE);
	uint64_t used = 0, fs_table = 0;

	if (pack(area, &used, p->argc, p->argv, err, errlen) ||
	    pack(area, &used, p->envc, p->envp, err, errlen))
		return -1;
	uint64_t args_size = used;
	uint64_t heap_start = load_fs(mem, p, area, &used, &fs_table, err, errlen);
	if (heap_start == 0)
		return -1;
	uint64_t listen_table = 0;
	if (p->nlisten > 0) {
		used = (used + 7) & ~(uint64_t)7;
		uint64_t bytes = (uint64_t)p->nlisten * sizeof(struct hedge_listen_entry);
		if (bytes > HEDGE_ARGS_SIZE - used) {
			snprintf(err, errlen, "too many --listen options");
			return -1;
		}
		memcpy(area + used, p->listen, bytes);
		listen_table = HEDGE_ARGS_ADDR + used;
		used += bytes;
	}
	memset(bi, 0, sizeof(*bi));
	bi->magic = HEDGE_BOOT_MAGIC;
	bi->abi_version = HEDGE_ABI_VERSION;
	bi->argc = (uint32_t)p->argc;
	bi->envc = (uint32_t)p->envc;
	bi->mem_size = mem->size;
	bi->tsc_khz = p->tsc_khz;
	bi->wall_epoch_ns = p->wall_epoch_ns;
	bi->args = HEDGE_ARGS_ADDR;
	bi->args_size = args_size;
	bi->image_end = p->image_end;
	bi->heap_start = heap_start;
	bi->fs_table = fs_table;
	bi->fs_count = (uint32_t)p->nfs;
	bi->listen_table = listen_table;
	bi->listen_count = (uint32_t)p->nlisten;
	return 0;
}
