/*
 * build_conf.c - finds the library directory and reads its build.conf,
 * where the Makefile writes down once how a wasm unikernel is compiled and
 * linked (compiler, flags, runtime objects and libraries).
 */
#include "build_conf.h"
#include "errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CONF_BYTES (64 * 1024)

static char *read_small_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	char *buf = malloc(max + 1);
	size_t used = 0;
	while (buf && used < max) {
		ssize_t n = read(fd, buf + used, max - used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			buf = NULL;
		}
		if (n <= 0)
			break;
		used += (size_t)n;
	}
	close(fd);
	if (buf) {
		buf[used] = '\0';
		*len = used;
	}
	return buf;
}

static int has_build_conf(const char *dir)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof(path), "%s/build.conf", dir) >= sizeof(path))
		return 0;
	return access(path, R_OK) == 0;
}

int build_find_libdir(char *out, size_t outlen, char *err, size_t errlen)
{
	char candidate[PATH_MAX];
	const char *env = getenv("HEDGE_LIBDIR");
	if (env && *env) {
		if (!has_build_conf(env) || !realpath(env, candidate))
			return set_err(err, errlen, "HEDGE_LIBDIR=%s has no readable build.conf",
			               env);
		if ((size_t)snprintf(out, outlen, "%s", candidate) >= outlen)
			return set_err(err, errlen, "HEDGE_LIBDIR path too long");
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return set_err(err, errlen, "cannot find the hedge binary: %s; set HEDGE_LIBDIR",
		               strerror(errno));
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	static const char *const relative[] = {"lib/hedge", "../lib/hedge"};
	for (int i = 0; i < 2; i++) {
		if ((size_t)snprintf(candidate, sizeof(candidate), "%s/%s", exe, relative[i]) >=
		    sizeof(candidate))
			continue;
		char resolved[PATH_MAX];
		if (has_build_conf(candidate) && realpath(candidate, resolved)) {
			if ((size_t)snprintf(out, outlen, "%s", resolved) >= outlen)
				return set_err(err, errlen, "library directory path too long");
			return 0;
		}
	}
	return set_err(err, errlen,
	               "no build.conf in %s/lib/hedge or %s/../lib/hedge (run 'make libdir' or "
	               "set HEDGE_LIBDIR)",
	               exe, exe);
}

static void free_list(char **list)
{
	if (!list)
		return;
	for (char **p = list; *p; p++)
		free(*p);
	free(list);
}

void build_conf_free(struct build_conf *conf)
{
	free_list(conf->wasm2c);
	free_list(conf->split_cflags);
	free_list(conf->cc);
	free_list(conf->cflags);
	free_list(conf->ldflags);
	free_list(conf->start);
	free_list(conf->glue);
	free_list(conf->libs);
	free(conf->text);
	memset(conf, 0, sizeof(*conf));
}

/* One token with every "{libdir}" replaced. */
static char *expand_token(const char *token, size_t len, const char *libdir)
{
	static const char marker[] = "{libdir}";
	const size_t marker_len = sizeof(marker) - 1;
	size_t libdir_len = strlen(libdir), out_len = 0;
	for (size_t i = 0; i < len;) {
		if (len - i >= marker_len && memcmp(token + i, marker, marker_len) == 0) {
			out_len += libdir_len;
			i += marker_len;
		} else {
			out_len++;
			i++;
		}
	}
	char *out = malloc(out_len + 1), *w = out;
	if (!out)
		return NULL;
	for (size_t i = 0; i < len;) {
		if (len - i >= marker_len && memcmp(token + i, marker, marker_len) == 0) {
			memcpy(w, libdir, libdir_len);
			w += libdir_len;
			i += marker_len;
		} else {
			*w++ = token[i++];
		}
	}
	*w = '\0';
	return out;
}

/* Splits value[0..len) on blanks into a NULL-terminated list. */
static char **split_value(const char *value, size_t len, const char *libdir)
{
	size_t count = 0;
	for (size_t i = 0; i < len; i++)
		if (value[i] != ' ' && value[i] != '\t' &&
		    (i == 0 || value[i - 1] == ' ' || value[i - 1] == '\t'))
			count++;
	char **list = calloc(count + 1, sizeof(char *));
	if (!list)
		return NULL;
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		while (i < len && (value[i] == ' ' || value[i] == '\t'))
			i++;
		size_t start = i;
		while (i < len && value[i] != ' ' && value[i] != '\t')
			i++;
		if (i > start) {
			list[n] = expand_token(value + start, i - start, libdir);
			if (!list[n]) {
				free_list(list);
				return NULL;
			}
			n++;
		}
	}
	return list;
}

int build_conf_parse(const char *text, const char *libdir, struct build_conf *conf, char *err,
                     size_t errlen)
{
	enum {
		KEY_WASM2C,
		KEY_SPLIT_CFLAGS,
		KEY_CC,
		KEY_CFLAGS,
		KEY_LDFLAGS,
		KEY_START,
		KEY_GLUE,
		KEY_LIBS,
		KEYS
	};
	static const char *const keys[KEYS] = {"wasm2c",  "split_cflags", "cc",   "cflags",
	                                       "ldflags", "start",        "glue", "libs"};
	memset(conf, 0, sizeof(*conf));
	char ***slots[KEYS] = {&conf->wasm2c,  &conf->split_cflags, &conf->cc,   &conf->cflags,
	                       &conf->ldflags, &conf->start,        &conf->glue, &conf->libs};
	if ((size_t)snprintf(conf->libdir, sizeof(conf->libdir), "%s", libdir) >=
	    sizeof(conf->libdir))
		return set_err(err, errlen, "library directory path too long");
	int line_no = 0;
	for (const char *line = text; *line;) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		const char *next = eol ? eol + 1 : line + len;
		line_no++;
		while (len &&
		       (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		while (len && (*line == ' ' || *line == '\t'))
			line++, len--;
		if (len == 0 || *line == '#') {
			line = next;
			continue;
		}
		const char *eq = memchr(line, '=', len);
		if (!eq) {
			build_conf_free(conf);
			return set_err(err, errlen, "line %d: expected key=value", line_no);
		}
		size_t key_len = (size_t)(eq - line);
		while (key_len && (line[key_len - 1] == ' ' || line[key_len - 1] == '\t'))
			key_len--;
		int slot = -1;
		for (int k = 0; k < KEYS; k++)
			if (strlen(keys[k]) == key_len && memcmp(keys[k], line, key_len) == 0)
				slot = k;
		if (slot < 0) {
			char key[64];
			snprintf(key, sizeof(key), "%.*s", (int)(key_len < 60 ? key_len : 60),
			         line);
			build_conf_free(conf);
			return set_err(err, errlen, "line %d: unknown key '%s'", line_no, key);
		}
		if (*slots[slot]) {
			build_conf_free(conf);
			return set_err(err, errlen, "line %d: '%s' is set twice", line_no,
			               keys[slot]);
		}
		const char *value = eq + 1;
		*slots[slot] = split_value(value, (size_t)(line + len - value), libdir);
		if (!*slots[slot]) {
			build_conf_free(conf);
			return set_err(err, errlen, "out of memory");
		}
		line = next;
	}
	for (int k = KEY_CC; k < KEYS; k++) {
		int required = k == KEY_CC || k == KEY_START || k == KEY_LIBS;
		if (!*slots[k] && !required)
			*slots[k] = calloc(1, sizeof(char *));
		if (!*slots[k] || (required && !(*slots[k])[0])) {
			build_conf_free(conf);
			return set_err(err, errlen, "'%s' is missing or empty", keys[k]);
		}
	}
	if (!conf->split_cflags) {
		conf->split_cflags =
		    split_value(SPLIT_CFLAGS_DEFAULT, strlen(SPLIT_CFLAGS_DEFAULT), libdir);
		if (!conf->split_cflags) {
			build_conf_free(conf);
			return set_err(err, errlen, "out of memory");
		}
	}
	if (!conf->wasm2c || !conf->wasm2c[0]) {
		free_list(conf->wasm2c);
		conf->wasm2c = split_value("wasm2c", 6, libdir);
		if (!conf->wasm2c) {
			build_conf_free(conf);
			return set_err(err, errlen, "out of memory");
		}
	}
	return 0;
}

int build_conf_load(struct build_conf *conf, char *err, size_t errlen)
{
	char libdir[PATH_MAX], path[PATH_MAX + 16], why[512];
	memset(conf, 0, sizeof(*conf));
	if (build_find_libdir(libdir, sizeof(libdir), err, errlen))
		return -1;
	snprintf(path, sizeof(path), "%s/build.conf", libdir);
	size_t len;
	char *text = read_small_file(path, MAX_CONF_BYTES, &len);
	if (!text)
		return set_err(err, errlen, "cannot read %s: %s", path, strerror(errno));
	if (build_conf_parse(text, libdir, conf, why, sizeof(why))) {
		free(text);
		return set_err(err, errlen, "%s: %s", path, why);
	}
	conf->text = text;
	conf->text_len = len;
	return 0;
}
