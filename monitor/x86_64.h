/*
 * x86_64.h - putting a vCPU straight into 64-bit long mode.
 */
#ifndef HEDGE_X86_64_H
#define HEDGE_X86_64_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"

/* Writes the GDT and identity page tables into guest memory's reserved area. */
void x86_write_tables(struct guest_mem *mem);

/* Sets CPUID, special and general registers so the vCPU starts at entry. */
int x86_setup_vcpu(int kvm_fd, int vcpu_fd, uint64_t entry, char *err, size_t errlen);

#endif
