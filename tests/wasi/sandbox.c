/* sandbox - attempts to leave the preopened directory must fail.
 *
 * The host directory behind /sandbox has a sibling file ../secret.txt, and
 * the host has /etc/passwd.  "..", absolute paths, symlinks to outside
 * (absolute and relative), symlinks to "..", symlink loops and ".." chains
 * are tried with every path_* call.  Each must fail with ENOTCAPABLE, EPERM,
 * ENOENT or ELOOP (loops: ELOOP); if one ever succeeds the program says what
 * it could read.  Paths that wander but stay inside must keep working. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "check.h"

#define D "sandbox.d"

static __wasi_fd_t root;

static const __wasi_errno_t escape_errs[] = {__WASI_ERRNO_NOTCAPABLE, __WASI_ERRNO_PERM,
                                             __WASI_ERRNO_NOENT, __WASI_ERRNO_LOOP};

static int is_escape_err(__wasi_errno_t e)
{
	for (size_t i = 0; i < sizeof escape_errs / sizeof escape_errs[0]; i++)
		if (e == escape_errs[i])
			return 1;
	return 0;
}

/* refused: one check that E is one of the escape errors. */
static void refused(__wasi_errno_t e, const char *what)
{
	check(is_escape_err(e), "%s -> %s%s", what, errno_name(e),
	      is_escape_err(e) ? "" : ", expected NOTCAPABLE, PERM, NOENT or LOOP");
}

/* try_open: path_open of PATH relative to DIR must fail; if it does not,
 * report what the file holds. */
static void try_open(__wasi_fd_t dir, const char *path, __wasi_lookupflags_t follow,
                     const char *label)
{
	__wasi_fd_t fd;
	__wasi_rights_t inh = inheritable_rights(dir);
	__wasi_errno_t e = __wasi_path_open(dir, follow, path, 0, RIGHTS_RO & inh, inh, 0, &fd);
	char what[300];
	snprintf(what, sizeof what, "path_open(%s\"%s\"%s)", label, path, follow ? ", FOLLOW" : "");
	if (e == 0) {
		char buf[64];
		long n = read_str(fd, buf, sizeof buf);
		(void)__wasi_fd_close(fd);
		for (long i = 0; i < n; i++)
			if (buf[i] == '\n')
				buf[i] = '|';
		check(0, "%s succeeded and read %ld bytes: \"%.40s\"", what, n, n > 0 ? buf : "");
		return;
	}
	refused(e, what);
}

static void try_stat(const char *path)
{
	__wasi_filestat_t st;
	char what[300];
	snprintf(what, sizeof what, "path_filestat_get(\"%s\", FOLLOW)", path);
	refused(__wasi_path_filestat_get(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, &st), what);
}

static void must_open(__wasi_fd_t dir, const char *path, const char *want, const char *label)
{
	__wasi_fd_t fd;
	__wasi_rights_t inh = inheritable_rights(dir);
	__wasi_errno_t e = __wasi_path_open(dir, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, path, 0,
	                                    RIGHTS_RO & inh, inh, 0, &fd);
	char buf[64] = "";
	if (e == 0) {
		read_str(fd, buf, sizeof buf);
		(void)__wasi_fd_close(fd);
	}
	check(e == 0 && strcmp(buf, want) == 0, "path_open(%s\"%s\") stays inside and works (%s)",
	      label, path, errno_name(e));
}

int main(void)
{
	check_init();
	root = sandbox_fd();
	CHECK_OK(__wasi_path_create_directory(root, D));

	/* ".." and absolute paths. */
	const char *outside[] = {
	    "..",
	    "../secret.txt",
	    "./../secret.txt",
	    "sub/../../secret.txt",
	    "sub/deeper/../../../secret.txt",
	    "sub/./../../secret.txt",
	    "sub/../..",
	    "../../../../../../../../etc/passwd",
	    "/etc/passwd",
	    "/secret.txt",
	    "/",
	    "/sandbox/hello.txt",
	    "../hello.txt",
	    "sub/../../hello.txt",
	};
	for (size_t i = 0; i < sizeof outside / sizeof outside[0]; i++)
		try_open(root, outside[i], __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
	try_stat("../secret.txt");
	try_stat("..");
	try_stat("/etc/passwd");
	must_open(root, "sub/../hello.txt", HELLO_TXT, "");
	must_open(root, "sub/deeper/../../sub/nested.txt", NESTED_TXT, "");

	/* A directory fd below the preopen is a capability for that directory
	 * only: ".." from it is refused even though it is inside /sandbox. */
	__wasi_fd_t sub;
	if (CHECK_OK(open_at(root, "sub", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &sub))) {
		try_open(sub, "../hello.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sub fd, ");
		try_open(sub, "../../secret.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "sub fd, ");
		try_open(sub, "deeper/../../hello.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW,
		         "sub fd, ");
		must_open(sub, "nested.txt", NESTED_TXT, "sub fd, ");
		CHECK_OK(__wasi_fd_close(sub));
	}

	/* Symlinks pointing out.  Creating them may be allowed (the target is
	 * just a string); following them may not. */
	const struct {
		const char *target, *link;
	} links[] = {
	    {"/etc/passwd", D "/abs"},           {"/", D "/abs_root"},
	    {"../../secret.txt", D "/rel"},      {"../..", D "/up2"},
	    {"../../../../../../etc", D "/etc"}, {SANDBOX "/hello.txt", D "/abs_in"},
	};
	int abs_made = 0;
	for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
		__wasi_errno_t e = __wasi_path_symlink(links[i].target, root, links[i].link);
		if (e != 0) {
			char what[200];
			snprintf(what, sizeof what, "path_symlink(\"%s\", \"%s\")", links[i].target,
			         links[i].link);
			refused(e, what);
			continue;
		}
		if (i == 0)
			abs_made = 1;
		try_open(root, links[i].link, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
		try_open(root, links[i].link, 0, "");
		try_stat(links[i].link);
	}
	try_open(root, D "/up2/secret.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
	try_open(root, D "/up2/../secret.txt", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
	try_open(root, D "/etc/passwd", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
	try_open(root, D "/abs_root/etc/passwd", __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, "");
	try_stat(D "/up2/secret.txt");
	/* A symlink to ".." that stays inside is fine.  A symlink's target is
	 * relative to the link's own directory: Node.js resolves it from the
	 * preopen instead and refuses this one (and s7 below) with NOTCAPABLE. */
	CHECK_OK(__wasi_path_symlink("..", root, D "/in"));
	must_open(root, D "/in/hello.txt", HELLO_TXT, "");
	char buf[64];
	__wasi_size_t n = 0;
	if (abs_made &&
	    CHECK_OK(__wasi_path_readlink(root, D "/abs", (uint8_t *)buf, sizeof buf, &n)))
		check(n == 11 && memcmp(buf, "/etc/passwd", 11) == 0,
		      "readlink of the absolute link gives its text, no more");

	/* Symlink loops and long chains. */
	CHECK_OK(__wasi_path_symlink("self", root, D "/self"));
	CHECK_OK(__wasi_path_symlink("loop_b", root, D "/loop_a"));
	CHECK_OK(__wasi_path_symlink("loop_a", root, D "/loop_b"));
	__wasi_fd_t fd;
	CHECK_ERR(open_at(root, D "/self", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_LOOP);
	CHECK_ERR(open_at(root, D "/loop_a", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_LOOP);
	CHECK_ERR(open_at(root, D "/loop_a/x", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_LOOP);
	CHECK_ERR(open_at(root, D "/loop_b", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd),
	          __WASI_ERRNO_LOOP);
	__wasi_filestat_t st;
	CHECK_ERR(
	    __wasi_path_filestat_get(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, D "/loop_a", &st),
	    __WASI_ERRNO_LOOP);
	CHECK_ERR(__wasi_path_create_directory(root, D "/loop_a/new"), __WASI_ERRNO_LOOP);
	/* s0 -> s1 -> ... -> s7 -> ../hello.txt works; a chain of 100 does not. */
	char name[64], target[64];
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof name, D "/s%d", i);
		if (i == 7)
			snprintf(target, sizeof target, "../hello.txt");
		else
			snprintf(target, sizeof target, "s%d", i + 1);
		if (__wasi_path_symlink(target, root, name) != 0)
			check(0, "create symlink %s", name);
	}
	must_open(root, D "/s0", HELLO_TXT, "a chain of 8 symlinks, ");
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, D "/c%d", i);
		if (i == 99)
			snprintf(target, sizeof target, "../hello.txt");
		else
			snprintf(target, sizeof target, "c%d", i + 1);
		if (__wasi_path_symlink(target, root, name) != 0)
			check(0, "create symlink %s", name);
	}
	CHECK_ERR(open_at(root, D "/c0", 0, RIGHTS_RO, 0, &fd), __WASI_ERRNO_LOOP);

	/* Every other path call with an outside path. */
	refused(__wasi_path_create_directory(root, "../escape_dir"),
	        "path_create_directory(\"../escape_dir\")");
	refused(__wasi_path_create_directory(root, D "/up2/escape_dir"),
	        "path_create_directory(through a symlink to ../..)");
	refused(__wasi_path_create_directory(root, "/tmp/escape_dir"),
	        "path_create_directory(\"/tmp/escape_dir\")");
	__wasi_fd_t cf;
	refused(open_at(root, "../created.txt", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &cf),
	        "path_open(\"../created.txt\", CREAT)");
	refused(open_at(root, D "/up2/created.txt", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &cf),
	        "path_open(through a symlink to ../.., CREAT)");
	refused(open_at(root, "../secret.txt", __WASI_OFLAGS_TRUNC, RIGHTS_RW, 0, &cf),
	        "path_open(\"../secret.txt\", TRUNC)");
	refused(__wasi_path_unlink_file(root, "../secret.txt"),
	        "path_unlink_file(\"../secret.txt\")");
	refused(__wasi_path_unlink_file(root, D "/up2/secret.txt"),
	        "path_unlink_file(through a symlink)");
	refused(__wasi_path_remove_directory(root, ".."), "path_remove_directory(\"..\")");
	refused(__wasi_path_rename(root, "hello.txt", root, "../stolen.txt"),
	        "path_rename(\"hello.txt\" -> \"../stolen.txt\")");
	refused(__wasi_path_rename(root, "../secret.txt", root, "secret.txt"),
	        "path_rename(\"../secret.txt\" -> \"secret.txt\")");
	refused(__wasi_path_rename(root, "hello.txt", root, D "/up2/stolen.txt"),
	        "path_rename(\"hello.txt\" -> through a symlink)");
	refused(__wasi_path_link(root, 0, "../secret.txt", root, "linked_in.txt"),
	        "path_link(\"../secret.txt\" -> \"linked_in.txt\")");
	refused(__wasi_path_link(root, __WASI_LOOKUPFLAGS_SYMLINK_FOLLOW, D "/rel", root,
	                         "linked_in2.txt"),
	        "path_link(FOLLOW a symlink to ../../secret.txt)");
	refused(__wasi_path_link(root, 0, "hello.txt", root, "../linked_out.txt"),
	        "path_link(\"hello.txt\" -> \"../linked_out.txt\")");
	refused(__wasi_path_symlink("hello.txt", root, "../symlink_out"),
	        "path_symlink(at \"../symlink_out\")");
	refused(__wasi_path_readlink(root, "../secret.txt", (uint8_t *)buf, sizeof buf, &n),
	        "path_readlink(\"../secret.txt\")");
	refused(__wasi_path_filestat_set_times(root, 0, "../secret.txt", 0, 0,
	                                       __WASI_FSTFLAGS_MTIM_NOW),
	        "path_filestat_set_times(\"../secret.txt\")");
	check(file_content(root, "hello.txt", buf, sizeof buf) == (long)strlen(HELLO_TXT),
	      "hello.txt is still there");
	__wasi_filestat_t gone;
	check(__wasi_path_filestat_get(root, 0, "linked_in.txt", &gone) == __WASI_ERRNO_NOENT &&
	          __wasi_path_filestat_get(root, 0, "secret.txt", &gone) == __WASI_ERRNO_NOENT,
	      "nothing from outside appeared inside");

	/* wasi-libc: absolute paths outside every preopen. */
	errno = 0;
	check(open("/etc/passwd", O_RDONLY) < 0, "open(\"/etc/passwd\") fails (errno %d)", errno);
	errno = 0;
	check(open(SANDBOX "/../secret.txt", O_RDONLY) < 0,
	      "open(\"%s/../secret.txt\") fails (errno %d)", SANDBOX, errno);
	errno = 0;
	check(open(SANDBOX "/" D "/abs", O_RDONLY) < 0,
	      "open() of the absolute symlink fails (errno %d)", errno);

	/* Clean up. */
	const char *names[] = {"abs", "abs_root", "rel",  "in",     "up2",
	                       "etc", "abs_in",   "self", "loop_a", "loop_b"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(name, sizeof name, D "/%s", names[i]);
		(void)__wasi_path_unlink_file(root, name);
	}
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof name, D "/%c%d", 'c', i);
		(void)__wasi_path_unlink_file(root, name);
		if (i < 8) {
			snprintf(name, sizeof name, D "/s%d", i);
			(void)__wasi_path_unlink_file(root, name);
		}
	}
	CHECK_OK(__wasi_path_remove_directory(root, D));
	return check_done("sandbox");
}
