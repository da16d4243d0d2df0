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

int boot_info_write(struct guest_mem *mem, const struct boot_params *p, char *err, size_t errlen)
{
	struct hedge_boot_info *bi = gmem_at(mem, HEDGE_BOOT_INFO_ADDR, sizeof(*bi));
	uint8_t *area = gmem_at(mem, HEDGE_ARGS_ADDR, HEDGE_ARGS_SIZE);
	uint64_t used = 0;

	if (pack(area, &used, p->argc, p->argv, err, errlen) ||
	    pack(area, &used, p->envc, p->envp, err, errlen))
		return -1;
	memset(bi, 0, sizeof(*bi));
	bi->magic = HEDGE_BOOT_MAGIC;
	bi->abi_version = HEDGE_ABI_VERSION;
	bi->argc = (uint32_t)p->argc;
	bi->envc = (uint32_t)p->envc;
	bi->mem_size = mem->size;
	bi->tsc_khz = p->tsc_khz;
	bi->wall_epoch_ns = p->wall_epoch_ns;
	bi->args = HEDGE_ARGS_ADDR;
	bi->args_size = used;
	bi->image_end = p->image_end;
	return 0;
}
