/*
 * boot.c - from the monitor's handover to main() and back out.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hedge.h"
#include "runtime.h"

extern int main(int argc, char **argv);

const struct hedge_boot_info *boot_info;
static int argc_value;
static char **argv_value;
static char **environ_value;

int hedge_argc(void)
{
	return argc_value;
}

char **hedge_argv(void)
{
	return argv_value;
}

char **hedge_environ(void)
{
	return environ_value;
}

uint64_t hedge_mem_size(void)
{
	return boot_info->mem_size;
}

/* Written by hedge build --dir into the image; absent otherwise. */
extern const struct hedge_fs_image __hedge_embedded_fs[] __attribute__((weak));
extern const size_t __hedge_embedded_fs_count __attribute__((weak));

size_t hedge_fs_images(struct hedge_fs_image *out, size_t max)
{
	size_t embedded = &__hedge_embedded_fs_count ? __hedge_embedded_fs_count : 0;
	size_t n = 0;
	for (size_t i = 0; i < embedded; i++, n++)
		if (n < max)
			out[n] = __hedge_embedded_fs[i];
	const struct hedge_fs_entry *loaded =
	    (const struct hedge_fs_entry *)(uintptr_t)boot_info->fs_table;
	for (uint32_t i = 0; i < boot_info->fs_count; i++, n++)
		if (n < max)
			out[n] = (struct hedge_fs_image){
			    .guest_path = (const char *)(uintptr_t)loaded[i].path,
			    .tar = (const void *)(uintptr_t)loaded[i].tar,
			    .size = loaded[i].tar_size,
			};
	return n;
}

char *getenv(const char *name)
{
	size_t len = strlen(name);
	for (char **e = environ_value; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

/* Builds a NULL-terminated vector over n consecutive NUL-terminated strings. */
static char **string_vector(char **cursor, const char *end, uint32_t n)
{
	char **vec = calloc((size_t)n + 1, sizeof(char *));
	if (!vec)
		hedge_abort("out of memory for the argument vector");
	for (uint32_t i = 0; i < n; i++) {
		size_t room = (size_t)(end - *cursor);
		size_t len = strnlen(*cursor, room);
		if (len == room)
			hedge_abort("malformed boot arguments");
		vec[i] = *cursor;
		*cursor += len + 1;
	}
	return vec;
}

_Noreturn void hedge_boot(const struct hedge_boot_info *info)
{
	boot_info = info;
	if (info->magic != HEDGE_BOOT_MAGIC || info->abi_version != HEDGE_ABI_VERSION)
		hedge_abort("boot info has ABI version %u, this runtime needs %u",
		            info->abi_version, HEDGE_ABI_VERSION);
	cpu_init();
	mm_init();
	clock_init();

	char *cursor = (char *)(uintptr_t)info->args;
	const char *end = cursor + info->args_size;
	argc_value = (int)info->argc;
	argv_value = string_vector(&cursor, end, info->argc);
	environ_value = string_vector(&cursor, end, info->envc);
	exit(main(argc_value, argv_value));
}
