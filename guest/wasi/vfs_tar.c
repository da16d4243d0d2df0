/*
 * vfs_tar.c - fills an in-memory file system from a ustar archive.
 *
 * Regular files keep pointing into the archive (vfs.c copies them on the
 * first write).  Names are taken relative to the root whatever their form
 * ("a", "./a", "/a"); missing parent directories are created as tar does.
 * An entry that cannot be placed safely is skipped rather than failing the
 * whole image: a ".." component, a file standing where a directory is
 * needed, a device or FIFO.
 */
#include "tar.h"
#include "vfs.h"
#include "vfs_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum add_result {
	ADDED,
	SKIPPED,
	NO_MEMORY,
};

/* Next component of name after *pos, passing over empty and "." ones. */
static int next_component(const char *name, size_t len, size_t *pos, const char **comp,
                          size_t *comp_len)
{
	while (*pos < len) {
		size_t start = *pos;
		while (*pos < len && name[*pos] != '/')
			(*pos)++;
		size_t n = *pos - start;
		while (*pos < len && name[*pos] == '/')
			(*pos)++;
		if (n == 0 || (n == 1 && name[start] == '.'))
			continue;
		*comp = name + start;
		*comp_len = n;
		return 1;
	}
	return 0;
}

static int is_dotdot(const char *comp, size_t len)
{
	return len == 2 && comp[0] == '.' && comp[1] == '.';
}

static uint64_t seconds_to_ns(uint64_t seconds)
{
	const uint64_t ns_per_s = 1000000000u;
	return seconds > UINT64_MAX / ns_per_s ? UINT64_MAX : seconds * ns_per_s;
}

/*
 * Splits name into its parent directory (created as needed when create_dirs)
 * and last component.  *last_len is 0 when name is the root itself.
 */
static enum add_result place(struct vfs *fs, const char *name, size_t len, int create_dirs,
                             uint64_t time_ns, struct vfs_node **parent, const char **last,
                             size_t *last_len)
{
	struct vfs_node *dir = fs->root;
	size_t pos = 0;
	const char *comp;
	size_t comp_len;
	/* Vet every component first, so that a refused name creates no directories. */
	while (next_component(name, len, &pos, &comp, &comp_len)) {
		if (is_dotdot(comp, comp_len) || comp_len > VFS_NAME_MAX)
			return SKIPPED;
	}
	pos = 0;
	*last_len = 0;
	if (!next_component(name, len, &pos, &comp, &comp_len)) {
		*parent = dir;
		return ADDED;
	}
	for (;;) {
		const char *next;
		size_t next_len;
		if (!next_component(name, len, &pos, &next, &next_len)) {
			*parent = dir;
			*last = comp;
			*last_len = comp_len;
			return ADDED;
		}
		long index = vfs_dir_find(dir, comp, comp_len);
		struct vfs_node *child = index >= 0 ? dir->dir.entries[index].node : NULL;
		if (!child) {
			if (!create_dirs)
				return SKIPPED;
			child = vfs_node_new(fs, WASI_FILETYPE_DIRECTORY, time_ns);
			if (!child)
				return NO_MEMORY;
			if (vfs_dir_add(dir, comp, comp_len, child) != 0) {
				vfs_node_put(child);
				return NO_MEMORY;
			}
		} else if (child->type != WASI_FILETYPE_DIRECTORY) {
			return SKIPPED; /* symlinks are not followed while loading */
		}
		dir = child;
		comp = next;
		comp_len = next_len;
	}
}

/* The regular file a hard-link entry refers to, by its name in the archive. */
static struct vfs_node *hardlink_source(struct vfs *fs, const struct tar_entry *entry)
{
	struct vfs_node *dir;
	const char *last;
	size_t last_len;
	if (place(fs, entry->link, entry->link_len, 0, 0, &dir, &last, &last_len) != ADDED ||
	    last_len == 0)
		return NULL;
	long index = vfs_dir_find(dir, last, last_len);
	if (index < 0)
		return NULL;
	struct vfs_node *node = dir->dir.entries[index].node;
	return node->type == WASI_FILETYPE_REGULAR_FILE ? node : NULL;
}

/* The node a file, symlink or hard-link entry stands for, or NULL. */
static enum add_result make_node(struct vfs *fs, const struct tar_entry *entry, uint64_t time_ns,
                                 struct vfs_node **out)
{
	struct vfs_node *node;
	switch (entry->type) {
	case TAR_FILE:
		node = vfs_node_new(fs, WASI_FILETYPE_REGULAR_FILE, time_ns);
		if (!node)
			return NO_MEMORY;
		node->file.data = entry->data;
		node->file.size = (size_t)entry->size;
		break;
	case TAR_SYMLINK: {
		if (entry->link_len == 0 || entry->link_len > VFS_PATH_MAX ||
		    memchr(entry->link, 0, entry->link_len))
			return SKIPPED;
		char *target = malloc(entry->link_len + 1);
		if (!target)
			return NO_MEMORY;
		memcpy(target, entry->link, entry->link_len);
		target[entry->link_len] = 0;
		node = vfs_node_new(fs, WASI_FILETYPE_SYMBOLIC_LINK, time_ns);
		if (!node) {
			free(target);
			return NO_MEMORY;
		}
		node->symlink.target = target;
		node->symlink.len = entry->link_len;
		break;
	}
	case TAR_HARDLINK:
		node = hardlink_source(fs, entry);
		if (!node)
			return SKIPPED;
		break;
	default:
		return SKIPPED;
	}
	*out = node;
	return ADDED;
}

static enum add_result add_entry(struct vfs *fs, const struct tar_entry *entry)
{
	uint64_t time_ns = seconds_to_ns(entry->mtime);
	if (entry->type == TAR_OTHER)
		return SKIPPED;
	struct vfs_node *dir;
	const char *name;
	size_t name_len;
	enum add_result result =
	    place(fs, entry->name, entry->name_len, 1, time_ns, &dir, &name, &name_len);
	if (result != ADDED)
		return result;
	if (name_len == 0) {
		if (entry->type != TAR_DIR)
			return SKIPPED;
		dir->atim = dir->mtim = dir->ctim = time_ns;
		return ADDED;
	}

	long index = vfs_dir_find(dir, name, name_len);
	struct vfs_node *existing = index >= 0 ? dir->dir.entries[index].node : NULL;
	if (existing && existing->type == WASI_FILETYPE_DIRECTORY) {
		/* A directory listed again, or after its contents: keep the contents. */
		if (entry->type != TAR_DIR)
			return SKIPPED;
		existing->atim = existing->mtim = existing->ctim = time_ns;
		return ADDED;
	}

	struct vfs_node *node;
	if (entry->type == TAR_DIR) {
		node = vfs_node_new(fs, WASI_FILETYPE_DIRECTORY, time_ns);
		if (!node)
			return NO_MEMORY;
	} else {
		result = make_node(fs, entry, time_ns, &node);
		if (result != ADDED)
			return result;
		if (node == existing)
			return ADDED; /* a hard link to itself */
	}
	/* Later entries replace earlier ones, as when tar extracts. */
	node->holds++;
	if (existing)
		vfs_dir_remove(dir, (size_t)index);
	int error = vfs_dir_add(dir, name, name_len, node);
	node->holds--;
	vfs_node_put(node);
	return error ? NO_MEMORY : ADDED;
}

int vfs_load_tar(struct vfs *fs, const void *archive, size_t size, char *error, size_t error_size,
                 size_t *skipped)
{
	struct tar_reader reader;
	tar_reader_init(&reader, archive, size);
	size_t skip_count = 0;
	for (;;) {
		struct tar_entry entry;
		int status = tar_next(&reader, &entry);
		if (status == TAR_END)
			break;
		if (status == TAR_ERROR) {
			snprintf(error, error_size, "%s", reader.error);
			return -1;
		}
		enum add_result result = add_entry(fs, &entry);
		if (result == NO_MEMORY) {
			snprintf(error, error_size, "out of memory loading the archive");
			return -1;
		}
		if (result == SKIPPED)
			skip_count++;
	}
	if (skipped)
		*skipped = skip_count;
	return 0;
}
