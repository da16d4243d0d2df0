/* trap - ends in a WebAssembly trap of the kind named by argv[1]:
 *   oob          a load far past the end of linear memory
 *   unreachable  __builtin_trap(), the `unreachable` instruction
 *   div0         integer division by zero
 *   stack        unbounded recursion until the call stack is exhausted
 *   indirect     an indirect call through a table index that does not exist
 *   signature    an indirect call with the wrong function type
 *   overflow     INT_MIN / -1, the one signed division that overflows
 *   conversion   a float-to-integer conversion of NaN
 * A runtime must end the program with a clear reason and never crash. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Volatile so that the compiler can prove nothing about the values and must
 * emit the trapping instruction itself. */
static volatile int zero, seven = 7, minus_one = -1, int_min = INT_MIN;
static volatile double not_a_number = __builtin_nan("");
static volatile uintptr_t bad_index = 0x7fff0;

static int recurse(int n);
static int (*volatile recurse_ptr)(int) = recurse;

/* No locals in linear memory: each level costs only the wasm call stack, so
 * the engine's call depth limit is what ends it, not the C shadow stack. */
static int recurse(int n)
{
	return recurse_ptr(n + 1) * 3 + n;
}

static int add(int a, int b)
{
	return a + b;
}

static int (*volatile add_ptr)(int, int) = add;

int main(int argc, char **argv)
{
	const char *kind = argc > 1 ? argv[1] : "";
	printf("trap: triggering '%s'\n", kind);
	fflush(stdout);
	if (strcmp(kind, "oob") == 0) {
		/* 16 MiB past the current end of memory, and still below 4 GiB. */
		uintptr_t end = __builtin_wasm_memory_size(0) * 65536u;
		volatile int *p = (volatile int *)(end + (16u << 20));
		printf("read %d\n", *p);
	} else if (strcmp(kind, "unreachable") == 0) {
		__builtin_trap();
	} else if (strcmp(kind, "div0") == 0) {
		/* Not 1 / zero: clang turns 1 / x into a compare, which cannot trap. */
		printf("%d\n", seven / zero);
	} else if (strcmp(kind, "stack") == 0) {
		printf("%d\n", recurse(0));
	} else if (strcmp(kind, "indirect") == 0) {
		void (*f)(void) = (void (*)(void))bad_index;
		f();
	} else if (strcmp(kind, "signature") == 0) {
		/* add takes (i32, i32) -> i32; call it as (f64) -> f64. */
		double (*f)(double) = (double (*)(double))(uintptr_t)add_ptr;
		printf("%f\n", f(1.0));
	} else if (strcmp(kind, "overflow") == 0) {
		printf("%d\n", int_min / minus_one);
	} else if (strcmp(kind, "conversion") == 0) {
		/* The trapping i32.trunc_f64_s: C's (int) cast is compiled to a
		 * checked sequence that never traps. */
		printf("%d\n", __builtin_wasm_trunc_s_i32_f64(not_a_number));
	} else {
		fprintf(stderr,
		        "usage: trap "
		        "oob|unreachable|div0|stack|indirect|signature|overflow|conversion\n");
		return 2;
	}
	printf("trap: still running, which is wrong\n");
	return 1;
}
