/*
 * stdlib.c - number parsing, integer helpers, qsort and bsearch for the
 * hedge guest C library.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

/* gcc's <limits.h> cannot be used under -nostdinc, so use its predefines. */
#define MY_LLONG_MAX  __LONG_LONG_MAX__
#define MY_ULLONG_MAX (__LONG_LONG_MAX__ * 2ULL + 1)

_Static_assert(sizeof(long) == sizeof(long long), "strtol is strtoll on LP64");
_Static_assert(sizeof(intmax_t) == sizeof(long long), "strtoimax is strtoll on LP64");

/* Value of an ASCII digit or letter in bases up to 36; 99 for anything else. */
static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 10;
	return 99;
}

struct parsed_number {
	unsigned long long magnitude;
	bool negative;
	bool overflow; /* magnitude did not fit; magnitude is meaningless */
};

/*
 * The common part of the strto* family: whitespace, sign, base prefix and
 * digits, with the magnitude accumulated as unsigned so that each caller can
 * apply its own range.
 */
static struct parsed_number parse_number(const char *nptr, char **endptr, int base)
{
	struct parsed_number num = {0, false, false};
	const char *s = nptr;
	bool any_digit = false;

	if (base < 0 || base == 1 || base > 36) {
		errno = EINVAL;
		if (endptr)
			*endptr = (char *)nptr;
		return num;
	}
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '-' || *s == '+')
		num.negative = *s++ == '-';
	/* "0x" is a prefix only if a hex digit follows; else "0" is the number. */
	if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') &&
	    digit_value(s[2]) < 16) {
		s += 2;
		base = 16;
	} else if (base == 0) {
		base = s[0] == '0' ? 8 : 10;
	}
	for (;; s++) {
		int digit = digit_value(*s);

		if (digit >= base)
			break;
		any_digit = true;
		if (num.magnitude > (MY_ULLONG_MAX - digit) / base)
			num.overflow = true;
		else
			num.magnitude = num.magnitude * base + digit;
	}
	if (endptr)
		*endptr = (char *)(any_digit ? s : nptr);
	if (!any_digit)
		num.negative = false;
	return num;
}

unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base)
{
	struct parsed_number num = parse_number(nptr, endptr, base);

	if (num.overflow) {
		errno = ERANGE;
		return MY_ULLONG_MAX;
	}
	/* C says a minus sign negates in the unsigned type: "-1" is the max. */
	return num.negative ? 0 - num.magnitude : num.magnitude;
}

long long strtoll(const char *restrict nptr, char **restrict endptr, int base)
{
	struct parsed_number num = parse_number(nptr, endptr, base);
	unsigned long long limit =
	    num.negative ? (unsigned long long)MY_LLONG_MAX + 1 : MY_LLONG_MAX;

	if (num.overflow || num.magnitude > limit) {
		errno = ERANGE;
		return num.negative ? -MY_LLONG_MAX - 1 : MY_LLONG_MAX;
	}
	/* gcc converts out-of-range unsigned to signed modulo 2^64, so -2^63 works. */
	return num.negative ? (long long)(0 - num.magnitude) : (long long)num.magnitude;
}

long strtol(const char *restrict nptr, char **restrict endptr, int base)
{
	return strtoll(nptr, endptr, base);
}

unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base)
{
	return strtoull(nptr, endptr, base);
}

intmax_t strtoimax(const char *restrict nptr, char **restrict endptr, int base)
{
	return strtoll(nptr, endptr, base);
}

uintmax_t strtoumax(const char *restrict nptr, char **restrict endptr, int base)
{
	return strtoull(nptr, endptr, base);
}

int atoi(const char *nptr)
{
	return (int)strtol(nptr, NULL, 10);
}

long atol(const char *nptr)
{
	return strtol(nptr, NULL, 10);
}

long long atoll(const char *nptr)
{
	return strtoll(nptr, NULL, 10);
}

int abs(int value)
{
	return value < 0 ? -value : value;
}

long labs(long value)
{
	return value < 0 ? -value : value;
}

long long llabs(long long value)
{
	return value < 0 ? -value : value;
}

div_t div(int numer, int denom)
{
	div_t result = {numer / denom, numer % denom};

	return result;
}

ldiv_t ldiv(long numer, long denom)
{
	ldiv_t result = {numer / denom, numer % denom};

	return result;
}

/*
 * qsort is an introsort: quicksort with median-of-three pivots, heapsort once
 * the recursion gets suspiciously deep (so adversarial input stays
 * O(n log n)), and insertion sort for the short runs quicksort leaves.
 */
#define INSERTION_SORT_MAX 12

struct sort_ctx {
	char *base;
	size_t size;
	int (*compar)(const void *, const void *);
	bool by_words; /* elements can be swapped 8 bytes at a time */
};

static inline char *elem(const struct sort_ctx *ctx, size_t index)
{
	return ctx->base + index * ctx->size;
}

static inline int compare(const struct sort_ctx *ctx, size_t a, size_t b)
{
	return ctx->compar(elem(ctx, a), elem(ctx, b));
}

static void swap(const struct sort_ctx *ctx, size_t a, size_t b)
{
	if (a == b)
		return;
	if (ctx->by_words) {
		uint64_t *pa = (uint64_t *)elem(ctx, a), *pb = (uint64_t *)elem(ctx, b);

		for (size_t i = 0; i < ctx->size / 8; i++) {
			uint64_t tmp = pa[i];

			pa[i] = pb[i];
			pb[i] = tmp;
		}
	} else {
		char *pa = elem(ctx, a), *pb = elem(ctx, b);

		for (size_t i = 0; i < ctx->size; i++) {
			char tmp = pa[i];

			pa[i] = pb[i];
			pb[i] = tmp;
		}
	}
}

static void insertion_sort(const struct sort_ctx *ctx, size_t lo, size_t count)
{
	for (size_t i = lo + 1; i < lo + count; i++) {
		for (size_t j = i; j > lo && compare(ctx, j - 1, j) > 0; j--)
			swap(ctx, j - 1, j);
	}
}

/* Restores the max-heap property below node root of the heap at lo. */
static void sift_down(const struct sort_ctx *ctx, size_t lo, size_t root, size_t count)
{
	for (;;) {
		size_t child = 2 * root + 1;

		if (child >= count)
			return;
		if (child + 1 < count && compare(ctx, lo + child, lo + child + 1) < 0)
			child++;
		if (compare(ctx, lo + root, lo + child) >= 0)
			return;
		swap(ctx, lo + root, lo + child);
		root = child;
	}
}

static void heap_sort(const struct sort_ctx *ctx, size_t lo, size_t count)
{
	for (size_t i = count / 2; i-- > 0;)
		sift_down(ctx, lo, i, count);
	for (size_t end = count - 1; end > 0; end--) {
		swap(ctx, lo, lo + end);
		sift_down(ctx, lo, 0, end);
	}
}

static void intro_sort(const struct sort_ctx *ctx, size_t lo, size_t count, unsigned depth_left)
{
	while (count > INSERTION_SORT_MAX) {
		if (!depth_left--) {
			heap_sort(ctx, lo, count);
			return;
		}
		size_t mid = lo + count / 2, hi = lo + count - 1;

		/* Order lo <= mid <= hi, then park the median at lo as pivot. */
		if (compare(ctx, mid, lo) < 0)
			swap(ctx, mid, lo);
		if (compare(ctx, hi, lo) < 0)
			swap(ctx, hi, lo);
		if (compare(ctx, hi, mid) < 0)
			swap(ctx, hi, mid);
		swap(ctx, lo, mid);

		/*
		 * Hoare partition.  Both scans stop on elements equal to the
		 * pivot, which keeps runs of duplicates balanced; a[hi] >= pivot
		 * and the pivot itself act as sentinels for the two scans.
		 */
		size_t i = lo, j = hi + 1;

		for (;;) {
			do
				i++;
			while (i < hi && compare(ctx, i, lo) < 0);
			do
				j--;
			while (j > lo && compare(ctx, j, lo) > 0);
			if (i >= j)
				break;
			swap(ctx, i, j);
		}
		swap(ctx, lo, j);

		/* Recurse into the smaller side so the stack stays O(log n). */
		size_t left = j - lo, right = hi - j;

		if (left < right) {
			intro_sort(ctx, lo, left, depth_left);
			lo = j + 1;
			count = right;
		} else {
			intro_sort(ctx, j + 1, right, depth_left);
			count = left;
		}
	}
	insertion_sort(ctx, lo, count);
}

void qsort(void *base, size_t count, size_t size, int (*compar)(const void *, const void *))
{
	struct sort_ctx ctx = {base, size, compar, false};
	unsigned depth = 0;

	if (count < 2 || size == 0)
		return;
	ctx.by_words = size % 8 == 0 && (uintptr_t)base % 8 == 0;
	for (size_t n = count; n > 1; n >>= 1)
		depth += 2;
	intro_sort(&ctx, 0, count, depth);
}

void *bsearch(const void *key, const void *base, size_t count, size_t size,
              int (*compar)(const void *, const void *))
{
	const char *lo = base;

	while (count > 0) {
		const char *mid = lo + (count / 2) * size;
		int order = compar(key, mid);

		if (order == 0)
			return (void *)mid;
		if (order > 0) {
			lo = mid + size;
			count -= count / 2 + 1;
		} else {
			count /= 2;
		}
	}
	return NULL;
}
