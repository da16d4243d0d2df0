/*
 * cmd_build.c - `hedge build`: a WebAssembly module to a unikernel image.
 *
 * Options may come before or after the module, as with `cc` and
 * `docker build`; the work itself is toolchain/build.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "build.h"
#include "cache.h"
#include "cli.h"

#define MIN_MEM (2ull << 20)

static void build_usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: hedge build [OPTIONS] MODULE.wasm\n"
	    "       hedge build --cache [-q] MODULE.wasm\n"
	    "\n"
	    "Compile a WebAssembly (WASI command) module ahead of time into an x86_64\n"
	    "unikernel image for 'hedge run': wasm2c turns it into C, the C compiler named\n"
	    "in build.conf compiles it, and it is linked with the guest runtime.\n"
	    "\n"
	    "Options:\n"
	    "  -o, --output FILE        Image to write (default: MODULE with .wasm\n"
	    "                           replaced by .hvt)\n"
	    "  -d, --dir HOST[::GUEST]  Embed directory HOST as a tar archive; the guest\n"
	    "                           sees it at GUEST (default: HOST as given; may be /).\n"
	    "                           Repeatable\n"
	    "  -m, --mem SIZE           Default guest memory recorded in the image, e.g. 64M\n"
	    "                           (rounded up to 2M; 16G at most)\n"
	    "      --json               Print a JSON summary on stdout\n"
	    "  -q, --quiet              Print no progress on stderr\n"
	    "      --keep-temps         Keep the temporary directory (C source, objects, logs)\n"
	    "      --cache              Build into the image cache that 'hedge run MODULE.wasm'\n"
	    "                           uses (if it is not there yet) and print the image path\n"
	    "  -h, --help               Show this help\n"
	    "\n"
	    "Environment:\n"
	    "  HEDGE_LIBDIR   guest runtime and build.conf (default: lib/hedge next to the\n"
	    "                 hedge binary, or ../lib/hedge)\n"
	    "  HEDGE_CACHE_DIR  the image cache (default: $XDG_CACHE_HOME/hedge, else\n"
	    "                 ~/.cache/hedge)\n"
	    "  HEDGE_BUILD_PARTS  split the generated C into N parts (1: never split;\n"
	    "                 default: 4 per CPU for C of 1 MiB or more)\n"
	    "  HEDGE_BUILD_JOBS   compilers run at once (default: the number of CPUs)\n"
	    "  TMPDIR         where the temporary directory is made\n"
	    "\n"
	    "Exit status:\n"
	    "    0  image written\n"
	    "    2  bad input: module missing, not a regular file or not valid WebAssembly;\n"
	    "       a --dir that is not a directory or cannot be archived\n"
	    "    3  hedge cannot run the module: imports it does not provide (or of the\n"
	    "       wrong type), imported memory/table/global, no _start, memory not exported\n"
	    "   64  bad command line\n"
	    "   70  toolchain or host failure: wasm2c or the compiler missing or failing,\n"
	    "       no build.conf, output not writable\n"
	    "  130  interrupted (128 + the signal)\n");
}

static int usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "hedge build: %s%s%s (see 'hedge build --help')\n", msg, arg ? ": " : "",
	        arg ? arg : "");
	return BUILD_USAGE;
}

/* Writes s as a JSON string. */
static void json_string(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c < 0x20)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);
	}
	fputc('"', out);
}

static void print_json(const char *image, const struct build_result *r, uint64_t mem_bytes)
{
	printf("{\"image\":");
	json_string(stdout, image);
	printf(",\"sha256\":\"%s\",\"wasm_bytes\":%llu,\"c_bytes\":%llu,\"archive_bytes\":%llu,"
	       "\"image_bytes\":%llu,\"mem_bytes\":%llu,\"seconds\":{\"archive\":%.3f,"
	       "\"wasm2c\":%.3f,\"compile\":%.3f,\"link\":%.3f}}\n",
	       r->sha256, (unsigned long long)r->wasm_bytes, (unsigned long long)r->c_bytes,
	       (unsigned long long)r->archive_bytes, (unsigned long long)r->image_bytes,
	       (unsigned long long)mem_bytes, r->seconds_archive, r->seconds_wasm2c,
	       r->seconds_compile, r->seconds_link);
}

/* MODULE.wasm -> MODULE.hvt; any other name gets .hvt appended. */
static char *default_output(const char *input)
{
	size_t len = strlen(input);
	size_t stem = len;
	if (len > 5 && strcmp(input + len - 5, ".wasm") == 0)
		stem = len - 5;
	char *out = malloc(stem + 5);
	if (out) {
		memcpy(out, input, stem);
		memcpy(out + stem, ".hvt", 5);
	}
	return out;
}

/* The output's directory must exist and the output must not be a directory. */
static int check_output(const char *output, const char *input)
{
	struct stat out_st, in_st;
	if (stat(output, &out_st) == 0) {
		if (S_ISDIR(out_st.st_mode))
			return usage_error("output is a directory", output);
		/* The image is renamed into place: that must not replace a device or FIFO. */
		if (!S_ISREG(out_st.st_mode))
			return usage_error("output exists and is not a regular file", output);
		if (stat(input, &in_st) == 0 && in_st.st_dev == out_st.st_dev &&
		    in_st.st_ino == out_st.st_ino)
			return usage_error("output would overwrite the module", output);
	}
	const char *slash = strrchr(output, '/');
	if (!slash)
		return 0;
	if (slash[1] == '\0')
		return usage_error("output names a directory", output);
	char *dir = strndup(output, slash == output ? 1 : (size_t)(slash - output));
	int ok = dir && stat(dir, &out_st) == 0 && S_ISDIR(out_st.st_mode);
	free(dir);
	return ok ? 0 : usage_error("output directory does not exist", output);
}

struct build_args {
	const char *input;
	const char *output;
	struct build_dir *dirs;
	size_t dir_count;
	uint64_t mem_bytes;
	int json;
	int quiet;
	int keep_temps;
	int cache;
};

/* Returns -1 to go on, or the exit status to end with. */
static int parse_args(int argc, char **argv, struct build_args *a)
{
	int options_done = 0;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
			if (a->input)
				return usage_error("more than one module given", arg);
			a->input = arg;
			continue;
		}
		if (strcmp(arg, "--") == 0) {
			options_done = 1;
			continue;
		}
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			build_usage(stdout);
			return 0;
		}
		if (strcmp(arg, "--json") == 0) {
			a->json = 1;
			continue;
		}
		if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
			a->quiet = 1;
			continue;
		}
		if (strcmp(arg, "--keep-temps") == 0) {
			a->keep_temps = 1;
			continue;
		}
		if (strcmp(arg, "--cache") == 0) {
			a->cache = 1;
			continue;
		}
		/* Options with a value: "--opt VALUE", "--opt=VALUE", "-o VALUE". */
		const char *eq = arg[1] == '-' ? strchr(arg, '=') : NULL;
		size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
		char name[32];
		if (name_len >= sizeof(name))
			return usage_error("unknown option", arg);
		memcpy(name, arg, name_len);
		name[name_len] = '\0';
		int is_output = !strcmp(name, "-o") || !strcmp(name, "--output");
		int is_dir = !strcmp(name, "-d") || !strcmp(name, "--dir");
		int is_mem = !strcmp(name, "-m") || !strcmp(name, "--mem");
		if (!is_output && !is_dir && !is_mem)
			return usage_error("unknown option", arg);
		const char *val;
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		else
			return usage_error("option needs a value", arg);
		if (is_output) {
			if (!*val)
				return usage_error("empty output name", arg);
			a->output = val;
		} else if (is_mem) {
			const uint64_t two_mib = 2ull << 20;
			if (parse_size(val, &a->mem_bytes))
				return usage_error("bad memory size", val);
			if (a->mem_bytes > 16ull << 30)
				return usage_error("--mem is larger than the 16G maximum", val);
			if (a->mem_bytes < MIN_MEM)
				a->mem_bytes = MIN_MEM;
			a->mem_bytes = (a->mem_bytes + two_mib - 1) & ~(two_mib - 1);
		} else {
			char why[256];
			struct build_dir *grown =
			    realloc(a->dirs, (a->dir_count + 1) * sizeof(*a->dirs));
			if (!grown)
				return usage_error("out of memory", NULL);
			a->dirs = grown;
			if (build_dir_parse(val, &a->dirs[a->dir_count], why, sizeof(why)))
				return usage_error(why, NULL);
			a->dir_count++;
		}
	}
	if (!a->input)
		return usage_error("missing MODULE.wasm", NULL);
	if (a->cache && (a->output || a->dir_count || a->mem_bytes || a->keep_temps || a->json))
		return usage_error("--cache takes no -o, --dir, --mem, --keep-temps or --json",
		                   NULL);
	return -1;
}

/* hedge build --cache: what `hedge run app.wasm` does before it boots. */
static int build_into_cache(const struct build_args *a)
{
	char image[4096], err[8192];
	int status =
	    cache_image_for_wasm(a->input, image, sizeof(image), a->quiet, err, sizeof(err));
	if (status != 0)
		fprintf(stderr, "hedge build: %s\n", err);
	else
		printf("%s\n", image);
	return status;
}

int cmd_build(int argc, char **argv)
{
	struct build_args a;
	memset(&a, 0, sizeof(a));
	int status = parse_args(argc, argv, &a);
	char *default_out = NULL;
	if (status < 0 && a.cache)
		status = build_into_cache(&a);
	if (status < 0 && !a.output) {
		default_out = default_output(a.input);
		a.output = default_out;
		if (!a.output)
			status = usage_error("out of memory", NULL);
	}
	if (status < 0)
		status = check_output(a.output, a.input) ? BUILD_USAGE : -1;
	if (status < 0) {
		struct build_options opt = {.wasm_path = a.input,
		                            .output_path = a.output,
		                            .dirs = a.dirs,
		                            .dir_count = a.dir_count,
		                            .mem_bytes = a.mem_bytes,
		                            .quiet = a.quiet,
		                            .keep_temps = a.keep_temps};
		struct build_result res;
		char err[8192];
		status = build_image(&opt, &res, err, sizeof(err));
		if (res.temp_dir[0])
			fprintf(stderr, "hedge build: temporary files kept in %s\n", res.temp_dir);
		if (status != 0) {
			fprintf(stderr, "hedge build: %s\n", err);
		} else {
			if (a.json)
				print_json(a.output, &res, a.mem_bytes);
			if (!a.quiet)
				fprintf(stderr, "built %s (%.1f MiB) in %.2f s\n", a.output,
				        (double)res.image_bytes / (1024 * 1024),
				        res.seconds_archive + res.seconds_wasm2c +
				            res.seconds_compile + res.seconds_link);
		}
	}
	for (size_t i = 0; i < a.dir_count; i++)
		build_dir_free(&a.dirs[i]);
	free(a.dirs);
	free(default_out);
	return status;
}
