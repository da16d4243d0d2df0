/*
 * subprocess.c - fork/exec of build tools with captured output.
 *
 * Exec failures travel back over a close-on-exec pipe, so "wasm2c is not
 * installed" is told apart from "wasm2c rejected the module".  Each tool
 * runs in a process group of its own, which hedge stops as a whole when it
 * is interrupted.  Only the
 * first OUTPUT_KEEP bytes are kept in memory: the first error is what the
 * one-line message needs, and a compiler can print megabytes.
 */
#include "subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_KEEP (64 * 1024)

static volatile sig_atomic_t interrupted_by;
static volatile pid_t running_child;
/* The tools tool_run_jobs runs at once. */
static volatile pid_t running_jobs[TOOL_MAX_JOBS];
static struct sigaction saved_actions[3];
static const int handled_signals[3] = {SIGINT, SIGTERM, SIGHUP};
static int signals_installed;

static void on_signal(int sig)
{
	interrupted_by = sig;
	/*
	 * kill() is async-signal-safe.  The whole process group goes, so that
	 * a compiler driver's cc1 or as cannot keep the output pipe open.
	 */
	if (running_child > 0)
		kill(-running_child, SIGTERM);
	for (int i = 0; i < TOOL_MAX_JOBS; i++)
		if (running_jobs[i] > 0)
			kill(-running_jobs[i], SIGTERM);
}

void tool_signals_install(void)
{
	if (signals_installed++)
		return;
	interrupted_by = 0;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int i = 0; i < 3; i++)
		sigaction(handled_signals[i], &sa, &saved_actions[i]);
}

void tool_signals_restore(void)
{
	if (!signals_installed || --signals_installed)
		return;
	for (int i = 0; i < 3; i++)
		sigaction(handled_signals[i], &saved_actions[i], NULL);
}

int tool_interrupted(void)
{
	return interrupted_by;
}

int tool_succeeded(const struct tool_result *res)
{
	return !res->exec_errno && !res->term_signal && res->exit_status == 0;
}

void tool_result_free(struct tool_result *res)
{
	free(res->output);
	res->output = NULL;
	res->output_len = 0;
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

/* In the child: wire up the descriptors and exec; on failure report errno. */
static void exec_child(char *const argv[], int out_fd, int errno_fd)
{
	setpgid(0, 0);
	for (int i = 0; i < 3; i++)
		signal(handled_signals[i], SIG_DFL);
	int null_fd = open("/dev/null", O_RDONLY);
	if (null_fd >= 0)
		dup2(null_fd, 0);
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	execvp(argv[0], argv);
	int e = errno;
	write_all(errno_fd, (const char *)&e, sizeof(e));
	_exit(127);
}

/* Takes what one read() gives; returns 0 at the end of the output, 1 if there may be more. */
static int read_some(int fd, int log_fd, struct tool_result *res)
{
	char chunk[16384];
	ssize_t n = read(fd, chunk, sizeof(chunk));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	if (log_fd >= 0)
		write_all(log_fd, chunk, (size_t)n);
	size_t keep = OUTPUT_KEEP - res->output_len;
	if (keep > (size_t)n)
		keep = (size_t)n;
	memcpy(res->output + res->output_len, chunk, keep);
	res->output_len += keep;
	res->output[res->output_len] = '\0';
	return 1;
}

static void read_output(int fd, int log_fd, struct tool_result *res)
{
	while (read_some(fd, log_fd, res))
		;
}

/* A started tool: its pid, the read end of its output and of the exec-errno pipe. */
struct started_tool {
	pid_t pid;
	int out_fd;
	int errno_fd;
	int log_fd;
};

/* Forks and execs argv; 0, or -1 with res->exec_errno set. */
static int tool_start(char *const argv[], const char *log_path, struct tool_result *res,
                      struct started_tool *st)
{
	memset(res, 0, sizeof(*res));
	if (interrupted_by)
		return -1;
	res->output = malloc(OUTPUT_KEEP + 1);
	if (!res->output) {
		res->exec_errno = ENOMEM;
		return -1;
	}
	res->output[0] = '\0';
	int out_pipe[2], errno_pipe[2];
	if (pipe2(out_pipe, O_CLOEXEC) != 0) {
		res->exec_errno = errno;
		return -1;
	}
	if (pipe2(errno_pipe, O_CLOEXEC) != 0) {
		res->exec_errno = errno;
		close(out_pipe[0]);
		close(out_pipe[1]);
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(out_pipe[0]);
		close(errno_pipe[0]);
		exec_child(argv, out_pipe[1], errno_pipe[1]);
	}
	int fork_errno = errno;
	close(out_pipe[1]);
	close(errno_pipe[1]);
	if (pid < 0) {
		close(out_pipe[0]);
		close(errno_pipe[0]);
		res->exec_errno = fork_errno;
		return -1;
	}
	/* Also set here, so the group exists before any signal tries to stop it. */
	setpgid(pid, pid);
	st->pid = pid;
	st->out_fd = out_pipe[0];
	st->errno_fd = errno_pipe[0];
	st->log_fd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	return 0;
}

/* After the tool's output ended: its exec errno or exit status. */
static void tool_finish(struct started_tool *st, struct tool_result *res)
{
	if (st->log_fd >= 0)
		close(st->log_fd);
	close(st->out_fd);
	int child_errno = 0;
	ssize_t got;
	do
		got = read(st->errno_fd, &child_errno, sizeof(child_errno));
	while (got < 0 && errno == EINTR);
	close(st->errno_fd);
	int wstatus = 0;
	while (waitpid(st->pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	if (got == (ssize_t)sizeof(child_errno))
		res->exec_errno = child_errno ? child_errno : ENOEXEC;
	else if (WIFSIGNALED(wstatus))
		res->term_signal = WTERMSIG(wstatus);
	else
		res->exit_status = WEXITSTATUS(wstatus);
}

int tool_run(char *const argv[], const char *log_path, struct tool_result *res)
{
	struct started_tool st;
	if (tool_start(argv, log_path, res, &st))
		return -1;
	running_child = st.pid;
	/* A signal that came between fork() and the line above found no child to stop. */
	if (interrupted_by)
		kill(-st.pid, SIGTERM);
	read_output(st.out_fd, st.log_fd, res);
	tool_finish(&st, res);
	running_child = 0;
	if (res->exec_errno)
		return -1;
	return interrupted_by ? -1 : 0;
}

size_t tool_run_jobs(struct tool_job *jobs, size_t n, size_t max_running,
                     void (*on_start)(void *ctx, size_t index), void *ctx)
{
	struct started_tool st[TOOL_MAX_JOBS];
	size_t slot_job[TOOL_MAX_JOBS];
	size_t next = 0, running = 0, failed = n;
	if (max_running < 1)
		max_running = 1;
	if (max_running > TOOL_MAX_JOBS)
		max_running = TOOL_MAX_JOBS;
	for (size_t i = 0; i < n; i++) {
		memset(&jobs[i].res, 0, sizeof(jobs[i].res));
		jobs[i].ran = 0;
	}
	for (;;) {
		/* Start jobs while there are free slots, none failed and no signal came. */
		while (next < n && running < max_running && failed == n && !interrupted_by) {
			size_t slot = 0;
			while (running_jobs[slot] > 0)
				slot++;
			struct tool_job *job = &jobs[next];
			job->ran = 1;
			if (on_start)
				on_start(ctx, next);
			if (tool_start(job->argv, job->log_path, &job->res, &st[slot])) {
				failed = next++;
				break;
			}
			running_jobs[slot] = st[slot].pid;
			if (interrupted_by)
				kill(-st[slot].pid, SIGTERM);
			slot_job[slot] = next++;
			running++;
		}
		if (running == 0)
			break;
		struct pollfd fds[TOOL_MAX_JOBS];
		size_t slots[TOOL_MAX_JOBS], nfds = 0;
		for (size_t slot = 0; slot < TOOL_MAX_JOBS; slot++)
			if (running_jobs[slot] > 0) {
				fds[nfds] =
				    (struct pollfd){.fd = st[slot].out_fd, .events = POLLIN};
				slots[nfds++] = slot;
			}
		if (poll(fds, nfds, -1) < 0)
			continue; /* EINTR: a signal, seen above */
		for (size_t k = 0; k < nfds; k++) {
			if (!fds[k].revents)
				continue;
			size_t slot = slots[k];
			struct tool_job *job = &jobs[slot_job[slot]];
			if (read_some(st[slot].out_fd, st[slot].log_fd, &job->res))
				continue;
			tool_finish(&st[slot], &job->res);
			running_jobs[slot] = 0;
			running--;
			if (!tool_succeeded(&job->res) && failed == n) {
				failed = slot_job[slot];
				/* No use waiting for the rest: the build has failed. */
				for (size_t other = 0; other < TOOL_MAX_JOBS; other++)
					if (running_jobs[other] > 0)
						kill(-running_jobs[other], SIGTERM);
			}
		}
	}
	return failed;
}
