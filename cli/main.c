/*
 * main.c - the hedge command: dispatches to its subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "status.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: hedge COMMAND [OPTIONS]\n"
	             "\n"
	             "A lightweight hypervisor that boots unikernels in KVM microVMs.\n"
	             "\n"
	             "Commands:\n"
	             "  build     Compile a WebAssembly module into a unikernel image\n"
	             "  run       Boot a unikernel image and return its exit status\n"
	             "  version   Print the version\n"
	             "\n"
	             "Run 'hedge COMMAND --help' for more information on a command.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return ST_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "build") == 0)
		return cmd_build(argc - 1, argv + 1);
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("hedge %s\n", HEDGE_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "hedge: unknown command '%s' (see 'hedge --help')\n", cmd);
	return ST_USAGE;
}
