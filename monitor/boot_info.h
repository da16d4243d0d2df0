/*
 * boot_info.h - the boot information block handed to the guest.
 */
#ifndef HEDGE_BOOT_INFO_H
#define HEDGE_BOOT_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "hedge_abi.h"

/* A directory for the guest's file system, already archived (ustar). */
struct boot_fs {
	const char *guest_path;
	const uint8_t *tar;
	size_t size;
};

struct boot_params {
	int argc;
	char *const *argv;
	int envc;
	char *const *envp;
	uint64_t tsc_khz;
	uint64_t wall_epoch_ns;
	uint64_t image_end;
	int nfs;
	const struct boot_fs *fs;
	int nlisten;
	const struct hedge_listen_entry *listen;
};

/*
 * Writes struct hedge_boot_info, the argument strings and the directories
 * (copied after the image, page-aligned); -1 with a reason if they do not fit.
 */
int boot_info_write(struct guest_mem *mem, const struct boot_params *p, char *err, size_t errlen);

#endif
