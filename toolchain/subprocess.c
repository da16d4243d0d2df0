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
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define OUTPUT_KEEP (64 * 1024)

static volatile sig_atomic_t interrupted_by;
static volatile pid_t running_child;
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

static void read_output(int fd, int log_fd, struct tool_result *res)
{
	char chunk[16384];
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (log_fd >= 0)
			write_all(log_fd, chunk, (size_t)n);
		size_t keep = OUTPUT_KEEP - res->output_len;
		if (keep > (size_t)n)
			keep = (size_t)n;
		memcpy(res->output + res->output_len, chunk, keep);
		res->output_len += keep;
	}
	res->output[res->output_len] = '\0';
}

int tool_run(char *const argv[], const char *log_path, struct tool_result *res)
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
	running_child = pid;
	/* A signal that came between fork() and the line above found no child to stop. */
	if (interrupted_by)
		kill(-pid, SIGTERM);
	int log_fd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644) : -1;
	read_output(out_pipe[0], log_fd, res);
	if (log_fd >= 0)
		close(log_fd);
	close(out_pipe[0]);
	int child_errno = 0;
	ssize_t got;
	do
		got = read(errno_pipe[0], &child_errno, sizeof(child_errno));
	while (got < 0 && errno == EINTR);
	close(errno_pipe[0]);
	int wstatus = 0;
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;
	running_child = 0;
	if (got == (ssize_t)sizeof(child_errno)) {
		res->exec_errno = child_errno ? child_errno : ENOEXEC;
		return -1;
	}
	if (WIFSIGNALED(wstatus))
		res->term_signal = WTERMSIG(wstatus);
	else
		res->exit_status = WEXITSTATUS(wstatus);
	return interrupted_by ? -1 : 0;
}
