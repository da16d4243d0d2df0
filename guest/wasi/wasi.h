/*
 * wasi.h - WASI preview1 (wasi_snapshot_preview1) for wasm2c modules.
 *
 * wasm2c 1.0.32 turns each import into a call of
 * Z_wasi_snapshot_preview1Z_<name>(struct Z_wasi_snapshot_preview1_instance_t *, ...);
 * this header completes that struct, and guest/wasi/ defines all 46
 * functions.  The glue instantiates the module with a pointer to one such
 * struct, then calls wasi_init with the module's linear memory before _start.
 *
 * Descriptors: 0 stdin, 1 stdout, 2 stderr (the VM's console), then one
 * preopened directory per file-system image (hedge_fs_images), from 3 on,
 * each an in-memory tree loaded from its tar archive (vfs.h).
 */
#ifndef HEDGE_WASI_H
#define HEDGE_WASI_H

#include <stddef.h>
#include <stdint.h>

#include "wasm-rt.h"

struct wasi_fd;
struct vfs;

struct Z_wasi_snapshot_preview1_instance_t {
	/* Read at every call: memory.grow may move and resize it. */
	wasm_rt_memory_t *memory;
	struct wasi_fd *fds;      /* indexed by descriptor number */
	uint32_t fd_count;        /* slots in fds, free ones included */
	struct vfs **filesystems; /* one per preopened image, freed never */
	size_t filesystem_count;
};

/*
 * Builds the descriptor table and the file systems.  A damaged archive ends
 * the VM through hedge_abort with a one-line reason naming the directory.
 */
void wasi_init(struct Z_wasi_snapshot_preview1_instance_t *wasi, wasm_rt_memory_t *memory);

#endif /* HEDGE_WASI_H */
