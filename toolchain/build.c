/*
 * build.c - the hedge build pipeline: check, wasm2c, cc, embed, link.
 *
 * Every step runs a real tool (no shell) on files in a private temporary
 * directory; what the tool printed is boiled down to the one line that
 * explains a failure.  The image is linked to a hidden temporary name next
 * to the output and renamed into place, so an interrupted or failed build
 * never leaves a half-written image behind.
 */
#include "build.h"
#include "errmsg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "imports.h"
#include "sha256.h"
#include "subprocess.h"
#include "tar_write.h"
#include "wasm2c_split.h"
#include "wasm_module.h"

#define MAX_WASM_BYTES       (1ull << 30)
#define MAX_ERROR_SYMBOLS    4
/*
 * Below this much C one compiler run takes a few seconds, and a split
 * would cost the parts' inlining across them for little gain.
 */
#define SPLIT_MIN_C_BYTES    (1u << 20)
#define SPLIT_MIN_PART_BYTES (256u << 10)
#define PARTS_PER_JOB        4

/* ---- small helpers ---- */

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "812 B", "12.3 KiB", "1.2 MiB" */
static void human_size(uint64_t bytes, char *out, size_t outlen)
{
	if (bytes < 1024)
		snprintf(out, outlen, "%llu B", (unsigned long long)bytes);
	else if (bytes < 1024 * 1024)
		snprintf(out, outlen, "%.1f KiB", (double)bytes / 1024);
	else
		snprintf(out, outlen, "%.1f MiB", (double)bytes / (1024 * 1024));
}

/* A user-supplied path for a one-line message: control bytes become \xNN. */
static void printable(const char *text, char *out, size_t outlen)
{
	wasm_name_format(text, (uint32_t)strnlen(text, 4096), out, outlen);
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	const uint8_t *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;
			close(fd);
			errno = e;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return close(fd);
}

static char *read_text(const char *path, size_t *len);

/* ---- --dir HOST[::GUEST] ---- */

int build_dir_parse(const char *spec, struct build_dir *dir, char *err, size_t errlen)
{
	memset(dir, 0, sizeof(*dir));
	const char *sep = strstr(spec, "::");
	size_t host_len = sep ? (size_t)(sep - spec) : strlen(spec);
	const char *guest = sep ? sep + 2 : spec;
	if (host_len == 0)
		return set_err(err, errlen, "--dir needs a host directory: '%s'", spec);
	if (*guest == '\0')
		return set_err(err, errlen, "--dir has an empty guest path: '%s'", spec);
	dir->host = strndup(spec, host_len);
	dir->guest = strdup(guest);
	if (!dir->host || !dir->guest) {
		build_dir_free(dir);
		return set_err(err, errlen, "out of memory");
	}
	return 0;
}

void build_dir_free(struct build_dir *dir)
{
	free(dir->host);
	free(dir->guest);
	dir->host = dir->guest = NULL;
}

/* ---- reading and checking the module ---- */

int build_read_wasm(const char *path, uint8_t **data, size_t *len, char *err, size_t errlen)
{
	char shown[512];
	printable(path, shown, sizeof(shown));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		set_err(err, errlen, "%s: %s", shown, strerror(errno));
		return BUILD_INVALID;
	}
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		set_err(err, errlen, "%s: not a regular file", shown);
		return BUILD_INVALID;
	}
	if (st.st_size == 0 || (uint64_t)st.st_size > MAX_WASM_BYTES) {
		close(fd);
		set_err(err, errlen, st.st_size ? "%s: larger than 1 GiB" : "%s: empty file",
		        shown);
		return BUILD_INVALID;
	}
	size_t size = (size_t)st.st_size, got = 0;
	uint8_t *buf = malloc(size);
	if (!buf) {
		close(fd);
		set_err(err, errlen, "%s: out of memory", shown);
		return BUILD_TOOLCHAIN;
	}
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (got != size) {
		free(buf);
		set_err(err, errlen, "%s: short read (file changed?)", shown);
		return BUILD_INVALID;
	}
	*data = buf;
	*len = size;
	return 0;
}

int build_check_module(const uint8_t *data, size_t len, const char *display, char *err,
                       size_t errlen)
{
	struct wasm_module mod;
	char why[512];
	if (wasm_module_parse(data, len, &mod, why, sizeof(why))) {
		set_err(err, errlen, "%s: %s", display, why);
		return BUILD_INVALID;
	}
	int rc = check_module_imports(&mod, display, err, errlen) ? BUILD_UNSUPPORTED : 0;
	wasm_module_free(&mod);
	return rc;
}

/* ---- turning tool output into one line ---- */

/* Removes every "<tmpdir>/" from line, so messages name app.c, not /tmp/hedge-build.x/app.c. */
static void strip_temp_dir(char *line, const char *tmpdir)
{
	char prefix[PATH_MAX + 1];
	snprintf(prefix, sizeof(prefix), "%s/", tmpdir);
	size_t plen = strlen(prefix);
	char *hit;
	while ((hit = strstr(line, prefix)) != NULL)
		memmove(hit, hit + plen, strlen(hit + plen) + 1);
}

static void copy_line(const char *start, char *out, size_t outlen)
{
	size_t len = strcspn(start, "\n");
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, start, len);
	out[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)out[i] < 0x20)
			out[i] = ' ';
}

/*
 * Undefined symbols from a failed link, as "N undefined symbols: a, b, c, ...";
 * 0 if the output names none.
 */
static int undefined_symbols(const char *output, char *out, size_t outlen)
{
	static const char marker[] = "undefined reference to `";
	char names[MAX_ERROR_SYMBOLS][128];
	int unique = 0, shown = 0;
	for (const char *p = strstr(output, marker); p; p = strstr(p + 1, marker)) {
		const char *name = p + sizeof(marker) - 1;
		size_t len = strcspn(name, "'\n");
		char sym[128];
		snprintf(sym, sizeof(sym), "%.*s", (int)(len < 127 ? len : 127), name);
		int seen = 0;
		for (int i = 0; i < shown; i++)
			seen |= strcmp(names[i], sym) == 0;
		/* Beyond the names kept, count repeats by looking back in the output. */
		if (!seen && shown == MAX_ERROR_SYMBOLS) {
			char needle[160];
			snprintf(needle, sizeof(needle), "%s%s'", marker, sym);
			const char *first = strstr(output, needle);
			seen = first && first < p;
		}
		if (seen)
			continue;
		if (shown < MAX_ERROR_SYMBOLS)
			snprintf(names[shown++], sizeof(names[0]), "%s", sym);
		unique++;
	}
	if (!unique)
		return 0;
	size_t used = (size_t)snprintf(out, outlen, "%d undefined symbol%s: ", unique,
	                               unique == 1 ? "" : "s");
	for (int i = 0; i < shown && used < outlen; i++)
		used +=
		    (size_t)snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", names[i]);
	if (unique > shown && used < outlen)
		snprintf(out + used, outlen - used, ", ...");
	return unique;
}

/* The first line of a tool's output that explains its failure. */
static void tool_error_line(const char *output, char *out, size_t outlen)
{
	static const char *const markers[] = {"error:", "Error:", "No such file", "cannot find"};
	const char *best = NULL;
	for (const char *line = output; *line && !best;) {
		size_t len = strcspn(line, "\n");
		for (size_t m = 0; m < sizeof(markers) / sizeof(markers[0]); m++)
			if (memmem(line, len, markers[m], strlen(markers[m])))
				best = line;
		line += len;
		if (*line)
			line++;
	}
	if (!best) /* else the first line that says anything */
		for (best = output; *best == '\n' || *best == ' '; best++)
			;
	copy_line(best, out, outlen);
	/* "/usr/bin/ld: x" names the tool, not the problem. */
	if (strncmp(out, "/usr/bin/ld: ", 13) == 0)
		memmove(out, out + 13, strlen(out + 13) + 1);
}

/*
 * A failure of a tool run, as status and one line: step says what failed
 * ("compile"), tool is the program that was run.
 */
static int tool_failure(const char *step, const char *tool, const struct tool_result *res,
                        const char *tmpdir, char *err, size_t errlen)
{
	char line[600];
	if (res->exec_errno == ENOENT)
		set_err(err, errlen, "%s not found%s", tool,
		        strcmp(step, "wasm2c") == 0 ? " (install the wabt package)" : "");
	else if (res->exec_errno)
		set_err(err, errlen, "cannot run %s: %s", tool, strerror(res->exec_errno));
	else if (res->term_signal)
		set_err(err, errlen, "%s was killed by signal %d%s", tool, res->term_signal,
		        res->term_signal == 9 ? " (out of memory?)" : "");
	else if (undefined_symbols(res->output, line, sizeof(line)))
		set_err(err, errlen, "%s failed: %s", step, line);
	else if (res->output_len == 0)
		set_err(err, errlen, "%s failed with status %d and no message", step,
		        res->exit_status);
	else {
		tool_error_line(res->output, line, sizeof(line));
		strip_temp_dir(line, tmpdir);
		set_err(err, errlen, "%s failed: %s", step, line);
	}
	return BUILD_TOOLCHAIN;
}

/*
 * wasm2c's complaints about the module look like "file:00002d: error: msg";
 * those make the module invalid (2), anything else is a toolchain failure.
 */
static int wasm2c_failure(const char *tool, const struct tool_result *res, const char *display,
                          const char *tmpdir, char *err, size_t errlen)
{
	if (res->exec_errno || res->term_signal || res->output_len == 0)
		return tool_failure("wasm2c", tool, res, tmpdir, err, errlen);
	char line[600];
	tool_error_line(res->output, line, sizeof(line));
	char *msg = strstr(line, ": error: ");
	if (msg) {
		*msg = '\0';
		const char *offset = strrchr(line, ':');
		offset = offset ? offset + 1 : line;
		int is_hex = *offset != '\0';
		for (const char *p = offset; *p; p++)
			is_hex &= (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f');
		if (is_hex) {
			unsigned long at = strtoul(offset, NULL, 16);
			set_err(err, errlen, "%s: invalid module: %s (at offset %lu)", display,
			        msg + 9, at);
			return BUILD_INVALID;
		}
		*msg = ':';
	}
	strip_temp_dir(line, tmpdir);
	set_err(err, errlen, "wasm2c failed: %s", line);
	return BUILD_TOOLCHAIN;
}

/* ---- the generated C file with the embedded directories and config ---- */

/* Writes s as a C string literal; octal escapes keep it one plain line. */
static void put_c_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f || c == '?')
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/*
 * Paths spliced into assembler .incbin directives are kept to characters
 * that need no quoting at all, so a temporary directory is only taken from
 * TMPDIR if it is that plain.
 */
static int plain_path(const char *path)
{
	for (const char *p = path; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || strchr("/._+-", *p)))
			return 0;
	return *path == '/';
}

static int write_image_c(const char *path, const char *tmpdir, const struct build_options *opt,
                         const size_t *archive_sizes)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "/* written by hedge build: embedded directories and image config */\n"
	           "#include <stddef.h>\n\n");
	if (opt->dir_count) {
		fprintf(f, "struct hedge_fs_image {\n"
		           "\tconst char *guest_path;\n"
		           "\tconst void *tar;\n"
		           "\tsize_t size;\n"
		           "};\n\n");
		for (size_t i = 0; i < opt->dir_count; i++)
			fprintf(f,
			        "__asm__(\".pushsection .rodata\\n.balign 512\\nhedge_fs%zu:\\n"
			        ".incbin \\\"%s/fs%zu.tar\\\"\\n.popsection\\n\");\n"
			        "extern const char hedge_fs%zu[];\n",
			        i, tmpdir, i, i);
		fprintf(f, "\nconst struct hedge_fs_image __hedge_embedded_fs[] = {\n");
		for (size_t i = 0; i < opt->dir_count; i++) {
			fprintf(f, "\t{");
			put_c_string(f, opt->dirs[i].guest);
			fprintf(f, ", hedge_fs%zu, %zu},\n", i, archive_sizes[i]);
		}
		fprintf(f, "};\nconst size_t __hedge_embedded_fs_count = %zu;\n\n", opt->dir_count);
	}
	/* Always recorded, so an image boots with the memory `hedge run app.wasm` would give. */
	fprintf(f,
	        "/* Not allocated: only the monitor reads it, from the file's section "
	        "headers. */\n"
	        "__asm__(\".pushsection .hedge_config,\\\"\\\",@progbits\\n.balign 8\\n"
	        ".quad %llu\\n.popsection\\n\");\n",
	        (unsigned long long)(opt->mem_bytes ? opt->mem_bytes : BUILD_DEFAULT_MEM));
	int bad = ferror(f);
	if (fclose(f) != 0 || bad)
		return -1;
	return 0;
}

/* ---- the pipeline ---- */

struct build_run {
	const struct build_options *opt;
	struct build_result *res;
	const struct build_conf *conf;
	char display[512];
	char tmpdir[256]; /* base (at most 200 bytes) + "/hedge-build.XXXXXX" */
	char temp_output[PATH_MAX];
	int step;
	int steps;
	char *err;
	size_t errlen;
	/* The module's C: in how many parts, their sizes, the order they are compiled in. */
	size_t part_count;
	size_t part_bytes[SPLIT_MAX_PARTS];
	size_t part_order[SPLIT_MAX_PARTS];
	int part_progress; /* a line per part started (stderr is a terminal) */
	long env_jobs;     /* HEDGE_BUILD_JOBS, HEDGE_BUILD_PARTS: 0 if unset */
	long env_parts;
	/* -D flags that route imports with a second type (imports.h) to the right C function. */
	const char *defines[8];
	size_t define_count;
};

__attribute__((format(printf, 2, 3))) static void progress(struct build_run *b, const char *fmt,
                                                           ...)
{
	b->step++;
	if (b->opt->quiet)
		return;
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "[%d/%d] %s\n", b->step, b->steps, msg);
}

/* argv for a tool: the concatenation of NULL-terminated lists and single strings. */
struct arglist {
	char **v;
	size_t n;
	size_t cap;
};

static int args_add(struct arglist *a, const char *s)
{
	if (a->n + 2 > a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 32;
		char **grown = realloc(a->v, cap * sizeof(char *));
		if (!grown)
			return -1;
		a->v = grown;
		a->cap = cap;
	}
	a->v[a->n++] = (char *)s;
	a->v[a->n] = NULL;
	return 0;
}

static int args_add_list(struct arglist *a, char *const *list)
{
	for (; *list; list++)
		if (args_add(a, *list))
			return -1;
	return 0;
}

/* Runs one tool; on failure fills err and returns its status. */
static int run_step(struct build_run *b, const char *step, struct arglist *args,
                    const char *log_name, struct tool_result *res)
{
	char log_path[PATH_MAX + 32];
	snprintf(log_path, sizeof(log_path), "%s/%s", b->tmpdir, log_name);
	if (!args->v)
		return set_err(b->err, b->errlen, "out of memory"), BUILD_TOOLCHAIN;
	tool_run(args->v, log_path, res);
	if (tool_interrupted())
		return 128 + tool_interrupted();
	if (!tool_succeeded(res))
		return tool_failure(step, args->v[0], res, b->tmpdir, b->err, b->errlen);
	return 0;
}

static int step_archive(struct build_run *b, size_t *sizes)
{
	const struct build_options *opt = b->opt;
	double t0 = now_seconds();
	uint64_t total = 0;
	for (size_t i = 0; i < opt->dir_count; i++) {
		uint8_t *tar;
		size_t len;
		char why[1024], path[PATH_MAX + 32];
		if (tar_from_dir(opt->dirs[i].host, &tar, &len, why, sizeof(why))) {
			set_err(b->err, b->errlen, "--dir %s", why);
			return BUILD_INVALID;
		}
		snprintf(path, sizeof(path), "%s/fs%zu.tar", b->tmpdir, i);
		int bad = write_file(path, tar, len);
		free(tar);
		if (bad) {
			set_err(b->err, b->errlen, "cannot write %s: %s", path, strerror(errno));
			return BUILD_TOOLCHAIN;
		}
		sizes[i] = len;
		total += len;
	}
	char size[32];
	human_size(total, size, sizeof(size));
	progress(b, "archived %zu director%s (%s)", opt->dir_count,
	         opt->dir_count == 1 ? "y" : "ies", size);
	b->res->archive_bytes = total;
	b->res->seconds_archive = now_seconds() - t0;
	return 0;
}

static int step_wasm2c(struct build_run *b, const uint8_t *wasm, size_t wasm_len)
{
	char wasm_path[PATH_MAX + 16], c_path[PATH_MAX + 16], size[32];
	snprintf(wasm_path, sizeof(wasm_path), "%s/app.wasm", b->tmpdir);
	snprintf(c_path, sizeof(c_path), "%s/app.c", b->tmpdir);
	/* wasm2c reads the bytes that were checked (and hashed), not the file again. */
	if (write_file(wasm_path, wasm, wasm_len)) {
		set_err(b->err, b->errlen, "cannot write %s: %s", wasm_path, strerror(errno));
		return BUILD_TOOLCHAIN;
	}
	human_size(wasm_len, size, sizeof(size));
	progress(b, "wasm2c %s (%s)", b->display, size);
	double t0 = now_seconds();
	struct arglist args = {0};
	args_add_list(&args, b->conf->wasm2c);
	args_add(&args, wasm_path);
	args_add(&args, "-n");
	args_add(&args, "app");
	args_add(&args, "-o");
	args_add(&args, c_path);
	struct tool_result res;
	int rc = run_step(b, "wasm2c", &args, "wasm2c.log", &res);
	if (rc == BUILD_TOOLCHAIN && !res.exec_errno && !res.term_signal)
		rc = wasm2c_failure(b->conf->wasm2c[0], &res, b->display, b->tmpdir, b->err,
		                    b->errlen);
	tool_result_free(&res);
	free(args.v);
	b->res->seconds_wasm2c = now_seconds() - t0;
	struct stat st;
	if (rc == 0 && stat(c_path, &st) == 0)
		b->res->c_bytes = (uint64_t)st.st_size;
	return rc;
}

/*
 * wasm2c 1.0.32 follows every load with `wasm_asm("" ::"r"(result));`, an
 * empty asm taking the loaded value, so that gcc cannot delete a load whose
 * value is unused: such a load must still trap when it is out of bounds.
 * The asm also stops gcc from folding a load into arithmetic, combining
 * loads or vectorising a loop that loads (sha256 ran 7-10% slower for it).
 * gcc keeps those loads without it when the C is compiled with
 * -fnon-call-exceptions -fno-delete-dead-exceptions: a load that may fault
 * then counts as an instruction that may throw, which is never deleted.
 * So the asm goes exactly when the flags that replace it are in force.
 */
static const char load_barrier[] = "wasm_asm(\"\" ::\"r\"(result));";

/* The last of on/off in the list, or was if neither is in it. */
static int flag_state(char **list, const char *on, const char *off, int was)
{
	for (size_t i = 0; list && list[i]; i++) {
		if (strcmp(list[i], on) == 0)
			was = 1;
		else if (strcmp(list[i], off) == 0)
			was = 0;
	}
	return was;
}

/* Whether every compile of the module's C keeps dead loads without the asm. */
static int dead_loads_kept_by_flags(const struct build_conf *conf)
{
	int throws = 0, kept = 0;
	for (int part = 0; part < 2; part++) {
		/* A whole module gets cflags, a part cflags then split_cflags. */
		char **list = part ? conf->split_cflags : conf->cflags;
		throws =
		    flag_state(list, "-fnon-call-exceptions", "-fno-non-call-exceptions", throws);
		kept = flag_state(list, "-fno-delete-dead-exceptions", "-fdelete-dead-exceptions",
		                  kept);
		if (!throws || !kept)
			return 0;
	}
	return 1;
}

/*
 * Blanks the load barriers in the file holding wasm2c's prelude (app.c, or
 * app_shared.h of a split module) with spaces; 0 or -1 with errno.  Only the
 * prelude, up to the module's first item, is searched: the module's own
 * names appear in comments after it.
 */
static int drop_load_barriers(const char *c_path)
{
	size_t len, dropped = 0;
	char *text = read_text(c_path, &len);
	if (!text)
		return -1;
	char *module = strstr(text, "\nstatic bool s_module_initialized = false;\n");
	if (module)
		*module = '\0';
	for (char *at = text; (at = strstr(at, load_barrier)); at += sizeof(load_barrier) - 1) {
		memset(at, ' ', sizeof(load_barrier) - 1);
		dropped++;
	}
	if (module)
		*module = '\n';
	int rc = dropped ? write_file(c_path, text, len) : 0;
	free(text);
	return rc;
}

/*
 * The compiler's arguments for one source; module_code: it needs the import
 * defines; part: one part of a split module, which gets split_cflags too.
 */
static void compile_args(struct build_run *b, struct arglist *args, const char *source,
                         const char *object, const char *extra_flag, int module_code, int part)
{
	args_add_list(args, b->conf->cc);
	args_add_list(args, b->conf->cflags);
	if (part)
		args_add_list(args, b->conf->split_cflags);
	if (extra_flag)
		args_add(args, extra_flag);
	for (size_t i = 0; module_code && i < b->define_count; i++)
		args_add(args, b->defines[i]);
	args_add(args, "-c");
	args_add(args, source);
	args_add(args, "-o");
	args_add(args, object);
}

/* module_code: the source is the module's C or includes its header, so it needs the defines. */
static int compile_one(struct build_run *b, const char *source, const char *object,
                       const char *log_name, const char *extra_flag, int module_code)
{
	struct arglist args = {0};
	compile_args(b, &args, source, object, extra_flag, module_code, 0);
	struct tool_result res;
	int rc = run_step(b, "compile", &args, log_name, &res);
	tool_result_free(&res);
	free(args.v);
	return rc;
}

/* A whole file into a malloc'd buffer; NULL with errno on failure. */
static char *read_text(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	size_t size = (size_t)st.st_size, got = 0;
	char *buf = malloc(size + 1);
	while (buf && got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	int e = errno;
	close(fd);
	if (buf && got != size) {
		free(buf);
		buf = NULL;
		errno = got < size ? e : EIO;
	}
	if (buf) {
		buf[size] = '\0';
		*len = size;
	}
	return buf;
}

/* A count from the environment (1..max), 0 if unset, -1 if it is not such a number. */
static long env_count(const char *name, long max)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || *end || n < 1 || n > max)
		return -1;
	return n;
}

/* How many compilers may run at once: the CPUs hedge may use, or HEDGE_BUILD_JOBS. */
static size_t build_jobs(long from_env)
{
	if (from_env > 0)
		return (size_t)from_env;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return (size_t)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (size_t)n : 1;
}

/*
 * How many parts to split the module's C into: HEDGE_BUILD_PARTS if set,
 * else one (no split) for small modules or a single CPU, else a few parts
 * per compiler so that unequal parts still keep every CPU busy.
 */
static size_t build_parts(long from_env, size_t jobs, uint64_t c_bytes)
{
	if (from_env > 0)
		return (size_t)from_env;
	if (jobs < 2 || c_bytes < SPLIT_MIN_C_BYTES)
		return 1;
	uint64_t by_size = c_bytes / SPLIT_MIN_PART_BYTES;
	size_t parts = jobs * PARTS_PER_JOB;
	if (by_size < parts)
		parts = by_size < 2 ? 2 : (size_t)by_size;
	return parts < SPLIT_MAX_PARTS ? parts : SPLIT_MAX_PARTS;
}

/* Splits app.c into app_shared.h and app_partN.c; the number of parts, 1 if not split. */
static int split_module_c(struct build_run *b, size_t want, char *why, size_t whylen)
{
	char path[PATH_MAX + 32];
	size_t len;
	snprintf(path, sizeof(path), "%s/app.c", b->tmpdir);
	char *text = read_text(path, &len);
	if (!text)
		return set_err(b->err, b->errlen, "cannot read app.c: %s", strerror(errno)),
		       -BUILD_TOOLCHAIN;
	struct split_output out;
	int rc = wasm2c_split(text, len, want, "app_shared.h", &out, why, whylen);
	free(text);
	if (rc < 0)
		return set_err(b->err, b->errlen, "out of memory"), -BUILD_TOOLCHAIN;
	if (rc > 0)
		return 1;
	snprintf(path, sizeof(path), "%s/app_shared.h", b->tmpdir);
	int bad = write_file(path, out.header, out.header_len);
	for (size_t i = 0; !bad && i < out.part_count; i++) {
		snprintf(path, sizeof(path), "%s/app_part%zu.c", b->tmpdir, i);
		bad = write_file(path, out.parts[i], out.part_lens[i]);
		b->part_bytes[i] = out.part_lens[i];
	}
	size_t parts = out.part_count;
	split_output_free(&out);
	if (bad)
		return set_err(b->err, b->errlen, "cannot write %s: %s", path, strerror(errno)),
		       -BUILD_TOOLCHAIN;
	return (int)parts;
}

static void part_started(void *ctx, size_t index)
{
	struct build_run *b = ctx;
	if (index >= b->part_count || !b->part_progress)
		return;
	char size[32];
	human_size(b->part_bytes[b->part_order[index]], size, sizeof(size));
	fprintf(stderr, "[%d/%d] compiling part %zu/%zu (%s)\n", b->step, b->steps, index + 1,
	        b->part_count, size);
}

static int step_compile(struct build_run *b, const size_t *archive_sizes, int with_image_c)
{
	char src[PATH_MAX + 16], obj[PATH_MAX + 16], size[32];
	double t0 = now_seconds();
	if (with_image_c) {
		/* Small and quick: a mistake here shows before the long compile. */
		snprintf(src, sizeof(src), "%s/image.c", b->tmpdir);
		snprintf(obj, sizeof(obj), "%s/image.o", b->tmpdir);
		if (write_image_c(src, b->tmpdir, b->opt, archive_sizes)) {
			set_err(b->err, b->errlen, "cannot write %s: %s", src, strerror(errno));
			return BUILD_TOOLCHAIN;
		}
		int rc = compile_one(b, src, obj, "image.log", NULL, 0);
		if (rc)
			return rc;
	}
	size_t jobs = build_jobs(b->env_jobs);
	size_t want = build_parts(b->env_parts, jobs, b->res->c_bytes);
	char why[300] = "";
	b->part_count = 1;
	if (want > 1) {
		int parts = split_module_c(b, want, why, sizeof(why));
		if (parts < 0)
			return -parts;
		b->part_count = (size_t)parts;
	}
	b->res->parts = b->part_count;
	if (dead_loads_kept_by_flags(b->conf)) {
		snprintf(src, sizeof(src), "%s/%s", b->tmpdir,
		         b->part_count > 1 ? "app_shared.h" : "app.c");
		if (drop_load_barriers(src)) {
			set_err(b->err, b->errlen, "cannot rewrite %s: %s", src, strerror(errno));
			return BUILD_TOOLCHAIN;
		}
	}
	human_size(b->res->c_bytes, size, sizeof(size));
	if (b->part_count > 1)
		progress(b, "compiling %s of C in %zu parts, %zu at a time", size, b->part_count,
		         jobs < b->part_count ? jobs : b->part_count);
	else if (want > 1)
		progress(b, "compiling %s of C (not split: %s)", size, why);
	else
		progress(b, "compiling %s of C", size);
	b->part_progress = !b->opt->quiet && b->part_count > 1 && isatty(2);

	/* The parts, largest first so that the last to finish is a small one, then the glue. */
	size_t glue_count = 0;
	while (b->conf->glue[glue_count])
		glue_count++;
	size_t n = b->part_count + glue_count;
	struct tool_job *job = calloc(n, sizeof(*job));
	struct arglist *args = calloc(n, sizeof(*args));
	char(*paths)[3][PATH_MAX + 32] = calloc(n, sizeof(*paths));
	if (!job || !args || !paths) {
		free(job);
		free(args);
		free(paths);
		return set_err(b->err, b->errlen, "out of memory"), BUILD_TOOLCHAIN;
	}
	for (size_t i = 0; i < b->part_count; i++)
		b->part_order[i] = i;
	for (size_t i = 1; i < b->part_count; i++)
		for (size_t k = i;
		     k > 0 && b->part_bytes[b->part_order[k]] > b->part_bytes[b->part_order[k - 1]];
		     k--) {
			size_t t = b->part_order[k];
			b->part_order[k] = b->part_order[k - 1];
			b->part_order[k - 1] = t;
		}
	char include[PATH_MAX + 4];
	snprintf(include, sizeof(include), "-I%s", b->tmpdir);
	for (size_t i = 0; i < n; i++) {
		char *source = paths[i][0], *object = paths[i][1], *log = paths[i][2];
		const char *extra = NULL;
		if (i >= b->part_count) {
			/* The glue includes the module's app.h, so it is compiled here. */
			size_t g = i - b->part_count;
			snprintf(source, PATH_MAX + 32, "%s", b->conf->glue[g]);
			snprintf(object, PATH_MAX + 32, "%s/glue%zu.o", b->tmpdir, g);
			snprintf(log, PATH_MAX + 32, "%s/glue%zu.log", b->tmpdir, g);
			extra = include;
		} else if (b->part_count == 1) {
			snprintf(source, PATH_MAX + 32, "%s/app.c", b->tmpdir);
			snprintf(object, PATH_MAX + 32, "%s/app.o", b->tmpdir);
			snprintf(log, PATH_MAX + 32, "%s/compile.log", b->tmpdir);
		} else {
			size_t p = b->part_order[i];
			snprintf(source, PATH_MAX + 32, "%s/app_part%zu.c", b->tmpdir, p);
			snprintf(object, PATH_MAX + 32, "%s/app_part%zu.o", b->tmpdir, p);
			snprintf(log, PATH_MAX + 32, "%s/compile_part%zu.log", b->tmpdir, p);
		}
		compile_args(b, &args[i], source, object, extra, 1,
		             i < b->part_count && b->part_count > 1);
		job[i].argv = args[i].v;
		job[i].log_path = log;
	}
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++)
		if (!job[i].argv) {
			set_err(b->err, b->errlen, "out of memory");
			rc = BUILD_TOOLCHAIN;
		}
	if (!rc) {
		size_t failed = tool_run_jobs(job, n, jobs, part_started, b);
		if (tool_interrupted())
			rc = 128 + tool_interrupted();
		else if (failed < n)
			rc = tool_failure("compile", job[failed].argv[0], &job[failed].res,
			                  b->tmpdir, b->err, b->errlen);
	}
	for (size_t i = 0; i < n; i++) {
		tool_result_free(&job[i].res);
		free(args[i].v);
	}
	free(job);
	free(args);
	free(paths);
	b->res->seconds_compile = now_seconds() - t0;
	return rc;
}

static int step_link(struct build_run *b, int with_image_c)
{
	char image_o[PATH_MAX + 16];
	snprintf(image_o, sizeof(image_o), "%s/image.o", b->tmpdir);
	size_t glue_count = 0;
	while (b->conf->glue[glue_count])
		glue_count++;
	char(*glue_o)[PATH_MAX + 16] = calloc(glue_count + 1, sizeof(*glue_o));
	char(*app_o)[PATH_MAX + 16] = calloc(b->part_count, sizeof(*app_o));
	if (!glue_o || !app_o) {
		free(glue_o);
		free(app_o);
		return set_err(b->err, b->errlen, "out of memory"), BUILD_TOOLCHAIN;
	}
	char shown[512];
	printable(b->opt->output_path, shown, sizeof(shown));
	progress(b, "linking %s", shown);
	double t0 = now_seconds();
	struct arglist args = {0};
	args_add_list(&args, b->conf->cc);
	args_add_list(&args, b->conf->ldflags);
	args_add(&args, "-o");
	args_add(&args, b->temp_output);
	args_add_list(&args, b->conf->start);
	for (size_t i = 0; i < b->part_count; i++) {
		if (b->part_count == 1)
			snprintf(app_o[i], sizeof(app_o[i]), "%s/app.o", b->tmpdir);
		else
			snprintf(app_o[i], sizeof(app_o[i]), "%s/app_part%zu.o", b->tmpdir, i);
		args_add(&args, app_o[i]);
	}
	if (with_image_c)
		args_add(&args, image_o);
	for (size_t i = 0; i < glue_count; i++) {
		snprintf(glue_o[i], sizeof(glue_o[i]), "%s/glue%zu.o", b->tmpdir, i);
		args_add(&args, glue_o[i]);
	}
	args_add_list(&args, b->conf->libs);
	struct tool_result res;
	int rc = run_step(b, "link", &args, "link.log", &res);
	tool_result_free(&res);
	free(args.v);
	free(glue_o);
	free(app_o);
	b->res->seconds_link = now_seconds() - t0;
	return rc;
}

/*
 * The linker wrote into the placeholder mkstemp made (mode 0600) and only
 * added execute bits; give the image the mode a new file would have had.
 */
static int make_executable(struct build_run *b)
{
	mode_t mask = umask(0);
	umask(mask);
	if (chmod(b->temp_output, 0777 & ~mask) != 0)
		return set_err(b->err, b->errlen, "cannot set the image's mode: %s",
		               strerror(errno)),
		       BUILD_TOOLCHAIN;
	return 0;
}

/* Digest and size of the linked image. */
static int hash_output(struct build_run *b)
{
	int fd = open(b->temp_output, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return set_err(b->err, b->errlen, "cannot read the linked image: %s",
		               strerror(errno)),
		       BUILD_TOOLCHAIN;
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	uint8_t buf[65536];
	uint64_t total = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
		if (n > 0) {
			sha256_update(&ctx, buf, (size_t)n);
			total += (uint64_t)n;
		}
	}
	close(fd);
	if (n < 0 || total == 0)
		return set_err(b->err, b->errlen, "cannot read the linked image"), BUILD_TOOLCHAIN;
	uint8_t digest[SHA256_DIGEST_LEN];
	sha256_final(&ctx, digest);
	sha256_hex(digest, b->res->sha256);
	b->res->image_bytes = total;
	return 0;
}

/* The private temporary directory holds only files this build wrote. */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		char path[PATH_MAX + 300];
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(dir);
}

/* A hidden name next to the output, so the final rename stays in one file system. */
static int make_temp_output(struct build_run *b)
{
	const char *out = b->opt->output_path;
	const char *slash = strrchr(out, '/');
	/* "app.hvt" -> "./.app.hvt.XXXXXX", "/x.hvt" -> "/.x.hvt.XXXXXX" */
	int dir_len = slash ? (int)(slash - out) : 1;
	const char *dir = slash ? out : ".";
	const char *base = slash ? slash + 1 : out;
	if ((size_t)snprintf(b->temp_output, sizeof(b->temp_output), "%.*s/.%s.XXXXXX", dir_len,
	                     dir, base) >= sizeof(b->temp_output))
		return set_err(b->err, b->errlen, "output path too long"), BUILD_USAGE;
	int fd = mkstemp(b->temp_output);
	if (fd < 0) {
		char shown[512];
		printable(out, shown, sizeof(shown));
		set_err(b->err, b->errlen, "cannot create %s: %s", shown, strerror(errno));
		b->temp_output[0] = '\0';
		return BUILD_TOOLCHAIN;
	}
	close(fd);
	return 0;
}

static int make_temp_dir(struct build_run *b)
{
	const char *base = getenv("TMPDIR");
	if (!base || !plain_path(base) || strlen(base) > 200)
		base = "/tmp";
	snprintf(b->tmpdir, sizeof(b->tmpdir), "%s/hedge-build.XXXXXX", base);
	if (!mkdtemp(b->tmpdir)) {
		set_err(b->err, b->errlen, "cannot create a temporary directory in %s: %s", base,
		        strerror(errno));
		b->tmpdir[0] = '\0';
		return BUILD_TOOLCHAIN;
	}
	return 0;
}

static int check_dirs(struct build_run *b)
{
	for (size_t i = 0; i < b->opt->dir_count; i++) {
		struct stat st;
		char shown[512];
		printable(b->opt->dirs[i].host, shown, sizeof(shown));
		if (stat(b->opt->dirs[i].host, &st) != 0)
			return set_err(b->err, b->errlen, "--dir %s: %s", shown, strerror(errno)),
			       BUILD_INVALID;
		if (!S_ISDIR(st.st_mode))
			return set_err(b->err, b->errlen, "--dir %s: not a directory", shown),
			       BUILD_INVALID;
	}
	return 0;
}

static int run_pipeline(struct build_run *b, const uint8_t *wasm, size_t wasm_len)
{
	const struct build_options *opt = b->opt;
	const int with_image_c = 1; /* it always records the memory size */
	size_t *archive_sizes = calloc(opt->dir_count + 1, sizeof(size_t));
	if (!archive_sizes)
		return set_err(b->err, b->errlen, "out of memory"), BUILD_TOOLCHAIN;
	int rc = check_dirs(b);
	if (!rc)
		rc = make_temp_output(b);
	if (!rc)
		rc = make_temp_dir(b);
	if (!rc && opt->dir_count)
		rc = step_archive(b, archive_sizes);
	if (!rc)
		rc = step_wasm2c(b, wasm, wasm_len);
	if (!rc)
		rc = step_compile(b, archive_sizes, with_image_c);
	if (!rc)
		rc = step_link(b, with_image_c);
	if (!rc)
		rc = make_executable(b);
	if (!rc)
		rc = hash_output(b);
	if (!rc && tool_interrupted())
		rc = 128 + tool_interrupted();
	if (!rc && rename(b->temp_output, opt->output_path) != 0) {
		char shown[512];
		printable(opt->output_path, shown, sizeof(shown));
		rc = BUILD_TOOLCHAIN;
		set_err(b->err, b->errlen, "cannot write %s: %s", shown, strerror(errno));
	}
	if (rc && b->temp_output[0])
		unlink(b->temp_output);
	if (rc >= 128)
		set_err(b->err, b->errlen, "interrupted");
	if (b->tmpdir[0]) {
		if (opt->keep_temps)
			snprintf(b->res->temp_dir, sizeof(b->res->temp_dir), "%s", b->tmpdir);
		else
			remove_tree(b->tmpdir);
	}
	free(archive_sizes);
	return rc;
}

int build_image(const struct build_options *opt, struct build_result *res, char *err, size_t errlen)
{
	memset(res, 0, sizeof(*res));
	struct build_run b = {.opt = opt, .res = res, .err = err, .errlen = errlen};
	printable(opt->wasm_path, b.display, sizeof(b.display));
	b.steps = 3 + (opt->dir_count ? 1 : 0);

	uint8_t *owned = NULL;
	const uint8_t *wasm = opt->wasm_data;
	size_t wasm_len = opt->wasm_len;
	if (!wasm) {
		int rc = build_read_wasm(opt->wasm_path, &owned, &wasm_len, err, errlen);
		if (rc)
			return rc;
		wasm = owned;
	}
	res->wasm_bytes = wasm_len;
	b.env_jobs = env_count("HEDGE_BUILD_JOBS", TOOL_MAX_JOBS);
	b.env_parts = env_count("HEDGE_BUILD_PARTS", SPLIT_MAX_PARTS);
	if (b.env_jobs < 0 || b.env_parts < 0) {
		free(owned);
		set_err(err, errlen, "%s must be a number from 1 to %d",
		        b.env_jobs < 0 ? "HEDGE_BUILD_JOBS" : "HEDGE_BUILD_PARTS",
		        b.env_jobs < 0 ? TOOL_MAX_JOBS : SPLIT_MAX_PARTS);
		return BUILD_USAGE;
	}
	int rc = build_check_module(wasm, wasm_len, b.display, err, errlen);
	if (!rc) {
		struct wasm_module mod;
		char why[256];
		if (wasm_module_parse(wasm, wasm_len, &mod, why, sizeof(why)) == 0) {
			size_t n = hedge_import_defines(&mod, b.defines, 8);
			b.define_count = n < 8 ? n : 8;
			wasm_module_free(&mod);
		}
	}
	struct build_conf loaded;
	memset(&loaded, 0, sizeof(loaded));
	b.conf = opt->conf;
	if (!rc && !b.conf) {
		char why[1024];
		if (build_conf_load(&loaded, why, sizeof(why))) {
			set_err(err, errlen, "%s", why);
			rc = BUILD_TOOLCHAIN;
		}
		b.conf = &loaded;
	}
	if (!rc) {
		tool_signals_install();
		rc = run_pipeline(&b, wasm, wasm_len);
		tool_signals_restore();
	}
	build_conf_free(&loaded);
	free(owned);
	return rc;
}
