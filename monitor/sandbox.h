/*
 * sandbox.h - the seccomp allow-list the monitor enters before running a guest.
 */
#ifndef HEDGE_SANDBOX_H
#define HEDGE_SANDBOX_H

#include <stddef.h>

#include "vm.h"

/* After this, any syscall outside the run loop's needs kills the process. */
int sandbox_enter(const struct vm *vm, char *err, size_t errlen);

#endif
