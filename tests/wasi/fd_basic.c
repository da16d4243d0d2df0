/* fd_basic - the fd_* calls on a regular file: write, read, seek, tell,
 * pread, pwrite, sync, datasync, advise, allocate, fdstat get/set_flags
 * (APPEND), filestat get/set_size/set_times, renumber, close; and reading a
 * file the host put in /sandbox. */
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

#define FILE_NAME "fd_basic.tmp"
#define SEC       1000000000ull
#define FDFLAGS_ALL                                                               \
	(__WASI_FDFLAGS_APPEND | __WASI_FDFLAGS_DSYNC | __WASI_FDFLAGS_NONBLOCK | \
	 __WASI_FDFLAGS_RSYNC | __WASI_FDFLAGS_SYNC)

static __wasi_filestat_t fstat_of(__wasi_fd_t fd)
{
	__wasi_filestat_t st;
	memset(&st, 0xff, sizeof st);
	if (__wasi_fd_filestat_get(fd, &st) != 0)
		memset(&st, 0xff, sizeof st);
	return st;
}

static int all_zero_(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static long pread_str(__wasi_fd_t fd, char *buf, size_t len, __wasi_filesize_t off)
{
	__wasi_iovec_t iov = {(uint8_t *)buf, len};
	__wasi_size_t n;
	if (__wasi_fd_pread(fd, &iov, 1, off, &n) != 0)
		return -1;
	buf[n] = '\0';
	return (long)n;
}

static __wasi_filesize_t tell(__wasi_fd_t fd)
{
	__wasi_filesize_t pos = ~0ull;
	if (__wasi_fd_tell(fd, &pos) != 0)
		return ~0ull;
	return pos;
}

int main(void)
{
	check_init();
	__wasi_fd_t dir = sandbox_fd();
	__wasi_fd_t fd;
	char buf[256];
	__wasi_filesize_t pos;
	__wasi_size_t n;

	/* A file the host put there. */
	check(file_content(dir, "hello.txt", buf, sizeof buf) == (long)strlen(HELLO_TXT) &&
	          strcmp(buf, HELLO_TXT) == 0,
	      "hello.txt from the host reads \"hello from the host\\n\"");

	if (!CHECK_OK(open_at(dir, FILE_NAME, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RIGHTS_RW,
	                      0, &fd)))
		return check_done("fd_basic");

	/* Gathered write, then tell. */
	__wasi_ciovec_t out[2] = {{(const uint8_t *)"hello ", 6}, {(const uint8_t *)"world\n", 6}};
	if (CHECK_OK(__wasi_fd_write(fd, out, 2, &n)))
		check(n == 12, "fd_write of two iovecs wrote %u bytes, expected 12", (unsigned)n);
	check(tell(fd) == 12, "fd_tell after writing is %llu, expected 12",
	      (unsigned long long)tell(fd));

	/* Seek back, scattered read. */
	if (CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos)))
		check(pos == 0, "fd_seek(0, SET) -> %llu", (unsigned long long)pos);
	char a[4], b[16];
	memset(b, 0, sizeof b);
	__wasi_iovec_t in[2] = {{(uint8_t *)a, 4}, {(uint8_t *)b, sizeof b - 1}};
	if (CHECK_OK(__wasi_fd_read(fd, in, 2, &n)))
		check(n == 12 && memcmp(a, "hell", 4) == 0 && strcmp(b, "o world\n") == 0,
		      "fd_read into two iovecs got %u bytes, \"hell\" + \"o world\\n\"",
		      (unsigned)n);
	__wasi_iovec_t one = {(uint8_t *)buf, sizeof buf};
	if (CHECK_OK(__wasi_fd_read(fd, &one, 1, &n)))
		check(n == 0, "fd_read at end of file returns 0 bytes (got %u)", (unsigned)n);

	/* Seek from the end and from the current position. */
	if (CHECK_OK(__wasi_fd_seek(fd, -6, __WASI_WHENCE_END, &pos)))
		check(pos == 6, "fd_seek(-6, END) -> %llu, expected 6", (unsigned long long)pos);
	if (CHECK_OK(__wasi_fd_seek(fd, 2, __WASI_WHENCE_CUR, &pos)))
		check(pos == 8, "fd_seek(2, CUR) -> %llu, expected 8", (unsigned long long)pos);
	check(read_str(fd, buf, sizeof buf) == 4 && strcmp(buf, "rld\n") == 0,
	      "reading after the seeks gives \"rld\\n\"");
	if (CHECK_OK(__wasi_fd_seek(fd, 100, __WASI_WHENCE_SET, &pos)))
		check(pos == 100, "fd_seek past the end is allowed -> %llu",
		      (unsigned long long)pos);
	check(read_str(fd, buf, sizeof buf) == 0, "reading past the end gives 0 bytes");

	/* pread/pwrite use their own offset and leave the position alone. */
	CHECK_OK(__wasi_fd_seek(fd, 3, __WASI_WHENCE_SET, &pos));
	check(pread_str(fd, buf, 5, 6) == 5 && strcmp(buf, "world") == 0,
	      "fd_pread(5 bytes at 6) gives \"world\" (got \"%s\")", buf);
	check(tell(fd) == 3, "fd_pread left the position at 3 (%llu)",
	      (unsigned long long)tell(fd));
	__wasi_ciovec_t up = {(const uint8_t *)"HELLO", 5};
	if (CHECK_OK(__wasi_fd_pwrite(fd, &up, 1, 0, &n)))
		check(n == 5, "fd_pwrite wrote %u bytes", (unsigned)n);
	check(tell(fd) == 3, "fd_pwrite left the position at 3 (%llu)",
	      (unsigned long long)tell(fd));
	check(pread_str(fd, buf, sizeof buf - 1, 0) == 12 && strcmp(buf, "HELLO world\n") == 0,
	      "file now reads \"HELLO world\\n\"");
	check(pread_str(fd, buf, 10, 50) == 0, "fd_pread past the end gives 0 bytes");

	/* A pwrite past the end grows the file, with zeros in the gap. */
	__wasi_ciovec_t tail = {(const uint8_t *)"end", 3};
	if (CHECK_OK(__wasi_fd_pwrite(fd, &tail, 1, 20, &n))) {
		__wasi_filestat_t st = fstat_of(fd);
		check(st.size == 23, "pwrite at 20 grew the file to %llu bytes, expected 23",
		      (unsigned long long)st.size);
		long got = pread_str(fd, buf, sizeof buf - 1, 0);
		check(got == 23 && all_zero_(buf + 12, 8) && memcmp(buf + 20, "end", 3) == 0,
		      "the gap reads as zeros and \"end\" follows");
	}

	CHECK_OK(__wasi_fd_sync(fd));
	CHECK_OK(__wasi_fd_datasync(fd));
	CHECK_OK(__wasi_fd_advise(fd, 0, 0, __WASI_ADVICE_SEQUENTIAL));
	CHECK_OK(__wasi_fd_advise(fd, 0, 10, __WASI_ADVICE_DONTNEED));
	CHECK_OK(__wasi_fd_advise(fd, 5, 100, __WASI_ADVICE_NORMAL));
	CHECK_ERR(__wasi_fd_advise(fd, 0, 0, 99), __WASI_ERRNO_INVAL);

	/* fd_allocate grows the file if needed and never shrinks it. */
	if (CHECK_OK(__wasi_fd_allocate(fd, 0, 100)))
		check(fstat_of(fd).size == 100,
		      "fd_allocate(0, 100) made the file 100 bytes (%llu)",
		      (unsigned long long)fstat_of(fd).size);
	if (CHECK_OK(__wasi_fd_allocate(fd, 0, 10)))
		check(fstat_of(fd).size == 100, "fd_allocate(0, 10) left it at 100 bytes (%llu)",
		      (unsigned long long)fstat_of(fd).size);
	check(pread_str(fd, buf, 12, 0) == 12 && strcmp(buf, "HELLO world\n") == 0,
	      "fd_allocate kept the contents");

	/* filestat */
	__wasi_filestat_t st = fstat_of(fd);
	check(st.filetype == __WASI_FILETYPE_REGULAR_FILE,
	      "fd_filestat_get: regular file (type %u)", st.filetype);
	check(st.nlink >= 1, "fd_filestat_get: nlink %llu", (unsigned long long)st.nlink);
	__wasi_timestamp_t now = now_ns(__WASI_CLOCKID_REALTIME);
	check(st.mtim > now - 600 * SEC && st.mtim <= now + 5 * SEC,
	      "mtim of the new file is recent (%lld s ago)",
	      (long long)((int64_t)(now - st.mtim) / (int64_t)SEC));

	if (CHECK_OK(__wasi_fd_filestat_set_size(fd, 5))) {
		check(fstat_of(fd).size == 5, "fd_filestat_set_size(5): size %llu",
		      (unsigned long long)fstat_of(fd).size);
		check(pread_str(fd, buf, sizeof buf - 1, 0) == 5 && strcmp(buf, "HELLO") == 0,
		      "the truncated file reads \"HELLO\"");
	}
	if (CHECK_OK(__wasi_fd_filestat_set_size(fd, 9))) {
		long got = pread_str(fd, buf, sizeof buf - 1, 0);
		check(got == 9 && memcmp(buf, "HELLO", 5) == 0 && all_zero_(buf + 5, 4),
		      "fd_filestat_set_size(9) extends with zeros");
	}

	__wasi_timestamp_t atim = 1600000000ull * SEC, mtim = 1700000000ull * SEC;
	if (CHECK_OK(__wasi_fd_filestat_set_times(fd, atim, mtim,
	                                          __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM))) {
		st = fstat_of(fd);
		check(st.atim == atim, "atim set to %llu s (got %llu ns)",
		      (unsigned long long)(atim / SEC), (unsigned long long)st.atim);
		check(st.mtim == mtim, "mtim set to %llu s (got %llu ns)",
		      (unsigned long long)(mtim / SEC), (unsigned long long)st.mtim);
	}
	if (CHECK_OK(__wasi_fd_filestat_set_times(fd, 0, 0, __WASI_FSTFLAGS_MTIM_NOW))) {
		st = fstat_of(fd);
		now = now_ns(__WASI_CLOCKID_REALTIME);
		check(st.mtim + 5 * SEC > now && st.mtim <= now + 5 * SEC,
		      "MTIM_NOW set mtim to now");
		check(st.atim == atim, "MTIM_NOW left atim alone");
	}
	CHECK_ERR(
	    __wasi_fd_filestat_set_times(fd, 1, 0, __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_ATIM_NOW),
	    __WASI_ERRNO_INVAL);

	/* fdstat, and APPEND through fdstat_set_flags. */
	__wasi_fdstat_t fs;
	if (CHECK_OK(__wasi_fd_fdstat_get(fd, &fs))) {
		check(fs.fs_filetype == __WASI_FILETYPE_REGULAR_FILE, "fdstat: regular file");
		check((fs.fs_flags & FDFLAGS_ALL) == 0, "fdstat: no flags (0x%x)", fs.fs_flags);
		/* Node.js 20 passes the host's O_* bits through here (0x8002). */
		check((fs.fs_flags & ~FDFLAGS_ALL) == 0, "fdstat: no undefined flag bits (0x%x)",
		      fs.fs_flags);
		check((fs.fs_rights_base & (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE)) ==
		          (__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE),
		      "fdstat: the fd may read and write");
	}
	if (CHECK_OK(__wasi_fd_fdstat_set_flags(fd, __WASI_FDFLAGS_APPEND))) {
		check(__wasi_fd_fdstat_get(fd, &fs) == 0 &&
		          (fs.fs_flags & FDFLAGS_ALL) == __WASI_FDFLAGS_APPEND,
		      "fdstat shows APPEND (0x%x)", fs.fs_flags);
		CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
		check(write_str(fd, "+app") == 4, "write with APPEND");
		check(fstat_of(fd).size == 13, "the write went to the end: size %llu, expected 13",
		      (unsigned long long)fstat_of(fd).size);
		check(pread_str(fd, buf, 4, 9) == 4 && strcmp(buf, "+app") == 0,
		      "appended bytes are at 9");
		check(pread_str(fd, buf, 5, 0) == 5 && strcmp(buf, "HELLO") == 0,
		      "the start was not overwritten");
		check(tell(fd) == 13, "position after an APPEND write is the end (%llu)",
		      (unsigned long long)tell(fd));
		CHECK_OK(__wasi_fd_fdstat_set_flags(fd, 0));
		CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
		check(write_str(fd, "J") == 1 && pread_str(fd, buf, 2, 0) == 2 &&
		          strcmp(buf, "JE") == 0,
		      "without APPEND, writes go to the position again");
	}

	/* An fd opened with APPEND from the start. */
	__wasi_fd_t afd;
	if (CHECK_OK(open_at(dir, FILE_NAME, 0, RIGHTS_RW, __WASI_FDFLAGS_APPEND, &afd))) {
		check(write_str(afd, "!") == 1 && fstat_of(afd).size == 14,
		      "path_open with APPEND writes at the end");
		CHECK_OK(__wasi_fd_close(afd));
	}

	/* fd_renumber moves an fd onto another. */
	__wasi_fd_t other;
	if (CHECK_OK(open_at(dir, "hello.txt", 0, RIGHTS_RO, 0, &other))) {
		if (CHECK_OK(__wasi_fd_renumber(fd, other))) {
			check(pread_str(other, buf, 5, 0) == 5 && strcmp(buf, "JELLO") == 0,
			      "after fd_renumber the target fd is the renumbered file");
			CHECK_ERR(__wasi_fd_fdstat_get(fd, &fs), __WASI_ERRNO_BADF);
			fd = other;
		}
	}
	CHECK_OK(__wasi_fd_close(fd));

	/* The same through wasi-libc's stdio. */
	FILE *f = fopen(SANDBOX "/" FILE_NAME, "w+");
	if (check(f != NULL, "fopen(\"%s\", \"w+\")", SANDBOX "/" FILE_NAME)) {
		fprintf(f, "line %d\n", 1);
		fputs("line 2\n", f);
		check(ftell(f) == 14, "ftell is 14 (%ld)", ftell(f));
		rewind(f);
		char line[32];
		check(fgets(line, sizeof line, f) && strcmp(line, "line 1\n") == 0,
		      "fgets reads line 1");
		check(fseek(f, -7, SEEK_END) == 0 && fgets(line, sizeof line, f) &&
		          strcmp(line, "line 2\n") == 0,
		      "fseek(-7, SEEK_END) then fgets reads line 2");
		check(fclose(f) == 0, "fclose");
	}
	int pfd = open(SANDBOX "/" FILE_NAME, O_RDWR);
	if (check(pfd >= 0, "open(O_RDWR)")) {
		check(pwrite(pfd, "LINE", 4, 7) == 4, "pwrite()");
		char tmp[8] = {0};
		check(pread(pfd, tmp, 4, 7) == 4 && memcmp(tmp, "LINE", 4) == 0, "pread() sees it");
		check(lseek(pfd, 0, SEEK_END) == 14, "lseek(SEEK_END) is 14");
		check(ftruncate(pfd, 3) == 0 && lseek(pfd, 0, SEEK_END) == 3, "ftruncate(3)");
		check(fsync(pfd) == 0 && fdatasync(pfd) == 0, "fsync(), fdatasync()");
		check(close(pfd) == 0, "close()");
	}

	CHECK_OK(__wasi_path_unlink_file(dir, FILE_NAME));
	return check_done("fd_basic");
}
