/* tree - recursive listing of a directory, like tree(1): tree [DIR]
 * Entries are sorted; symlinks are shown with their target and not
 * followed.  Ends with "N directories, M files" (symlinks count as files). */
#include <sys/stat.h>
#include <unistd.h>

#include "listdir.h"

static unsigned long ndirs, nfiles;
static int status;

/* walk: prints the entries of PATH; PREFIX is the indentation drawn so far. */
static void walk(const char *path, const char *prefix)
{
	size_t n;
	char **names = list_dir(path, &n);
	if (!names) {
		printf("%s`-- [error opening dir: %s]\n", prefix, strerror(errno));
		status = 1;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		int last = i + 1 == n;
		char *p = join(path, names[i]);
		struct stat st;
		if (lstat(p, &st) < 0) {
			printf("%s%s %s [%s]\n", prefix, last ? "`--" : "|--", names[i],
			       strerror(errno));
			status = 1;
			free(p);
			continue;
		}
		printf("%s%s %s", prefix, last ? "`--" : "|--", names[i]);
		if (S_ISLNK(st.st_mode)) {
			char target[1024];
			ssize_t len = readlink(p, target, sizeof target - 1);
			if (len >= 0) {
				target[len] = '\0';
				printf(" -> %s", target);
			}
		}
		printf("\n");
		if (S_ISDIR(st.st_mode)) {
			ndirs++;
			size_t pl = strlen(prefix);
			char *sub = malloc(pl + 5);
			if (!sub) {
				perror("malloc");
				exit(1);
			}
			memcpy(sub, prefix, pl);
			memcpy(sub + pl, last ? "    " : "|   ", 5);
			walk(p, sub);
			free(sub);
		} else {
			nfiles++;
		}
		free(p);
	}
	free_list(names, n);
}

int main(int argc, char **argv)
{
	const char *root = argc > 1 ? argv[1] : ".";
	struct stat st;
	errno = 0;
	if (stat(root, &st) < 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "tree: %s: %s\n", root,
		        errno ? strerror(errno) : "not a directory");
		return 1;
	}
	printf("%s\n", root);
	walk(root, "");
	printf("\n%lu director%s, %lu file%s\n", ndirs, ndirs == 1 ? "y" : "ies", nfiles,
	       nfiles == 1 ? "" : "s");
	return status;
}
