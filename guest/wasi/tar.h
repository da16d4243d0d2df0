/*
 * tar.h - a reader for ustar archives held in memory, as the monitor loads
 * them for the guest's file system (hedge run --dir, hedge build --dir).
 *
 * Understands POSIX ustar (name + prefix), GNU long names and link names
 * ('L', 'K') and pax extended headers ('x': path, linkpath, size, mtime).
 * Entries are returned in archive order with their data left in place: the
 * reader never copies file contents.  Also compiled for the host, so that
 * tests/unit/test_wasi_vfs.c can feed it broken archives under ASan.
 */
#ifndef HEDGE_WASI_TAR_H
#define HEDGE_WASI_TAR_H

#include <stddef.h>
#include <stdint.h>

#define TAR_BLOCK 512

/* Normalised entry types; anything else is reported as TAR_OTHER. */
enum tar_type {
	TAR_FILE,
	TAR_HARDLINK,
	TAR_SYMLINK,
	TAR_DIR,
	TAR_OTHER,
};

struct tar_entry {
	enum tar_type type;
	char raw_type;    /* the typeflag byte as found */
	const char *name; /* not NUL-terminated; see name_len */
	size_t name_len;
	const char *link; /* symlink target or hard-link source */
	size_t link_len;
	uint64_t mtime; /* seconds since the epoch */
	uint32_t mode;
	const uint8_t *data; /* TAR_FILE contents, inside the archive */
	uint64_t size;
};

struct tar_reader {
	const uint8_t *archive;
	size_t size;
	size_t offset; /* of the next header */
	/* What GNU 'L'/'K' or pax 'x' headers said about the next entry. */
	const char *next_name, *next_link;
	size_t next_name_len, next_link_len;
	uint64_t next_size, next_mtime;
	int has_next_size, has_next_mtime;
	char name_buf[TAR_BLOCK]; /* ustar prefix + '/' + name */
	char error[96];
};

enum {
	TAR_ERROR = -1,
	TAR_END = 0,
	TAR_ENTRY = 1,
};

void tar_reader_init(struct tar_reader *reader, const void *archive, size_t size);

/*
 * Reads the next entry into *entry: TAR_ENTRY, TAR_END at the end-of-archive
 * marker (or at the end of the data on a block boundary), or TAR_ERROR with
 * reader->error describing the damage.  Entry pointers stay valid as long as
 * the archive and the reader do.
 */
int tar_next(struct tar_reader *reader, struct tar_entry *entry);

#endif /* HEDGE_WASI_TAR_H */
