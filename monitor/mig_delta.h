/*
 * mig_delta.h - a page sent again during migration, as the bytes that
 * changed since its last copy: what a guest that rewrites a word here and
 * there keeps dirtying costs a few bytes a page instead of 4 KiB (QEMU calls
 * its version XBZRLE).
 *
 * A delta is a sequence of runs {u16 skip, u16 len, len new bytes}: skip
 * bytes unchanged, then len bytes replaced, until the page ends.  The DELTA
 * message of the migration stream carries up to MIG_DELTA_RECORDS of them,
 * each as {u64 gpa, u32 crc32c of the whole new page, u32 length, delta},
 * after a {u32 count, u32 0} header; the target checks every page it
 * patched against its CRC, so a delta applied to anything but the page the
 * source remembers is caught.
 */
#ifndef HEDGE_MIG_DELTA_H
#define HEDGE_MIG_DELTA_H

#include <stddef.h>
#include <stdint.h>

#define MIG_DELTA_PAGE    4096u
#define MIG_DELTA_MAX     2048u /* a longer delta is not worth it: the page goes whole */
#define MIG_DELTA_RECORDS 256u
#define MIG_DELTA_RECORD  16u /* gpa, crc, length */
#define MIG_DELTA_BYTES   (8u + MIG_DELTA_RECORDS * (MIG_DELTA_RECORD + MIG_DELTA_MAX))

/* The delta from old to new into out (MIG_DELTA_MAX bytes); its length, or -1 if longer. */
int mig_delta_encode(const uint8_t *old, const uint8_t *new_page, uint8_t *out);

/* Applies delta to page (MIG_DELTA_PAGE bytes) in place; 0, or -1 if it is malformed. */
int mig_delta_apply(uint8_t *page, const uint8_t *delta, size_t len);

#endif
