/* readdir - fd_readdir: entries are complete and well-formed, a listing read
 * through small buffers (resuming from the last whole entry's d_next) is the
 * same as one read in one go, and a cookie from the middle resumes there.
 * Also wasi-libc's opendir/readdir/rewinddir/seekdir over the same. */
#include <dirent.h>

#include "check.h"

#define DIR_NAME "readdir.d"
#define NFILES   40
#define HDR      sizeof(__wasi_dirent_t) /* 24 bytes */

struct entry {
	char name[256];
	__wasi_filetype_t type;
	__wasi_dircookie_t next;
};

static struct entry full[NFILES + 16], part[NFILES + 16];

static void file_name(int i, char *out, size_t cap)
{
	/* Names of many lengths, some longer than the small buffers. */
	int len = 1 + (i * 37) % 120;
	snprintf(out, cap, "f%02d_", i);
	size_t l = strlen(out);
	for (int k = (int)l; k < len && k < (int)cap - 1; k++)
		out[k] = (char)('a' + (i + k) % 26);
	out[len > (int)l ? len : (int)l] = '\0';
}

/* read_all: lists DIR with a BUFSIZE buffer, growing it only when a single
 * entry does not fit (as wasi-libc does).  Returns the count, or -1. */
static int read_all(__wasi_fd_t dir, size_t bufsize, struct entry *out, int max, int *calls,
                    __wasi_dircookie_t start)
{
	size_t cap = bufsize;
	uint8_t *buf = malloc(cap);
	__wasi_dircookie_t cookie = start;
	int n = 0;
	*calls = 0;
	for (;;) {
		__wasi_size_t used;
		if (__wasi_fd_readdir(dir, buf, (__wasi_size_t)cap, cookie, &used) != 0 ||
		    used > cap) {
			free(buf);
			return -1;
		}
		++*calls;
		size_t off = 0;
		int whole = 0;
		while (off + HDR <= used) {
			__wasi_dirent_t d;
			memcpy(&d, buf + off, HDR);
			if (off + HDR + d.d_namlen > used)
				break; /* truncated: resume from the previous d_next */
			if (n < max && d.d_namlen < sizeof out[n].name) {
				memcpy(out[n].name, buf + off + HDR, d.d_namlen);
				out[n].name[d.d_namlen] = '\0';
				out[n].type = d.d_type;
				out[n].next = d.d_next;
			}
			n++;
			whole++;
			cookie = d.d_next;
			off += HDR + d.d_namlen;
		}
		if (used < cap)
			break; /* a short read is the end of the directory */
		if (whole == 0) {
			cap *= 2; /* one entry bigger than the buffer */
			buf = realloc(buf, cap);
			if (cap > (1u << 20)) {
				free(buf);
				return -1;
			}
		}
		if (*calls > 10000) {
			free(buf);
			return -1;
		}
	}
	free(buf);
	return n;
}

static int is_dot(const char *name)
{
	return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* same_listing: the non-dot names of A and B, in order, are equal. */
static int same_listing(const struct entry *a, int na, const struct entry *b, int nb)
{
	int i = 0, j = 0;
	for (;;) {
		while (i < na && is_dot(a[i].name))
			i++;
		while (j < nb && is_dot(b[j].name))
			j++;
		if (i == na || j == nb)
			return i == na && j == nb;
		if (strcmp(a[i].name, b[j].name) != 0)
			return 0;
		i++;
		j++;
	}
}

int main(void)
{
	check_init();
	__wasi_fd_t root = sandbox_fd();
	char name[256];

	if (!CHECK_OK(__wasi_path_create_directory(root, DIR_NAME)))
		return check_done("readdir");
	for (int i = 0; i < NFILES; i++) {
		char path[300];
		file_name(i, name, sizeof name);
		snprintf(path, sizeof path, DIR_NAME "/%s", name);
		if (create_file(root, path, "x") != 0)
			check(0, "create %s", path);
	}
	CHECK_OK(__wasi_path_create_directory(root, DIR_NAME "/subdir"));
	__wasi_fd_t dir;
	if (!CHECK_OK(open_at(root, DIR_NAME, __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &dir)))
		return check_done("readdir");

	/* One big buffer. */
	int calls;
	int nfull = read_all(dir, 65536, full, NFILES + 16, &calls, 0);
	check(nfull >= NFILES + 1, "one 64 KiB read: %d entries", nfull);
	int seen[NFILES] = {0}, dots = 0, subdir = 0, types_ok = 1, dup = 0;
	for (int k = 0; k < nfull && k < NFILES + 16; k++) {
		if (is_dot(full[k].name)) {
			dots++;
			if (full[k].type != __WASI_FILETYPE_DIRECTORY)
				types_ok = 0;
			continue;
		}
		if (strcmp(full[k].name, "subdir") == 0) {
			subdir++;
			if (full[k].type != __WASI_FILETYPE_DIRECTORY)
				types_ok = 0;
			continue;
		}
		int idx = atoi(full[k].name + 1);
		file_name(idx, name, sizeof name);
		if (idx >= 0 && idx < NFILES && strcmp(name, full[k].name) == 0) {
			if (seen[idx]++)
				dup = 1;
		} else {
			check(0, "unexpected entry \"%s\"", full[k].name);
		}
		if (full[k].type != __WASI_FILETYPE_REGULAR_FILE)
			types_ok = 0;
	}
	int all = 1;
	for (int i = 0; i < NFILES; i++)
		all &= seen[i] == 1;
	check(all && !dup, "every one of the %d files is listed once", NFILES);
	check(subdir == 1, "the subdirectory is listed once");
	check(dots == 0 || dots == 2, "\".\" and \"..\" both or neither (%d)", dots);
	check(types_ok, "d_type is DIRECTORY for directories and REGULAR_FILE for files");
	int distinct = 1;
	for (int a = 0; a < nfull; a++)
		for (int b = a + 1; b < nfull; b++)
			if (full[a].next == full[b].next)
				distinct = 0;
	check(distinct, "every entry has its own d_next cookie");

	/* Small buffers: the same listing, in the same order. */
	const size_t sizes[] = {HDR, HDR + 1, 37, 64, 100, 128, 256, 1000};
	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		int n = read_all(dir, sizes[s], part, NFILES + 16, &calls, 0);
		check(n == nfull && same_listing(full, nfull, part, n),
		      "a %zu-byte buffer gives the same %d entries in %d calls (got %d)", sizes[s],
		      nfull, calls, n);
	}

	/* Resume from a cookie in the middle. */
	int mid = nfull / 2;
	int n = read_all(dir, 512, part, NFILES + 16, &calls, full[mid - 1].next);
	check(n == nfull - mid && same_listing(full + mid, nfull - mid, part, n),
	      "starting at entry %d's cookie lists the remaining %d entries (got %d)", mid - 1,
	      nfull - mid, n);
	n = read_all(dir, 512, part, NFILES + 16, &calls, full[nfull - 1].next);
	check(n == 0, "the last entry's cookie gives an empty read (%d)", n);

	/* A buffer that holds the header but not the name: bufused == buf_len. */
	uint8_t hb[HDR];
	__wasi_size_t used = 0;
	if (CHECK_OK(__wasi_fd_readdir(dir, hb, HDR, 0, &used)))
		check(used == HDR, "a header-sized buffer is filled completely (%u)",
		      (unsigned)used);

	/* wasi-libc's dirent layer. */
	DIR *d = opendir(SANDBOX "/" DIR_NAME);
	if (check(d != NULL, "opendir")) {
		int count = 0;
		long pos = 0;
		char at_pos[256] = "";
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (is_dot(e->d_name))
				continue;
			if (++count == 10) {
				pos = telldir(d);
				e = readdir(d);
				if (e) {
					snprintf(at_pos, sizeof at_pos, "%s", e->d_name);
					count++;
				}
			}
		}
		check(count == NFILES + 1, "readdir() lists %d entries (%d)", NFILES + 1, count);
		rewinddir(d);
		int again = 0;
		while ((e = readdir(d)) != NULL)
			again += !is_dot(e->d_name);
		check(again == count, "after rewinddir() the same count again (%d)", again);
		seekdir(d, pos);
		e = readdir(d);
		check(e && strcmp(e->d_name, at_pos) == 0,
		      "seekdir(telldir()) returns to the same entry");
		closedir(d);
	}

	/* Changes show up in a new listing. */
	CHECK_OK(__wasi_path_unlink_file(root, DIR_NAME "/f00_"));
	CHECK_OK(create_file(root, DIR_NAME "/added", ""));
	n = read_all(dir, 4096, part, NFILES + 16, &calls, 0);
	int has_added = 0, has_removed = 0;
	for (int k = 0; k < n && k < NFILES + 16; k++) {
		has_added |= strcmp(part[k].name, "added") == 0;
		has_removed |= strcmp(part[k].name, "f00_") == 0;
	}
	check(has_added && !has_removed,
	      "a new listing has the added file and not the removed one");

	/* An empty directory lists at most "." and "..". */
	__wasi_fd_t sd;
	if (CHECK_OK(
	        open_at(root, DIR_NAME "/subdir", __WASI_OFLAGS_DIRECTORY, RIGHTS_DIR, 0, &sd))) {
		n = read_all(sd, 4096, part, NFILES + 16, &calls, 0);
		int others = 0;
		for (int k = 0; k < n; k++)
			others += !is_dot(part[k].name);
		check(n >= 0 && others == 0, "an empty directory lists no entries but dots (%d)",
		      n);
		CHECK_OK(__wasi_fd_close(sd));
	}

	/* Clean up. */
	CHECK_OK(__wasi_fd_close(dir));
	int removed = 0;
	for (int i = 1; i < NFILES; i++) {
		char path[300];
		file_name(i, name, sizeof name);
		snprintf(path, sizeof path, DIR_NAME "/%s", name);
		removed += __wasi_path_unlink_file(root, path) == 0;
	}
	check(removed == NFILES - 1, "removed the files (%d)", removed);
	CHECK_OK(__wasi_path_unlink_file(root, DIR_NAME "/added"));
	CHECK_OK(__wasi_path_remove_directory(root, DIR_NAME "/subdir"));
	CHECK_OK(__wasi_path_remove_directory(root, DIR_NAME));
	return check_done("readdir");
}
