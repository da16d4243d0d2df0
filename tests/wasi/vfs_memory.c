/* vfs_memory - WASI calls given hostile pointers and lengths.
 *
 * Every address and length a call takes is aimed past the end of linear
 * memory, or made to wrap around 4 GiB; each call must fail with EFAULT
 * and change nothing (the VM must not crash).  A read whose buffer covers
 * its own iovec list must not follow the entries it overwrote out of
 * memory.  Results written to odd addresses must come out intact. */
#include "check.h"

#define D "vfs_memory.d"

static __wasi_fd_t root;
static uintptr_t mem_end;

/* wasi-libc's wrappers take C strings; these take the length the ABI really has. */
#define WASI_IMPORT(name) \
	__attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))
int32_t raw_path_open(int32_t fd, int32_t dirflags, int32_t path, int32_t path_len, int32_t oflags,
                      int64_t base, int64_t inheriting, int32_t fdflags, int32_t fd_out)
    WASI_IMPORT("path_open");
int32_t raw_path_create_directory(int32_t fd, int32_t path, int32_t path_len)
    WASI_IMPORT("path_create_directory");
int32_t raw_path_symlink(int32_t target, int32_t target_len, int32_t fd, int32_t path,
                         int32_t path_len) WASI_IMPORT("path_symlink");

/* An address n bytes before the end of linear memory. */
static void *near_end(size_t n)
{
	return (void *)(mem_end - n);
}

static void bad_pointers(void)
{
	__wasi_fd_t fd;
	if (!CHECK_OK(open_at(root, D "/f", __WASI_OFLAGS_CREAT, RIGHTS_RW, 0, &fd)))
		return;
	__wasi_size_t n;
	__wasi_ciovec_t ok_iov = {(const uint8_t *)"data", 4};

	/* The iovec list itself half outside memory. */
	CHECK_ERR(__wasi_fd_write(fd, (const __wasi_ciovec_t *)near_end(4), 1, &n),
	          __WASI_ERRNO_FAULT);
	/* So many iovecs that the list wraps past 4 GiB. */
	CHECK_ERR(__wasi_fd_write(fd, &ok_iov, 0x20000001, &n), __WASI_ERRNO_FAULT);
	/* A buffer that runs off the end, after a good one: nothing may be written. */
	__wasi_ciovec_t two[2] = {ok_iov, {(const uint8_t *)near_end(2), 3}};
	CHECK_ERR(__wasi_fd_write(fd, two, 2, &n), __WASI_ERRNO_FAULT);
	__wasi_filestat_t st;
	check(__wasi_fd_filestat_get(fd, &st) == 0 && st.size == 0,
	      "a write with one bad buffer wrote nothing (size %llu)", (unsigned long long)st.size);
	/* A length so large that pointer + length wraps around. */
	__wasi_ciovec_t wrap = {(const uint8_t *)16, 0xfffffff8u};
	CHECK_ERR(__wasi_fd_write(fd, &wrap, 1, &n), __WASI_ERRNO_FAULT);
	/* Result pointers out of memory. */
	CHECK_ERR(__wasi_fd_write(fd, &ok_iov, 1, (__wasi_size_t *)near_end(2)),
	          __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_fd_filestat_get(fd, (__wasi_filestat_t *)near_end(8)), __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_fd_fdstat_get(fd, (__wasi_fdstat_t *)near_end(8)), __WASI_ERRNO_FAULT);
	__wasi_filesize_t *bad_pos = (__wasi_filesize_t *)near_end(4);
	CHECK_ERR(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, bad_pos), __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_fd_tell(fd, bad_pos), __WASI_ERRNO_FAULT);
	CHECK_ERR(
	    __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, (__wasi_timestamp_t *)near_end(4)),
	    __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_random_get((uint8_t *)near_end(10), 11), __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_args_sizes_get((__wasi_size_t *)near_end(2), &n), __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_args_get((uint8_t **)near_end(2), (uint8_t *)near_end(2)),
	          __WASI_ERRNO_FAULT);
	__wasi_size_t env_count = 0, env_size = 0;
	(void)__wasi_environ_sizes_get(&env_count, &env_size);
	if (env_count) /* with no variables there is nothing to write, and no fault */
		CHECK_ERR(__wasi_environ_get((uint8_t **)near_end(2), (uint8_t *)near_end(2)),
		          __WASI_ERRNO_FAULT);

	/* Paths: out of memory, wrapping, and the result pointer of path_open. */
	__wasi_fd_t out;
	int32_t end = (int32_t)mem_end;
	CHECK_ERR(raw_path_open(root, 0, end - 3, 4, 0, 0, 0, 0, (int32_t)(uintptr_t)&out),
	          __WASI_ERRNO_FAULT);
	CHECK_ERR(raw_path_open(root, 0, 16, -8, 0, 0, 0, 0, (int32_t)(uintptr_t)&out),
	          __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_path_open(root, 0, D "/f", 0, RIGHTS_RO, 0, 0, (__wasi_fd_t *)near_end(1)),
	          __WASI_ERRNO_FAULT);
	CHECK_ERR(raw_path_create_directory(root, end - 1, 2), __WASI_ERRNO_FAULT);
	CHECK_ERR(raw_path_symlink(end - 1, 5, root, (int32_t)(uintptr_t)D "/s", 6),
	          __WASI_ERRNO_FAULT);
	__wasi_filestat_t none;
	CHECK_ERR(__wasi_path_filestat_get(root, 0, D "/s", &none), __WASI_ERRNO_NOENT);
	CHECK_ERR(__wasi_path_filestat_get(root, 0, D "/f", (__wasi_filestat_t *)near_end(63)),
	          __WASI_ERRNO_FAULT);
	uint8_t small[4];
	CHECK_ERR(
	    __wasi_path_readlink(root, D "/f", small, sizeof small, (__wasi_size_t *)near_end(3)),
	    __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_fd_readdir(root, (uint8_t *)near_end(8), 64, 0, &n), __WASI_ERRNO_FAULT);
	__wasi_prestat_t *bad_prestat = (__wasi_prestat_t *)near_end(4);
	CHECK_ERR(__wasi_fd_prestat_get(root, bad_prestat), __WASI_ERRNO_FAULT);
	CHECK_ERR(__wasi_fd_prestat_dir_name(root, (uint8_t *)near_end(2), 64), __WASI_ERRNO_FAULT);

	/* poll_oneoff with its subscriptions off the end. */
	__wasi_event_t ev;
	CHECK_ERR(__wasi_poll_oneoff((const __wasi_subscription_t *)near_end(40), &ev, 1, &n),
	          __WASI_ERRNO_FAULT);
	(void)__wasi_fd_close(fd);
}

/* fd_read into a buffer that overlaps its own iovec list. */
static void read_over_own_iovecs(void)
{
	/* The file holds what will land on iov[1]: an address at the end of memory. */
	struct {
		uint32_t buf, len;
	} evil[2] = {{0, 16}, {(uint32_t)(mem_end - 8), 0x1000}};
	__wasi_fd_t fd;
	if (!CHECK_OK(open_at(root, D "/evil", __WASI_OFLAGS_CREAT | __WASI_OFLAGS_TRUNC, RIGHTS_RW,
	                      0, &fd)))
		return;
	__wasi_ciovec_t wiov = {(const uint8_t *)evil, sizeof evil};
	__wasi_size_t n;
	CHECK_OK(__wasi_fd_pwrite(fd, &wiov, 1, 0, &n));
	/* Make the file long enough that a second iovec would be filled too. */
	static uint8_t filler[0x2000];
	wiov = (__wasi_ciovec_t){filler, sizeof filler};
	CHECK_OK(__wasi_fd_pwrite(fd, &wiov, 1, 16, &n));

	static __wasi_iovec_t iovs[2];
	evil[0].buf = (uint32_t)(uintptr_t)iovs;
	CHECK_OK(__wasi_fd_pwrite(fd, &(__wasi_ciovec_t){(const uint8_t *)evil, 8}, 1, 0, &n));
	iovs[0].buf = (uint8_t *)iovs; /* reading 16 bytes rewrites both entries */
	iovs[0].buf_len = 16;
	iovs[1].buf = filler;
	iovs[1].buf_len = 16;
	__wasi_errno_t e = __wasi_fd_read(fd, iovs, 2, &n);
	check(
	    e == 0 && n == 16,
	    "a read that rewrites its own iovec list stops at the entry it spoiled (%s, %u bytes)",
	    errno_name(e), (unsigned)n);
	(void)__wasi_fd_close(fd);
	CHECK_OK(__wasi_path_unlink_file(root, D "/evil"));
}

/* Results at odd addresses, and poll's events on top of its subscriptions. */
static void unaligned_and_overlapping(void)
{
	static uint8_t raw[200];
	__wasi_filestat_t ref, odd;
	CHECK_OK(__wasi_path_filestat_get(root, 0, "hello.txt", &ref));
	CHECK_OK(__wasi_path_filestat_get(root, 0, "hello.txt", (__wasi_filestat_t *)(raw + 1)));
	memcpy(&odd, raw + 1, sizeof odd);
	check(odd.size == ref.size && odd.ino == ref.ino && odd.mtim == ref.mtim,
	      "a filestat written at an odd address is intact");
	__wasi_timestamp_t t;
	CHECK_OK(
	    __wasi_clock_time_get(__WASI_CLOCKID_MONOTONIC, 1, (__wasi_timestamp_t *)(raw + 3)));
	memcpy(&t, raw + 3, sizeof t);
	check(t > 0, "a timestamp at an odd address");

	/* Two subscriptions, the events written over them. */
	static __wasi_subscription_t subs[2];
	subs[0].userdata = 0x1111;
	subs[0].u.tag = __WASI_EVENTTYPE_CLOCK;
	subs[0].u.u.clock.id = __WASI_CLOCKID_MONOTONIC;
	subs[0].u.u.clock.timeout = 1000;
	subs[1].userdata = 0x2222;
	subs[1].u.tag = __WASI_EVENTTYPE_FD_WRITE;
	subs[1].u.u.fd_write.file_descriptor = 1;
	__wasi_size_t n;
	__wasi_event_t *events = (__wasi_event_t *)subs;
	CHECK_OK(__wasi_poll_oneoff(subs, events, 2, &n));
	int found_stdout = 0;
	for (__wasi_size_t i = 0; i < n; i++)
		found_stdout |= events[i].userdata == 0x2222 && events[i].error == 0 &&
		                events[i].type == __WASI_EVENTTYPE_FD_WRITE;
	check(n >= 1 && found_stdout,
	      "events written over their subscriptions are right (%u events)", (unsigned)n);
}

int main(void)
{
	check_init();
	mem_end = __builtin_wasm_memory_size(0) * 65536;
	root = sandbox_fd();
	(void)__wasi_path_create_directory(root, D);
	bad_pointers();
	read_over_own_iovecs();
	unaligned_and_overlapping();
	(void)__wasi_path_unlink_file(root, D "/f");
	CHECK_OK(__wasi_path_remove_directory(root, D));
	return check_done("vfs_memory");
}
