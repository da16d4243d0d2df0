/* listdir.h - shared by ls and tree: the sorted entries of a directory,
 * without "." and "..", and a path joiner.  Sorting makes the output the
 * same whatever order the file system returns entries in. */
#ifndef LISTDIR_H
#define LISTDIR_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_dir: returns a malloc'ed, sorted array of malloc'ed names and stores
 * its length in *count; NULL with errno set on failure. */
static char **list_dir(const char *path, size_t *count)
{
	DIR *d = opendir(path);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			char **grown = realloc(names, cap * sizeof *names);
			if (!grown)
				goto fail;
			names = grown;
		}
		if (!(names[n] = strdup(e->d_name)))
			goto fail;
		n++;
		errno = 0;
	}
	if (errno != 0)
		goto fail;
	closedir(d);
	qsort(names, n, sizeof *names, cmp_names);
	*count = n;
	return names ? names : calloc(1, sizeof *names);
fail:;
	int saved = errno;
	while (n > 0)
		free(names[--n]);
	free(names);
	closedir(d);
	errno = saved;
	return NULL;
}

static void free_list(char **names, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(names[i]);
	free(names);
}

/* join: "dir" + "/" + "name" in a malloc'ed string (no doubled slash). */
static char *join(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	int slash = dl > 0 && dir[dl - 1] != '/';
	char *p = malloc(dl + slash + nl + 1);
	if (!p) {
		perror("malloc");
		exit(1);
	}
	memcpy(p, dir, dl);
	if (slash)
		p[dl] = '/';
	memcpy(p + dl + slash, name, nl + 1);
	return p;
}

#endif
