/*
 * run.h - booting one image in one microVM, or resuming one from a snapshot:
 * what `hedge run` does.
 */
#ifndef HEDGE_RUN_H
#define HEDGE_RUN_H

#include <stdint.h>

#include "net_tap.h"

struct run_config {
	const char *image;
	uint64_t mem_size;
	int mem_given; /* --mem was given: it beats the size the image records */
	int quiet;   /* discard the guest console */
	int timings; /* print phase timings as one JSON line on stderr */
	int argc;    /* guest argv, argv[0] included */
	char *const *argv;
	int envc;
	char *const *envp;
	int seccomp_probe; /* test hook: make a forbidden syscall once sandboxed */
	int ndirs;         /* --dir HOST::GUEST, archived into the guest's file system */
	const char *const *dir_host;
	const char *const *dir_guest;
	int nlisten; /* --listen ADDR:PORT: sockets the guest opens before the program */
	const struct hedge_listen_entry *listen;
	const char *netns;      /* run inside this named network namespace (ip netns) */
	struct net_config net;  /* net.tap_name NULL: no interface */
	const char *api_sock;   /* serve the control socket here (control.c); NULL: none */
	const char *restore;    /* resume this snapshot instead of booting image */
	const char *incoming;   /* tcp:A.B.C.D:PORT: run the VM that migrates in there */
	unsigned incoming_timeout; /* seconds to wait for it */
};

/* Rounds a memory size to what a VM can have: 2 MiB pages, 2 MiB to 16 GiB. */
uint64_t round_mem_size(uint64_t bytes);

/*
 * Boots cfg->image, or resumes cfg->restore, and returns the status hedge run
 * exits with (see status.h and snapshot.h).
 */
int hedge_run(const struct run_config *cfg);

#endif
