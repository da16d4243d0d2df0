/*
 * cache.c - finds or builds the image for a module in the image cache.
 *
 * Layout: <cache>/wasm/<key>.hvt, key = sha256("hedge-wasm-cache-v1" | the
 * module's digest | the configuration fingerprint).  A hit costs one hash
 * of the module and a stat of the files the configuration names.  A miss
 * builds under an exclusive lock on the directory, so concurrent `hedge run`s
 * of the same module build it once; images are renamed into place whole,
 * so a reader never sees a partial one.
 */
#include "cache.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sha256.h"
#include "wasm_module.h"

int cache_dir(char *out, size_t outlen, char *err, size_t errlen)
{
	const char *env = getenv("HEDGE_CACHE_DIR");
	size_t n;
	if (env && *env)
		n = (size_t)snprintf(out, outlen, "%s", env);
	else if ((env = getenv("XDG_CACHE_HOME")) && *env == '/')
		n = (size_t)snprintf(out, outlen, "%s/hedge", env);
	else if ((env = getenv("HOME")) && *env)
		n = (size_t)snprintf(out, outlen, "%s/.cache/hedge", env);
	else {
		snprintf(err, errlen, "no cache directory: set HEDGE_CACHE_DIR or HOME");
		return -1;
	}
	if (n >= outlen) {
		snprintf(err, errlen, "cache directory path too long");
		return -1;
	}
	return 0;
}

/* mkdir -p, for the cache directory and its wasm/ subdirectory. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	if ((size_t)snprintf(buf, sizeof(buf), "%s", path) >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -1;
	struct stat st;
	if (stat(buf, &st) != 0)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

static void hash_stat(struct sha256_ctx *ctx, const char *path, const struct stat *st)
{
	char line[PATH_MAX + 128];
	int n = snprintf(line, sizeof(line), "%s %llu %lld.%09ld %llu\n", path,
	                 (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec,
	                 st->st_mtim.tv_nsec, (unsigned long long)st->st_ino);
	sha256_update(ctx, line, n > 0 && (size_t)n < sizeof(line) ? (size_t)n : 0);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A header directory: every file directly in it, in name order. */
static void hash_dir(struct sha256_ctx *ctx, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	char **names = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			cap = cap ? cap * 2 : 64;
			char **grown = realloc(names, cap * sizeof(char *));
			if (!grown)
				break;
			names = grown;
		}
		if (!(names[count] = strdup(de->d_name)))
			break;
		count++;
	}
	closedir(d);
	if (count)
		qsort(names, count, sizeof(char *), name_cmp);
	for (size_t i = 0; i < count; i++) {
		char path[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			hash_stat(ctx, path, &st);
		free(names[i]);
	}
	free(names);
}

/*
 * A path a configuration token names: the token itself ("/x/libc.a"), or
 * what follows an option ("-I/x/include", "-Wl,-T,/x/guest.ld").
 */
static void hash_token(struct sha256_ctx *ctx, const char *token)
{
	const char *path = strchr(token, '/');
	struct stat st;
	if (!path || stat(path, &st) != 0)
		return;
	if (S_ISREG(st.st_mode))
		hash_stat(ctx, path, &st);
	else if (S_ISDIR(st.st_mode))
		hash_dir(ctx, path);
}

/* A tool named without a directory, as execvp would find it in PATH. */
static void hash_tool(struct sha256_ctx *ctx, const char *tool)
{
	if (strchr(tool, '/')) {
		hash_token(ctx, tool);
		return;
	}
	const char *path_env = getenv("PATH");
	if (!path_env)
		return;
	for (const char *p = path_env; *p;) {
		size_t len = strcspn(p, ":");
		char candidate[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(candidate, sizeof(candidate), "%.*s/%s", (int)len, p, tool) <
		        sizeof(candidate) &&
		    stat(candidate, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(candidate, X_OK) == 0) {
			hash_stat(ctx, candidate, &st);
			return;
		}
		p += len;
		if (*p)
			p++;
	}
}

void cache_config_fingerprint(const struct build_conf *conf, char *hex)
{
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, conf->libdir, strlen(conf->libdir) + 1);
	if (conf->text)
		sha256_update(&ctx, conf->text, conf->text_len);
	char **const lists[] = {conf->cflags, conf->ldflags, conf->start, conf->glue, conf->libs};
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
		for (char **t = lists[i]; t && *t; t++)
			hash_token(&ctx, *t);
	if (conf->cc && conf->cc[0])
		hash_tool(&ctx, conf->cc[0]);
	if (conf->wasm2c && conf->wasm2c[0])
		hash_tool(&ctx, conf->wasm2c[0]);
	uint8_t digest[SHA256_DIGEST_LEN];
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
}

static int image_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static int build_locked(const char *wasm_path, const uint8_t *wasm, size_t wasm_len,
                        const struct build_conf *conf, const char *dir, const char *image,
                        int quiet, char *err, size_t errlen)
{
	char display[512];
	wasm_name_format(wasm_path, (uint32_t)strnlen(wasm_path, 4096), display, sizeof(display));
	/* A module that cannot be built is refused before waiting for the lock. */
	int rc = build_check_module(wasm, wasm_len, display, err, errlen);
	if (rc)
		return rc;
	int lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
		snprintf(err, errlen, "cannot lock the cache directory %s: %s", dir,
		         strerror(errno));
		if (lock_fd >= 0)
			close(lock_fd);
		return BUILD_TOOLCHAIN;
	}
	/* Another hedge may have built it while this one waited for the lock. */
	if (!image_exists(image)) {
		if (!quiet)
			fprintf(stderr, "hedge: building an image for %s (not in the cache)\n",
			        display);
		struct build_options opt = {.wasm_path = wasm_path,
		                            .output_path = image,
		                            .quiet = quiet,
		                            .wasm_data = wasm,
		                            .wasm_len = wasm_len,
		                            .conf = conf};
		struct build_result res;
		rc = build_image(&opt, &res, err, errlen);
	}
	close(lock_fd);
	return rc;
}

int cache_image_for_wasm(const char *wasm_path, char *hvt_path, size_t len, int quiet, char *err,
                         size_t errlen)
{
	uint8_t *wasm = NULL;
	size_t wasm_len = 0;
	int rc = build_read_wasm(wasm_path, &wasm, &wasm_len, err, errlen);
	if (rc)
		return rc;
	struct build_conf conf;
	char dir[PATH_MAX], why[1024];
	if (build_conf_load(&conf, why, sizeof(why))) {
		free(wasm);
		snprintf(err, errlen, "%s", why);
		return BUILD_TOOLCHAIN;
	}
	if (cache_dir(dir, sizeof(dir) - 8, err, errlen)) {
		rc = BUILD_TOOLCHAIN;
		goto out;
	}
	strcat(dir, "/wasm");
	if (make_dirs(dir) != 0) {
		snprintf(err, errlen, "cannot create the cache directory %s: %s", dir,
		         strerror(errno));
		rc = BUILD_TOOLCHAIN;
		goto out;
	}
	uint8_t module_digest[SHA256_DIGEST_LEN], key_digest[SHA256_DIGEST_LEN];
	char module_hex[SHA256_HEX_LEN + 1], config_hex[SHA256_HEX_LEN + 1];
	char key_hex[SHA256_HEX_LEN + 1];
	sha256(wasm, wasm_len, module_digest);
	sha256_hex(module_digest, module_hex);
	cache_config_fingerprint(&conf, config_hex);
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	sha256_update(&ctx, "hedge-wasm-cache-v1\n", 20);
	sha256_update(&ctx, module_hex, SHA256_HEX_LEN);
	sha256_update(&ctx, config_hex, SHA256_HEX_LEN);
	sha256_final(&ctx, key_digest);
	sha256_hex(key_digest, key_hex);
	char image[PATH_MAX + 80];
	snprintf(image, sizeof(image), "%s/%s.hvt", dir, key_hex);
	if (strlen(image) >= len) {
		snprintf(err, errlen, "cache path too long for the caller's buffer");
		rc = BUILD_TOOLCHAIN;
		goto out;
	}
	if (!image_exists(image))
		rc = build_locked(wasm_path, wasm, wasm_len, &conf, dir, image, quiet, err, errlen);
	if (rc == 0)
		snprintf(hvt_path, len, "%s", image);
out:
	build_conf_free(&conf);
	free(wasm);
	return rc;
}
