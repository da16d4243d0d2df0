/*
 * api.c - hedged's REST API: JSON over HTTP/1.1 on a unix socket, served by
 * libmicrohttpd with a thread per connection (so that a streaming
 * `logs?follow=1` or a slow stop blocks no one else).
 *
 * Every request is untrusted: bodies are size-limited, JSON is parsed
 * strictly (unknown fields refused), names are checked before they reach a
 * path, and every error is a 4xx/5xx with {"error":"one line"}.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "sha256.h"

#define MAX_JSON_BODY (64u << 10)

static struct MHD_Daemon *daemon_, *tcp_daemon;
static const int over_unix = 0, over_tcp = 1;
static unsigned long long request_counts[600];

struct req {
	char *body;
	size_t len, cap, limit;
	int too_big;
	int denied; /* over TCP without the right token: the body is not even kept */
};

/* --- responses ------------------------------------------------------------------------- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned code, const char *type,
                                 const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", type);
	enum MHD_Result rc = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	if (code < 600)
		__atomic_add_fetch(&request_counts[code], 1, __ATOMIC_RELAXED);
	return rc;
}

/* Sends obj (and drops it) as one line of JSON. */
static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, json_t *obj)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	if (!text)
		return send_text(c, 500, "application/json", "{\"error\":\"out of memory\"}\n");
	size_t n = strlen(text);
	char *line = malloc(n + 2);
	enum MHD_Result rc;
	if (!line) {
		rc = send_text(c, 500, "application/json", "{\"error\":\"out of memory\"}\n");
	} else {
		memcpy(line, text, n);
		memcpy(line + n, "\n", 2);
		rc = send_text(c, code, "application/json", line);
		free(line);
	}
	free(text);
	return rc;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One line, whatever the reason quotes (e.g. a build's error output). */
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return send_json(c, code, json_pack("{s:s}", "error", msg));
}

/* --- images ---------------------------------------------------------------------------- */

static json_t *image_json(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:I, s:I}", "id", sqlite3_column_text(st, 0), "kind",
	                 sqlite3_column_text(st, 1), "size",
	                 (json_int_t)sqlite3_column_int64(st, 2), "created_at",
	                 (json_int_t)sqlite3_column_int64(st, 3));
}

/*
 * An image is named by its sha256 or a unique prefix of at least 6 hex
 * digits (as docker does).  Fills id; 0, 404 or 409 (ambiguous), 400 (bad).
 */
static int resolve_image_locked(const char *ref, char id[SHA256_HEX_LEN + 1])
{
	size_t n = strlen(ref);
	if (n < 6 || n > SHA256_HEX_LEN || strspn(ref, "0123456789abcdef") != n)
		return 400;
	sqlite3_stmt *st;
	sqlite3_prepare_v2(agent.db, "SELECT id FROM images WHERE substr(id,1,?2)=?1 LIMIT 2", -1,
	                   &st, NULL);
	sqlite3_bind_text(st, 1, ref, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, (int)n);
	int found = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (found++ == 0)
			snprintf(id, SHA256_HEX_LEN + 1, "%s", sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return found == 1 ? 0 : found == 0 ? 404 : 409;
}

static int write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	const char *p = data;
	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			close(fd);
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	int rc = fsync(fd);
	return close(fd) | rc;
}

/* Runs `hedge build -q WASM -o OUT`; 0, or -1 with the first line of its complaint. */
static int build_wasm(const char *wasm, const char *out, char *err, size_t errlen)
{
	char errfile[PATH_MAX + 128];
	if (snprintf(errfile, sizeof(errfile), "%s.err", out) >= (int)sizeof(errfile))
		return -1;
	int efd = open(errfile, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (efd < 0) {
		snprintf(err, errlen, "cannot create a temporary file: %s", strerror(errno));
		return -1;
	}
	pid_t pid = fork();
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		int nfd = open("/dev/null", O_RDWR);
		dup2(nfd, 0);
		dup2(nfd, 1);
		dup2(efd, 2);
		execl(agent.hedge_bin, agent.hedge_bin, "build", "-q", wasm, "-o", out,
		      (char *)NULL);
		_exit(127);
	}
	int status = -1;
	if (pid > 0)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	char line[300] = "";
	ssize_t n = pread(efd, line, sizeof(line) - 1, 0);
	line[n > 0 ? n : 0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	close(efd);
	unlink(errfile);
	if (pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(err, errlen, "cannot build the wasm module: %s",
	         line[0] ? line : "hedge build failed");
	return -1;
}

static enum MHD_Result post_image(struct MHD_Connection *c, struct req *rq)
{
	const char *kind;
	if (rq->len >= 4 && !memcmp(rq->body,
	                            "\x7f"
	                            "ELF",
	                            4))
		kind = "hvt";
	else if (rq->len >= 8 && !memcmp(rq->body, "\0asm", 4))
		kind = "wasm";
	else
		return send_error(c, 415, "body is neither an ELF image (.hvt) nor a wasm module");
	uint8_t digest[SHA256_DIGEST_LEN];
	char id[SHA256_HEX_LEN + 1];
	sha256(rq->body, rq->len, digest);
	sha256_hex(digest, id);
	id[SHA256_HEX_LEN] = '\0';

	/* Written under a temporary name and renamed: readers never see half a file. */
	char final_hvt[PATH_MAX + 96], src[PATH_MAX + 96], tmp[PATH_MAX + 96], err[400];
	snprintf(final_hvt, sizeof(final_hvt), "%s/images/%s.hvt", agent.state_dir, id);
	snprintf(src, sizeof(src), "%s/images/%s.%s", agent.state_dir, id, kind);
	snprintf(tmp, sizeof(tmp), "%s/images/.tmp-%s-%ld-%lx", agent.state_dir, id, (long)getpid(),
	         (unsigned long)pthread_self());
	if (write_file(tmp, rq->body, rq->len) || rename(tmp, src)) {
		unlink(tmp);
		return send_error(c, 500, "cannot store the image: %s", strerror(errno));
	}
	if (!strcmp(kind, "wasm") && access(final_hvt, R_OK)) {
		if (build_wasm(src, tmp, err, sizeof(err)) || rename(tmp, final_hvt)) {
			unlink(tmp);
			unlink(src);
			return send_error(c, 422, "%s", err);
		}
	}
	pthread_mutex_lock(&agent.lock);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(agent.db,
	                   "INSERT OR IGNORE INTO images(id, kind, size, path, created_at) "
	                   "VALUES(?1, ?2, ?3, ?4, ?5)",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)rq->len);
	sqlite3_bind_text(st, 4, final_hvt, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)wall_ms());
	int rc = sqlite3_step(st);
	int created = sqlite3_changes(agent.db) > 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	if (rc != SQLITE_DONE)
		return send_error(c, 500, "database: %s", sqlite3_errmsg(agent.db));
	return send_json(
	    c, created ? 201 : 200,
	    json_pack("{s:s, s:s, s:I}", "id", id, "kind", kind, "size", (json_int_t)rq->len));
}

/* The bytes as uploaded (the .wasm of a wasm image), for `hedge pull` from this agent. */
static enum MHD_Result image_content(struct MHD_Connection *c, const char *id)
{
	char kind[8] = "", path[PATH_MAX + 96];
	sqlite3_stmt *st;
	pthread_mutex_lock(&agent.lock);
	sqlite3_prepare_v2(agent.db, "SELECT kind FROM images WHERE id=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(kind, sizeof(kind), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	snprintf(path, sizeof(path), "%s/images/%s.%s", agent.state_dir, id, kind);
	/* Opened under the lock: a concurrent DELETE cannot take the file halfway. */
	int fd = kind[0] ? open(path, O_RDONLY | O_CLOEXEC) : -1;
	pthread_mutex_unlock(&agent.lock);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb)) {
		if (fd >= 0)
			close(fd);
		return send_error(c, 404, "no such image: %s", id);
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	MHD_add_response_header(r, "Content-Type", "application/octet-stream");
	enum MHD_Result rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	__atomic_add_fetch(&request_counts[200], 1, __ATOMIC_RELAXED);
	return rc;
}

static enum MHD_Result images_route(struct MHD_Connection *c, const char *method, const char *ref,
                                    const char *action, struct req *rq)
{
	if (!ref) {
		if (!strcmp(method, "POST"))
			return post_image(c, rq);
		if (strcmp(method, "GET"))
			return send_error(c, 405, "method %s not allowed on /images", method);
		json_t *arr = json_array();
		sqlite3_stmt *st;
		pthread_mutex_lock(&agent.lock);
		sqlite3_prepare_v2(
		    agent.db, "SELECT id, kind, size, created_at FROM images ORDER BY created_at",
		    -1, &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(arr, image_json(st));
		sqlite3_finalize(st);
		pthread_mutex_unlock(&agent.lock);
		return send_json(c, 200, arr);
	}
	char id[SHA256_HEX_LEN + 1];
	pthread_mutex_lock(&agent.lock);
	int rc = resolve_image_locked(ref, id);
	if (rc) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, rc == 400 ? 400 : rc,
		                  rc == 400   ? "bad image id (hex sha256 or a prefix of 6 or more)"
		                  : rc == 404 ? "no such image: %s"
		                              : "ambiguous image id: %s",
		                  ref);
	}
	if (action) {
		pthread_mutex_unlock(&agent.lock);
		if (strcmp(action, "content"))
			return send_error(c, 404, "no such route: /images/%.64s/%.32s", ref,
			                  action);
		if (strcmp(method, "GET"))
			return send_error(c, 405, "content takes GET");
		return image_content(c, id);
	}
	sqlite3_stmt *st;
	json_t *out = NULL;
	if (!strcmp(method, "GET")) {
		sqlite3_prepare_v2(agent.db,
		                   "SELECT id, kind, size, created_at, "
		                   "(SELECT count(*) FROM vms WHERE image=images.id) FROM images "
		                   "WHERE id=?1",
		                   -1, &st, NULL);
		sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			out = image_json(st);
			json_object_set_new(out, "vms", json_integer(sqlite3_column_int64(st, 4)));
		}
		sqlite3_finalize(st);
		pthread_mutex_unlock(&agent.lock);
		return out ? send_json(c, 200, out) : send_error(c, 404, "no such image: %s", ref);
	}
	if (strcmp(method, "DELETE")) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 405, "method %s not allowed on an image", method);
	}
	sqlite3_prepare_v2(agent.db, "SELECT count(*) FROM vms WHERE image=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	int users = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 1;
	sqlite3_finalize(st);
	if (users) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "image %.12s is used by %d VM(s)", id, users);
	}
	sqlite3_prepare_v2(agent.db, "DELETE FROM images WHERE id=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	char path[PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/images/%s.hvt", agent.state_dir, id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/images/%s.wasm", agent.state_dir, id);
	unlink(path);
	pthread_mutex_unlock(&agent.lock);
	return send_json(c, 200, json_pack("{s:s}", "deleted", id));
}

/* --- VMs ------------------------------------------------------------------------------- */

#define VM_COLUMNS                                                                           \
	"name, image, mem, args, env, restart, state, pid, exit_code, exit_signal, reason, " \
	"created_at, started_at, finished_at, boot_ms, restarts, supervisor_pid, net, "      \
	"snapshot, cpu_millis, incoming"

static json_t *nullable_int(sqlite3_stmt *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL
	           ? json_null()
	           : json_integer(sqlite3_column_int64(st, col));
}

/*
 * The last progress report of each migration under way, for GET /vms/{name}
 * while the POST that started it waits.  Under agent.lock.
 */
#define MIGRATIONS_SHOWN 16
static struct {
	char name[VM_NAME_MAX + 1];
	char report[256]; /* the monitor's {"progress":{...}} line; "" before the first */
} migrations[MIGRATIONS_SHOWN];

static void migration_report_locked(const char *name, const char *report)
{
	int free_slot = -1;
	for (int i = 0; i < MIGRATIONS_SHOWN; i++) {
		if (!strcmp(migrations[i].name, name)) {
			if (report)
				snprintf(migrations[i].report, sizeof(migrations[i].report), "%s",
				         report);
			else
				migrations[i].name[0] = '\0';
			return;
		}
		if (!migrations[i].name[0] && free_slot < 0)
			free_slot = i;
	}
	if (report && free_slot >= 0) {
		snprintf(migrations[free_slot].name, sizeof(migrations[free_slot].name), "%s",
		         name);
		snprintf(migrations[free_slot].report, sizeof(migrations[free_slot].report), "%s",
		         report);
	}
}

/* {"phase","round","bytes","dirty_pages","mem_bytes"} of name's migration, or NULL. */
static json_t *migration_json_locked(const char *name)
{
	for (int i = 0; i < MIGRATIONS_SHOWN; i++)
		if (!strcmp(migrations[i].name, name) && migrations[i].report[0]) {
			json_t *r = json_loads(migrations[i].report, 0, NULL);
			json_t *p = json_incref(json_object_get(r, "progress"));
			json_decref(r);
			return p;
		}
	return NULL;
}

static json_t *vm_json(sqlite3_stmt *st)
{
	const char *state = (const char *)sqlite3_column_text(st, 6);
	int up = !strcmp(state, "running") || !strcmp(state, "paused") ||
	         !strcmp(state, "stopping") || !strcmp(state, "migrating") ||
	         !strcmp(state, "snapshotting");
	json_t *o = json_object();
	json_object_set_new(o, "name", json_string((const char *)sqlite3_column_text(st, 0)));
	json_object_set_new(o, "image", json_string((const char *)sqlite3_column_text(st, 1)));
	json_object_set_new(o, "mem", json_integer(sqlite3_column_int64(st, 2)));
	json_object_set_new(o, "args",
	                    json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL));
	json_object_set_new(o, "env",
	                    json_loads((const char *)sqlite3_column_text(st, 4), 0, NULL));
	json_object_set_new(o, "restart", json_string((const char *)sqlite3_column_text(st, 5)));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "pid", nullable_int(st, 7));
	json_object_set_new(o, "exit_code", nullable_int(st, 8));
	json_object_set_new(o, "exit_signal", nullable_int(st, 9));
	json_object_set_new(o, "reason",
	                    sqlite3_column_type(st, 10) == SQLITE_NULL
	                        ? json_null()
	                        : json_string((const char *)sqlite3_column_text(st, 10)));
	json_object_set_new(o, "created_at", nullable_int(st, 11));
	json_object_set_new(o, "started_at", nullable_int(st, 12));
	json_object_set_new(o, "finished_at", nullable_int(st, 13));
	json_object_set_new(
	    o, "uptime_ms",
	    up ? json_integer((json_int_t)(wall_ms() - (uint64_t)sqlite3_column_int64(st, 12)))
	       : json_null());
	json_object_set_new(o, "boot_ms",
	                    sqlite3_column_type(st, 14) == SQLITE_NULL
	                        ? json_null()
	                        : json_real(sqlite3_column_double(st, 14)));
	json_object_set_new(o, "restarts", json_integer(sqlite3_column_int(st, 15)));
	json_object_set_new(o, "net",
	                    sqlite3_column_type(st, 17) == SQLITE_NULL
	                        ? json_null()
	                        : json_loads((const char *)sqlite3_column_text(st, 17), 0, NULL));
	if (sqlite3_column_type(st, 18) != SQLITE_NULL)
		json_object_set_new(o, "snapshot",
		                    json_string((const char *)sqlite3_column_text(st, 18)));
	if (sqlite3_column_type(st, 20) != SQLITE_NULL)
		json_object_set_new(o, "incoming",
		                    json_string((const char *)sqlite3_column_text(st, 20)));
	if (sqlite3_column_int(st, 19))
		json_object_set_new(o, "cpus", json_real(sqlite3_column_int(st, 19) / 1000.0));
	if (up)
		json_object_set_new(
		    o, "supervised",
		    json_string(sqlite3_column_int64(st, 16) == getpid() ? "child" : "adopted"));
	json_t *migration = !strcmp(state, "migrating")
	                        ? migration_json_locked((const char *)sqlite3_column_text(st, 0))
	                        : NULL;
	if (migration)
		json_object_set_new(o, "migration", migration);
	return o;
}

/* The VM as JSON, or NULL if there is none; with agent.lock held. */
static json_t *vm_get_locked(const char *name)
{
	sqlite3_stmt *st;
	json_t *o = NULL;
	sqlite3_prepare_v2(agent.db, "SELECT " VM_COLUMNS " FROM vms WHERE name=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = vm_json(st);
	sqlite3_finalize(st);
	return o;
}

static const char *vm_state_locked(const char *name, char *buf, size_t len, pid_t *pid)
{
	sqlite3_stmt *st;
	const char *state = NULL;
	sqlite3_prepare_v2(agent.db, "SELECT state, pid FROM vms WHERE name=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		snprintf(buf, len, "%s", sqlite3_column_text(st, 0));
		if (pid)
			*pid = (pid_t)sqlite3_column_int64(st, 1);
		state = buf;
	}
	sqlite3_finalize(st);
	return state;
}

static enum MHD_Result post_vm(struct MHD_Connection *c, struct req *rq)
{
	struct vm_spec spec;
	char err[400];
	if (req_parse_vm(rq->body, rq->len, &spec, err, sizeof(err)))
		return send_error(c, 400, "%s", err);
	enum MHD_Result r;
	char sock[PATH_MAX + 96];
	vm_sock_path(spec.name, sock, sizeof(sock));
	uint64_t total;
	node_mem_available(&total);
	if (strlen(sock) >= 108) {
		r = send_error(c, 422, "VM name too long for a socket under %s", agent.state_dir);
		goto out;
	}
	if (spec.mem > total) {
		r = send_error(c, 422, "\"mem\" is more than the node's %llu MiB",
		               (unsigned long long)(total >> 20));
		goto out;
	}
	json_t *jnet = req_net_json(&spec.net);
	char *net = json_object_size(jnet) ? json_dumps(jnet, JSON_COMPACT) : NULL;
	json_decref(jnet);

	pthread_mutex_lock(&agent.lock);
	char id[SHA256_HEX_LEN + 1], kind[8] = "hvt";
	sqlite3_stmt *st;
	int rc = 0;
	if (spec.snapshot[0]) {
		/* A VM restored from a snapshot: its image and memory are the snapshot's. */
		sqlite3_prepare_v2(agent.db, "SELECT image, mem FROM snapshots WHERE name=?1", -1,
		                   &st, NULL);
		sqlite3_bind_text(st, 1, spec.snapshot, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(id, sizeof(id), "%s", sqlite3_column_text(st, 0));
			uint64_t smem = (uint64_t)sqlite3_column_int64(st, 1);
			if (spec.mem && spec.mem != smem)
				rc = 1;
			spec.mem = smem;
		} else {
			rc = 2;
		}
		sqlite3_finalize(st);
		if (rc) {
			pthread_mutex_unlock(&agent.lock);
			r = rc == 2
			        ? send_error(c, 422, "no such snapshot: %s", spec.snapshot)
			        : send_error(c, 422, "snapshot %s has %llu MiB of memory",
			                     spec.snapshot, (unsigned long long)(spec.mem >> 20));
			goto out2;
		}
	} else if ((rc = resolve_image_locked(spec.image, id))) {
		pthread_mutex_unlock(&agent.lock);
		r = send_error(c, rc == 409 ? 409 : 422, "%s image: %.80s",
		               rc == 409 ? "ambiguous" : "no such", spec.image);
		goto out2;
	}
	sqlite3_prepare_v2(agent.db, "SELECT kind FROM images WHERE id=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(kind, sizeof(kind), "%s", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!spec.mem)
		spec.mem = strcmp(kind, "wasm") ? DEFAULT_VM_MEM : DEFAULT_WASM_MEM;
	sqlite3_prepare_v2(agent.db,
	                   "INSERT INTO vms(name, image, mem, args, env, restart, state, "
	                   "created_at, net, snapshot, cpu_millis, incoming) "
	                   "VALUES(?1, ?2, ?3, ?4, ?5, ?6, 'created', ?7, ?8, ?9, ?10, ?11)",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, spec.name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)spec.mem);
	sqlite3_bind_text(st, 4, spec.args, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, spec.env, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, spec.restart, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)wall_ms());
	if (net)
		sqlite3_bind_text(st, 8, net, -1, SQLITE_TRANSIENT);
	if (spec.snapshot[0])
		sqlite3_bind_text(st, 9, spec.snapshot, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 10, (int)spec.cpu_millis);
	if (spec.incoming[0])
		sqlite3_bind_text(st, 11, spec.incoming, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	int ext = sqlite3_extended_errcode(agent.db);
	sqlite3_finalize(st);
	json_t *vm = rc == SQLITE_DONE ? vm_get_locked(spec.name) : NULL;
	pthread_mutex_unlock(&agent.lock);
	if (rc == SQLITE_DONE)
		r = send_json(c, 201, vm);
	else if (ext == SQLITE_CONSTRAINT_PRIMARYKEY)
		r = send_error(c, 409, "a VM named %s exists", spec.name);
	else
		r = send_error(c, 500, "database: %s", sqlite3_errstr(ext));
out2:
	free(net);
out:
	req_vm_spec_free(&spec);
	return r;
}

/* Waits (without the lock) until the VM leaves state, at most ms; returns its state. */
static void wait_state_change(const char *name, const char *from, unsigned ms)
{
	uint64_t end = mono_ms() + ms;
	char buf[16];
	while (mono_ms() < end && !agent.quit) {
		pthread_mutex_lock(&agent.lock);
		const char *s = vm_state_locked(name, buf, sizeof(buf), NULL);
		int same = s && !strcmp(s, from);
		pthread_mutex_unlock(&agent.lock);
		if (!same)
			return;
		usleep(10000);
	}
}

static enum MHD_Result vm_start(struct MHD_Connection *c, const char *name)
{
	char err[400], buf[16];
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), NULL);
	if (!state) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 404, "no such VM: %s", name);
	}
	if (strcmp(state, "created") && strcmp(state, "exited")) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "VM %s is %s", name, state);
	}
	/* Boot time: from the spawn until the VM's control socket answers. */
	struct timespec spawned, booted;
	clock_gettime(CLOCK_MONOTONIC, &spawned);
	sqlite3_stmt *q;
	sqlite3_prepare_v2(agent.db, "SELECT incoming IS NOT NULL FROM vms WHERE name=?1", -1, &q,
	                   NULL);
	sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
	int incoming = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	int rc = vm_spawn_locked(name, err, sizeof(err));
	pthread_mutex_unlock(&agent.lock);
	if (rc)
		return send_error(c, (unsigned)rc, "%s", err);
	/* An incoming VM answers once a migration has arrived: the start does not wait. */
	uint64_t t0 = incoming ? mono_ms() - 10000 : mono_ms();
	char answer[256];
	useconds_t probe_us = 1000;
	while (mono_ms() - t0 < 10000) {
		if (vm_control(name, "{\"op\":\"status\"}\n", answer, sizeof(answer), 500) == 0) {
			pthread_mutex_lock(&agent.lock);
			sqlite3_stmt *st;
			sqlite3_prepare_v2(
			    agent.db, "UPDATE vms SET boot_ms=?2 WHERE name=?1 AND state='running'",
			    -1, &st, NULL);
			sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
			clock_gettime(CLOCK_MONOTONIC, &booted);
			double boot = (double)(booted.tv_sec - spawned.tv_sec) * 1e3 +
			              (double)(booted.tv_nsec - spawned.tv_nsec) / 1e6;
			sqlite3_bind_double(st, 2, boot);
			sqlite3_step(st);
			sqlite3_finalize(st);
			pthread_mutex_unlock(&agent.lock);
			api_boot_observed(boot);
			break;
		}
		pthread_mutex_lock(&agent.lock);
		const char *s = vm_state_locked(name, buf, sizeof(buf), NULL);
		int running = s && !strcmp(s, "running");
		pthread_mutex_unlock(&agent.lock);
		if (!running)
			break; /* ended already (a bad image, or a short program) */
		/* Quick at first (a boot takes milliseconds), gentler when many VMs start. */
		usleep(probe_us);
		probe_us = probe_us < 16000 ? probe_us * 2 : probe_us;
	}
	pthread_mutex_lock(&agent.lock);
	json_t *vm = vm_get_locked(name);
	pthread_mutex_unlock(&agent.lock);
	return vm ? send_json(c, 200, vm) : send_error(c, 404, "no such VM: %s", name);
}

static enum MHD_Result vm_stop(struct MHD_Connection *c, const char *name, int hard)
{
	char buf[16];
	pid_t pid = 0;
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), &pid);
	if (!state) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 404, "no such VM: %s", name);
	}
	sqlite3_stmt *st;
	if (!strcmp(state, "restarting")) {
		sqlite3_prepare_v2(agent.db, "UPDATE vms SET state='exited' WHERE name=?1", -1, &st,
		                   NULL);
	} else if ((!strcmp(state, "running") || !strcmp(state, "paused") ||
	            (hard && !strcmp(state, "stopping"))) &&
	           pid > 0) {
		/* The supervisor sends SIGKILL at the deadline and marks the VM exited when reaped.
		 */
		sqlite3_prepare_v2(
		    agent.db, "UPDATE vms SET state='stopping', stop_deadline=?2 WHERE name=?1", -1,
		    &st, NULL);
		sqlite3_bind_int64(st, 2,
		                   (sqlite3_int64)(mono_ms() + (hard ? 0 : agent.stop_timeout_ms)));
		kill(-pid, hard ? SIGKILL : SIGTERM);
		/* A paused vCPU still dies by signal; nothing in the guest needs to run. */
	} else {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "VM %s is %s", name, state);
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	wait_state_change(name, "stopping", agent.stop_timeout_ms + 3000);
	pthread_mutex_lock(&agent.lock);
	json_t *vm = vm_get_locked(name);
	pthread_mutex_unlock(&agent.lock);
	return vm ? send_json(c, 200, vm) : send_error(c, 404, "no such VM: %s", name);
}

static enum MHD_Result vm_pause_resume(struct MHD_Connection *c, const char *name, int pause)
{
	char buf[16], answer[512];
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), NULL);
	if (!state) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 404, "no such VM: %s", name);
	}
	if (strcmp(state, pause ? "running" : "paused")) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "VM %s is %s", name, state);
	}
	/* Under the lock: a concurrent stop or second pause must wait for the answer. */
	int rc = vm_control(name, pause ? "{\"op\":\"pause\"}\n" : "{\"op\":\"resume\"}\n", answer,
	                    sizeof(answer), 5000);
	if (rc == 0 && !strstr(answer, "\"error\"")) {
		sqlite3_stmt *st;
		sqlite3_prepare_v2(agent.db, "UPDATE vms SET state=?2 WHERE name=?1", -1, &st,
		                   NULL);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, pause ? "paused" : "running", -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	json_t *vm = vm_get_locked(name);
	pthread_mutex_unlock(&agent.lock);
	if (rc) {
		json_decref(vm);
		return send_error(c, 502, "VM %s's control socket does not answer", name);
	}
	if (strstr(answer, "\"error\"")) {
		json_decref(vm);
		return send_error(c, 409, "the VM refused: %.300s", answer);
	}
	return send_json(c, 200, vm);
}

static enum MHD_Result vm_delete(struct MHD_Connection *c, const char *name)
{
	char buf[16];
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), NULL);
	if (!state) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 404, "no such VM: %s", name);
	}
	if (strcmp(state, "created") && strcmp(state, "exited")) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "VM %s is %s: stop it first", name, state);
	}
	sqlite3_stmt *st;
	sqlite3_prepare_v2(agent.db, "DELETE FROM vms WHERE name=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	char path[PATH_MAX + 96];
	vm_log_path(name, path, sizeof(path));
	unlink(path);
	vm_sock_path(name, path, sizeof(path));
	unlink(path);
	pthread_mutex_unlock(&agent.lock);
	return send_json(c, 200, json_pack("{s:s}", "deleted", name));
}

struct log_stream {
	int fd;
	char name[VM_NAME_MAX + 1];
};

/* Streams the log; at its end waits for more while the VM may still write. */
static ssize_t log_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct log_stream *ls = cls;
	for (;;) {
		ssize_t n = pread(ls->fd, buf, max, (off_t)pos);
		if (n > 0)
			return n;
		if (n < 0 && errno != EINTR)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		char st[16];
		pthread_mutex_lock(&agent.lock);
		const char *s = vm_state_locked(ls->name, st, sizeof(st), NULL);
		int live = s && strcmp(s, "created") && strcmp(s, "exited");
		pthread_mutex_unlock(&agent.lock);
		if (!live || agent.quit) {
			/* One more read: the VM's last words may have landed meanwhile. */
			n = pread(ls->fd, buf, max, (off_t)pos);
			return n > 0 ? n : MHD_CONTENT_READER_END_OF_STREAM;
		}
		usleep(50000);
	}
}

static void log_free(void *cls)
{
	struct log_stream *ls = cls;
	close(ls->fd);
	free(ls);
}

static enum MHD_Result vm_logs(struct MHD_Connection *c, const char *name)
{
	char buf[16], path[PATH_MAX + 96];
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), NULL);
	pthread_mutex_unlock(&agent.lock);
	if (!state)
		return send_error(c, 404, "no such VM: %s", name);
	vm_log_path(name, path, sizeof(path));
	const char *follow = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "follow");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return send_text(c, 200, "text/plain", ""); /* never started: no output yet */
	struct MHD_Response *r;
	if (follow && (!strcmp(follow, "1") || !strcmp(follow, "true"))) {
		struct log_stream *ls = calloc(1, sizeof(*ls));
		if (!ls) {
			close(fd);
			return send_error(c, 500, "out of memory");
		}
		ls->fd = fd;
		snprintf(ls->name, sizeof(ls->name), "%s", name);
		r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, log_read, ls,
		                                      log_free);
	} else {
		struct stat sb;
		fstat(fd, &sb);
		r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	}
	MHD_add_response_header(r, "Content-Type", "text/plain");
	enum MHD_Result rc = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	__atomic_add_fetch(&request_counts[200], 1, __ATOMIC_RELAXED);
	return rc;
}

/* --- stats, snapshots, migration ------------------------------------------------------ */

static json_t *usage_json(pid_t pid, uint64_t mem)
{
	struct vm_usage u;
	if (pid <= 0 || vm_usage(pid, mem, &u))
		return json_null();
	return json_pack("{s:I, s:I, s:I, s:f}", "rss_bytes", (json_int_t)u.rss, "pss_bytes",
	                 (json_int_t)u.pss, "guest_touched_bytes", (json_int_t)u.guest_rss,
	                 "cpu_seconds", u.cpu_seconds);
}

static enum MHD_Result vm_stats(struct MHD_Connection *c, const char *name)
{
	pthread_mutex_lock(&agent.lock);
	json_t *vm = vm_get_locked(name);
	pthread_mutex_unlock(&agent.lock);
	if (!vm)
		return send_error(c, 404, "no such VM: %s", name);
	json_t *pid = json_object_get(vm, "pid");
	uint64_t mem = (uint64_t)json_integer_value(json_object_get(vm, "mem"));
	json_t *out =
	    json_pack("{s:s, s:O, s:O, s:I, s:O, s:O, s:o}", "name", name, "state",
	              json_object_get(vm, "state"), "pid", pid, "mem", (json_int_t)mem, "uptime_ms",
	              json_object_get(vm, "uptime_ms"), "boot_ms", json_object_get(vm, "boot_ms"),
	              "usage", usage_json((pid_t)json_integer_value(pid), mem));
	json_decref(vm);
	return send_json(c, 200, out);
}

/* Sets a VM's state from `from` to `to` under the lock; 0, or 409 naming its state. */
static int vm_transition(const char *name, const char *const *from, const char *to, char *state_out,
                         size_t len)
{
	char buf[16];
	pthread_mutex_lock(&agent.lock);
	const char *state = vm_state_locked(name, buf, sizeof(buf), NULL);
	int ok = 0;
	for (size_t i = 0; state && from[i]; i++)
		ok |= !strcmp(state, from[i]);
	snprintf(state_out, len, "%s", state ? state : "");
	if (ok && to) {
		sqlite3_stmt *st;
		sqlite3_prepare_v2(agent.db, "UPDATE vms SET state=?2 WHERE name=?1", -1, &st,
		                   NULL);
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
		sqlite3_step(st);
		sqlite3_finalize(st);
	}
	pthread_mutex_unlock(&agent.lock);
	return !state ? 404 : ok ? 0 : 409;
}

/* Copies a field of the monitor's one-line JSON answer into obj. */
static void copy_answer(json_t *obj, const char *answer)
{
	json_t *a = json_loads(answer, 0, NULL);
	if (json_is_object(a))
		json_object_update(obj, a);
	json_decref(a);
}

static enum MHD_Result vm_snapshot(struct MHD_Connection *c, const char *name, struct req *rq)
{
	char snap[VM_NAME_MAX + 1], err[400], state[16], path[PATH_MAX + 96], req[PATH_MAX + 200];
	int stop;
	if (req_parse_snapshot(rq->body, rq->len, snap, &stop, err, sizeof(err)))
		return send_error(c, 400, "%s", err);
	/* "snapshotting" keeps stop, pause and migrate away while the monitor writes. */
	static const char *const from[] = {"running", "paused", NULL};
	int rc = vm_transition(name, from, "snapshotting", state, sizeof(state));
	if (rc)
		return rc == 404 ? send_error(c, 404, "no such VM: %s", name)
		                 : send_error(c, 409, "VM %s is %s", name, state);
	pthread_mutex_lock(&agent.lock);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(agent.db, "SELECT count(*) FROM snapshots WHERE name=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_TRANSIENT);
	int taken = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	enum MHD_Result r;
	const char *back = state; /* running or paused, as it was */
	if (taken) {
		r = send_error(c, 409, "a snapshot named %s exists", snap);
		goto restore_state;
	}
	snprintf(path, sizeof(path), "%s/snapshots/%s.snap", agent.state_dir, snap);
	/* Built by jansson: the state directory's path may hold any character. */
	json_t *jreq = json_pack("{s:s, s:s, s:b}", "op", "snapshot", "path", path, "stop", stop);
	char *text = json_dumps(jreq, JSON_COMPACT);
	json_decref(jreq);
	snprintf(req, sizeof(req), "%s\n", text ? text : "");
	free(text);
	char answer[1024];
	uint64_t t0 = mono_ms();
	if (vm_control(name, req, answer, sizeof(answer), 120000)) {
		r = send_error(c, 502, "VM %s's control socket does not answer", name);
		goto restore_state;
	}
	if (strstr(answer, "\"error\"")) {
		r = send_error(c, 409, "the VM refused: %.300s", answer);
		goto restore_state;
	}
	if (stop)
		back = "paused";
	struct stat sb;
	if (stat(path, &sb)) {
		r = send_error(c, 500, "the snapshot file is missing: %s", strerror(errno));
		goto restore_state;
	}
	pthread_mutex_lock(&agent.lock);
	sqlite3_prepare_v2(agent.db,
	                   "INSERT INTO snapshots(name, vm, image, mem, size, path, created_at) "
	                   "SELECT ?1, name, image, mem, ?2, ?3, ?4 FROM vms WHERE name=?5",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, snap, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)sb.st_size);
	sqlite3_bind_text(st, 3, path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)wall_ms());
	sqlite3_bind_text(st, 5, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	if (rc != SQLITE_DONE) {
		unlink(path);
		r = send_error(c, 500, "database: %s", sqlite3_errmsg(agent.db));
		goto restore_state;
	}
	json_t *out = json_pack("{s:s, s:s, s:I, s:I}", "name", snap, "vm", name, "size",
	                        (json_int_t)sb.st_size, "total_ms", (json_int_t)(mono_ms() - t0));
	copy_answer(out, answer);
	r = send_json(c, 201, out);
restore_state:;
	static const char *const snapshotting[] = {"snapshotting", NULL};
	vm_transition(name, snapshotting, back, state, sizeof(state));
	return r;
}

static void note_migration(void *ctx, const char *line)
{
	pthread_mutex_lock(&agent.lock);
	migration_report_locked(ctx, line);
	pthread_mutex_unlock(&agent.lock);
}

static enum MHD_Result vm_migrate(struct MHD_Connection *c, const char *name, struct req *rq)
{
	char to[REQ_MIGRATE_ADDR], err[400], state[16], req[160], answer[1024];
	if (req_parse_migrate(rq->body, rq->len, to, err, sizeof(err)))
		return send_error(c, 400, "%s", err);
	/* While "migrating" no other operation runs, and the supervisor restarts nothing. */
	static const char *const from[] = {"running", NULL};
	int rc = vm_transition(name, from, "migrating", state, sizeof(state));
	if (rc)
		return rc == 404 ? send_error(c, 404, "no such VM: %s", name)
		                 : send_error(c, 409, "VM %s is %s (only a running VM migrates)",
		                              name, state);
	snprintf(req, sizeof(req), "{\"op\":\"migrate\",\"to\":\"%s\",\"progress\":true}\n", to);
	int ok = vm_control_progress(name, req, answer, sizeof(answer), 300000, note_migration,
	                             (void *)name) == 0 &&
	         !strstr(answer, "\"error\"");
	pthread_mutex_lock(&agent.lock);
	migration_report_locked(name, NULL);
	pthread_mutex_unlock(&agent.lock);
	static const char *const migrating[] = {"migrating", NULL};
	if (!ok) {
		/* A migration left in doubt keeps the VM paused (the target may run it): say so. */
		char status[128] = "";
		int paused =
		    answer[0] &&
		    vm_control(name, "{\"op\":\"status\"}\n", status, sizeof(status), 500) == 0 &&
		    strstr(status, "\"paused\"");
		vm_transition(name, migrating, paused ? "paused" : "running", state, sizeof(state));
		if (!answer[0])
			return send_error(c, 502, "VM %s's control socket does not answer", name);
		json_t *a = json_loads(answer, 0, NULL);
		const char *why = json_string_value(json_object_get(a, "error"));
		enum MHD_Result r =
		    paused ? send_error(c, 502, "migration in doubt, the VM is paused here: %.300s",
		                        why ? why : answer)
		           : send_error(c, 502, "migration failed, the VM runs on here: %.300s",
		                        why ? why : answer);
		json_decref(a);
		return r;
	}
	/* The monitor here ends now; the supervisor marks the VM exited, not restarted. */
	pthread_mutex_lock(&agent.lock);
	sqlite3_stmt *st;
	char reason[80];
	snprintf(reason, sizeof(reason), "migrated to %s", to);
	sqlite3_prepare_v2(agent.db,
	                   "UPDATE vms SET reason=?2, state=CASE state WHEN 'migrating' THEN "
	                   "'stopping' ELSE state END, stop_deadline=?3 WHERE name=?1",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, reason, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)(mono_ms() + agent.stop_timeout_ms));
	sqlite3_step(st);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	wait_state_change(name, "stopping", agent.stop_timeout_ms + 3000);
	json_t *out = json_pack("{s:s, s:s}", "name", name, "to", to);
	copy_answer(out, answer);
	return send_json(c, 200, out);
}

static json_t *snapshot_json(sqlite3_stmt *st)
{
	return json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "name", sqlite3_column_text(st, 0), "vm",
	                 sqlite3_column_text(st, 1), "image", sqlite3_column_text(st, 2), "mem",
	                 (json_int_t)sqlite3_column_int64(st, 3), "size",
	                 (json_int_t)sqlite3_column_int64(st, 4), "created_at",
	                 (json_int_t)sqlite3_column_int64(st, 5));
}

static enum MHD_Result snapshots_route(struct MHD_Connection *c, const char *method,
                                       const char *name)
{
	sqlite3_stmt *st;
	if (!name) {
		if (strcmp(method, "GET"))
			return send_error(c, 405,
			                  "method %s not allowed on /snapshots (take one "
			                  "with POST /vms/NAME/snapshot)",
			                  method);
		json_t *arr = json_array();
		pthread_mutex_lock(&agent.lock);
		sqlite3_prepare_v2(agent.db,
		                   "SELECT name, vm, image, mem, size, created_at FROM snapshots "
		                   "ORDER BY created_at, name",
		                   -1, &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(arr, snapshot_json(st));
		sqlite3_finalize(st);
		pthread_mutex_unlock(&agent.lock);
		return send_json(c, 200, arr);
	}
	if (!req_name_valid(name))
		return send_error(c, 400, "bad snapshot name");
	if (strcmp(method, "GET") && strcmp(method, "DELETE"))
		return send_error(c, 405, "method %s not allowed on a snapshot", method);
	pthread_mutex_lock(&agent.lock);
	json_t *out = NULL;
	sqlite3_prepare_v2(agent.db,
	                   "SELECT name, vm, image, mem, size, created_at, path, (SELECT count(*) "
	                   "FROM vms WHERE snapshot=snapshots.name) FROM snapshots WHERE name=?1",
	                   -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	char path[PATH_MAX + 96] = "";
	int users = 0;
	if (sqlite3_step(st) == SQLITE_ROW) {
		out = snapshot_json(st);
		snprintf(path, sizeof(path), "%s", sqlite3_column_text(st, 6));
		users = sqlite3_column_int(st, 7);
		json_object_set_new(out, "vms", json_integer(users));
	}
	sqlite3_finalize(st);
	if (!out) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 404, "no such snapshot: %s", name);
	}
	if (!strcmp(method, "GET")) {
		pthread_mutex_unlock(&agent.lock);
		return send_json(c, 200, out);
	}
	json_decref(out);
	if (users) {
		pthread_mutex_unlock(&agent.lock);
		return send_error(c, 409, "snapshot %s is used by %d VM(s)", name, users);
	}
	sqlite3_prepare_v2(agent.db, "DELETE FROM snapshots WHERE name=?1", -1, &st, NULL);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	sqlite3_step(st);
	sqlite3_finalize(st);
	unlink(path);
	pthread_mutex_unlock(&agent.lock);
	return send_json(c, 200, json_pack("{s:s}", "deleted", name));
}

static enum MHD_Result vms_route(struct MHD_Connection *c, const char *method, const char *name,
                                 const char *action, struct req *rq)
{
	if (!name) {
		if (!strcmp(method, "POST"))
			return post_vm(c, rq);
		if (strcmp(method, "GET"))
			return send_error(c, 405, "method %s not allowed on /vms", method);
		json_t *arr = json_array();
		sqlite3_stmt *st;
		pthread_mutex_lock(&agent.lock);
		sqlite3_prepare_v2(agent.db,
		                   "SELECT " VM_COLUMNS " FROM vms ORDER BY created_at, name", -1,
		                   &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(arr, vm_json(st));
		sqlite3_finalize(st);
		pthread_mutex_unlock(&agent.lock);
		return send_json(c, 200, arr);
	}
	if (!vm_name_valid(name))
		return send_error(c, 400, "bad VM name");
	if (!action) {
		if (!strcmp(method, "DELETE"))
			return vm_delete(c, name);
		if (strcmp(method, "GET"))
			return send_error(c, 405, "method %s not allowed on a VM", method);
		pthread_mutex_lock(&agent.lock);
		json_t *vm = vm_get_locked(name);
		pthread_mutex_unlock(&agent.lock);
		return vm ? send_json(c, 200, vm) : send_error(c, 404, "no such VM: %s", name);
	}
	if (!strcmp(action, "logs"))
		return strcmp(method, "GET") ? send_error(c, 405, "logs takes GET")
		                             : vm_logs(c, name);
	if (!strcmp(action, "stats"))
		return strcmp(method, "GET") ? send_error(c, 405, "stats takes GET")
		                             : vm_stats(c, name);
	if (strcmp(method, "POST"))
		return send_error(c, 405, "%s takes POST", action);
	if (!strcmp(action, "start"))
		return vm_start(c, name);
	if (!strcmp(action, "stop"))
		return vm_stop(c, name, 0);
	if (!strcmp(action, "kill"))
		return vm_stop(c, name, 1);
	if (!strcmp(action, "pause"))
		return vm_pause_resume(c, name, 1);
	if (!strcmp(action, "resume"))
		return vm_pause_resume(c, name, 0);
	if (!strcmp(action, "snapshot"))
		return vm_snapshot(c, name, rq);
	if (!strcmp(action, "migrate"))
		return vm_migrate(c, name, rq);
	return send_error(c, 404,
	                  "unknown action %.32s (start stop kill pause resume snapshot migrate "
	                  "logs stats)",
	                  action);
}

/* --- node, metrics, OpenAPI ------------------------------------------------------------ */

static const char *const all_states[] = {"created", "running",    "paused",       "stopping",
                                         "exited",  "restarting", "snapshotting", "migrating"};
#define NSTATES (sizeof(all_states) / sizeof(all_states[0]))

static void count_states(long long counts[NSTATES])
{
	sqlite3_stmt *st;
	memset(counts, 0, NSTATES * sizeof(counts[0]));
	pthread_mutex_lock(&agent.lock);
	sqlite3_prepare_v2(agent.db, "SELECT state, count(*) FROM vms GROUP BY state", -1, &st,
	                   NULL);
	while (sqlite3_step(st) == SQLITE_ROW)
		for (size_t i = 0; i < NSTATES; i++)
			if (!strcmp((const char *)sqlite3_column_text(st, 0), all_states[i]))
				counts[i] = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
}

static enum MHD_Result get_node(struct MHD_Connection *c)
{
	long long counts[NSTATES];
	count_states(counts);
	json_t *vms = json_object();
	for (size_t i = 0; i < NSTATES; i++)
		json_object_set_new(vms, all_states[i], json_integer(counts[i]));
	uint64_t total, avail = node_mem_available(&total);
	return send_json(
	    c, 200,
	    json_pack("{s:s, s:I, s:I, s:I, s:I, s:b, s:s, s:b, s:o}", "version", HEDGED_VERSION,
	              "cpus", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "mem_total",
	              (json_int_t)total, "mem_available", (json_int_t)avail, "vm_mem_limit",
	              (json_int_t)agent.max_vm_mem, "kvm", access("/dev/kvm", R_OK | W_OK) == 0,
	              "cgroup", agent.cgroup, "tcp", agent.token[0] != 0, "vms", vms));
}

/* Boot times (spawn to control socket answering) since hedged started: a histogram. */
static const double boot_buckets[] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000};
#define NBUCKETS (sizeof(boot_buckets) / sizeof(boot_buckets[0]))
static unsigned long long boot_counts[NBUCKETS + 1];
static double boot_sum;
static pthread_mutex_t boot_lock = PTHREAD_MUTEX_INITIALIZER;

void api_boot_observed(double ms)
{
	pthread_mutex_lock(&boot_lock);
	size_t i = 0;
	while (i < NBUCKETS && ms > boot_buckets[i])
		i++;
	boot_counts[i]++;
	boot_sum += ms;
	pthread_mutex_unlock(&boot_lock);
}

/* A growing text buffer; on allocation failure it stops growing and says so. */
struct text {
	char *buf;
	size_t len, cap;
	int failed;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = t->failed ? 0 : vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (t->failed || n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		char *b = realloc(t->buf, t->cap * 2 + (size_t)n);
		if (!b) {
			t->failed = 1;
			return;
		}
		t->buf = b;
		t->cap = t->cap * 2 + (size_t)n;
	}
}

static enum MHD_Result get_metrics(struct MHD_Connection *c)
{
	long long counts[NSTATES];
	count_states(counts);
	struct text t = {.buf = malloc(8192), .cap = 8192};
	if (!t.buf)
		return send_error(c, 500, "out of memory");
	t.buf[0] = '\0';
	put(&t, "# HELP hedge_vms VMs known to hedged, by state.\n# TYPE hedge_vms gauge\n");
	for (size_t i = 0; i < NSTATES; i++)
		put(&t, "hedge_vms{state=\"%s\"} %lld\n", all_states[i], counts[i]);
	put(&t, "# HELP hedge_api_requests_total API requests answered, by HTTP status.\n"
	        "# TYPE hedge_api_requests_total counter\n");
	for (unsigned code = 100; code < 600; code++) {
		unsigned long long n = __atomic_load_n(&request_counts[code], __ATOMIC_RELAXED);
		if (n)
			put(&t, "hedge_api_requests_total{code=\"%u\"} %llu\n", code, n);
	}
	uint64_t total, avail = node_mem_available(&total);
	put(&t,
	    "# HELP hedge_node_memory_available_bytes MemAvailable of the node.\n"
	    "# TYPE hedge_node_memory_available_bytes gauge\n"
	    "hedge_node_memory_available_bytes %llu\n",
	    (unsigned long long)avail);

	pthread_mutex_lock(&boot_lock);
	unsigned long long cum = 0;
	put(&t, "# HELP hedge_vm_boot_milliseconds Time from spawning a VM's monitor to its "
	        "control socket answering.\n# TYPE hedge_vm_boot_milliseconds histogram\n");
	for (size_t i = 0; i <= NBUCKETS; i++) {
		cum += boot_counts[i];
		if (i < NBUCKETS)
			put(&t, "hedge_vm_boot_milliseconds_bucket{le=\"%g\"} %llu\n",
			    boot_buckets[i], cum);
		else
			put(&t, "hedge_vm_boot_milliseconds_bucket{le=\"+Inf\"} %llu\n", cum);
	}
	put(&t, "hedge_vm_boot_milliseconds_sum %.3f\nhedge_vm_boot_milliseconds_count %llu\n",
	    boot_sum, cum);
	pthread_mutex_unlock(&boot_lock);

	/* Per VM: read /proc outside the lock (a thousand VMs take a while). */
	struct live {
		char name[VM_NAME_MAX + 1];
		pid_t pid;
		uint64_t mem;
	} *vms = NULL;
	size_t n = 0;
	sqlite3_stmt *st;
	pthread_mutex_lock(&agent.lock);
	sqlite3_prepare_v2(agent.db,
	                   "SELECT name, pid, mem FROM vms WHERE pid IS NOT NULL ORDER BY name", -1,
	                   &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct live *v2 = realloc(vms, (n + 1) * sizeof(*vms));
		if (!v2)
			break;
		vms = v2;
		snprintf(vms[n].name, sizeof(vms[n].name), "%s", sqlite3_column_text(st, 0));
		vms[n].pid = (pid_t)sqlite3_column_int64(st, 1);
		vms[n].mem = (uint64_t)sqlite3_column_int64(st, 2);
		n++;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&agent.lock);
	struct vm_usage *u = calloc(n ? n : 1, sizeof(*u));
	int *ok = calloc(n ? n : 1, sizeof(*ok));
	for (size_t i = 0; u && ok && i < n; i++)
		ok[i] = vm_usage(vms[i].pid, vms[i].mem, &u[i]) == 0;
	static const struct {
		const char *metric, *help, *type;
	} per_vm[] = {
	    {"hedge_vm_memory_pss_bytes", "PSS of the VM's monitor, guest pages included.",
	     "gauge"},
	    {"hedge_vm_memory_rss_bytes", "RSS of the VM's monitor, guest pages included.",
	     "gauge"},
	    {"hedge_vm_guest_touched_bytes", "Guest memory pages resident (touched).", "gauge"},
	    {"hedge_vm_cpu_seconds_total", "CPU time of the VM's monitor (user + system).",
	     "counter"},
	};
	for (size_t m = 0; u && ok && m < sizeof(per_vm) / sizeof(per_vm[0]); m++) {
		put(&t, "# HELP %s %s\n# TYPE %s %s\n", per_vm[m].metric, per_vm[m].help,
		    per_vm[m].metric, per_vm[m].type);
		for (size_t i = 0; i < n; i++) {
			if (!ok[i])
				continue;
			if (m == 3)
				put(&t, "%s{vm=\"%s\"} %.2f\n", per_vm[m].metric, vms[i].name,
				    u[i].cpu_seconds);
			else
				put(&t, "%s{vm=\"%s\"} %llu\n", per_vm[m].metric, vms[i].name,
				    (unsigned long long)(m == 0   ? u[i].pss
				                         : m == 1 ? u[i].rss
				                                  : u[i].guest_rss));
		}
	}
	free(u);
	free(ok);
	free(vms);
	enum MHD_Result rc = t.failed ? send_error(c, 500, "out of memory")
	                              : send_text(c, 200, "text/plain; version=0.0.4", t.buf);
	free(t.buf);
	return rc;
}

static const char openapi[] =
#include "openapi.inc"
    ;

/* --- dispatch -------------------------------------------------------------------------- */

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *method,
                             struct req *rq)
{
	if (rq->denied) {
		/* Refused the same way whatever was wrong, so a client learns nothing. */
		struct MHD_Response *r = MHD_create_response_from_buffer(
		    strlen("{\"error\":\"missing or wrong bearer token\"}\n"),
		    (void *)"{\"error\":\"missing or wrong bearer token\"}\n",
		    MHD_RESPMEM_PERSISTENT);
		MHD_add_response_header(r, "Content-Type", "application/json");
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"hedged\"");
		enum MHD_Result rc = MHD_queue_response(c, 401, r);
		MHD_destroy_response(r);
		__atomic_add_fetch(&request_counts[401], 1, __ATOMIC_RELAXED);
		return rc;
	}
	if (rq->too_big)
		return send_error(c, 413, "request body larger than %zu bytes", rq->limit);
	char path[512];
	if (strlen(url) >= sizeof(path))
		return send_error(c, 414, "URL too long");
	snprintf(path, sizeof(path), "%s", url);
	char *parts[4] = {0};
	int n = 0;
	for (char *save, *tok = strtok_r(path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
		if (n == 4)
			return send_error(c, 404, "no such route: %.100s", url);
		parts[n++] = tok;
	}
	int get = !strcmp(method, "GET");
	if (n == 1 && !strcmp(parts[0], "node") && get)
		return get_node(c);
	if (n == 1 && !strcmp(parts[0], "metrics") && get)
		return get_metrics(c);
	if (n == 1 && !strcmp(parts[0], "openapi.json") && get)
		return send_text(c, 200, "application/json", openapi);
	if (n >= 1 && n <= 3 && !strcmp(parts[0], "images"))
		return images_route(c, method, parts[1], parts[2], rq);
	if (n >= 1 && n <= 3 && !strcmp(parts[0], "vms"))
		return vms_route(c, method, parts[1], parts[2], rq);
	if (n >= 1 && n <= 2 && !strcmp(parts[0], "snapshots"))
		return snapshots_route(c, method, parts[1]);
	return send_error(c, 404, "no such route: %s %.100s", method, url);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_size, void **con_cls)
{
	(void)version;
	struct req *rq = *con_cls;
	if (!rq) {
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		if (cls == &over_tcp &&
		    !req_bearer_ok(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"),
		                   agent.token))
			rq->denied = 1;
		rq->limit = !strncmp(url, "/images", 7) ? agent.max_image_bytes : MAX_JSON_BODY;
		*con_cls = rq;
		/* Refused before it is read when the client announces its size. */
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > rq->limit)
			rq->too_big = 1;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!rq->too_big && rq->len + *upload_size > rq->limit)
			rq->too_big = 1;
		if (!rq->too_big && !rq->denied) {
			if (rq->len + *upload_size > rq->cap) {
				size_t cap = rq->cap ? rq->cap : 4096;
				while (cap < rq->len + *upload_size)
					cap *= 2;
				char *b = realloc(rq->body, cap);
				if (!b)
					return MHD_NO;
				rq->body = b;
				rq->cap = cap;
			}
			memcpy(rq->body + rq->len, upload_data, *upload_size);
			rq->len += *upload_size;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	return route(c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	struct req *rq = *con_cls;
	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

static struct MHD_Daemon *start_daemon(int fd, const int *kind)
{
	/*
	 * A thread per connection: starts wait for their VM's boot and logs
	 * follow, so a thousand starts in parallel need a thousand threads, each
	 * with a small stack.
	 */
	return MHD_start_daemon(
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL,
	    NULL, on_request, (void *)kind, MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    (unsigned)120, MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
	    MHD_OPTION_THREAD_STACK_SIZE, (size_t)(256u << 10), MHD_OPTION_LISTENING_ADDRESS_REUSE,
	    (unsigned)1, MHD_OPTION_END);
}

int api_start(int listen_fd, int tcp_fd, char *err, size_t errlen)
{
	daemon_ = start_daemon(listen_fd, &over_unix);
	if (daemon_ && tcp_fd >= 0)
		tcp_daemon = start_daemon(tcp_fd, &over_tcp);
	if (!daemon_ || (tcp_fd >= 0 && !tcp_daemon)) {
		snprintf(err, errlen, "cannot start the HTTP server");
		return -1;
	}
	return 0;
}

void api_stop(void)
{
	if (tcp_daemon)
		MHD_stop_daemon(tcp_daemon);
	if (daemon_)
		MHD_stop_daemon(daemon_);
}
