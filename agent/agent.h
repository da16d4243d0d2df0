/*
 * agent.h - hedged, the node agent: shared state of its modules.
 *
 * One mutex (agent.lock) guards the database and every VM state change, so
 * that concurrent API requests see a consistent view and conflicting
 * operations on one VM are refused (409) instead of interleaved.  Slow work
 * (building a .wasm, waiting for a VM to boot or stop) happens outside it.
 */
#ifndef HEDGE_AGENT_H
#define HEDGE_AGENT_H

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HEDGED_VERSION   "0.1.0"
#define VM_NAME_MAX      64
#define DEFAULT_VM_MEM   (32ull << 20)
#define DEFAULT_WASM_MEM (256ull << 20)
#define MAX_VM_MEM       (16ull << 30)

struct agent {
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char hedge_bin[PATH_MAX]; /* the monitor: `hedge` next to hedged unless --hedge */
	sqlite3 *db;
	pthread_mutex_t lock;
	uint64_t max_vm_mem;      /* admission budget cap (0: MemAvailable only) */
	unsigned stop_timeout_ms; /* SIGTERM to SIGKILL */
	size_t max_image_bytes;   /* largest POST /images body */
	volatile sig_atomic_t quit;
};

extern struct agent agent;

/* Milliseconds: wall clock (stored in the database) and monotonic. */
uint64_t wall_ms(void);
uint64_t mono_ms(void);

/* store.c: opens DIR/hedged.db and creates the tables; 0 or -1 with a reason. */
int store_open(char *err, size_t errlen);

/* vms.c: process supervision.  Functions named *_locked need agent.lock held. */
int vm_name_valid(const char *name);
void vm_sock_path(const char *name, char *out, size_t len);
void vm_log_path(const char *name, char *out, size_t len);
/* Spawns the VM's monitor; 0, or an HTTP status (409/422/500) with a reason. */
int vm_spawn_locked(const char *name, char *err, size_t errlen);
/* Sends one JSON line to a VM's control socket; 0 with the answer line, or -1. */
int vm_control(const char *name, const char *request, char *answer, size_t len, int timeout_ms);
void vms_adopt(void);
void vms_supervise(void);
uint64_t node_mem_available(uint64_t *total);

/* api.c */
int api_start(int listen_fd, char *err, size_t errlen);
void api_stop(void);

#endif
