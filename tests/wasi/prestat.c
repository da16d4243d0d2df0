/* prestat - fd_prestat_get / fd_prestat_dir_name.  Arguments: the guest
 * names of the directories the runtime was told to preopen, e.g.
 *   prestat.wasm /sandbox /data
 * Each must be preopened exactly once, as a directory, from fd 3 on, with
 * no gaps; nothing else may claim to be a preopen.
 *
 * fd_prestat_get on an fd that is open but not a preopen: wasmtime says
 * EBADF, Node.js EINVAL; the spec names neither, so both pass.  On an fd
 * that is not open at all it must be EBADF, which ends wasi-libc's scan. */
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
	check_init();
	__wasi_prestat_t ps;

	for (__wasi_fd_t fd = 0; fd < 3; fd++)
		CHECK_ERR(__wasi_fd_prestat_get(fd, &ps), __WASI_ERRNO_BADF, __WASI_ERRNO_INVAL);
	CHECK_ERR(__wasi_fd_prestat_get(1000, &ps), __WASI_ERRNO_BADF);

	/* Walk the preopens from fd 3 until EBADF. */
	int found[64] = {0};
	__wasi_fd_t fd = 3;
	for (; fd < 64; fd++) {
		__wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
		if (e == __WASI_ERRNO_BADF)
			break;
		if (!check(e == 0, "fd_prestat_get(%u) -> %s", (unsigned)fd, errno_name(e)))
			continue;
		check(ps.tag == __WASI_PREOPENTYPE_DIR, "fd %u is a directory preopen (tag %u)",
		      (unsigned)fd, ps.tag);
		size_t len = ps.u.dir.pr_name_len;
		char name[300];
		if (!check(len > 0 && len < 256, "fd %u: name length %zu", (unsigned)fd, len))
			continue;
		memset(name, 0x5a, sizeof name);
		CHECK_OK(__wasi_fd_prestat_dir_name(fd, (uint8_t *)name, (__wasi_size_t)len));
		check((unsigned char)name[len] == 0x5a,
		      "fd %u: fd_prestat_dir_name wrote only %zu bytes", (unsigned)fd, len);
		name[len] = '\0';
		check(strlen(name) == len, "fd %u: the name \"%s\" has no NUL inside", (unsigned)fd,
		      name);
		int known = 0;
		for (int i = 1; i < argc; i++)
			if (strcmp(argv[i], name) == 0) {
				known = 1;
				found[i]++;
			}
		check(known, "fd %u is \"%s\", one of the preopens asked for", (unsigned)fd, name);

		/* A buffer one byte short is refused, and not overrun. */
		memset(name, 0x5a, sizeof name);
		__wasi_errno_t short_e =
		    __wasi_fd_prestat_dir_name(fd, (uint8_t *)name, (__wasi_size_t)len - 1);
		check(short_e == __WASI_ERRNO_NAMETOOLONG || short_e == __WASI_ERRNO_NOBUFS,
		      "fd %u: a %zu-byte buffer -> %s, expected NAMETOOLONG (or NOBUFS)",
		      (unsigned)fd, len - 1, errno_name(short_e));
		check((unsigned char)name[len - 1] == 0x5a,
		      "fd %u: ... and nothing was written past it", (unsigned)fd);

		__wasi_fdstat_t fs;
		if (CHECK_OK(__wasi_fd_fdstat_get(fd, &fs)))
			check(fs.fs_filetype == __WASI_FILETYPE_DIRECTORY,
			      "fd %u: fdstat says directory", (unsigned)fd);
	}
	check(fd < 64, "the preopens end with EBADF at fd %u", (unsigned)fd);
	for (int i = 1; i < argc; i++)
		check(found[i] == 1, "\"%s\" is preopened once (%d)", argv[i], found[i]);

	/* A file opened later is not a preopen, and neither is a closed fd. */
	int sfd = find_preopen(SANDBOX);
	if (sfd >= 0) {
		__wasi_fd_t f;
		if (CHECK_OK(open_at((__wasi_fd_t)sfd, "hello.txt", 0, RIGHTS_RO, 0, &f))) {
			check(f >= fd, "a newly opened fd %u comes after the preopens",
			      (unsigned)f);
			CHECK_ERR(__wasi_fd_prestat_get(f, &ps), __WASI_ERRNO_BADF,
			          __WASI_ERRNO_INVAL);
			CHECK_OK(__wasi_fd_close(f));
			CHECK_ERR(__wasi_fd_prestat_get(f, &ps), __WASI_ERRNO_BADF);
		}
		__wasi_fd_t d;
		if (CHECK_OK(open_at((__wasi_fd_t)sfd, "sub", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR,
		                     0, &d))) {
			CHECK_ERR(__wasi_fd_prestat_get(d, &ps), __WASI_ERRNO_BADF,
			          __WASI_ERRNO_INVAL);
			CHECK_OK(__wasi_fd_close(d));
		}
		/* wasi-libc resolves absolute paths through the preopens. */
		DIR *dd = opendir(SANDBOX);
		check(dd != NULL, "opendir(\"%s\")", SANDBOX);
		if (dd)
			closedir(dd);
		int h = open(SANDBOX "/sub/nested.txt", O_RDONLY);
		char buf[32] = {0};
		check(h >= 0 && read(h, buf, sizeof buf - 1) == (ssize_t)strlen(NESTED_TXT) &&
		          strcmp(buf, NESTED_TXT) == 0,
		      "open(\"%s/sub/nested.txt\") reads the host's file", SANDBOX);
		if (h >= 0)
			close(h);
	}
	return check_done("prestat");
}
