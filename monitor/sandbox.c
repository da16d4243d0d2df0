/*
 * sandbox.c - the seccomp allow-list the monitor enters before running a guest.
 *
 * Once the VM is built, the monitor only needs to run the vCPU, write console
 * output, read clocks and randomness, sleep and exit.  Everything else -
 * opening files, sockets, exec, new mappings - is refused by killing the
 * process, so a guest that found a bug in the monitor gains almost nothing.
 *
 * A VM with a control socket (--api-sock) needs a little more, for its
 * control thread and for writing snapshots; those rules are added only then,
 * and are as narrow as their arguments allow.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "control.h"

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

static int allow_vcpu_ioctls(scmp_filter_ctx ctx, int vcpu_fd, const unsigned long *req, size_t n)
{
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vcpu_fd),
		                      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)req[i]));
	return rc;
}

/*
 * The control thread: serving the socket, parking the vCPU (futex, a signal
 * to the vCPU thread only), reading its state and /proc/self/pagemap, and
 * writing a snapshot into a new file that is then renamed.  Files may only
 * be created, never opened for reading; memory may only be mapped for data.
 */
static int allow_control(scmp_filter_ctx ctx, const struct vm *vm)
{
	static const int plain[] = {
	    SCMP_SYS(accept4),  SCMP_SYS(sendto),    SCMP_SYS(futex),          SCMP_SYS(pread64),
	    SCMP_SYS(pwrite64), SCMP_SYS(ftruncate), SCMP_SYS(rename),         SCMP_SYS(unlink),
	    SCMP_SYS(getpid),   SCMP_SYS(madvise),   SCMP_SYS(rt_sigprocmask),
	};
	static const unsigned long get_state[] = {
	    KVM_GET_SREGS2, KVM_GET_FPU,  KVM_GET_XSAVE,       KVM_GET_XSAVE2,
	    KVM_GET_XCRS,   KVM_GET_MSRS, KVM_GET_VCPU_EVENTS, KVM_GET_DEBUGREGS,
	};
	const scmp_datum_t create = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, plain[i], 0);
	if (rc == 0)
		rc = allow_vcpu_ioctls(ctx, vm->vcpu_fd, get_state,
		                       sizeof(get_state) / sizeof(get_state[0]));
	/* Migration: a TCP connection out, and the memory slot's dirty log. */
	static const int net[] = {SCMP_SYS(connect), SCMP_SYS(setsockopt), SCMP_SYS(getsockopt)};
	for (size_t i = 0; i < sizeof(net) / sizeof(net[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, net[i], 0);
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
		                      SCMP_A0(SCMP_CMP_EQ, AF_INET));
	static const unsigned long vm_requests[] = {KVM_SET_USER_MEMORY_REGION, KVM_GET_DIRTY_LOG};
	for (size_t i = 0; i < sizeof(vm_requests) / sizeof(vm_requests[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 2,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)vm->vm_fd),
		                      SCMP_A1(SCMP_CMP_EQ, (scmp_datum_t)vm_requests[i]));
	if (rc == 0)
		rc = seccomp_rule_add(
		    ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
		    SCMP_A2(SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)O_LARGEFILE, create));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 2,
		                      SCMP_A2(SCMP_CMP_EQ, PROT_READ | PROT_WRITE),
		                      SCMP_A3(SCMP_CMP_EQ, MAP_PRIVATE | MAP_ANONYMOUS));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 2,
		                      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)control_pid(vm->ctl)),
		                      SCMP_A2(SCMP_CMP_EQ, (scmp_datum_t)control_kick_signal()));
	return rc;
}

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
	if (rc == 0)
		rc = allow_vcpu_ioctls(ctx, vm->vcpu_fd, vcpu_requests,
		                       sizeof(vcpu_requests) / sizeof(vcpu_requests[0]));
	if (rc == 0 && vm->ctl)
		rc = allow_control(ctx, vm);
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	if (rc < 0) {
		snprintf(err, errlen, "cannot install the seccomp filter: %s", strerror(-rc));
		return -1;
	}
	return 0;
}
