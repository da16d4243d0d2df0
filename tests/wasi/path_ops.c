/* path_ops - the path_* calls: create/remove directory, unlink, rename
 * (including over an existing file or empty directory), link,
 * symlink/readlink, filestat get/set_times, and path_open's oflags CREAT,
 * EXCL, TRUNC, DIRECTORY, with the errors POSIX gives: EEXIST, ENOENT,
 * ENOTDIR, EISDIR, ENOTEMPTY.  Everything happens under path_ops.d/. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define D   "path_ops.d"
#define SEC 1000000000ull

static __wasi_fd_t root;

static __wasi_filestat_t pstat(const char *path, int follow)
{
	__wasi_filestat_t st;
	memset(&st, 0, sizeof st);
	st.filetype = 0xff;
	if (__wasi_path_filestat_get(root, follow ? __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW : 0, path,
	                             &st) != 0)
		st.filetype = 0xff;
	return st;
}

static int exists(const char *path)
{
	return pstat(path, 0).filetype != 0xff;
}

static int content_is(const char *path, const char *want)
{
	char buf[256];
	return file_content(root, path, buf, sizeof buf) == (long)strlen(want) &&
	       strcmp(buf, want) == 0;
}

int main(void)
{
	check_init();
	root = sandbox_fd();
	__wasi_fd_t fd;
	__wasi_filestat_t st;

	/* Directories. */
	if (!CHECK_OK(__wasi_path_create_directory(root, D)))
		return check_done("path_ops");
	CHECK_ERR(__wasi_path_create_directory(root, D), __WASI_ERRNO_EXIST);
	CHECK_ERR(__wasi_path_create_directory(root, D "/no/such"), __WASI_ERRNO_NOENT);
	check(pstat(D, 0).filetype == __WASI_FILETYPE_DIRECTORY, "path_filestat_get: a directory");
	CHECK_OK(__wasi_path_create_directory(root, D "/dir"));
	CHECK_OK(__wasi_path_create_directory(root, D "/dir/inner"));

	/* path_open oflags. */
	CHECK_ERR(open_at(root, D "/f", 0, RIGHTS_RW, 0, &fd), __WASI_ERRNO_NOENT);
	if (CHECK_OK(open_at(root, D "/f", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd))) {
		check(write_str(fd, "0123456789") == 10, "write 10 bytes to f");
		CHECK_OK(__wasi_fd_close(fd));
	}
	CHECK_ERR(
	    open_at(root, D "/f", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_RW, 0, &fd),
	    __WASI_ERRNO_EXIST);
	CHECK_ERR(
	    open_at(root, D "/dir", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_RW, 0, &fd),
	    __WASI_ERRNO_EXIST);
	if (CHECK_OK(open_at(root, D "/f", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd))) {
		check(pstat(D "/f", 0).size == 10,
		      "CREAT without EXCL or TRUNC keeps the contents");
		CHECK_OK(__wasi_fd_close(fd));
	}
	if (CHECK_OK(open_at(root, D "/g", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_EXCL, RIGHTS_RW, 0,
	                     &fd))) {
		check(write_str(fd, "gee") == 3, "write to g");
		CHECK_OK(__wasi_fd_close(fd));
	}
	if (CHECK_OK(open_at(root, D "/f", __WASI_OFLAGS_TRUNC, RIGHTS_RW, 0, &fd))) {
		check(pstat(D "/f", 0).size == 0, "TRUNC empties the file");
		check(write_str(fd, "eff") == 3, "write to f");
		CHECK_OK(__wasi_fd_close(fd));
	}
	CHECK_ERR(open_at(root, D "/f", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &fd),
	          __WASI_ERRNO_NOTDIR);
	if (CHECK_OK(open_at(root, D "/dir", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &fd))) {
		__wasi_fdstat_t fs;
		check(__wasi_fd_fdstat_get(fd, &fs) == 0 &&
		          fs.fs_filetype == __WASI_FILETYPE_DIRECTORY,
		      "O_DIRECTORY on a directory gives a directory fd");
		/* Paths relative to a directory fd that is not a preopen. */
		__wasi_fd_t in;
		if (CHECK_OK(open_at(fd, "inner", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &in)))
			CHECK_OK(__wasi_fd_close(in));
		CHECK_OK(create_file(fd, "rel.txt", "relative"));
		check(content_is(D "/dir/rel.txt", "relative"),
		      "a file created relative to dir/ is at dir/rel.txt");
		CHECK_OK(__wasi_path_unlink_file(fd, "rel.txt"));
		CHECK_OK(__wasi_fd_close(fd));
	}
	CHECK_ERR(open_at(root, D "/f/x", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_NOTDIR);
	CHECK_ERR(open_at(root, D "/f/x", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd),
	          __WASI_ERRNO_NOTDIR);
	CHECK_ERR(open_at(root, D "/f/", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_NOTDIR);
	CHECK_ERR(open_at(root, D "/nope/x", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd),
	          __WASI_ERRNO_NOENT);
	/* POSIX says ENOENT for an empty path; Node.js says EINVAL. */
	CHECK_ERR(open_at(root, "", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_NOENT, __WASI_ERRNO_INVAL);
	check(content_is(D "//f", "eff") && content_is(D "/./f", "eff") &&
	          content_is(D "/dir/../f", "eff"),
	      "\"//\", \"/./\" and \"dir/..\" inside the sandbox resolve");

	/* filestat and set_times. */
	st = pstat(D "/f", 0);
	check(st.filetype == __WASI_FILETYPE_REGULAR_FILE && st.size == 3 && st.nlink == 1,
	      "path_filestat_get(f): regular, 3 bytes, 1 link (type %u size %llu nlink %llu)",
	      st.filetype, (unsigned long long)st.size, (unsigned long long)st.nlink);
	CHECK_ERR(__wasi_path_filestat_get(root, 0, D "/missing", &st), __WASI_ERRNO_NOENT);
	if (CHECK_OK(__wasi_path_filestat_set_times(root, 0, D "/f", 1500000000ull * SEC,
	                                            1600000000ull * SEC,
	                                            __WASI_FSTFLAGS_ATIM | __WASI_FSTFLAGS_MTIM))) {
		st = pstat(D "/f", 0);
		check(st.atim == 1500000000ull * SEC && st.mtim == 1600000000ull * SEC,
		      "path_filestat_set_times set atim and mtim");
	}

	/* unlink */
	CHECK_OK(__wasi_path_unlink_file(root, D "/g"));
	check(!exists(D "/g"), "g is gone");
	CHECK_ERR(__wasi_path_unlink_file(root, D "/g"), __WASI_ERRNO_NOENT);
	CHECK_ERR(__wasi_path_unlink_file(root, D "/dir"), __WASI_ERRNO_ISDIR, __WASI_ERRNO_PERM);

	/* remove_directory */
	CHECK_ERR(__wasi_path_remove_directory(root, D "/dir"), __WASI_ERRNO_NOTEMPTY);
	CHECK_ERR(__wasi_path_remove_directory(root, D "/f"), __WASI_ERRNO_NOTDIR);
	CHECK_ERR(__wasi_path_remove_directory(root, D "/missing"), __WASI_ERRNO_NOENT);
	CHECK_OK(__wasi_path_remove_directory(root, D "/dir/inner"));
	check(!exists(D "/dir/inner"), "dir/inner is gone");

	/* rename */
	CHECK_OK(create_file(root, D "/a", "AAA"));
	CHECK_OK(create_file(root, D "/b", "BBBB"));
	CHECK_OK(__wasi_path_rename(root, D "/a", root, D "/a2"));
	check(!exists(D "/a") && content_is(D "/a2", "AAA"), "rename a -> a2 moved the file");
	CHECK_OK(__wasi_path_rename(root, D "/a2", root, D "/b"));
	check(!exists(D "/a2") && content_is(D "/b", "AAA"),
	      "rename over an existing file replaces it");
	CHECK_OK(__wasi_path_rename(root, D "/b", root, D "/dir/b"));
	check(content_is(D "/dir/b", "AAA"), "rename into a subdirectory");
	CHECK_ERR(__wasi_path_rename(root, D "/missing", root, D "/x"), __WASI_ERRNO_NOENT);
	CHECK_OK(__wasi_path_create_directory(root, D "/empty"));
	CHECK_ERR(__wasi_path_rename(root, D "/f", root, D "/empty"), __WASI_ERRNO_ISDIR);
	CHECK_ERR(__wasi_path_rename(root, D "/empty", root, D "/f"), __WASI_ERRNO_NOTDIR);
	CHECK_ERR(__wasi_path_rename(root, D "/empty", root, D "/dir"), __WASI_ERRNO_NOTEMPTY,
	          __WASI_ERRNO_EXIST);
	CHECK_ERR(__wasi_path_rename(root, D "/dir", root, D "/dir/sub"), __WASI_ERRNO_INVAL);
	CHECK_OK(__wasi_path_create_directory(root, D "/empty2"));
	CHECK_OK(__wasi_path_rename(root, D "/empty2", root, D "/empty"));
	check(!exists(D "/empty2") && pstat(D "/empty", 0).filetype == __WASI_FILETYPE_DIRECTORY,
	      "rename of a directory over an empty directory");
	CHECK_OK(__wasi_path_rename(root, D "/dir", root, D "/dir2"));
	check(content_is(D "/dir2/b", "AAA") && !exists(D "/dir"),
	      "renaming a directory moves its contents");

	/* link */
	if (CHECK_OK(__wasi_path_link(root, 0, D "/f", root, D "/f.link"))) {
		__wasi_filestat_t s1 = pstat(D "/f", 0), s2 = pstat(D "/f.link", 0);
		check(s1.ino == s2.ino && s1.nlink == 2 && s2.nlink == 2,
		      "both names are one inode with 2 links (nlink %llu, %llu)",
		      (unsigned long long)s1.nlink, (unsigned long long)s2.nlink);
		CHECK_OK(create_file(root, D "/f.link", "via link"));
		check(content_is(D "/f", "via link"),
		      "a write through one name shows through the other");
		CHECK_OK(__wasi_path_unlink_file(root, D "/f"));
		check(content_is(D "/f.link", "via link") && pstat(D "/f.link", 0).nlink == 1,
		      "unlinking one name keeps the other, now with 1 link");
		CHECK_OK(__wasi_path_rename(root, D "/f.link", root, D "/f"));
	}
	CHECK_ERR(__wasi_path_link(root, 0, D "/f", root, D "/dir2/b"), __WASI_ERRNO_EXIST);
	CHECK_ERR(__wasi_path_link(root, 0, D "/missing", root, D "/x"), __WASI_ERRNO_NOENT);
	CHECK_ERR(__wasi_path_link(root, 0, D "/dir2", root, D "/dirlink"), __WASI_ERRNO_PERM);

	/* symlink / readlink */
	char buf[64];
	__wasi_size_t n;
	if (CHECK_OK(__wasi_path_symlink("f", root, D "/sl"))) {
		memset(buf, 0, sizeof buf);
		if (CHECK_OK(__wasi_path_readlink(root, D "/sl", (uint8_t *)buf, sizeof buf, &n)))
			check(n == 1 && buf[0] == 'f', "readlink gives \"f\" (%u bytes: \"%.*s\")",
			      (unsigned)n, (int)n, buf);
		check(pstat(D "/sl", 0).filetype == __WASI_FILETYPE_SYMBOLIC_LINK,
		      "path_filestat_get without FOLLOW sees the link");
		check(pstat(D "/sl", 1).filetype == __WASI_FILETYPE_REGULAR_FILE,
		      "path_filestat_get with FOLLOW sees the file");
		check(content_is(D "/sl", "via link"), "opening the symlink opens its target");
		CHECK_ERR(__wasi_path_symlink("g", root, D "/sl"), __WASI_ERRNO_EXIST);
		CHECK_OK(__wasi_path_unlink_file(root, D "/sl"));
		check(!exists(D "/sl") && content_is(D "/f", "via link"),
		      "unlinking the symlink keeps the target");
	}
	if (CHECK_OK(__wasi_path_symlink("dir2", root, D "/dl"))) {
		check(content_is(D "/dl/b", "AAA"),
		      "a symlink to a directory works as a path component");
		CHECK_OK(__wasi_path_unlink_file(root, D "/dl"));
	}
	if (CHECK_OK(__wasi_path_symlink("nowhere", root, D "/dangling"))) {
		CHECK_ERR(open_at(root, D "/dangling", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_NOENT);
		check(pstat(D "/dangling", 0).filetype == __WASI_FILETYPE_SYMBOLIC_LINK,
		      "a dangling symlink is still a symlink");
		CHECK_OK(__wasi_path_unlink_file(root, D "/dangling"));
	}
	CHECK_ERR(__wasi_path_readlink(root, D "/f", (uint8_t *)buf, sizeof buf, &n),
	          __WASI_ERRNO_INVAL);
	CHECK_ERR(__wasi_path_readlink(root, D "/missing", (uint8_t *)buf, sizeof buf, &n),
	          __WASI_ERRNO_NOENT);

	/* The same through wasi-libc. */
	errno = 0;
	check(mkdir(SANDBOX "/" D "/libc", 0755) == 0, "mkdir()");
	errno = 0;
	check(mkdir(SANDBOX "/" D "/libc", 0755) < 0 && errno == EEXIST,
	      "mkdir() again sets EEXIST");
	errno = 0;
	check(open(SANDBOX "/" D "/f", O_CREAT | O_EXCL | O_WRONLY, 0644) < 0 && errno == EEXIST,
	      "open(O_CREAT|O_EXCL) on an existing file sets EEXIST");
	errno = 0;
	check(open(SANDBOX "/" D "/missing", O_RDONLY) < 0 && errno == ENOENT,
	      "open() of a missing file sets ENOENT");
	errno = 0;
	check(rmdir(SANDBOX "/" D "/dir2") < 0 && errno == ENOTEMPTY,
	      "rmdir() of a full directory sets ENOTEMPTY");
	struct stat sb;
	check(stat(SANDBOX "/" D "/f", &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 8,
	      "stat()");
	check(rename(SANDBOX "/" D "/f", SANDBOX "/" D "/libc/f") == 0, "rename()");
	check(symlink("f", SANDBOX "/" D "/libc/s") == 0 &&
	          lstat(SANDBOX "/" D "/libc/s", &sb) == 0 && S_ISLNK(sb.st_mode),
	      "symlink(), lstat()");
	ssize_t rl = readlink(SANDBOX "/" D "/libc/s", buf, sizeof buf);
	check(rl == 1 && buf[0] == 'f', "readlink()");
	check(unlink(SANDBOX "/" D "/libc/s") == 0 && unlink(SANDBOX "/" D "/libc/f") == 0,
	      "unlink()");
	check(rmdir(SANDBOX "/" D "/libc") == 0, "rmdir()");

	/* Clean up. */
	CHECK_OK(__wasi_path_unlink_file(root, D "/dir2/b"));
	CHECK_OK(__wasi_path_remove_directory(root, D "/dir2"));
	CHECK_OK(__wasi_path_remove_directory(root, D "/empty"));
	CHECK_OK(__wasi_path_remove_directory(root, D));
	check(!exists(D), "%s is gone", D);
	return check_done("path_ops");
}
