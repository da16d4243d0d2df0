/* vfs_semantics - hedge's in-memory file system as an app sees it.
 *
 * Files of the image are copied on their first write and the change is seen
 * through every descriptor; an unlinked file stays readable while open;
 * append mode, holes, growing and shrinking, large files; rights that were
 * dropped stay dropped; readdir with buffers too small for one entry; hard
 * link counts; symlink loops (ELOOP) and the hop limit; rename and rmdir.
 * Works in its own scratch directory under /sandbox and removes it again. */
#include "check.h"

#define D "vfs_semantics.d"

static __wasi_fd_t root;

static __wasi_errno_t open_rw(const char *path, __wasi_oflags_t oflags, __wasi_fdflags_t fdflags,
                              __wasi_fd_t *fd)
{
	return open_at(root, path, oflags, RIGHTS_RW, fdflags, fd);
}

static __wasi_filesize_t size_of(__wasi_fd_t fd)
{
	__wasi_filestat_t st;
	if (__wasi_fd_filestat_get(fd, &st) != 0)
		return (__wasi_filesize_t)-1;
	return st.size;
}

static void copy_on_write(void)
{
	char buf[64];
	__wasi_fd_t a, b;
	if (!CHECK_OK(open_rw("hello.txt", 0, 0, &a)) || !CHECK_OK(open_rw("hello.txt", 0, 0, &b)))
		return;
	__wasi_ciovec_t iov = {(const uint8_t *)"HELLO", 5};
	__wasi_size_t n;
	CHECK_OK(__wasi_fd_pwrite(a, &iov, 1, 0, &n));
	long got = read_str(b, buf, sizeof buf);
	check(got == (long)strlen(HELLO_TXT) && memcmp(buf, "HELLO from the host\n", got) == 0,
	      "a write to an image file is seen through another descriptor: \"%.19s\"", buf);
	/* Put it back for the other programs of the run. */
	iov.buf = (const uint8_t *)"hello";
	CHECK_OK(__wasi_fd_pwrite(a, &iov, 1, 0, &n));
	(void)__wasi_fd_close(a);
	(void)__wasi_fd_close(b);
	check(file_content(root, "hello.txt", buf, sizeof buf) == (long)strlen(HELLO_TXT) &&
	          strcmp(buf, HELLO_TXT) == 0,
	      "hello.txt restored");
}

static void unlinked_but_open(void)
{
	__wasi_fd_t fd;
	if (create_file(root, D "/gone.txt", "still here") != 0 ||
	    !CHECK_OK(open_rw(D "/gone.txt", 0, 0, &fd)))
		return;
	CHECK_OK(__wasi_path_unlink_file(root, D "/gone.txt"));
	__wasi_filestat_t st;
	CHECK_ERR(__wasi_path_filestat_get(root, 0, D "/gone.txt", &st), __WASI_ERRNO_NOENT);
	char buf[32];
	check(read_str(fd, buf, sizeof buf) == 10 && strcmp(buf, "still here") == 0,
	      "an unlinked file reads on through its open descriptor");
	check(__wasi_fd_filestat_get(fd, &st) == 0 && st.nlink == 0, "and its link count is 0");
	CHECK_OK(__wasi_fd_close(fd));
}

static void append_holes_sizes(void)
{
	__wasi_fd_t fd;
	if (!CHECK_OK(open_rw(D "/app.txt", __WASI_OFLAGS_CREAT, __WASI_FDFLAGS_APPEND, &fd)))
		return;
	write_str(fd, "one");
	__wasi_filesize_t pos;
	CHECK_OK(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos));
	write_str(fd, "two");
	char buf[32];
	check(file_content(root, D "/app.txt", buf, sizeof buf) == 6 && strcmp(buf, "onetwo") == 0,
	      "append mode writes at the end after a seek to 0: \"%s\"", buf);
	CHECK_OK(__wasi_fd_tell(fd, &pos));
	check(pos == 6, "the position follows the appended data (%llu)", (unsigned long long)pos);
	(void)__wasi_fd_close(fd);

	if (!CHECK_OK(open_rw(D "/sparse", __WASI_OFLAGS_CREAT, 0, &fd)))
		return;
	__wasi_ciovec_t iov = {(const uint8_t *)"end", 3};
	__wasi_size_t n;
	CHECK_OK(__wasi_fd_pwrite(fd, &iov, 1, 1 << 20, &n));
	check(size_of(fd) == (1 << 20) + 3, "pwrite 1 MiB out makes the file 1 MiB + 3");
	static uint8_t zeros[4096];
	__wasi_iovec_t riov = {zeros, sizeof zeros};
	int all_zero = __wasi_fd_pread(fd, &riov, 1, 4096, &n) == 0 && n == sizeof zeros;
	for (size_t i = 0; i < sizeof zeros; i++)
		all_zero &= zeros[i] == 0;
	check(all_zero, "the hole reads as zeros");
	CHECK_OK(__wasi_fd_filestat_set_size(fd, 10));
	check(size_of(fd) == 10, "set_size shrinks to 10");
	CHECK_OK(__wasi_fd_filestat_set_size(fd, 100));
	char tail[90] = {1};
	riov = (__wasi_iovec_t){(uint8_t *)tail, sizeof tail};
	int tail_zero = __wasi_fd_pread(fd, &riov, 1, 10, &n) == 0 && n == 90;
	for (size_t i = 0; i < sizeof tail; i++)
		tail_zero &= tail[i] == 0;
	check(tail_zero, "growing again shows zeros, not the old bytes");
	CHECK_OK(__wasi_fd_allocate(fd, 0, 200));
	check(size_of(fd) == 200, "fd_allocate extends to 200");
	CHECK_OK(__wasi_fd_allocate(fd, 0, 50));
	check(size_of(fd) == 200, "fd_allocate never shrinks");
	(void)__wasi_fd_close(fd);
	CHECK_OK(__wasi_path_unlink_file(root, D "/sparse"));
}

static void large_file(void)
{
	enum { CHUNK = 65536, CHUNKS = 64 };
	static uint8_t chunk[CHUNK];
	__wasi_fd_t fd;
	if (!CHECK_OK(open_rw(D "/large", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, 0, &fd)))
		return;
	int ok = 1;
	for (int c = 0; c < CHUNKS && ok; c++) {
		memset(chunk, c, sizeof chunk);
		__wasi_ciovec_t iov = {chunk, sizeof chunk};
		__wasi_size_t n;
		ok = __wasi_fd_write(fd, &iov, 1, &n) == 0 && n == CHUNK;
	}
	check(ok && size_of(fd) == (__wasi_filesize_t)CHUNK * CHUNKS,
	      "4 MiB written in 64 KiB writes");
	for (int c = 0; c < CHUNKS && ok; c += 9) {
		uint8_t byte = 0xee;
		__wasi_iovec_t iov = {&byte, 1};
		__wasi_size_t n;
		ok = __wasi_fd_pread(fd, &iov, 1, (__wasi_filesize_t)c * CHUNK + 77, &n) == 0 &&
		     n == 1 && byte == c;
	}
	check(ok, "and read back where they were written");
	(void)__wasi_fd_close(fd);
	CHECK_OK(__wasi_path_unlink_file(root, D "/large"));
}

static void rights_stay_dropped(void)
{
	__wasi_fd_t fd;
	if (!CHECK_OK(open_at(root, "hello.txt", 0, RIGHTS_RO, 0, &fd)))
		return;
	__wasi_size_t n;
	__wasi_ciovec_t iov = {(const uint8_t *)"x", 1};
	CHECK_ERR(__wasi_fd_write(fd, &iov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_pwrite(fd, &iov, 1, 0, &n), __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_filestat_set_size(fd, 0), __WASI_ERRNO_NOTCAPABLE);
	__wasi_fdstat_t st;
	CHECK_OK(__wasi_fd_fdstat_get(fd, &st));
	check(!(st.fs_rights_base & __WASI_RIGHTS_FD_WRITE), "fdstat shows no FD_WRITE");
	CHECK_OK(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base & ~__WASI_RIGHTS_FD_READ, 0));
	char c;
	__wasi_iovec_t riov = {(uint8_t *)&c, 1};
	CHECK_ERR(__wasi_fd_read(fd, &riov, 1, &n), __WASI_ERRNO_NOTCAPABLE);
	CHECK_ERR(__wasi_fd_fdstat_set_rights(fd, st.fs_rights_base, 0), __WASI_ERRNO_NOTCAPABLE);
	(void)__wasi_fd_close(fd);

	/* A directory descriptor without PATH_CREATE_FILE cannot create. */
	__wasi_fd_t dir;
	if (!CHECK_OK(open_at(root, D, __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &dir)))
		return;
	CHECK_OK(__wasi_fd_fdstat_get(dir, &st));
	CHECK_OK(__wasi_fd_fdstat_set_rights(
	    dir, st.fs_rights_base & ~__WASI_RIGHTS_PATH_CREATE_FILE, st.fs_rights_inheriting));
	__wasi_fd_t f;
	CHECK_ERR(__wasi_path_open(dir, 0, "nope", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, 0, &f),
	          __WASI_ERRNO_NOTCAPABLE);
	(void)__wasi_fd_close(dir);
}

static void readdir_tiny_buffers(void)
{
	CHECK_OK(__wasi_path_create_directory(root, D "/list"));
	const char *names[] = {"a-rather-long-file-name-to-cut", "b", "c"};
	for (int i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof path, D "/list/%s", names[i]);
		create_file(root, path, "x");
	}
	__wasi_fd_t dir;
	if (!CHECK_OK(open_at(root, D "/list", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &dir)))
		return;
	/* 30 bytes: one 24-byte header and the start of a name at most. */
	uint8_t buf[30];
	__wasi_dircookie_t cookie = 0;
	int files = 0, dots = 0, truncated = 0, rounds = 0;
	for (; rounds < 20; rounds++) {
		__wasi_size_t used;
		if (__wasi_fd_readdir(dir, buf, sizeof buf, cookie, &used) != 0 || used == 0)
			break;
		__wasi_dirent_t ent;
		memcpy(&ent, buf, sizeof ent);
		if (used == sizeof buf && ent.d_namlen > sizeof buf - sizeof ent)
			truncated++;
		const char *name = (const char *)buf + sizeof ent;
		if ((ent.d_namlen == 1 && name[0] == '.') ||
		    (ent.d_namlen == 2 && name[0] == '.' && name[1] == '.'))
			dots++;
		else
			files++;
		cookie = ent.d_next;
	}
	/* The spec leaves "." and ".." to the runtime: hedge, like wasmtime, lists them. */
	note("readdir listed %d of \".\" and \"..\"", dots);
	check(files == 3, "the three files, one by one through their cookies: %d", files);
	check(truncated == 1, "the long name was cut to fit, with bufused == buf_len");
	__wasi_size_t used;
	CHECK_OK(__wasi_fd_readdir(dir, buf, 0, 0, &used));
	check(used == 0, "a zero-byte buffer gets nothing");
	(void)__wasi_fd_close(dir);
	for (int i = 0; i < 3; i++) {
		char path[128];
		snprintf(path, sizeof path, D "/list/%s", names[i]);
		(void)__wasi_path_unlink_file(root, path);
	}
	CHECK_OK(__wasi_path_remove_directory(root, D "/list"));
}

static void links_and_loops(void)
{
	__wasi_filestat_t st;
	create_file(root, D "/orig", "o");
	CHECK_OK(__wasi_path_link(root, 0, D "/orig", root, D "/second"));
	check(__wasi_path_filestat_get(root, 0, D "/orig", &st) == 0 && st.nlink == 2,
	      "two names, nlink 2");
	CHECK_OK(__wasi_path_unlink_file(root, D "/orig"));
	check(__wasi_path_filestat_get(root, 0, D "/second", &st) == 0 && st.nlink == 1,
	      "one name left, nlink 1");
	CHECK_OK(__wasi_path_unlink_file(root, D "/second"));

	CHECK_OK(__wasi_path_symlink("ping", root, D "/pong"));
	CHECK_OK(__wasi_path_symlink("pong", root, D "/ping"));
	__wasi_fd_t fd;
	CHECK_ERR(open_at(root, D "/ping", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_LOOP);
	CHECK_ERR(
	    __wasi_path_filestat_get(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, D "/ping/x", &st),
	    __WASI_ERRNO_LOOP);
	/* A chain of 40 links is longer than any runtime follows. */
	create_file(root, D "/end", "e");
	char name[64], target[64];
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof name, D "/l%d", i);
		if (i == 1)
			snprintf(target, sizeof target, "end");
		else
			snprintf(target, sizeof target, "l%d", i - 1);
		(void)__wasi_path_symlink(target, root, name);
	}
	CHECK_OK(__wasi_path_filestat_get(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, D "/l8", &st));
	CHECK_ERR(__wasi_path_filestat_get(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, D "/l40", &st),
	          __WASI_ERRNO_LOOP);
	for (int i = 1; i <= 40; i++) {
		snprintf(name, sizeof name, D "/l%d", i);
		(void)__wasi_path_unlink_file(root, name);
	}
	(void)__wasi_path_unlink_file(root, D "/end");
	(void)__wasi_path_unlink_file(root, D "/ping");
	(void)__wasi_path_unlink_file(root, D "/pong");
}

static void rename_and_rmdir(void)
{
	CHECK_OK(__wasi_path_create_directory(root, D "/r1"));
	create_file(root, D "/r1/f", "f");
	CHECK_ERR(__wasi_path_remove_directory(root, D "/r1"), __WASI_ERRNO_NOTEMPTY);
	CHECK_OK(__wasi_path_rename(root, D "/r1", root, D "/r2"));
	char buf[8];
	check(file_content(root, D "/r2/f", buf, sizeof buf) == 1,
	      "the renamed directory keeps its file");
	CHECK_ERR(__wasi_path_rename(root, D "/r2", root, D "/r2/inner"), __WASI_ERRNO_INVAL);
	CHECK_OK(__wasi_path_unlink_file(root, D "/r2/f"));
	CHECK_OK(__wasi_path_remove_directory(root, D "/r2"));
}

int main(void)
{
	check_init();
	root = sandbox_fd();
	(void)__wasi_path_create_directory(root, D);
	copy_on_write();
	unlinked_but_open();
	append_holes_sizes();
	large_file();
	rights_stay_dropped();
	readdir_tiny_buffers();
	links_and_loops();
	rename_and_rmdir();
	(void)__wasi_path_unlink_file(root, D "/app.txt");
	CHECK_OK(__wasi_path_remove_directory(root, D));
	return check_done("vfs_semantics");
}
