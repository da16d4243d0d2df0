/*
 * build_conf.h - the library directory and its build.conf: how hedge build
 * compiles and links a wasm unikernel.
 */
#ifndef HEDGE_BUILD_CONF_H
#define HEDGE_BUILD_CONF_H

#include <limits.h>
#include <stddef.h>

/*
 * The parts of a split (large) module are compiled with these flags after
 * cflags unless build.conf sets split_cflags: -O1 takes 60% of -O2's time
 * and ran the compute benchmarks within 2% of -O2.
 */
#define SPLIT_CFLAGS_DEFAULT "-O1"

/* build.conf, split into argument lists; every list ends with NULL. */
struct build_conf {
	char libdir[PATH_MAX];
	char **wasm2c;       /* optional key; default "wasm2c" */
	char **split_cflags; /* added to cflags for the parts of a split module; optional */
	char **cc;
	char **cflags;
	char **ldflags;
	char **start;
	char **glue; /* C sources compiled next to the module's generated app.h */
	char **libs;
	char *text; /* the file as read, for the cache key */
	size_t text_len;
};

/*
 * The library directory: $HEDGE_LIBDIR, else <dir of the hedge binary>/lib/hedge,
 * else <dir of the hedge binary>/../lib/hedge (an installed /usr/bin/hedge
 * finds /usr/lib/hedge); the first that holds build.conf, as an absolute path.
 */
int build_find_libdir(char *out, size_t outlen, char *err, size_t errlen);

/*
 * Parses build.conf text: "key=value" lines (keys wasm2c, split_cflags, cc,
 * cflags, ldflags, start, glue, libs), '#' comments and blank lines; values are split on
 * blanks and "{libdir}" in them becomes libdir.  cc, start and libs are
 * required; an unknown or repeated key is an error.
 * Returns 0, or -1 with "line N: ..." in err.
 */
int build_conf_parse(const char *text, const char *libdir, struct build_conf *conf, char *err,
                     size_t errlen);

/* Finds the library directory and parses its build.conf. */
int build_conf_load(struct build_conf *conf, char *err, size_t errlen);
void build_conf_free(struct build_conf *conf);

#endif
