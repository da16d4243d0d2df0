/*
 * snapshot.h - saving a paused VM to a snapshot file and resuming one from it.
 */
#ifndef HEDGE_SNAPSHOT_H
#define HEDGE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "snapfile.h"
#include "vm.h"

/*
 * Exit statuses of `hedge run --restore` beyond those of status.h.  Like
 * ST_IMAGE they share the range of guest statuses; the one-line message on
 * stderr tells them apart.
 *
 * ST_BAD_SNAPSHOT: the file is unusable - missing, not a snapshot, corrupt,
 * truncated, another format version or hypercall ABI, or a memory size
 * other than --mem asks for.
 * ST_SNAPSHOT_HOST: this host cannot resume it - another CPU vendor, CPU
 * features it lacks, a TSC it cannot match, or vCPU state KVM refuses.
 */
#define ST_BAD_SNAPSHOT  3
#define ST_SNAPSHOT_HOST 4

/*
 * Gets vm ready for snapshots while it may still open files and probe KVM:
 * the MSRs worth saving, the CPUID table, buffers, /proc/self/pagemap.
 * Called before the sandbox, after the vCPU's state is set.  0 or -1.
 */
int snapshot_prepare(struct vm *vm, char *err, size_t errlen);
void snapshot_release(struct vm *vm);

struct snapshot_result {
	uint64_t bytes_written; /* metadata and page data */
	uint64_t file_size;     /* apparent size; the file is sparse */
	uint64_t pages;         /* guest pages stored */
	double ms;              /* from reading the vCPU to renaming the file */
};

/*
 * Writes a snapshot of vm to path.  The vCPU must be parked outside KVM_RUN
 * with its last exit completed (see control.c).  0 or -1 with a reason.
 */
int snapshot_take(struct vm *vm, const char *path, struct snapshot_result *res, char *err,
                  size_t errlen);

/*
 * For migration (migrate.c), with the vCPU parked as for snapshot_take:
 * the vCPU and device state encoded as a snapshot prefix (snap_encode's
 * output) whose memory section lists no pages, since the pages are sent
 * separately.  0 or -1 with a reason; *out is malloc'd.
 */
int snapshot_encode_state(struct vm *vm, uint8_t **out, size_t *outlen, char *err, size_t errlen);

/*
 * One bit per guest page that may hold data (see mark_candidates); owned
 * by vm->snap and valid until the next call.
 */
const uint64_t *snapshot_candidates(struct vm *vm);

/*
 * Gives vm the snapshot's memory: maps f's image copy-on-write and checks
 * it.  mem_size, if not 0, is the size the user asked for and must match.
 * Returns 0 or ST_BAD_SNAPSHOT with a reason.
 */
int snapshot_load_memory(struct vm *vm, struct snap_file *f, uint64_t mem_size, char *err,
                         size_t errlen);

/*
 * Loads the snapshot's vCPU and device state into vm, whose vCPU exists
 * and whose memory came from snapshot_load_memory, and sets the clocks so
 * the guest's continue without going backwards.  Returns 0, or
 * ST_SNAPSHOT_HOST / ST_BAD_SNAPSHOT with a reason.
 */
int snapshot_restore(struct vm *vm, const struct snap_file *f, char *err, size_t errlen);

/* The snapshot's network device; returns 1 if the VM had one. */
int snapshot_net(const struct snap_file *f, struct snap_net *net);

#endif
