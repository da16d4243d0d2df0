/*
 * build.h - hedge build: a WebAssembly module to a bootable unikernel image.
 *
 * The pipeline checks the module, turns it into C with wasm2c, compiles it
 * with the compiler and flags named in build.conf, optionally embeds
 * directories as tar archives and a default memory size, and links it with
 * the guest runtime.  The output appears whole or not at all.
 */
#ifndef HEDGE_BUILD_H
#define HEDGE_BUILD_H

/* Guest memory an image records when hedge build is not given --mem. */
#define BUILD_DEFAULT_MEM (256ull << 20)

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "build_conf.h"

/* Exit statuses of hedge build (and of cache_image_for_wasm). */
enum build_status {
	BUILD_OK = 0,
	BUILD_INVALID = 2,     /* not a file, not a valid module, a bad --dir */
	BUILD_UNSUPPORTED = 3, /* imports hedge does not provide, no _start, ... */
	BUILD_USAGE = 64,      /* bad command line */
	BUILD_TOOLCHAIN = 70,  /* wasm2c or cc missing or failing, I/O errors */
};

/* One --dir: a host directory and where the guest sees it. */
struct build_dir {
	char *host;
	char *guest;
};

/*
 * Parses "HOST[::GUEST]" (wasmtime's syntax): GUEST defaults to HOST as given.
 * Returns 0 with malloc'd strings (free with build_dir_free), or -1 and err.
 */
int build_dir_parse(const char *spec, struct build_dir *dir, char *err, size_t errlen);
void build_dir_free(struct build_dir *dir);

struct build_options {
	const char *wasm_path;
	const char *output_path;
	const struct build_dir *dirs;
	size_t dir_count;
	uint64_t mem_bytes; /* default guest memory recorded in .hedge_config; 0 = none */
	int quiet;          /* no progress on stderr */
	int keep_temps;     /* leave the temporary directory for debugging */
	/* Optional: the module's bytes already read (the cache hashes exactly these). */
	const uint8_t *wasm_data;
	size_t wasm_len;
	/* Optional: an already loaded build.conf. */
	const struct build_conf *conf;
};

struct build_result {
	char sha256[65]; /* of the image */
	uint64_t wasm_bytes;
	uint64_t c_bytes;
	uint64_t archive_bytes;
	uint64_t image_bytes;
	size_t parts; /* the module's C was compiled in this many parts (1: not split) */
	double seconds_archive;
	double seconds_wasm2c;
	double seconds_compile;
	double seconds_link;
	char temp_dir[PATH_MAX]; /* set when keep_temps left it behind */
};

/*
 * Builds the image.  Returns an enum build_status with a one-line reason
 * in err (without a "hedge build:" prefix), or 128 + signal if the build was
 * interrupted.  The output file is replaced atomically; on failure it is
 * left as it was.
 */
int build_image(const struct build_options *opt, struct build_result *res, char *err,
                size_t errlen);

/*
 * Reads a module file: BUILD_INVALID if it is missing, not a regular file or
 * empty, else 0 with a malloc'd copy.
 */
int build_read_wasm(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen);

/*
 * Parses and checks a module: 0, BUILD_INVALID (malformed) or
 * BUILD_UNSUPPORTED (hedge cannot run it), with err starting "display: ".
 */
int build_check_module(const uint8_t *data, size_t len, const char *display, char *err,
                       size_t errlen);

#endif
