/*
 * cmd_vm.c - `hedge vm`: a client for the control socket of a running VM
 * (hedge run --api-sock): status, pause, resume and snapshot.
 *
 * Each command sends one JSON line and prints the one-line answer, for
 * people by default and as it came with --json, for scripts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "control_client.h"
#include "jsonl.h"
#include "status.h"

#define VM_OK          0
#define VM_REFUSED     1 /* the monitor answered with an error */
#define VM_UNREACHABLE 2 /* no socket, nothing listening, no or a malformed answer */
#define ANSWER_MAX     (64 * 1024)

struct vm_cmd {
	const char *name;
	const char *args;
	const char *summary;
};

static const struct vm_cmd commands[] = {
    {"status", "", "Show whether the VM runs, its uptime, memory and VM exits"},
    {"pause", "", "Stop the vCPU (the guest's clocks keep running)"},
    {"resume", "", "Let a paused vCPU run again"},
    {"snapshot", " [--stop] FILE", "Pause, write a snapshot of the VM to FILE, resume"},
    {"migrate", " --to tcp:A.B.C.D:PORT [--progress]",
     "Move the running VM to 'hedge run --incoming' there"},
};

static void vm_usage(FILE *out)
{
	fprintf(out, "Usage: hedge vm COMMAND --api-sock PATH [OPTIONS]\n"
	             "\n"
	             "Control a VM started with 'hedge run --api-sock PATH'.\n"
	             "\n"
	             "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(
	    out,
	    "\n"
	    "Options:\n"
	    "  -s, --api-sock PATH  The VM's control socket (required)\n"
	    "      --json           Print the monitor's JSON answer as it came\n"
	    "      --timeout SEC    Wait at most SEC seconds for the answer (default 60; for\n"
	    "                       migrate, for news: each progress report restarts it)\n"
	    "  -h, --help           Show this help ('hedge vm COMMAND --help' for one command)\n"
	    "\n"
	    "Exit status:\n"
	    "    0  done\n"
	    "    1  the VM's monitor refused the request (the reason is printed)\n"
	    "    2  cannot reach the monitor: no socket, nothing listening, no answer in\n"
	    "       time, or an answer that is not JSON\n"
	    "   64  bad command line\n");
}

static void cmd_usage(FILE *out, const struct vm_cmd *cmd)
{
	fprintf(out, "Usage: hedge vm %s --api-sock PATH [--json] [--timeout SEC]%s\n\n%s.\n",
	        cmd->name, cmd->args, cmd->summary);
	if (strcmp(cmd->name, "snapshot") == 0)
		fprintf(
		    out,
		    "\n"
		    "The file holds the guest's memory and vCPU state; 'hedge run --restore FILE'\n"
		    "resumes it. It is written next to FILE and renamed over it once complete.\n"
		    "A relative FILE is taken from the current directory.\n"
		    "\n"
		    "  --stop   Leave the VM paused afterwards ('hedge vm resume' goes on)\n");
	else if (strcmp(cmd->name, "migrate") == 0)
		fprintf(
		    out,
		    "\n"
		    "Copies memory while the guest runs, then pauses it for a last short copy.\n"
		    "Once the target runs the VM this one ends (status 0); if the target refuses\n"
		    "or the connection breaks, the VM keeps running here and the reason is\n"
		    "printed.  If it breaks after the target was told to run the VM but before\n"
		    "it confirmed, the VM stays paused here (status 1): resume it only if the\n"
		    "target does not run it.\n"
		    "\n"
		    "  --progress      Report the copy rounds on stderr, a line each (default on\n"
		    "                  a terminal: one line, updated in place)\n"
		    "  --no-progress   Do not\n");
	else if (strcmp(cmd->name, "status") == 0)
		fprintf(out, "\nUptime is the guest's monotonic clock; for a restored VM it "
		             "continues the snapshot's.\n");
	fprintf(out, "\nExit status: 0 done, 1 refused by the monitor, 2 monitor unreachable, "
	             "64 bad command line.\n");
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "hedge vm: %s%s%s (see 'hedge vm --help')\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return ST_USAGE;
}

static double field_double(const struct jsonl_obj *o, const char *key)
{
	const struct jsonl_field *f = jsonl_get(o, key);
	return f && f->type == JSONL_NUMBER ? strtod(f->str, NULL) : 0.0;
}

static uint64_t field_u64(const struct jsonl_obj *o, const char *key)
{
	uint64_t v = 0;
	jsonl_get_u64(o, key, &v);
	return v;
}

static const char *field_str(const struct jsonl_obj *o, const char *key)
{
	const struct jsonl_field *f = jsonl_get(o, key);
	return f && f->type == JSONL_STRING ? f->str : "?";
}

static void print_human(const char *cmd, const struct jsonl_obj *o)
{
	const double mib = 1024.0 * 1024.0;
	if (strcmp(cmd, "status") == 0)
		printf("%s, up %.3f s, %.0f MiB of memory, %llu VM exits\n", field_str(o, "state"),
		       (double)field_u64(o, "uptime_ms") / 1000.0,
		       (double)field_u64(o, "mem_bytes") / mib,
		       (unsigned long long)field_u64(o, "exits"));
	else if (strcmp(cmd, "snapshot") == 0)
		printf("wrote %s: %.1f MiB of %.1f MiB (%llu pages) in %.1f ms; the VM is %s\n",
		       field_str(o, "path"), (double)field_u64(o, "bytes") / mib,
		       (double)field_u64(o, "file_bytes") / mib,
		       (unsigned long long)field_u64(o, "pages"), field_double(o, "ms"),
		       field_str(o, "state"));
	else if (strcmp(cmd, "migrate") == 0)
		printf("migrated: downtime %.1f ms, total %.1f ms, %.1f MiB in %llu rounds "
		       "(%llu pages as deltas), %llu frames forwarded\n",
		       field_double(o, "downtime_ms"), field_double(o, "total_ms"),
		       (double)field_u64(o, "bytes") / mib,
		       (unsigned long long)field_u64(o, "rounds"),
		       (unsigned long long)field_u64(o, "delta_pages"),
		       (unsigned long long)field_u64(o, "frames"));
	else
		printf("%s\n", field_str(o, "state"));
}

/* A number from a progress report (its format is the monitor's, control.c). */
static unsigned long long progress_field(const char *line, const char *key)
{
	char pattern[32];
	snprintf(pattern, sizeof(pattern), "\"%s\":", key);
	const char *p = strstr(line, pattern);
	return p ? strtoull(p + strlen(pattern), NULL, 10) : 0;
}

struct progress_view {
	int show;   /* --progress, or a terminal */
	int on_tty; /* one line updated in place */
};

/* One report of a migration: in place on a terminal, else a line of its own. */
static void show_progress(void *ctx, const char *line)
{
	const struct progress_view *view = ctx;
	const int *on_tty = &view->on_tty;
	if (!view->show)
		return;
	char phase[16] = "";
	const char *p = strstr(line, "\"phase\":\"");
	if (p)
		sscanf(p + 9, "%15[a-z]", phase);
	double mib = 1024.0 * 1024.0;
	double sent = (double)progress_field(line, "bytes") / mib;
	unsigned long long round = progress_field(line, "round");
	char dirty[48] = ""; /* counted at the end of each round */
	if (progress_field(line, "dirty_pages"))
		snprintf(dirty, sizeof(dirty), ", %llu pages dirty",
		         progress_field(line, "dirty_pages"));
	if (strcmp(phase, "waiting") == 0)
		fprintf(stderr,
		        "%smigrating: %.1f MiB sent, waiting for the target to load the VM%s",
		        *on_tty ? "\r\033[K" : "", sent, *on_tty ? "" : "\n");
	else
		fprintf(stderr, "%smigrating: round %llu%s, %.1f MiB sent%s%s",
		        *on_tty ? "\r\033[K" : "", round,
		        strcmp(phase, "paused") == 0 ? " (VM paused)" : "", sent, dirty,
		        *on_tty ? "" : "\n");
	fflush(stderr);
}

/* FILE made absolute against the current directory: the monitor's may differ. */
static char *absolute_path(const char *file)
{
	if (file[0] == '/')
		return strdup(file);
	char cwd[4096];
	if (!getcwd(cwd, sizeof(cwd)))
		return NULL;
	size_t len = strlen(cwd) + strlen(file) + 2;
	char *out = malloc(len);
	if (out)
		snprintf(out, len, "%s/%s", cwd, file);
	return out;
}

struct vm_args {
	const struct vm_cmd *cmd;
	const char *sock;
	const char *file;
	const char *to;
	int json, stop;
	int progress; /* -1: if stderr is a terminal */
	unsigned timeout_s;
};

/* Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct vm_args *a)
{
	if (argc < 2)
		return usage_error("missing COMMAND", NULL);
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		vm_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			a->cmd = &commands[i];
	if (!a->cmd)
		return usage_error("unknown command", argv[1]);
	int is_snapshot = strcmp(a->cmd->name, "snapshot") == 0;
	int is_migrate = strcmp(a->cmd->name, "migrate") == 0;
	for (int i = 2; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			cmd_usage(stdout, a->cmd);
			return 0;
		}
		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
		} else if (strcmp(arg, "--stop") == 0 && is_snapshot) {
			a->stop = 1;
		} else if (is_migrate &&
		           (strcmp(arg, "--progress") == 0 || strcmp(arg, "--no-progress") == 0)) {
			a->progress = arg[2] == 'p';
		} else if (strcmp(arg, "-s") == 0 || strcmp(arg, "--api-sock") == 0 ||
		           strncmp(arg, "--api-sock=", 11) == 0) {
			if (arg[1] == '-' && arg[10] == '=')
				a->sock = arg + 11;
			else if (i + 1 < argc)
				a->sock = argv[++i];
			else
				return usage_error("option needs a value", arg);
		} else if (is_migrate &&
		           (strcmp(arg, "--to") == 0 || strncmp(arg, "--to=", 5) == 0)) {
			a->to = arg[4] == '=' ? arg + 5 : (i + 1 < argc ? argv[++i] : NULL);
			if (!a->to || strncmp(a->to, "tcp:", 4) != 0)
				return usage_error("--to needs tcp:A.B.C.D:PORT", a->to);
		} else if (strcmp(arg, "--timeout") == 0 || strncmp(arg, "--timeout=", 10) == 0) {
			const char *val =
			    arg[9] == '=' ? arg + 10 : (i + 1 < argc ? argv[++i] : NULL);
			char *end;
			unsigned long t = val ? strtoul(val, &end, 10) : 0;
			if (!val || !*val || *end || t == 0 || t > 86400)
				return usage_error("--timeout needs 1 to 86400 seconds", val);
			a->timeout_s = (unsigned)t;
		} else if (arg[0] == '-' && arg[1]) {
			return usage_error("unknown option", arg);
		} else if (is_snapshot && !a->file) {
			a->file = arg;
		} else {
			return usage_error("unexpected argument", arg);
		}
	}
	if (!a->sock || !a->sock[0])
		return usage_error("--api-sock PATH is required", NULL);
	if (is_migrate && !a->to)
		return usage_error("migrate needs --to tcp:A.B.C.D:PORT", NULL);
	if (is_snapshot && (!a->file || !a->file[0]))
		return usage_error("snapshot needs a FILE", NULL);
	return -1;
}

int cmd_vm(int argc, char **argv)
{
	struct vm_args a = {.timeout_s = 60, .progress = -1};
	int status = parse_args(argc, argv, &a);
	if (status >= 0)
		return status;

	char request[4096 * 6 + 128];
	if (a.file) {
		char *path = absolute_path(a.file);
		if (!path) {
			fprintf(stderr, "hedge vm: cannot tell the current directory: %s\n",
			        strerror(errno));
			return VM_REFUSED;
		}
		char quoted[4096 * 6 + 3];
		jsonl_quote(quoted, sizeof(quoted), path);
		free(path);
		snprintf(request, sizeof(request), "{\"op\":\"snapshot\",\"path\":%s%s}\n", quoted,
		         a.stop ? ",\"stop\":true" : "");
	} else if (a.to) {
		char quoted[512];
		jsonl_quote(quoted, sizeof(quoted), a.to);
		if (a.progress < 0)
			a.progress = isatty(STDERR_FILENO);
		/* The reports also keep --timeout from running out on a long migration. */
		snprintf(request, sizeof(request),
		         "{\"op\":\"migrate\",\"to\":%s,\"progress\":true}\n", quoted);
	} else {
		snprintf(request, sizeof(request), "{\"op\":\"%s\"}\n", a.cmd->name);
	}
	char *answer = malloc(ANSWER_MAX);
	struct jsonl_obj *obj = malloc(sizeof(*obj));
	if (!answer || !obj) {
		free(answer);
		free(obj);
		fprintf(stderr, "hedge vm: out of memory\n");
		return VM_UNREACHABLE;
	}
	char err[200];
	struct progress_view view = {.show = a.progress > 0, .on_tty = isatty(STDERR_FILENO)};
	int rc =
	    control_exchange_progress(a.sock, request, answer, ANSWER_MAX, (int)a.timeout_s * 1000,
	                              a.to ? show_progress : NULL, &view, err, sizeof(err));
	if (view.show && view.on_tty)
		fputs("\r\033[K", stderr); /* the report line goes; the answer follows */
	if (rc) {
		fprintf(stderr, "hedge vm: %s\n", err);
		status = VM_UNREACHABLE;
	} else {
		status = VM_OK;
	}
	if (status == VM_OK && jsonl_parse(answer, strlen(answer), obj, err, sizeof(err))) {
		fprintf(stderr, "hedge vm: malformed answer from %s: %s\n", a.sock, err);
		status = VM_UNREACHABLE;
	}
	if (status == VM_OK) {
		const struct jsonl_field *e = jsonl_get(obj, "error");
		if (a.json)
			printf("%s\n", answer);
		if (e) {
			fprintf(stderr, "hedge vm: %s\n",
			        e->type == JSONL_STRING ? e->str : "the monitor reported an error");
			status = VM_REFUSED;
		} else if (!a.json) {
			print_human(a.cmd->name, obj);
		}
	}
	free(answer);
	free(obj);
	return status;
}
