/* proc - sched_yield and proc_exit.
 *   proc.wasm                 checks sched_yield, exits 0 if it passed
 *   proc.wasm exit N          ... then __wasi_proc_exit(N) directly
 *   proc.wasm return N        ... then returns N from main
 *   proc.wasm libc-exit N     ... prints "unflushed" without a newline into a
 *                             fully buffered stdout, then exit(N), which must
 *                             flush it
 * The exit status the runtime reports must be N. */
#include <sched.h>
#include <unistd.h>

#include "check.h"

int main(int argc, char **argv)
{
	check_init();
	int ok = 1;
	for (int i = 0; i < 1000; i++)
		if (__wasi_sched_yield() != 0)
			ok = 0;
	check(ok, "sched_yield returns 0, 1000 times");
	check(sched_yield() == 0, "wasi-libc's sched_yield() returns 0");
	if (argc < 3)
		return check_done("proc");

	int status = atoi(argv[2]);
	if (check_failed)
		status = 100 + check_failed; /* visible as a wrong status */
	printf("proc: %s %d\n", argv[1], status);
	fflush(stdout);
	if (strcmp(argv[1], "exit") == 0)
		__wasi_proc_exit((__wasi_exitcode_t)status);
	if (strcmp(argv[1], "return") == 0)
		return status;
	if (strcmp(argv[1], "libc-exit") == 0) {
		static char buf[4096];
		setvbuf(stdout, buf, _IOFBF, sizeof buf);
		printf("unflushed");
		exit(status);
	}
	printf("proc: unknown mode %s\n", argv[1]);
	return 64;
}
