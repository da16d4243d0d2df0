/*
 * vfs.c - the in-memory file system: nodes, directories, path resolution
 * and the operations WASI's path_* and fd_* calls need (see vfs.h).
 *
 * Directories keep their entries in a sorted array: lookups are binary
 * searches, readdir cookies are indices, and the order apps see is stable.
 * Lookups never leave the start directory: each walk counts how deep below
 * the start it is, and ".." at depth 0 or an absolute symlink target fails
 * with ENOTCAPABLE instead of being resolved.
 */
#include "vfs.h"
#include "vfs_internal.h"

#include <stdlib.h>
#include <string.h>

uint64_t vfs_now(struct vfs *fs)
{
	return fs->clock_ns ? fs->clock_ns() : 0;
}

struct vfs_node *vfs_node_new(struct vfs *fs, uint8_t type, uint64_t time_ns)
{
	struct vfs_node *node = calloc(1, sizeof(*node));
	if (!node)
		return NULL;
	node->fs = fs;
	node->ino = fs->next_ino++;
	node->type = type;
	node->atim = node->mtim = node->ctim = time_ns;
	node->next = fs->all;
	if (fs->all)
		fs->all->prev = node;
	fs->all = node;
	return node;
}

static void node_free(struct vfs_node *node)
{
	struct vfs *fs = node->fs;
	if (node->prev)
		node->prev->next = node->next;
	else
		fs->all = node->next;
	if (node->next)
		node->next->prev = node->prev;
	switch (node->type) {
	case WASI_FILETYPE_REGULAR_FILE:
		free(node->file.owned);
		break;
	case WASI_FILETYPE_DIRECTORY:
		for (size_t i = 0; i < node->dir.count; i++)
			free(node->dir.entries[i].name);
		free(node->dir.entries);
		break;
	case WASI_FILETYPE_SYMBOLIC_LINK:
		free(node->symlink.target);
		break;
	}
	free(node);
}

void vfs_node_put(struct vfs_node *node)
{
	if (node->links == 0 && node->holds == 0)
		node_free(node);
}

struct vfs *vfs_create(uint64_t dev, uint64_t (*clock_ns)(void))
{
	struct vfs *fs = calloc(1, sizeof(*fs));
	if (!fs)
		return NULL;
	fs->dev = dev;
	fs->next_ino = 1;
	fs->clock_ns = clock_ns;
	fs->root = vfs_node_new(fs, WASI_FILETYPE_DIRECTORY, vfs_now(fs));
	if (!fs->root) {
		free(fs);
		return NULL;
	}
	fs->root->links = 1; /* nothing names the root, yet it must never be freed */
	return fs;
}

void vfs_destroy(struct vfs *fs)
{
	if (!fs)
		return;
	while (fs->all)
		node_free(fs->all);
	free(fs);
}

struct vfs_node *vfs_root(struct vfs *fs)
{
	return fs->root;
}

void vfs_hold(struct vfs_node *node)
{
	node->holds++;
}

void vfs_release(struct vfs_node *node)
{
	node->holds--;
	vfs_node_put(node);
}

struct vfs *vfs_node_fs(const struct vfs_node *node)
{
	return node->fs;
}

uint8_t vfs_node_type(const struct vfs_node *node)
{
	return node->type;
}

uint64_t vfs_node_size(const struct vfs_node *node)
{
	switch (node->type) {
	case WASI_FILETYPE_REGULAR_FILE:
		return node->file.size;
	case WASI_FILETYPE_SYMBOLIC_LINK:
		return node->symlink.len;
	default:
		return 0;
	}
}

/* Directory entries. */

static int name_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
	int order = memcmp(a, b, a_len < b_len ? a_len : b_len);
	if (order)
		return order;
	return (a_len > b_len) - (a_len < b_len);
}

/* Binary search: the index of name, or of where it would go (*found = 0). */
static size_t dir_search(const struct vfs_node *dir, const char *name, size_t len, int *found)
{
	size_t low = 0, high = dir->dir.count;
	while (low < high) {
		size_t mid = low + (high - low) / 2;
		const struct vfs_entry *entry = &dir->dir.entries[mid];
		int order = name_cmp(name, len, entry->name, entry->name_len);
		if (order == 0) {
			*found = 1;
			return mid;
		}
		if (order < 0)
			high = mid;
		else
			low = mid + 1;
	}
	*found = 0;
	return low;
}

long vfs_dir_find(const struct vfs_node *dir, const char *name, size_t len)
{
	int found;
	size_t index = dir_search(dir, name, len, &found);
	return found ? (long)index : -1;
}

static struct vfs_node *dir_child(const struct vfs_node *dir, const char *name, size_t len)
{
	long index = vfs_dir_find(dir, name, len);
	return index < 0 ? NULL : dir->dir.entries[index].node;
}

/* Accounting for one more directory entry naming node. */
static void link_node(struct vfs_node *dir, struct vfs_node *node)
{
	node->links++;
	if (node->type == WASI_FILETYPE_DIRECTORY) {
		node->dir.parent = dir;
		dir->dir.subdirs++;
	}
}

/* And for one less; may free the node. */
static void unlink_node(struct vfs_node *dir, struct vfs_node *node)
{
	node->links--;
	if (node->type == WASI_FILETYPE_DIRECTORY) {
		dir->dir.subdirs--;
		if (node->links == 0)
			node->dir.parent = NULL;
	}
	vfs_node_put(node);
}

int vfs_dir_add(struct vfs_node *dir, const char *name, size_t len, struct vfs_node *node)
{
	int found;
	size_t index = dir_search(dir, name, len, &found);
	if (found)
		return WASI_EEXIST;
	if (dir->dir.count == dir->dir.capacity) {
		size_t capacity = dir->dir.capacity ? dir->dir.capacity * 2 : 8;
		struct vfs_entry *entries = realloc(dir->dir.entries, capacity * sizeof(*entries));
		if (!entries)
			return WASI_ENOSPC;
		dir->dir.entries = entries;
		dir->dir.capacity = capacity;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		return WASI_ENOSPC;
	memcpy(copy, name, len);
	copy[len] = 0;
	struct vfs_entry *slot = &dir->dir.entries[index];
	memmove(slot + 1, slot, (dir->dir.count - index) * sizeof(*slot));
	slot->name = copy;
	slot->name_len = len;
	slot->node = node;
	dir->dir.count++;
	link_node(dir, node);
	return 0;
}

void vfs_dir_remove(struct vfs_node *dir, size_t index)
{
	struct vfs_entry *slot = &dir->dir.entries[index];
	struct vfs_node *node = slot->node;
	free(slot->name);
	memmove(slot, slot + 1, (dir->dir.count - index - 1) * sizeof(*slot));
	dir->dir.count--;
	unlink_node(dir, node);
}

/* A directory that was removed keeps working for its open descriptors, but empty. */
static int dir_alive(const struct vfs_node *dir)
{
	return dir->links > 0;
}

static void touch_dir(struct vfs_node *dir, uint64_t now)
{
	dir->mtim = dir->ctim = now;
}

/* Path resolution. */

enum {
	WALK_FOLLOW = 1,            /* follow a symlink in the last component */
	WALK_TRAILING_NOFOLLOW = 2, /* ...not even when the path ends in '/' */
};

enum {
	DOT_NONE,
	DOT_SELF,   /* the path ended in "." */
	DOT_PARENT, /* the path ended in ".." */
};

struct walk {
	struct vfs_node *dir; /* holds the last component; NULL when dot != DOT_NONE */
	const char *name;     /* the last component, inside buf */
	size_t name_len;
	struct vfs_node *node; /* what the path names; NULL if it does not exist */
	int trailing_slash;
	int dot;
	char *buf; /* the path being walked, rewritten at each symlink */
};

static void walk_done(struct walk *walk)
{
	free(walk->buf);
	walk->buf = NULL;
}

static int check_path(const char *path, size_t len)
{
	if (len == 0)
		return WASI_ENOENT;
	if (len > VFS_PATH_MAX)
		return WASI_ENAMETOOLONG;
	if (memchr(path, 0, len))
		return WASI_EINVAL;
	if (path[0] == '/')
		return WASI_ENOTCAPABLE;
	return 0;
}

/* The path still to walk becomes the symlink's target followed by the rest. */
static int splice_symlink(struct walk *walk, const struct vfs_node *link, size_t rest_offset,
                          size_t *buf_len)
{
	const char *target = link->symlink.target;
	size_t target_len = link->symlink.len;
	if (target_len == 0)
		return WASI_ENOENT;
	if (target[0] == '/')
		return WASI_ENOTCAPABLE;
	size_t rest_len = *buf_len - rest_offset;
	if (target_len + 1 + rest_len > VFS_PATH_MAX)
		return WASI_ENAMETOOLONG;
	char *spliced = malloc(target_len + 1 + rest_len + 1);
	if (!spliced)
		return WASI_ENOSPC;
	memcpy(spliced, target, target_len);
	size_t len = target_len;
	if (rest_len) {
		spliced[len++] = '/';
		memcpy(spliced + len, walk->buf + rest_offset, rest_len);
		len += rest_len;
	}
	spliced[len] = 0;
	free(walk->buf);
	walk->buf = spliced;
	*buf_len = len;
	return 0;
}

static int walk_path(struct vfs_node *start, const char *path, size_t len, int flags,
                     struct walk *walk)
{
	memset(walk, 0, sizeof(*walk));
	if (start->type != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	int error = check_path(path, len);
	if (error)
		return error;
	walk->buf = malloc(len + 1);
	if (!walk->buf)
		return WASI_ENOSPC;
	memcpy(walk->buf, path, len);
	walk->buf[len] = 0;

	struct vfs_node *dir = start;
	size_t depth = 0, hops = 0, pos = 0, buf_len = len;
	for (;;) {
		while (pos < buf_len && walk->buf[pos] == '/')
			pos++;
		const char *name = walk->buf + pos;
		size_t end = pos;
		while (end < buf_len && walk->buf[end] != '/')
			end++;
		size_t name_len = end - pos;
		size_t next = end;
		while (next < buf_len && walk->buf[next] == '/')
			next++;
		int last = next == buf_len;
		int trailing = last && end < buf_len;

		if (name_len == 0 || (name_len == 1 && name[0] == '.')) {
			/* "" only happens when a symlink target was just slashes. */
			if (last) {
				walk->node = dir;
				walk->dot = DOT_SELF;
				walk->trailing_slash = trailing;
				return 0;
			}
			pos = next;
			continue;
		}
		if (name_len == 2 && name[0] == '.' && name[1] == '.') {
			if (depth == 0)
				return WASI_ENOTCAPABLE;
			if (!dir->dir.parent)
				return WASI_ENOENT; /* walking out of a removed directory */
			dir = dir->dir.parent;
			depth--;
			if (last) {
				walk->node = dir;
				walk->dot = DOT_PARENT;
				walk->trailing_slash = trailing;
				return 0;
			}
			pos = next;
			continue;
		}
		if (name_len > VFS_NAME_MAX)
			return WASI_ENAMETOOLONG;

		struct vfs_node *child = dir_child(dir, name, name_len);
		int follow = !last || (flags & WALK_FOLLOW) ||
		             (trailing && !(flags & WALK_TRAILING_NOFOLLOW));
		if (child && child->type == WASI_FILETYPE_SYMBOLIC_LINK && follow) {
			if (++hops > VFS_SYMLINK_HOPS)
				return WASI_ELOOP;
			/* A trailing slash must survive the splice: it still demands a directory.
			 */
			size_t rest = last ? end : next;
			error = splice_symlink(walk, child, rest, &buf_len);
			if (error)
				return error;
			pos = 0;
			continue;
		}
		if (last) {
			walk->dir = dir;
			walk->name = name;
			walk->name_len = name_len;
			walk->node = child;
			walk->trailing_slash = trailing;
			return 0;
		}
		if (!child)
			return WASI_ENOENT;
		if (child->type != WASI_FILETYPE_DIRECTORY)
			return WASI_ENOTDIR;
		dir = child;
		depth++;
		pos = next;
	}
}

/* Node operations. */

void vfs_stat(const struct vfs_node *node, struct vfs_stat *st)
{
	memset(st, 0, sizeof(*st));
	st->dev = node->fs->dev;
	st->ino = node->ino;
	st->filetype = node->type;
	if (node->type == WASI_FILETYPE_DIRECTORY)
		st->nlink = node->links ? 2 + node->dir.subdirs : 0;
	else
		st->nlink = node->links;
	st->size = vfs_node_size(node);
	st->atim = node->atim;
	st->mtim = node->mtim;
	st->ctim = node->ctim;
}

size_t vfs_read(const struct vfs_node *node, uint64_t offset, void *buf, size_t len)
{
	if (node->type != WASI_FILETYPE_REGULAR_FILE || offset >= node->file.size)
		return 0;
	size_t avail = node->file.size - (size_t)offset;
	size_t count = len < avail ? len : avail;
	memcpy(buf, node->file.data + offset, count);
	return count;
}

/* Makes the contents heap-owned and at least needed bytes large. */
static int file_reserve(struct vfs_node *node, size_t needed)
{
	if (node->file.owned && node->file.capacity >= needed)
		return 0;
	size_t capacity = node->file.capacity * 2;
	if (capacity < needed)
		capacity = needed;
	if (capacity < 64)
		capacity = 64;
	uint8_t *owned;
	if (node->file.owned) {
		owned = realloc(node->file.owned, capacity);
		if (!owned && capacity > needed)
			owned = realloc(node->file.owned, capacity = needed);
	} else {
		/* Copy on write: the archive bytes are never modified. */
		owned = malloc(capacity);
		if (owned && node->file.size)
			memcpy(owned, node->file.data, node->file.size);
	}
	if (!owned)
		return WASI_ENOSPC;
	node->file.owned = owned;
	node->file.data = owned;
	node->file.capacity = capacity;
	return 0;
}

/* Sets the size; bytes between the old and the new end read as zeros. */
static int file_resize(struct vfs_node *node, uint64_t size)
{
	if (size > VFS_FILE_MAX)
		return WASI_EFBIG;
	if (size <= node->file.size) {
		node->file.size = (size_t)size; /* a prefix of the archive data stays valid */
		return 0;
	}
	int error = file_reserve(node, (size_t)size);
	if (error)
		return error;
	memset(node->file.owned + node->file.size, 0, (size_t)size - node->file.size);
	node->file.size = (size_t)size;
	return 0;
}

int vfs_write(struct vfs_node *node, uint64_t offset, const void *buf, size_t len)
{
	if (node->type != WASI_FILETYPE_REGULAR_FILE)
		return WASI_EBADF;
	if (offset > VFS_FILE_MAX || len > VFS_FILE_MAX - offset)
		return WASI_EFBIG;
	if (len == 0)
		return 0;
	uint64_t end = offset + len;
	int error = file_reserve(node, end > node->file.size ? (size_t)end : node->file.size);
	if (error)
		return error;
	if (offset > node->file.size)
		memset(node->file.owned + node->file.size, 0, (size_t)offset - node->file.size);
	memcpy(node->file.owned + offset, buf, len);
	if (end > node->file.size)
		node->file.size = (size_t)end;
	node->mtim = node->ctim = vfs_now(node->fs);
	return 0;
}

int vfs_truncate(struct vfs_node *node, uint64_t size)
{
	if (node->type != WASI_FILETYPE_REGULAR_FILE)
		return WASI_EBADF;
	int error = file_resize(node, size);
	if (error)
		return error;
	node->mtim = node->ctim = vfs_now(node->fs);
	return 0;
}

int vfs_set_times(struct vfs_node *node, uint64_t atim, uint64_t mtim, unsigned fst_flags)
{
	if (fst_flags & ~WASI_FSTFLAGS_ALL)
		return WASI_EINVAL;
	if ((fst_flags & WASI_FSTFLAG_ATIM) && (fst_flags & WASI_FSTFLAG_ATIM_NOW))
		return WASI_EINVAL;
	if ((fst_flags & WASI_FSTFLAG_MTIM) && (fst_flags & WASI_FSTFLAG_MTIM_NOW))
		return WASI_EINVAL;
	uint64_t now = vfs_now(node->fs);
	if (fst_flags & WASI_FSTFLAG_ATIM)
		node->atim = atim;
	else if (fst_flags & WASI_FSTFLAG_ATIM_NOW)
		node->atim = now;
	if (fst_flags & WASI_FSTFLAG_MTIM)
		node->mtim = mtim;
	else if (fst_flags & WASI_FSTFLAG_MTIM_NOW)
		node->mtim = now;
	node->ctim = now;
	return 0;
}

int vfs_readdir(const struct vfs_node *dir, uint64_t cookie, struct vfs_dirent *out)
{
	if (dir->type != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	memset(out, 0, sizeof(*out));
	out->next_cookie = cookie + 1;
	if (cookie < 2) {
		const struct vfs_node *target = dir;
		if (cookie == 1 && dir->dir.parent)
			target = dir->dir.parent;
		out->name = ".."; /* "." is its first byte */
		out->name_len = cookie + 1;
		out->ino = target->ino;
		out->filetype = WASI_FILETYPE_DIRECTORY;
		return 0;
	}
	if (cookie - 2 >= dir->dir.count)
		return WASI_ENOENT;
	const struct vfs_entry *entry = &dir->dir.entries[cookie - 2];
	out->name = entry->name;
	out->name_len = entry->name_len;
	out->ino = entry->node->ino;
	out->filetype = entry->node->type;
	return 0;
}

/* Path operations. */

/* Creates a node named by a finished walk whose last component is absent. */
static int create_at(struct walk *walk, uint8_t type, struct vfs_node **out)
{
	if (!dir_alive(walk->dir))
		return WASI_ENOENT;
	uint64_t now = vfs_now(walk->dir->fs);
	struct vfs_node *node = vfs_node_new(walk->dir->fs, type, now);
	if (!node)
		return WASI_ENOSPC;
	int error = vfs_dir_add(walk->dir, walk->name, walk->name_len, node);
	if (error) {
		vfs_node_put(node);
		return error;
	}
	touch_dir(walk->dir, now);
	*out = node;
	return 0;
}

int vfs_open(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
             unsigned oflags, int want_write, struct vfs_node **out)
{
	if (oflags & ~WASI_OFLAGS_ALL)
		return WASI_EINVAL;
	if ((oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_DIRECTORY))
		return WASI_EINVAL;
	int exclusive = (oflags & WASI_OFLAG_CREAT) && (oflags & WASI_OFLAG_EXCL);
	/* O_CREAT|O_EXCL never follows a final symlink: the name itself must be new. */
	int flags = (lookup_flags & WASI_LOOKUP_SYMLINK_FOLLOW) && !exclusive ? WALK_FOLLOW : 0;
	struct walk walk;
	int error = walk_path(start, path, len, flags, &walk);
	if (error)
		goto done;
	struct vfs_node *node = walk.node;
	if (!node) {
		if (!(oflags & WASI_OFLAG_CREAT))
			error = WASI_ENOENT;
		else if (walk.trailing_slash)
			error = WASI_EISDIR;
		else
			error = create_at(&walk, WASI_FILETYPE_REGULAR_FILE, &node);
		if (error)
			goto done;
	} else if (exclusive) {
		error = WASI_EEXIST;
		goto done;
	} else if (node->type == WASI_FILETYPE_SYMBOLIC_LINK) {
		error = (oflags & WASI_OFLAG_DIRECTORY) ? WASI_ENOTDIR : WASI_ELOOP;
		goto done;
	} else if (node->type == WASI_FILETYPE_DIRECTORY) {
		if (want_write || (oflags & WASI_OFLAG_TRUNC)) {
			error = WASI_EISDIR;
			goto done;
		}
	} else {
		if ((oflags & WASI_OFLAG_DIRECTORY) || walk.trailing_slash) {
			error = WASI_ENOTDIR;
			goto done;
		}
		if (oflags & WASI_OFLAG_TRUNC) {
			error = vfs_truncate(node, 0);
			if (error)
				goto done;
		}
	}
	vfs_hold(node);
	*out = node;
done:
	walk_done(&walk);
	return error;
}

int vfs_mkdir(struct vfs_node *start, const char *path, size_t len)
{
	struct walk walk;
	int error = walk_path(start, path, len, WALK_TRAILING_NOFOLLOW, &walk);
	if (!error) {
		struct vfs_node *node;
		if (walk.node)
			error = WASI_EEXIST;
		else
			error = create_at(&walk, WASI_FILETYPE_DIRECTORY, &node);
	}
	walk_done(&walk);
	return error;
}

/* Removes what a finished walk names from its directory. */
static void remove_walked(struct walk *walk)
{
	uint64_t now = vfs_now(walk->dir->fs);
	struct vfs_node *node = walk->node;
	node->ctim = now;
	touch_dir(walk->dir, now);
	vfs_dir_remove(walk->dir, (size_t)vfs_dir_find(walk->dir, walk->name, walk->name_len));
}

int vfs_rmdir(struct vfs_node *start, const char *path, size_t len)
{
	struct walk walk;
	int error = walk_path(start, path, len, WALK_TRAILING_NOFOLLOW, &walk);
	if (error)
		goto done;
	if (walk.dot == DOT_SELF)
		error = WASI_EINVAL;
	else if (walk.dot == DOT_PARENT)
		error = WASI_ENOTEMPTY;
	else if (!walk.node)
		error = WASI_ENOENT;
	else if (walk.node->type != WASI_FILETYPE_DIRECTORY)
		error = WASI_ENOTDIR;
	else if (walk.node->dir.count)
		error = WASI_ENOTEMPTY;
	else
		remove_walked(&walk);
done:
	walk_done(&walk);
	return error;
}

int vfs_unlink(struct vfs_node *start, const char *path, size_t len)
{
	struct walk walk;
	int error = walk_path(start, path, len, WALK_TRAILING_NOFOLLOW, &walk);
	if (error)
		goto done;
	if (walk.dot != DOT_NONE)
		error = WASI_EISDIR;
	else if (!walk.node)
		error = WASI_ENOENT;
	else if (walk.node->type == WASI_FILETYPE_DIRECTORY)
		error = WASI_EISDIR;
	else if (walk.trailing_slash)
		error = WASI_ENOTDIR;
	else
		remove_walked(&walk);
done:
	walk_done(&walk);
	return error;
}

/* Is node dir itself or one of the directories below it? */
static int is_within(const struct vfs_node *node, const struct vfs_node *dir)
{
	for (; node; node = node->dir.parent) {
		if (node == dir)
			return 1;
	}
	return 0;
}

static int rename_check(const struct walk *from, const struct walk *to)
{
	struct vfs_node *node = from->node;
	if (from->dot != DOT_NONE || to->dot != DOT_NONE)
		return WASI_EBUSY; /* "." and ".." name directories in use */
	if (!node)
		return WASI_ENOENT;
	int is_dir = node->type == WASI_FILETYPE_DIRECTORY;
	if (!is_dir && (from->trailing_slash || to->trailing_slash))
		return WASI_ENOTDIR;
	if (!dir_alive(to->dir))
		return WASI_ENOENT;
	struct vfs_node *target = to->node;
	if (target == node)
		return 0;
	if (is_dir && is_within(to->dir, node))
		return WASI_EINVAL; /* a directory cannot move below itself */
	if (target) {
		if (is_dir && target->type != WASI_FILETYPE_DIRECTORY)
			return WASI_ENOTDIR;
		if (!is_dir && target->type == WASI_FILETYPE_DIRECTORY)
			return WASI_EISDIR;
		if (target->type == WASI_FILETYPE_DIRECTORY && target->dir.count)
			return WASI_ENOTEMPTY;
	}
	return 0;
}

int vfs_rename(struct vfs_node *old_start, const char *old_path, size_t old_len,
               struct vfs_node *new_start, const char *new_path, size_t new_len)
{
	if (old_start->fs != new_start->fs)
		return WASI_EXDEV;
	struct walk from, to;
	int error = walk_path(old_start, old_path, old_len, WALK_TRAILING_NOFOLLOW, &from);
	if (error) {
		walk_done(&from);
		return error;
	}
	error = walk_path(new_start, new_path, new_len, WALK_TRAILING_NOFOLLOW, &to);
	if (!error)
		error = rename_check(&from, &to);
	if (error || to.node == from.node)
		goto done;

	struct vfs_node *node = from.node;
	if (to.node) {
		/* Replace in place: no allocation, so nothing can fail half-way. */
		long index = vfs_dir_find(to.dir, to.name, to.name_len);
		struct vfs_node *replaced = to.dir->dir.entries[index].node;
		to.dir->dir.entries[index].node = node;
		link_node(to.dir, node);
		replaced->ctim = vfs_now(node->fs);
		unlink_node(to.dir, replaced);
	} else {
		error = vfs_dir_add(to.dir, to.name, to.name_len, node);
		if (error)
			goto done;
	}
	/* The new entry keeps the node alive while the old one goes. */
	uint64_t now = vfs_now(node->fs);
	vfs_dir_remove(from.dir, (size_t)vfs_dir_find(from.dir, from.name, from.name_len));
	node->ctim = now;
	touch_dir(from.dir, now);
	touch_dir(to.dir, now);
done:
	walk_done(&from);
	walk_done(&to);
	return error;
}

int vfs_link(struct vfs_node *old_start, const char *old_path, size_t old_len,
             unsigned lookup_flags, struct vfs_node *new_start, const char *new_path,
             size_t new_len)
{
	if (old_start->fs != new_start->fs)
		return WASI_EXDEV;
	struct walk from, to;
	int follow = (lookup_flags & WASI_LOOKUP_SYMLINK_FOLLOW) ? WALK_FOLLOW : 0;
	int error = walk_path(old_start, old_path, old_len, follow, &from);
	if (error) {
		walk_done(&from);
		return error;
	}
	error = walk_path(new_start, new_path, new_len, WALK_TRAILING_NOFOLLOW, &to);
	if (error)
		goto done;
	struct vfs_node *node = from.node;
	if (!node)
		error = WASI_ENOENT;
	else if (node->type == WASI_FILETYPE_DIRECTORY)
		error = WASI_EPERM;
	else if (from.trailing_slash)
		error = WASI_ENOTDIR;
	else if (to.node)
		error = WASI_EEXIST;
	else if (to.trailing_slash)
		error = WASI_ENOENT;
	else if (!dir_alive(to.dir))
		error = WASI_ENOENT;
	else
		error = vfs_dir_add(to.dir, to.name, to.name_len, node);
	if (!error) {
		uint64_t now = vfs_now(node->fs);
		node->ctim = now;
		touch_dir(to.dir, now);
	}
done:
	walk_done(&from);
	walk_done(&to);
	return error;
}

int vfs_symlink(const char *target, size_t target_len, struct vfs_node *start, const char *path,
                size_t len)
{
	if (target_len == 0)
		return WASI_ENOENT;
	if (target_len > VFS_PATH_MAX)
		return WASI_ENAMETOOLONG;
	if (memchr(target, 0, target_len))
		return WASI_EINVAL;
	struct walk walk;
	int error = walk_path(start, path, len, WALK_TRAILING_NOFOLLOW, &walk);
	if (error)
		goto done;
	if (walk.node) {
		error = WASI_EEXIST;
		goto done;
	}
	if (walk.trailing_slash) {
		error = WASI_ENOENT;
		goto done;
	}
	char *copy = malloc(target_len + 1);
	if (!copy) {
		error = WASI_ENOSPC;
		goto done;
	}
	memcpy(copy, target, target_len);
	copy[target_len] = 0;
	struct vfs_node *node;
	error = create_at(&walk, WASI_FILETYPE_SYMBOLIC_LINK, &node);
	if (error) {
		free(copy);
		goto done;
	}
	node->symlink.target = copy;
	node->symlink.len = target_len;
done:
	walk_done(&walk);
	return error;
}

int vfs_readlink(struct vfs_node *start, const char *path, size_t len, const char **target,
                 size_t *target_len)
{
	struct walk walk;
	int error = walk_path(start, path, len, WALK_TRAILING_NOFOLLOW, &walk);
	if (!error) {
		if (!walk.node)
			error = WASI_ENOENT;
		else if (walk.node->type != WASI_FILETYPE_SYMBOLIC_LINK)
			error = WASI_EINVAL;
		else if (walk.trailing_slash)
			error = WASI_ENOTDIR;
		else {
			*target = walk.node->symlink.target;
			*target_len = walk.node->symlink.len;
		}
	}
	walk_done(&walk);
	return error;
}

/* Looks up an existing node for stat and set_times. */
static int find_existing(struct vfs_node *start, const char *path, size_t len,
                         unsigned lookup_flags, struct vfs_node **out)
{
	struct walk walk;
	int flags = (lookup_flags & WASI_LOOKUP_SYMLINK_FOLLOW) ? WALK_FOLLOW : 0;
	int error = walk_path(start, path, len, flags, &walk);
	if (!error) {
		if (!walk.node)
			error = WASI_ENOENT;
		else if (walk.trailing_slash && walk.node->type != WASI_FILETYPE_DIRECTORY)
			error = WASI_ENOTDIR;
		else
			*out = walk.node;
	}
	walk_done(&walk);
	return error;
}

int vfs_stat_path(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
                  struct vfs_stat *st)
{
	struct vfs_node *node;
	int error = find_existing(start, path, len, lookup_flags, &node);
	if (!error)
		vfs_stat(node, st);
	return error;
}

int vfs_set_times_path(struct vfs_node *start, const char *path, size_t len, unsigned lookup_flags,
                       uint64_t atim, uint64_t mtim, unsigned fst_flags)
{
	struct vfs_node *node;
	int error = find_existing(start, path, len, lookup_flags, &node);
	if (!error)
		error = vfs_set_times(node, atim, mtim, fst_flags);
	return error;
}
