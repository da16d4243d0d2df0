/* sort - sorts N pseudo-random 64-bit integers: sort [N]  (default 16000000)
 * Our own quicksort (median of three, insertion sort for short runs, the
 * smaller side recursed so the stack stays O(log N)), then checks the order
 * and prints a checksum of the sorted array. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

static void insertion_sort(uint64_t *a, long n)
{
	for (long i = 1; i < n; i++) {
		uint64_t v = a[i];
		long j = i - 1;
		while (j >= 0 && a[j] > v) {
			a[j + 1] = a[j];
			j--;
		}
		a[j + 1] = v;
	}
}

static inline void swap(uint64_t *a, uint64_t *b)
{
	uint64_t t = *a;
	*a = *b;
	*b = t;
}

static void quicksort(uint64_t *a, long n)
{
	while (n > 24) {
		long mid = n / 2;
		/* Median of three to a[mid]; a[0] <= a[mid] <= a[n-1]. */
		if (a[mid] < a[0])
			swap(&a[mid], &a[0]);
		if (a[n - 1] < a[0])
			swap(&a[n - 1], &a[0]);
		if (a[n - 1] < a[mid])
			swap(&a[n - 1], &a[mid]);
		uint64_t pivot = a[mid];
		long i = 0, j = n - 1;
		for (;;) { /* Hoare partition */
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			swap(&a[i], &a[j]);
			i++;
			j--;
		}
		long left = j + 1; /* a[0..j] <= pivot <= a[j+1..n-1] */
		if (left < n - left) {
			quicksort(a, left);
			a += left;
			n -= left;
		} else {
			quicksort(a + left, n - left);
			n = left;
		}
	}
	insertion_sort(a, n);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 16000000;
	if (n < 1 || n > 100000000) {
		fprintf(stderr, "sort: N must be 1..100000000\n");
		return 2;
	}
	uint64_t *a = malloc((size_t)n * sizeof *a);
	if (!a) {
		fprintf(stderr, "sort: out of memory for N=%ld\n", n);
		return 1;
	}
	uint64_t x = 88172645463325252ull; /* xorshift64* */
	for (long i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		a[i] = x * 2685821657736338717ull;
	}
	quicksort(a, n);
	uint64_t sum = 0;
	for (long i = 0; i < n; i++) {
		if (i > 0 && a[i - 1] > a[i]) {
			printf("sort: NOT SORTED at %ld\n", i);
			return 1;
		}
		sum = sum * 1000003u + a[i];
	}
	printf("sort n=%ld min=%016" PRIx64 " median=%016" PRIx64 " max=%016" PRIx64
	       " checksum=%016" PRIx64 "\n",
	       n, a[0], a[n / 2], a[n - 1], sum);
	free(a);
	return 0;
}
