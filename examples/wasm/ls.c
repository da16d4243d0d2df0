/* ls - lists a directory: ls [-l] [DIR|FILE]...  Entries are sorted by name;
 * directories get a trailing '/'.  With -l each line is
 *   TYPE SIZE NAME[ -> TARGET]
 * where TYPE is d (directory), - (file), l (symlink) or ? and SIZE is "-"
 * for directories, whose size means nothing portable.  No mode, owner or
 * time: WASI has no permission bits, and the output should be the same on
 * every runtime. */
#include <sys/stat.h>
#include <unistd.h>

#include "listdir.h"

static int long_format;

static char type_char(mode_t m)
{
	if (S_ISDIR(m))
		return 'd';
	if (S_ISREG(m))
		return '-';
	if (S_ISLNK(m))
		return 'l';
	if (S_ISCHR(m))
		return 'c';
	if (S_ISBLK(m))
		return 'b';
	if (S_ISSOCK(m))
		return 's';
	return '?';
}

/* show: prints one entry; PATH is where it is, NAME how to call it. */
static int show(const char *path, const char *name)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
		return -1;
	}
	const char *suffix = S_ISDIR(st.st_mode) ? "/" : "";
	if (!long_format) {
		printf("%s%s\n", name, suffix);
		return 0;
	}
	char size[32] = "-";
	if (!S_ISDIR(st.st_mode))
		snprintf(size, sizeof size, "%lld", (long long)st.st_size);
	printf("%c %10s %s%s", type_char(st.st_mode), size, name, suffix);
	if (S_ISLNK(st.st_mode)) {
		char target[1024];
		ssize_t n = readlink(path, target, sizeof target - 1);
		if (n >= 0) {
			target[n] = '\0';
			printf(" -> %s", target);
		}
	}
	printf("\n");
	return 0;
}

static int list(const char *path, int header)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return show(path, path);
	size_t n;
	char **names = list_dir(path, &n);
	if (!names) {
		fprintf(stderr, "ls: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (header)
		printf("%s:\n", path);
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		char *p = join(path, names[i]);
		if (show(p, names[i]) < 0)
			status = -1;
		free(p);
	}
	free_list(names, n);
	return status;
}

int main(int argc, char **argv)
{
	int first = 1;
	if (first < argc && strcmp(argv[first], "-l") == 0) {
		long_format = 1;
		first++;
	}
	if (first == argc)
		return list(".", 0) < 0;
	int status = 0;
	for (int i = first; i < argc; i++) {
		if (i > first)
			printf("\n");
		if (list(argv[i], argc - first > 1) < 0)
			status = 1;
	}
	return status;
}
