/*
 * malloc_stress.c - hammers the guest heap and checks every block's contents.
 *
 * Random malloc/calloc/realloc/free with sizes from 1 byte to 256 KiB; each
 * live block holds a pattern derived from its slot, verified before it is
 * touched again.  Exits 0 only if every check held and all memory came back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hedge_heap.h"

#define SLOTS 1024

struct slot {
	uint8_t *ptr;
	size_t size;
	uint8_t seed;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static size_t random_size(void)
{
	uint64_t r = rng();
	switch (r % 4) {
	case 0:
		return 1 + (r >> 8) % 64;
	case 1:
		return 1 + (r >> 8) % 1024;
	case 2:
		return 1 + (r >> 8) % 16384;
	default:
		return 1 + (r >> 8) % (256 * 1024);
	}
}

static void fill(struct slot *s)
{
	for (size_t i = 0; i < s->size; i++)
		s->ptr[i] = (uint8_t)(s->seed + i * 31);
}

static int check(const struct slot *s, size_t upto)
{
	for (size_t i = 0; i < upto; i++)
		if (s->ptr[i] != (uint8_t)(s->seed + i * 31))
			return -1;
	return 0;
}

int main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 200000;
	static struct slot slots[SLOTS];
	int errors = 0;
	struct heap_stats st;
	heap_get_stats(&st);
	size_t in_use_before = st.in_use; /* the runtime's own argv and environ */

	for (long op = 0; op < ops && errors < 10; op++) {
		struct slot *s = &slots[rng() % SLOTS];
		if (s->ptr && check(s, s->size)) {
			printf("FAIL corrupted block of %zu bytes at op %ld\n", s->size, op);
			errors++;
		}
		uint64_t action = rng() % 3;
		if (s->ptr && action == 0) {
			free(s->ptr);
			s->ptr = NULL;
			continue;
		}
		if (s->ptr && action == 1) {
			size_t size = random_size();
			uint8_t *p = realloc(s->ptr, size);
			if (!p) {
				printf("FAIL realloc(%zu) returned NULL\n", size);
				errors++;
				continue;
			}
			s->ptr = p;
			if (check(s, size < s->size ? size : s->size)) {
				printf("FAIL realloc lost contents at op %ld\n", op);
				errors++;
			}
			s->size = size;
			fill(s);
			continue;
		}
		free(s->ptr);
		s->size = random_size();
		s->seed = (uint8_t)rng();
		s->ptr = (op & 1) ? malloc(s->size) : calloc(1, s->size);
		if (!s->ptr) {
			printf("FAIL allocation of %zu returned NULL\n", s->size);
			errors++;
			continue;
		}
		if (((uintptr_t)s->ptr & 15) != 0) {
			printf("FAIL block %p is not 16-byte aligned\n", (void *)s->ptr);
			errors++;
		}
		if (!(op & 1))
			for (size_t i = 0; i < s->size; i++)
				if (s->ptr[i] != 0) {
					printf("FAIL calloc memory not zero\n");
					errors++;
					break;
				}
		fill(s);
	}
	for (int i = 0; i < SLOTS; i++)
		free(slots[i].ptr);

	heap_get_stats(&st);
	if (st.in_use != in_use_before) {
		printf("FAIL %zu bytes still in use after freeing everything\n",
		       st.in_use - in_use_before);
		errors++;
	}
	void *big = malloc(st.arena_size / 2);
	if (!big) {
		printf("FAIL cannot allocate half the arena after freeing everything\n");
		errors++;
	}
	free(big);
	printf("malloc_stress: %ld ops, peak %zu KiB in use, arena %zu KiB: %s\n", ops,
	       st.peak_in_use / 1024, st.arena_size / 1024, errors ? "FAIL" : "ok");
	return errors ? 1 : 0;
}
