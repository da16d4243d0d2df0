/*
 * mig_frames.h - the batch of network frames a migration carries from the
 * source's TAP to the target's guest: what reached the source while its VM
 * was paused, which would otherwise be lost.
 *
 * Encoding (little endian): u32 count (at most HEDGE_NET_SLOTS, what the
 * guest's receive ring holds), then count times {u32 length, the frame},
 * each length between an Ethernet header (14) and HEDGE_NET_FRAME_MAX.
 */
#ifndef HEDGE_MIG_FRAMES_H
#define HEDGE_MIG_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "hedge_abi.h"

#define MIG_FRAMES_MAX   HEDGE_NET_SLOTS
#define MIG_FRAMES_BYTES (4u + MIG_FRAMES_MAX * (4u + HEDGE_NET_FRAME_MAX))

/* A batch being filled; buf holds MIG_FRAMES_BYTES. */
struct mig_frames {
	uint8_t *buf;
	size_t len;
	uint32_t count;
};

void mig_frames_start(struct mig_frames *b, uint8_t *buf);
/* Appends one frame: 0, or -1 if the batch is full or len is not a frame's. */
int mig_frames_add(struct mig_frames *b, const uint8_t *frame, size_t len);

/*
 * Checks a received batch completely, then calls each(ctx, frame, len) for
 * every frame in order.  0, or -1 with a one-line reason (nothing delivered);
 * each returning non-zero stops it with that value.
 */
int mig_frames_decode(const uint8_t *p, size_t len,
                      int (*each)(void *ctx, const uint8_t *frame, size_t len), void *ctx,
                      char *why, size_t whylen);

#endif
