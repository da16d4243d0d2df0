/* check.h - shared by the WASI conformance programs in tests/wasi/.
 *
 * Every check prints one line, "ok   WHAT" or "FAIL WHAT (got ..., expected
 * ...)", and check_done() ends the program: status 0 only if all passed.
 * The raw __wasi_* calls from <wasi/api.h> are used wherever the exact errno
 * matters; wasi-libc's POSIX layer where the point is that libc works.
 *
 * The test scripts run each program with a host directory preopened as
 * /sandbox holding these files (see tests/integration/wasm.sh):
 *   hello.txt          "hello from the host\n"
 *   sub/nested.txt     "nested\n"
 *   sub/deeper/        an empty directory
 * and with a file next to that directory, outside the sandbox:
 *   ../secret.txt      "secret\n"
 * Programs create whatever else they need under their own scratch directory
 * and remove it again.  Writes stay in the runtime's copy of the directory. */
#ifndef WASI_CHECK_H
#define WASI_CHECK_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wasi/api.h>

#define SANDBOX    "/sandbox"
#define HELLO_TXT  "hello from the host\n"
#define NESTED_TXT "nested\n"

static int check_passed, check_failed;

static inline void check_init(void)
{
	/* One fd_write per line, so that nothing is lost if the program traps. */
	setvbuf(stdout, NULL, _IOLBF, 0);
}

static inline void check_v(int ok, const char *fmt, va_list ap)
{
	fputs(ok ? "ok   " : "FAIL ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	if (ok)
		check_passed++;
	else
		check_failed++;
}

/* check: records one check; returns OK so callers can skip dependent ones. */
__attribute__((format(printf, 2, 3))) static inline int check(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	check_v(ok, fmt, ap);
	va_end(ap);
	return ok;
}

/* note: a line that is not a check (what a runtime did where the spec
 * leaves a choice). */
__attribute__((format(printf, 1, 2))) static inline void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("#    ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

static inline int check_done(const char *name)
{
	if (check_failed)
		printf("%s: %d of %d checks FAILED\n", name, check_failed,
		       check_passed + check_failed);
	else
		printf("%s: all %d checks passed\n", name, check_passed);
	fflush(stdout);
	return check_failed ? 1 : 0;
}

static const char *const errno_names[] = {
    "SUCCESS",     "2BIG",           "ACCES",       "ADDRINUSE",   "ADDRNOTAVAIL",
    "AFNOSUPPORT", "AGAIN",          "ALREADY",     "BADF",        "BADMSG",
    "BUSY",        "CANCELED",       "CHILD",       "CONNABORTED", "CONNREFUSED",
    "CONNRESET",   "DEADLK",         "DESTADDRREQ", "DOM",         "DQUOT",
    "EXIST",       "FAULT",          "FBIG",        "HOSTUNREACH", "IDRM",
    "ILSEQ",       "INPROGRESS",     "INTR",        "INVAL",       "IO",
    "ISCONN",      "ISDIR",          "LOOP",        "MFILE",       "MLINK",
    "MSGSIZE",     "MULTIHOP",       "NAMETOOLONG", "NETDOWN",     "NETRESET",
    "NETUNREACH",  "NFILE",          "NOBUFS",      "NODEV",       "NOENT",
    "NOEXEC",      "NOLCK",          "NOLINK",      "NOMEM",       "NOMSG",
    "NOPROTOOPT",  "NOSPC",          "NOSYS",       "NOTCONN",     "NOTDIR",
    "NOTEMPTY",    "NOTRECOVERABLE", "NOTSOCK",     "NOTSUP",      "NOTTY",
    "NXIO",        "OVERFLOW",       "OWNERDEAD",   "PERM",        "PIPE",
    "PROTO",       "PROTONOSUPPORT", "PROTOTYPE",   "RANGE",       "ROFS",
    "SPIPE",       "SRCH",           "STALE",       "TIMEDOUT",    "TXTBSY",
    "XDEV",        "NOTCAPABLE",
};

static inline const char *errno_name(__wasi_errno_t e)
{
	static char other[16];
	if (e < sizeof errno_names / sizeof errno_names[0])
		return errno_names[e];
	snprintf(other, sizeof other, "errno %u", (unsigned)e);
	return other;
}

/* CHECK_ERR(call, E...): the raw WASI call returns one of the errnos E. */
#define CHECK_ERR(call, ...)                                                        \
	do {                                                                        \
		const __wasi_errno_t want_[] = {__VA_ARGS__};                       \
		check_errno_((call), want_, sizeof want_ / sizeof want_[0], #call); \
	} while (0)

/* CHECK_OK(call): the raw WASI call succeeds; evaluates to 1 if it did. */
#define CHECK_OK(call) check_errno_((call), NULL, 0, #call)

static inline int check_errno_(__wasi_errno_t got, const __wasi_errno_t *want, size_t n,
                               const char *what)
{
	if (n == 0) {
		if (got == 0)
			return check(1, "%s", what);
		return check(0, "%s -> %s, expected success", what, errno_name(got));
	}
	for (size_t i = 0; i < n; i++)
		if (got == want[i])
			return check(1, "%s -> %s", what, errno_name(got));
	char list[128] = "";
	for (size_t i = 0; i < n; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? " or " : "",
		         errno_name(want[i]));
	return check(0, "%s -> %s, expected %s", what, errno_name(got), list);
}

/* find_preopen: the fd of the preopened directory NAME, or -1. */
static inline int find_preopen(const char *name)
{
	for (__wasi_fd_t fd = 3; fd < 64; fd++) {
		__wasi_prestat_t ps;
		__wasi_errno_t e = __wasi_fd_prestat_get(fd, &ps);
		if (e == __WASI_ERRNO_BADF)
			break;
		if (e != 0 || ps.tag != __WASI_PREOPENTYPE_DIR)
			continue;
		char buf[256];
		size_t len = ps.u.dir.pr_name_len;
		if (len >= sizeof buf || __wasi_fd_prestat_dir_name(fd, (uint8_t *)buf, len) != 0)
			continue;
		buf[len] = '\0';
		if (strcmp(buf, name) == 0)
			return (int)fd;
	}
	return -1;
}

/* sandbox_fd: the /sandbox preopen; exits with a FAIL line without it. */
static inline __wasi_fd_t sandbox_fd(void)
{
	int fd = find_preopen(SANDBOX);
	if (fd < 0) {
		check(0, "no preopened directory named %s (run with --dir HOST::%s)", SANDBOX,
		      SANDBOX);
		exit(check_done("setup"));
	}
	return (__wasi_fd_t)fd;
}

/* The rights a file opened under DIR may have: what DIR lets it inherit. */
static inline __wasi_rights_t inheritable_rights(__wasi_fd_t dir)
{
	__wasi_fdstat_t st;
	if (__wasi_fd_fdstat_get(dir, &st) != 0)
		return ~(__wasi_rights_t)0;
	return st.fs_rights_inheriting;
}

#define RIGHTS_RW                                                                            \
	(__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_WRITE | __WASI_RIGHTS_FD_SEEK |            \
	 __WASI_RIGHTS_FD_TELL | __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC | \
	 __WASI_RIGHTS_FD_DATASYNC | __WASI_RIGHTS_FD_ADVISE | __WASI_RIGHTS_FD_ALLOCATE |   \
	 __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_FILESTAT_SET_SIZE |                \
	 __WASI_RIGHTS_FD_FILESTAT_SET_TIMES | __WASI_RIGHTS_POLL_FD_READWRITE)
#define RIGHTS_RO                                                                \
	(__WASI_RIGHTS_FD_READ | __WASI_RIGHTS_FD_SEEK | __WASI_RIGHTS_FD_TELL | \
	 __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_FD_ADVISE |               \
	 __WASI_RIGHTS_POLL_FD_READWRITE)
#define RIGHTS_DIR                                                                            \
	(__WASI_RIGHTS_FD_READDIR | __WASI_RIGHTS_FD_FILESTAT_GET | __WASI_RIGHTS_PATH_OPEN | \
	 __WASI_RIGHTS_PATH_CREATE_DIRECTORY | __WASI_RIGHTS_PATH_CREATE_FILE |               \
	 __WASI_RIGHTS_PATH_FILESTAT_GET | __WASI_RIGHTS_PATH_UNLINK_FILE |                   \
	 __WASI_RIGHTS_PATH_REMOVE_DIRECTORY | __WASI_RIGHTS_PATH_READLINK |                  \
	 __WASI_RIGHTS_PATH_SYMLINK | __WASI_RIGHTS_PATH_RENAME_SOURCE |                      \
	 __WASI_RIGHTS_PATH_RENAME_TARGET | __WASI_RIGHTS_PATH_LINK_SOURCE |                  \
	 __WASI_RIGHTS_PATH_LINK_TARGET | __WASI_RIGHTS_PATH_FILESTAT_SET_SIZE |              \
	 __WASI_RIGHTS_PATH_FILESTAT_SET_TIMES | __WASI_RIGHTS_FD_FILESTAT_SET_TIMES |        \
	 __WASI_RIGHTS_FD_FDSTAT_SET_FLAGS | __WASI_RIGHTS_FD_SYNC)

/* open_at: path_open with the rights wasi-libc would ask for. */
static inline __wasi_errno_t open_at(__wasi_fd_t dir, const char *path, __wasi_oflags_t oflags,
                                     __wasi_rights_t rights, __wasi_fdflags_t fdflags,
                                     __wasi_fd_t *fd)
{
	__wasi_rights_t inh = inheritable_rights(dir);
	return __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, oflags, rights & inh,
	                        inh, fdflags, fd);
}

/* write_str / read_str: whole-buffer helpers on raw fds; -1 on error. */
static inline long write_str(__wasi_fd_t fd, const char *s)
{
	__wasi_ciovec_t iov = {(const uint8_t *)s, strlen(s)};
	__wasi_size_t n;
	return __wasi_fd_write(fd, &iov, 1, &n) == 0 ? (long)n : -1;
}

static inline long read_str(__wasi_fd_t fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (got + 1 < cap) {
		__wasi_iovec_t iov = {(uint8_t *)buf + got, cap - 1 - got};
		__wasi_size_t n;
		if (__wasi_fd_read(fd, &iov, 1, &n) != 0)
			return -1;
		if (n == 0)
			break;
		got += n;
	}
	buf[got] = '\0';
	return (long)got;
}

/* create_file: DIR/PATH with CONTENT (created or truncated); 0 or errno. */
static inline __wasi_errno_t create_file(__wasi_fd_t dir, const char *path, const char *content)
{
	__wasi_fd_t fd;
	__wasi_errno_t e =
	    open_at(dir, path, __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RIGHTS_RW, 0, &fd);
	if (e)
		return e;
	if (write_str(fd, content) != (long)strlen(content))
		e = __WASI_ERRNO_IO;
	__wasi_errno_t c = __wasi_fd_close(fd);
	return e ? e : c;
}

/* file_content: reads DIR/PATH into buf; the length or -1. */
static inline long file_content(__wasi_fd_t dir, const char *path, char *buf, size_t cap)
{
	__wasi_fd_t fd;
	if (open_at(dir, path, 0, RIGHTS_RO, 0, &fd) != 0)
		return -1;
	long n = read_str(fd, buf, cap);
	(void)__wasi_fd_close(fd);
	return n;
}

static inline __wasi_timestamp_t now_ns(__wasi_clockid_t clock)
{
	__wasi_timestamp_t t = 0;
	if (__wasi_clock_time_get(clock, 1, &t) != 0)
		return 0;
	return t;
}

#endif
