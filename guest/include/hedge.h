/*
 * hedge.h - the C API of the hedge guest runtime for unikernel applications.
 *
 * An application defines `int main(int argc, char **argv)`; the runtime boots,
 * calls it and exits with its return value.  The usual C library pieces
 * (string.h, stdio.h, stdlib.h, ...) are available too.
 */
#ifndef HEDGE_H
#define HEDGE_H

#include <stddef.h>
#include <stdint.h>

/* Writes len bytes to the console (the monitor's stdout), unbuffered. */
void hedge_console_write(const char *buf, size_t len);
/*
 * The same on stream 1 (stdout) or 2 (stderr); returns 0, or a negative
 * errno: -32 (EPIPE) once the reader has gone away, -9 (EBADF), -5 (EIO).
 */
int hedge_console_write_stream(unsigned stream, const char *buf, size_t len);
/* Reads the monitor's stdin: >0 bytes read, 0 at end of file, <0 a negative errno. Blocks. */
long hedge_console_read(void *buf, size_t len);

/* Nanoseconds since boot; never goes backwards. */
uint64_t hedge_clock_monotonic_ns(void);
/* Nanoseconds since the Unix epoch. */
uint64_t hedge_clock_wall_ns(void);
/* CPU time the guest has run, in nanoseconds (the vCPU is never shared). */
uint64_t hedge_clock_cpu_ns(void);

#define HEDGE_POLL_STDIN 1u /* stdin is readable or at end of file */
/* Blocks until an event in interest arrives or timeout_ns passes; returns the ready mask. */
uint64_t hedge_poll(uint64_t interest, uint64_t timeout_ns);
/* Sleeps at least ns nanoseconds. */
void hedge_sleep_ns(uint64_t ns);
/* Lets the monitor handle pending events, then returns at once. */
void hedge_yield(void);

/* Fills buf with len bytes from the host's random source; 0 or -1. */
int hedge_random(void *buf, size_t len);

int hedge_argc(void);
char **hedge_argv(void);
char **hedge_environ(void);
/* Bytes of guest memory. */
uint64_t hedge_mem_size(void);

/* A directory given to the VM, as a ustar archive in memory. */
struct hedge_fs_image {
	const char *guest_path; /* where it appears, e.g. "/data" */
	const void *tar;
	size_t size;
};
/*
 * Fills out with up to max directories: first those embedded in the image by
 * hedge build --dir, then those loaded by hedge run --dir.  Returns how many
 * there are in all.
 */
size_t hedge_fs_images(struct hedge_fs_image *out, size_t max);

/* Ends the VM with status (flushes stdout first). */
_Noreturn void hedge_exit(int status);
/* Ends the VM as failed with a one-line reason shown by the monitor. */
_Noreturn void hedge_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
