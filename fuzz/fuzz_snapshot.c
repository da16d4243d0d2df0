/*
 * fuzz_snapshot.c - libFuzzer harness for the snapshot parser, the control
 * socket's JSON parser and the batch of network frames a migration target
 * reads, the readers of untrusted input that snapshots brought.
 *
 * An input starting with '{' is a control request; one starting with 'F' is
 * followed by a frames batch, which must either be refused with a reason or
 * hand out frames that, encoded again, give back exactly the input; anything
 * else is the beginning of a snapshot file.  The file's size is taken from its header
 * when it has one, so small inputs reach the section parser instead of
 * stopping at the truncation check.  Whatever the input, the parser must
 * refuse it with a reason or hand out sections and extents that lie inside
 * the input and guest memory.
 *
 * Checksums would stop nearly every mutation at the first CRC, so when the
 * input's length is odd the harness first recomputes every CRC it can find,
 * as a hostile writer would, and the fuzzer reaches the checks of section
 * contents behind them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"
#include "le.h"
#include "jsonl.h"
#include "mig_frames.h"
#include "snapfile.h"

/* Recomputes the section CRCs and then the header's, following the lengths as written. */
static void fix_crcs(uint8_t *buf, size_t size)
{
	if (size < SNAP_HEADER_SIZE)
		return;
	uint64_t meta = get64(buf + 24), off = SNAP_HEADER_SIZE;
	if (meta > size)
		meta = size;
	while (off <= meta && meta - off >= 24) {
		uint64_t plen = get64(buf + off + 8), padded = (plen + 7) & ~7ull;
		if (plen > meta - off - 24 || padded > meta - off - 24)
			break;
		memset(buf + off + 16, 0, 4);
		uint32_t crc = crc32c(0, buf + off, 24 + padded);
		memcpy(buf + off + 16, &crc, 4);
		off += 24 + padded;
	}
	memset(buf + 124, 0, 4);
	uint32_t crc = crc32c(0, buf, SNAP_HEADER_SIZE);
	memcpy(buf + 124, &crc, 4);
}

static void check_json(const uint8_t *data, size_t size)
{
	static struct jsonl_obj obj;
	char err[256];
	if (jsonl_parse((const char *)data, size, &obj, err, sizeof(err)) != 0) {
		if (!err[0] || memchr(err, '\n', strlen(err)))
			abort();
		return;
	}
	for (int i = 0; i < obj.n; i++) {
		const struct jsonl_field *f = &obj.f[i];
		if (f->key < obj.text || f->key >= obj.text + sizeof(obj.text) ||
		    jsonl_get(&obj, f->key) != f)
			abort();
	}
}

struct frames_check {
	const uint8_t *start, *end;
	struct mig_frames again;
};

static int reencode(void *ctx, const uint8_t *frame, size_t len)
{
	struct frames_check *c = ctx;
	if (frame < c->start || frame + len > c->end || mig_frames_add(&c->again, frame, len))
		abort();
	return 0;
}

static void check_frames(const uint8_t *data, size_t size)
{
	static uint8_t again[MIG_FRAMES_BYTES];
	struct frames_check c = {.start = data, .end = data + size};
	mig_frames_start(&c.again, again);
	char why[200] = "";
	if (mig_frames_decode(data, size, reencode, &c, why, sizeof(why)) != 0) {
		if (!why[0] || strchr(why, '\n') || c.again.count)
			abort();
		return;
	}
	if (c.again.len != size || memcmp(again, data, size))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 0 && data[0] == '{') {
		check_json(data, size);
		return 0;
	}
	if (size > 0 && data[0] == 'F') {
		check_frames(data + 1, size - 1);
		return 0;
	}
	uint8_t *copy = NULL;
	if (size & 1) {
		copy = malloc(size);
		memcpy(copy, data, size);
		fix_crcs(copy, size);
		data = copy;
	}
	uint64_t file_size = size;
	if (size >= 56)
		memcpy(&file_size, data + 48, 8);
	struct snap_meta m;
	char err[256] = "";
	if (snap_decode(data, size, file_size, &m, err, sizeof(err)) != 0) {
		if (!err[0] || strchr(err, '\n'))
			abort();
		free(copy);
		return 0;
	}
	if (m.mem_offset > size || m.mem_offset % SNAP_PAGE_SIZE || m.file_size != file_size)
		abort();
	for (int t = 1; t < SNAP_SEC_COUNT; t++) {
		const uint8_t *p = m.sec[t].data;
		if (m.sec[t].len && (p < data || p + m.sec[t].len > data + m.meta_size))
			abort();
	}
	uint64_t next = 0;
	for (uint64_t i = 0; i < m.nextents; i++) {
		const struct snap_extent *e = &m.extents[i];
		if (e->gpa < next || e->npages == 0 ||
		    e->gpa + (uint64_t)e->npages * SNAP_PAGE_SIZE > m.mem_size)
			abort();
		next = e->gpa + (uint64_t)e->npages * SNAP_PAGE_SIZE;
	}
	snap_meta_free(&m);
	free(copy);
	return 0;
}
