/*
 * check.h - a minimal test harness: named cases, assertions, a summary line.
 *
 * Each TEST_CASE runs in order; a failed CHECK marks the case failed and
 * prints where.  run_tests() ends with "N passed, N failed" and returns the
 * process status.
 */
#ifndef HEDGE_CHECK_H
#define HEDGE_CHECK_H

#include <stdio.h>
#include <string.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

static int check_case_failed;

#define CHECK(cond)                                                                         \
	do {                                                                                \
		if (!(cond)) {                                                              \
			printf("    %s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			check_case_failed = 1;                                              \
		}                                                                           \
	} while (0)

#define CHECK_CONTAINS(haystack, needle)                                                          \
	do {                                                                                      \
		if (!strstr((haystack), (needle))) {                                              \
			printf("    %s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, \
			       (haystack), (needle));                                             \
			check_case_failed = 1;                                                    \
		}                                                                                 \
	} while (0)

static inline int run_tests(const struct test_case *cases, size_t n)
{
	int passed = 0, failed = 0;
	for (size_t i = 0; i < n; i++) {
		check_case_failed = 0;
		cases[i].fn();
		if (check_case_failed) {
			printf("FAIL %s\n", cases[i].name);
			failed++;
		} else {
			printf("ok   %s\n", cases[i].name);
			passed++;
		}
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}

#endif
