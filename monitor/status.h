/*
 * status.h - the exit statuses of `hedge run`.
 *
 * A guest's own exit status passes through unchanged.  The monitor's own
 * outcomes use the values below so that scripts can tell a bad image from a
 * crashed guest from a broken host.
 */
#ifndef HEDGE_STATUS_H
#define HEDGE_STATUS_H

enum hedge_status {
	ST_IMAGE = 2,                   /* the image file is missing, not ELF or malformed */
	ST_USAGE = 64,                  /* bad command line */
	ST_NO_KVM = 69,                 /* /dev/kvm missing or unusable */
	ST_INTERNAL = 70,               /* a host-side failure (ioctl, mmap, ...) */
	ST_GUEST_ABORT = 120,           /* the guest aborted or panicked (CPU exception) */
	ST_GUEST_TRIPLE = 121,          /* triple fault: the vCPU shut down */
	ST_BAD_HYPERCALL = 122,         /* bad pointer, length, number or argument */
	ST_BAD_ABI = 123,               /* hypercall carried another ABI version */
	ST_GUEST_EXIT_UNEXPECTED = 124, /* an exit the monitor does not handle */
};

#endif
