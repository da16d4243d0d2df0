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

#include "request.h"

#define HEDGED_VERSION   "0.1.0"
#define DEFAULT_VM_MEM   (32ull << 20)
#define DEFAULT_WASM_MEM (256ull << 20)

struct agent {
	char state_dir[PATH_MAX];
	char socket_path[PATH_MAX];
	char hedge_bin[PATH_MAX]; /* the monitor: `hedge` next to hedged unless --hedge */
	sqlite3 *db;
	pthread_mutex_t lock;
	uint64_t max_vm_mem;       /* admission budget cap (0: MemAvailable only) */
	unsigned stop_timeout_ms;  /* SIGTERM to SIGKILL */
	size_t max_image_bytes;    /* largest POST /images body */
	char token[256];           /* bearer token for the TCP listener ("" without one) */
	char cgroup[8];            /* "v2", "v1" or "none": how VM limits are applied */
	char cgroup_mem[PATH_MAX]; /* parent cgroup directories for VMs ("" if unused) */
	char cgroup_cpu[PATH_MAX];
	volatile sig_atomic_t quit;
};

extern struct agent agent;

/* Milliseconds: wall clock (stored in the database) and monotonic. */
uint64_t wall_ms(void);
uint64_t mono_ms(void);

/* store.c: opens DIR/hedged.db and creates the tables; 0 or -1 with a reason. */
int store_open(char *err, size_t errlen);

/* vms.c: process supervision.  Functions named *_locked need agent.lock held. */
#define vm_name_valid req_name_valid
void vm_sock_path(const char *name, char *out, size_t len);
void vm_log_path(const char *name, char *out, size_t len);
/* Spawns the VM's monitor; 0, or an HTTP status (409/422/500) with a reason. */
int vm_spawn_locked(const char *name, char *err, size_t errlen);
/* Sends one JSON line to a VM's control socket; 0 with the answer line, or -1. */
int vm_control(const char *name, const char *request, char *answer, size_t len, int timeout_ms);
/* The same, passing each {"progress":...} line before the answer to on_progress. */
int vm_control_progress(const char *name, const char *request, char *answer, size_t len,
                        int timeout_ms, void (*on_progress)(void *ctx, const char *line),
                        void *ctx);
void vms_adopt(void);
/*
 * Reaps ended VMs and applies restart policies and stop deadlines; all: look
 * at every live VM (after SIGCHLD, and now and then for adopted ones),
 * else only those with a deadline (stopping, restarting).
 */
void vms_supervise(int all);
uint64_t node_mem_available(uint64_t *total);

/* Monitor process figures from /proc: 0, or -1 if the process is gone. */
struct vm_usage {
	uint64_t rss, pss;  /* the whole monitor, guest memory included */
	uint64_t guest_rss; /* guest pages touched (resident in the guest mapping) */
	double cpu_seconds; /* user + system */
};
int vm_usage(pid_t pid, uint64_t guest_mem, struct vm_usage *u);

/* cgroup.c: per-VM limits.  Detects what the machine has; logs what it uses. */
void cgroup_init(void);
/* Puts pid in the VM's cgroup with its limits; 0, or -1 (logged, the VM runs unlimited). */
int cgroup_attach(const char *name, pid_t pid, uint64_t mem_limit, unsigned cpu_millis);
void cgroup_remove(const char *name);
void cgroup_fini(void);

/* api.c: tcp_fd -1 for none; the TCP listener wants agent.token. */
int api_start(int listen_fd, int tcp_fd, char *err, size_t errlen);
void api_boot_observed(double ms);
void api_stop(void);

#endif
