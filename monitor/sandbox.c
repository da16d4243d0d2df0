/*
 * sandbox.c - the seccomp allow-list the monitor enters before running a guest.
 *
 * Once the VM is built, the monitor only needs to run the vCPU, write console
 * output, read clocks and randomness, sleep and exit.  Everything else -
 * opening files, sockets, exec, new mappings - is refused by killing the
 * process, so a guest that found a bug in the monitor gains almost nothing.
 */
#include "sandbox.h"

#include <errno.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
/*
 * LeakSanitizer's exit-time scan stops the world with clone and ptrace,
 * which the sandbox rightly forbids; leaks are checked by the unit tests.
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "detect_leaks=0";
}
#endif

int sandbox_enter(const struct vm *vm, char *err, size_t errlen)
{
	static const int plain[] = {
		SCMP_SYS(write), SCMP_SYS(read),
		SCMP_SYS(writev),
		SCMP_SYS(ppoll),
		SCMP_SYS(clock_gettime),
		SCMP_SYS(clock_nanosleep),
		SCMP_SYS(getrandom),
		SCMP_SYS(exit),
		SCMP_SYS(exit_group),
		SCMP_SYS(rt_sigreturn),
		SCMP_SYS(close),
		SCMP_SYS(munmap),
		SCMP_SYS(fstat),
		SCMP_SYS(newfstatat),
		SCMP_SYS(brk),
		SCMP_SYS(mincore),
#if defined(__SANITIZE_ADDRESS__)
		/* The sanitizer runtime maps shadow memory and reports through these. */
		SCMP_SYS(mmap),
		SCMP_SYS(madvise),
		SCMP_SYS(sigaltstack),
		SCMP_SYS(rt_sigprocmask),
		SCMP_SYS(getpid),
		SCMP_SYS(gettid),
		SCMP_SYS(prctl),
		SCMP_SYS(sched_yield),
		SCMP_SYS(readlink),
		SCMP_SYS(openat),
		
		SCMP_SYS(mprotect),
#endif
	};
	static const unsigned long vcpu_requests[] = {KVM_RUN, KVM_GET_REGS, KVM_GET_SREGS};

	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx) {
		snprintf(err, errlen, "seccomp_init failed");
		return -1;
	}
	int rc = 0;
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	for (size_t i = 0; i < sizeof(vcpu_requests) / sizeof(vcpu_requests[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vm->vcpu_fd),
		                      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)vcpu_requests[i]));
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
