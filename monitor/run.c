/*
 * run.c - booting one image in one microVM, or resuming one from a snapshot:
 * what `hedge run` does.
 *
 * The image (or snapshot) is checked and loaded before /dev/kvm is touched,
 * so a bad one is reported the same way on any host.  Each phase is timed
 * because boot time is the number hedge is judged by.  A control socket,
 * and the thread behind it, exist only when --api-sock asks for them.
 */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boot_info.h"
#include "control.h"
#include "elf_load.h"
#include "hedge_abi.h"
#include "kvm.h"
#include "migrate.h"
#include "sandbox.h"
#include "snapshot.h"
#include "tar_write.h"
#include "status.h"
#include "vm.h"
#include "x86_64.h"

struct phase_times {
	uint64_t start, load, create_vm, memory, vcpu, sandbox, run;
};

static int fail(int status, const char *what, const char *detail)
{
	if (what)
		fprintf(stderr, "hedge: %s: %s\n", what, detail);
	else
		fprintf(stderr, "hedge: %s\n", detail);
	return status;
}

/* Maps the image file read-only; -1 with a reason for anything but a regular file. */
static int map_image(const char *path, const uint8_t **data, size_t *size, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	if (st.st_size == 0) {
		snprintf(err, errlen, "empty file, not an ELF image");
		close(fd);
		return -1;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		snprintf(err, errlen, "cannot map: %s", strerror(errno));
		return -1;
	}
	*data = p;
	*size = (size_t)st.st_size;
	return 0;
}

/* Resident guest pages, to tell the monitor's own footprint from the guest's. */
static uint64_t guest_resident_kib(const struct vm *vm)
{
	unsigned char vec[4096];
	uint64_t pages = vm->mem.size / 4096, resident = 0;
	for (uint64_t first = 0; first < pages; first += sizeof(vec)) {
		uint64_t n = pages - first < sizeof(vec) ? pages - first : sizeof(vec);
		if (mincore(vm->mem.base + first * 4096, n * 4096, vec) < 0)
			return 0;
		for (uint64_t i = 0; i < n; i++)
			resident += vec[i] & 1;
	}
	return resident * 4;
}

/* ready_us: from start to the first KVM_RUN, i.e. to the guest's first instruction. */
static void print_timings(const struct phase_times *t, const struct vm *vm, int restored)
{
	fprintf(stderr,
	        "{\"mode\":\"%s\",\"load_us\":%.1f,\"create_vm_us\":%.1f,\"memory_us\":%.1f,"
	        "\"vcpu_us\":%.1f,\"sandbox_us\":%.1f,\"ready_us\":%.1f,\"run_us\":%.1f,"
	        "\"total_us\":%.1f,\"mem_bytes\":%llu,\"guest_resident_kib\":%llu}\n",
	        restored ? "restore" : "boot", (t->load - t->start) / 1e3,
	        (t->create_vm - t->load) / 1e3, (t->memory - t->create_vm) / 1e3,
	        (t->vcpu - t->memory) / 1e3, (t->sandbox - t->vcpu) / 1e3,
	        (t->sandbox - t->start) / 1e3, (t->run - t->sandbox) / 1e3,
	        (t->run - t->start) / 1e3, (unsigned long long)vm->mem.size,
	        (unsigned long long)guest_resident_kib(vm));
}

/* Archives each --dir; on failure reports it and returns the exit status. */
static int archive_dirs(const struct run_config *cfg, struct boot_fs *fs)
{
	char err[512];
	for (int i = 0; i < cfg->ndirs; i++) {
		uint8_t *tar;
		size_t len;
		if (tar_from_dir(cfg->dir_host[i], &tar, &len, err, sizeof(err))) {
			fprintf(stderr, "hedge: --dir %s: %s\n", cfg->dir_host[i], err);
			return ST_USAGE;
		}
		fs[i] = (struct boot_fs){.guest_path = cfg->dir_guest[i], .tar = tar, .size = len};
	}
	return 0;
}

static void free_dirs(struct boot_fs *fs, int n)
{
	for (int i = 0; i < n; i++)
		free((void *)fs[i].tar);
	free(fs);
}

/* Guest memory is whole 2 MiB pages, between 2 MiB and the 16 GiB the page tables cover. */
uint64_t round_mem_size(uint64_t bytes)
{
	const uint64_t two_mib = 2ull << 20, max = (uint64_t)HEDGE_MAX_MEM_GIB << 30;
	if (bytes < two_mib)
		bytes = two_mib;
	if (bytes > max)
		bytes = max;
	return (bytes + two_mib - 1) & ~(two_mib - 1);
}

static int boot(const struct run_config *cfg, struct vm *vm, struct phase_times *t)
{
	char err[512];
	const uint8_t *file;
	size_t file_size;
	struct elf_image img;

	if (map_image(cfg->image, &file, &file_size, err, sizeof(err)))
		return fail(ST_IMAGE, cfg->image, err);
	uint64_t mem_size = cfg->mem_size;
	uint64_t recorded;
	if (!cfg->mem_given && elf_config_mem(file, file_size, &recorded) == 0)
		mem_size = round_mem_size(recorded);
	if (gmem_map(&vm->mem, mem_size)) {
		munmap((void *)file, file_size);
		return fail(ST_INTERNAL, "cannot reserve guest memory", strerror(errno));
	}
	int rc = elf_load(file, file_size, &vm->mem, &img, err, sizeof(err));
	munmap((void *)file, file_size);
	if (rc)
		return fail(ST_IMAGE, cfg->image, err);
	x86_write_tables(&vm->mem);
	t->load = host_monotonic_ns();

	if ((rc = kvm_create(vm, err, sizeof(err))) != 0)
		return fail(rc, NULL, err);
	t->create_vm = host_monotonic_ns();
	if (kvm_set_memory(vm, err, sizeof(err)))
		return fail(ST_INTERNAL, NULL, err);
	t->memory = host_monotonic_ns();
	if (kvm_create_vcpu(vm, err, sizeof(err)) ||
	    x86_setup_vcpu(vm->kvm_fd, vm->vcpu_fd, img.entry, err, sizeof(err)))
		return fail(ST_INTERNAL, NULL, err);

	struct boot_fs *fs = calloc((size_t)cfg->ndirs + 1, sizeof(*fs));
	if (!fs)
		return fail(ST_INTERNAL, NULL, "out of memory");
	if ((rc = archive_dirs(cfg, fs)) != 0) {
		free_dirs(fs, cfg->ndirs);
		return rc;
	}
	struct boot_params bp = {
	    .argc = cfg->argc,
	    .argv = cfg->argv,
	    .envc = cfg->envc,
	    .envp = cfg->envp,
	    .tsc_khz = kvm_tsc_khz(vm),
	    .image_end = img.image_end,
	    .nfs = cfg->ndirs,
	    .fs = fs,
	    .nlisten = cfg->nlisten,
	    .listen = cfg->listen,
	};
	vm->mono_base_ns = host_monotonic_ns();
	bp.wall_epoch_ns = host_realtime_ns();
	rc = boot_info_write(&vm->mem, &bp, err, sizeof(err));
	free_dirs(fs, cfg->ndirs);
	if (rc)
		return fail(ST_USAGE, NULL, err);
	t->vcpu = host_monotonic_ns();
	return 0;
}

/* Builds the VM from a snapshot that hedge_run has opened and checked. */
static int restore(const struct run_config *cfg, struct vm *vm, struct snap_file *snap,
                   struct phase_times *t)
{
	char err[512];
	int rc =
	    snapshot_load_memory(vm, snap, cfg->mem_given ? cfg->mem_size : 0, err, sizeof(err));
	if (rc)
		return fail(rc, cfg->restore, err);
	t->load = host_monotonic_ns();
	if ((rc = kvm_create(vm, err, sizeof(err))) != 0)
		return fail(rc, NULL, err);
	t->create_vm = host_monotonic_ns();
	if (kvm_set_memory(vm, err, sizeof(err)))
		return fail(ST_INTERNAL, NULL, err);
	t->memory = host_monotonic_ns();
	if (kvm_create_vcpu(vm, err, sizeof(err)))
		return fail(ST_INTERNAL, NULL, err);
	if ((rc = snapshot_restore(vm, snap, err, sizeof(err))) != 0)
		return fail(rc, cfg->restore, err);
	t->vcpu = host_monotonic_ns();
	return 0;
}

static int restore_net_config(const struct run_config *cfg, const struct snap_file *snap,
                              struct net_config *net, char *err, size_t errlen);

/*
 * Waits for one migration, builds the VM from it and confirms to the
 * source; the target's half of migrate.c.  Whatever fails is sent to the
 * source as its reason before this monitor gives up.
 */
static int incoming(const struct run_config *cfg, struct vm *vm, struct net_dev *net,
                    struct phase_times *t)
{
	char err[512];
	int fd = -1;
	/*
	 * The TAP is opened before anything arrives: a bad --net fails here,
	 * not after the whole transfer, and the device's carrier has long been
	 * up (a bridge forwards nothing from a port until the kernel has seen
	 * that) when the guest and its gratuitous ARP start to talk.
	 */
	if (cfg->net.tap_name) {
		if (net_open(net, &cfg->net, err, sizeof(err)))
			return fail(ST_USAGE, "--net", err);
		vm->net = net;
	}
	int rc = migrate_accept(cfg->incoming, cfg->incoming_timeout, &fd, err, sizeof(err));
	if (rc)
		return fail(rc, NULL, err);
	struct snap_file snap = {.fd = -1};
	struct net_config net_cfg = cfg->net;
	rc = migrate_receive(fd, vm, cfg->mem_given ? cfg->mem_size : 0, cfg->incoming_timeout,
	                     &snap, err, sizeof(err));
	if (rc == 0)
		rc = restore_net_config(cfg, &snap, &net_cfg, err, sizeof(err));
	if (rc == 0 && net_cfg.tap_name) {
		/* The guest keeps the identity it had (restore_net_config). */
		memcpy(net->mac, net_cfg.mac, 6);
		net->ipv4 = net_cfg.ipv4;
		net->netmask = net_cfg.netmask;
		net->gateway = net_cfg.gateway;
	}
	t->load = host_monotonic_ns();
	if (rc == 0)
		rc = kvm_create(vm, err, sizeof(err));
	t->create_vm = host_monotonic_ns();
	if (rc == 0 && kvm_set_memory(vm, err, sizeof(err)))
		rc = ST_INTERNAL;
	t->memory = host_monotonic_ns();
	if (rc == 0 && kvm_create_vcpu(vm, err, sizeof(err)))
		rc = ST_INTERNAL;
	if (rc == 0)
		rc = snapshot_restore(vm, &snap, err, sizeof(err));
	snap_file_close(&snap);
	if (rc) {
		migrate_refuse(fd, err);
		close(fd);
		return fail(rc, cfg->incoming, err);
	}
	unsigned frames;
	rc = migrate_commit(fd, vm->net, &frames, err, sizeof(err));
	if (rc) /* before RUNNING: the source still has the VM and hears why */
		migrate_refuse(fd, err);
	close(fd);
	if (rc)
		return fail(rc, cfg->incoming, err);
	migrate_announce(vm->net);
	t->vcpu = host_monotonic_ns();
	return 0;
}

/* The control socket if asked for, then the seccomp allow-list. */
static int seal(const struct run_config *cfg, struct vm *vm, struct phase_times *t)
{
	char err[512];
	if (cfg->api_sock) {
		if (snapshot_prepare(vm, err, sizeof(err)))
			return fail(ST_INTERNAL, "--api-sock", err);
		if (control_start(vm, cfg->api_sock, err, sizeof(err)))
			return fail(ST_USAGE, "--api-sock", err);
	}
	if (sandbox_enter(vm, err, sizeof(err)))
		return fail(ST_INTERNAL, NULL, err);
	if (cfg->seccomp_probe)
		syscall(SYS_getppid); /* forbidden: the process must die here */
	t->sandbox = host_monotonic_ns();
	return 0;
}

/*
 * A restored or migrated VM keeps the network identity its guest already
 * configured (MAC, addresses); only the TAP device is the user's to choose.
 * 0 or ST_USAGE with a reason.
 */
static int restore_net_config(const struct run_config *cfg, const struct snap_file *snap,
                              struct net_config *net, char *err, size_t errlen)
{
	struct snap_net sn;
	int present = snapshot_net(snap, &sn);
	if (present && !cfg->net.tap_name) {
		snprintf(err, errlen, "the VM has a network interface: give --net tap:NAME");
		return ST_USAGE;
	}
	if (!present && cfg->net.tap_name) {
		snprintf(err, errlen, "the VM has no network interface: drop --net");
		return ST_USAGE;
	}
	if (present) {
		memcpy(net->mac, sn.mac, 6);
		net->ipv4 = sn.ipv4;
		net->netmask = sn.netmask;
		net->gateway = sn.gateway;
	}
	return 0;
}

/* Joins /run/netns/NAME, as `ip netns exec` would; -1 with a reason. */
static int enter_netns(const char *name, char *err, size_t errlen)
{
	char path[256];
	if (!name[0] || strchr(name, '/') || strlen(name) > 200) {
		snprintf(err, errlen, "bad network namespace name '%s'", name);
		return -1;
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen,
		         "no network namespace %s (%s): create it with 'ip netns add %s'", name,
		         strerror(errno), name);
		return -1;
	}
	int rc = setns(fd, CLONE_NEWNET);
	if (rc < 0)
		snprintf(err, errlen, "cannot enter network namespace %s: %s", name,
		         strerror(errno));
	close(fd);
	return rc;
}

int hedge_run(const struct run_config *cfg)
{
	struct phase_times t = {.start = host_monotonic_ns()};
	struct vm vm = {.kvm_fd = -1, .vm_fd = -1, .vcpu_fd = -1};
	vm.console_fd = cfg->quiet ? -1 : STDOUT_FILENO;
	vm.console_err_fd = STDERR_FILENO;
	vm.stdin_fd = STDIN_FILENO;

	/* A reader that went away must not kill the VM; console output is dropped instead. */
	signal(SIGPIPE, SIG_IGN);

	char err[512];
	struct snap_file snap = {.fd = -1};
	struct net_config net_cfg = cfg->net;
	if (cfg->restore) {
		if (snap_file_open(cfg->restore, &snap, err, sizeof(err)))
			return fail(ST_BAD_SNAPSHOT, cfg->restore, err);
		int rc = restore_net_config(cfg, &snap, &net_cfg, err, sizeof(err));
		if (rc) {
			snap_file_close(&snap);
			return fail(rc, cfg->restore, err);
		}
	}
	struct net_dev net;
	int status = 0;
	if (cfg->netns && enter_netns(cfg->netns, err, sizeof(err)))
		status = fail(ST_USAGE, NULL, err);
	if (status == 0 && net_cfg.tap_name && !cfg->incoming) {
		if (net_open(&net, &net_cfg, err, sizeof(err)))
			status = fail(ST_USAGE, "--net", err);
		else
			vm.net = &net;
	}
	if (status == 0 && cfg->incoming)
		status = incoming(cfg, &vm, &net, &t);
	else if (status == 0)
		status = cfg->restore ? restore(cfg, &vm, &snap, &t) : boot(cfg, &vm, &t);
	snap_file_close(&snap);
	if (status == 0)
		status = seal(cfg, &vm, &t);
	if (status == 0) {
		kvm_run_loop(&vm);
		t.run = host_monotonic_ns();
		status = vm.exit_status;
		if (vm.reason[0])
			fprintf(stderr, "hedge: %s\n", vm.reason);
		if (cfg->timings)
			print_timings(&t, &vm, cfg->restore != NULL || cfg->incoming != NULL);
	}
	control_stop(&vm);
	snapshot_release(&vm);
	free(vm.backing);
	kvm_destroy(&vm);
	gmem_unmap(&vm.mem);
	if (vm.net)
		net_close(vm.net);
	return status;
}
