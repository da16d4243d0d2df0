/*
 * tar_write.h - a directory tree as a ustar archive in memory, for the file
 * system a hedge guest sees (embedded by hedge build, or handed over by
 * hedge run --dir).
 */
#ifndef HEDGE_TAR_WRITE_H
#define HEDGE_TAR_WRITE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Archives the contents of dir (not dir itself): directories, regular files
 * and symbolic links (stored, not followed), with paths relative to dir,
 * their permission bits, modification times and sizes; owners are stored as
 * 0/0 and entries are sorted by path, so the same tree gives the same bytes.
 * Paths longer than 100 bytes use the ustar prefix field.
 *
 * Returns 0 with a malloc'd archive (ending in two zero blocks) in *out and
 * its size in *out_len, or -1 with a one-line reason in err: a path or link
 * target that ustar cannot hold, a file of another type (FIFO, socket,
 * device), a file larger than 8 GiB, or an I/O error.
 */
int tar_from_dir(const char *dir, uint8_t **out, size_t *out_len, char *err, size_t errlen);

#endif
