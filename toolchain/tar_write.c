/*
 * tar_write.c - writes a directory tree as a POSIX ustar archive.
 *
 * The tree is listed first, sorted, and sized, so the archive is one
 * allocation and the same tree always gives the same bytes.  Plain ustar
 * (no pax headers) is all the guest's tar reader needs; what ustar cannot
 * express is refused with a reason rather than stored wrongly.
 */
#include "tar_write.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BLOCK           512
#define NAME_FIELD      100
#define PREFIX_FIELD    155
#define MAX_PATH_STORED (PREFIX_FIELD + 1 + NAME_FIELD)
#define MAX_OCTAL_11    077777777777ull /* largest value in an 11-digit octal field */

struct tar_entry {
	char *path; /* relative to the root; directories end in '/' */
	struct stat st;
	char link_target[NAME_FIELD + 1];
};

struct tar_walk {
	const char *root;
	struct tar_entry *entries;
	size_t count;
	size_t cap;
	char *err;
	size_t errlen;
};

/* a + '/' + b, without doubling a trailing slash of a. */
static char *join_path(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *p = malloc(la + lb + 2);
	if (!p)
		return NULL;
	memcpy(p, a, la);
	size_t n = la;
	if (la && lb && a[la - 1] != '/')
		p[n++] = '/';
	memcpy(p + n, b, lb + 1);
	return p;
}

/* A path for a one-line message: control bytes become \xNN. */
static void printable_path(const char *path, char *out, size_t outlen)
{
	size_t used = 0;
	for (; *path && used + 5 < outlen; path++) {
		unsigned char c = (unsigned char)*path;
		if (c < 0x20 || c == 0x7f)
			used += (size_t)snprintf(out + used, outlen - used, "\\x%02x", c);
		else
			out[used++] = (char)c;
	}
	out[used] = '\0';
}

__attribute__((format(printf, 3, 4))) static int walk_fail(struct tar_walk *w, const char *rel,
                                                           const char *fmt, ...)
{
	char shown[1024], msg[256];
	char *full = rel && *rel ? join_path(w->root, rel) : NULL;
	printable_path(full ? full : w->root, shown, sizeof(shown));
	free(full);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(w->err, w->errlen, "%s: %s", shown, msg);
	return -1;
}

static int add_entry(struct tar_walk *w, const char *rel, const struct stat *st)
{
	if (w->count == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct tar_entry *grown = realloc(w->entries, cap * sizeof(*grown));
		if (!grown)
			return walk_fail(w, rel, "out of memory");
		w->entries = grown;
		w->cap = cap;
	}
	size_t len = strlen(rel);
	int is_dir = S_ISDIR(st->st_mode);
	struct tar_entry *e = &w->entries[w->count];
	memset(e, 0, sizeof(*e));
	e->path = malloc(len + 2);
	if (!e->path)
		return walk_fail(w, rel, "out of memory");
	memcpy(e->path, rel, len);
	if (is_dir)
		e->path[len++] = '/';
	e->path[len] = '\0';
	e->st = *st;
	w->count++;
	return 0;
}

static int walk_dir(struct tar_walk *w, const char *rel);

/* Lists one directory entry, and everything below it if it is a directory. */
static int add_child(struct tar_walk *w, const char *rel, const char *full)
{
	struct stat st;
	/* Stop before descending: the tree below a too-long path cannot be stored. */
	if (strlen(rel) + 1 > MAX_PATH_STORED)
		return walk_fail(w, rel, "path too long for a tar archive (%zu bytes, at most %d)",
		                 strlen(rel), MAX_PATH_STORED);
	if (lstat(full, &st) != 0)
		return walk_fail(w, rel, "%s", strerror(errno));
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
		return walk_fail(w, rel,
		                 "not a directory, regular file or symbolic link, so it cannot be "
		                 "archived");
	if (add_entry(w, rel, &st))
		return -1;
	return S_ISDIR(st.st_mode) ? walk_dir(w, rel) : 0;
}

static int walk_dir(struct tar_walk *w, const char *rel)
{
	char *full = *rel ? join_path(w->root, rel) : strdup(w->root);
	if (!full)
		return walk_fail(w, rel, "out of memory");
	DIR *d = opendir(full);
	if (!d) {
		int e = errno;
		free(full);
		return walk_fail(w, rel, "cannot open directory: %s", strerror(e));
	}
	int rc = 0;
	struct dirent *de;
	for (errno = 0; (de = readdir(d)) != NULL; errno = 0) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		char *child_rel = *rel ? join_path(rel, de->d_name) : strdup(de->d_name);
		char *child_full = child_rel ? join_path(w->root, child_rel) : NULL;
		if (!child_full) {
			free(child_rel);
			rc = walk_fail(w, rel, "out of memory");
			break;
		}
		rc = add_child(w, child_rel, child_full);
		free(child_rel);
		free(child_full);
		if (rc)
			break;
	}
	if (rc == 0 && errno)
		rc = walk_fail(w, rel, "cannot read directory: %s", strerror(errno));
	closedir(d);
	free(full);
	return rc;
}

static int entry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tar_entry *)a)->path, ((const struct tar_entry *)b)->path);
}

/* Writes value as zero-padded octal filling width-1 digits and a NUL. */
static void put_octal(uint8_t *field, size_t width, unsigned long long value)
{
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0;) {
		field[i] = (uint8_t)('0' + (value & 7));
		value >>= 3;
	}
}

/* Splits path into ustar prefix and name; -1 if no split fits. */
static int split_path(const char *path, size_t *prefix_len)
{
	size_t len = strlen(path);
	if (len <= NAME_FIELD) {
		*prefix_len = 0;
		return 0;
	}
	/* The shortest prefix that leaves a name of at most 100 bytes, not ending at
	 * a directory's own trailing slash. */
	for (size_t i = 0; i + 1 < len; i++) {
		if (path[i] != '/')
			continue;
		if (len - i - 1 <= NAME_FIELD && i > 0) {
			if (i > PREFIX_FIELD)
				return -1;
			*prefix_len = i;
			return 0;
		}
	}
	return -1;
}

static int write_header(struct tar_walk *w, const struct tar_entry *e, uint8_t *h)
{
	size_t prefix_len;
	if (split_path(e->path, &prefix_len))
		return walk_fail(w, e->path, "path too long for a tar archive (%zu bytes)",
		                 strlen(e->path));
	memset(h, 0, BLOCK);
	const char *name = e->path + (prefix_len ? prefix_len + 1 : 0);
	memcpy(h, name, strlen(name));
	memcpy(h + 345, e->path, prefix_len);
	put_octal(h + 100, 8, e->st.st_mode & 07777);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	unsigned long long size = S_ISREG(e->st.st_mode) ? (unsigned long long)e->st.st_size : 0;
	put_octal(h + 124, 12, size);
	long long mtime = (long long)e->st.st_mtime;
	if (mtime < 0)
		mtime = 0;
	if ((unsigned long long)mtime > MAX_OCTAL_11)
		mtime = (long long)MAX_OCTAL_11;
	put_octal(h + 136, 12, (unsigned long long)mtime);
	h[156] = S_ISDIR(e->st.st_mode) ? '5' : S_ISLNK(e->st.st_mode) ? '2' : '0';
	memcpy(h + 157, e->link_target, strlen(e->link_target));
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	/* The checksum is computed with its own field read as eight spaces. */
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < BLOCK; i++)
		sum += h[i];
	put_octal(h + 148, 7, sum);
	h[155] = ' ';
	return 0;
}

/* Reads exactly size bytes of a regular file, refusing one that changed. */
static int read_file(struct tar_walk *w, const struct tar_entry *e, uint8_t *dst)
{
	char *full = join_path(w->root, e->path);
	if (!full)
		return walk_fail(w, e->path, "out of memory");
	int fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	free(full);
	if (fd < 0)
		return walk_fail(w, e->path, "%s", strerror(errno));
	size_t want = (size_t)e->st.st_size, got = 0;
	while (got < want) {
		ssize_t n = read(fd, dst + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			close(fd);
			return walk_fail(w, e->path, "read failed: %s", strerror(err));
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	uint8_t extra;
	ssize_t more = got == want ? read(fd, &extra, 1) : 0;
	close(fd);
	if (got != want || more > 0)
		return walk_fail(w, e->path, "file changed while it was being archived");
	return 0;
}

static void free_entries(struct tar_walk *w)
{
	for (size_t i = 0; i < w->count; i++)
		free(w->entries[i].path);
	free(w->entries);
}

static int read_links_and_size(struct tar_walk *w, size_t *total)
{
	size_t bytes = 2 * BLOCK; /* the end-of-archive marker */
	for (size_t i = 0; i < w->count; i++) {
		struct tar_entry *e = &w->entries[i];
		if (S_ISLNK(e->st.st_mode)) {
			char *full = join_path(w->root, e->path);
			if (!full)
				return walk_fail(w, e->path, "out of memory");
			ssize_t n = readlink(full, e->link_target, sizeof(e->link_target));
			int err = errno;
			free(full);
			if (n < 0)
				return walk_fail(w, e->path, "cannot read link: %s", strerror(err));
			if ((size_t)n > NAME_FIELD)
				return walk_fail(
				    w, e->path,
				    "symbolic link target longer than %d bytes cannot be "
				    "archived",
				    NAME_FIELD);
			e->link_target[n] = '\0';
		}
		if (S_ISREG(e->st.st_mode)) {
			if ((unsigned long long)e->st.st_size > MAX_OCTAL_11)
				return walk_fail(w, e->path,
				                 "file larger than 8 GiB cannot be archived");
			size_t padded = ((size_t)e->st.st_size + BLOCK - 1) / BLOCK * BLOCK;
			if (bytes > SIZE_MAX - padded - BLOCK)
				return walk_fail(w, NULL, "archive too large");
			bytes += padded;
		}
		bytes += BLOCK;
	}
	*total = bytes;
	return 0;
}

int tar_from_dir(const char *dir, uint8_t **out, size_t *out_len, char *err, size_t errlen)
{
	struct tar_walk w = {.root = dir, .err = err, .errlen = errlen};
	struct stat root_st;
	*out = NULL;
	*out_len = 0;
	if (stat(dir, &root_st) != 0)
		return walk_fail(&w, NULL, "%s", strerror(errno));
	if (!S_ISDIR(root_st.st_mode))
		return walk_fail(&w, NULL, "not a directory");
	size_t total = 0;
	uint8_t *archive = NULL;
	if (walk_dir(&w, ""))
		goto fail;
	if (w.count)
		qsort(w.entries, w.count, sizeof(*w.entries), entry_cmp);
	if (read_links_and_size(&w, &total))
		goto fail;
	archive = calloc(1, total);
	if (!archive) {
		walk_fail(&w, NULL, "out of memory for a %zu-byte archive", total);
		goto fail;
	}
	size_t pos = 0;
	for (size_t i = 0; i < w.count; i++) {
		const struct tar_entry *e = &w.entries[i];
		if (write_header(&w, e, archive + pos))
			goto fail;
		pos += BLOCK;
		if (S_ISREG(e->st.st_mode)) {
			if (read_file(&w, e, archive + pos))
				goto fail;
			pos += ((size_t)e->st.st_size + BLOCK - 1) / BLOCK * BLOCK;
		}
	}
	free_entries(&w);
	*out = archive;
	*out_len = total;
	return 0;
fail:
	free(archive);
	free_entries(&w);
	return -1;
}
