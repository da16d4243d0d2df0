/*
 * cli.h - the hedge command's subcommands and shared argument helpers.
 */
#ifndef HEDGE_CLI_H
#define HEDGE_CLI_H

#include <stdint.h>

#define HEDGE_VERSION "0.1.0"

int cmd_run(int argc, char **argv);
int cmd_build(int argc, char **argv);
int cmd_vm(int argc, char **argv);
/* ps, images, create, start, stop, kill, pause, resume, rm, logs, inspect, stats, snapshot,
 * snapshots, migrate, pull, push: hedged's client */
int cmd_agent(int argc, char **argv);

/*
 * Parses a memory size such as "32M", "512MiB", "1G" or "65536" (bytes).
 * Returns 0 and the size in bytes, or -1 for a malformed or zero size.
 */
int parse_size(const char *text, uint64_t *bytes);

#endif
