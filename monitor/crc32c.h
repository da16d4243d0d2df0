/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum of every snapshot section.
 */
#ifndef HEDGE_CRC32C_H
#define HEDGE_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * Continues crc over len bytes; start with crc = 0.  crc32c(crc32c(0, a), b)
 * equals the CRC of a followed by b, so data can be checksummed in pieces.
 */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);

/* The same with the portable table code, whatever the CPU offers (for tests). */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);

#endif
