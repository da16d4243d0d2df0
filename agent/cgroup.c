/*
 * cgroup.c - per-VM memory and CPU limits.  cgroup v2 when /sys/fs/cgroup is
 * the unified hierarchy with the memory controller; else cgroup v1's memory
 * and cpu hierarchies (hybrid machines); else none, and VMs run unlimited.
 *
 * VM cgroups are children of hedged's own cgroup, in a directory named after
 * the state directory, so that two agents never share one and a restarted
 * agent finds its VMs' groups again: DIR/hedged-<hash>/<vm name>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "sha256.h"

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* hedged's own cgroup in a hierarchy: the path of its /proc/self/cgroup line. */
static int own_cgroup(const char *controller, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "r");
	char line[PATH_MAX + 64];
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		/* v2: "0::/path"; v1: "4:memory:/path" (a list such as cpu,cpuacct too). */
		const char *ctrls = c1 + 1;
		int match = !controller ? !*ctrls : 0;
		for (const char *p = ctrls; controller && *p;) {
			size_t n = strcspn(p, ",");
			match |= n == strlen(controller) && !strncmp(p, controller, n);
			p += n + (p[n] == ',');
		}
		if (match) {
			snprintf(out, len, "%s", c2 + 1);
			found = 1;
		}
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* DIR/hedged-<hash of the state directory>: the parent of this agent's VM groups. */
static int make_parent_at(const char *dir, char *out, size_t len)
{
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[SHA256_HEX_LEN + 1];
	sha256(agent.state_dir, strlen(agent.state_dir), digest);
	sha256_hex(digest, hex);
	hex[12] = '\0';
	if (snprintf(out, len, "%s/hedged-%s", dir, hex) >= (int)len)
		return -1;
	if (mkdir(out, 0755) && errno != EEXIST)
		return -1;
	return 0;
}

/* hedged's own group in the hierarchy mounted at root ("" for the root group). */
static int own_dir(const char *root, const char *controller, char *out, size_t len)
{
	char own[PATH_MAX];
	if (own_cgroup(controller, own, sizeof(own)))
		return -1;
	return snprintf(out, len, "%s%s", root, strcmp(own, "/") ? own : "") >= (int)len ? -1 : 0;
}

static int make_parent(const char *root, const char *controller, char *out, size_t len)
{
	char dir[PATH_MAX];
	return own_dir(root, controller, dir, sizeof(dir)) ? -1 : make_parent_at(dir, out, len);
}

/*
 * cgroup v2 lets a group hand controllers to its children only while it holds
 * no process itself (the root group excepted), so hedged first moves into a
 * leaf of its own group, "hedged-agent" (where a restarted hedged may already
 * be), then enables memory (and cpu) for its siblings.  Needs a delegated
 * group (systemd: Delegate=yes) or root.  0, or -1 with nothing enabled.
 */
static int v2_prepare(const char *ctrls, char *out, size_t len)
{
	char dir[PATH_MAX];
	if (own_dir("/sys/fs/cgroup", NULL, dir, sizeof(dir)))
		return -1;
	const char *want = strstr(ctrls, "cpu") ? "+memory +cpu" : "+memory";
	if (dir[strlen("/sys/fs/cgroup")]) {
		char *base = strrchr(dir, '/');
		if (!strcmp(base, "/hedged-agent"))
			*base = '\0';
		char leaf[PATH_MAX + 16], pid[32];
		snprintf(leaf, sizeof(leaf), "%s/hedged-agent", dir);
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if ((mkdir(leaf, 0755) && errno != EEXIST) ||
		    write_text(leaf, "cgroup.procs", pid) ||
		    write_text(dir, "cgroup.subtree_control", want))
			return -1;
	}
	if (make_parent_at(dir, out, len))
		return -1;
	/* The VMs' groups are children of the parent: they need the controllers too. */
	return write_text(out, "cgroup.subtree_control", want);
}

void cgroup_init(void)
{
	char ctrls[256] = "";
	FILE *f = fopen("/sys/fs/cgroup/cgroup.controllers", "r");
	if (f) {
		if (!fgets(ctrls, sizeof(ctrls), f))
			ctrls[0] = '\0';
		fclose(f);
	}
	strcpy(agent.cgroup, "none");
	if (strstr(ctrls, "memory")) {
		if (v2_prepare(ctrls, agent.cgroup_mem, sizeof(agent.cgroup_mem)) == 0)
			strcpy(agent.cgroup, "v2");
	} else if (access("/sys/fs/cgroup/memory/cgroup.procs", W_OK) == 0 &&
	           make_parent("/sys/fs/cgroup/memory", "memory", agent.cgroup_mem,
	                       sizeof(agent.cgroup_mem)) == 0) {
		strcpy(agent.cgroup, "v1");
		if (access("/sys/fs/cgroup/cpu/cgroup.procs", W_OK) ||
		    make_parent("/sys/fs/cgroup/cpu", "cpu", agent.cgroup_cpu,
		                sizeof(agent.cgroup_cpu)))
			agent.cgroup_cpu[0] = '\0';
	}
	if (!strcmp(agent.cgroup, "none")) {
		agent.cgroup_mem[0] = '\0';
		fprintf(stderr, "hedged: no usable cgroup (v2 or v1 memory): VMs run without "
		                "memory and CPU limits\n");
	} else {
		fprintf(stderr, "hedged: VM limits through cgroup %s under %s\n", agent.cgroup,
		        agent.cgroup_mem);
	}
}

int cgroup_attach(const char *name, pid_t pid, uint64_t mem_limit, unsigned cpu_millis)
{
	if (!agent.cgroup_mem[0])
		return -1;
	int v2 = !strcmp(agent.cgroup, "v2");
	char dir[PATH_MAX + 80], num[64];
	int rc = 0;
	snprintf(dir, sizeof(dir), "%s/%s", agent.cgroup_mem, name);
	if (mkdir(dir, 0755) && errno != EEXIST)
		rc = -1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)mem_limit);
	rc |= write_text(dir, v2 ? "memory.max" : "memory.limit_in_bytes", num);
	if (v2 && cpu_millis) {
		/* cpu.max: quota and period in microseconds; 1000 millis = one CPU. */
		snprintf(num, sizeof(num), "%u 100000", cpu_millis * 100);
		rc |= write_text(dir, "cpu.max", num);
	}
	snprintf(num, sizeof(num), "%d", (int)pid);
	rc |= write_text(dir, "cgroup.procs", num);
	if (!v2 && agent.cgroup_cpu[0]) {
		snprintf(dir, sizeof(dir), "%s/%s", agent.cgroup_cpu, name);
		if (mkdir(dir, 0755) && errno != EEXIST)
			rc = -1;
		/* Always written: a group reused from an earlier VM of this name keeps its quota.
		 */
		char quota[32];
		snprintf(quota, sizeof(quota), "%lld",
		         cpu_millis ? (long long)cpu_millis * 100 : -1ll);
		rc |= write_text(dir, "cpu.cfs_period_us", "100000");
		rc |= write_text(dir, "cpu.cfs_quota_us", quota);
		rc |= write_text(dir, "cgroup.procs", num);
	}
	if (rc)
		fprintf(stderr,
		        "hedged: VM %s: cannot set its cgroup limits (%s): runs unlimited\n", name,
		        strerror(errno));
	return rc;
}

void cgroup_remove(const char *name)
{
	char dir[PATH_MAX + 80];
	const char *parents[2] = {agent.cgroup_mem, agent.cgroup_cpu};
	for (int i = 0; i < 2; i++) {
		if (!parents[i][0])
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", parents[i], name);
		if (rmdir(dir) && errno != ENOENT)
			fprintf(stderr, "hedged: VM %s: cannot remove its cgroup %s: %s\n", name,
			        dir, strerror(errno));
	}
}

/* Removes the empty groups under parent (VMs that ended), then parent if it is empty. */
static void sweep(const char *parent)
{
	DIR *d = opendir(parent);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char dir[PATH_MAX + 300];
		if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
		    snprintf(dir, sizeof(dir), "%s/%s", parent, e->d_name) < (int)sizeof(dir))
			rmdir(dir);
	}
	if (d)
		closedir(d);
	rmdir(parent);
}

void cgroup_fini(void)
{
	/* Groups of VMs still running stay, for the next hedged on this state directory. */
	if (agent.cgroup_mem[0])
		sweep(agent.cgroup_mem);
	if (agent.cgroup_cpu[0])
		sweep(agent.cgroup_cpu);
}
