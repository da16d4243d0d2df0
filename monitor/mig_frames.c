/*
 * mig_frames.c - the batch of network frames a migration forwards from the
 * source's TAP to the target's guest (format in mig_frames.h).  The target
 * reads it from the network, so decoding checks every length before it
 * hands out a single frame.
 */
#include "mig_frames.h"
#include "errmsg.h"
#include "le.h"

#include <string.h>

#define ETH_HEADER 14u

void mig_frames_start(struct mig_frames *b, uint8_t *buf)
{
	b->buf = buf;
	b->len = 4;
	b->count = 0;
	put32(buf, 0);
}

int mig_frames_add(struct mig_frames *b, const uint8_t *frame, size_t len)
{
	if (b->count >= MIG_FRAMES_MAX || len < ETH_HEADER || len > HEDGE_NET_FRAME_MAX)
		return -1;
	put32(b->buf + b->len, (uint32_t)len);
	memcpy(b->buf + b->len + 4, frame, len);
	b->len += 4 + len;
	put32(b->buf, ++b->count);
	return 0;
}

/* Walks the batch; with each NULL it only checks. */
static int walk(const uint8_t *p, size_t len, int (*each)(void *, const uint8_t *, size_t),
                void *ctx, char *why, size_t whylen)
{
	if (len < 4)
		return set_err(why, whylen, "network frames: batch shorter than its count");
	uint32_t count = get32(p);
	if (count > MIG_FRAMES_MAX)
		return set_err(why, whylen, "network frames: %u frames, more than %u", count,
		               MIG_FRAMES_MAX);
	size_t off = 4;
	for (uint32_t i = 0; i < count; i++) {
		if (len - off < 4)
			return set_err(why, whylen, "network frames: batch ends inside frame %u",
			               i);
		uint32_t n = get32(p + off);
		off += 4;
		if (n < ETH_HEADER || n > HEDGE_NET_FRAME_MAX)
			return set_err(why, whylen, "network frames: frame %u has length %u", i, n);
		if (len - off < n)
			return set_err(why, whylen, "network frames: batch ends inside frame %u",
			               i);
		if (each) {
			int rc = each(ctx, p + off, n);
			if (rc)
				return rc;
		}
		off += n;
	}
	if (off != len)
		return set_err(why, whylen, "network frames: %zu bytes after the last frame",
		               len - off);
	return 0;
}

int mig_frames_decode(const uint8_t *p, size_t len,
                      int (*each)(void *ctx, const uint8_t *frame, size_t len), void *ctx,
                      char *why, size_t whylen)
{
	if (walk(p, len, NULL, NULL, why, whylen))
		return -1;
	return walk(p, len, each, ctx, why, whylen);
}
