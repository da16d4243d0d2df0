/*
 * boot_info.h - the boot information block handed to the guest.
 */
#ifndef HEDGE_BOOT_INFO_H
#define HEDGE_BOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

struct boot_params {
	int argc;
	char *const *argv;
	int envc;
	char *const *envp;
	uint64_t tsc_khz;
	uint64_t wall_epoch_ns;
	uint64_t image_end;
};

/* Writes struct hedge_boot_info and the argument strings; -1 if they do not fit. */
int boot_info_write(struct guest_mem *mem, const struct boot_params *p, char *err, size_t errlen);

#endif
