/*
 * stdlib.h - general utilities for the hedge guest: number parsing, sorting,
 * the heap allocator, and the process-control calls the runtime provides.
 */
#ifndef HEDGE_STDLIB_H
#define HEDGE_STDLIB_H

#include <stddef.h>

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1

typedef struct {
	int quot, rem;
} div_t;

typedef struct {
	long quot, rem;
} ldiv_t;

/* Number parsing (stdlib.c).  Overflow clamps and sets errno to ERANGE. */
long strtol(const char *restrict nptr, char **restrict endptr, int base);
unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base);
long long strtoll(const char *restrict nptr, char **restrict endptr, int base);
unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base);
int atoi(const char *nptr);
long atol(const char *nptr);
long long atoll(const char *nptr);

int abs(int value);
long labs(long value);
long long llabs(long long value);
div_t div(int numer, int denom);
ldiv_t ldiv(long numer, long denom);

void qsort(void *base, size_t count, size_t size, int (*compar)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t count, size_t size,
              int (*compar)(const void *, const void *));

/* The heap (heap.c); every pointer returned is 16-byte aligned. */
void *malloc(size_t size) __attribute__((malloc, alloc_size(1)));
void *calloc(size_t count, size_t size) __attribute__((malloc, alloc_size(1, 2)));
void *realloc(void *ptr, size_t size) __attribute__((alloc_size(2)));
void free(void *ptr);
void *aligned_alloc(size_t alignment, size_t size) __attribute__((malloc, alloc_size(2)));
int posix_memalign(void **memptr, size_t alignment, size_t size);

/* Provided by the guest runtime, not by this library. */
_Noreturn void exit(int status);
_Noreturn void abort(void);
char *getenv(const char *name);
int atexit(void (*fn)(void));
_Noreturn void _Exit(int status);

#endif /* HEDGE_STDLIB_H */
