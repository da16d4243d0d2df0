/*
 * migrate.h - live migration of a VM over TCP: the source side (run by the
 * control thread for {"op":"migrate"}) and the target side (hedge run
 * --incoming).  The protocol is described in migrate.c and docs/migration.md.
 */
#ifndef HEDGE_MIGRATE_H
#define HEDGE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "net_tap.h"
#include "snapfile.h"
#include "vm.h"

/*
 * Exit status of `hedge run --incoming` when no usable migration arrived:
 * nothing connected in time, the connection broke, or the source never
 * confirmed.  A bad stream is ST_BAD_SNAPSHOT, a host that cannot run the
 * VM ST_SNAPSHOT_HOST, as for --restore.
 */
#define ST_NO_MIGRATION 5

/* Where a migration is, for whoever watches it. */
struct migrate_progress {
	const char *phase;    /* "copying", "paused" (the last round), "waiting" (for the target) */
	unsigned round;       /* copy rounds begun, the first 1 */
	uint64_t bytes;       /* sent so far */
	uint64_t dirty_pages; /* left to send after this round, as last counted */
	uint64_t mem_bytes;   /* the VM's memory */
};

/* How the source parks and releases its vCPU (control.c owns both), and reports. */
struct migrate_hooks {
	void *ctx;
	int (*pause)(void *ctx, char *err, size_t errlen);
	void (*resume)(void *ctx);
	/* NULL, or called at least every 250 ms while data moves and at each phase. */
	void (*progress)(void *ctx, const struct migrate_progress *p);
	/*
	 * NULL, or called every few milliseconds while the source copies and
	 * waits for the target's acknowledgements (not while the VM is paused),
	 * so that the caller can answer others meanwhile.
	 */
	void (*tick)(void *ctx);
};

struct migrate_result {
	double downtime_ms;   /* from parking the vCPU to the target's READY */
	double total_ms;      /* from the request to READY */
	uint64_t bytes;       /* everything sent */
	uint64_t pages;       /* guest pages sent, counting resends */
	unsigned rounds;      /* copy rounds, the final stop-and-copy one included */
	unsigned frames;      /* network frames that arrived while paused, forwarded */
	uint64_t delta_pages; /* pages sent again as their changed bytes only */
};

/*
 * Sends vm to the target at `to` ("tcp:A.B.C.D:PORT") while it runs
 * (pre-copy with KVM dirty logging where KVM has it), then pauses it for a
 * final round.  On success (0) the target runs the VM: the caller must end
 * this one.  On failure (-1) the VM is running again as before (unless it
 * was stopped by the caller) and err holds a one-line reason, the target's
 * own when it refused.  MIGRATE_IN_DOUBT: the target was told to run the
 * VM but never confirmed it; the vCPU is left parked (the caller keeps the
 * VM paused) and err says so.
 */
#define MIGRATE_IN_DOUBT 1
int migrate_out(struct vm *vm, const char *to, const struct migrate_hooks *hooks,
                struct migrate_result *res, char *err, size_t errlen);

/* Parses "tcp:A.B.C.D:PORT".  0 or -1. */
int migrate_parse_addr(const char *spec, uint32_t *ip, uint16_t *port);

/*
 * Target side, in order.  migrate_accept listens on spec and waits at most
 * timeout_s for one connection; migrate_receive reads the stream into
 * vm->mem (which it maps) and f (the state, as if read from a snapshot
 * file; close it with snap_file_close); migrate_commit tells the source the
 * VM is ready, waits for its go-ahead and puts the frames that reached the
 * source meanwhile into the guest's receive ring on net (NULL: none; their
 * number in *frames).  Each returns 0 or an exit status with a reason in
 * err; after any failure migrate_refuse sends the reason (migrate_commit
 * fails only before it confirms, while the source still has the VM).
 */
int migrate_accept(const char *spec, unsigned timeout_s, int *fd, char *err, size_t errlen);
int migrate_receive(int fd, struct vm *vm, uint64_t want_mem, unsigned timeout_s,
                    struct snap_file *f, char *err, size_t errlen);
int migrate_commit(int fd, struct net_dev *net, unsigned *frames, char *err, size_t errlen);
void migrate_refuse(int fd, const char *reason);

/* Broadcasts a gratuitous ARP for the guest's address on its TAP, so peers relearn it. */
void migrate_announce(struct net_dev *net);

#endif
