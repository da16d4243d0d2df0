/*
 * kvm.c - the KVM side of a VM: device, VM, memory slot, vCPU and run loop.
 *
 * The run loop handles exactly the exits a hedge guest may cause: port writes
 * to the hypercall ports.  Anything else ends the VM with a reason, because a
 * guest that does something unexpected is broken or hostile, and resuming it
 * would only hide that.  With a control socket, an interrupted KVM_RUN is
 * where the vCPU parks for a pause or a snapshot (see control.c).
 */
#include "kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "control.h"
#include "hypercall.h"
#include "status.h"

static const char *kvm_device(void)
{
	const char *dev = getenv("HEDGE_KVM_DEVICE");
	return dev && *dev ? dev : "/dev/kvm";
}

int kvm_create(struct vm *vm, char *err, size_t errlen)
{
	const char *dev = kvm_device();
	vm->kvm_fd = open(dev, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		int e = errno;
		if (e == ENOENT)
			snprintf(err, errlen,
			         "%s does not exist: KVM is not available on this host (enable "
			         "virtualization, load kvm_intel or kvm_amd)",
			         dev);
		else if (e == EACCES || e == EPERM)
			snprintf(err, errlen,
			         "no permission to open %s (run as root or join the kvm group)",
			         dev);
		else
			snprintf(err, errlen, "cannot open %s: %s", dev, strerror(e));
		return ST_NO_KVM;
	}
	int api = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION) {
		snprintf(err, errlen, "%s is not a usable KVM device (API version %d, need %d)",
		         dev, api, KVM_API_VERSION);
		return ST_NO_KVM;
	}
	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		snprintf(err, errlen, "cannot create a KVM VM: %s", strerror(errno));
		return ST_NO_KVM;
	}
	return 0;
}

int kvm_set_memory(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = {
	    .slot = 0,
	    .guest_phys_addr = 0,
	    .memory_size = vm->mem.size,
	    .userspace_addr = (uint64_t)(uintptr_t)vm->mem.base,
	};
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, errlen, "cannot give the VM its memory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int kvm_create_vcpu(struct vm *vm, char *err, size_t errlen)
{
	vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu_fd < 0) {
		snprintf(err, errlen, "cannot create a vCPU: %s", strerror(errno));
		return -1;
	}
	int size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (size <= 0) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno));
		return -1;
	}
	void *run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu_fd, 0);
	if (run == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the vCPU run area: %s", strerror(errno));
		return -1;
	}
	vm->run = run;
	vm->run_size = (uint64_t)size;
	return 0;
}

unsigned long kvm_tsc_khz(struct vm *vm)
{
	int khz = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
	return khz > 0 ? (unsigned long)khz : 0;
}

static unsigned long long guest_rip(struct vm *vm)
{
	struct kvm_regs regs;
	if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
		return 0;
	return regs.rip;
}

static void handle_io(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	if (run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1) {
		vm_stop(vm, ST_BAD_HYPERCALL,
		        "bad hypercall: unexpected %s of %u bytes at port 0x%x (rip=0x%llx)",
		        run->io.direction == KVM_EXIT_IO_OUT ? "write" : "read", run->io.size,
		        run->io.port, guest_rip(vm));
		return;
	}
	uint32_t value;
	memcpy(&value, (uint8_t *)run + run->io.data_offset, sizeof(value));
	struct hc_request req;
	char err[256];
	int status = hc_decode(&vm->mem, run->io.port, value, &req, err, sizeof(err));
	if (status) {
		vm_stop(vm, status, "%s (rip=0x%llx)", err, guest_rip(vm));
		return;
	}
	hc_execute(vm, &req);
}

static void handle_exit(struct vm *vm)
{
	struct kvm_run *run = vm->run;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vm);
		break;
	case KVM_EXIT_SHUTDOWN:
		vm_stop(vm, ST_GUEST_TRIPLE, "guest triple fault: the vCPU shut down (rip=0x%llx)",
		        guest_rip(vm));
		break;
	case KVM_EXIT_HLT:
		vm_stop(vm, ST_GUEST_EXIT_UNEXPECTED,
		        "guest halted with nothing to wake it (rip=0x%llx)", guest_rip(vm));
		break;
	case KVM_EXIT_MMIO:
		vm_stop(vm, ST_GUEST_EXIT_UNEXPECTED,
		        "guest accessed 0x%llx, which is not guest memory (rip=0x%llx)",
		        (unsigned long long)run->mmio.phys_addr, guest_rip(vm));
		break;
	case KVM_EXIT_FAIL_ENTRY:
		vm_stop(vm, ST_GUEST_EXIT_UNEXPECTED,
		        "KVM could not enter the guest (hardware reason 0x%llx)",
		        (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		vm_stop(vm, ST_GUEST_EXIT_UNEXPECTED, "KVM internal error %u (rip=0x%llx)",
		        run->internal.suberror, guest_rip(vm));
		break;
	default:
		vm_stop(vm, ST_GUEST_EXIT_UNEXPECTED, "unexpected VM exit %u (rip=0x%llx)",
		        run->exit_reason, guest_rip(vm));
		break;
	}
}

void kvm_run_loop(struct vm *vm)
{
	while (!vm->stopped) {
		if (ioctl(vm->vcpu_fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				if (vm->ctl)
					control_vcpu_interrupted(vm->ctl);
				continue;
			}
			vm_stop(vm, ST_INTERNAL, "KVM_RUN failed: %s", strerror(errno));
			break;
		}
		/* Only this thread writes it; the control thread reads it for status. */
		__atomic_store_n(&vm->exits, vm->exits + 1, __ATOMIC_RELAXED);
		handle_exit(vm);
	}
	if (vm->ctl)
		control_vcpu_finished(vm->ctl);
}

void kvm_destroy(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->vcpu_fd >= 0)
		close(vm->vcpu_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->run = NULL;
	vm->vcpu_fd = vm->vm_fd = vm->kvm_fd = -1;
}
