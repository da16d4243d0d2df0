/*
 * arch/cc.h - lwIP's compiler and platform glue for the hedge guest.
 *
 * The guest is freestanding x86_64 (little endian, LP64) with hedge's own
 * small C library; the functions named here live in guest/net/sys_arch.c.
 */
#ifndef HEDGE_LWIP_ARCH_CC_H
#define HEDGE_LWIP_ARCH_CC_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BYTE_ORDER LITTLE_ENDIAN

/* No <unistd.h> in the guest: give lwIP the LP64 ssize_t it would find there. */
#define LWIP_NO_UNISTD_H 1
typedef long ssize_t;
#define SSIZE_MAX LONG_MAX

/* Byte swaps compile to single instructions instead of lwIP's C loops. */
#define lwip_htons(x) ((uint16_t)__builtin_bswap16((uint16_t)(x)))
#define lwip_htonl(x) ((uint32_t)__builtin_bswap32((uint32_t)(x)))

uint32_t hedge_lwip_rand(void);
#define LWIP_RAND() hedge_lwip_rand()

#define LWIP_PLATFORM_DIAG(x) \
	do {                  \
		printf x;     \
	} while (0)

_Noreturn void hedge_lwip_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_ASSERT(x) hedge_lwip_assert((x), __FILE__, __LINE__)

#endif /* HEDGE_LWIP_ARCH_CC_H */
