/* args - args_sizes_get / args_get.  Run with exactly these arguments:
 *   args.wasm "" "two words" "ünïcödé ✓ 日本" --flag=1 "$(printf 'tab\there')" LONG
 * where LONG is 1000 'x' characters. */
#include "check.h"

#define LONG_LEN 1000

int main(int argc, char **argv)
{
	check_init();
	static char long_arg[LONG_LEN + 1];
	memset(long_arg, 'x', LONG_LEN);
	const char *want[] = {"", "two words", "ünïcödé ✓ 日本", "--flag=1", "tab\there", long_arg};
	const int nwant = sizeof want / sizeof want[0];

	__wasi_size_t count = 0, size = 0;
	CHECK_OK(__wasi_args_sizes_get(&count, &size));
	check(count == (__wasi_size_t)nwant + 1, "argc is %u, expected %d", (unsigned)count,
	      nwant + 1);
	check(argc == (int)count, "libc's argc %d matches args_sizes_get", argc);

	uint8_t **raw = calloc(count + 1, sizeof *raw);
	uint8_t *buf = malloc(size + 1);
	if (!raw || !buf)
		return check_done("args: out of memory");
	buf[size] = 0x5a; /* sentinel: nothing may be written past the size */
	CHECK_OK(__wasi_args_get(raw, buf));
	check(buf[size] == 0x5a, "args_get wrote nothing past the %u bytes it announced",
	      (unsigned)size);

	size_t total = 0;
	int inside = 1, terminated = 1;
	for (__wasi_size_t i = 0; i < count; i++) {
		if (raw[i] < buf || raw[i] >= buf + size) {
			inside = 0;
			continue;
		}
		size_t room = (size_t)(buf + size - raw[i]);
		size_t len = strnlen((const char *)raw[i], room);
		if (len == room)
			terminated = 0;
		total += len + 1;
	}
	check(inside, "every argv pointer lies inside the argv buffer");
	check(terminated, "every argument is NUL-terminated inside the buffer");
	check(inside && total == size,
	      "argument lengths + NULs add up to the buffer size (%zu vs %u)", total,
	      (unsigned)size);
	if (!inside)
		return check_done("args");

	check(count > 0 && raw[0] != NULL, "argv[0] is present: \"%s\"",
	      count ? (char *)raw[0] : "");
	for (int i = 0; i < nwant && i + 1 < (int)count; i++) {
		const char *got = (const char *)raw[i + 1];
		int same = strcmp(got, want[i]) == 0;
		if (strlen(want[i]) > 40)
			check(same, "argv[%d] is the %zu-byte argument (got %zu bytes)", i + 1,
			      strlen(want[i]), strlen(got));
		else
			check(same, "argv[%d] is \"%s\" (got \"%s\")", i + 1, want[i], got);
		check(strcmp(argv[i + 1], got) == 0, "libc's argv[%d] matches args_get", i + 1);
	}
	check(argv[argc] == NULL, "libc's argv[argc] is NULL");

	/* UTF-8 passes through byte for byte. */
	if (count > 3) {
		const unsigned char *u = raw[3];
		check(u[0] == 0xc3 && u[1] == 0xbc && strlen((const char *)u) == strlen(want[2]),
		      "UTF-8 bytes pass through unchanged");
	}
	free(raw);
	free(buf);
	return check_done("args");
}
