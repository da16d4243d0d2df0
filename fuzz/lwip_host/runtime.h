/*
 * fuzz/lwip_host/runtime.h - stands in for guest/runtime.h when the guest's
 * network stack is built on the host for fuzz/fuzz_lwip_rx.c.
 *
 * The real header makes hypercalls with an `outl` to the monitor's port;
 * here the harness plays the monitor, so both are plain functions it
 * defines.  Guest memory is identity-mapped, and so is the host's here.
 */
#ifndef HEDGE_RUNTIME_H
#define HEDGE_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "hedge_abi.h"

void hypercall(unsigned nr, void *args);
size_t mm_phys_span(uintptr_t va, size_t len, uintptr_t *pa);

#endif
