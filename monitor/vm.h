/*
 * vm.h - the state of one microVM, shared by the monitor's modules.
 */
#ifndef HEDGE_VM_H
#define HEDGE_VM_H

#include <stdint.h>

#include "guest_mem.h"

struct kvm_run;
struct net_dev;
struct control;
struct snap_ctx;
struct snap_extent;

#define VM_REASON_MAX 600

struct vm {
	struct guest_mem mem;
	int kvm_fd;
	int vm_fd;
	int vcpu_fd;
	struct kvm_run *run; /* the vCPU's shared run area */
	uint64_t run_size;
	int console_fd;        /* where guest stdout goes; -1 discards all console output */
	int console_err_fd;    /* where guest stderr goes */
	int stdin_fd;          /* what the guest reads as stdin; -1 reads end of file */
	struct net_dev *net;   /* NULL: the VM has no network interface */
	uint64_t mono_base_ns; /* host CLOCK_MONOTONIC at guest monotonic time 0 */
	uint64_t exits;        /* VM exits handled; written by the vCPU thread only */

	/* With --api-sock: the control socket's thread and what snapshots need; else NULL. */
	struct control *ctl;
	/*
	 * Called by a hypercall whose blocking wait (a read of stdin) a signal
	 * interrupted: parks the vCPU thread right there if a pause was asked
	 * for, until it is resumed.  NULL without a control socket.
	 */
	void (*interrupted)(struct vm *vm);
	/*
	 * The vCPU thread is parked inside such a hypercall (control.c sets it
	 * under its lock): a copy of the vCPU's state must issue it again.
	 */
	int in_hypercall;
	struct snap_ctx *snap;
	/* Restored VMs: the pages the snapshot file holds, which back guest memory. */
	struct snap_extent *backing;
	uint64_t nbacking;

	/* Set once the VM has ended: the status hedge run exits with, and why. */
	int stopped;
	int exit_status;
	char reason[VM_REASON_MAX]; /* empty for a normal guest exit */
};

/* Ends the VM with status and a one-line reason (printf format). */
void vm_stop(struct vm *vm, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

uint64_t host_monotonic_ns(void);
uint64_t host_realtime_ns(void);

#endif
