/*
 * control.c - the control socket of a running VM (hedge run --api-sock):
 * status, pause, resume and snapshot, one JSON line each way.
 *
 * A thread of its own serves the socket so that the vCPU never waits for a
 * client.  To pause, it sets the run area's immediate_exit and signals the
 * vCPU thread: a KVM_RUN in progress returns EINTR at once, and one about
 * to start returns EINTR before running a guest instruction but after
 * completing the previous exit, which is what makes the saved state
 * consistent.  The vCPU thread then parks in control_vcpu_interrupted until
 * resumed.  The signal's handler does nothing; its only job is to interrupt.
 *
 * A vCPU blocked in a read of stdin (or a write to a full pipe), which may
 * never return, parks inside that hypercall instead (vm->interrupted, which
 * sets vm->in_hypercall).  A snapshot or migration taken then records the
 * guest just before its hypercall instruction (snapshot.c), so the copy
 * issues the read again, from its own stdin: a read that has returned
 * nothing yet must not look like one that did.
 *
 * Requests are handled one at a time; a few clients may stay connected.
 * While a migration copies memory, the control thread looks at the other
 * clients every few milliseconds (hook_tick) and answers status ("migrating")
 * and nothing else.
 */
#include "control.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "jsonl.h"
#include "migrate.h"
#include "snapshot.h"

#define MAX_CLIENTS      8
#define REQUEST_MAX      4096
#define PAUSE_TIMEOUT_NS (2000ull * 1000 * 1000)
#define KICK_INTERVAL_NS (2ull * 1000 * 1000)

struct client {
	int fd; /* -1: free */
	size_t len;
	char buf[REQUEST_MAX];
};

struct control {
	struct vm *vm;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t dev; /* the socket we made, so that only it is removed */
	ino_t ino;
	int listen_fd;
	int wake_fd; /* eventfd: tells the thread to end */
	pid_t pid, vcpu_tid;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* on CLOCK_MONOTONIC */

	/* Under lock. */
	int ready;       /* the thread has started (its start-up syscalls are done) */
	int pause_req;   /* the vCPU must park */
	int parked;      /* it has */
	int user_paused; /* a pause request (or a snapshot with stop) holds it */
	int vcpu_done;   /* the run loop has ended */

	/* The control thread's alone. */
	struct client clients[MAX_CLIENTS];
	struct client *progress_to; /* hears a running migration's progress; or NULL */
	struct client *migrating;   /* asked for the migration under way; or NULL */
	struct jsonl_obj req;
};

/* For the termination handler, which can only reach globals. */
static char socket_path[sizeof(((struct sockaddr_un *)0)->sun_path)];

int control_kick_signal(void)
{
	return SIGRTMIN;
}

pid_t control_pid(const struct control *c)
{
	return c->pid;
}

static void on_kick(int sig)
{
	(void)sig;
}

/* SIGTERM and friends: remove the socket, then end as the default action would have. */
static void on_terminate(int sig)
{
	if (socket_path[0])
		unlink(socket_path);
	_exit(128 + sig);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wait_until(struct control *c, uint64_t deadline_ns)
{
	struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000ull),
	                      .tv_nsec = (long)(deadline_ns % 1000000000ull)};
	pthread_cond_timedwait(&c->cond, &c->lock, &ts);
}

static void set_immediate_exit(struct control *c, int on)
{
	__atomic_store_n(&c->vm->run->immediate_exit, (__u8)on, __ATOMIC_SEQ_CST);
}

/* Lets a parked (or about to park) vCPU run again.  Under lock. */
static void release_vcpu(struct control *c)
{
	c->pause_req = 0;
	set_immediate_exit(c, 0);
	pthread_cond_broadcast(&c->cond);
}

/*
 * Parks the vCPU.  Under lock.  The signal is repeated because one that
 * lands just before the vCPU thread blocks in a hypercall's ppoll or read
 * is spent on nothing; a vCPU stuck in a write to a full pipe that it had
 * begun cannot park (see hypercall.c), and after PAUSE_TIMEOUT_NS the
 * request is withdrawn.
 */
static int park_vcpu(struct control *c, char *err, size_t errlen)
{
	if (c->parked)
		return 0;
	if (c->vcpu_done) {
		snprintf(err, errlen, "the VM has ended");
		return -1;
	}
	c->pause_req = 1;
	set_immediate_exit(c, 1);
	uint64_t deadline = now_ns() + PAUSE_TIMEOUT_NS;
	while (!c->parked && !c->vcpu_done) {
		uint64_t now = now_ns();
		if (now >= deadline) {
			release_vcpu(c);
			snprintf(err, errlen,
			         "the vCPU did not stop within 2 s (is the guest's output blocked "
			         "on a full pipe?)");
			return -1;
		}
		syscall(SYS_tgkill, c->pid, c->vcpu_tid, control_kick_signal());
		wait_until(c, now + KICK_INTERVAL_NS);
	}
	if (!c->parked) {
		release_vcpu(c);
		snprintf(err, errlen, "the VM has ended");
		return -1;
	}
	return 0;
}

void control_vcpu_interrupted(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	if (c->pause_req) {
		c->parked = 1;
		pthread_cond_broadcast(&c->cond);
		while (c->pause_req)
			pthread_cond_wait(&c->cond, &c->lock);
		c->parked = 0;
	}
	pthread_mutex_unlock(&c->lock);
}

static void hypercall_interrupted(struct vm *vm)
{
	struct control *c = vm->ctl;
	pthread_mutex_lock(&c->lock);
	vm->in_hypercall = 1;
	pthread_mutex_unlock(&c->lock);
	control_vcpu_interrupted(c);
	pthread_mutex_lock(&c->lock);
	vm->in_hypercall = 0;
	pthread_mutex_unlock(&c->lock);
}

void control_vcpu_finished(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->vcpu_done = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void reply_error(char *out, size_t outlen, const char *msg)
{
	char quoted[600];
	jsonl_quote(quoted, sizeof(quoted), msg);
	snprintf(out, outlen, "{\"error\":%s}", quoted);
}

static const char *state_name(const struct control *c)
{
	return c->migrating ? "migrating" : c->user_paused ? "paused" : "running";
}

static void op_status(struct control *c, char *out, size_t outlen)
{
	const struct vm *vm = c->vm;
	pthread_mutex_lock(&c->lock);
	const char *state = state_name(c);
	pthread_mutex_unlock(&c->lock);
	/* The guest's monotonic clock: for a restored VM it carries on from the snapshot's. */
	uint64_t uptime_ms = (now_ns() - vm->mono_base_ns) / 1000000;
	snprintf(out, outlen,
	         "{\"state\":\"%s\",\"uptime_ms\":%llu,\"mem_bytes\":%llu,\"exits\":%llu}", state,
	         (unsigned long long)uptime_ms, (unsigned long long)vm->mem.size,
	         (unsigned long long)__atomic_load_n(&vm->exits, __ATOMIC_RELAXED));
}

static void op_pause(struct control *c, char *out, size_t outlen)
{
	char err[200];
	pthread_mutex_lock(&c->lock);
	int rc = c->user_paused ? 0 : park_vcpu(c, err, sizeof(err));
	if (rc == 0)
		c->user_paused = 1;
	pthread_mutex_unlock(&c->lock);
	if (rc)
		reply_error(out, outlen, err);
	else
		snprintf(out, outlen, "{\"state\":\"paused\"}");
}

static void op_resume(struct control *c, char *out, size_t outlen)
{
	pthread_mutex_lock(&c->lock);
	if (c->user_paused) {
		c->user_paused = 0;
		release_vcpu(c);
	}
	pthread_mutex_unlock(&c->lock);
	snprintf(out, outlen, "{\"state\":\"running\"}");
}

static int hook_pause(void *ctx, char *err, size_t errlen)
{
	struct control *c = ctx;
	pthread_mutex_lock(&c->lock);
	int rc = park_vcpu(c, err, errlen);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

static void hook_resume(void *ctx)
{
	struct control *c = ctx;
	pthread_mutex_lock(&c->lock);
	release_vcpu(c);
	pthread_mutex_unlock(&c->lock);
}

static void drop_client(struct client *cl)
{
	close(cl->fd);
	cl->fd = -1;
	cl->len = 0;
}

/* Answers are small; a client that does not read them is dropped, never waited for. */
static int send_line(struct client *cl, const char *text)
{
	size_t len = strlen(text);
	char buf[REQUEST_MAX * 6 + 512];
	if (len + 1 > sizeof(buf))
		len = sizeof(buf) - 1;
	memcpy(buf, text, len);
	buf[len++] = '\n';
	ssize_t n = send(cl->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	return n == (ssize_t)len ? 0 : -1;
}

/* The client that asked for a migration with "progress": true hears how it goes. */
static void hook_progress(void *ctx, const struct migrate_progress *p)
{
	struct control *c = ctx;
	char line[256];
	snprintf(line, sizeof(line),
	         "{\"progress\":{\"phase\":\"%s\",\"round\":%u,\"bytes\":%llu,"
	         "\"dirty_pages\":%llu,\"mem_bytes\":%llu}}",
	         p->phase, p->round, (unsigned long long)p->bytes,
	         (unsigned long long)p->dirty_pages, (unsigned long long)p->mem_bytes);
	/* A client too slow for it misses a report, nothing more. */
	send_line(c->progress_to, line);
}

static void serve_once(struct control *c, const struct timespec *timeout, int *quit);

/* While a migration copies, other clients still get their answers (status only). */
static void hook_tick(void *ctx)
{
	static const struct timespec now = {0, 0};
	serve_once(ctx, &now, NULL);
}

/*
 * Moves the VM to another monitor (migrate.c).  On success the parked vCPU
 * is told the VM has ended, so hedge run exits 0 once the answer is out;
 * on failure the VM runs on as if nothing had happened, unless the target
 * may be running it already: then it stays paused.
 */
static void op_migrate(struct control *c, const char *to_text, struct client *cl, int progress,
                       char *out, size_t outlen)
{
	char err[600], to[300];
	/* Requests served meanwhile (hook_tick) parse into the same place as this one. */
	snprintf(to, sizeof(to), "%s", to_text);
	pthread_mutex_lock(&c->lock);
	int paused = c->user_paused;
	pthread_mutex_unlock(&c->lock);
	if (paused) {
		reply_error(out, outlen, "the VM is paused: resume it before migrating");
		return;
	}
	struct migrate_hooks hooks = {.ctx = c,
	                              .pause = hook_pause,
	                              .resume = hook_resume,
	                              .progress = progress ? hook_progress : NULL,
	                              .tick = hook_tick};
	c->progress_to = progress ? cl : NULL;
	c->migrating = cl;
	struct migrate_result res;
	int rc = migrate_out(c->vm, to, &hooks, &res, err, sizeof(err));
	c->progress_to = NULL;
	c->migrating = NULL;
	if (rc == MIGRATE_IN_DOUBT) {
		/* The vCPU is parked: keep it so until the user decides (hedge vm resume). */
		pthread_mutex_lock(&c->lock);
		c->user_paused = 1;
		pthread_mutex_unlock(&c->lock);
	}
	if (rc) {
		reply_error(out, outlen, err);
		return;
	}
	pthread_mutex_lock(&c->lock);
	/* The vCPU thread reads these after it wakes up, under the same lock. */
	vm_stop(c->vm, 0, "the VM moved to %s", to);
	release_vcpu(c);
	pthread_mutex_unlock(&c->lock);
	snprintf(out, outlen,
	         "{\"ok\":true,\"downtime_ms\":%.3f,\"total_ms\":%.3f,\"bytes\":%llu,"
	         "\"pages\":%llu,\"delta_pages\":%llu,\"rounds\":%u,\"frames\":%u}",
	         res.downtime_ms, res.total_ms, (unsigned long long)res.bytes,
	         (unsigned long long)res.pages, (unsigned long long)res.delta_pages, res.rounds,
	         res.frames);
}

static void op_snapshot(struct control *c, const char *path, int stop, char *out, size_t outlen)
{
	char err[600];
	pthread_mutex_lock(&c->lock);
	int was_paused = c->user_paused;
	int rc = park_vcpu(c, err, sizeof(err));
	pthread_mutex_unlock(&c->lock);
	if (rc) {
		reply_error(out, outlen, err);
		return;
	}
	uint64_t parked_at = now_ns();
	struct snapshot_result res;
	rc = snapshot_take(c->vm, path, &res, err, sizeof(err));
	pthread_mutex_lock(&c->lock);
	if (rc == 0 && stop)
		c->user_paused = 1;
	else if (!was_paused)
		release_vcpu(c);
	const char *state = state_name(c);
	pthread_mutex_unlock(&c->lock);
	double paused_ms = (double)(now_ns() - parked_at) / 1e6;
	if (rc) {
		reply_error(out, outlen, err);
		return;
	}
	char quoted[REQUEST_MAX * 6 + 3];
	jsonl_quote(quoted, sizeof(quoted), path);
	snprintf(out, outlen,
	         "{\"path\":%s,\"bytes\":%llu,\"file_bytes\":%llu,\"pages\":%llu,\"ms\":%.3f,"
	         "\"paused_ms\":%.3f,\"state\":\"%s\"}",
	         quoted, (unsigned long long)res.bytes_written, (unsigned long long)res.file_size,
	         (unsigned long long)res.pages, res.ms, paused_ms, state);
}

/* Every key of the request must be one the op takes. */
static int check_keys(const struct jsonl_obj *req, const char *const *allowed, const char *op,
                      char *out, size_t outlen)
{
	for (int i = 0; i < req->n; i++) {
		int ok = 0;
		for (const char *const *a = allowed; *a; a++)
			ok |= strcmp(req->f[i].key, *a) == 0;
		if (!ok) {
			char msg[200], quoted[48];
			jsonl_quote(quoted, sizeof(quoted), req->f[i].key);
			snprintf(msg, sizeof(msg), "unknown field %s for op %s", quoted, op);
			reply_error(out, outlen, msg);
			return -1;
		}
	}
	return 0;
}

static void handle_request(struct control *c, struct client *cl, const char *line, size_t len,
                           char *out, size_t outlen)
{
	char err[200], msg[300];
	struct jsonl_obj *req = &c->req;
	if (jsonl_parse(line, len, req, err, sizeof(err))) {
		snprintf(msg, sizeof(msg), "bad request: %s", err);
		reply_error(out, outlen, msg);
		return;
	}
	const struct jsonl_field *op = jsonl_get(req, "op");
	if (!op || op->type != JSONL_STRING) {
		reply_error(out, outlen, "bad request: \"op\" must be a string");
		return;
	}
	if (c->migrating && strcmp(op->str, "status") != 0) {
		reply_error(out, outlen, "a migration is under way: only status is answered");
		return;
	}
	static const char *const plain[] = {"op", NULL};
	static const char *const snap[] = {"op", "path", "stop", NULL};
	if (strcmp(op->str, "status") == 0 || strcmp(op->str, "pause") == 0 ||
	    strcmp(op->str, "resume") == 0) {
		if (check_keys(req, plain, op->str, out, outlen))
			return;
		if (op->str[0] == 's')
			op_status(c, out, outlen);
		else if (op->str[0] == 'p')
			op_pause(c, out, outlen);
		else
			op_resume(c, out, outlen);
		return;
	}
	if (strcmp(op->str, "migrate") == 0) {
		static const char *const mig[] = {"op", "to", "progress", NULL};
		if (check_keys(req, mig, "migrate", out, outlen))
			return;
		const struct jsonl_field *to = jsonl_get(req, "to");
		const struct jsonl_field *progress = jsonl_get(req, "progress");
		if (!to || to->type != JSONL_STRING)
			reply_error(out, outlen,
			            "migrate needs \"to\", e.g. \"tcp:10.0.0.2:7000\"");
		else if (progress && progress->type != JSONL_BOOL)
			reply_error(out, outlen, "\"progress\" must be true or false");
		else
			op_migrate(c, to->str, cl, progress && progress->boolean, out, outlen);
		return;
	}
	if (strcmp(op->str, "snapshot") != 0) {
		char quoted[80];
		jsonl_quote(quoted, sizeof(quoted), op->str);
		snprintf(msg, sizeof(msg),
		         "unknown op %s (status, pause, resume, snapshot, migrate)", quoted);
		reply_error(out, outlen, msg);
		return;
	}
	if (check_keys(req, snap, "snapshot", out, outlen))
		return;
	const struct jsonl_field *path = jsonl_get(req, "path");
	const struct jsonl_field *stop = jsonl_get(req, "stop");
	if (!path || path->type != JSONL_STRING || path->str[0] != '/')
		reply_error(out, outlen, "snapshot needs \"path\", an absolute file name");
	else if (stop && stop->type != JSONL_BOOL)
		reply_error(out, outlen, "\"stop\" must be true or false");
	else
		op_snapshot(c, path->str, stop ? stop->boolean : 0, out, outlen);
}

static void serve_client(struct control *c, struct client *cl)
{
	static char out[REQUEST_MAX * 6 + 512];
	ssize_t n = read(cl->fd, cl->buf + cl->len, sizeof(cl->buf) - cl->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		drop_client(cl);
		return;
	}
	cl->len += (size_t)n;
	char *nl;
	while (cl->fd >= 0 && (nl = memchr(cl->buf, '\n', cl->len)) != NULL) {
		size_t line = (size_t)(nl - cl->buf);
		handle_request(c, cl, cl->buf, line, out, sizeof(out));
		memmove(cl->buf, nl + 1, cl->len - line - 1);
		cl->len -= line + 1;
		if (send_line(cl, out))
			drop_client(cl);
	}
	if (cl->fd >= 0 && cl->len == sizeof(cl->buf)) {
		reply_error(out, sizeof(out), "bad request: longer than 4096 bytes");
		send_line(cl, out);
		drop_client(cl);
	}
}

static void accept_client(struct control *c)
{
	int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd < 0) {
			c->clients[i].fd = fd;
			c->clients[i].len = 0;
			return;
		}
	close(fd); /* unreachable: the listening socket is not polled when full */
}

/*
 * One round of the control thread: waits at most timeout (NULL: forever)
 * for requests and serves them.  With quit NULL it is called from inside a
 * migration (hook_tick): the end-of-thread eventfd is left for later, and
 * the client that asked for the migration is not read until it is over.
 */
static void serve_once(struct control *c, const struct timespec *timeout, int *quit)
{
	struct pollfd fds[2 + MAX_CLIENTS];
	int slot[2 + MAX_CLIENTS];
	nfds_t n = 0;
	int room = 0;
	fds[n++] = (struct pollfd){.fd = quit ? c->wake_fd : -1, .events = POLLIN};
	for (int i = 0; i < MAX_CLIENTS; i++)
		room |= c->clients[i].fd < 0;
	fds[n++] = (struct pollfd){.fd = room ? c->listen_fd : -1, .events = POLLIN};
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0 && &c->clients[i] != c->migrating) {
			slot[n] = i;
			fds[n++] = (struct pollfd){.fd = c->clients[i].fd, .events = POLLIN};
		}
	if (ppoll(fds, n, timeout, NULL) <= 0)
		return;
	if (fds[0].revents) {
		*quit = 1;
		return;
	}
	if (fds[1].revents & POLLIN)
		accept_client(c);
	for (nfds_t i = 2; i < n; i++)
		if (fds[i].revents)
			serve_client(c, &c->clients[slot[i]]);
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	pthread_mutex_lock(&c->lock);
	c->ready = 1;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	int quit = 0;
	while (!quit)
		serve_once(c, NULL, &quit);
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (c->clients[i].fd >= 0)
			drop_client(&c->clients[i]);
	return NULL;
}

/* Replaces a socket no one listens on (left by a killed hedge); refuses a live one. */
static int clear_path(const char *path, char *err, size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s exists and is not a socket", path);
		return -1;
	}
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memcpy(addr.sun_path, path, strlen(path) + 1);
	int live = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	if (probe >= 0)
		close(probe);
	if (live) {
		snprintf(err, errlen, "%s is in use by a running VM", path);
		return -1;
	}
	unlink(path);
	return 0;
}

static int make_socket(struct control *c, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (!path[0] || strlen(path) >= sizeof(addr.sun_path)) {
		snprintf(err, errlen, "socket path must have 1 to %zu bytes",
		         sizeof(addr.sun_path) - 1);
		return -1;
	}
	if (clear_path(path, err, errlen))
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (c->listen_fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* Created 0600 from the start: a chmod after bind would leave a window. */
	mode_t old = umask(0177);
	int rc = bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	struct stat st;
	if (rc < 0 || listen(c->listen_fd, 16) < 0 || stat(path, &st) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		if (rc == 0)
			unlink(path);
		return -1;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	return 0;
}

static int install_handlers(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_kick; /* no SA_RESTART: an interrupted syscall must return */
	sigemptyset(&sa.sa_mask);
	if (sigaction(control_kick_signal(), &sa, NULL) < 0)
		return -1;
	sa.sa_handler = on_terminate;
	sigfillset(&sa.sa_mask);
	static const int term[] = {SIGTERM, SIGINT, SIGHUP};
	for (size_t i = 0; i < sizeof(term) / sizeof(term[0]); i++)
		if (sigaction(term[i], &sa, NULL) < 0)
			return -1;
	return 0;
}

static void free_control(struct control *c)
{
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->wake_fd >= 0)
		close(c->wake_fd);
	pthread_mutex_destroy(&c->lock);
	pthread_cond_destroy(&c->cond);
	free(c);
}

int control_start(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	c->vm = vm;
	c->listen_fd = c->wake_fd = -1;
	c->pid = getpid();
	c->vcpu_tid = (pid_t)syscall(SYS_gettid);
	for (int i = 0; i < MAX_CLIENTS; i++)
		c->clients[i].fd = -1;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&c->lock, NULL);
	if (make_socket(c, path, err, errlen)) {
		free_control(c);
		return -1;
	}
	snprintf(socket_path, sizeof(socket_path), "%s", path);
	c->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (c->wake_fd < 0 || install_handlers() < 0) {
		snprintf(err, errlen, "control socket set-up: %s", strerror(errno));
		unlink(path);
		socket_path[0] = '\0';
		free_control(c);
		return -1;
	}
	/*
	 * One malloc arena for both threads: a second one would be reserved with
	 * mmap(PROT_NONE) and grown with mprotect, both closed by the sandbox.
	 */
	mallopt(M_ARENA_MAX, 1);
	/* The thread starts with every signal blocked: the kick is for the vCPU thread only. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&c->thread, NULL, control_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start the control thread: %s", strerror(rc));
		unlink(path);
		socket_path[0] = '\0';
		free_control(c);
		return -1;
	}
	/* Its start-up syscalls must be over before the sandbox closes them off. */
	pthread_mutex_lock(&c->lock);
	while (!c->ready)
		pthread_cond_wait(&c->cond, &c->lock);
	pthread_mutex_unlock(&c->lock);
	vm->ctl = c;
	vm->interrupted = hypercall_interrupted;
	return 0;
}

void control_stop(struct vm *vm)
{
	struct control *c = vm->ctl;
	if (!c)
		return;
	control_vcpu_finished(c);
	uint64_t one = 1;
	if (write(c->wake_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(c->thread, NULL);
	/* Only our own socket: another hedge may have taken the path over since. */
	struct stat st;
	if (stat(c->path, &st) == 0 && st.st_dev == c->dev && st.st_ino == c->ino)
		unlink(c->path);
	socket_path[0] = '\0';
	free_control(c);
	vm->ctl = NULL;
	vm->interrupted = NULL;
}
