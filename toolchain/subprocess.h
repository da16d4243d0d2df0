/*
 * subprocess.h - runs the external tools of a build (wasm2c, the C
 * compiler) without a shell, capturing what they print, and stops them
 * when the user interrupts the build.
 */
#ifndef HEDGE_SUBPROCESS_H
#define HEDGE_SUBPROCESS_H

#include <stddef.h>

struct tool_result {
	int exec_errno;  /* the tool could not be started (e.g. ENOENT): errno, else 0 */
	int exit_status; /* its exit status, if it exited */
	int term_signal; /* the signal that killed it, else 0 */
	char *output;    /* the start of its stdout and stderr, NUL-terminated */
	size_t output_len;
};

/*
 * Runs argv[0] (looked up in PATH) with stdin from /dev/null and stdout and
 * stderr captured; all of it also goes to log_path if that is not NULL.
 * Returns 0 if the tool ran (whatever its status), -1 if it could not be
 * started or the build was interrupted (see tool_interrupted).  The caller
 * frees res->output with tool_result_free.
 */
int tool_run(char *const argv[], const char *log_path, struct tool_result *res);
void tool_result_free(struct tool_result *res);

/* At most this many tools run at once. */
#define TOOL_MAX_JOBS 64

struct tool_job {
	char **argv;
	const char *log_path; /* where all of the tool's output goes, or NULL */
	struct tool_result res;
	int ran; /* started (else skipped after a failure or an interrupt) */
};

/*
 * Runs the jobs in order, at most max_running at a time, calling on_start
 * (if not NULL) as each starts.  After the first failure or an interrupt
 * no more are started and the running ones are stopped.  Returns the index
 * of the first job that failed, or n if every job ran and succeeded
 * (check tool_interrupted too).  The caller frees each job's res.
 */
size_t tool_run_jobs(struct tool_job *jobs, size_t n, size_t max_running,
                     void (*on_start)(void *ctx, size_t index), void *ctx);

/* A tool that ran and exited with status 0. */
int tool_succeeded(const struct tool_result *res);

/*
 * While installed, SIGINT, SIGTERM and SIGHUP are recorded instead of
 * killing hedge at once, and stop the running tool, so that the build can
 * remove its temporary files before it ends.
 */
void tool_signals_install(void);
void tool_signals_restore(void);

/* The signal that interrupted the build, or 0. */
int tool_interrupted(void);

#endif
