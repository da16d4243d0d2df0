/* fd_errors - the errors the fd_* calls must return: EBADF for fds that are
 * closed or were never open, EISDIR for writing a directory, ESPIPE for
 * seeking the console, and no writing through a read-only fd (nor reading
 * through a write-only one).
 *
 * stdout must be the runtime's console or a pipe, not a file: a runtime that
 * passes the host's fd through (Node.js) would let a file seek. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

int main(void)
{
	check_init();
	__wasi_fd_t dir = sandbox_fd();
	uint8_t byte = 'x';
	__wasi_ciovec_t ciov = {&byte, 1};
	__wasi_iovec_t iov = {&byte, 1};
	__wasi_size_t n;
	__wasi_filesize_t pos;
	__wasi_fdstat_t fs;
	__wasi_filestat_t st;
	const __wasi_fd_t never[] = {1234, 0x7fffffff, 0xffffffff};

	/* fds that were never open. */
	for (size_t i = 0; i < sizeof never / sizeof never[0]; i++) {
		__wasi_fd_t bad = never[i];
		printf("#    fd %u:\n", (unsigned)bad);
		CHECK_ERR(__wasi_fd_write(bad, &ciov, 1, &n), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_read(bad, &iov, 1, &n), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_seek(bad, 0, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_fdstat_get(bad, &fs), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_filestat_get(bad, &st), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_close(bad), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_sync(bad), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_path_create_directory(bad, "x"), __WASI_ERRNO_BADF);
	}

	/* A closed fd, used again, and closed twice. */
	__wasi_fd_t fd;
	if (CHECK_OK(open_at(dir, "fd_errors.tmp", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC,
	                     RIGHTS_RW, 0, &fd))) {
		CHECK_OK(__wasi_fd_close(fd));
		CHECK_ERR(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_read(fd, &iov, 1, &n), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_tell(fd, &pos), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_filestat_get(fd, &st), __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_close(fd), __WASI_ERRNO_BADF);
	}
	errno = 0;
	check(write(1234, "x", 1) < 0 && errno == EBADF, "libc write() on a bad fd sets EBADF");

	/* Directories cannot be written as files. */
	CHECK_ERR(open_at(dir, "sub", 0, __WASI_RIGHTS_FD_WRITE, 0, &fd), __WASI_ERRNO_ISDIR);
	CHECK_ERR(open_at(dir, "sub", __WASI_OFLAGS_TRUNC, RIGHTS_RW, 0, &fd), __WASI_ERRNO_ISDIR);
	errno = 0;
	check(open(SANDBOX "/sub", O_WRONLY) < 0 && errno == EISDIR,
	      "open(dir, O_WRONLY) sets EISDIR");
	errno = 0;
	check(open(SANDBOX "/sub", O_RDWR) < 0 && errno == EISDIR, "open(dir, O_RDWR) sets EISDIR");
	CHECK_ERR(__wasi_fd_write(dir, &ciov, 1, &n), __WASI_ERRNO_BADF, __WASI_ERRNO_ISDIR,
	          __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_read(dir, &iov, 1, &n), __WASI_ERRNO_BADF, __WASI_ERRNO_ISDIR,
	          __WASI_ERRNO_NOTCAPABLE);

	/* The console does not seek.  ESPIPE, or ENOTCAPABLE for a runtime that
	 * gives unseekable fds no FD_SEEK right (wasi-libc's lseek turns that
	 * into ESPIPE; Node.js does this). */
	CHECK_ERR(__wasi_fd_seek(1, 0, __WASI_WHENCE_CUR, &pos), __WASI_ERRNO_SPIPE,
	          __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_seek(1, 10, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_SPIPE,
	          __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_seek(2, 0, __WASI_WHENCE_END, &pos), __WASI_ERRNO_SPIPE,
	          __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_tell(1, &pos), __WASI_ERRNO_SPIPE, __WASI_ERRNO_NOTCAPABLE);
	errno = 0;
	check(lseek(1, 0, SEEK_CUR) < 0 && errno == ESPIPE, "lseek(stdout) sets ESPIPE");
	CHECK_ERR(__wasi_fd_pwrite(1, &ciov, 1, 0, &n), __WASI_ERRNO_SPIPE, __WASI_ERRNO_NOTCAPABLE,
	          __WASI_ERRNO_BADF);

	/* Bad arguments to seek. */
	if (CHECK_OK(open_at(dir, "fd_errors.tmp", 0, RIGHTS_RW, 0, &fd))) {
		CHECK_ERR(__wasi_fd_seek(fd, 0, 99, &pos), __WASI_ERRNO_INVAL);
		CHECK_ERR(__wasi_fd_seek(fd, -1, __WASI_WHENCE_SET, &pos), __WASI_ERRNO_INVAL);
		CHECK_ERR(__wasi_fd_seek(fd, -100, __WASI_WHENCE_END, &pos), __WASI_ERRNO_INVAL);
		CHECK_OK(__wasi_fd_tell(fd, &pos));
		check(pos == 0, "failed seeks left the position at 0 (%llu)",
		      (unsigned long long)pos);
		CHECK_ERR(__wasi_fd_readdir(fd, &byte, 1, 0, &n), __WASI_ERRNO_NOTDIR,
		          __WASI_ERRNO_BADF, __WASI_ERRNO_NOTCAPABLE);
		CHECK_OK(__wasi_fd_close(fd));
	}

	/* Read-only fds do not write; write-only fds do not read. */
	if (CHECK_OK(open_at(dir, "hello.txt", 0, RIGHTS_RO, 0, &fd))) {
		CHECK_ERR(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_pwrite(fd, &ciov, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF, __WASI_ERRNO_INVAL);
		CHECK_ERR(__wasi_fd_allocate(fd, 0, 4096), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF);
		char buf[64];
		check(read_str(fd, buf, sizeof buf) == (long)strlen(HELLO_TXT) &&
		          strcmp(buf, HELLO_TXT) == 0,
		      "hello.txt is unchanged");
		CHECK_OK(__wasi_fd_close(fd));
	}
	int rfd = open(SANDBOX "/hello.txt", O_RDONLY);
	if (check(rfd >= 0, "open(hello.txt, O_RDONLY)")) {
		errno = 0;
		check(write(rfd, "x", 1) < 0 && (errno == EBADF || errno == ENOTCAPABLE),
		      "write() to an O_RDONLY fd fails with EBADF or ENOTCAPABLE (errno %d)",
		      errno);
		close(rfd);
	}
	if (CHECK_OK(open_at(dir, "fd_errors.tmp", 0, __WASI_RIGHTS_FD_WRITE, 0, &fd))) {
		CHECK_ERR(__wasi_fd_read(fd, &iov, 1, &n), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF);
		CHECK_ERR(__wasi_fd_pread(fd, &iov, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE,
		          __WASI_ERRNO_BADF);
		CHECK_OK(__wasi_fd_close(fd));
	}
	/* Rights can be dropped but never regained. */
	if (CHECK_OK(open_at(dir, "fd_errors.tmp", 0, RIGHTS_RW, 0, &fd))) {
		if (CHECK_OK(__wasi_fd_fdstat_set_rights(fd, RIGHTS_RO, 0))) {
			CHECK_ERR(__wasi_fd_write(fd, &ciov, 1, &n), __WASI_ERRNO_NOTCAPABLE,
			          __WASI_ERRNO_BADF);
			CHECK_ERR(__wasi_fd_fdstat_set_rights(fd, RIGHTS_RW, 0),
			          __WASI_ERRNO_NOTCAPABLE);
		}
		CHECK_OK(__wasi_fd_close(fd));
	}

	CHECK_OK(__wasi_path_unlink_file(dir, "fd_errors.tmp"));
	return check_done("fd_errors");
}
