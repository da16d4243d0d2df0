/*
 * test_guestlib.c - host tests for the guest C library (guest/lib).
 *
 * The Makefile compiles the library with the guest flags and renames every
 * symbol to hg_<name>, so here hg_snprintf can be checked against the host's
 * snprintf, hg_strtol against strtol, and so on, side by side.  The heap is
 * exercised on a host mmap region standing in for guest memory.
 *
 * Prints "ok NAME" or "FAIL NAME: reason" per case, then "N passed, N failed".
 */
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* Guest headers that do not clash with the host's. */
#include "../../guest/include/ctype.h"
#include "../../guest/include/hedge_heap.h"

/* The guest library under its hg_ names. */
extern int hg_errno;
void *hg_memcpy(void *dst, const void *src, size_t n);
void *hg_memmove(void *dst, const void *src, size_t n);
void *hg_memset(void *dst, int c, size_t n);
int hg_memcmp(const void *a, const void *b, size_t n);
void *hg_memchr(const void *s, int c, size_t n);
size_t hg_strlen(const char *s);
size_t hg_strnlen(const char *s, size_t maxlen);
int hg_strcmp(const char *a, const char *b);
int hg_strncmp(const char *a, const char *b, size_t n);
int hg_strcasecmp(const char *a, const char *b);
int hg_strncasecmp(const char *a, const char *b, size_t n);
char *hg_strcpy(char *dst, const char *src);
char *hg_strncpy(char *dst, const char *src, size_t n);
char *hg_strcat(char *dst, const char *src);
char *hg_strncat(char *dst, const char *src, size_t n);
char *hg_strchr(const char *s, int c);
char *hg_strrchr(const char *s, int c);
char *hg_strstr(const char *haystack, const char *needle);
char *hg_strpbrk(const char *s, const char *accept);
size_t hg_strspn(const char *s, const char *accept);
size_t hg_strcspn(const char *s, const char *reject);
char *hg_strtok_r(char *s, const char *delim, char **saveptr);
char *hg_strdup(const char *s);
char *hg_strndup(const char *s, size_t n);
char *hg_strerror(int errnum);

long hg_strtol(const char *nptr, char **endptr, int base);
unsigned long hg_strtoul(const char *nptr, char **endptr, int base);
long long hg_strtoll(const char *nptr, char **endptr, int base);
unsigned long long hg_strtoull(const char *nptr, char **endptr, int base);
int hg_atoi(const char *nptr);
long hg_atol(const char *nptr);
int hg_abs(int value);
long hg_labs(long value);
long long hg_llabs(long long value);
void hg_qsort(void *base, size_t count, size_t size, int (*compar)(const void *, const void *));
void *hg_bsearch(const void *key, const void *base, size_t count, size_t size,
                 int (*compar)(const void *, const void *));

void *hg_malloc(size_t size);
void *hg_calloc(size_t count, size_t size);
void *hg_realloc(void *ptr, size_t size);
void hg_free(void *ptr);
void *hg_aligned_alloc(size_t alignment, size_t size);
int hg_posix_memalign(void **memptr, size_t alignment, size_t size);
void hg_heap_init(void *start, size_t size);
void hg_heap_get_stats(struct heap_stats *stats);
size_t hg_heap_usable_size(void *ptr);
void hg_heap_check(void);

int hg_vcbprintf(void (*emit)(void *ctx, const char *s, size_t n), void *ctx, const char *fmt,
                 va_list ap);
int hg_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int hg_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int hg_sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- test harness ---- */

static int cases_passed, cases_failed;
static int case_errors;
static char case_reason[1024];
static jmp_buf case_abort;

/* Records a failed check; the first reason is the one reported. */
static void __attribute__((format(printf, 1, 2))) fail(const char *fmt, ...)
{
	if (getenv("TEST_VERBOSE")) {
		va_list ap;

		va_start(ap, fmt);
		fputs("  check failed: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	if (!case_errors++) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(case_reason, sizeof(case_reason), fmt, ap);
		va_end(ap);
	}
}

#define CHECK(cond, ...)                   \
	do {                               \
		if (!(cond))               \
			fail(__VA_ARGS__); \
	} while (0)

/* Set by tests that provoke heap_corruption on purpose. */
static bool corruption_expected;
static jmp_buf corruption_jump;
static const char *corruption_what;

_Noreturn void hg_heap_corruption(const char *what, void *ptr)
{
	corruption_what = what;
	if (corruption_expected)
		longjmp(corruption_jump, 1);
	fail("unexpected heap_corruption: %s (%p)", what, ptr);
	longjmp(case_abort, 1);
}

static void run_case(const char *name, void (*fn)(void))
{
	case_errors = 0;
	corruption_expected = false;
	if (!setjmp(case_abort))
		fn();
	if (case_errors) {
		if (case_errors > 1)
			printf("FAIL %s: %s (and %d more)\n", name, case_reason, case_errors - 1);
		else
			printf("FAIL %s: %s\n", name, case_reason);
		cases_failed++;
	} else {
		printf("ok %s\n", name);
		cases_passed++;
	}
	fflush(stdout);
}

/* xorshift64*: reproducible across runs, so failures can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd_below(uint64_t limit)
{
	return rnd() % limit;
}

static int sign_of(int v)
{
	return (v > 0) - (v < 0);
}

/* A guest heap on a fresh mmap region; freed with unmap_region. */
static void *map_region(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void *small_heap;
#define SMALL_HEAP_SIZE (16u << 20)

static void reset_small_heap(void)
{
	if (small_heap)
		munmap(small_heap, SMALL_HEAP_SIZE);
	small_heap = map_region(SMALL_HEAP_SIZE);
	hg_heap_init(small_heap, SMALL_HEAP_SIZE);
}

/* ---- string.h ---- */

static void test_mem_functions(void)
{
	static unsigned char src[1024], dst_host[1100], dst_guest[1100];

	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rnd_below(iter < 10000 ? 40 : 700);
		size_t src_off = rnd_below(16), dst_off = rnd_below(16);

		for (size_t i = 0; i < sizeof(src); i++)
			src[i] = (unsigned char)rnd();
		memset(dst_host, 0x5a, sizeof(dst_host));
		memset(dst_guest, 0x5a, sizeof(dst_guest));
		CHECK(hg_memcpy(dst_guest + dst_off, src + src_off, n) == dst_guest + dst_off,
		      "memcpy return value");
		memcpy(dst_host + dst_off, src + src_off, n);
		CHECK(!memcmp(dst_host, dst_guest, sizeof(dst_host)), "memcpy n=%zu", n);

		int c = (int)rnd_below(256);

		CHECK(hg_memset(dst_guest + dst_off, c, n) == dst_guest + dst_off, "memset return");
		memset(dst_host + dst_off, c, n);
		CHECK(!memcmp(dst_host, dst_guest, sizeof(dst_host)), "memset n=%zu", n);

		/* Overlapping moves in both directions, checked against the host. */
		memcpy(dst_host, src, sizeof(src));
		memcpy(dst_guest, src, sizeof(src));
		size_t from = rnd_below(300), to = rnd_below(300);

		CHECK(hg_memmove(dst_guest + to, dst_guest + from, n) == dst_guest + to,
		      "memmove ret");
		memmove(dst_host + to, dst_host + from, n);
		CHECK(!memcmp(dst_host, dst_guest, sizeof(dst_host)),
		      "memmove n=%zu from=%zu to=%zu", n, from, to);

		/* memcmp: equal buffers, then one differing byte. */
		memcpy(dst_host, src, n);
		CHECK(hg_memcmp(dst_host, src, n) == 0, "memcmp equal n=%zu", n);
		if (n) {
			size_t at = rnd_below(n);

			dst_host[at] = (unsigned char)rnd();
			CHECK(sign_of(hg_memcmp(dst_host, src, n)) ==
			          sign_of(memcmp(dst_host, src, n)),
			      "memcmp n=%zu at=%zu", n, at);
			int want = src[rnd_below(n)];

			CHECK(hg_memchr(src, want, n) == memchr(src, want, n), "memchr");
			CHECK(hg_memchr(src, want + 256, n) == memchr(src, want + 256, n),
			      "memchr converts c to unsigned char");
		}
	}
	CHECK(hg_memchr(src, 0, 0) == NULL, "memchr n=0");
}

/* A random string over a small alphabet, so searches find things. */
static void random_string(char *buf, size_t max_len, const char *alphabet)
{
	size_t len = rnd_below(max_len), alpha_len = strlen(alphabet);

	for (size_t i = 0; i < len; i++)
		buf[i] = alphabet[rnd_below(alpha_len)];
	buf[len] = '\0';
}

static void test_string_functions(void)
{
	char a[64], b[64], gbuf[200], hbuf[200];
	const char *alphabet = "abcAB \t,\x80\xff";

	for (int iter = 0; iter < 50000; iter++) {
		random_string(a, 12, alphabet);
		random_string(b, iter % 3 ? 4 : 12, alphabet);
		size_t n = rnd_below(16);

		CHECK(hg_strlen(a) == strlen(a), "strlen");
		CHECK(hg_strnlen(a, n) == strnlen(a, n), "strnlen");
		CHECK(sign_of(hg_strcmp(a, b)) == sign_of(strcmp(a, b)), "strcmp '%s' '%s'", a, b);
		CHECK(sign_of(hg_strncmp(a, b, n)) == sign_of(strncmp(a, b, n)), "strncmp");
		CHECK(sign_of(hg_strcasecmp(a, b)) == sign_of(strcasecmp(a, b)),
		      "strcasecmp '%s' '%s'", a, b);
		CHECK(sign_of(hg_strncasecmp(a, b, n)) == sign_of(strncasecmp(a, b, n)),
		      "strncasecmp");
		int c = (unsigned char)alphabet[rnd_below(strlen(alphabet) + 1)];

		CHECK(hg_strchr(a, c) == strchr(a, c), "strchr '%s' %d", a, c);
		CHECK(hg_strrchr(a, c) == strrchr(a, c), "strrchr '%s' %d", a, c);
		CHECK(hg_strstr(a, b) == strstr(a, b), "strstr '%s' '%s'", a, b);
		CHECK(hg_strspn(a, b) == strspn(a, b), "strspn");
		CHECK(hg_strcspn(a, b) == strcspn(a, b), "strcspn");
		CHECK(hg_strpbrk(a, b) == strpbrk(a, b), "strpbrk");

		memset(gbuf, 'x', sizeof(gbuf));
		memset(hbuf, 'x', sizeof(hbuf));
		CHECK(hg_strcpy(gbuf, a) == gbuf, "strcpy return");
		strcpy(hbuf, a);
		CHECK(!memcmp(gbuf, hbuf, sizeof(gbuf)), "strcpy");
		CHECK(hg_strcat(gbuf, b) == gbuf, "strcat return");
		strcat(hbuf, b);
		CHECK(!memcmp(gbuf, hbuf, sizeof(gbuf)), "strcat");
		hg_strncat(gbuf, a, n);
		strncat(hbuf, a, n);
		CHECK(!memcmp(gbuf, hbuf, sizeof(gbuf)), "strncat n=%zu", n);
		memset(gbuf, 'x', sizeof(gbuf));
		memset(hbuf, 'x', sizeof(hbuf));
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-truncation"
		hg_strncpy(gbuf, a, n);
		strncpy(hbuf, a, n);
#pragma GCC diagnostic pop
		CHECK(!memcmp(gbuf, hbuf, sizeof(gbuf)), "strncpy n=%zu", n);

		/* strtok_r over the same string and delimiters yields the same tokens. */
		char gtok[64], htok[64], *gsave, *hsave;

		strcpy(gtok, a);
		strcpy(htok, a);
		char *gt = hg_strtok_r(gtok, " ,", &gsave), *ht = strtok_r(htok, " ,", &hsave);

		for (;;) {
			CHECK((gt ? gt - gtok : -1) == (ht ? ht - htok : -1), "strtok_r '%s'", a);
			if (!gt || !ht)
				break;
			gt = hg_strtok_r(NULL, " ,", &gsave);
			ht = strtok_r(NULL, " ,", &hsave);
		}
		CHECK(!memcmp(gtok, htok, strlen(a) + 1), "strtok_r modifies like the host");
	}
	CHECK(hg_strstr("hello", "") != NULL && *hg_strstr("hello", "") == 'h',
	      "strstr empty needle");
	CHECK(hg_strstr("aaab", "aab") && !strcmp(hg_strstr("aaab", "aab"), "aab"),
	      "strstr backtrack");
	CHECK(hg_strchr("abc", '\0') && *hg_strchr("abc", '\0') == '\0', "strchr finds the NUL");

	reset_small_heap();
	char *dup = hg_strdup("guest heap string");

	CHECK(dup && !strcmp(dup, "guest heap string"), "strdup");
	char *ndup = hg_strndup("abcdef", 3), *ndup_long = hg_strndup("ab", 10);

	CHECK(ndup && !strcmp(ndup, "abc"), "strndup truncates");
	CHECK(ndup_long && !strcmp(ndup_long, "ab"), "strndup short source");
	hg_free(dup);
	hg_free(ndup);
	hg_free(ndup_long);
}

static void test_strerror(void)
{
	static const int required[] = {
	    EPERM,  ENOENT,  ESRCH,     EINTR,        EIO,       ENXIO,  E2BIG,     ENOEXEC,
	    EBADF,  ECHILD,  EAGAIN,    ENOMEM,       EACCES,    EFAULT, EBUSY,     EEXIST,
	    EXDEV,  ENODEV,  ENOTDIR,   EISDIR,       EINVAL,    ENFILE, EMFILE,    ENOTTY,
	    EFBIG,  ENOSPC,  ESPIPE,    EROFS,        EMLINK,    EPIPE,  EDOM,      ERANGE,
	    ENOSYS, ENOTSUP, EOVERFLOW, ENAMETOOLONG, ENOTEMPTY, ELOOP,  ETIMEDOUT,
	};
	int known = 0;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		CHECK(strcmp(hg_strerror(required[i]), "Unknown error"),
		      "strerror(%d) has no message", required[i]);
	for (int e = 0; e < 200; e++) {
		const char *mine = hg_strerror(e);

		if (!strcmp(mine, "Unknown error"))
			continue;
		known++;
		CHECK(!strcmp(mine, strerror(e)), "strerror(%d): '%s' vs host '%s'", e, mine,
		      strerror(e));
	}
	CHECK(known > 60, "only %d errno values have messages", known);
	CHECK(!strcmp(hg_strerror(-1), "Unknown error"), "strerror(-1)");
	CHECK(!strcmp(hg_strerror(100000), "Unknown error"), "strerror(100000)");
}

static void test_ctype(void)
{
	int digits = 0, alphas = 0, alnums = 0, spaces = 0, uppers = 0, lowers = 0, xdigits = 0;
	int prints = 0, puncts = 0, cntrls = 0, graphs = 0;

	for (int c = -1; c < 256; c++) {
		digits += !!isdigit(c);
		alphas += !!isalpha(c);
		alnums += !!isalnum(c);
		spaces += !!isspace(c);
		uppers += !!isupper(c);
		lowers += !!islower(c);
		xdigits += !!isxdigit(c);
		prints += !!isprint(c);
		puncts += !!ispunct(c);
		cntrls += !!iscntrl(c);
		graphs += !!isgraph(c);
		if (c >= 0 && c < 128)
			CHECK(!!isprint(c) != !!iscntrl(c), "%d is exactly one of print/cntrl", c);
		if (isupper(c))
			CHECK(tolower(c) == c + 32 && toupper(tolower(c)) == c, "case of %d", c);
		else if (!islower(c))
			CHECK(tolower(c) == c && toupper(c) == c, "case of %d unchanged", c);
	}
	CHECK(digits == 10 && alphas == 52 && alnums == 62 && spaces == 6,
	      "digit/alpha/space counts");
	CHECK(uppers == 26 && lowers == 26 && xdigits == 22, "upper/lower/xdigit counts");
	CHECK(prints == 95 && puncts == 32 && cntrls == 33 && graphs == 94,
	      "print %d punct %d cntrl %d graph %d", prints, puncts, cntrls, graphs);
	CHECK(isspace('\v') && isspace('\f') && !isspace('\0'), "isspace set");
}

/* ---- stdlib.h ---- */

static void compare_strto(const char *s, int base)
{
	char *gend = (char *)s, *hend = (char *)s;
	long gl, hl;
	unsigned long gul, hul;
	int gerr, herr;

	hg_errno = 0;
	gl = hg_strtol(s, &gend, base);
	gerr = hg_errno;
	errno = 0;
	hl = strtol(s, &hend, base);
	herr = errno;
	/* glibc leaves endptr alone for a bad base; we store nptr (and ASan garbles it). */
	bool bad_base = base < 0 || base == 1 || base > 36;

	if (bad_base)
		hend = gend;
	CHECK(gl == hl && gend == hend && gerr == herr,
	      "strtol(\"%s\", %d): %ld end+%td errno %d; host %ld end+%td errno %d", s, base, gl,
	      gend - s, gerr, hl, hend - s, herr);

	gend = hend = (char *)s;
	hg_errno = 0;
	gul = hg_strtoul(s, &gend, base);
	gerr = hg_errno;
	errno = 0;
	hul = strtoul(s, &hend, base);
	herr = errno;
	if (bad_base)
		hend = gend;
	CHECK(gul == hul && gend == hend && gerr == herr,
	      "strtoul(\"%s\", %d): %lu end+%td errno %d; host %lu end+%td errno %d", s, base, gul,
	      gend - s, gerr, hul, hend - s, herr);

	hg_errno = 0;
	errno = 0;
	CHECK(hg_strtoll(s, NULL, base) == strtoll(s, NULL, base) && hg_errno == errno,
	      "strtoll(\"%s\", %d)", s, base);
	hg_errno = 0;
	errno = 0;
	CHECK(hg_strtoull(s, NULL, base) == strtoull(s, NULL, base) && hg_errno == errno,
	      "strtoull(\"%s\", %d)", s, base);
}

static void test_strtol(void)
{
	static const char *const inputs[] = {
	    "0",
	    "1",
	    "-1",
	    "+1",
	    "  \t\n42xyz",
	    "-",
	    "+",
	    "",
	    "   ",
	    "x",
	    "0x",
	    "0X1f",
	    "0xg",
	    "-0x10",
	    "0x-1",
	    "077",
	    "08",
	    "0b101",
	    "z",
	    "Zz",
	    "9223372036854775807",
	    "9223372036854775808",
	    "-9223372036854775808",
	    "-9223372036854775809",
	    "18446744073709551615",
	    "18446744073709551616",
	    "-18446744073709551615",
	    "-18446744073709551616",
	    "99999999999999999999999999",
	    "-99999999999999999999999",
	    "0x7fffffffffffffff",
	    "0x8000000000000000",
	    "0xffffffffffffffff",
	    "0x10000000000000000",
	    "1777777777777777777777",
	    "2000000000000000000000",
	    "1y2p0ij32e8e7",
	    "1y2p0ij32e8e8",
	    "3w5e11264sgsf",
	    "3w5e11264sgsg",
	    " - 5",
	    "--5",
	    "+-5",
	    "12 34",
	    "1e5",
	    "0.5",
	    "  0x  1",
	};
	static const int bases[] = {0, 2, 8, 10, 16, 36, 1, 37, -1};

	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		for (size_t j = 0; j < sizeof(bases) / sizeof(bases[0]); j++)
			compare_strto(inputs[i], bases[j]);
	}
	for (int iter = 0; iter < 20000; iter++) {
		char buf[40];
		static const char chars[] = "0123456789abcdefxzXZ+- ";

		random_string(buf, 30, chars);
		compare_strto(buf, (int)rnd_below(37));
		snprintf(buf, sizeof(buf), "%" PRId64, (int64_t)rnd() >> rnd_below(64));
		compare_strto(buf, 0);
		snprintf(buf, sizeof(buf), "%#" PRIx64, rnd() >> rnd_below(64));
		compare_strto(buf, iter % 2 ? 0 : 16);
	}
	CHECK(hg_atoi("  -123abc") == -123 && hg_atol("4000000000") == 4000000000L, "atoi/atol");
	CHECK(hg_abs(-5) == 5 && hg_abs(7) == 7 && hg_labs(LONG_MIN + 1) == LONG_MAX &&
	          hg_llabs(-3LL) == 3,
	      "abs family");
}

static size_t compare_calls;

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	compare_calls++;
	return (x > y) - (x < y);
}

/* A 12-byte element: not a multiple of 8, so qsort must swap bytewise. */
struct odd_elem {
	uint32_t key;
	uint32_t tag;
	uint32_t check; /* key ^ tag, to catch torn swaps */
};

static int cmp_odd(const void *a, const void *b)
{
	const struct odd_elem *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static void check_int_sort(const char *what, size_t n, int mode)
{
	int *data = malloc((n + 1) * sizeof(int)), *want = malloc((n + 1) * sizeof(int));

	for (size_t i = 0; i < n; i++) {
		switch (mode) {
		case 0:
			data[i] = (int)rnd();
			break;
		case 1: /* sorted */
			data[i] = (int)i;
			break;
		case 2: /* reversed */
			data[i] = (int)(n - i);
			break;
		case 3: /* few distinct values */
			data[i] = (int)rnd_below(4);
			break;
		case 4: /* organ pipe */
			data[i] = (int)(i < n / 2 ? i : n - i);
			break;
		default: /* all equal */
			data[i] = 7;
			break;
		}
	}
	memcpy(want, data, n * sizeof(int));
	qsort(want, n, sizeof(int), cmp_int);
	compare_calls = 0;
	hg_qsort(data, n, sizeof(int), cmp_int);
	CHECK(!memcmp(data, want, n * sizeof(int)), "qsort %s n=%zu differs from host", what, n);

	/* Introsort must stay O(n log n) whatever the input. */
	double bound = 4.0 * (double)n * (64 - __builtin_clzll(n | 1)) + 100;

	CHECK(compare_calls <= bound, "qsort %s n=%zu made %zu comparisons", what, n,
	      compare_calls);
	free(data);
	free(want);
}

static void test_qsort(void)
{
	static const size_t sizes[] = {0, 1, 2, 3, 5, 12, 13, 17, 100, 1000, 12345, 300000};
	static const char *const modes[] = {"random",     "sorted",     "reversed",
	                                    "few-values", "organ-pipe", "all-equal"};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (int mode = 0; mode < 6; mode++)
			check_int_sort(modes[mode], sizes[i], mode);
	}

	/* Odd-sized elements keep their payload intact and end up ordered. */
	size_t n = 5000;
	struct odd_elem *odd = malloc(n * sizeof(*odd));

	for (size_t i = 0; i < n; i++) {
		odd[i].key = (uint32_t)rnd_below(1000);
		odd[i].tag = (uint32_t)rnd();
		odd[i].check = odd[i].key ^ odd[i].tag;
	}
	hg_qsort(odd, n, sizeof(*odd), cmp_odd);
	for (size_t i = 0; i < n; i++) {
		CHECK(odd[i].check == (odd[i].key ^ odd[i].tag), "qsort tore a 12-byte element");
		CHECK(i == 0 || odd[i - 1].key <= odd[i].key, "qsort 12-byte order at %zu", i);
	}
	free(odd);

	/* 24-byte elements exercise the word-wise swap. */
	uint64_t(*wide)[3] = malloc(n * sizeof(*wide));

	for (size_t i = 0; i < n; i++) {
		wide[i][0] = rnd();
		wide[i][1] = wide[i][0] * 3;
		wide[i][2] = ~wide[i][0];
	}
	hg_qsort(wide, n, sizeof(*wide), cmp_u64);
	for (size_t i = 0; i < n; i++) {
		CHECK(wide[i][1] == wide[i][0] * 3 && wide[i][2] == ~wide[i][0], "qsort tore 24B");
		CHECK(i == 0 || wide[i - 1][0] <= wide[i][0], "qsort 24-byte order at %zu", i);
	}
	free(wide);
}

static void test_bsearch(void)
{
	int sorted[1000];

	for (int i = 0; i < 1000; i++)
		sorted[i] = i * 3;
	for (size_t n = 0; n <= 1000; n += (n < 20 ? 1 : 97)) {
		for (int key = -2; key < (int)n * 3 + 3; key++) {
			int *found = hg_bsearch(&key, sorted, n, sizeof(int), cmp_int);

			if (key >= 0 && key % 3 == 0 && key / 3 < (int)n)
				CHECK(found == &sorted[key / 3], "bsearch n=%zu key=%d", n, key);
			else
				CHECK(found == NULL, "bsearch n=%zu found missing key %d", n, key);
		}
	}
}

/* ---- stdio.h ---- */

static int format_mismatches;

/* Formats with both implementations into big buffers and compares. */
static void __attribute__((format(printf, 1, 2))) compare_format(const char *fmt, ...)
{
	static char mine[8192], host[8192];
	va_list ap, ap2;

	va_start(ap, fmt);
	va_copy(ap2, ap);
	memset(mine, 0x7e, sizeof(mine));
	int mine_len = hg_vsnprintf(mine, sizeof(mine), fmt, ap);
	int host_len = vsnprintf(host, sizeof(host), fmt, ap2);

	va_end(ap2);
	va_end(ap);
	if (mine_len != host_len || strcmp(mine, host)) {
		format_mismatches++;
		fail("format \"%s\": got [%.200s] (%d), host [%.200s] (%d)", fmt, mine, mine_len,
		     host, host_len);
	}
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-overflow"
static void test_printf_table(void)
{
	int n_written = -1;
	char buf[64];

	compare_format("plain text");
	compare_format("%d %i %u %x %X %o", 0, -1, 3000000000u, 0xbeef, 0xbeef, 8);
	compare_format("%d %d %d", INT_MIN, INT_MAX, -0);
	compare_format("%ld %lu %lld %llu", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX);
	compare_format("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
	compare_format("%zu %zd %jd %ju %td %tx", (size_t)-1, (ssize_t)-5, INTMAX_MIN, UINTMAX_MAX,
	               (ptrdiff_t)-7, (ptrdiff_t)-7);
	compare_format("[%5d] [%-5d] [%05d] [%+d] [% d] [%+5d] [%-+5d] [%+05d]", 42, 42, 42, 42, 42,
	               42, 42, -42);
	compare_format("[%.0d] [%.0x] [%5.0d] [%.3d] [%.3d] [%08.3d] [%-8.3d]", 0, 0, 0, 7, -7, 7,
	               -7);
	compare_format("[%#x] [%#X] [%#o] [%#o] [%#.0o] [%#x] [%#8x] [%#08x] [%-#8x]", 255, 255, 8,
	               0, 0, 0, 255, 255, 255);
	compare_format("[%#.5o] [%#5o] [%#o]", 8, 8, 0777);
	compare_format("[%*d] [%-*d] [%*d] [%.*d] [%.*d] [%*.*d]", 6, 1, 6, 1, -6, 1, 4, 1, -4, 1,
	               8, 3, 5);
	compare_format("[%c] [%5c] [%-5c] [%c] [%05c] [%05s] [%-05d]", 'a', 'b', 'c', 0x141, 'd',
	               "ab", 3);
	compare_format("[%s] [%10s] [%-10s] [%.2s] [%10.2s] [%-10.2s] [%.0s]", "hello", "hello",
	               "hello", "hello", "hello", "hello", "hello");
	compare_format("[%s] [%.6s] [%.5s] [%8s] [%-8.3s]", (char *)NULL, (char *)NULL,
	               (char *)NULL, (char *)NULL, (char *)NULL);
	compare_format("[%p] [%p] [%20p] [%-20p] [%020p] [%.20p] [%+p] [% p]", (void *)0x1234,
	               (void *)NULL, (void *)0xdeadbeef, (void *)0xdeadbeef, (void *)0xdeadbeef,
	               (void *)0xdeadbeef, (void *)16, (void *)16);
	compare_format("[%10p] [%-10p] [%.3p]", (void *)NULL, (void *)NULL, (void *)NULL);
	compare_format("[%%] [%%%d%%]", 5);
	CHECK(hg_snprintf(buf, sizeof(buf), "[%5%]") == 3 && !strcmp(buf, "[%]"), "%%5%%");
	/* Unknown conversions are echoed, as glibc does (not compared: ASan warns). */
	CHECK(hg_snprintf(buf, sizeof(buf), "[%y] [%k]") == 9 && !strcmp(buf, "[%y] [%k]"),
	      "unknown conversions");
	/* glibc fails a format ending in a lone %; we print it. */
	CHECK(hg_snprintf(buf, sizeof(buf), "trailing %") == 10 && !strcmp(buf, "trailing %"),
	      "lone %% at the end");
	compare_format("%hhx %hx %lx %llx %jx %zx", -1, -1, -1L, -1LL, (intmax_t)-1, (size_t)-1);
	compare_format("%f %F %e %E %g %G", 3.14159, 3.14159, 3.14159, 3.14159, 3.14159, 3.14159);
	compare_format("%f %e %g", 0.0, 0.0, 0.0);
	compare_format("%f %e %g %a", -0.0, -0.0, -0.0, 0.0);
	compare_format("[%a] [%.0a] [%.1a] [%#.0a] [%.20a] [%012a] [%-+12A]", 1.5, 0.1, 1.03125,
	               2.5, DBL_MAX, DBL_MIN, DBL_TRUE_MIN);
	compare_format("[%a] [%.0a] [%.3a] [%A] [%a]", DBL_MIN / 3, 1.96875, DBL_MIN / 3, -NAN,
	               1.0 / 0.0);
	compare_format("[%f] [%F] [%e] [%E] [%g] [%G]", 1.0 / 0.0, 1.0 / 0.0, -1.0 / 0.0,
	               -1.0 / 0.0, NAN, -NAN);
	compare_format("[%08f] [%-8f] [%+f] [% f] [%+08e] [%08.2g]", 1.0 / 0.0, -1.0 / 0.0, NAN,
	               NAN, -NAN, 1.0 / 0.0);
	compare_format("[%.0f] [%.0f] [%.0f] [%.0f] [%.1f] [%.2f] [%.0e] [%.0e]", 0.5, 1.5, 2.5,
	               3.5, 0.25, 1.125, 2.5, 3.5);
	compare_format("[%#.0f] [%#.0e] [%#g] [%#.3g] [%g] [%.0g] [%#.0g] [%#g]", 1.0, 1.0, 1.0,
	               100.0, 100000.0, 0.0, 0.0, 0.0);
	compare_format("[%#.2g] [%#.3g] [%#.2g] [%#.1g] [%#.3g]", 99.7, 999.7, 9.97, 9.97, 99.96);
	compare_format("[%g] [%g] [%g] [%g] [%g] [%g]", 1e-4, 1e-5, 123456.0, 1234567.0, 0.0001234,
	               999999.5);
	compare_format("[%.17g] [%.17g] [%.17g] [%.16g] [%.15g]", 0.1, 1.0 / 3, 2.0 / 3, 0.3, 0.3);
	compare_format("[%f] [%e] [%g]", DBL_MAX, DBL_MAX, DBL_MAX);
	compare_format("[%f] [%e] [%g] [%.20e]", DBL_MIN, DBL_MIN, DBL_MIN, DBL_MIN);
	compare_format("[%e] [%g] [%.3e] [%f]", DBL_TRUE_MIN, DBL_TRUE_MIN, DBL_TRUE_MIN,
	               DBL_TRUE_MIN);
	compare_format("[%.1100f]", DBL_TRUE_MIN);
	compare_format("[%.800e] [%.770g]", DBL_TRUE_MIN, DBL_MIN);
	compare_format("[%.400f]", 1.0 / 3);
	compare_format("[%.0f] [%.0f] [%.0f]", 1e22, 1e23, 9007199254740993.0);
	compare_format("[%10.3f] [%-10.3f] [%010.3f] [%+010.3f] [% 010.3f] [%010.3e]", -1.5, -1.5,
	               -1.5, 1.5, 1.5, -1.5);
	compare_format("[%*.*f] [%-*.*e] [%.*g]", 12, 4, 2.71828, 14, 3, 2.71828, -1, 2.71828);
	compare_format("[%Lf] [%Le] [%Lg]", 1.25L, 1.25L, 1.25L);
	compare_format("[%.3f] [%.3f] [%.2f] [%.2f]", 0.0005, 0.0015, 0.995, 1.005);
	compare_format("[%.0f] [%.0f] [%.1f] [%.1f]", 0.4999999999999999, 0.5000000000000001, 0.05,
	               0.95);
	compare_format("[%g] [%g] [%G] [%g] [%g]", 1e100, 1e-100, 1e-10, 9.9999999e-5,
	               0.00009999995);
	compare_format("%s %d %c %f %x %s %e", "mix", 12, 'z', 6.5, 255, "end", 1e10);

	/* %n stores the count so far. */
	hg_snprintf(buf, sizeof(buf), "abc%nde", &n_written);
	CHECK(n_written == 3, "%%n stored %d", n_written);

	/* vsnprintf truncation keeps the full return value and terminates. */
	char small[8];

	memset(small, 'z', sizeof(small));
	CHECK(hg_snprintf(small, 5, "%s", "123456789") == 9 && !strcmp(small, "1234") &&
	          small[5] == 'z',
	      "snprintf truncation");
	CHECK(hg_snprintf(small, 1, "%d", 12345) == 5 && small[0] == '\0', "snprintf size 1");
	small[0] = 'q';
	CHECK(hg_snprintf(small, 0, "%d", 12345) == 5 && small[0] == 'q', "snprintf size 0");
	CHECK(hg_snprintf(NULL, 0, "%.100f", 1.0) == 102, "snprintf(NULL, 0) measures");
	CHECK(hg_sprintf(buf, "%s-%04d", "id", 42) == 7 && !strcmp(buf, "id-0042"), "sprintf");
}
#pragma GCC diagnostic pop

/* Random conversion specs built from flags, width, precision and length. */
static void random_spec(char *fmt, const char *convs, bool allow_length, int max_precision,
                        bool *star_width, bool *star_precision)
{
	static const char *const lengths[] = {"", "hh", "h", "l", "ll", "z", "j", "t"};
	char *p = fmt;

	*p++ = '%';
	for (const char *f = "-+ #0"; *f; f++) {
		if (rnd_below(4) == 0)
			*p++ = *f;
	}
	*star_width = *star_precision = false;
	switch (rnd_below(4)) {
	case 0:
		p += sprintf(p, "%d", (int)rnd_below(30));
		break;
	case 1:
		*p++ = '*';
		*star_width = true;
		break;
	default:
		break;
	}
	switch (rnd_below(5)) {
	case 0:
		p += sprintf(p, ".%d", (int)rnd_below(max_precision + 1));
		break;
	case 1:
		*p++ = '.';
		break;
	case 2:
		p += sprintf(p, ".*");
		*star_precision = true;
		break;
	default:
		break;
	}
	if (allow_length)
		p += sprintf(p, "%s", lengths[rnd_below(8)]);
	*p++ = convs[rnd_below(strlen(convs))];
	*p = '\0';
}

static uint64_t random_integer(void)
{
	static const uint64_t edges[] = {0,
	                                 1,
	                                 7,
	                                 8,
	                                 9,
	                                 10,
	                                 15,
	                                 16,
	                                 255,
	                                 256,
	                                 0x7fffffff,
	                                 0x80000000,
	                                 0xffffffff,
	                                 0x7fffffffffffffffull,
	                                 0x8000000000000000ull,
	                                 0xffffffffffffffffull};

	switch (rnd_below(4)) {
	case 0:
		return edges[rnd_below(sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return rnd_below(2000) - 1000;
	default:
		return rnd() >> rnd_below(64);
	}
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
/* Passes the * arguments the spec asked for, then the value. */
#define CALL_WITH_STARS(fmt, sw, w, sp, p, value)         \
	do {                                              \
		if ((sw) && (sp))                         \
			compare_format(fmt, w, p, value); \
		else if (sw)                              \
			compare_format(fmt, w, value);    \
		else if (sp)                              \
			compare_format(fmt, p, value);    \
		else                                      \
			compare_format(fmt, value);       \
	} while (0)

static void test_printf_random_integers(void)
{
	format_mismatches = 0;
	for (int iter = 0; iter < 60000 && format_mismatches < 5; iter++) {
		char fmt[64];
		bool sw, sp;
		int w = (int)rnd_below(40) - 15, p = (int)rnd_below(30) - 5;
		uint64_t v = random_integer();

		random_spec(fmt, "diuxXo", true, 25, &sw, &sp);
		const char *length = fmt + strcspn(fmt, "hlzjt");

		switch (*length) {
		case 'l':
			if (length[1] == 'l')
				CALL_WITH_STARS(fmt, sw, w, sp, p, (long long)v);
			else
				CALL_WITH_STARS(fmt, sw, w, sp, p, (long)v);
			break;
		case 'z':
			CALL_WITH_STARS(fmt, sw, w, sp, p, (size_t)v);
			break;
		case 'j':
			CALL_WITH_STARS(fmt, sw, w, sp, p, (intmax_t)v);
			break;
		case 't':
			CALL_WITH_STARS(fmt, sw, w, sp, p, (ptrdiff_t)v);
			break;
		default:
			CALL_WITH_STARS(fmt, sw, w, sp, p, (int)v);
			break;
		}
	}
}

static double pow10_table(uint64_t k)
{
	double v = 1.0;

	while (k--)
		v *= 10.0;
	return v;
}

static double random_double(void)
{
	uint64_t bits;
	double d;

	switch (rnd_below(6)) {
	case 0: /* any bit pattern: every exponent, subnormals, inf, nan */
		bits = rnd();
		memcpy(&d, &bits, sizeof(d));
		return d;
	case 1: /* short decimals, where rounding of "nice" numbers shows */
		return (double)((int64_t)rnd_below(2000000) - 1000000) / pow10_table(rnd_below(8));
	case 2: /* exact binary ties: k + 0.5, k/4, k/8 ... */
		return (double)rnd_below(100000) / (double)(1u << rnd_below(12));
	case 3: /* large integers around the 2^53 boundary */
		return (double)(rnd() >> rnd_below(20));
	case 4:
		return ((double)rnd() / 18446744073709551616.0) * pow10_table(rnd_below(40)) /
		       pow10_table(rnd_below(40));
	default: /* integers and halves that tie at %.0f and %.1f */
		return (double)rnd_below(1000) + 0.5 * (double)rnd_below(3) + 0.05 * rnd_below(2);
	}
}
#pragma GCC diagnostic pop

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"
static void test_printf_random_floats(void)
{
	format_mismatches = 0;
	for (int iter = 0; iter < 60000 && format_mismatches < 5; iter++) {
		char fmt[64];
		bool sw, sp;
		int w = (int)rnd_below(40) - 15, p = (int)rnd_below(iter % 8 ? 20 : 45) - 3;
		double v = random_double();

		random_spec(fmt, "fFeEgGaA", false, iter % 8 ? 20 : 45, &sw, &sp);
		CALL_WITH_STARS(fmt, sw, w, sp, p, v);
	}
	/* Round trips: %.17g of any finite double must be exact. */
	for (int iter = 0; iter < 20000 && format_mismatches < 5; iter++) {
		double v = random_double();
		int precision = 1 + (int)rnd_below(17);

		compare_format("%.*g", precision, v);
		compare_format("%.*e", precision, v);
	}
}
#pragma GCC diagnostic pop

struct collector {
	char text[16384];
	size_t len;
	int calls;
	bool empty_chunk;
};

static void collect(void *ctx, const char *s, size_t n)
{
	struct collector *c = ctx;

	c->calls++;
	if (!n)
		c->empty_chunk = true;
	if (c->len + n < sizeof(c->text)) {
		memcpy(c->text + c->len, s, n);
		c->len += n;
	}
}

static int __attribute__((format(printf, 2, 3)))
collect_format(struct collector *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	memset(c, 0, sizeof(*c));
	int len = hg_vcbprintf(collect, c, fmt, ap);

	va_end(ap);
	return len;
}

static void test_vcbprintf(void)
{
	static struct collector c;
	static char want[16384];
	char long_string[3000];

	memset(long_string, 'q', sizeof(long_string) - 1);
	long_string[sizeof(long_string) - 1] = '\0';

	int len = collect_format(&c, "head %s mid %500d %.300f tail %-700s|", long_string, 42,
	                         1.0 / 7, "x");
	int want_len = snprintf(want, sizeof(want), "head %s mid %500d %.300f tail %-700s|",
	                        long_string, 42, 1.0 / 7, "x");

	CHECK(len == want_len && c.len == (size_t)want_len && !memcmp(c.text, want, c.len),
	      "vcbprintf long output differs (len %d vs %d)", len, want_len);
	CHECK(!c.empty_chunk, "vcbprintf emitted an empty chunk");
	CHECK(c.calls < 40, "vcbprintf emitted %d chunks; it should buffer", c.calls);

	len = collect_format(&c, "%s", "");
	CHECK(len == 0 && c.len == 0, "vcbprintf empty output");
	len = collect_format(&c, "a%cb", 0);
	CHECK(len == 3 && c.len == 3 && !memcmp(c.text, "a\0b", 3), "vcbprintf passes NUL bytes");
}

/* ---- heap ---- */

static struct heap_stats stats_now(void)
{
	struct heap_stats st;

	hg_heap_get_stats(&st);
	return st;
}

static bool in_region(const void *p, size_t n, const void *region, size_t region_size)
{
	const char *c = p, *r = region;

	return c >= r && c + n <= r + region_size;
}

static void test_heap_basics(void)
{
	reset_small_heap();
	struct heap_stats st = stats_now();

	CHECK(st.arena_size == SMALL_HEAP_SIZE && st.in_use == 0 &&
	          st.free_bytes == SMALL_HEAP_SIZE && st.alloc_count == 0,
	      "fresh stats: arena %zu in_use %zu free %zu", st.arena_size, st.in_use,
	      st.free_bytes);

	void *z1 = hg_malloc(0), *z2 = hg_malloc(0);

	CHECK(z1 && z2 && z1 != z2, "malloc(0) gives distinct pointers");
	hg_free(z1);
	hg_free(z2);
	hg_free(NULL);

	static void *blocks[2000];

	for (size_t n = 0; n < 2000; n++) {
		blocks[n] = hg_malloc(n + 1);
		CHECK(blocks[n] && ((uintptr_t)blocks[n] & 15) == 0, "malloc(%zu) misaligned",
		      n + 1);
		CHECK(in_region(blocks[n], n + 1, small_heap, SMALL_HEAP_SIZE),
		      "outside the arena");
		CHECK(hg_heap_usable_size(blocks[n]) >= n + 1, "usable size too small");
		memset(blocks[n], (int)n, n + 1);
	}
	st = stats_now();
	CHECK(st.alloc_count == 2000 && st.in_use + st.free_bytes == st.arena_size,
	      "stats while 2000 live: count %zu", st.alloc_count);
	for (size_t n = 0; n < 2000; n += 2)
		hg_free(blocks[n]);
	for (size_t n = 1; n < 2000; n += 2) {
		unsigned char *p = blocks[n];

		CHECK(p[0] == (unsigned char)n && p[n] == (unsigned char)n,
		      "neighbour data damaged");
		hg_free(p);
	}
	hg_heap_check();
	st = stats_now();
	CHECK(st.in_use == 0 && st.alloc_count == 0 && st.peak_in_use > 2000 * 16,
	      "after freeing: in_use %zu peak %zu", st.in_use, st.peak_in_use);

	/* calloc must zero memory that was used before... */
	unsigned char *dirty = hg_malloc(1000), *keep = hg_malloc(16);

	memset(dirty, 0xff, 1000);
	hg_free(dirty);
	unsigned char *zeroed = hg_calloc(10, 100);
	bool all_zero = zeroed != NULL;

	for (size_t i = 0; zeroed && i < 1000; i++)
		all_zero &= zeroed[i] == 0;
	CHECK(all_zero, "calloc of recycled memory not zeroed");
	hg_free(zeroed);
	hg_free(keep);
	/* ...including memory that went back to the never-carved tail. */
	dirty = hg_malloc(8192);
	memset(dirty, 0xab, 8192);
	hg_free(dirty);
	zeroed = hg_calloc(1, 8192);
	all_zero = zeroed != NULL;
	for (size_t i = 0; zeroed && i < 8192; i++)
		all_zero &= zeroed[i] == 0;
	CHECK(all_zero, "calloc of memory returned to the wilderness not zeroed");
	hg_free(zeroed);

	hg_errno = 0;
	CHECK(hg_calloc(SIZE_MAX / 2, 3) == NULL && hg_errno == ENOMEM, "calloc overflow");
	hg_errno = 0;
	CHECK(hg_malloc(SIZE_MAX) == NULL && hg_errno == ENOMEM, "malloc(SIZE_MAX)");
	hg_errno = 0;
	CHECK(hg_malloc(SMALL_HEAP_SIZE) == NULL && hg_errno == ENOMEM, "malloc(arena)");
	void *whole = hg_malloc(SMALL_HEAP_SIZE - 16);

	CHECK(whole != NULL, "malloc(arena - header) on an empty heap");
	hg_free(whole);

	/* realloc keeps contents, shrinks in place, grows in place when it can. */
	unsigned char *p = hg_realloc(NULL, 100);

	for (int i = 0; p && i < 100; i++)
		p[i] = (unsigned char)i;
	unsigned char *q = hg_realloc(p, 10000);
	bool same = q != NULL;

	for (int i = 0; q && i < 100; i++)
		same &= q[i] == (unsigned char)i;
	CHECK(same, "realloc grow lost data");
	unsigned char *r = hg_realloc(q, 50);

	CHECK(r == q, "realloc shrink moved the block");
	same = r != NULL;
	for (int i = 0; r && i < 50; i++)
		same &= r[i] == (unsigned char)i;
	CHECK(same, "realloc shrink lost data");
	size_t in_use_before = stats_now().in_use;

	hg_errno = 0;
	CHECK(hg_realloc(r, 0) == NULL, "realloc(p, 0) frees");
	CHECK(stats_now().in_use < in_use_before, "realloc(p, 0) did not free");

	/* On an empty heap a new block is the last one and can grow into the tail. */
	CHECK(stats_now().alloc_count == 0, "heap not empty");
	void *last = hg_malloc(100);

	CHECK(hg_realloc(last, 200000) == last, "realloc of the last block did not grow in place");
	hg_free(last);

	void *a = hg_malloc(100), *b = hg_malloc(1000), *c = hg_malloc(100);

	hg_free(b);
	CHECK(hg_realloc(a, 900) == a, "realloc did not grow into the free neighbour");
	hg_free(a);
	hg_free(c);

	for (size_t align = 1; align <= (1u << 20); align <<= 1) {
		void *aligned = hg_aligned_alloc(align, 100);

		CHECK(aligned && ((uintptr_t)aligned & (align - 1)) == 0 &&
		          ((uintptr_t)aligned & 15) == 0,
		      "aligned_alloc(%zu)", align);
		if (aligned)
			memset(aligned, 1, 100);
		void *filler = hg_malloc(align / 2 + 1);

		hg_free(aligned);
		hg_free(filler);
	}
	hg_errno = 0;
	CHECK(hg_aligned_alloc(24, 10) == NULL && hg_errno == EINVAL,
	      "aligned_alloc bad alignment");
	void *pm = NULL;

	CHECK(hg_posix_memalign(&pm, 4, 10) == EINVAL, "posix_memalign(4)");
	CHECK(hg_posix_memalign(&pm, 4096, 10) == 0 && ((uintptr_t)pm & 4095) == 0,
	      "posix_memalign(4096)");
	hg_free(pm);
	CHECK(hg_posix_memalign(&pm, 64, SIZE_MAX / 2) == ENOMEM, "posix_memalign huge");
	hg_heap_check();
	st = stats_now();
	CHECK(st.in_use == 0 && st.alloc_count == 0, "leak in basics: in_use %zu", st.in_use);
}

#define EXPECT_CORRUPTION(stmt, label)                      \
	do {                                                \
		corruption_what = NULL;                     \
		corruption_expected = true;                 \
		if (!setjmp(corruption_jump)) {             \
			stmt;                               \
			fail("%s was not detected", label); \
		}                                           \
		corruption_expected = false;                \
	} while (0)

static void test_heap_misuse(void)
{
	reset_small_heap();
	char *a = hg_malloc(64), *b = hg_malloc(64), *c = hg_malloc(64), *guard = hg_malloc(64);
	int on_stack;

	hg_free(b);
	EXPECT_CORRUPTION(hg_free(b), "double free");
	hg_free(a); /* merges with b's free block */
	EXPECT_CORRUPTION(hg_free(a), "double free of a merged block");
	EXPECT_CORRUPTION(hg_free(b), "double free of a block merged into its neighbour");
	EXPECT_CORRUPTION(hg_realloc(b, 10), "realloc of a freed block");
	EXPECT_CORRUPTION(hg_free(&on_stack), "free of a stack pointer");
	EXPECT_CORRUPTION(hg_free(c + 1), "free of a misaligned pointer");
	memset(c, 0, 64);
	EXPECT_CORRUPTION(hg_free(c + 32), "free of an interior pointer");
	char *tail = hg_malloc(10);

	hg_free(tail); /* goes back to the wilderness */
	EXPECT_CORRUPTION(hg_free(tail), "double free of the last block");
	hg_heap_check(); /* nothing above damaged the heap */

	/* A buffer overrun into the next header is caught when that block is freed. */
	char *victim_before = hg_malloc(24), *victim = hg_malloc(24), *victim_after = hg_malloc(24);

	memset(victim_before, 0x41, hg_heap_usable_size(victim_before) + 16);
	EXPECT_CORRUPTION(hg_free(victim), "overwritten block header");
	(void)victim_after;
	(void)guard;
	CHECK(corruption_what != NULL, "heap_corruption got no description");
}

static size_t resident_pages(void *region, size_t size)
{
	size_t pages = size / 4096, count = 0;
	unsigned char *vec = malloc(pages);

	if (mincore(region, size, vec)) {
		free(vec);
		return SIZE_MAX;
	}
	for (size_t i = 0; i < pages; i++)
		count += vec[i] & 1;
	free(vec);
	return count;
}

static void test_heap_touches_only_what_it_hands_out(void)
{
	size_t size = 256u << 20;
	char *region = map_region(size);

	CHECK(region != NULL, "mmap failed");
	if (!region)
		return;
	hg_heap_init(region, size);
	size_t after_init = resident_pages(region, size);

	CHECK(after_init <= 1, "heap_init touched %zu pages", after_init);
	void *small = hg_malloc(100);
	char *mib = hg_malloc(1u << 20);

	memset(mib, 1, 1u << 20);
	size_t before_calloc = resident_pages(region, size);

	CHECK(before_calloc <= 256 + 3, "1 MiB allocation made %zu pages resident", before_calloc);
	/* Fresh memory is already zero, so a big calloc should not touch it. */
	char *big = hg_calloc(1, 100u << 20);
	size_t after_calloc = resident_pages(region, size);

	CHECK(big != NULL, "calloc(100 MiB) failed");
	CHECK(after_calloc <= before_calloc + 2, "calloc of fresh memory touched %zu pages",
	      after_calloc - before_calloc);
	bool zero = big != NULL;

	for (size_t i = 0; big && i < (100u << 20); i += 4096 * 7 + 1)
		zero &= big[i] == 0;
	CHECK(zero, "fresh calloc memory not zero");
	hg_free(big);
	hg_free(mib);
	hg_free(small);
	hg_heap_check();
	munmap(region, size);
}

static void test_heap_exhaustion(void)
{
	size_t size = 64u << 20;
	char *region = map_region(size);
	static void *blocks[128];
	size_t count = 0;

	hg_heap_init(region, size);
	hg_errno = 0;
	while (count < 128 && (blocks[count] = hg_malloc(1u << 20)))
		count++;
	CHECK(count == 63 && hg_errno == ENOMEM, "fit %zu 1 MiB blocks in 64 MiB (errno %d)", count,
	      hg_errno);
	for (size_t i = 0; i < count; i += 2)
		hg_free(blocks[i]);
	size_t refilled = 0;

	for (size_t i = 0; i < count; i += 2) {
		blocks[i] = hg_malloc(1u << 20);
		refilled += blocks[i] != NULL;
	}
	CHECK(refilled == (count + 1) / 2, "holes were not reused: %zu", refilled);
	hg_heap_check();

	/* Free in shuffled order; everything must merge back into one piece. */
	for (size_t i = count; i > 1; i--) {
		size_t j = rnd_below(i);
		void *tmp = blocks[i - 1];

		blocks[i - 1] = blocks[j];
		blocks[j] = tmp;
	}
	for (size_t i = 0; i < count; i++)
		hg_free(blocks[i]);

	/* Many small blocks, freed in random order, coalesce completely too. */
	static void *small[100000];

	for (size_t i = 0; i < 100000; i++)
		small[i] = hg_malloc(1 + rnd_below(300));
	for (size_t i = 100000; i > 1; i--) {
		size_t j = rnd_below(i);
		void *tmp = small[i - 1];

		small[i - 1] = small[j];
		small[j] = tmp;
	}
	for (size_t i = 0; i < 100000; i++) {
		hg_free(small[i]);
		if (i % 20000 == 0)
			hg_heap_check();
	}
	struct heap_stats st = stats_now();

	CHECK(st.in_use == 0 && st.alloc_count == 0, "in_use %zu after freeing all", st.in_use);
	void *whole = hg_malloc(st.arena_size - 16);

	CHECK(whole != NULL, "whole-arena malloc failed after coalescing");
	hg_free(whole);
	munmap(region, size);
}

/* The stress test's record of one live block. */
struct live_block {
	unsigned char *ptr;
	size_t size;
	unsigned char fill;
};

#define STRESS_SLOTS 16384
#define STRESS_OPS   1000000

static bool pattern_intact(const unsigned char *p, size_t n, unsigned char fill)
{
	/* Every byte equals the first, and the first is the fill. */
	return !n || (p[0] == fill && !memcmp(p, p + 1, n - 1));
}

/* Random sizes from 1 byte to 1 MiB, mostly small as real programs are. */
static size_t stress_size(void)
{
	uint64_t r = rnd_below(1000);

	if (r < 700)
		return 1 + rnd_below(128);
	if (r < 920)
		return 129 + rnd_below(4096 - 128);
	if (r < 990)
		return 4097 + rnd_below(65536 - 4096);
	if (r < 998)
		return 65537 + rnd_below((1u << 20) - 65536);
	return 1u << 20;
}

struct span {
	uintptr_t start, end;
};

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

static void check_no_overlap(struct live_block *live, size_t slots)
{
	static struct span spans[STRESS_SLOTS];
	size_t n = 0;

	for (size_t i = 0; i < slots; i++) {
		if (!live[i].ptr)
			continue;
		spans[n].start = (uintptr_t)live[i].ptr;
		spans[n].end = spans[n].start + hg_heap_usable_size(live[i].ptr);
		n++;
	}
	qsort(spans, n, sizeof(spans[0]), cmp_span);
	for (size_t i = 1; i < n; i++)
		CHECK(spans[i - 1].end <= spans[i].start, "live blocks overlap");
}

static void test_heap_stress(void)
{
	size_t arena = 256u << 20;
	unsigned char *region = map_region(arena);
	static struct live_block live[STRESS_SLOTS];
	static unsigned char zeros[1u << 20];
	size_t live_count = 0, nulls = 0, ops = 0;

	memset(live, 0, sizeof(live));
	hg_heap_init(region, arena);
	while (ops < STRESS_OPS && case_errors < 5) {
		/* Alternate phases fill the heap up and drain it. */
		bool filling = (ops / 100000) % 2 == 0;
		struct live_block *l = &live[rnd_below(STRESS_SLOTS)];
		uint64_t dice = rnd_below(100);

		if (!l->ptr) {
			if (dice >= (filling ? 90u : 30u))
				continue;
			size_t size = stress_size(), align = 16;
			unsigned kind = (unsigned)rnd_below(100);
			unsigned char *p;

			hg_errno = 0;
			if (kind < 5) {
				p = hg_calloc(1, size);
				CHECK(!p || !memcmp(p, zeros, size), "calloc(%zu) not zeroed",
				      size);
			} else if (kind < 8) {
				align = (size_t)32 << rnd_below(12);
				p = hg_aligned_alloc(align, size);
			} else {
				p = hg_malloc(size);
			}
			ops++;
			if (!p) {
				nulls++;
				CHECK(hg_errno == ENOMEM, "NULL without ENOMEM");
				CHECK(stats_now().in_use > arena / 3,
				      "allocation of %zu failed with only %zu in use", size,
				      stats_now().in_use);
				continue;
			}
			CHECK(((uintptr_t)p & (align - 1)) == 0, "misaligned block (align %zu)",
			      align);
			CHECK(in_region(p, size, region, arena), "block outside the arena");
			l->ptr = p;
			l->size = size;
			l->fill = (unsigned char)(1 + rnd_below(255));
			memset(p, l->fill, size);
			live_count++;
		} else if (dice < (filling ? 20u : 75u)) {
			CHECK(pattern_intact(l->ptr, l->size, l->fill),
			      "block of %zu damaged before free", l->size);
			hg_free(l->ptr);
			l->ptr = NULL;
			live_count--;
			ops++;
		} else if (dice < (filling ? 50u : 90u)) {
			size_t new_size = rnd_below(4) ? stress_size() : l->size + rnd_below(64);

			CHECK(pattern_intact(l->ptr, l->size, l->fill),
			      "block of %zu damaged before realloc", l->size);
			hg_errno = 0;
			unsigned char *q = hg_realloc(l->ptr, new_size);

			ops++;
			if (!q) {
				nulls++;
				CHECK(hg_errno == ENOMEM && new_size > l->size,
				      "realloc NULL wrongly");
				CHECK(pattern_intact(l->ptr, l->size, l->fill),
				      "failed realloc damaged");
				continue;
			}
			size_t kept = new_size < l->size ? new_size : l->size;

			CHECK(((uintptr_t)q & 15) == 0 && in_region(q, new_size, region, arena),
			      "realloc result misplaced");
			CHECK(pattern_intact(q, kept, l->fill),
			      "realloc lost contents (%zu -> %zu)", l->size, new_size);
			if (new_size > l->size)
				memset(q + l->size, l->fill, new_size - l->size);
			l->ptr = q;
			l->size = new_size;
		}
		if (ops % 50000 == 0) {
			struct heap_stats st = stats_now();

			check_no_overlap(live, STRESS_SLOTS);
			hg_heap_check();
			CHECK(st.alloc_count == live_count && st.in_use + st.free_bytes == arena,
			      "stats: count %zu vs %zu live", st.alloc_count, live_count);
			ops++; /* so a no-op iteration does not repeat the check */
		}
	}
	for (size_t i = 0; i < STRESS_SLOTS; i++) {
		if (!live[i].ptr)
			continue;
		CHECK(pattern_intact(live[i].ptr, live[i].size, live[i].fill),
		      "damaged at the end");
		hg_free(live[i].ptr);
		live[i].ptr = NULL;
	}
	hg_heap_check();
	struct heap_stats st = stats_now();

	CHECK(st.in_use == 0 && st.alloc_count == 0 && st.free_bytes == arena,
	      "not all memory returned: in_use %zu count %zu", st.in_use, st.alloc_count);
	CHECK(st.peak_in_use > arena / 4, "peak %zu: the stress never filled the heap",
	      st.peak_in_use);
	CHECK(nulls < ops / 100, "%zu of %zu operations failed for lack of memory", nulls, ops);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "  stress: %zu ops, %zu NULL, peak %zu MiB\n", ops, nulls,
		        st.peak_in_use >> 20);
	void *whole = hg_malloc(arena - 4096);

	CHECK(whole != NULL, "malloc of nearly the whole arena failed after the stress");
	hg_free(whole);
	munmap(region, arena);
}

int main(void)
{
	struct timespec start, end;

	clock_gettime(CLOCK_MONOTONIC, &start);
	/* TEST_SEED replays or varies the random inputs; the default is fixed. */
	if (getenv("TEST_SEED"))
		rng_state = strtoull(getenv("TEST_SEED"), NULL, 0) | 1;
	run_case("mem_functions", test_mem_functions);
	run_case("string_functions", test_string_functions);
	run_case("strerror", test_strerror);
	run_case("ctype", test_ctype);
	run_case("strtol_family", test_strtol);
	run_case("qsort", test_qsort);
	run_case("bsearch", test_bsearch);
	run_case("printf_table", test_printf_table);
	run_case("printf_random_integers", test_printf_random_integers);
	run_case("printf_random_floats", test_printf_random_floats);
	run_case("vcbprintf", test_vcbprintf);
	run_case("heap_basics", test_heap_basics);
	run_case("heap_misuse", test_heap_misuse);
	run_case("heap_untouched_pages", test_heap_touches_only_what_it_hands_out);
	run_case("heap_exhaustion_and_coalescing", test_heap_exhaustion);
	run_case("heap_stress", test_heap_stress);
	clock_gettime(CLOCK_MONOTONIC, &end);
	if (getenv("TEST_VERBOSE"))
		fprintf(stderr, "took %.2f s\n",
		        (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9);
	printf("%d passed, %d failed\n", cases_passed, cases_failed);
	return cases_failed ? 1 : 0;
}
