/*
 * test_wasi_vfs.c - host unit tests of the guest's tar reader (tar.c) and
 * in-memory file system (vfs.c, vfs_tar.c), under ASan+UBSan.
 *
 * Archives are built two ways: byte by byte in memory, to control every
 * field (and to break them), and with the host's tar command in each of
 * its formats (gnu, ustar, pax), to read what real tools write.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "tar.h"
#include "vfs.h"

/* An archive under construction, in memory. */
struct tarbuf {
	uint8_t *data;
	size_t size;
};

static uint8_t *tarbuf_grow(struct tarbuf *tb, size_t n)
{
	tb->data = realloc(tb->data, tb->size + n);
	memset(tb->data + tb->size, 0, n);
	uint8_t *at = tb->data + tb->size;
	tb->size += n;
	return at;
}

static void put_octal(uint8_t *field, size_t width, uint64_t value)
{
	snprintf((char *)field, width, "%0*llo", (int)width - 1, (unsigned long long)value);
}

static void set_checksum(uint8_t *header)
{
	memset(header + 148, ' ', 8);
	unsigned sum = 0;
	for (int i = 0; i < 512; i++)
		sum += header[i];
	snprintf((char *)header + 148, 8, "%06o", sum);
	header[155] = ' ';
}

enum magic { MAGIC_POSIX, MAGIC_GNU, MAGIC_NONE };

/* Appends one entry; name may be up to 100 bytes, prefix up to 155. */
static uint8_t *add_raw(struct tarbuf *tb, enum magic magic, const char *prefix, const char *name,
                        char type, const void *data, size_t size, const char *link)
{
	uint8_t *h = tarbuf_grow(tb, 512);
	memcpy(h, name, strnlen(name, 100));
	put_octal(h + 100, 8, 0644);
	put_octal(h + 108, 8, 0);
	put_octal(h + 116, 8, 0);
	put_octal(h + 124, 12, size);
	put_octal(h + 136, 12, 1700000000);
	h[156] = (uint8_t)type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	if (magic == MAGIC_POSIX)
		memcpy(h + 257,
		       "ustar\0"
		       "00",
		       8);
	else if (magic == MAGIC_GNU)
		memcpy(h + 257, "ustar  ", 8);
	if (prefix)
		memcpy(h + 345, prefix, strnlen(prefix, 155));
	set_checksum(h);
	size_t header_offset = (size_t)(h - tb->data);
	if (size) {
		uint8_t *d = tarbuf_grow(tb, (size + 511) / 512 * 512);
		memcpy(d, data, size);
	}
	return tb->data + header_offset;
}

static void add_file(struct tarbuf *tb, const char *name, const char *content)
{
	add_raw(tb, MAGIC_POSIX, NULL, name, '0', content, strlen(content), NULL);
}

static void add_dir(struct tarbuf *tb, const char *name)
{
	add_raw(tb, MAGIC_POSIX, NULL, name, '5', NULL, 0, NULL);
}

static void add_symlink(struct tarbuf *tb, const char *name, const char *target)
{
	add_raw(tb, MAGIC_POSIX, NULL, name, '2', NULL, 0, target);
}

static void add_end(struct tarbuf *tb)
{
	tarbuf_grow(tb, 1024);
}

static uint64_t fake_clock_ns = 5000000000ull;

static uint64_t fake_clock(void)
{
	return fake_clock_ns;
}

/* A file system loaded from tb; NULL (and a failed check) if that failed. */
static struct vfs *load(const struct tarbuf *tb)
{
	struct vfs *fs = vfs_create(1, fake_clock);
	char error[128] = "";
	if (vfs_load_tar(fs, tb->data, tb->size, error, sizeof(error), NULL) != 0) {
		printf("    load failed: %s\n", error);
		vfs_destroy(fs);
		return NULL;
	}
	return fs;
}

/* Reads the whole file at path into buf (NUL-terminated); the length or -errno. */
static long slurp(struct vfs_node *dir, const char *path, char *buf, size_t cap)
{
	struct vfs_node *node;
	int error = vfs_open(dir, path, strlen(path), WASI_LOOKUP_SYMLINK_FOLLOW, 0, 0, &node);
	if (error)
		return -error;
	size_t n = vfs_read(node, 0, buf, cap - 1);
	buf[n] = 0;
	vfs_release(node);
	return (long)n;
}

static int stat_of(struct vfs_node *dir, const char *path, unsigned follow, struct vfs_stat *st)
{
	return vfs_stat_path(dir, path, strlen(path), follow, st);
}

static int type_of(struct vfs_node *dir, const char *path)
{
	struct vfs_stat st;
	int error = stat_of(dir, path, 0, &st);
	return error ? -error : st.filetype;
}

/* Opens a directory below dir, as the WASI layer would for path_open. */
static struct vfs_node *open_dir(struct vfs_node *dir, const char *path)
{
	struct vfs_node *node = NULL;
	int error = vfs_open(dir, path, strlen(path), WASI_LOOKUP_SYMLINK_FOLLOW,
	                     WASI_OFLAG_DIRECTORY, 0, &node);
	return error ? NULL : node;
}

static int write_file(struct vfs_node *dir, const char *path, const char *content)
{
	struct vfs_node *node;
	int error = vfs_open(dir, path, strlen(path), WASI_LOOKUP_SYMLINK_FOLLOW,
	                     WASI_OFLAG_CREAT | WASI_OFLAG_TRUNC, 1, &node);
	if (error)
		return error;
	error = vfs_write(node, 0, content, strlen(content));
	vfs_release(node);
	return error;
}

#define S(str) str, strlen(str)

/* tar reader */

static void test_tar_basic_entries(void)
{
	struct tarbuf tb = {0};
	add_dir(&tb, "dir/");
	add_file(&tb, "dir/a.txt", "alpha");
	add_symlink(&tb, "dir/link", "a.txt");
	add_raw(&tb, MAGIC_POSIX, NULL, "dir/hard", '1', NULL, 0, "dir/a.txt");
	add_raw(&tb, MAGIC_POSIX, NULL, "fifo", '6', NULL, 0, NULL);
	add_end(&tb);

	struct tar_reader r;
	struct tar_entry e;
	tar_reader_init(&r, tb.data, tb.size);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_DIR);
	CHECK(e.name_len == 4 && memcmp(e.name, "dir/", 4) == 0);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_FILE);
	CHECK(e.size == 5 && memcmp(e.data, "alpha", 5) == 0);
	CHECK(e.data == tb.data + 1024); /* in place, not copied */
	CHECK(e.mtime == 1700000000 && e.mode == 0644);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_SYMLINK);
	CHECK(e.link_len == 5 && memcmp(e.link, "a.txt", 5) == 0);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_HARDLINK);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_OTHER && e.raw_type == '6');
	CHECK(tar_next(&r, &e) == TAR_END);
	CHECK(tar_next(&r, &e) == TAR_END);
	free(tb.data);
}

static void test_tar_long_names(void)
{
	char long_name[300];
	memset(long_name, 'n', sizeof(long_name));
	memcpy(long_name + 150, "/", 1);
	long_name[299] = 0;

	struct tarbuf tb = {0};
	/* ustar: prefix + '/' + name */
	add_raw(&tb, MAGIC_POSIX, "some/prefix/dir", "file.txt", '0', "x", 1, NULL);
	/* GNU: the prefix area is not a prefix and must be ignored */
	add_raw(&tb, MAGIC_GNU, "junk-not-a-prefix", "gnu.txt", '0', "y", 1, NULL);
	/* GNU 'L' and 'K' records carry the next entry's name and target */
	add_raw(&tb, MAGIC_GNU, NULL, "././@LongLink", 'L', long_name, strlen(long_name) + 1, NULL);
	add_raw(&tb, MAGIC_GNU, NULL, "././@LongLink", 'K', long_name, strlen(long_name), NULL);
	add_raw(&tb, MAGIC_GNU, NULL, "truncated-name", '2', NULL, 0, "truncated-target");
	/* pax 'x' records */
	const char *pax = "20 path=pax/a/b.txt\n";
	add_raw(&tb, MAGIC_POSIX, NULL, "PaxHeaders/b.txt", 'x', pax, strlen(pax), NULL);
	add_raw(&tb, MAGIC_POSIX, NULL, "b.txt", '0', "zz", 2, NULL);
	add_end(&tb);

	struct tar_reader r;
	struct tar_entry e;
	tar_reader_init(&r, tb.data, tb.size);
	CHECK(tar_next(&r, &e) == TAR_ENTRY);
	CHECK(e.name_len == strlen("some/prefix/dir/file.txt") &&
	      memcmp(e.name, "some/prefix/dir/file.txt", e.name_len) == 0);
	CHECK(tar_next(&r, &e) == TAR_ENTRY);
	CHECK(e.name_len == 7 && memcmp(e.name, "gnu.txt", 7) == 0);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.type == TAR_SYMLINK);
	CHECK(e.name_len == strlen(long_name) && memcmp(e.name, long_name, e.name_len) == 0);
	CHECK(e.link_len == strlen(long_name) && memcmp(e.link, long_name, e.link_len) == 0);
	CHECK(tar_next(&r, &e) == TAR_ENTRY);
	CHECK(e.name_len == 11 && memcmp(e.name, "pax/a/b.txt", 11) == 0);
	CHECK(e.size == 2);
	CHECK(tar_next(&r, &e) == TAR_END);
	free(tb.data);
}

static void test_tar_end_forms(void)
{
	struct tar_reader r;
	struct tar_entry e;
	tar_reader_init(&r, "", 0);
	CHECK(tar_next(&r, &e) == TAR_END); /* empty archive: empty directory */

	struct tarbuf tb = {0};
	add_file(&tb, "a", "1");
	tar_reader_init(&r, tb.data, tb.size); /* no end-of-archive blocks */
	CHECK(tar_next(&r, &e) == TAR_ENTRY);
	CHECK(tar_next(&r, &e) == TAR_END);

	/* A file's last block may lack its padding at the very end. */
	tar_reader_init(&r, tb.data, 512 + 1);
	CHECK(tar_next(&r, &e) == TAR_ENTRY && e.size == 1);
	CHECK(tar_next(&r, &e) == TAR_END);
	free(tb.data);
}

/* Every step reading a damaged archive must end in TAR_END or TAR_ERROR. */
static int drain(const void *archive, size_t size, char *error, size_t cap)
{
	struct tar_reader r;
	struct tar_entry e;
	tar_reader_init(&r, archive, size);
	for (int i = 0; i < 10000; i++) {
		int status = tar_next(&r, &e);
		if (status == TAR_ENTRY) {
			/* touch what the entry points at: ASan checks the bounds */
			volatile uint8_t sink = 0;
			for (size_t k = 0; k < e.name_len; k++)
				sink ^= (uint8_t)e.name[k];
			for (size_t k = 0; k < e.link_len; k++)
				sink ^= (uint8_t)e.link[k];
			if (e.size)
				sink ^= e.data[0] ^ e.data[e.size - 1];
			(void)sink;
			continue;
		}
		if (error)
			snprintf(error, cap, "%s", r.error);
		return status;
	}
	return 99;
}

static void test_tar_corrupt(void)
{
	struct tarbuf tb = {0};
	add_file(&tb, "a.txt", "hello");
	add_end(&tb);
	char error[128];
	uint8_t *copy = malloc(tb.size);

	memcpy(copy, tb.data, tb.size);
	copy[0] ^= 1; /* name changed, checksum not */
	CHECK(drain(copy, tb.size, error, sizeof(error)) == TAR_ERROR);
	CHECK_CONTAINS(error, "checksum");

	memcpy(copy, tb.data, tb.size);
	memcpy(copy + 124, "00000000x00", 11); /* size with a bad digit */
	set_checksum(copy);
	CHECK(drain(copy, tb.size, error, sizeof(error)) == TAR_ERROR);
	CHECK_CONTAINS(error, "size");

	memcpy(copy, tb.data, tb.size);
	put_octal(copy + 124, 12, 077777777777ull); /* more data than the archive holds */
	set_checksum(copy);
	CHECK(drain(copy, tb.size, error, sizeof(error)) == TAR_ERROR);
	CHECK_CONTAINS(error, "truncated");

	memcpy(copy, tb.data, tb.size);
	memset(copy + 124, 0, 12);
	copy[124] = 0x80; /* base-256 size far beyond the archive */
	copy[130] = 0x7f;
	set_checksum(copy);
	CHECK(drain(copy, tb.size, error, sizeof(error)) == TAR_ERROR);
	copy[124] = 0xff; /* negative base-256 */
	set_checksum(copy);
	CHECK(drain(copy, tb.size, error, sizeof(error)) == TAR_ERROR);

	CHECK(drain(tb.data, 300, error, sizeof(error)) == TAR_ERROR); /* cut in the header */
	CHECK_CONTAINS(error, "truncated header");
	CHECK(drain(tb.data, 512 + 3, error, sizeof(error)) == TAR_ERROR); /* cut in the data */
	CHECK_CONTAINS(error, "truncated data");

	/* Broken pax records: length past the data, too short, missing, no '=', no newline. */
	const char *bad_pax[] = {"99 path=x\n", "5 path=x\n", "x path=x\n", "10 pathxy\n",
	                         "11 path=xyz"};
	for (size_t i = 0; i < sizeof(bad_pax) / sizeof(bad_pax[0]); i++) {
		struct tarbuf pb = {0};
		add_raw(&pb, MAGIC_POSIX, NULL, "p", 'x', bad_pax[i], strlen(bad_pax[i]), NULL);
		add_file(&pb, "f", "1");
		add_end(&pb);
		CHECK(drain(pb.data, pb.size, error, sizeof(error)) == TAR_ERROR);
		CHECK_CONTAINS(error, "pax");
		free(pb.data);
	}

	/* A GNU long name larger than any sane path is refused. */
	struct tarbuf big = {0};
	size_t huge = (1u << 20) + 1;
	char *name = calloc(1, huge);
	memset(name, 'a', huge - 1);
	add_raw(&big, MAGIC_GNU, NULL, "././@LongLink", 'L', name, huge, NULL);
	add_end(&big);
	CHECK(drain(big.data, big.size, error, sizeof(error)) == TAR_ERROR);
	free(name);
	free(big.data);
	free(copy);
	free(tb.data);
}

/* Cutting a valid archive anywhere or flipping any byte never reads out of bounds. */
static void test_tar_truncations_and_bit_flips(void)
{
	struct tarbuf tb = {0};
	add_dir(&tb, "d/");
	add_file(&tb, "d/f", "0123456789");
	char long_name[200];
	memset(long_name, 'q', sizeof(long_name) - 1);
	long_name[199] = 0;
	add_raw(&tb, MAGIC_GNU, NULL, "././@LongLink", 'L', long_name, 200, NULL);
	add_file(&tb, "x", "payload");
	const char *pax = "16 linkpath=abc\n";
	add_raw(&tb, MAGIC_POSIX, NULL, "p", 'x', pax, strlen(pax), NULL);
	add_symlink(&tb, "s", "zzz");
	add_end(&tb);

	int errors = 0;
	for (size_t cut = 0; cut <= tb.size; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1); /* exact size so ASan sees overruns */
		memcpy(copy, tb.data, cut);
		int status = drain(copy, cut, NULL, 0);
		CHECK(status == TAR_END || status == TAR_ERROR);
		errors += status == TAR_ERROR;
		struct vfs *fs = vfs_create(1, NULL);
		char error[128];
		vfs_load_tar(fs, copy, cut, error, sizeof(error), NULL);
		vfs_destroy(fs);
		free(copy);
	}
	CHECK(errors > 0);

	uint8_t *copy = malloc(tb.size);
	for (size_t i = 0; i < tb.size; i += 7) {
		memcpy(copy, tb.data, tb.size);
		copy[i] ^= 0xa5;
		if (i % 512 != 148) /* keep the checksum consistent so fields get parsed */
			set_checksum(copy + i / 512 * 512);
		int status = drain(copy, tb.size, NULL, 0);
		CHECK(status == TAR_END || status == TAR_ERROR);
		struct vfs *fs = vfs_create(1, NULL);
		char error[128];
		vfs_load_tar(fs, copy, tb.size, error, sizeof(error), NULL);
		vfs_destroy(fs);
	}
	free(copy);
	free(tb.data);
}

/* Loading archives into the tree */

static void test_load_tree(void)
{
	struct tarbuf tb = {0};
	add_file(&tb, "./top.txt", "top");
	add_file(&tb, "implicit/parents/deep.txt", "deep"); /* no directory entries */
	add_dir(&tb, "implicit/");        /* listed after its contents: keep them */
	add_file(&tb, "/abs.txt", "abs"); /* absolute names are taken as relative */
	add_file(&tb, "dup.txt", "first");
	add_file(&tb, "dup.txt", "second");         /* later entries win */
	add_file(&tb, "../evil.txt", "evil");       /* skipped */
	add_file(&tb, "a/../../evil2.txt", "evil"); /* skipped */
	add_file(&tb, "top.txt/child", "x");        /* a file in the way: skipped */
	add_raw(&tb, MAGIC_POSIX, NULL, "hard.txt", '1', NULL, 0, "top.txt");
	add_raw(&tb, MAGIC_POSIX, NULL, "dangling-hard", '1', NULL, 0, "nope");
	add_symlink(&tb, "sym", "top.txt");
	add_raw(&tb, MAGIC_POSIX, NULL, "chardev", '3', NULL, 0, NULL);
	add_dir(&tb, "./");
	add_end(&tb);

	struct vfs *fs = vfs_create(7, fake_clock);
	char error[128];
	size_t skipped = 0;
	CHECK(vfs_load_tar(fs, tb.data, tb.size, error, sizeof(error), &skipped) == 0);
	CHECK(skipped == 5);
	struct vfs_node *root = vfs_root(fs);
	char buf[64];
	CHECK(slurp(root, "top.txt", buf, sizeof(buf)) == 3 && strcmp(buf, "top") == 0);
	CHECK(slurp(root, "implicit/parents/deep.txt", buf, sizeof(buf)) == 4);
	CHECK(slurp(root, "abs.txt", buf, sizeof(buf)) == 3);
	CHECK(slurp(root, "dup.txt", buf, sizeof(buf)) == 6 && strcmp(buf, "second") == 0);
	CHECK(type_of(root, "evil.txt") == -WASI_ENOENT);
	CHECK(type_of(root, "evil2.txt") == -WASI_ENOENT);
	CHECK(type_of(root, "chardev") == -WASI_ENOENT);
	CHECK(type_of(root, "sym") == WASI_FILETYPE_SYMBOLIC_LINK);
	CHECK(slurp(root, "sym", buf, sizeof(buf)) == 3);

	struct vfs_stat st, hard;
	CHECK(stat_of(root, "top.txt", 0, &st) == 0);
	CHECK(stat_of(root, "hard.txt", 0, &hard) == 0);
	CHECK(st.ino == hard.ino && st.nlink == 2 && st.dev == 7);
	CHECK(st.mtim == 1700000000ull * 1000000000ull);
	CHECK(st.size == 3 && st.filetype == WASI_FILETYPE_REGULAR_FILE);
	CHECK(stat_of(root, "implicit", 0, &st) == 0);
	CHECK(st.filetype == WASI_FILETYPE_DIRECTORY && st.nlink == 3);
	CHECK(stat_of(root, ".", 0, &st) == 0 && st.nlink == 3); /* root: implicit + ".." */
	vfs_destroy(fs);
	free(tb.data);
}

static void test_load_refuses_damage(void)
{
	struct tarbuf tb = {0};
	add_file(&tb, "a.txt", "hello");
	add_file(&tb, "b.txt", "world");
	add_end(&tb);
	tb.data[512 + 512 + 3] ^= 0x40; /* b.txt's header */
	struct vfs *fs = vfs_create(1, NULL);
	char error[128] = "";
	CHECK(vfs_load_tar(fs, tb.data, tb.size, error, sizeof(error), NULL) == -1);
	CHECK_CONTAINS(error, "checksum");
	CHECK_CONTAINS(error, "offset 1024");
	vfs_destroy(fs);
	free(tb.data);
}

/* Runs the host's tar over a small tree in each format and loads the result. */
static void test_load_host_tar_formats(void)
{
	char dir[] = "/tmp/hedge-vfs-XXXXXX";
	if (!mkdtemp(dir)) {
		CHECK(!"mkdtemp");
		return;
	}
	/* Two of these make a path too long for the name field, short enough for ustar's prefix. */
	char long_component[71];
	memset(long_component, 'L', 70);
	long_component[70] = 0;
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "cd %s && mkdir -p tree/sub/empty tree/%s/%s && printf hello > tree/hello.txt && "
	         "printf deep > tree/%s/%s/deep.txt && ln -s ../hello.txt tree/sub/link && "
	         "ln tree/hello.txt tree/sub/hard.txt && touch -d @1600000000 tree/hello.txt",
	         dir, long_component, long_component, long_component, long_component);
	CHECK(system(cmd) == 0);
	const char *formats[] = {"gnu", "ustar", "pax", "v7"};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		snprintf(cmd, sizeof(cmd),
		         "cd %s/tree && tar --format=%s -cf ../t.tar . 2>/dev/null", dir,
		         formats[i]);
		int tar_status = system(cmd);
		snprintf(cmd, sizeof(cmd), "%s/t.tar", dir);
		FILE *f = fopen(cmd, "rb");
		if (!f) {
			CHECK(!"tar output missing");
			continue;
		}
		static uint8_t archive[1 << 20];
		size_t size = fread(archive, 1, sizeof(archive), f);
		fclose(f);
		struct vfs *fs = vfs_create(1, NULL);
		char error[128] = "";
		int loaded = vfs_load_tar(fs, archive, size, error, sizeof(error), NULL);
		struct vfs_node *root = vfs_root(fs);
		char buf[64], path[600];
		snprintf(path, sizeof(path), "%s/%s/deep.txt", long_component, long_component);
		int long_ok = slurp(root, path, buf, sizeof(buf)) == 4;
		printf("    tar --format=%s: status %d, load %d %s, long names %s\n", formats[i],
		       tar_status, loaded, error, long_ok ? "kept" : "lost");
		if (strcmp(formats[i], "v7") == 0) {
			/* v7 cannot hold a 150-byte path: tar leaves it out */
			CHECK(loaded == 0 && !long_ok);
			vfs_destroy(fs);
			continue;
		}
		CHECK(tar_status == 0 && loaded == 0);
		CHECK(long_ok);
		CHECK(slurp(root, "hello.txt", buf, sizeof(buf)) == 5 && strcmp(buf, "hello") == 0);
		CHECK(slurp(root, "sub/link", buf, sizeof(buf)) == 5);
		CHECK(type_of(root, "sub/link") == WASI_FILETYPE_SYMBOLIC_LINK);
		CHECK(type_of(root, "sub/empty") == WASI_FILETYPE_DIRECTORY);
		struct vfs_stat a, b;
		CHECK(stat_of(root, "hello.txt", 0, &a) == 0 &&
		      stat_of(root, "sub/hard.txt", 0, &b) == 0);
		CHECK(a.ino == b.ino && a.nlink == 2);
		CHECK(a.mtim == 1600000000ull * 1000000000ull);
		vfs_destroy(fs);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}

/* Lookups */

static struct vfs *sample_fs(struct tarbuf *tb)
{
	memset(tb, 0, sizeof(*tb));
	add_dir(tb, "a/");
	add_dir(tb, "a/b/");
	add_file(tb, "a/b/file.txt", "in b");
	add_file(tb, "top.txt", "top");
	add_symlink(tb, "a/up", "../top.txt");
	add_symlink(tb, "a/b/dirlink", "..");
	add_symlink(tb, "dangling", "missing");
	add_end(tb);
	return load(tb);
}

static void test_lookups(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	char buf[64];
	CHECK(slurp(root, "a/b/file.txt", buf, sizeof(buf)) == 4);
	CHECK(slurp(root, "a//b///file.txt", buf, sizeof(buf)) == 4);
	CHECK(slurp(root, "./a/./b/../b/file.txt", buf, sizeof(buf)) == 4);
	CHECK(slurp(root, "a/up", buf, sizeof(buf)) == 3 && strcmp(buf, "top") == 0);
	CHECK(slurp(root, "a/b/dirlink/up", buf, sizeof(buf)) == 3);
	CHECK(type_of(root, "a/b/") == WASI_FILETYPE_DIRECTORY);
	CHECK(type_of(root, ".") == WASI_FILETYPE_DIRECTORY);
	CHECK(type_of(root, "nope") == -WASI_ENOENT);
	CHECK(type_of(root, "nope/x") == -WASI_ENOENT);
	CHECK(type_of(root, "top.txt/x") == -WASI_ENOTDIR);
	CHECK(type_of(root, "top.txt/") == -WASI_ENOTDIR);
	CHECK(type_of(root, "") == -WASI_ENOENT);
	CHECK(type_of(root, "dangling") == WASI_FILETYPE_SYMBOLIC_LINK);

	struct vfs_stat st;
	CHECK(stat_of(root, "dangling", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ENOENT);
	CHECK(stat_of(root, "a/up", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == 0 &&
	      st.filetype == WASI_FILETYPE_REGULAR_FILE);
	CHECK(stat_of(root, "a/up", 0, &st) == 0 && st.filetype == WASI_FILETYPE_SYMBOLIC_LINK &&
	      st.size == strlen("../top.txt"));
	/* A trailing slash follows a symlink to a directory even without the flag. */
	CHECK(stat_of(root, "a/b/dirlink/", 0, &st) == 0 && st.filetype == WASI_FILETYPE_DIRECTORY);

	const char *target;
	size_t target_len;
	CHECK(vfs_readlink(root, S("a/up"), &target, &target_len) == 0 && target_len == 10 &&
	      memcmp(target, "../top.txt", 10) == 0);
	CHECK(vfs_readlink(root, S("top.txt"), &target, &target_len) == WASI_EINVAL);
	CHECK(vfs_readlink(root, S("nope"), &target, &target_len) == WASI_ENOENT);

	char name[VFS_NAME_MAX + 2];
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = 0;
	CHECK(type_of(root, name) == -WASI_ENAMETOOLONG);
	char *long_path = malloc(VFS_PATH_MAX + 2);
	memset(long_path, 'p', VFS_PATH_MAX + 1);
	long_path[VFS_PATH_MAX + 1] = 0;
	CHECK(type_of(root, long_path) == -WASI_ENAMETOOLONG);
	free(long_path);
	CHECK(vfs_stat_path(root, "a\0b", 3, 0, &st) == WASI_EINVAL);

	/* Lookups from a file are refused. */
	struct vfs_node *file;
	CHECK(vfs_open(root, S("top.txt"), 0, 0, 0, &file) == 0);
	CHECK(vfs_stat_path(file, S("x"), 0, &st) == WASI_ENOTDIR);
	vfs_release(file);
	vfs_destroy(fs);
	free(tb.data);
}

static void test_readdir(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	const char *want[] = {".", "..", "a", "dangling", "top.txt"};
	struct vfs_dirent d;
	uint64_t cookie = 0;
	size_t i = 0;
	while (vfs_readdir(root, cookie, &d) == 0) {
		CHECK(i < 5 && d.name_len == strlen(want[i]) &&
		      memcmp(d.name, want[i], d.name_len) == 0);
		cookie = d.next_cookie;
		i++;
	}
	CHECK(i == 5);
	CHECK(vfs_readdir(root, 2, &d) == 0 && d.filetype == WASI_FILETYPE_DIRECTORY);
	CHECK(vfs_readdir(root, 3, &d) == 0 && d.filetype == WASI_FILETYPE_SYMBOLIC_LINK);
	CHECK(vfs_readdir(root, 1000, &d) == WASI_ENOENT);
	CHECK(vfs_readdir(root, UINT64_MAX, &d) == WASI_ENOENT);

	struct vfs_node *a = open_dir(root, "a");
	struct vfs_stat root_st;
	stat_of(root, ".", 0, &root_st);
	CHECK(a && vfs_readdir(a, 1, &d) == 0 && d.ino == root_st.ino); /* ".." */
	if (a)
		vfs_release(a);
	vfs_destroy(fs);
	free(tb.data);
}

/* Writing */

static void test_create_write_cow(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	uint8_t *pristine = malloc(tb.size);
	memcpy(pristine, tb.data, tb.size);
	struct vfs_node *root = vfs_root(fs);
	char buf[128];

	/* Copy on write: the archive never changes. */
	struct vfs_node *node;
	CHECK(vfs_open(root, S("top.txt"), 0, 0, 1, &node) == 0);
	fake_clock_ns = 9000000000ull;
	CHECK(vfs_write(node, 1, "OP!", 3) == 0);
	CHECK(vfs_read(node, 0, buf, sizeof(buf)) == 4 && memcmp(buf, "tOP!", 4) == 0);
	CHECK(memcmp(pristine, tb.data, tb.size) == 0);
	struct vfs_stat st;
	vfs_stat(node, &st);
	CHECK(st.mtim == 9000000000ull && st.size == 4);
	/* Writing past the end leaves a hole of zeros. */
	CHECK(vfs_write(node, 10, "end", 3) == 0);
	CHECK(vfs_read(node, 0, buf, sizeof(buf)) == 13);
	CHECK(memcmp(buf, "tOP!\0\0\0\0\0\0end", 13) == 0);
	CHECK(vfs_read(node, 13, buf, sizeof(buf)) == 0);
	CHECK(vfs_read(node, 1000, buf, sizeof(buf)) == 0);
	CHECK(vfs_write(node, VFS_FILE_MAX, "x", 1) == WASI_EFBIG);
	CHECK(vfs_write(node, UINT64_MAX, "x", 1) == WASI_EFBIG);
	vfs_release(node);

	/* Truncating a file still in the archive needs no copy; growing it does. */
	CHECK(vfs_open(root, S("a/b/file.txt"), 0, 0, 1, &node) == 0);
	CHECK(vfs_truncate(node, 2) == 0);
	CHECK(vfs_read(node, 0, buf, sizeof(buf)) == 2 && memcmp(buf, "in", 2) == 0);
	CHECK(vfs_truncate(node, 5) == 0);
	CHECK(vfs_read(node, 0, buf, sizeof(buf)) == 5 && memcmp(buf, "in\0\0\0", 5) == 0);
	CHECK(vfs_truncate(node, VFS_FILE_MAX + 1) == WASI_EFBIG);
	vfs_release(node);
	CHECK(memcmp(pristine, tb.data, tb.size) == 0);

	/* Creation and the open flags. */
	CHECK(vfs_open(root, S("new.txt"), 0, 0, 1, &node) == WASI_ENOENT);
	CHECK(vfs_open(root, S("new.txt"), 0, WASI_OFLAG_CREAT, 1, &node) == 0);
	vfs_release(node);
	CHECK(vfs_open(root, S("new.txt"), 0, WASI_OFLAG_CREAT | WASI_OFLAG_EXCL, 1, &node) ==
	      WASI_EEXIST);
	CHECK(vfs_open(root, S("new.txt"), 0, WASI_OFLAG_DIRECTORY, 0, &node) == WASI_ENOTDIR);
	CHECK(vfs_open(root, S("new.txt/"), 0, 0, 0, &node) == WASI_ENOTDIR);
	CHECK(vfs_open(root, S("newdir/"), 0, WASI_OFLAG_CREAT, 1, &node) == WASI_EISDIR);
	CHECK(vfs_open(root, S("a"), 0, 0, 1, &node) == WASI_EISDIR);
	CHECK(vfs_open(root, S("a"), 0, WASI_OFLAG_TRUNC, 0, &node) == WASI_EISDIR);
	CHECK(vfs_open(root, S("a"), 0, WASI_OFLAG_CREAT | WASI_OFLAG_DIRECTORY, 0, &node) ==
	      WASI_EINVAL);
	CHECK(vfs_open(root, S("x"), 0, 0x10, 0, &node) == WASI_EINVAL);
	CHECK(write_file(root, "new.txt", "contents") == 0);
	CHECK(slurp(root, "new.txt", buf, sizeof(buf)) == 8);
	CHECK(vfs_open(root, S("new.txt"), 0, WASI_OFLAG_TRUNC, 1, &node) == 0);
	CHECK(vfs_node_size(node) == 0);
	vfs_release(node);
	/* Symlinks: not followed they fail, followed they lead; dangling + creat makes the target.
	 */
	CHECK(vfs_open(root, S("a/up"), 0, 0, 0, &node) == WASI_ELOOP);
	CHECK(vfs_open(root, S("a/b/dirlink"), 0, WASI_OFLAG_DIRECTORY, 0, &node) == WASI_ENOTDIR);
	CHECK(vfs_open(root, S("dangling"), WASI_LOOKUP_SYMLINK_FOLLOW, WASI_OFLAG_CREAT, 1,
	               &node) == 0);
	vfs_release(node);
	CHECK(type_of(root, "missing") == WASI_FILETYPE_REGULAR_FILE);
	CHECK(vfs_open(root, S("dangling"), WASI_LOOKUP_SYMLINK_FOLLOW,
	               WASI_OFLAG_CREAT | WASI_OFLAG_EXCL, 1, &node) == WASI_EEXIST);

	/* Timestamps set explicitly and to now. */
	fake_clock_ns = 12345;
	CHECK(vfs_set_times_path(root, S("new.txt"), 0, 111, 222,
	                         WASI_FSTFLAG_ATIM | WASI_FSTFLAG_MTIM) == 0);
	CHECK(stat_of(root, "new.txt", 0, &st) == 0 && st.atim == 111 && st.mtim == 222 &&
	      st.ctim == 12345);
	CHECK(vfs_set_times_path(root, S("new.txt"), 0, 0, 0, WASI_FSTFLAG_MTIM_NOW) == 0);
	CHECK(stat_of(root, "new.txt", 0, &st) == 0 && st.atim == 111 && st.mtim == 12345);
	CHECK(vfs_set_times_path(root, S("new.txt"), 0, 0, 0,
	                         WASI_FSTFLAG_ATIM | WASI_FSTFLAG_ATIM_NOW) == WASI_EINVAL);
	CHECK(vfs_set_times_path(root, S("new.txt"), 0, 0, 0, 0x10) == WASI_EINVAL);
	free(pristine);
	vfs_destroy(fs);
	free(tb.data);
}

static void test_mkdir_rmdir_unlink(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	CHECK(vfs_mkdir(root, S("d")) == 0);
	CHECK(vfs_mkdir(root, S("d")) == WASI_EEXIST);
	CHECK(vfs_mkdir(root, S("d2/")) == 0);
	CHECK(vfs_mkdir(root, S(".")) == WASI_EEXIST);
	CHECK(vfs_mkdir(root, S("dangling")) == WASI_EEXIST);
	CHECK(vfs_mkdir(root, S("x/y")) == WASI_ENOENT);
	CHECK(write_file(root, "d/f", "1") == 0);

	CHECK(vfs_rmdir(root, S("d")) == WASI_ENOTEMPTY);
	CHECK(vfs_rmdir(root, S("top.txt")) == WASI_ENOTDIR);
	CHECK(vfs_rmdir(root, S("a/b/dirlink")) == WASI_ENOTDIR);
	CHECK(vfs_rmdir(root, S("a/b/dirlink/")) == WASI_ENOTDIR);
	CHECK(vfs_rmdir(root, S(".")) == WASI_EINVAL);
	CHECK(vfs_rmdir(root, S("a/..")) == WASI_ENOTEMPTY);
	CHECK(vfs_rmdir(root, S("nope")) == WASI_ENOENT);
	CHECK(vfs_rmdir(root, S("d2")) == 0);
	CHECK(type_of(root, "d2") == -WASI_ENOENT);

	CHECK(vfs_unlink(root, S("d")) == WASI_EISDIR);
	CHECK(vfs_unlink(root, S("d/f/")) == WASI_ENOTDIR);
	CHECK(vfs_unlink(root, S("nope")) == WASI_ENOENT);
	CHECK(vfs_unlink(root, S(".")) == WASI_EISDIR);
	CHECK(vfs_unlink(root, S("dangling")) == 0); /* the link, not its target */
	CHECK(type_of(root, "dangling") == -WASI_ENOENT);

	/* An open file outlives its name. */
	struct vfs_node *node;
	CHECK(vfs_open(root, S("d/f"), 0, 0, 0, &node) == 0);
	CHECK(vfs_unlink(root, S("d/f")) == 0);
	char buf[8];
	CHECK(vfs_read(node, 0, buf, sizeof(buf)) == 1 && buf[0] == '1');
	CHECK(vfs_write(node, 1, "2", 1) == 0);
	struct vfs_stat st;
	vfs_stat(node, &st);
	CHECK(st.nlink == 0 && st.size == 2);
	vfs_release(node);

	/* A removed directory held open is empty and refuses new entries. */
	struct vfs_node *d = open_dir(root, "d");
	CHECK(d != NULL);
	CHECK(vfs_rmdir(root, S("d")) == 0);
	if (d) {
		CHECK(vfs_mkdir(d, S("again")) == WASI_ENOENT);
		CHECK(write_file(d, "f", "x") == WASI_ENOENT);
		CHECK(vfs_stat_path(d, S("."), 0, &st) == 0 && st.nlink == 0);
		CHECK(vfs_stat_path(d, S(".."), 0, &st) == WASI_ENOTCAPABLE);
		vfs_release(d);
	}
	vfs_destroy(fs);
	free(tb.data);
}

static void test_rename(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	char buf[64];
	struct vfs_stat st, st2;

	CHECK(vfs_rename(root, S("top.txt"), root, S("moved.txt")) == 0);
	CHECK(type_of(root, "top.txt") == -WASI_ENOENT);
	CHECK(slurp(root, "moved.txt", buf, sizeof(buf)) == 3);
	CHECK(vfs_rename(root, S("moved.txt"), root, S("a/b/into.txt")) == 0);
	CHECK(slurp(root, "a/b/into.txt", buf, sizeof(buf)) == 3);
	/* Over an existing file: replaced. */
	CHECK(vfs_rename(root, S("a/b/into.txt"), root, S("a/b/file.txt")) == 0);
	CHECK(slurp(root, "a/b/file.txt", buf, sizeof(buf)) == 3 && strcmp(buf, "top") == 0);
	/* Hard links to one node: nothing happens. */
	CHECK(vfs_link(root, S("a/b/file.txt"), 0, root, S("same")) == 0);
	CHECK(vfs_rename(root, S("same"), root, S("a/b/file.txt")) == 0);
	CHECK(type_of(root, "same") == WASI_FILETYPE_REGULAR_FILE);

	/* Directories. */
	CHECK(vfs_mkdir(root, S("d1")) == 0);
	CHECK(vfs_mkdir(root, S("d2")) == 0);
	CHECK(write_file(root, "d2/f", "x") == 0);
	CHECK(vfs_rename(root, S("d1"), root, S("d2")) == WASI_ENOTEMPTY);
	CHECK(vfs_rename(root, S("d2"), root, S("d1")) == 0); /* over an empty one */
	CHECK(type_of(root, "d1/f") == WASI_FILETYPE_REGULAR_FILE);
	CHECK(vfs_rename(root, S("d1"), root, S("d1/inside")) == WASI_EINVAL);
	CHECK(vfs_rename(root, S("a"), root, S("a/b/c")) == WASI_EINVAL);
	CHECK(vfs_rename(root, S("d1"), root, S("same")) == WASI_ENOTDIR);
	CHECK(vfs_rename(root, S("same"), root, S("d1")) == WASI_EISDIR);
	CHECK(vfs_rename(root, S("same"), root, S("other/")) == WASI_ENOTDIR);
	CHECK(vfs_rename(root, S("nope"), root, S("x")) == WASI_ENOENT);
	CHECK(vfs_rename(root, S("."), root, S("x")) == WASI_EBUSY);
	CHECK(vfs_rename(root, S("same"), root, S("nodir/x")) == WASI_ENOENT);
	/* A directory moved elsewhere keeps its contents and gets a new "..". */
	CHECK(stat_of(root, "a", 0, &st) == 0);
	CHECK(vfs_rename(root, S("d1"), root, S("a/d1")) == 0);
	CHECK(stat_of(root, "a", 0, &st2) == 0 && st2.nlink == st.nlink + 1);
	CHECK(type_of(root, "a/d1/f") == WASI_FILETYPE_REGULAR_FILE);
	CHECK(type_of(root, "a/d1/../b") == WASI_FILETYPE_DIRECTORY);
	/* Symlinks are renamed, not followed. */
	CHECK(vfs_rename(root, S("a/up"), root, S("a/d1/up2")) == 0);
	CHECK(type_of(root, "a/d1/up2") == WASI_FILETYPE_SYMBOLIC_LINK);
	CHECK(stat_of(root, "a/d1/up2", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ENOENT);

	/* Across file systems. */
	struct vfs *other = vfs_create(2, NULL);
	CHECK(vfs_rename(root, S("same"), vfs_root(other), S("x")) == WASI_EXDEV);
	CHECK(vfs_link(root, S("same"), 0, vfs_root(other), S("x")) == WASI_EXDEV);
	vfs_destroy(other);
	vfs_destroy(fs);
	free(tb.data);
}

static void test_links(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	struct vfs_stat st;
	CHECK(vfs_link(root, S("top.txt"), 0, root, S("a/hard")) == 0);
	CHECK(stat_of(root, "top.txt", 0, &st) == 0 && st.nlink == 2);
	CHECK(vfs_link(root, S("top.txt"), 0, root, S("a/hard")) == WASI_EEXIST);
	CHECK(vfs_link(root, S("a"), 0, root, S("alink")) == WASI_EPERM);
	CHECK(vfs_link(root, S("nope"), 0, root, S("x")) == WASI_ENOENT);
	CHECK(vfs_link(root, S("top.txt"), 0, root, S("x/")) == WASI_ENOENT);
	/* With the flag the link's target is linked; without, the link itself. */
	CHECK(vfs_link(root, S("a/up"), WASI_LOOKUP_SYMLINK_FOLLOW, root, S("viafollow")) == 0);
	CHECK(type_of(root, "viafollow") == WASI_FILETYPE_REGULAR_FILE);
	CHECK(vfs_link(root, S("a/up"), 0, root, S("a/samelink")) == 0);
	CHECK(type_of(root, "a/samelink") == WASI_FILETYPE_SYMBOLIC_LINK);
	CHECK(stat_of(root, "top.txt", 0, &st) == 0 && st.nlink == 3);
	CHECK(vfs_unlink(root, S("top.txt")) == 0);
	CHECK(stat_of(root, "a/hard", 0, &st) == 0 && st.nlink == 2);

	CHECK(vfs_symlink(S("b/file.txt"), root, S("a/s")) == 0);
	char buf[32];
	CHECK(slurp(root, "a/s", buf, sizeof(buf)) == 4);
	CHECK(vfs_symlink(S("x"), root, S("a/s")) == WASI_EEXIST);
	CHECK(vfs_symlink("", 0, root, S("empty")) == WASI_ENOENT);
	CHECK(vfs_symlink(S("x"), root, S("trail/")) == WASI_ENOENT);
	CHECK(vfs_symlink(S("/etc/passwd"), root, S("abs")) == 0); /* made, never followed */
	CHECK(stat_of(root, "abs", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ENOTCAPABLE);
	vfs_destroy(fs);
	free(tb.data);
}

/* Escapes */

static void test_escapes(void)
{
	struct tarbuf tb;
	memset(&tb, 0, sizeof(tb));
	add_dir(&tb, "sub/");
	add_file(&tb, "sub/in.txt", "in");
	add_file(&tb, "root.txt", "root");
	add_symlink(&tb, "abs", "/etc/passwd");
	add_symlink(&tb, "up", "..");
	add_symlink(&tb, "sub/up2", "../..");
	add_symlink(&tb, "sub/toroot", "../root.txt");
	add_symlink(&tb, "sub/sneaky", "../sub/../../root.txt");
	add_end(&tb);
	struct vfs *fs = load(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	struct vfs_stat st;
	char buf[32];
	CHECK(stat_of(root, "/etc/passwd", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "/", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "..", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "../root.txt", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "sub/../..", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "sub/../../x", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "abs", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "abs", 0, &st) == 0); /* the link itself is fine */
	CHECK(stat_of(root, "up", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "up/root.txt", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(stat_of(root, "sub/up2/x", 0, &st) == WASI_ENOTCAPABLE);
	CHECK(slurp(root, "sub/toroot", buf, sizeof(buf)) == 4);
	CHECK(slurp(root, "sub/sneaky", buf, sizeof(buf)) == -WASI_ENOTCAPABLE);
	CHECK(vfs_mkdir(root, S("../x")) == WASI_ENOTCAPABLE);
	CHECK(vfs_unlink(root, S("up/root.txt")) == WASI_ENOTCAPABLE);
	struct vfs_node *node;
	CHECK(vfs_open(root, S("up/new"), WASI_LOOKUP_SYMLINK_FOLLOW, WASI_OFLAG_CREAT, 1, &node) ==
	      WASI_ENOTCAPABLE);
	CHECK(vfs_rename(root, S("root.txt"), root, S("../root.txt")) == WASI_ENOTCAPABLE);

	/* From a subdirectory, that directory is the limit: not the file system's root. */
	struct vfs_node *sub = open_dir(root, "sub");
	CHECK(sub != NULL);
	if (sub) {
		CHECK(slurp(sub, "in.txt", buf, sizeof(buf)) == 2);
		CHECK(stat_of(sub, "..", 0, &st) == WASI_ENOTCAPABLE);
		CHECK(stat_of(sub, "../root.txt", 0, &st) == WASI_ENOTCAPABLE);
		CHECK(slurp(sub, "toroot", buf, sizeof(buf)) == -WASI_ENOTCAPABLE);
		CHECK(stat_of(sub, "toroot", 0, &st) == 0);
		CHECK(slurp(sub, "./x/../in.txt", buf, sizeof(buf)) == -WASI_ENOENT);
		vfs_release(sub);
	}
	vfs_destroy(fs);
	free(tb.data);
}

static void test_symlink_loops(void)
{
	struct tarbuf tb;
	memset(&tb, 0, sizeof(tb));
	add_symlink(&tb, "self", "self");
	add_symlink(&tb, "ping", "pong");
	add_symlink(&tb, "pong", "ping");
	add_dir(&tb, "d/");
	add_symlink(&tb, "d/loop", "../d/loop");
	add_file(&tb, "target", "ok");
	/* A chain of exactly VFS_SYMLINK_HOPS links resolves; one more does not. */
	char name[32], next[32];
	for (int i = 1; i <= VFS_SYMLINK_HOPS + 1; i++) {
		snprintf(name, sizeof(name), "chain%d", i);
		if (i == 1)
			snprintf(next, sizeof(next), "target");
		else
			snprintf(next, sizeof(next), "chain%d", i - 1);
		add_symlink(&tb, name, next);
	}
	add_end(&tb);
	struct vfs *fs = load(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs);
	struct vfs_stat st;
	char buf[16];
	CHECK(stat_of(root, "self", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ELOOP);
	CHECK(stat_of(root, "self", 0, &st) == 0);
	CHECK(stat_of(root, "self/x", 0, &st) == WASI_ELOOP);
	CHECK(stat_of(root, "ping", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ELOOP);
	CHECK(stat_of(root, "d/loop", WASI_LOOKUP_SYMLINK_FOLLOW, &st) == WASI_ELOOP);
	CHECK(slurp(root, "ping", buf, sizeof(buf)) == -WASI_ELOOP);
	snprintf(name, sizeof(name), "chain%d", VFS_SYMLINK_HOPS);
	CHECK(slurp(root, name, buf, sizeof(buf)) == 2);
	snprintf(name, sizeof(name), "chain%d", VFS_SYMLINK_HOPS + 1);
	CHECK(slurp(root, name, buf, sizeof(buf)) == -WASI_ELOOP);
	vfs_destroy(fs);
	free(tb.data);
}

/* Node lifetimes: destroy frees everything, even nodes still held. */
static void test_destroy_with_open_nodes(void)
{
	struct tarbuf tb;
	struct vfs *fs = sample_fs(&tb);
	if (!fs)
		return;
	struct vfs_node *root = vfs_root(fs), *a, *b;
	CHECK(vfs_open(root, S("top.txt"), 0, 0, 0, &a) == 0);
	CHECK(vfs_open(root, S("a/b/file.txt"), 0, 0, 1, &b) == 0);
	CHECK(vfs_write(b, 0, "x", 1) == 0);
	CHECK(vfs_unlink(root, S("a/b/file.txt")) == 0);
	vfs_destroy(fs); /* ASan reports any leak or double free */
	free(tb.data);
}

int main(void)
{
	static const struct test_case cases[] = {
	    {"tar: files, directories, links, other types", test_tar_basic_entries},
	    {"tar: ustar prefix, GNU long names, pax paths", test_tar_long_names},
	    {"tar: end of archive in its various forms", test_tar_end_forms},
	    {"tar: corrupt headers, sizes and records refused", test_tar_corrupt},
	    {"tar: every truncation and many bit flips stay in bounds",
	     test_tar_truncations_and_bit_flips},
	    {"load: implicit parents, duplicates, unsafe names skipped", test_load_tree},
	    {"load: a damaged archive is refused with its offset", test_load_refuses_damage},
	    {"load: host tar in gnu, ustar, pax and v7 formats", test_load_host_tar_formats},
	    {"lookup: components, dots, symlinks, limits", test_lookups},
	    {"readdir: dot entries, order, cookies", test_readdir},
	    {"write: copy on write, holes, open flags, times", test_create_write_cow},
	    {"mkdir, rmdir (ENOTEMPTY), unlink, open after unlink", test_mkdir_rmdir_unlink},
	    {"rename: files, directories, replacement, loops", test_rename},
	    {"hard links and symlinks", test_links},
	    {"escapes: absolute paths, .., symlinks out", test_escapes},
	    {"symlink loops and the hop limit (ELOOP)", test_symlink_loops},
	    {"destroy with nodes still open", test_destroy_with_open_nodes},
	};
	return run_tests(cases, sizeof(cases) / sizeof(cases[0]));
}
