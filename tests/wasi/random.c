/* random - random_get fills exactly the bytes asked for, with bytes that
 * look random, and two calls differ. */
#include <unistd.h>

#include "check.h"

static int all_equal(const uint8_t *p, size_t n, uint8_t v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

int main(void)
{
	check_init();
	static uint8_t a[32], b[32], guard[48], big[65536];

	CHECK_OK(__wasi_random_get(a, 0));
	CHECK_OK(__wasi_random_get(a, sizeof a));
	CHECK_OK(__wasi_random_get(b, sizeof b));
	check(!all_equal(a, sizeof a, 0), "32 random bytes are not all zero");
	check(memcmp(a, b, sizeof a) != 0, "two calls return different bytes");

	/* Only the bytes asked for change. */
	memset(guard, 0xa5, sizeof guard);
	CHECK_OK(__wasi_random_get(guard + 8, 32));
	check(all_equal(guard, 8, 0xa5) && all_equal(guard + 40, 8, 0xa5),
	      "bytes around the requested range are untouched");
	check(!all_equal(guard + 8, 32, 0xa5), "the requested range was filled");

	/* A large request, with plausible statistics. */
	memset(big, 0, sizeof big);
	if (CHECK_OK(__wasi_random_get(big, sizeof big))) {
		unsigned counts[256] = {0};
		unsigned long ones = 0;
		for (size_t i = 0; i < sizeof big; i++) {
			counts[big[i]]++;
			ones += (unsigned long)__builtin_popcount(big[i]);
		}
		unsigned seen = 0, max = 0;
		for (int v = 0; v < 256; v++) {
			seen += counts[v] != 0;
			if (counts[v] > max)
				max = counts[v];
		}
		/* Expected 256 per value; 600 is > 20 standard deviations away. */
		check(seen == 256 && max < 600,
		      "64 KiB: all 256 byte values occur, none over 600 times (max %u)", max);
		double frac = (double)ones / (sizeof big * 8.0);
		check(frac > 0.49 && frac < 0.51, "64 KiB: %.4f of the bits are set", frac);
		check(!all_equal(big + sizeof big - 64, 64, 0),
		      "the last bytes of 64 KiB were filled too");
	}

	/* wasi-libc's getentropy and arc4random use random_get. */
	uint8_t e1[16] = {0}, e2[16] = {0};
	check(getentropy(e1, sizeof e1) == 0 && getentropy(e2, sizeof e2) == 0 &&
	          memcmp(e1, e2, sizeof e1) != 0,
	      "getentropy() twice gives different bytes");
	return check_done("random");
}
