/*
 * wasi.c - WASI set-up and the descriptor table: wasi_init, the memory
 * check every call goes through, and the fd_* calls that only concern the
 * table (close, renumber, prestat, fdstat).
 */
#include "wasi_internal.h"

#include "hedge.h"
#include "hedge_abi.h"
#include <stdlib.h>
#include <string.h>

/* More descriptors than any edge function should need; bounds the table. */
#define WASI_FD_LIMIT 4096u

void *wasi_mem(wasi_t *wasi, uint64_t ptr, uint64_t len)
{
	wasm_rt_memory_t *memory = wasi->memory;
	if (!memory || len > memory->size || ptr > memory->size - len)
		return NULL;
	return memory->data + ptr;
}

struct wasi_fd *wasi_fd_get(wasi_t *wasi, uint32_t fd)
{
	if (fd >= wasi->fd_count || wasi->fds[fd].kind == WASI_FD_FREE)
		return NULL;
	return &wasi->fds[fd];
}

int wasi_dir_fd(wasi_t *wasi, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (entry->kind != WASI_FD_NODE || vfs_node_type(entry->node) != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	if ((entry->rights_base & rights) != rights)
		return WASI_ENOTCAPABLE;
	*out = entry;
	return 0;
}

int wasi_fd_new(wasi_t *wasi, uint32_t *fd_out, struct wasi_fd **out)
{
	uint32_t fd = 0;
	while (fd < wasi->fd_count && wasi->fds[fd].kind != WASI_FD_FREE)
		fd++;
	if (fd == wasi->fd_count) {
		if (wasi->fd_count >= WASI_FD_LIMIT)
			return WASI_EMFILE;
		uint32_t count = wasi->fd_count ? wasi->fd_count * 2 : 16;
		if (count > WASI_FD_LIMIT)
			count = WASI_FD_LIMIT;
		struct wasi_fd *fds = realloc(wasi->fds, count * sizeof(*fds));
		if (!fds)
			return WASI_ENOMEM;
		memset(fds + wasi->fd_count, 0, (count - wasi->fd_count) * sizeof(*fds));
		wasi->fds = fds;
		wasi->fd_count = count;
	}
	memset(&wasi->fds[fd], 0, sizeof(wasi->fds[fd]));
	*fd_out = fd;
	*out = &wasi->fds[fd];
	return 0;
}

static void fd_free(struct wasi_fd *entry)
{
	if (entry->kind == WASI_FD_NODE)
		vfs_release(entry->node);
	else if (entry->kind == WASI_FD_SOCKET && wasi_sock_close)
		wasi_sock_close(entry);
	memset(entry, 0, sizeof(*entry));
}

void wasi_put_filestat(void *dst, const struct vfs_stat *st)
{
	uint8_t out[WASI_FILESTAT_SIZE] = {0};
	wasi_store_u64(out + WASI_FILESTAT_DEV, st->dev);
	wasi_store_u64(out + WASI_FILESTAT_INO, st->ino);
	out[WASI_FILESTAT_FILETYPE] = st->filetype;
	wasi_store_u64(out + WASI_FILESTAT_NLINK, st->nlink);
	wasi_store_u64(out + WASI_FILESTAT_FSIZE, st->size);
	wasi_store_u64(out + WASI_FILESTAT_ATIM, st->atim);
	wasi_store_u64(out + WASI_FILESTAT_MTIM, st->mtim);
	wasi_store_u64(out + WASI_FILESTAT_CTIM, st->ctim);
	memcpy(dst, out, sizeof(out));
}

static void add_console(wasi_t *wasi, enum wasi_fd_kind kind, unsigned stream, uint64_t rights)
{
	uint32_t fd;
	struct wasi_fd *entry;
	if (wasi_fd_new(wasi, &fd, &entry) != 0)
		hedge_abort("wasi: out of memory for the descriptor table");
	entry->kind = kind;
	entry->stream = stream;
	entry->rights_base = rights;
}

static void add_preopen(wasi_t *wasi, const struct hedge_fs_image *image)
{
	const char *name = image->guest_path ? image->guest_path : ".";
	uint64_t dev = wasi->filesystem_count + 1;
	struct vfs *fs = vfs_create(dev, hedge_clock_wall_ns);
	if (!fs)
		hedge_abort("wasi: out of memory for directory %s", name);
	char error[128];
	if (vfs_load_tar(fs, image->tar, image->size, error, sizeof(error), NULL) != 0)
		hedge_abort("wasi: cannot load the archive of directory %s: %s", name, error);
	wasi->filesystems[wasi->filesystem_count++] = fs;

	uint32_t fd;
	struct wasi_fd *entry;
	if (wasi_fd_new(wasi, &fd, &entry) != 0)
		hedge_abort("wasi: too many preopened directories");
	entry->kind = WASI_FD_NODE;
	entry->node = vfs_root(fs);
	vfs_hold(entry->node);
	entry->rights_base = WASI_RIGHTS_DIRECTORY;
	entry->rights_inheriting = WASI_RIGHTS_DIRECTORY | WASI_RIGHTS_REGULAR_FILE;
	entry->preopen = name;
}

void wasi_init(wasi_t *wasi, wasm_rt_memory_t *memory)
{
	memset(wasi, 0, sizeof(*wasi));
	wasi->memory = memory;
	add_console(wasi, WASI_FD_STDIN, 0, WASI_RIGHTS_STDIN);
	add_console(wasi, WASI_FD_CONSOLE, HEDGE_STREAM_STDOUT, WASI_RIGHTS_CONSOLE);
	add_console(wasi, WASI_FD_CONSOLE, HEDGE_STREAM_STDERR, WASI_RIGHTS_CONSOLE);

	struct hedge_fs_image few[8];
	struct hedge_fs_image *images = few;
	size_t count = hedge_fs_images(few, sizeof(few) / sizeof(few[0]));
	if (count > sizeof(few) / sizeof(few[0])) {
		images = malloc(count * sizeof(*images));
		if (!images)
			hedge_abort("wasi: out of memory for %zu directories", count);
		count = hedge_fs_images(images, count);
	}
	if (count) {
		wasi->filesystems = calloc(count, sizeof(*wasi->filesystems));
		if (!wasi->filesystems)
			hedge_abort("wasi: out of memory for %zu directories", count);
	}
	for (size_t i = 0; i < count; i++)
		add_preopen(wasi, &images[i]);
	if (images != few)
		free(images);
	/*
	 * Listening sockets come after the directories, as with wasmtime's
	 * --listen: wasi-libc stops looking for preopens at the first fd that
	 * is not a directory.
	 */
	if (wasi_sock_add_listeners)
		wasi_sock_add_listeners(wasi);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_close(wasi_t *wasi, uint32_t fd)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	fd_free(entry);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_renumber(wasi_t *wasi, uint32_t from, uint32_t to)
{
	struct wasi_fd *source = wasi_fd_get(wasi, from);
	struct wasi_fd *target = wasi_fd_get(wasi, to);
	if (!source || !target)
		return WASI_EBADF;
	if (source == target)
		return 0;
	fd_free(target);
	*target = *source;
	memset(source, 0, sizeof(*source)); /* the node's hold moved with it */
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_get(wasi_t *wasi, uint32_t fd, uint32_t prestat_ptr)
{
	uint8_t *out = wasi_mem(wasi, prestat_ptr, WASI_PRESTAT_SIZE);
	if (!out)
		return WASI_EFAULT;
	/* wasi-libc probes fds from 3 up and stops at the first EBADF. */
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry || !entry->preopen)
		return WASI_EBADF;
	uint8_t prestat[WASI_PRESTAT_SIZE] = {0};
	prestat[WASI_PRESTAT_TAG] = WASI_PREOPENTYPE_DIR;
	wasi_store_u32(prestat + WASI_PRESTAT_NAME_LEN, (uint32_t)strlen(entry->preopen));
	memcpy(out, prestat, sizeof(prestat));
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_prestat_dir_name(wasi_t *wasi, uint32_t fd, uint32_t path_ptr,
                                                       uint32_t path_len)
{
	uint8_t *out = wasi_mem(wasi, path_ptr, path_len);
	if (!out)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry || !entry->preopen)
		return WASI_EBADF;
	size_t name_len = strlen(entry->preopen);
	if (path_len < name_len)
		return WASI_ENAMETOOLONG;
	memcpy(out, entry->preopen, name_len);
	return 0;
}

static uint8_t fd_filetype(const struct wasi_fd *entry)
{
	if (entry->kind == WASI_FD_NODE)
		return vfs_node_type(entry->node);
	if (entry->kind == WASI_FD_SOCKET)
		return entry->sock_filetype;
	/* The console is a character device: wasi-libc's isatty() then says yes. */
	return WASI_FILETYPE_CHARACTER_DEVICE;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_get(wasi_t *wasi, uint32_t fd, uint32_t fdstat_ptr)
{
	uint8_t *out = wasi_mem(wasi, fdstat_ptr, WASI_FDSTAT_SIZE);
	if (!out)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	uint8_t fdstat[WASI_FDSTAT_SIZE] = {0};
	fdstat[WASI_FDSTAT_FILETYPE] = fd_filetype(entry);
	wasi_store_u16(fdstat + WASI_FDSTAT_FLAGS, entry->fdflags);
	wasi_store_u64(fdstat + WASI_FDSTAT_RIGHTS_BASE, entry->rights_base);
	wasi_store_u64(fdstat + WASI_FDSTAT_RIGHTS_INHERITING, entry->rights_inheriting);
	memcpy(out, fdstat, sizeof(fdstat));
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_flags(wasi_t *wasi, uint32_t fd, uint32_t flags)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (flags & ~WASI_FDFLAGS_ALL)
		return WASI_EINVAL;
	if (!(entry->rights_base & WASI_RIGHT_FD_FDSTAT_SET_FLAGS))
		return WASI_ENOTCAPABLE;
	if (entry->kind == WASI_FD_SOCKET && wasi_sock_set_flags) {
		/* A socket's NONBLOCK lives in guest/net too, where accept and connect look. */
		int error = wasi_sock_set_flags(entry, (uint16_t)flags);
		if (error)
			return (uint32_t)error;
	}
	/* Everything else is synchronous here: the sync flags are kept only to be reported. */
	entry->fdflags = (uint16_t)flags;
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_fdstat_set_rights(wasi_t *wasi, uint32_t fd,
                                                        uint64_t rights_base,
                                                        uint64_t rights_inheriting)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	/* Rights can only be dropped, never gained back. */
	if ((rights_base & ~entry->rights_base) || (rights_inheriting & ~entry->rights_inheriting))
		return WASI_ENOTCAPABLE;
	entry->rights_base = rights_base;
	entry->rights_inheriting = rights_inheriting;
	return 0;
}
