/*
 * main.c - the hedge command: dispatches to its subcommands.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
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
	             "  vm        Status, pause, resume, snapshot or migrate a running VM\n"
	             "  version   Print the version\n"
	             "\n"
	             "  ps, images, create, start, stop, kill, pause, resume, rm, logs, inspect,\n"
	             "  stats, snapshot, snapshots, migrate, pull, push\n"
	             "            Manage VMs and images through hedged, the node agent\n"
	             "\n"
	             "Run 'hedge COMMAND --help' for more information on a command.\n");
}

/*
 * Started with stdin, stdout or stderr closed, the first files hedge opens
 * would take those numbers, and the guest's console would read or write
 * /dev/kvm or the image.  /dev/null keeps the three numbers taken.
 */
static void reserve_standard_fds(void)
{
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF)
			if (open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd)
				_exit(ST_INTERNAL);
}

int main(int argc, char **argv)
{
	reserve_standard_fds();
	if (argc < 2) {
		usage(stderr);
		return ST_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(cmd, "build") == 0)
		return cmd_build(argc - 1, argv + 1);
	if (strcmp(cmd, "vm") == 0)
		return cmd_vm(argc - 1, argv + 1);
	static const char *const agent_cmds[] = {
	    "ps",       "images",    "create",  "start", "stop",    "kill",
	    "pause",    "resume",    "rm",      "logs",  "inspect", "stats",
	    "snapshot", "snapshots", "migrate", "pull",  "push"};
	for (size_t i = 0; i < sizeof(agent_cmds) / sizeof(agent_cmds[0]); i++)
		if (strcmp(cmd, agent_cmds[i]) == 0)
			return cmd_agent(argc - 1, argv + 1);
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
