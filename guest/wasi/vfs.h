/*
 * vfs.h - the in-memory file system behind each preopened WASI directory.
 *
 * A tree of nodes (directories, regular files, symbolic links) built from a
 * ustar archive (vfs_load_tar) and then read and written in place for the
 * life of the VM.  File contents first point into the archive and are
 * copied to the heap on the first change (copy on write).
 *
 * Every path is resolved relative to a start directory and can never leave
 * it: absolute paths, ".." above the start and symbolic links that lead out
 * all fail with WASI_ENOTCAPABLE; symlinks are followed component by
 * component inside the tree, at most VFS_SYMLINK_HOPS of them per lookup.
 *
 * Errors are WASI errno values (wasi_abi.h), so the WASI layer passes them on
 * unchanged.  Also compiled for the host by tests/unit/test_wasi_vfs.c, so
 * only standard C library calls are used here.
 */
#ifndef HEDGE_WASI_VFS_H
#define HEDGE_WASI_VFS_H

#include <stddef.h>
#include <stdint.h>

#include "wasi_abi.h"

#define VFS_NAME_MAX     255                 /* bytes in one path component */
#define VFS_PATH_MAX     4096                /* bytes in a path or a symlink target */
#define VFS_SYMLINK_HOPS 32                  /* symlinks followed in one lookup before ELOOP */
#define VFS_FILE_MAX     (UINT64_C(1) << 36) /* larger files fail with EFBIG */

struct vfs;
struct vfs_node;

struct vfs_stat {
	uint64_t dev;
	uint64_t ino;
	uint8_t filetype; /* WASI_FILETYPE_* */
	uint64_t nlink;
	uint64_t size;
	uint64_t atim, mtim, ctim; /* nanoseconds since the epoch */
};

struct vfs_dirent {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	uint64_t ino;
	uint8_t filetype;
	uint64_t next_cookie;
};

/*
 * A new file system holding an empty root directory.  dev is what stat
 * reports as the device; clock_ns gives the time stamped on changes (it
 * may be NULL: times are then 0).  NULL when out of memory.
 */
struct vfs *vfs_create(uint64_t dev, uint64_t (*clock_ns)(void));
/* Frees every node, even those still held by open descriptors. */
void vfs_destroy(struct vfs *fs);
struct vfs_node *vfs_root(struct vfs *fs);

/*
 * Adds the contents of a ustar archive (vfs_tar.c).  The archive must stay
 * in memory as long as the file system does: file data is not copied.
 * Returns 0, or -1 with a one-line reason in error.  Entries that cannot be
 * placed (".." in the name, a file in the way of a directory, devices) are
 * skipped; *skipped counts them if not NULL.
 */
int vfs_load_tar(struct vfs *fs, const void *archive, size_t size, char *error, size_t error_size,
                 size_t *skipped);

/* Open descriptors hold the node they refer to so that unlink cannot free it. */
void vfs_hold(struct vfs_node *node);
void vfs_release(struct vfs_node *node);

struct vfs *vfs_node_fs(const struct vfs_node *node);
uint8_t vfs_node_type(const struct vfs_node *node);
uint64_t vfs_node_size(const struct vfs_node *node);

/*
 * Path operations.  start must be a directory of the file system; path is
 * len bytes, not NUL-terminated; lookup_flags is WASI_LOOKUP_SYMLINK_FOLLOW
 * or 0 and only concerns the last component.
 */

/*
 * path_open: oflags are WASI_OFLAG_*; want_write says the caller asks for
 * write access, which a directory refuses with EISDIR.  On success *out is
 * held for the caller (vfs_release it).
 */
int vfs_open(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
             unsigned oflags, int want_write, struct vfs_node **out);
int vfs_mkdir(struct vfs_node *start, const char *path, size_t len);
int vfs_rmdir(struct vfs_node *start, const char *path, size_t len);
int vfs_unlink(struct vfs_node *start, const char *path, size_t len);
int vfs_rename(struct vfs_node *old_start, const char *old_path, size_t old_len,
               struct vfs_node *new_start, const char *new_path, size_t new_len);
int vfs_link(struct vfs_node *old_start, const char *old_path, size_t old_len,
             unsigned lookup_flags, struct vfs_node *new_start, const char *new_path,
             size_t new_len);
int vfs_symlink(const char *target, size_t target_len, struct vfs_node *start, const char *path,
                size_t len);
/* *target points into the node; it stays valid until the next change. */
int vfs_readlink(struct vfs_node *start, const char *path, size_t len, const char **target,
                 size_t *target_len);
int vfs_stat_path(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
                  struct vfs_stat *st);
int vfs_set_times_path(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
                       uint64_t atim, uint64_t mtim, unsigned fst_flags);

/* Node operations. */
void vfs_stat(const struct vfs_node *node, struct vfs_stat *st);
/* Copies up to len bytes of a regular file from offset; returns how many. */
size_t vfs_read(const struct vfs_node *node, uint64_t offset, void *buf, size_t len);
/* Writes all len bytes at offset, growing the file (holes read as zeros). */
int vfs_write(struct vfs_node *node, uint64_t offset, const void *buf, size_t len);
int vfs_truncate(struct vfs_node *node, uint64_t size);
/* fst_flags are WASI_FSTFLAG_*; *_NOW use the file system's clock. */
int vfs_set_times(struct vfs_node *node, uint64_t atim, uint64_t mtim, unsigned fst_flags);
/*
 * Directory entry number cookie: 0 is ".", 1 is "..", then the entries in
 * name order.  Returns 0, or WASI_ENOENT past the last one.
 */
int vfs_readdir(const struct vfs_node *dir, uint64_t cookie, struct vfs_dirent *out);

#endif /* HEDGE_WASI_VFS_H */
