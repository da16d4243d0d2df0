/*
 * sha256.h - SHA-256 (FIPS 180-4), for image digests and build-cache keys.
 */
#ifndef HEDGE_SHA256_H
#define HEDGE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32
#define SHA256_HEX_LEN    64

struct sha256_ctx {
	uint32_t state[8];
	uint64_t total_bytes;
	uint8_t block[64];
	size_t block_used;
};

void sha256_init(struct sha256_ctx *ctx);
void sha256_update(struct sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(struct sha256_ctx *ctx, uint8_t digest[SHA256_DIGEST_LEN]);

/* One-shot digest of a buffer. */
void sha256(const void *data, size_t len, uint8_t digest[SHA256_DIGEST_LEN]);

/* Lower-case hex of a digest; hex must hold SHA256_HEX_LEN + 1 bytes. */
void sha256_hex(const uint8_t digest[SHA256_DIGEST_LEN], char *hex);

#endif
