/*
 * wasi_abi.h - the numbers of WASI preview1 (wasi_snapshot_preview1): errno
 * values, file types, rights, flags, and the byte layouts of the structs the
 * app passes through its linear memory.
 *
 * Only plain integer constants live here, so that the host-side unit tests of
 * the file system (vfs.c, tar.c) can include it too.  Struct layouts are
 * given as offsets rather than C structs because wasm memory is unaligned
 * and is accessed with memcpy.
 */
#ifndef HEDGE_WASI_ABI_H
#define HEDGE_WASI_ABI_H

#include <stdint.h>

/* errno: WASI's own numbering, not Linux's. */
#define WASI_ESUCCESS     0
#define WASI_E2BIG        1
#define WASI_EACCES       2
#define WASI_EAGAIN       6
#define WASI_EBADF        8
#define WASI_EBUSY        10
#define WASI_EEXIST       20
#define WASI_EFAULT       21
#define WASI_EFBIG        22
#define WASI_EILSEQ       25
#define WASI_EINVAL       28
#define WASI_EIO          29
#define WASI_EPIPE        64
#define WASI_EISDIR       31
#define WASI_ELOOP        32
#define WASI_EMFILE       33
#define WASI_EMLINK       34
#define WASI_ENAMETOOLONG 37
#define WASI_ENOENT       44
#define WASI_ENOMEM       48
#define WASI_ENOSPC       51
#define WASI_ENOSYS       52
#define WASI_ENOTDIR      54
#define WASI_ENOTEMPTY    55
#define WASI_ENOTSOCK     57
#define WASI_ENOTSUP      58
#define WASI_EOVERFLOW    61
#define WASI_EPERM        63
#define WASI_ESPIPE       70
#define WASI_EXDEV        75
#define WASI_ENOTCAPABLE  76

/* filetype */
#define WASI_FILETYPE_UNKNOWN          0
#define WASI_FILETYPE_BLOCK_DEVICE     1
#define WASI_FILETYPE_CHARACTER_DEVICE 2
#define WASI_FILETYPE_DIRECTORY        3
#define WASI_FILETYPE_REGULAR_FILE     4
#define WASI_FILETYPE_SOCKET_DGRAM     5
#define WASI_FILETYPE_SOCKET_STREAM    6
#define WASI_FILETYPE_SYMBOLIC_LINK    7

/* clockid */
#define WASI_CLOCK_REALTIME        0
#define WASI_CLOCK_MONOTONIC       1
#define WASI_CLOCK_PROCESS_CPUTIME 2
#define WASI_CLOCK_THREAD_CPUTIME  3

/* rights */
#define WASI_RIGHT_FD_DATASYNC             (UINT64_C(1) << 0)
#define WASI_RIGHT_FD_READ                 (UINT64_C(1) << 1)
#define WASI_RIGHT_FD_SEEK                 (UINT64_C(1) << 2)
#define WASI_RIGHT_FD_FDSTAT_SET_FLAGS     (UINT64_C(1) << 3)
#define WASI_RIGHT_FD_SYNC                 (UINT64_C(1) << 4)
#define WASI_RIGHT_FD_TELL                 (UINT64_C(1) << 5)
#define WASI_RIGHT_FD_WRITE                (UINT64_C(1) << 6)
#define WASI_RIGHT_FD_ADVISE               (UINT64_C(1) << 7)
#define WASI_RIGHT_FD_ALLOCATE             (UINT64_C(1) << 8)
#define WASI_RIGHT_PATH_CREATE_DIRECTORY   (UINT64_C(1) << 9)
#define WASI_RIGHT_PATH_CREATE_FILE        (UINT64_C(1) << 10)
#define WASI_RIGHT_PATH_LINK_SOURCE        (UINT64_C(1) << 11)
#define WASI_RIGHT_PATH_LINK_TARGET        (UINT64_C(1) << 12)
#define WASI_RIGHT_PATH_OPEN               (UINT64_C(1) << 13)
#define WASI_RIGHT_FD_READDIR              (UINT64_C(1) << 14)
#define WASI_RIGHT_PATH_READLINK           (UINT64_C(1) << 15)
#define WASI_RIGHT_PATH_RENAME_SOURCE      (UINT64_C(1) << 16)
#define WASI_RIGHT_PATH_RENAME_TARGET      (UINT64_C(1) << 17)
#define WASI_RIGHT_PATH_FILESTAT_GET       (UINT64_C(1) << 18)
#define WASI_RIGHT_PATH_FILESTAT_SET_SIZE  (UINT64_C(1) << 19)
#define WASI_RIGHT_PATH_FILESTAT_SET_TIMES (UINT64_C(1) << 20)
#define WASI_RIGHT_FD_FILESTAT_GET         (UINT64_C(1) << 21)
#define WASI_RIGHT_FD_FILESTAT_SET_SIZE    (UINT64_C(1) << 22)
#define WASI_RIGHT_FD_FILESTAT_SET_TIMES   (UINT64_C(1) << 23)
#define WASI_RIGHT_PATH_SYMLINK            (UINT64_C(1) << 24)
#define WASI_RIGHT_PATH_REMOVE_DIRECTORY   (UINT64_C(1) << 25)
#define WASI_RIGHT_PATH_UNLINK_FILE        (UINT64_C(1) << 26)
#define WASI_RIGHT_POLL_FD_READWRITE       (UINT64_C(1) << 27)
#define WASI_RIGHT_SOCK_SHUTDOWN           (UINT64_C(1) << 28)
#define WASI_RIGHT_SOCK_ACCEPT             (UINT64_C(1) << 29)
#define WASI_RIGHTS_ALL                    ((UINT64_C(1) << 30) - 1)

/* fdflags */
#define WASI_FDFLAG_APPEND   (1u << 0)
#define WASI_FDFLAG_DSYNC    (1u << 1)
#define WASI_FDFLAG_NONBLOCK (1u << 2)
#define WASI_FDFLAG_RSYNC    (1u << 3)
#define WASI_FDFLAG_SYNC     (1u << 4)
#define WASI_FDFLAGS_ALL     0x1fu

/* oflags */
#define WASI_OFLAG_CREAT     (1u << 0)
#define WASI_OFLAG_DIRECTORY (1u << 1)
#define WASI_OFLAG_EXCL      (1u << 2)
#define WASI_OFLAG_TRUNC     (1u << 3)
#define WASI_OFLAGS_ALL      0xfu

/* lookupflags */
#define WASI_LOOKUP_SYMLINK_FOLLOW (1u << 0)

/* fstflags */
#define WASI_FSTFLAG_ATIM     (1u << 0)
#define WASI_FSTFLAG_ATIM_NOW (1u << 1)
#define WASI_FSTFLAG_MTIM     (1u << 2)
#define WASI_FSTFLAG_MTIM_NOW (1u << 3)
#define WASI_FSTFLAGS_ALL     0xfu

/* whence */
#define WASI_WHENCE_SET 0
#define WASI_WHENCE_CUR 1
#define WASI_WHENCE_END 2

/* advice: NORMAL .. NOREUSE */
#define WASI_ADVICE_MAX 5

/* eventtype, subclockflags, eventrwflags */
#define WASI_EVENTTYPE_CLOCK    0
#define WASI_EVENTTYPE_FD_READ  1
#define WASI_EVENTTYPE_FD_WRITE 2
#define WASI_SUBCLOCK_ABSTIME   (1u << 0)
#define WASI_EVENTRW_HANGUP     (1u << 0)

/* preopentype */
#define WASI_PREOPENTYPE_DIR 0

/* signal: the ones whose default action is not to end the process. */
#define WASI_SIGABRT  6
#define WASI_SIGCHLD  16
#define WASI_SIGCONT  17
#define WASI_SIGSTOP  18
#define WASI_SIGTSTP  19
#define WASI_SIGTTIN  20
#define WASI_SIGTTOU  21
#define WASI_SIGURG   22
#define WASI_SIGWINCH 27
#define WASI_SIGMAX   30

/* iovec / ciovec: { u32 buf; u32 buf_len; } */
#define WASI_IOVEC_SIZE 8

/* dirent: d_next u64, d_ino u64, d_namlen u32, d_type u8; the name follows. */
#define WASI_DIRENT_SIZE     24
#define WASI_DIRENT_D_NEXT   0
#define WASI_DIRENT_D_INO    8
#define WASI_DIRENT_D_NAMLEN 16
#define WASI_DIRENT_D_TYPE   20

/* fdstat */
#define WASI_FDSTAT_SIZE              24
#define WASI_FDSTAT_FILETYPE          0
#define WASI_FDSTAT_FLAGS             2
#define WASI_FDSTAT_RIGHTS_BASE       8
#define WASI_FDSTAT_RIGHTS_INHERITING 16

/* filestat */
#define WASI_FILESTAT_SIZE     64
#define WASI_FILESTAT_DEV      0
#define WASI_FILESTAT_INO      8
#define WASI_FILESTAT_FILETYPE 16
#define WASI_FILESTAT_NLINK    24
#define WASI_FILESTAT_FSIZE    32
#define WASI_FILESTAT_ATIM     40
#define WASI_FILESTAT_MTIM     48
#define WASI_FILESTAT_CTIM     56

/* prestat: u8 tag, then u32 pr_name_len at offset 4 */
#define WASI_PRESTAT_SIZE     8
#define WASI_PRESTAT_TAG      0
#define WASI_PRESTAT_NAME_LEN 4

/* subscription: userdata u64, tag u8, then the union at offset 16 */
#define WASI_SUBSCRIPTION_SIZE   48
#define WASI_SUB_USERDATA        0
#define WASI_SUB_TAG             8
#define WASI_SUB_CLOCK_ID        16
#define WASI_SUB_CLOCK_TIMEOUT   24
#define WASI_SUB_CLOCK_PRECISION 32
#define WASI_SUB_CLOCK_FLAGS     40
#define WASI_SUB_FD              16

/* event: userdata u64, error u16, type u8, fd_readwrite { nbytes u64, flags u16 } */
#define WASI_EVENT_SIZE     32
#define WASI_EVENT_USERDATA 0
#define WASI_EVENT_ERROR    8
#define WASI_EVENT_TYPE     10
#define WASI_EVENT_NBYTES   16
#define WASI_EVENT_FLAGS    24

#endif /* HEDGE_WASI_ABI_H */
