/*
 * main.c - hedged, the node agent: a REST API on a unix socket that keeps
 * images and VMs, each VM its own `hedge run` process that hedged spawns,
 * watches and restarts by policy.
 *
 * VMs outlive the agent: hedged ends without touching them, and a new hedged
 * on the same state directory finds them (pid alive, control socket
 * answering) and manages them again.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

struct agent agent = {
    .lock = PTHREAD_MUTEX_INITIALIZER, .stop_timeout_ms = 10000, .max_image_bytes = 64u << 20};

uint64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "Usage: hedged --state-dir DIR --socket PATH [OPTIONS]\n"
	        "\n"
	        "The hedge node agent: a REST API (JSON over HTTP) on a unix socket that keeps\n"
	        "images and VMs, each VM a 'hedge run' process it supervises. State lives in\n"
	        "DIR/hedged.db; VMs keep running when hedged ends and are managed again by the\n"
	        "next hedged on the same DIR. See docs/agent.md.\n"
	        "\n"
	        "Options:\n"
	        "      --state-dir DIR     Database, images, VM sockets and logs (created)\n"
	        "      --socket PATH       The API's unix socket (mode 0660)\n"
	        "      --foreground        Stay in the foreground (default: become a daemon)\n"
	        "      --hedge PATH        The hedge binary (default: 'hedge' next to hedged)\n"
	        "      --max-vm-mem SIZE   Admit running VMs up to SIZE of memory in all\n"
	        "                          (default and upper bound: the node's MemAvailable)\n"
	        "      --stop-timeout SEC  Time between SIGTERM and SIGKILL on stop (default 10)\n"
	        "      --listen-tcp A.B.C.D:PORT\n"
	        "                          Also serve the API over TCP there; needs --token-file\n"
	        "      --token-file FILE   Bearer token that TCP clients must send\n"
	        "                          ('Authorization: Bearer TOKEN'); 16 to 255 characters\n"
	        "  -h, --help              Show this help\n");
}

static int fail(const char *msg, const char *arg)
{
	fprintf(stderr, "hedged: %s%s%s\n", msg, arg ? ": " : "", arg ? arg : "");
	return 1;
}

static int parse_mem(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || s[0] == '-')
		return -1;
	unsigned shift = 0;
	if (*end == 'K' || *end == 'k')
		shift = 10;
	else if (*end == 'M' || *end == 'm')
		shift = 20;
	else if (*end == 'G' || *end == 'g')
		shift = 30;
	if (shift)
		end++;
	if (*end || v == 0 || v > (1ull << 50) >> shift)
		return -1;
	*out = v << shift;
	return 0;
}

/* Binds the API socket; a stale socket file is replaced, a live one is an error. */
static int listen_unix(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path)) {
		fail("socket path too long", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		fail("another server already listens on", path);
		close(fd);
		return -1;
	}
	close(fd);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
	umask(old);
	if (rc < 0 || listen(fd, 128) < 0) {
		fprintf(stderr, "hedged: cannot listen on %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* The TCP listener: IPv4 only, like the rest of hedge. */
static int listen_tcp(const char *spec)
{
	char ip[16];
	const char *colon = strrchr(spec, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	struct sockaddr_in addr = {.sin_family = AF_INET};
	if (!colon || colon - spec >= (long)sizeof(ip) || *end || port <= 0 || port > 65535) {
		fail("--listen-tcp needs A.B.C.D:PORT", spec);
		return -1;
	}
	memcpy(ip, spec, (size_t)(colon - spec));
	ip[colon - spec] = '\0';
	if (inet_pton(AF_INET, ip, &addr.sin_addr) != 1) {
		fail("--listen-tcp needs A.B.C.D:PORT", spec);
		return -1;
	}
	addr.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(fd, 128)) {
		fprintf(stderr, "hedged: cannot listen on %s: %s\n", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* The token: the file's first line, 16 to 255 printable characters. */
static int read_token(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return fail("cannot read --token-file", path);
	char line[512] = "";
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	size_t n = strlen(line);
	for (size_t i = 0; i < n; i++)
		if (line[i] <= ' ' || line[i] > '~')
			return fail("the token must be printable ASCII without spaces", path);
	if (n < 16 || n >= sizeof(agent.token))
		return fail("the token must have 16 to 255 characters", path);
	struct stat sb;
	if (stat(path, &sb) == 0 && (sb.st_mode & 077))
		fprintf(stderr,
		        "hedged: warning: token file %s is readable by others (chmod 600)\n", path);
	memcpy(agent.token, line, n + 1);
	return 0;
}

/* A thousand VMs: a connection each while they start, and their sockets and logs. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int make_dirs(void)
{
	char sub[PATH_MAX + 16];
	if (mkdir(agent.state_dir, 0700) && errno != EEXIST)
		return -1;
	snprintf(sub, sizeof(sub), "%s/images", agent.state_dir);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -1;
	snprintf(sub, sizeof(sub), "%s/vms", agent.state_dir);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -1;
	snprintf(sub, sizeof(sub), "%s/snapshots", agent.state_dir);
	if (mkdir(sub, 0700) && errno != EEXIST)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	const char *state_dir = NULL, *sock = NULL, *hedge = NULL, *tcp = NULL, *token_file = NULL;
	int foreground = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--foreground")) {
			foreground = 1;
			continue;
		}
		if (i + 1 >= argc)
			return fail("unknown option or missing value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--state-dir"))
			state_dir = v;
		else if (!strcmp(a, "--socket"))
			sock = v;
		else if (!strcmp(a, "--hedge"))
			hedge = v;
		else if (!strcmp(a, "--listen-tcp"))
			tcp = v;
		else if (!strcmp(a, "--token-file"))
			token_file = v;
		else if (!strcmp(a, "--max-vm-mem")) {
			if (parse_mem(v, &agent.max_vm_mem))
				return fail("bad size", v);
		} else if (!strcmp(a, "--stop-timeout")) {
			char *end;
			long s = strtol(v, &end, 10);
			if (*end || s < 0 || s > 3600)
				return fail("bad --stop-timeout", v);
			agent.stop_timeout_ms = (unsigned)s * 1000;
		} else
			return fail("unknown option", a);
	}
	if (!state_dir || !sock)
		return fail("--state-dir and --socket are required (see 'hedged --help')", NULL);
	/* An API that starts VMs is never open on the network without a token. */
	if (tcp && !token_file)
		return fail("--listen-tcp needs --token-file", NULL);
	if (token_file && read_token(token_file))
		return 1;

	/* Absolute paths: the daemon leaves the working directory, and VMs get socket paths. */
	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return fail("cannot create state directory", state_dir);
	if (!realpath(state_dir, agent.state_dir))
		return fail("bad state directory", state_dir);
	if (sock[0] == '/')
		snprintf(agent.socket_path, sizeof(agent.socket_path), "%s", sock);
	else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)) ||
		    snprintf(agent.socket_path, sizeof(agent.socket_path), "%s/%s", cwd, sock) >=
		        (int)sizeof(agent.socket_path))
			return fail("bad socket path", sock);
	}
	if (hedge) {
		if (!realpath(hedge, agent.hedge_bin))
			return fail("no such hedge binary", hedge);
	} else {
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return fail("cannot find own executable", NULL);
		self[n] = '\0';
		snprintf(agent.hedge_bin, sizeof(agent.hedge_bin), "%s/hedge", dirname(self));
	}
	if (access(agent.hedge_bin, X_OK))
		return fail("hedge binary is not executable", agent.hedge_bin);
	if (make_dirs())
		return fail("cannot create directories in", agent.state_dir);

	/* One agent per state directory: two would both supervise and restart the same VMs. */
	char lock_path[PATH_MAX + 16];
	snprintf(lock_path, sizeof(lock_path), "%s/hedged.lock", agent.state_dir);
	int lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX | LOCK_NB))
		return fail("another hedged uses", agent.state_dir);

	char err[512];
	if (store_open(err, sizeof(err)))
		return fail(err, NULL);
	int lfd = listen_unix(agent.socket_path);
	if (lfd < 0)
		return 1;
	int tcp_fd = tcp ? listen_tcp(tcp) : -1;
	if (tcp && tcp_fd < 0)
		return 1;
	raise_fd_limit();
	if (!foreground && daemon(0, 0))
		return fail("cannot become a daemon", strerror(errno));

	/*
	 * Signals are taken synchronously by the supervisor loop below; every
	 * thread (MHD's included) inherits this mask, children get it reset.
	 */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	cgroup_init();
	vms_adopt();
	if (api_start(lfd, tcp_fd, err, sizeof(err)))
		return fail(err, NULL);
	fprintf(stderr, "hedged: listening on %s%s%s, state in %s\n", agent.socket_path,
	        tcp ? " and tcp:" : "", tcp ? tcp : "", agent.state_dir);
	/*
	 * Every 100 ms the VMs with a deadline; all VMs only when a child ended
	 * or once a second (adopted VMs are not our children: no SIGCHLD), so
	 * that a thousand running VMs cost nothing while they run.
	 */
	uint64_t last_all = 0;
	while (!agent.quit) {
		struct timespec tick = {.tv_nsec = 100 * 1000 * 1000};
		int sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			agent.quit = 1;
		int all = sig == SIGCHLD || mono_ms() - last_all >= 1000;
		if (all)
			last_all = mono_ms();
		vms_supervise(all);
	}
	api_stop();
	unlink(agent.socket_path);
	sqlite3_close(agent.db);
	cgroup_fini();
	fprintf(stderr, "hedged: stopped; VMs keep running\n");
	return 0;
}
