/*
 * kvm.h - the KVM side of a VM: device, VM, memory slot, vCPU and run loop.
 */
#ifndef HEDGE_KVM_H
#define HEDGE_KVM_H

#include <stddef.h>

#include "vm.h"

/*
 * Opens the KVM device (HEDGE_KVM_DEVICE overrides /dev/kvm) and creates the VM.
 * Returns 0 or ST_NO_KVM with the reason in err.
 */
int kvm_create(struct vm *vm, char *err, size_t errlen);
int kvm_set_memory(struct vm *vm, char *err, size_t errlen);
int kvm_create_vcpu(struct vm *vm, char *err, size_t errlen);
/* Guest TSC frequency in kHz, 0 if KVM cannot tell. */
unsigned long kvm_tsc_khz(struct vm *vm);
/* Runs the vCPU until the VM stops; vm->exit_status and vm->reason say why. */
void kvm_run_loop(struct vm *vm);
void kvm_destroy(struct vm *vm);

#endif
