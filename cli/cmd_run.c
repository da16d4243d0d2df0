/*
 * cmd_run.c - `hedge run`: options, then the image, then the guest's arguments.
 *
 * Options must come before the image; everything after it (after an optional
 * "--") belongs to the guest, as with `docker run` and `wasmtime run`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "cli.h"
#include "hedge_abi.h"
#include "build.h"
#include "cache.h"
#include "run.h"
#include "migrate.h"
#include "snapshot.h"
#include "status.h"

#define DEFAULT_MEM (32ull << 20)
#define MAX_ENV     256
#define MAX_DIRS    32
#define MAX_LISTEN  16
#define DEFAULT_WASM_MEM (256ull << 20)

static void run_usage(FILE *out)
{
	fprintf(out,
	        "Usage: hedge run [OPTIONS] IMAGE [--] [ARGS...]\n"
	        "       hedge run --restore FILE [OPTIONS]\n"
	        "       hedge run --incoming tcp:A.B.C.D:PORT [OPTIONS]\n"
	        "\n"
	        "Boot the x86_64 unikernel ELF IMAGE in a KVM microVM. The guest's console goes\n"
	        "to stdout and stderr, it reads stdin, and its exit status becomes hedge's.\n"
	        "IMAGE may be a WebAssembly module (.wasm): it is built into an image first,\n"
	        "once, and cached by its sha256 (see 'hedge build --help').\n"
	        "With --restore, resume the VM saved in snapshot FILE where it stopped instead\n"
	        "(its arguments, environment, directories and memory come from the snapshot).\n"
	        "\n"
	        "Options:\n"
	        "  -m, --mem SIZE     Guest memory, e.g. 32M, 1G (default 32M, 256M for .wasm;\n"
	        "                     rounded up to 2M)\n"
	        "  -e, --env K=V      Set an environment variable in the guest (repeatable)\n"
	        "      --dir HOST[::GUEST]\n"
	        "                     Give the guest a copy of directory HOST at GUEST\n"
	        "                     (default: HOST as given); writes stay inside the VM\n"
	        "  -q, --quiet        Discard the guest's console output\n"
	        "      --net tap:NAME Give the guest a network interface on TAP device NAME\n"
	        "                     (created if missing, and then removed at exit)\n"
	        "      --ip A.B.C.D/N The guest's IPv4 address (with --net)\n"
	        "      --gw A.B.C.D   The guest's default gateway (with --net)\n"
	        "      --mac MAC      The guest's MAC address (default: random 52:54:00:xx:xx:xx)\n"
	        "      --netns NAME   Run inside network namespace NAME (see 'ip netns')\n"
	        "      --listen ADDR:PORT\n"
	        "                     Open a listening TCP socket for the guest before it starts\n"
	        "                     (WASI programs get it as a preopened socket, as with wasmtime)\n"
	        "      --api-sock PATH\n"
	        "                     Serve a control socket at PATH (status, pause, resume,\n"
	        "                     snapshot; see 'hedge vm --help'); removed at exit\n"
	        "      --restore FILE Resume the snapshot FILE instead of booting an image\n"
	        "      --timings      Print boot phase timings as JSON on stderr\n"
	        "      --incoming tcp:A.B.C.D:PORT\n"
	        "                     Wait there for one VM migrating in ('hedge vm migrate') and\n"
	        "                     run it; --net and --netns as with --restore\n"
	        "      --incoming-timeout SECS\n"
	        "                     Give up if no migration arrives in SECS (default 60)\n"
	        "  -h, --help         Show this help\n"
	        "\n"
	        "Exit status: the guest's own status, or\n"
	        "    2  bad image (not a file, not ELF, malformed, too large for --mem)\n"
	        "    3  bad snapshot (missing, corrupt, truncated, other format version or ABI,\n"
	        "       memory size other than --mem)\n"
	        "    4  this host cannot resume the snapshot (CPU vendor or features, TSC)\n"
	        "    5  --incoming: no migration arrived in time, or the stream broke off\n"
	        "   64  bad command line\n"
	        "   69  /dev/kvm missing or unusable\n"
	        "   70  host-side failure\n"
	        "  120  guest aborted or hit a CPU exception\n"
	        "  121  guest triple fault\n"
	        "  122  bad hypercall (bad pointer, length or number)\n"
	        "  123  hypercall with another ABI version\n"
	        "  124  unexpected VM exit\n");
}

/* A random locally administered unicast address in QEMU's 52:54:00 range. */
static void random_mac(uint8_t mac[6])
{
	uint8_t r[3] = {0};
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r[0] = r[1] = r[2] = 0x42;
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	memcpy(mac + 3, r, 3);
}

static int is_wasm_module(const char *path)
{
	size_t len = strlen(path);
	if (len >= 5 && strcmp(path + len - 5, ".wasm") == 0)
		return 1;
	unsigned char magic[4] = {0};
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t got = fread(magic, 1, sizeof(magic), f);
	fclose(f);
	return got == 4 && memcmp(magic, "\0asm", 4) == 0;
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
	char *dir_host[MAX_DIRS], *dir_guest[MAX_DIRS];
	struct hedge_listen_entry listen[MAX_LISTEN];
	int nlisten = 0;
	int ndirs = 0;
	int mem_given = 0;
	int mac_given = 0;
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
		char name[24];
		if (name_len >= sizeof(name))
			return usage_error("unknown option", opt);
		memcpy(name, opt, name_len);
		name[name_len] = '\0';
		if (strcmp(name, "-m") == 0)
			strcpy(name, "--mem");
		if (strcmp(name, "-e") == 0)
			strcpy(name, "--env");
		static const char *const valued[] = {"--mem",      "--env",    "--dir", "--net",
		                                     "--ip",       "--gw",     "--mac", "--netns",
		                                     "--api-sock", "--restore", "--listen",
		                                     "--incoming", "--incoming-timeout"};
		int known = 0;
		for (size_t k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
			known |= strcmp(name, valued[k]) == 0;
		if (!known)
			return usage_error("unknown option", opt);
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error("option needs a value", opt);
		if (strcmp(name, "--mem") == 0) {
			if (parse_size(val, &cfg.mem_size))
				return usage_error("bad memory size", val);
			mem_given = 1;
			cfg.mem_given = 1;
		} else if (strcmp(name, "--dir") == 0) {
			if (ndirs == MAX_DIRS)
				return usage_error("too many --dir options", NULL);
			/* The same HOST[::GUEST] rules as hedge build --dir. */
			struct build_dir dir;
			char why[256];
			if (build_dir_parse(val, &dir, why, sizeof(why)))
				return usage_error("--dir needs HOST[::GUEST]", val);
			dir_host[ndirs] = dir.host;
			dir_guest[ndirs] = dir.guest;
			ndirs++;
		} else if (strcmp(name, "--env") == 0) {
			if (!strchr(val, '=') || val[0] == '=')
				return usage_error("environment must be K=V", val);
			if (envc == MAX_ENV)
				return usage_error("too many --env options", NULL);
			env[envc++] = (char *)val;
		} else if (strcmp(name, "--net") == 0) {
			if (strncmp(val, "tap:", 4) != 0 || !val[4])
				return usage_error("--net needs tap:NAME", val);
			cfg.net.tap_name = val + 4;
		} else if (strcmp(name, "--ip") == 0) {
			if (net_parse_cidr(val, &cfg.net.ipv4, &cfg.net.netmask))
				return usage_error("--ip needs an IPv4 address like 10.0.0.2/24", val);
		} else if (strcmp(name, "--gw") == 0) {
			uint32_t unused_mask;
			if (strchr(val, '/') ||
			    net_parse_cidr(val, &cfg.net.gateway, &unused_mask))
				return usage_error("--gw needs an IPv4 address", val);
		} else if (strcmp(name, "--mac") == 0) {
			if (net_parse_mac(val, cfg.net.mac))
				return usage_error("--mac needs a unicast aa:bb:cc:dd:ee:ff", val);
			mac_given = 1;
		} else if (strcmp(name, "--api-sock") == 0) {
			if (!val[0])
				return usage_error("--api-sock needs a path", NULL);
			cfg.api_sock = val;
		} else if (strcmp(name, "--restore") == 0) {
			if (!val[0])
				return usage_error("--restore needs a snapshot file", NULL);
			cfg.restore = val;
		} else if (strcmp(name, "--incoming") == 0) {
			uint32_t ip;
			uint16_t port;
			if (migrate_parse_addr(val, &ip, &port))
				return usage_error("--incoming needs tcp:A.B.C.D:PORT", val);
			cfg.incoming = val;
		} else if (strcmp(name, "--incoming-timeout") == 0) {
			char *end;
			unsigned long secs = strtoul(val, &end, 10);
			if (!val[0] || *end || secs == 0 || secs > 86400)
				return usage_error("--incoming-timeout needs 1 to 86400 seconds", val);
			cfg.incoming_timeout = (unsigned)secs;
		} else if (strcmp(name, "--listen") == 0) {
			if (nlisten == MAX_LISTEN)
				return usage_error("too many --listen options", NULL);
			if (net_parse_listen(val, &listen[nlisten]))
				return usage_error("--listen needs ADDR:PORT, e.g. 0.0.0.0:8080", val);
			nlisten++;
		} else {
			cfg.netns = val;
		}
	}
	cfg.nlisten = nlisten;
	cfg.listen = listen;
	if (!cfg.incoming_timeout)
		cfg.incoming_timeout = 60;
	if (cfg.incoming && cfg.restore)
		return usage_error("--incoming and --restore exclude each other", NULL);
	if (cfg.incoming || cfg.restore) {
		if (i < argc)
			return usage_error("--restore and --incoming take no IMAGE or arguments",
			                   argv[i]);
		if (envc || ndirs || nlisten)
			return usage_error("--env, --dir and --listen come with the VM with --restore "
			                   "and --incoming",
			                   NULL);
		if (cfg.net.ipv4 || cfg.net.gateway || mac_given)
			return usage_error(
			    "--ip, --gw and --mac come with the VM with --restore and --incoming", NULL);
		if (mem_given && cfg.mem_size > (uint64_t)HEDGE_MAX_MEM_GIB << 30)
			return usage_error("--mem is larger than the 16G maximum", NULL);
		cfg.mem_size = round_mem_size(cfg.mem_size);
		cfg.mem_given = mem_given;
		return hedge_run(&cfg);
	}
	if (!cfg.net.tap_name && (cfg.net.ipv4 || cfg.net.gateway || mac_given))
		return usage_error("--ip, --gw and --mac need --net tap:NAME", NULL);
	if (cfg.net.tap_name && !mac_given)
		random_mac(cfg.net.mac);
	if (i >= argc)
		return usage_error("missing IMAGE", NULL);

	cfg.image = argv[i];
	char cached_image[4096];
	if (is_wasm_module(argv[i])) {
		char err[512];
		int status = cache_image_for_wasm(argv[i], cached_image, sizeof(cached_image),
						  cfg.quiet, err, sizeof(err));
		if (status) {
			fprintf(stderr, "hedge: %s\n", err);
			return status;
		}
		cfg.image = cached_image;
		if (!mem_given)
			cfg.mem_size = DEFAULT_WASM_MEM;
	}
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

	if (cfg.mem_size > (uint64_t)HEDGE_MAX_MEM_GIB << 30) {
		free(gargv);
		return usage_error("--mem is larger than the 16G maximum", NULL);
	}
	cfg.mem_size = round_mem_size(cfg.mem_size);
	cfg.argc = gargc;
	cfg.argv = gargv;
	cfg.envc = envc;
	cfg.envp = env;
	cfg.ndirs = ndirs;
	cfg.dir_host = (const char *const *)dir_host;
	cfg.dir_guest = (const char *const *)dir_guest;
	int status = hedge_run(&cfg);
	free(gargv);
	for (int d = 0; d < ndirs; d++) {
		free(dir_host[d]);
		free(dir_guest[d]);
	}
	return status;
}
