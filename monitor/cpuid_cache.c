/*
 * cpuid_cache.c - KVM's supported CPUID, remembered between runs.
 *
 * KVM_GET_SUPPORTED_CPUID takes about 280 us here, a seventh of a whole
 * boot, and its answer only changes when the kernel or its KVM module does.
 * So the table is kept in a file named after the kernel's boot id (new on
 * every boot) in a directory only the user can write.  The file is just a
 * hint: KVM_SET_CPUID2 still validates every entry, and a file that is short,
 * oversized or not ours is ignored.
 */
#include "cpuid_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_ENTRIES 100u /* every leaf KVM reports on current CPUs */

static size_t table_size(unsigned nent)
{
	return sizeof(struct kvm_cpuid2) + nent * sizeof(struct kvm_cpuid_entry2);
}

/* The cache file's path, or -1 if there is no private directory to keep it in. */
static int cache_path(char *path, size_t len)
{
	char boot_id[64] = "";
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, boot_id, sizeof(boot_id) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	boot_id[strcspn(boot_id, "\n")] = '\0';

	const char *runtime = getenv("XDG_RUNTIME_DIR");
	char dir[256];
	if (runtime && runtime[0] == '/')
		snprintf(dir, sizeof(dir), "%s/hedge", runtime);
	else
		snprintf(dir, sizeof(dir), "/tmp/hedge-%u", (unsigned)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 0022))
		return -1;
	snprintf(path, len, "%s/cpuid-%s", dir, boot_id);
	return 0;
}

static struct kvm_cpuid2 *load(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return NULL;
	struct kvm_cpuid2 *table = calloc(1, table_size(MAX_ENTRIES));
	struct stat st;
	ssize_t n = -1;
	if (table && fstat(fd, &st) == 0 && st.st_uid == getuid())
		n = read(fd, table, table_size(MAX_ENTRIES));
	close(fd);
	if (n < (ssize_t)sizeof(*table) || table->nent == 0 || table->nent > MAX_ENTRIES ||
	    (size_t)n != table_size(table->nent)) {
		free(table);
		return NULL;
	}
	return table;
}

static void save(const char *path, const struct kvm_cpuid2 *table)
{
	char tmp[420];
	snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	size_t size = table_size(table->nent);
	int ok = write(fd, table, size) == (ssize_t)size;
	close(fd);
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

struct kvm_cpuid2 *cpuid_supported(int kvm_fd)
{
	char path[400];
	int cacheable = cache_path(path, sizeof(path)) == 0;
	struct kvm_cpuid2 *table = cacheable ? load(path) : NULL;
	if (table)
		return table;
	table = calloc(1, table_size(MAX_ENTRIES));
	if (!table)
		return NULL;
	table->nent = MAX_ENTRIES;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, table) < 0) {
		free(table);
		return NULL;
	}
	if (cacheable)
		save(path, table);
	return table;
}
