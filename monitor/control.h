/*
 * control.h - the control socket of a running VM (hedge run --api-sock):
 * status, pause, resume and snapshot, one JSON line each way.
 */
#ifndef HEDGE_CONTROL_H
#define HEDGE_CONTROL_H

#include <stddef.h>
#include <sys/types.h>

#include "vm.h"

/*
 * Creates the unix socket at path (mode 0600; a stale socket left there is
 * replaced, a live one is not) and starts the thread that serves it.  Must
 * run before the sandbox and after the vCPU exists, on the thread that will
 * run the vCPU.  0 or -1 with a reason.
 */
int control_start(struct vm *vm, const char *path, char *err, size_t errlen);

/* Ends the control thread and removes the socket; after the run loop has ended. */
void control_stop(struct vm *vm);

/*
 * The vCPU thread calls this whenever KVM_RUN returns EINTR: if a pause was
 * asked for, the vCPU stays parked here (with its last exit completed, so
 * its state can be read) until resumed.
 */
void control_vcpu_interrupted(struct control *c);

/* The vCPU thread calls this when the run loop ends, so no one waits for it to park. */
void control_vcpu_finished(struct control *c);

/* For the sandbox: the signal that kicks the vCPU out of KVM_RUN, and whom it may go to. */
int control_kick_signal(void);
pid_t control_pid(const struct control *c);

#endif
