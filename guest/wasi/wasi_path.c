/*
 * wasi_path.c - the path_* calls: each checks the app's pointers, the
 * directory descriptor and its rights, then hands the path to the file
 * system (vfs.c), which resolves it without ever leaving that directory.
 */
#include "wasi_internal.h"

/* The path argument as bytes in the app's memory; NULL means WASI_EFAULT. */
static const char *path_arg(wasi_t *wasi, uint32_t path_ptr, uint32_t path_len)
{
	return wasi_mem(wasi, path_ptr, path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_open(wasi_t *wasi, uint32_t dir_fd, uint32_t lookup_flags,
                                             uint32_t path_ptr, uint32_t path_len, uint32_t oflags,
                                             uint64_t rights_base, uint64_t rights_inheriting,
                                             uint32_t fdflags, uint32_t fd_ptr)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	uint8_t *fd_out = wasi_mem(wasi, fd_ptr, 4);
	if (!path || !fd_out)
		return WASI_EFAULT;
	/*
	 * Find the new descriptor first: a full table must not leave a created
	 * file behind, and growing the table moves it, dir included.
	 */
	uint32_t fd;
	struct wasi_fd *entry;
	int error = wasi_fd_new(wasi, &fd, &entry);
	if (error)
		return error;
	uint64_t needed = WASI_RIGHT_PATH_OPEN;
	if (oflags & WASI_OFLAG_CREAT)
		needed |= WASI_RIGHT_PATH_CREATE_FILE;
	if (oflags & WASI_OFLAG_TRUNC)
		needed |= WASI_RIGHT_PATH_FILESTAT_SET_SIZE;
	struct wasi_fd *dir;
	error = wasi_dir_fd(wasi, dir_fd, needed, &dir);
	if (error)
		return error;
	if (fdflags & ~WASI_FDFLAGS_ALL)
		return WASI_EINVAL;

	int want_write = (rights_base & WASI_RIGHT_FD_WRITE) != 0;
	struct vfs_node *node;
	error = vfs_open(dir->node, path, path_len, lookup_flags, oflags, want_write, &node);
	if (error)
		return error;

	/*
	 * The new descriptor gets what was asked for, within what the directory
	 * may pass on and what makes sense for the kind of node: wasi-libc asks
	 * for every right and expects the surplus to be dropped silently.
	 */
	uint64_t kind_rights = vfs_node_type(node) == WASI_FILETYPE_DIRECTORY
	                           ? WASI_RIGHTS_DIRECTORY
	                           : WASI_RIGHTS_REGULAR_FILE;
	uint64_t inheritable = dir->rights_inheriting;
	entry->kind = WASI_FD_NODE;
	entry->node = node;
	entry->fdflags = (uint16_t)fdflags;
	entry->rights_base = rights_base & inheritable & kind_rights;
	entry->rights_inheriting = rights_inheriting & inheritable;
	wasi_store_u32(fd_out, fd);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_path_create_directory(wasi_t *wasi, uint32_t dir_fd,
                                                         uint32_t path_ptr, uint32_t path_len)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	if (!path)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_CREATE_DIRECTORY, &dir);
	if (error)
		return error;
	return (uint32_t)vfs_mkdir(dir->node, path, path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_get(wasi_t *wasi, uint32_t dir_fd,
                                                     uint32_t lookup_flags, uint32_t path_ptr,
                                                     uint32_t path_len, uint32_t filestat_ptr)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	uint8_t *out = wasi_mem(wasi, filestat_ptr, WASI_FILESTAT_SIZE);
	if (!path || !out)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_FILESTAT_GET, &dir);
	if (error)
		return error;
	struct vfs_stat st;
	error = vfs_stat_path(dir->node, path, path_len, lookup_flags, &st);
	if (error)
		return error;
	wasi_put_filestat(out, &st);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_path_filestat_set_times(wasi_t *wasi, uint32_t dir_fd,
                                                           uint32_t lookup_flags, uint32_t path_ptr,
                                                           uint32_t path_len, uint64_t atim,
                                                           uint64_t mtim, uint32_t fst_flags)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	if (!path)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_FILESTAT_SET_TIMES, &dir);
	if (error)
		return error;
	return (uint32_t)vfs_set_times_path(dir->node, path, path_len, lookup_flags, atim, mtim,
	                                    fst_flags);
}

uint32_t Z_wasi_snapshot_preview1Z_path_link(wasi_t *wasi, uint32_t old_fd, uint32_t old_flags,
                                             uint32_t old_path_ptr, uint32_t old_path_len,
                                             uint32_t new_fd, uint32_t new_path_ptr,
                                             uint32_t new_path_len)
{
	const char *old_path = path_arg(wasi, old_path_ptr, old_path_len);
	const char *new_path = path_arg(wasi, new_path_ptr, new_path_len);
	if (!old_path || !new_path)
		return WASI_EFAULT;
	struct wasi_fd *old_dir, *new_dir;
	int error = wasi_dir_fd(wasi, old_fd, WASI_RIGHT_PATH_LINK_SOURCE, &old_dir);
	if (!error)
		error = wasi_dir_fd(wasi, new_fd, WASI_RIGHT_PATH_LINK_TARGET, &new_dir);
	if (error)
		return error;
	return (uint32_t)vfs_link(old_dir->node, old_path, old_path_len, old_flags, new_dir->node,
	                          new_path, new_path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_readlink(wasi_t *wasi, uint32_t dir_fd, uint32_t path_ptr,
                                                 uint32_t path_len, uint32_t buf_ptr,
                                                 uint32_t buf_len, uint32_t bufused_ptr)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	uint8_t *buf = wasi_mem(wasi, buf_ptr, buf_len);
	uint8_t *bufused_out = wasi_mem(wasi, bufused_ptr, 4);
	if (!path || !buf || !bufused_out)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_READLINK, &dir);
	if (error)
		return error;
	const char *target;
	size_t target_len;
	error = vfs_readlink(dir->node, path, path_len, &target, &target_len);
	if (error)
		return error;
	/* Like readlink(2): a short buffer gets the start of the target, no NUL. */
	uint32_t used = target_len < buf_len ? (uint32_t)target_len : buf_len;
	memcpy(buf, target, used);
	wasi_store_u32(bufused_out, used);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_path_remove_directory(wasi_t *wasi, uint32_t dir_fd,
                                                         uint32_t path_ptr, uint32_t path_len)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	if (!path)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_REMOVE_DIRECTORY, &dir);
	if (error)
		return error;
	return (uint32_t)vfs_rmdir(dir->node, path, path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_rename(wasi_t *wasi, uint32_t old_fd, uint32_t old_path_ptr,
                                               uint32_t old_path_len, uint32_t new_fd,
                                               uint32_t new_path_ptr, uint32_t new_path_len)
{
	const char *old_path = path_arg(wasi, old_path_ptr, old_path_len);
	const char *new_path = path_arg(wasi, new_path_ptr, new_path_len);
	if (!old_path || !new_path)
		return WASI_EFAULT;
	struct wasi_fd *old_dir, *new_dir;
	int error = wasi_dir_fd(wasi, old_fd, WASI_RIGHT_PATH_RENAME_SOURCE, &old_dir);
	if (!error)
		error = wasi_dir_fd(wasi, new_fd, WASI_RIGHT_PATH_RENAME_TARGET, &new_dir);
	if (error)
		return error;
	return (uint32_t)vfs_rename(old_dir->node, old_path, old_path_len, new_dir->node, new_path,
	                            new_path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_symlink(wasi_t *wasi, uint32_t target_ptr,
                                                uint32_t target_len, uint32_t dir_fd,
                                                uint32_t path_ptr, uint32_t path_len)
{
	const char *target = path_arg(wasi, target_ptr, target_len);
	const char *path = path_arg(wasi, path_ptr, path_len);
	if (!target || !path)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_SYMLINK, &dir);
	if (error)
		return error;
	return (uint32_t)vfs_symlink(target, target_len, dir->node, path, path_len);
}

uint32_t Z_wasi_snapshot_preview1Z_path_unlink_file(wasi_t *wasi, uint32_t dir_fd,
                                                    uint32_t path_ptr, uint32_t path_len)
{
	const char *path = path_arg(wasi, path_ptr, path_len);
	if (!path)
		return WASI_EFAULT;
	struct wasi_fd *dir;
	int error = wasi_dir_fd(wasi, dir_fd, WASI_RIGHT_PATH_UNLINK_FILE, &dir);
	if (error)
		return error;
	return (uint32_t)vfs_unlink(dir->node, path, path_len);
}
