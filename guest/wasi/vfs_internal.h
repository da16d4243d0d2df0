/*
 * vfs_internal.h - the node layout of the in-memory file system, shared by
 * vfs.c (the tree and its operations) and vfs_tar.c (loading an archive).
 * Nothing outside those two files should need it.
 */
#ifndef HEDGE_WASI_VFS_INTERNAL_H
#define HEDGE_WASI_VFS_INTERNAL_H

#include "vfs.h"

struct vfs_entry {
	char *name; /* NUL-terminated copy, name_len bytes before the NUL */
	size_t name_len;
	struct vfs_node *node;
};

struct vfs_node {
	struct vfs *fs;
	struct vfs_node *prev, *next; /* every node of fs, so vfs_destroy finds orphans */
	uint64_t ino;
	uint8_t type;   /* WASI_FILETYPE_DIRECTORY, _REGULAR_FILE or _SYMBOLIC_LINK */
	uint64_t links; /* directory entries naming this node; the root is pinned at 1 */
	uint64_t holds; /* open descriptors */
	uint64_t atim, mtim, ctim;
	union {
		struct {
			/* data is either inside the archive or equal to owned. */
			const uint8_t *data;
			uint8_t *owned;
			size_t size, capacity;
		} file;
		struct {
			struct vfs_entry *entries; /* sorted by name, for lookup and readdir */
			size_t count, capacity;
			struct vfs_node *parent; /* NULL for the root and removed directories */
			size_t subdirs;          /* for nlink */
		} dir;
		struct {
			char *target;
			size_t len;
		} symlink;
	};
};

struct vfs {
	uint64_t dev;
	uint64_t next_ino;
	uint64_t (*clock_ns)(void);
	struct vfs_node *root;
	struct vfs_node *all;
};

uint64_t vfs_now(struct vfs *fs);
/* A node with no links, stamped with time_ns; NULL when out of memory. */
struct vfs_node *vfs_node_new(struct vfs *fs, uint8_t type, uint64_t time_ns);
/* Frees the node if neither a directory entry nor a descriptor refers to it. */
void vfs_node_put(struct vfs_node *node);
/* Index of name in dir, or -1. */
long vfs_dir_find(const struct vfs_node *dir, const char *name, size_t len);
/*
 * Adds an entry: allocates first and changes nothing on failure
 * (WASI_ENOSPC).  Does not touch time stamps; the operations do.
 */
int vfs_dir_add(struct vfs_node *dir, const char *name, size_t len, struct vfs_node *node);
/* Removes entry number index; the node is freed if that was its last use. */
void vfs_dir_remove(struct vfs_node *dir, size_t index);

#endif /* HEDGE_WASI_VFS_INTERNAL_H */
