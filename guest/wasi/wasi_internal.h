/*
 * wasi_internal.h - what the files of guest/wasi/ share: the descriptor
 * table, the one function that turns wasm addresses into pointers, and
 * little-endian loads and stores for the app's unaligned memory.
 */
#ifndef HEDGE_WASI_INTERNAL_H
#define HEDGE_WASI_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "vfs.h"
#include "wasi.h"
#include "wasi_abi.h"

typedef struct Z_wasi_snapshot_preview1_instance_t wasi_t;

enum wasi_fd_kind {
	WASI_FD_FREE = 0,
	WASI_FD_STDIN,   /* the VM console's input */
	WASI_FD_CONSOLE, /* stdout or stderr, see stream */
	WASI_FD_NODE,    /* a file or directory of one of the file systems */
	WASI_FD_SOCKET,  /* a TCP or UDP socket of guest/net (hedge_net.h) */
};

struct wasi_fd {
	enum wasi_fd_kind kind;
	uint16_t fdflags; /* WASI_FDFLAG_* */
	uint64_t rights_base, rights_inheriting;
	uint64_t offset;        /* regular files: where fd_read and fd_write go next */
	struct vfs_node *node;  /* WASI_FD_NODE: held while the descriptor is open */
	unsigned stream;        /* WASI_FD_CONSOLE: HEDGE_STREAM_STDOUT or _STDERR */
	const char *preopen;    /* the name fd_prestat_dir_name reports, if preopened */
	int sock;               /* WASI_FD_SOCKET: the hedge_net.h descriptor */
	uint8_t sock_filetype;  /* WASI_FD_SOCKET: WASI_FILETYPE_SOCKET_STREAM or _DGRAM */
	uint8_t sock_listening; /* WASI_FD_SOCKET: 1 once it listens */
};

/* Rights a descriptor of each kind can have at most. */
#define WASI_RIGHTS_REGULAR_FILE                                                    \
	(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_READ | WASI_RIGHT_FD_SEEK |         \
	 WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC | WASI_RIGHT_FD_TELL | \
	 WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_ADVISE | WASI_RIGHT_FD_ALLOCATE |      \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_SIZE |             \
	 WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_DIRECTORY                                                                      \
	(WASI_RIGHT_FD_DATASYNC | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_SYNC |            \
	 WASI_RIGHT_PATH_CREATE_DIRECTORY | WASI_RIGHT_PATH_CREATE_FILE |                          \
	 WASI_RIGHT_PATH_LINK_SOURCE | WASI_RIGHT_PATH_LINK_TARGET | WASI_RIGHT_PATH_OPEN |        \
	 WASI_RIGHT_FD_READDIR | WASI_RIGHT_PATH_READLINK | WASI_RIGHT_PATH_RENAME_SOURCE |        \
	 WASI_RIGHT_PATH_RENAME_TARGET | WASI_RIGHT_PATH_FILESTAT_GET |                            \
	 WASI_RIGHT_PATH_FILESTAT_SET_SIZE | WASI_RIGHT_PATH_FILESTAT_SET_TIMES |                  \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_FD_FILESTAT_SET_TIMES | WASI_RIGHT_PATH_SYMLINK | \
	 WASI_RIGHT_PATH_REMOVE_DIRECTORY | WASI_RIGHT_PATH_UNLINK_FILE |                          \
	 WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_STDIN                                                                   \
	(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET | \
	 WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_CONSOLE                                                                  \
	(WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS | WASI_RIGHT_FD_FILESTAT_GET | \
	 WASI_RIGHT_POLL_FD_READWRITE)
#define WASI_RIGHTS_SOCKET                                                                      \
	(WASI_RIGHT_FD_READ | WASI_RIGHT_FD_WRITE | WASI_RIGHT_FD_FDSTAT_SET_FLAGS |            \
	 WASI_RIGHT_FD_FILESTAT_GET | WASI_RIGHT_POLL_FD_READWRITE | WASI_RIGHT_SOCK_SHUTDOWN | \
	 WASI_RIGHT_SOCK_ACCEPT)

/*
 * The only way to reach the app's memory: a pointer to len bytes at wasm
 * address ptr, or NULL if any of them lies outside the linear memory (the
 * caller returns WASI_EFAULT).  Valid until the app runs again.  Both are
 * 64-bit so that callers can add and multiply wasm values without overflow.
 */
void *wasi_mem(wasi_t *wasi, uint64_t ptr, uint64_t len);

/* The open descriptor fd, or NULL. */
struct wasi_fd *wasi_fd_get(wasi_t *wasi, uint32_t fd);
/*
 * An open descriptor of a directory with all of rights: WASI_EBADF,
 * WASI_ENOTDIR or WASI_ENOTCAPABLE otherwise.
 */
int wasi_dir_fd(wasi_t *wasi, uint32_t fd, uint64_t rights, struct wasi_fd **out);
/* A free descriptor, the lowest; WASI_EMFILE when the table is full. */
int wasi_fd_new(wasi_t *wasi, uint32_t *fd_out, struct wasi_fd **out);

/* Writes a WASI filestat at dst (WASI_FILESTAT_SIZE bytes). */
void wasi_put_filestat(void *dst, const struct vfs_stat *st);

/*
 * Sockets (wasi_sock.c).  That file, and with it guest/net and lwIP, is
 * linked only into modules that import a socket call: the other files refer
 * to these functions weakly and call them only when they are there.  Without
 * them no descriptor can be a socket, so nothing is lost.
 */
#define WASI_WEAK __attribute__((weak))
/* Opens and listens on the sockets hedge run --listen asked for, as the next descriptors. */
WASI_WEAK void wasi_sock_add_listeners(wasi_t *wasi);
/* Releases the socket of a descriptor being closed. */
WASI_WEAK void wasi_sock_close(struct wasi_fd *entry);
/* Applies fd_fdstat_set_flags to a socket (WASI_FDFLAG_NONBLOCK); 0 or a WASI errno. */
WASI_WEAK int wasi_sock_set_flags(struct wasi_fd *entry, uint16_t flags);
/* fd_read and fd_write on a socket: as sock_recv and sock_send without flags. */
WASI_WEAK int wasi_sock_read(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr,
                             uint32_t iovs_len, uint64_t *nread);
WASI_WEAK int wasi_sock_write(wasi_t *wasi, struct wasi_fd *entry, uint32_t iovs_ptr,
                              uint32_t iovs_len, uint64_t *nwritten);

/* What poll_oneoff learns about a socket subscription. */
struct wasi_sock_readiness {
	int ready;       /* the event fires */
	uint16_t error;  /* WASI errno for the event, 0 if none */
	uint16_t flags;  /* WASI_EVENTRW_HANGUP */
	uint64_t nbytes; /* fd_read: a lower bound of what can be read (0 at end of stream) */
};
/* Readiness of a socket for WASI_EVENTTYPE_FD_READ or _FD_WRITE, without running the network. */
WASI_WEAK void wasi_sock_readiness(const struct wasi_fd *entry, uint8_t type,
                                   struct wasi_sock_readiness *out);
/*
 * One turn of the network loop (guest/net): sends what the sockets queued,
 * takes in what arrived, and, if that found nothing to do, blocks until a
 * frame comes or timeout_ns passes (0: never blocks).
 */
WASI_WEAK void wasi_sock_run_network(uint64_t timeout_ns);

/* wasm memory is little-endian like x86-64, but not aligned. */
static inline uint32_t wasi_load_u32(const void *src)
{
	uint32_t value;
	memcpy(&value, src, sizeof(value));
	return value;
}

static inline uint64_t wasi_load_u64(const void *src)
{
	uint64_t value;
	memcpy(&value, src, sizeof(value));
	return value;
}

static inline uint16_t wasi_load_u16(const void *src)
{
	uint16_t value;
	memcpy(&value, src, sizeof(value));
	return value;
}

static inline void wasi_store_u16(void *dst, uint16_t value)
{
	memcpy(dst, &value, sizeof(value));
}

static inline void wasi_store_u32(void *dst, uint32_t value)
{
	memcpy(dst, &value, sizeof(value));
}

static inline void wasi_store_u64(void *dst, uint64_t value)
{
	memcpy(dst, &value, sizeof(value));
}

#endif /* HEDGE_WASI_INTERNAL_H */
