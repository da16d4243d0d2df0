/*
 * sys_arch.c - lwIP's platform layer in the hedge guest.
 *
 * lwIP with NO_SYS needs a millisecond clock, random numbers, somewhere to
 * report failed assertions and (with MEM_LIBC_MALLOC) an allocator.  The
 * clock is the guest's TSC-based monotonic clock, so reading it costs no
 * exit.  Randomness is a xoshiro256** generator seeded once from the
 * host's random source: LWIP_RAND is called per connection and a
 * hypercall each time would cost more than the connection set-up.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "hedge_heap.h"
#include "lwip/arch.h"
#include "lwip/ip_addr.h"
#include "lwip/sys.h"
#include "net_internal.h"

u32_t sys_now(void)
{
	return (u32_t)(hedge_clock_monotonic_ns() / 1000000u);
}

_Noreturn void hedge_lwip_assert(const char *msg, const char *file, int line)
{
	hedge_abort("lwIP assertion failed: %s (%s:%d)", msg, file, line);
}

/* --- randomness --- */

static uint64_t rng[4];
static bool rng_seeded;
/* Key of the sequence-number hash (RFC 6528), drawn with the generator's seed. */
static uint64_t isn_key[2];

static void rng_seed(void)
{
	uint64_t seed[6];
	if (hedge_random(seed, sizeof(seed)) != 0) {
		/* Should not happen; the clock is a poor but non-constant fallback. */
		for (int i = 0; i < 6; i++)
			seed[i] = hedge_clock_monotonic_ns() * 0x9e3779b97f4a7c15ull + (uint64_t)i;
	}
	memcpy(rng, seed, sizeof(rng));
	if ((rng[0] | rng[1] | rng[2] | rng[3]) == 0)
		rng[0] = 1; /* the all-zero state is a fixed point */
	isn_key[0] = seed[4];
	isn_key[1] = seed[5];
	rng_seeded = true;
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
	if (!rng_seeded)
		rng_seed();
	uint64_t result = rotl(rng[1] * 5, 7) * 9;
	uint64_t t = rng[1] << 17;
	rng[2] ^= rng[0];
	rng[3] ^= rng[1];
	rng[1] ^= rng[2];
	rng[0] ^= rng[3];
	rng[2] ^= t;
	rng[3] = rotl(rng[3], 45);
	return result;
}

uint32_t hedge_lwip_rand(void)
{
	return (uint32_t)(rng_next() >> 32);
}

/* SipHash-2-4 of one 16-byte message: the keyed hash RFC 6528 asks for. */
#define SIPROUND                   \
	do {                       \
		v0 += v1;          \
		v1 = rotl(v1, 13); \
		v1 ^= v0;          \
		v0 = rotl(v0, 32); \
		v2 += v3;          \
		v3 = rotl(v3, 16); \
		v3 ^= v2;          \
		v0 += v3;          \
		v3 = rotl(v3, 21); \
		v3 ^= v0;          \
		v2 += v1;          \
		v1 = rotl(v1, 17); \
		v1 ^= v2;          \
		v2 = rotl(v2, 32); \
	} while (0)

static uint64_t siphash16(const uint64_t key[2], uint64_t m0, uint64_t m1)
{
	uint64_t v0 = key[0] ^ 0x736f6d6570736575ull;
	uint64_t v1 = key[1] ^ 0x646f72616e646f6dull;
	uint64_t v2 = key[0] ^ 0x6c7967656e657261ull;
	uint64_t v3 = key[1] ^ 0x7465646279746573ull;
	uint64_t words[3] = {m0, m1, (uint64_t)16 << 56};
	for (int i = 0; i < 3; i++) {
		v3 ^= words[i];
		SIPROUND;
		SIPROUND;
		v0 ^= words[i];
	}
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

unsigned int hedge_tcp_isn(const void *local_ip, unsigned short local_port, const void *remote_ip,
                           unsigned short remote_port)
{
	if (!rng_seeded)
		rng_seed();
	const ip_addr_t *lip = local_ip, *rip = remote_ip;
	uint64_t m0 = ((uint64_t)ip_2_ip4(lip)->addr << 32) | ip_2_ip4(rip)->addr;
	uint64_t m1 = ((uint64_t)local_port << 16) | remote_port;
	/* The clock term advances once per 4 microseconds, as RFC 6528 suggests. */
	uint32_t clock = (uint32_t)(hedge_clock_monotonic_ns() / 4000u);
	return (unsigned int)(clock + (uint32_t)siphash16(isn_key, m0, m1));
}

/* --- memory --- */

/*
 * lwIP's heap and the sockets' receive buffers share one budget so that a
 * flood of connections cannot take the memory the application needs.
 * Until set, it is a quarter of guest memory, at least 4 MiB.
 */
static size_t mem_limit;
static size_t mem_used;

void net_mem_set_limit(size_t bytes)
{
	mem_limit = bytes;
}

size_t net_mem_in_use(void)
{
	return mem_used;
}

static void default_limit(void)
{
	if (mem_limit == 0) {
		uint64_t quarter = hedge_mem_size() / 4;
		mem_limit = quarter < (4u << 20) ? (4u << 20) : (size_t)quarter;
	}
}

size_t net_mem_available(void)
{
	default_limit();
	return mem_used >= mem_limit ? 0 : mem_limit - mem_used;
}

void *net_mem_alloc(size_t size)
{
	default_limit();
	if (mem_used > mem_limit || size > mem_limit - mem_used)
		return NULL;
	void *p = malloc(size);
	if (p)
		mem_used += heap_usable_size(p);
	return p;
}

void net_mem_free(void *ptr)
{
	if (!ptr)
		return;
	size_t n = heap_usable_size(ptr);
	mem_used = n > mem_used ? 0 : mem_used - n;
	free(ptr);
}

void *hedge_lwip_malloc(size_t size)
{
	return net_mem_alloc(size);
}

void *hedge_lwip_calloc(size_t count, size_t size)
{
	size_t total;
	if (__builtin_mul_overflow(count, size, &total))
		return NULL;
	void *p = net_mem_alloc(total);
	if (p)
		memset(p, 0, total);
	return p;
}

void hedge_lwip_free(void *ptr)
{
	net_mem_free(ptr);
}
