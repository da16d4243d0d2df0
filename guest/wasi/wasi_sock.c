/*
 * wasi_sock.c - the sock_* calls.  No descriptor is a socket yet: each call
 * checks its pointers and descriptor like the real thing will, then says
 * ENOTSOCK.  Networking adds a WASI_FD_SOCKET kind and fills in
 * socket_fd's other branch; the callers stay as they are.
 */
#include "wasi_internal.h"

/* The socket behind fd: WASI_EBADF if it is not open, WASI_ENOTSOCK if it is no socket. */
static int socket_fd(wasi_t *wasi, uint32_t fd, struct wasi_fd **out)
{
	struct wasi_fd *entry = wasi_fd_get(wasi, fd);
	if (!entry)
		return WASI_EBADF;
	(void)out;
	return WASI_ENOTSOCK;
}

uint32_t Z_wasi_snapshot_preview1Z_sock_accept(wasi_t *wasi, uint32_t fd, uint32_t fdflags,
                                               uint32_t fd_ptr)
{
	if (!wasi_mem(wasi, fd_ptr, 4))
		return WASI_EFAULT;
	if (fdflags & ~WASI_FDFLAGS_ALL)
		return WASI_EINVAL;
	struct wasi_fd *sock;
	return (uint32_t)socket_fd(wasi, fd, &sock);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_recv(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                             uint32_t iovs_len, uint32_t riflags,
                                             uint32_t nread_ptr, uint32_t roflags_ptr)
{
	(void)riflags;
	if (!wasi_mem(wasi, iovs_ptr, (uint64_t)iovs_len * WASI_IOVEC_SIZE) ||
	    !wasi_mem(wasi, nread_ptr, 4) || !wasi_mem(wasi, roflags_ptr, 2))
		return WASI_EFAULT;
	struct wasi_fd *sock;
	return (uint32_t)socket_fd(wasi, fd, &sock);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_send(wasi_t *wasi, uint32_t fd, uint32_t iovs_ptr,
                                             uint32_t iovs_len, uint32_t siflags,
                                             uint32_t nwritten_ptr)
{
	(void)siflags;
	if (!wasi_mem(wasi, iovs_ptr, (uint64_t)iovs_len * WASI_IOVEC_SIZE) ||
	    !wasi_mem(wasi, nwritten_ptr, 4))
		return WASI_EFAULT;
	struct wasi_fd *sock;
	return (uint32_t)socket_fd(wasi, fd, &sock);
}

uint32_t Z_wasi_snapshot_preview1Z_sock_shutdown(wasi_t *wasi, uint32_t fd, uint32_t how)
{
	struct wasi_fd *sock;
	int error = socket_fd(wasi, fd, &sock);
	if (error)
		return (uint32_t)error;
	/* how is SDFLAGS_RD | SDFLAGS_WR; only reached once sockets exist. */
	return how & ~3u ? WASI_EINVAL : WASI_ENOTSUP;
}
