/*
 * cmd_run.c - `hedge run`: options, then the image, then the guest's arguments.
 *
 * Options must come before the image; everything after it (after an optional
 * "--") belongs to the guest, as with `docker run` and `wasmtime run`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hedge_abi.h"
#include "run.h"
#include "status.h"

#define DEFAULT_MEM (32ull << 20)
#define MIN_MEM     (2ull << 20)
#define MAX_ENV     256

static void run_usage(FILE *out)
{
	fprintf(out,
	        "Usage: hedge run [OPTIONS] IMAGE [--] [ARGS...]\n"
	        "\n"
	        "Boot the x86_64 unikernel ELF IMAGE in a KVM microVM. The guest's console goes\n"
	        "to stdout and its exit status becomes hedge's.\n"
	        "\n"
	        "Options:\n"
	        "  -m, --mem SIZE     Guest memory, e.g. 32M, 1G (default 32M, rounded up to 2M)\n"
	        "  -e, --env K=V      Set an environment variable in the guest (repeatable)\n"
	        "  -q, --quiet        Discard the guest's console output\n"
	        "      --timings      Print boot phase timings as JSON on stderr\n"
	        "  -h, --help         Show this help\n"
	        "\n"
	        "Exit status: the guest's own status, or\n"
	        "    2  bad image (not a file, not ELF, malformed, too large for --mem)\n"
	        "   64  bad command line\n"
	        "   69  /dev/kvm missing or unusable\n"
	        "   70  host-side failure\n"
	        "  120  guest aborted or hit a CPU exception\n"
	        "  121  guest triple fault\n"
	        "  122  bad hypercall (bad pointer, length or number)\n"
	        "  123  hypercall with another ABI version\n"
	        "  124  unexpected VM exit\n");
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "hedge run: %s%s%s (see 'hedge run --help')\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return ST_USAGE;
}

int cmd_run(int argc, char **argv)
{
	struct run_config cfg = {.mem_size = DEFAULT_MEM};
	char *env[MAX_ENV];
	int envc = 0;
	int i = 1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *opt = argv[i];
		const char *val = NULL;
		if (strcmp(opt, "--") == 0) {
			i++;
			break;
		}
		if (strcmp(opt, "-h") == 0 || strcmp(opt, "--help") == 0) {
			run_usage(stdout);
			return 0;
		}
		if (strcmp(opt, "-q") == 0 || strcmp(opt, "--quiet") == 0) {
			cfg.quiet = 1;
			continue;
		}
		if (strcmp(opt, "--timings") == 0) {
			cfg.timings = 1;
			continue;
		}
		if (strcmp(opt, "--debug-seccomp-probe") == 0) {
			cfg.seccomp_probe = 1;
			continue;
		}
		/* Options with a value accept "--opt VALUE" and "--opt=VALUE". */
		const char *eq = strchr(opt, '=');
		size_t name_len = eq ? (size_t)(eq - opt) : strlen(opt);
		int is_mem =
		    (name_len == 5 && strncmp(opt, "--mem", 5) == 0) || strcmp(opt, "-m") == 0;
		int is_env =
		    (name_len == 5 && strncmp(opt, "--env", 5) == 0) || strcmp(opt, "-e") == 0;
		if (!is_mem && !is_env)
			return usage_error("unknown option", opt);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error("option needs a value", opt);
		if (is_mem) {
			if (parse_size(val, &cfg.mem_size))
				return usage_error("bad memory size", val);
		} else {
			if (!strchr(val, '=') || val[0] == '=')
				return usage_error("environment must be K=V", val);
			if (envc == MAX_ENV)
				return usage_error("too many --env options", NULL);
			env[envc++] = (char *)val;
		}
	}
	if (i >= argc)
		return usage_error("missing IMAGE", NULL);

	cfg.image = argv[i];
	/* argv[0] of the guest is the image as named, like a program's own name. */
	int first_arg = i + 1;
	if (first_arg < argc && strcmp(argv[first_arg], "--") == 0)
		first_arg++;
	char **gargv = malloc(sizeof(char *) * (size_t)(argc - first_arg + 1));
	if (!gargv)
		return ST_INTERNAL;
	gargv[0] = argv[i];
	int gargc = 1;
	for (int j = first_arg; j < argc; j++)
		gargv[gargc++] = argv[j];

	const uint64_t two_mib = 2ull << 20;
	if (cfg.mem_size < MIN_MEM)
		cfg.mem_size = MIN_MEM;
	if (cfg.mem_size > (uint64_t)HEDGE_MAX_MEM_GIB << 30) {
		free(gargv);
		return usage_error("--mem is larger than the 16G maximum", NULL);
	}
	cfg.mem_size = (cfg.mem_size + two_mib - 1) & ~(two_mib - 1);
	cfg.argc = gargc;
	cfg.argv = gargv;
	cfg.envc = envc;
	cfg.envp = env;
	int status = hedge_run(&cfg);
	free(gargv);
	return status;
}
