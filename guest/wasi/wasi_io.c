/*
 * wasi_io.c - reading, writing and inspecting open descriptors: the fd_*
 * calls on the console and on files and directories of the file systems.
 *
 * Errors are checked in one order everywhere: are the app's pointers
 * inside its memory (EFAULT), is the descriptor open (EBADF), does the call
 * make sense for its kind (EBADF for file I/O on a directory or the wrong
 * console direction, ESPIPE for positions on the console, ENOTDIR for
 * readdir), does it hold the rights (ENOTCAPABLE).
 * Scatter/gather lists are checked whole before any byte moves, so a bad
 * buffer never leaves half an operation done.
 */
#include "wasi_internal.h"

#include "hedge.h"
#include "hedge_abi.h"
#include <string.h>

/* Small console writes are gathered into one hypercall (an exit costs ~7.5 us). */
#define CONSOLE_GATHER 4096

struct iov {
	uint8_t *buf;
	uint32_t len;
};

/*
 * Entry i of an iovec list, checked, and shortened so that the running
 * total done stays below 4 GiB.  Checked again at each use, not only up
 * front: a read may land on the list itself and change later entries.
 */
static int iov_at(wasi_t *wasi, uint32_t iovs_ptr, uint32_t i, uint64_t done, struct iov *out)
{
	const uint8_t *iov =
	    wasi_mem(wasi, (uint64_t)iovs_ptr + (uint64_t)i * WASI_IOVEC_SIZE, WASI_IOVEC_SIZE);
	if (!iov)
		return WASI_EFAULT;
	uint32_t len = wasi_load_u32(iov + 4);
	out->buf = wasi_mem(wasi, wasi_load_u32(iov), len);
	if (!out->buf)
		return WASI_EFAULT;
	out->len = len > UINT32_MAX - done ? (uint32_t)(UINT32_MAX - done) : len;
	return 0;
}

/* Checks a whole list before any byte moves. */
static int iovs_check(wasi_t *wasi, uint32_t iovs_ptr, uint32_t iovs_len)
{
	if (!wasi_mem(wasi, iovs_ptr, (uint64_t)iovs_len * WASI_IOVEC_SIZE))
		return WASI_EFAULT;
	struct iov iov;
	for (uint32_t i = 0; i < iovs_len; i++) {
		if (iov_at(wasi, iovs_ptr, i, 0, &iov) != 0)
			return WASI_EFAULT;
	}
	return 0;
}

/* An open regular file with rights, for calls that need one. */
static int file_fd(wasi_t *wasi, uint32_t fd, uint64_t rights, struct wasi_fd **out)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (entry->kind != WASI_FD_NODE)
		return WASI_ESPIPE;
	if (vfs_node_type(entry->node) != WASI_FILETYPE_REGULAR_FILE)
		return WASI_EBADF;
	if ((entry->rights_base & rights) != rights)
		return WASI_ENOTCAPABLE;
	*out = entry;
	return 0;
}

/* The WASI errno for a console error from the monitor (a negative Linux errno). */
static int console_errno(int err)
{
	switch (err) {
	case -32:
		return WASI_EPIPE;
	case -9:
		return WASI_EBADF;
	default:
		return WASI_EIO;
	}
}

/*
 * Gathers the iovecs into one hypercall where they fit.  Returns 0, or the
 * error of the first failed write; *written counts only what reached the
 * console, so a reader that went away shows as EPIPE, as on Linux.
 */
static int console_write(wasi_t *wasi, unsigned stream, uint32_t iovs_ptr, uint32_t iovs_len,
                         uint64_t *written)
{
	static char gather[CONSOLE_GATHER];
	size_t gathered = 0;
	uint64_t queued = 0;
	int rc;
	*written = 0;
	for (uint32_t i = 0; i < iovs_len; i++) {
		struct iov iov;
		if (iov_at(wasi, iovs_ptr, i, queued, &iov) != 0)
			break;
		if (gathered + iov.len > sizeof(gather) && gathered) {
			if ((rc = hedge_console_write_stream(stream, gather, gathered)) != 0)
				return console_errno(rc);
			*written += gathered;
			gathered = 0;
		}
		if (iov.len > sizeof(gather)) {
			rc = hedge_console_write_stream(stream, (const char *)iov.buf, iov.len);
			if (rc != 0)
				return console_errno(rc);
			*written += iov.len;
		} else {
			memcpy(gather + gathered, iov.buf, iov.len);
			gathered += iov.len;
		}
		queued += iov.len;
	}
	if (gathered) {
		if ((rc = hedge_console_write_stream(stream, gather, gathered)) != 0)
			return console_errno(rc);
		*written += gathered;
	}
	return 0;
}

/* Writes at offset; returns the first error only if nothing was written. */
static int file_write(wasi_t *wasi, struct wasi_fd *entry, uint64_t offset, uint32_t iovs_ptr,
                      uint32_t iovs_len, uint64_t *written)
{
	*written = 0;
	for (uint32_t i = 0; i < iovs_len; i++) {
		struct iov iov;
		int error = iov_at(wasi, iovs_ptr, i, *written, &iov);
		if (!error)
			error = vfs_write(entry->node, offset + *written, iov.buf, iov.len);
		if (error)
			return *written ? 0 : error;
		*written += iov.len;
	}
	return 0;
}

/* Reads from offset; fails only if nothing could be read. */
static int file_read(wasi_t *wasi, struct wasi_fd *entry, uint64_t offset, uint32_t iovs_ptr,
                     uint32_t iovs_len, uint64_t *nread)
{
	*nread = 0;
	for (uint32_t i = 0; i < iovs_len; i++) {
		struct iov iov;
		if (iov_at(wasi, iovs_ptr, i, *nread, &iov) != 0)
			return *nread ? 0 : WASI_EFAULT;
		size_t got = vfs_read(entry->node, offset + *nread, iov.buf, iov.len);
		*nread += got;
		if (got < iov.len)
			break;
	}
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_write(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                            uint32_t iovs_len, uint32_t nwritten_ptr)
{
	uint8_t *nwritten_out = wasi_mem(wasi, nwritten_ptr, 4);
	int error = iovs_check(wasi, iovs_ptr, iovs_len);
	if (!nwritten_out || error)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry || entry->kind == WASI_FD_STDIN)
		return WASI_EBADF;
	uint64_t written;
	if (entry->kind == WASI_FD_CONSOLE) {
		error = console_write(wasi, entry->stream, iovs_ptr, iovs_len, &written);
		if (error && written == 0)
			return error;
	} else if (entry->kind == WASI_FD_SOCKET) {
		if (!(entry->rights_base & WASI_RIGHT_FD_WRITE))
			return WASI_ENOTCAPABLE;
		error = wasi_sock_write(wasi, entry, iovs_ptr, iovs_len, &written);
		if (error)
			return error;
	} else {
		error = file_fd(wasi, fd, WASI_RIGHT_FD_WRITE, &entry);
		if (error)
			return error;
		/* Append mode writes at the end, whatever the position was. */
		if (entry->fdflags & WASI_FDFLAG_APPEND)
			entry->offset = vfs_node_size(entry->node);
		error = file_write(wasi, entry, entry->offset, iovs_ptr, iovs_len, &written);
		if (error)
			return error;
		entry->offset += written;
	}
	wasi_store_u32(nwritten_out, (uint32_t)written);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pwrite(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                             uint32_t iovs_len, uint64_t offset,
                                             uint32_t nwritten_ptr)
{
	uint8_t *nwritten_out = wasi_mem(wasi, nwritten_ptr, 4);
	int error = iovs_check(wasi, iovs_ptr, iovs_len);
	if (!nwritten_out || error)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	error = file_fd(wasi, fd, WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_SEEK, &entry);
	if (error)
		return error;
	uint64_t written;
	error = file_write(wasi, entry, offset, iovs_ptr, iovs_len, &written);
	if (error)
		return error;
	wasi_store_u32(nwritten_out, (uint32_t)written);
	return 0;
}

/* Reads the console into the first non-empty buffer: one blocking read at most. */
static int stdin_read(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr, uint32_t iovs_len,
                      uint64_t *nread)
{
	*nread = 0;
	for (uint32_t i = 0; i < iovs_len; i++) {
		struct iov iov;
		if (iov_at(wasi, iovs_ptr, i, 0, &iov) != 0)
			return WASI_EFAULT;
		if (iov.len == 0)
			continue;
		if ((entry->fdflags & WASI_FDFLAG_NONBLOCK) &&
		    !(hedge_poll(HEDGE_POLL_STDIN, 0) & HEDGE_POLL_STDIN))
			return WASI_EAGAIN;
		long got = hedge_console_read(iov.buf, iov.len);
		if (got < 0)
			return console_errno((int)got);
		*nread = (uint64_t)got;
		return 0;
	}
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_read(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                           uint32_t iovs_len, uint32_t nread_ptr)
{
	uint8_t *nread_out = wasi_mem(wasi, nread_ptr, 4);
	int error = iovs_check(wasi, iovs_ptr, iovs_len);
	if (!nread_out || error)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry || entry->kind == WASI_FD_CONSOLE)
		return WASI_EBADF;
	uint64_t nread;
	if (entry->kind == WASI_FD_STDIN) {
		error = stdin_read(wasi, entry, iovs_ptr, iovs_len, &nread);
		if (error)
			return error;
	} else if (entry->kind == WASI_FD_SOCKET) {
		/* Socket fds exist only when the socket layer is linked in. */
		if (!(entry->rights_base & WASI_RIGHT_FD_READ))
			return WASI_ENOTCAPABLE;
		error = wasi_sock_read(wasi, entry, iovs_ptr, iovs_len, &nread);
		if (error)
			return error;
	} else {
		error = file_fd(wasi, fd, WASI_RIGHT_FD_READ, &entry);
		if (error)
			return error;
		error = file_read(wasi, entry, entry->offset, iovs_ptr, iovs_len, &nread);
		if (error)
			return error;
		entry->offset += nread;
	}
	wasi_store_u32(nread_out, (uint32_t)nread);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_pread(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                            uint32_t iovs_len, uint64_t offset, uint32_t nread_ptr)
{
	uint8_t *nread_out = wasi_mem(wasi, nread_ptr, 4);
	int error = iovs_check(wasi, iovs_ptr, iovs_len);
	if (!nread_out || error)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	error = file_fd(wasi, fd, WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK, &entry);
	if (error)
		return error;
	uint64_t nread;
	error = file_read(wasi, entry, offset, iovs_ptr, iovs_len, &nread);
	if (error)
		return error;
	wasi_store_u32(nread_out, (uint32_t)nread);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_seek(wasi_t *wasi, uint32_t fd, uint64_t delta,
                                           uint32_t whence, uint32_t offset_ptr)
{
	uint8_t *out = wasi_mem(wasi, offset_ptr, 8);
	if (!out)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	int error = file_fd(wasi, fd, 0, &entry);
	if (error)
		return error;
	/* Asking where we are needs only FD_TELL; FD_SEEK allows both. */
	int tell_only = whence == WASI_WHENCE_CUR && delta == 0;
	if (!(entry->rights_base & WASI_RIGHT_FD_SEEK) &&
	    !(tell_only && (entry->rights_base & WASI_RIGHT_FD_TELL)))
		return WASI_ENOTCAPABLE;
	uint64_t base;
	switch (whence) {
	case WASI_WHENCE_SET:
		base = 0;
		break;
	case WASI_WHENCE_CUR:
		base = entry->offset;
		break;
	case WASI_WHENCE_END:
		base = vfs_node_size(entry->node);
		break;
	default:
		return WASI_EINVAL;
	}
	int64_t signed_delta = (int64_t)delta;
	uint64_t position;
	if (signed_delta < 0) {
		uint64_t back = (uint64_t)0 - delta;
		if (back > base)
			return WASI_EINVAL;
		position = base - back;
	} else {
		if ((uint64_t)signed_delta > (uint64_t)INT64_MAX - base)
			return WASI_EOVERFLOW;
		position = base + (uint64_t)signed_delta;
	}
	entry->offset = position;
	wasi_store_u64(out, position);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_tell(wasi_t *wasi, uint32_t fd, uint32_t offset_ptr)
{
	uint8_t *out = wasi_mem(wasi, offset_ptr, 8);
	if (!out)
		return WASI_EFAULT;
	struct wasi_fd *entry;
	int error = file_fd(wasi, fd, 0, &entry);
	if (error)
		return error;
	if (!(entry->rights_base & (WASI_RIGHT_FD_TELL | WASI_RIGHT_FD_SEEK)))
		return WASI_ENOTCAPABLE;
	wasi_store_u64(out, entry->offset);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_advise(wasi_t *wasi, uint32_t fd, uint64_t offset,
                                             uint64_t len, uint32_t advice)
{
	(void)offset;
	(void)len;
	struct wasi_fd *entry;
	int error = file_fd(wasi, fd, WASI_RIGHT_FD_ADVISE, &entry);
	if (error)
		return error;
	if (advice > WASI_ADVICE_MAX)
		return WASI_EINVAL;
	return 0; /* everything is in memory already */
}

uint32_t Z_wasi_snapshot_preview1Z_fd_allocate(wasi_t *wasi, uint32_t fd, uint64_t offset,
                                               uint64_t len)
{
	struct wasi_fd *entry;
	int error = file_fd(wasi, fd, WASI_RIGHT_FD_ALLOCATE, &entry);
	if (error)
		return error;
	if (len > VFS_FILE_MAX || offset > VFS_FILE_MAX - len)
		return WASI_EFBIG;
	if (offset + len <= vfs_node_size(entry->node))
		return 0;
	return (uint32_t)vfs_truncate(entry->node, offset + len);
}

/* The file systems live in memory: there is nothing to flush. */
static uint32_t sync_fd(wasi_t *wasi, uint32_t fd, uint64_t right)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (entry->kind != WASI_FD_NODE)
		return WASI_EINVAL; /* as fsync on a terminal */
	if (!(entry->rights_base & right))
		return WASI_ENOTCAPABLE;
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_datasync(wasi_t *wasi, uint32_t fd)
{
	return sync_fd(wasi, fd, WASI_RIGHT_FD_DATASYNC);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_sync(wasi_t *wasi, uint32_t fd)
{
	return sync_fd(wasi, fd, WASI_RIGHT_FD_SYNC);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_get(wasi_t *wasi, uint32_t fd, uint32_t filestat_ptr)
{
	uint8_t *out = wasi_mem(wasi, filestat_ptr, WASI_FILESTAT_SIZE);
	if (!out)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (!(entry->rights_base & WASI_RIGHT_FD_FILESTAT_GET))
		return WASI_ENOTCAPABLE;
	struct vfs_stat st;
	if (entry->kind == WASI_FD_NODE) {
		vfs_stat(entry->node, &st);
	} else {
		memset(&st, 0, sizeof(st));
		st.filetype = entry->kind == WASI_FD_SOCKET ? entry->sock_filetype
		                                            : WASI_FILETYPE_CHARACTER_DEVICE;
		st.nlink = 1;
	}
	wasi_put_filestat(out, &st);
	return 0;
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_size(wasi_t *wasi, uint32_t fd, uint64_t size)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (entry && entry->kind != WASI_FD_NODE)
		return WASI_EINVAL; /* as ftruncate on a terminal */
	int error = file_fd(wasi, fd, WASI_RIGHT_FD_FILESTAT_SET_SIZE, &entry);
	if (error)
		return error;
	return (uint32_t)vfs_truncate(entry->node, size);
}

uint32_t Z_wasi_snapshot_preview1Z_fd_filestat_set_times(wasi_t *wasi, uint32_t fd, uint64_t atim,
                                                         uint64_t mtim, uint32_t fst_flags)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (!(entry->rights_base & WASI_RIGHT_FD_FILESTAT_SET_TIMES))
		return WASI_ENOTCAPABLE;
	if (entry->kind != WASI_FD_NODE)
		return WASI_EINVAL;
	return (uint32_t)vfs_set_times(entry->node, atim, mtim, fst_flags);
}

/*
 * Entries are packed as a 24-byte header and the name; the last one is cut
 * off where the buffer ends, which tells the app to call again with a
 * larger buffer or the next cookie.
 */
uint32_t Z_wasi_snapshot_preview1Z_fd_readdir(wasi_t *wasi, uint32_t fd, uint32_t buf_ptr,
                                              uint32_t buf_len, uint64_t cookie,
                                              uint32_t bufused_ptr)
{
	uint8_t *bufused_out = wasi_mem(wasi, bufused_ptr, 4);
	uint8_t *buf = wasi_mem(wasi, buf_ptr, buf_len);
	if (!bufused_out || !buf)
		return WASI_EFAULT;
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	if (entry->kind != WASI_FD_NODE || vfs_node_type(entry->node) != WASI_FILETYPE_DIRECTORY)
		return WASI_ENOTDIR;
	if (!(entry->rights_base & WASI_RIGHT_FD_READDIR))
		return WASI_ENOTCAPABLE;
	uint32_t used = 0;
	struct vfs_dirent dirent;
	while (used < buf_len && vfs_readdir(entry->node, cookie, &dirent) == 0) {
		uint8_t header[WASI_DIRENT_SIZE] = {0};
		wasi_store_u64(header + WASI_DIRENT_D_NEXT, dirent.next_cookie);
		wasi_store_u64(header + WASI_DIRENT_D_INO, dirent.ino);
		wasi_store_u32(header + WASI_DIRENT_D_NAMLEN, (uint32_t)dirent.name_len);
		header[WASI_DIRENT_D_TYPE] = dirent.filetype;
		uint32_t room = buf_len - used;
		uint32_t part = room < sizeof(header) ? room : (uint32_t)sizeof(header);
		memcpy(buf + used, header, part);
		used += part;
		room -= part;
		part = room < dirent.name_len ? room : (uint32_t)dirent.name_len;
		memcpy(buf + used, dirent.name, part);
		used += part;
		cookie = dirent.next_cookie;
	}
	wasi_store_u32(bufused_out, used);
	return 0;
}
