/*
 * mig_delta.c - the changed bytes of a page sent again during migration
 * (format in mig_delta.h).  The target applies deltas it reads from the
 * network, so applying checks every run against the page before it writes.
 */
#include "mig_delta.h"

#include <string.h>

#include "le.h"

#define RUN_HEADER 4u
/* Unchanged bytes shorter than a run header are cheaper sent than skipped. */
#define MIN_GAP    RUN_HEADER

/* The first byte at or after from where old and new differ, or PAGE. */
static size_t next_change(const uint8_t *old, const uint8_t *new_page, size_t from)
{
	while (from < MIG_DELTA_PAGE && (from & 7)) {
		if (old[from] != new_page[from])
			return from;
		from++;
	}
	for (; from < MIG_DELTA_PAGE; from += 8) {
		uint64_t a, b;
		memcpy(&a, old + from, 8);
		memcpy(&b, new_page + from, 8);
		if (a != b)
			break;
	}
	while (from < MIG_DELTA_PAGE && old[from] == new_page[from])
		from++;
	return from;
}

int mig_delta_encode(const uint8_t *old, const uint8_t *new_page, uint8_t *out)
{
	size_t len = 0, pos = 0;
	for (;;) {
		size_t start = next_change(old, new_page, pos);
		if (start == MIG_DELTA_PAGE)
			return (int)len;
		/* The changed stretch ends where MIN_GAP bytes in a row are unchanged. */
		size_t end = start + 1, same = 0;
		for (size_t i = end; i < MIG_DELTA_PAGE && same < MIN_GAP; i++) {
			if (old[i] == new_page[i]) {
				same++;
			} else {
				same = 0;
				end = i + 1;
			}
		}
		if (len + RUN_HEADER + (end - start) > MIG_DELTA_MAX)
			return -1;
		put16(out + len, (uint16_t)(start - pos));
		put16(out + len + 2, (uint16_t)(end - start));
		memcpy(out + len + RUN_HEADER, new_page + start, end - start);
		len += RUN_HEADER + (end - start);
		pos = end;
	}
}

int mig_delta_apply(uint8_t *page, const uint8_t *delta, size_t len)
{
	size_t off = 0, pos = 0;
	while (off < len) {
		if (len - off < RUN_HEADER)
			return -1;
		size_t skip = get16(delta + off), n = get16(delta + off + 2);
		off += RUN_HEADER;
		if (n == 0 || skip > MIG_DELTA_PAGE - pos || n > MIG_DELTA_PAGE - pos - skip ||
		    n > len - off)
			return -1;
		pos += skip;
		memcpy(page + pos, delta + off, n);
		pos += n;
		off += n;
	}
	return 0;
}
