/*
 * vms.c - supervising VMs: each is a `hedge run` process in its own session,
 * so it survives hedged and a signal to its process group reaches only it.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent.h"
#include "control_client.h"

#define MAX_ARGV 600

void vm_sock_path(const char *name, char *out, size_t len)
{
	/* Truncation is refused when the VM is created (see post_vm). */
	if (snprintf(out, len, "%s/vms/%s.sock", agent.state_dir, name) >= (int)len)
		out[0] = '\0';
}

void vm_log_path(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/vms/%s.log", agent.state_dir, name);
}

uint64_t node_mem_available(uint64_t *total)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];
	unsigned long long kb, avail = 0, tot = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			avail = kb * 1024;
		else if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			tot = kb * 1024;
	}
	if (f)
		fclose(f);
	if (total)
		*total = tot;
	return avail;
}

int vm_control(const char *name, const char *request, char *answer, size_t len, int timeout_ms)
{
	return vm_control_progress(name, request, answer, len, timeout_ms, NULL, NULL);
}

int vm_control_progress(const char *name, const char *request, char *answer, size_t len,
                        int timeout_ms, void (*on_progress)(void *ctx, const char *line), void *ctx)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)], err[300];
	vm_sock_path(name, path, sizeof(path));
	return control_exchange_progress(path, request, answer, len, timeout_ms, on_progress, ctx,
	                                 err, sizeof(err));
}

static int exec_sql(const char *sql, const char *name, sqlite3_int64 a, sqlite3_int64 b)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(agent.db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, a);
	sqlite3_bind_int64(st, 3, b);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void set_exited_locked(const char *name, const char *reason)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(agent.db,
	                       "UPDATE vms SET state='exited', pid=NULL, reason=?2 WHERE name=?1",
	                       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

/* Memory of VMs that hold it now (all but created and exited), other than name's. */
static uint64_t mem_in_use(const char *name)
{
	sqlite3_stmt *st;
	uint64_t sum = 0;
	if (sqlite3_prepare_v2(
	        agent.db,
	        "SELECT coalesce(sum(mem),0) FROM vms WHERE name<>?1 AND state IN "
	        "('running','paused','stopping','restarting','migrating','snapshotting')",
	        -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW)
			sum = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return sum;
}

/* Appends the strings of a JSON array to argv; -1 if it would overflow. */
static int push_json_strings(const char *text, const char *flag, char **argv, int *argc)
{
	json_t *arr = json_loads(text, 0, NULL);
	size_t i;
	json_t *v;
	int rc = 0;
	json_array_foreach(arr, i, v)
	{
		if (*argc + 3 >= MAX_ARGV) {
			rc = -1;
			break;
		}
		if (flag)
			argv[(*argc)++] = strdup(flag);
		argv[(*argc)++] = strdup(json_string_value(v));
	}
	json_decref(arr);
	return rc;
}

int vm_spawn_locked(const char *name, char *err, size_t errlen)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(agent.db,
	                       "SELECT v.mem, v.args, v.env, i.path, v.net, s.path, v.cpu_millis, "
	                       "v.incoming "
	                       "FROM vms v JOIN images i ON i.id = v.image LEFT JOIN snapshots s "
	                       "ON s.name = v.snapshot WHERE v.name = ?1",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "database: %s", sqlite3_errmsg(agent.db));
		return 500;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "no such VM: %s", name);
		return 404;
	}
	uint64_t mem = (uint64_t)sqlite3_column_int64(st, 0);
	uint64_t avail = node_mem_available(NULL);
	uint64_t budget = agent.max_vm_mem && agent.max_vm_mem < avail ? agent.max_vm_mem : avail;
	uint64_t used = mem_in_use(name);
	if (used + mem > budget) {
		sqlite3_finalize(st);
		snprintf(err, errlen,
		         "not enough memory: %llu MiB asked, %llu MiB of %llu MiB already given "
		         "to running VMs",
		         (unsigned long long)(mem >> 20), (unsigned long long)(used >> 20),
		         (unsigned long long)(budget >> 20));
		return 409;
	}

	/* Everything the child needs is prepared here: after fork only exec-safe calls. */
	char *argv[MAX_ARGV];
	int argc = 0;
	char sock[PATH_MAX + 64], log[PATH_MAX + 64], memarg[32];
	vm_sock_path(name, sock, sizeof(sock));
	vm_log_path(name, log, sizeof(log));
	snprintf(memarg, sizeof(memarg), "%llu", (unsigned long long)mem);
	argv[argc++] = strdup(agent.hedge_bin);
	argv[argc++] = strdup("run");
	argv[argc++] = strdup("--api-sock");
	argv[argc++] = strdup(sock);
	/* The network settings were checked by req_parse_net when the VM was created. */
	json_t *net = sqlite3_column_type(st, 4) == SQLITE_NULL
	                  ? NULL
	                  : json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL);
	const char *tap = json_string_value(json_object_get(net, "tap"));
	const char *netns = json_string_value(json_object_get(net, "netns"));
	if (tap) {
		char buf[32];
		snprintf(buf, sizeof(buf), "tap:%s", tap);
		argv[argc++] = strdup("--net");
		argv[argc++] = strdup(buf);
	}
	if (netns) {
		argv[argc++] = strdup("--netns");
		argv[argc++] = strdup(netns);
	}
	int over = 0;
	const char *snapshot = (const char *)sqlite3_column_text(st, 5);
	const char *incoming = (const char *)sqlite3_column_text(st, 7);
	if (snapshot) {
		/* Memory, arguments, environment and addresses come with the snapshot. */
		argv[argc++] = strdup("--restore");
		argv[argc++] = strdup(snapshot);
	} else if (incoming) {
		/* Likewise with the migrating VM; --mem must match it (checked by the target). */
		argv[argc++] = strdup("--incoming");
		argv[argc++] = strdup(incoming);
		argv[argc++] = strdup("--mem");
		argv[argc++] = strdup(memarg);
	} else {
		static const char *const opts[] = {"ip", "gw", "mac"};
		for (size_t k = 0; k < 3; k++) {
			const char *v = json_string_value(json_object_get(net, opts[k]));
			if (v) {
				char opt[8];
				snprintf(opt, sizeof(opt), "--%s", opts[k]);
				argv[argc++] = strdup(opt);
				argv[argc++] = strdup(v);
			}
		}
		argv[argc++] = strdup("--mem");
		argv[argc++] = strdup(memarg);
		over = push_json_strings((const char *)sqlite3_column_text(st, 2), "--env", argv,
		                         &argc);
		argv[argc++] = strdup((const char *)sqlite3_column_text(st, 3));
		argv[argc++] = strdup("--");
		over |=
		    push_json_strings((const char *)sqlite3_column_text(st, 1), NULL, argv, &argc);
	}
	argv[argc] = NULL;
	unsigned cpu_millis = (unsigned)sqlite3_column_int(st, 6);
	json_decref(net);
	sqlite3_finalize(st);

	int rc = 0;
	int logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	pid_t pid = -1;
	if (over) {
		snprintf(err, errlen, "too many arguments and environment variables");
		rc = 422;
	} else if (logfd < 0 || nullfd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", log, strerror(errno));
		rc = 500;
	} else {
		unlink(sock); /* a stale socket would make the status probe lie */
		/*
		 * posix_spawn, not fork: it shares hedged's memory until the exec
		 * instead of copying its page tables, which with a thousand
		 * connection threads made each start cost milliseconds of CPU.
		 */
		posix_spawnattr_t attr;
		posix_spawn_file_actions_t fa;
		sigset_t none, pipe_set;
		sigemptyset(&none);
		sigemptyset(&pipe_set);
		sigaddset(&pipe_set, SIGPIPE);
		posix_spawnattr_init(&attr);
		posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
		                                    POSIX_SPAWN_SETSIGDEF);
		posix_spawnattr_setsigmask(&attr, &none);
		posix_spawnattr_setsigdefault(&attr, &pipe_set);
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_adddup2(&fa, nullfd, 0);
		posix_spawn_file_actions_adddup2(&fa, logfd, 1);
		posix_spawn_file_actions_adddup2(&fa, logfd, 2);
		int serr = posix_spawn(&pid, argv[0], &fa, &attr, argv, environ);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&attr);
		if (serr) {
			snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(serr));
			rc = 500;
		}
	}
	if (logfd >= 0)
		close(logfd);
	if (nullfd >= 0)
		close(nullfd);
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	if (rc)
		return rc;
	/* The monitor's own memory on top of the guest's: a few MiB, with room to spare. */
	cgroup_attach(name, pid, mem + (64u << 20), cpu_millis);
	sqlite3_stmt *up;
	sqlite3_prepare_v2(agent.db,
	                   "UPDATE vms SET state='running', pid=?2, supervisor_pid=?3, "
	                   "exit_code=NULL, exit_signal=NULL, reason=NULL, started_at=?4, "
	                   "finished_at=NULL, boot_ms=NULL, restart_at=NULL, stop_deadline=NULL "
	                   "WHERE name=?1",
	                   -1, &up, NULL);
	sqlite3_bind_text(up, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(up, 2, pid);
	sqlite3_bind_int64(up, 3, getpid());
	sqlite3_bind_int64(up, 4, (sqlite3_int64)wall_ms());
	sqlite3_step(up);
	sqlite3_finalize(up);
	return 0;
}

/*
 * A VM's monitor ended (status known for our children, -1 for adopted
 * ones).  A VM being stopped stays down; otherwise its restart policy
 * decides, with an exponential back-off so a crashing image cannot spin.
 */
static void vm_ended_locked(const char *name, const char *state, const char *restart, int status,
                            sqlite3_int64 started_at, int restarts)
{
	int code = -1, sig = -1;
	if (status >= 0 && WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (status >= 0 && WIFSIGNALED(status))
		sig = WTERMSIG(status);
	int failed = !(code == 0);
	/* A VM stopped, or moved elsewhere by a migration, stays down here. */
	int again = strcmp(state, "stopping") != 0 && strcmp(state, "migrating") != 0 &&
	            (!strcmp(restart, "always") || (!strcmp(restart, "on-failure") && failed));
	sqlite3_stmt *st;
	sqlite3_prepare_v2(agent.db,
	                   "UPDATE vms SET state=?2, pid=NULL, exit_code=?3, exit_signal=?4, "
	                   "finished_at=?5, restart_at=?6, restarts=?7, stop_deadline=NULL, "
	                   "reason=coalesce(reason, ?8) WHERE name=?1",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, again ? "restarting" : "exited", -1, SQLITE_STATIC);
	if (code >= 0)
		sqlite3_bind_int(st, 3, code);
	if (sig >= 0)
		sqlite3_bind_int(st, 4, sig);
	uint64_t now = wall_ms();
	sqlite3_bind_int64(st, 5, (sqlite3_int64)now);
	/* A VM that ran for a minute earns a fresh back-off. */
	if (now - (uint64_t)started_at > 60000)
		restarts = 0;
	if (again) {
		uint64_t delay = 100ull << (restarts < 7 ? restarts : 7);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)(mono_ms() + delay));
	}
	sqlite3_bind_int(st, 7, again ? restarts + 1 : restarts);
	if (status < 0)
		sqlite3_bind_text(st, 8, "exit status unknown: the VM ended while hedged was away",
		                  -1, SQLITE_STATIC);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

void vms_supervise(int all)
{
	pthread_mutex_lock(&agent.lock);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(
	    agent.db,
	    all ? "SELECT name, state, restart, pid, supervisor_pid, started_at, restarts, "
	          "restart_at, stop_deadline FROM vms WHERE state IN "
	          "('running','paused','stopping','restarting','migrating','snapshotting')"
	        : "SELECT name, state, restart, pid, supervisor_pid, started_at, restarts, "
	          "restart_at, stop_deadline FROM vms WHERE state IN ('stopping','restarting')",
	    -1, &st, NULL);
	/* Collected first: updating rows while stepping over them is not allowed. */
	struct row {
		char name[VM_NAME_MAX + 1], state[16], restart[16];
		pid_t pid, sup;
		sqlite3_int64 started, restart_at, deadline;
		int restarts;
	} *rows = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct row *r2 = realloc(rows, (n + 1) * sizeof(*rows));
		if (!r2)
			break;
		rows = r2;
		struct row *r = &rows[n++];
		snprintf(r->name, sizeof(r->name), "%s", sqlite3_column_text(st, 0));
		snprintf(r->state, sizeof(r->state), "%s", sqlite3_column_text(st, 1));
		snprintf(r->restart, sizeof(r->restart), "%s", sqlite3_column_text(st, 2));
		r->pid = (pid_t)sqlite3_column_int64(st, 3);
		r->sup = (pid_t)sqlite3_column_int64(st, 4);
		r->started = sqlite3_column_int64(st, 5);
		r->restarts = sqlite3_column_int(st, 6);
		r->restart_at = sqlite3_column_int64(st, 7);
		r->deadline = sqlite3_column_int64(st, 8);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		struct row *r = &rows[i];
		if (!strcmp(r->state, "restarting")) {
			if (mono_ms() >= (uint64_t)r->restart_at) {
				char err[300];
				if (vm_spawn_locked(r->name, err, sizeof(err)))
					set_exited_locked(r->name, err);
			}
			continue;
		}
		if (r->pid <= 0)
			continue;
		int status = -1, gone = 0;
		if (r->sup == getpid()) {
			gone = waitpid(r->pid, &status, WNOHANG) == r->pid;
		} else if (kill(r->pid, 0) && errno == ESRCH) {
			gone = 1; /* adopted: not our child, its status is lost */
		}
		if (gone) {
			cgroup_remove(r->name);
			vm_ended_locked(r->name, r->state, r->restart, status, r->started,
			                r->restarts);
			continue;
		}
		if (!strcmp(r->state, "stopping") && r->deadline &&
		    mono_ms() >= (uint64_t)r->deadline)
			kill(-r->pid, SIGKILL);
	}
	free(rows);
	pthread_mutex_unlock(&agent.lock);
}

/*
 * After a restart of hedged: a VM recorded as up is managed again if its
 * pid lives and its control socket answers; anything else has ended (or the
 * pid was reused) while no one watched.
 */
void vms_adopt(void)
{
	pthread_mutex_lock(&agent.lock);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(
	    agent.db,
	    "SELECT name, pid, supervisor_pid, state, incoming FROM vms WHERE state IN "
	    "('running','paused','stopping','migrating','snapshotting')",
	    -1, &st, NULL);
	char(*dead)[VM_NAME_MAX + 1] = NULL;
	size_t n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		pid_t pid = (pid_t)sqlite3_column_int64(st, 1);
		char answer[512];
		/* A VM still waiting for its migration has no control socket yet. */
		if (pid > 0 && kill(pid, 0) == 0 && sqlite3_column_type(st, 4) != SQLITE_NULL &&
		    vm_control(name, "{\"op\":\"status\"}\n", answer, sizeof(answer), 200) != 0)
			continue;
		if (pid > 0 && kill(pid, 0) == 0 &&
		    vm_control(name, "{\"op\":\"status\"}\n", answer, sizeof(answer), 2000) == 0 &&
		    strstr(answer, "\"state\""))
			continue;
		void *d2 = realloc(dead, (n + 1) * sizeof(*dead));
		if (!d2)
			break;
		dead = d2;
		snprintf(dead[n++], VM_NAME_MAX + 1, "%s", name);
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++)
		exec_sql(
		    "UPDATE vms SET state='exited', pid=NULL, finished_at=?2, reason='lost: not "
		    "running (or not answering) when hedged started' WHERE name=?1",
		    dead[i], (sqlite3_int64)wall_ms(), 0);
	/* A migration's answer went to the hedged that ended: the VM stayed or moved. */
	exec_sql("UPDATE vms SET state='running' WHERE state IN ('migrating','snapshotting') AND "
	         "?1 IS NOT NULL",
	         "", 0, 0);
	/* A VM waiting for its restart when hedged ended is restarted by the supervisor. */
	exec_sql("UPDATE vms SET restart_at=0 WHERE state='restarting' AND ?1 IS NOT NULL", "", 0,
	         0);
	free(dead);
	pthread_mutex_unlock(&agent.lock);
}

/* "Key:   N kB" lines of an smaps file, in bytes. */
static int smaps_value(const char *line, const char *key, uint64_t *out)
{
	size_t n = strlen(key);
	unsigned long long kb;
	if (strncmp(line, key, n) || line[n] != ':' || sscanf(line + n + 1, "%llu", &kb) != 1)
		return 0;
	*out = kb * 1024;
	return 1;
}

int vm_usage(pid_t pid, uint64_t guest_mem, struct vm_usage *u)
{
	char path[64], line[512];
	memset(u, 0, sizeof(*u));
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[n] = '\0';
	/* The command name may hold spaces and parentheses: fields follow the last ')'. */
	char *p = strrchr(line, ')');
	unsigned long long utime, stime;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
	                 &stime) != 2)
		return -1;
	u->cpu_seconds = (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	if ((f = fopen(path, "r"))) {
		while (fgets(line, sizeof(line), f))
			if (!smaps_value(line, "Rss", &u->rss))
				smaps_value(line, "Pss", &u->pss);
		fclose(f);
	}
	/*
	 * Guest memory is the one mapping of exactly its size that was mapped
	 * MAP_NORESERVE ("nr" in VmFlags): a thread stack may have the same
	 * size (8 MiB), but not that flag.  Rss comes before VmFlags.
	 */
	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	if (guest_mem && (f = fopen(path, "r"))) {
		int sized = 0;
		uint64_t rss = 0;
		while (fgets(line, sizeof(line), f)) {
			unsigned long long start, end;
			/* A mapping's header ("start-end perms ..."); no field name parses so. */
			if (sscanf(line, "%llx-%llx ", &start, &end) == 2) {
				sized = end - start == guest_mem;
				rss = 0;
				continue;
			}
			if (sized && !smaps_value(line, "Rss", &rss) &&
			    !strncmp(line, "VmFlags:", 8)) {
				if (strstr(line, " nr"))
					u->guest_rss += rss;
				sized = 0;
			}
		}
		fclose(f);
	}
	return 0;
}
