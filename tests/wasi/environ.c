/* environ - environ_sizes_get / environ_get.  Run with these variables (and
 * possibly others):
 *   HEDGE_TEST=1  SPACED="a b  c"  EMPTY=  UNICODE="héllo ✓"  EQUALS="a=b=c" */
#include "check.h"

extern char **environ;

int main(void)
{
	check_init();
	const char *want[][2] = {
	    {"HEDGE_TEST", "1"},    {"SPACED", "a b  c"}, {"EMPTY", ""},
	    {"UNICODE", "héllo ✓"}, {"EQUALS", "a=b=c"},
	};
	const int nwant = sizeof want / sizeof want[0];

	__wasi_size_t count = 0, size = 0;
	CHECK_OK(__wasi_environ_sizes_get(&count, &size));
	check(count >= (__wasi_size_t)nwant, "%u variables, expected at least %d", (unsigned)count,
	      nwant);
	uint8_t **raw = calloc(count + 1, sizeof *raw);
	uint8_t *buf = malloc(size + 1);
	if (!raw || !buf)
		return check_done("environ: out of memory");
	buf[size] = 0x5a;
	CHECK_OK(__wasi_environ_get(raw, buf));
	check(buf[size] == 0x5a, "environ_get wrote nothing past the %u bytes it announced",
	      (unsigned)size);

	size_t total = 0;
	int inside = 1, has_eq = 1;
	for (__wasi_size_t i = 0; i < count; i++) {
		if (raw[i] < buf || raw[i] >= buf + size) {
			inside = 0;
			continue;
		}
		size_t len = strnlen((const char *)raw[i], (size_t)(buf + size - raw[i]));
		total += len + 1;
		const char *eq = strchr((const char *)raw[i], '=');
		if (!eq || eq == (const char *)raw[i])
			has_eq = 0;
	}
	check(inside, "every environ pointer lies inside the buffer");
	check(inside && total == size, "lengths + NULs add up to the buffer size (%zu vs %u)",
	      total, (unsigned)size);
	check(has_eq, "every entry is NAME=VALUE with a non-empty NAME");
	if (!inside)
		return check_done("environ");

	for (int w = 0; w < nwant; w++) {
		size_t nl = strlen(want[w][0]);
		int found = 0;
		for (__wasi_size_t i = 0; i < count; i++) {
			const char *e = (const char *)raw[i];
			if (strncmp(e, want[w][0], nl) == 0 && e[nl] == '=') {
				found++;
				check(strcmp(e + nl + 1, want[w][1]) == 0,
				      "%s is \"%s\" (got \"%s\")", want[w][0], want[w][1],
				      e + nl + 1);
			}
		}
		check(found == 1, "%s appears once (%d times)", want[w][0], found);
		const char *g = getenv(want[w][0]);
		check(g && strcmp(g, want[w][1]) == 0, "getenv(\"%s\") agrees", want[w][0]);
	}
	int n = 0;
	while (environ && environ[n])
		n++;
	check(n == (int)count, "libc's environ has the same %u entries (%d)", (unsigned)count, n);
	check(getenv("HEDGE_NO_SUCH_VARIABLE") == NULL, "an unset variable is absent");
	free(raw);
	free(buf);
	return check_done("environ");
}
