/* writefile - exercises writing to a file system: writefile DIR
 * Under DIR it creates a directory, writes files, reads them back, appends,
 * truncates, renames, lists, deletes, and prints one "ok ..." or "FAIL ..."
 * line per step.  Exits 0 only if every check held.  Leaves DIR as it was. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;

static void check(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%s ", ok ? "ok  " : "FAIL");
	vprintf(fmt, ap);
	if (!ok && errno)
		printf(" (errno: %s)", strerror(errno));
	printf("\n");
	va_end(ap);
	if (!ok)
		failures++;
}

static char path_buf[4][512];

/* P: DIR/wf/NAME in one of four rotating buffers. */
static const char *P(const char *dir, const char *name)
{
	static int next;
	char *b = path_buf[next++ % 4];
	snprintf(b, sizeof path_buf[0], "%s/writefile.d%s%s", dir, *name ? "/" : "", name);
	return b;
}

static int write_file(const char *path, const char *data, size_t len, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		return -1;
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, data + done, len - done);
		if (w <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)w;
	}
	return close(fd);
}

/* read_file: the whole file into buf (NUL-terminated); length or -1. */
static ssize_t read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	size_t got = 0;
	for (;;) {
		ssize_t r = read(fd, buf + got, cap - 1 - got);
		if (r < 0) {
			close(fd);
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got == cap - 1)
			break;
	}
	buf[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static int count_entries(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: writefile DIR\n");
		return 2;
	}
	const char *dir = argv[1];
	static char buf[256 * 1024];
	static char big[200 * 1024];
	const char *msg = "hello, file system\n";
	struct stat st;

	errno = 0;
	check(mkdir(P(dir, ""), 0755) == 0, "mkdir %s", P(dir, ""));
	errno = 0;
	check(stat(P(dir, ""), &st) == 0 && S_ISDIR(st.st_mode), "new directory is a directory");

	errno = 0;
	check(write_file(P(dir, "a.txt"), msg, strlen(msg), O_TRUNC) == 0, "write a.txt");
	errno = 0;
	ssize_t n = read_file(P(dir, "a.txt"), buf, sizeof buf);
	check(n == (ssize_t)strlen(msg) && strcmp(buf, msg) == 0, "read a.txt back (%zd bytes)", n);
	errno = 0;
	check(stat(P(dir, "a.txt"), &st) == 0 && st.st_size == (off_t)strlen(msg),
	      "stat a.txt: size %lld", (long long)st.st_size);

	errno = 0;
	check(write_file(P(dir, "a.txt"), "more\n", 5, O_APPEND) == 0, "append to a.txt");
	n = read_file(P(dir, "a.txt"), buf, sizeof buf);
	check(n == (ssize_t)strlen(msg) + 5 && strncmp(buf, msg, strlen(msg)) == 0 &&
	          strcmp(buf + strlen(msg), "more\n") == 0,
	      "a.txt holds both writes (%zd bytes)", n);

	errno = 0;
	check(write_file(P(dir, "a.txt"), "new\n", 4, O_TRUNC) == 0, "rewrite a.txt with O_TRUNC");
	n = read_file(P(dir, "a.txt"), buf, sizeof buf);
	check(n == 4 && strcmp(buf, "new\n") == 0, "a.txt was truncated (%zd bytes)", n);

	/* A larger file, written in one go and read back in pieces. */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (char)('a' + (i * 7 + i / 1000) % 26);
	errno = 0;
	check(write_file(P(dir, "big.bin"), big, sizeof big, O_TRUNC) == 0,
	      "write big.bin (%zu bytes)", sizeof big);
	n = read_file(P(dir, "big.bin"), buf, sizeof buf);
	check(n == (ssize_t)sizeof big && memcmp(buf, big, sizeof big) == 0,
	      "big.bin reads back equal");

	errno = 0;
	check(rename(P(dir, "a.txt"), P(dir, "b.txt")) == 0, "rename a.txt -> b.txt");
	check(!exists(P(dir, "a.txt")), "a.txt is gone");
	n = read_file(P(dir, "b.txt"), buf, sizeof buf);
	check(n == 4 && strcmp(buf, "new\n") == 0, "b.txt has a.txt's contents");

	errno = 0;
	check(mkdir(P(dir, "sub"), 0755) == 0, "mkdir sub");
	errno = 0;
	check(rename(P(dir, "b.txt"), P(dir, "sub/c.txt")) == 0, "move b.txt into sub/c.txt");
	check(count_entries(P(dir, "")) == 2, "directory holds big.bin and sub (%d entries)",
	      count_entries(P(dir, "")));
	check(count_entries(P(dir, "sub")) == 1, "sub holds c.txt");

	errno = 0;
	check(rmdir(P(dir, "sub")) < 0 && errno == ENOTEMPTY,
	      "rmdir of a non-empty directory fails");
	errno = 0;
	check(unlink(P(dir, "sub/c.txt")) == 0, "unlink sub/c.txt");
	errno = 0;
	check(rmdir(P(dir, "sub")) == 0, "rmdir sub");
	errno = 0;
	check(unlink(P(dir, "big.bin")) == 0, "unlink big.bin");
	errno = 0;
	check(open(P(dir, "big.bin"), O_RDONLY) < 0 && errno == ENOENT, "big.bin no longer opens");
	check(count_entries(P(dir, "")) == 0, "directory is empty");
	errno = 0;
	check(rmdir(P(dir, "")) == 0, "rmdir %s", P(dir, ""));
	check(!exists(P(dir, "")), "directory is gone");

	printf("writefile: %s\n", failures ? "FAILED" : "all checks passed");
	return failures ? 1 : 0;
}
