/*
 * cmd_agent.c - the client side of hedged: `hedge ps|images|create|start|
 * stop|rm|logs|inspect`, docker-like, talking to the agent's REST API on its
 * unix socket.
 *
 * The hedge binary is static and links no HTTP or JSON library, so this
 * speaks just enough HTTP/1.0 (the agent then closes after each answer and
 * never chunks a body) and reads the agent's JSON with a small scanner that
 * picks top-level fields out of objects.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "status.h"

#define DEFAULT_SOCKET "/run/hedged.sock"

struct reply {
	int code;
	char *body;
	size_t len;
};

/* Where hedged listens: its unix socket, or TCP with a bearer token. */
struct target {
	char path[108]; /* unix socket ("" for TCP) */
	struct sockaddr_in tcp;
	char token[256]; /* for TCP */
	char label[160]; /* for messages */
};

static int progress_wanted; /* --progress, or stderr is a terminal */
/* While set, request() calls it every WAIT_REPORT_MS that its answer is late. */
static void (*while_waiting)(void *ctx);
static void *while_waiting_ctx;
#define WAIT_REPORT_MS 250

/*
 * unix:PATH, PATH, tcp://A.B.C.D:PORT or tcp:A.B.C.D:PORT (the token from
 * token_file, else $HEDGED_TOKEN).  0, or -1 after saying why.
 */
static int parse_target(const char *host, const char *token_file, struct target *t)
{
	memset(t, 0, sizeof(*t));
	if (!host)
		host = getenv("HEDGED_SOCKET");
	if (!host)
		host = DEFAULT_SOCKET;
	snprintf(t->label, sizeof(t->label), "%s", host);
	const char *addr = !strncmp(host, "tcp://", 6) ? host + 6
	                   : !strncmp(host, "tcp:", 4) ? host + 4
	                                               : NULL;
	if (!addr) {
		const char *path = !strncmp(host, "unix:", 5) ? host + 5 : host;
		if (strlen(path) >= sizeof(t->path) || !path[0]) {
			fprintf(stderr, "hedge: bad socket path: %s\n", path);
			return -1;
		}
		strcpy(t->path, path);
		return 0;
	}
	char ip[16];
	const char *colon = strrchr(addr, ':');
	char *end;
	long port = colon ? strtol(colon + 1, &end, 10) : 0;
	if (!colon || colon - addr >= (long)sizeof(ip) || *end || port <= 0 || port > 65535) {
		fprintf(stderr, "hedge: --host needs unix:PATH or tcp://A.B.C.D:PORT: %s\n", host);
		return -1;
	}
	memcpy(ip, addr, (size_t)(colon - addr));
	ip[colon - addr] = '\0';
	t->tcp.sin_family = AF_INET;
	t->tcp.sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, ip, &t->tcp.sin_addr) != 1) {
		fprintf(stderr, "hedge: --host needs unix:PATH or tcp://A.B.C.D:PORT: %s\n", host);
		return -1;
	}
	const char *tok = getenv("HEDGED_TOKEN");
	if (token_file) {
		FILE *f = fopen(token_file, "r");
		if (!f || !fgets(t->token, sizeof(t->token), f)) {
			fprintf(stderr, "hedge: cannot read token file %s\n", token_file);
			if (f)
				fclose(f);
			return -1;
		}
		fclose(f);
		t->token[strcspn(t->token, "\r\n")] = '\0';
	} else if (tok) {
		snprintf(t->token, sizeof(t->token), "%s", tok);
	}
	if (!t->token[0]) {
		fprintf(stderr, "hedge: hedged over TCP needs a token: --token-file FILE or "
		                "$HEDGED_TOKEN\n");
		return -1;
	}
	return 0;
}

static void show_progress(const char *what, size_t done, size_t total)
{
	if (!progress_wanted || total < (1u << 20))
		return;
	fprintf(stderr, "\rhedge: %s %.1f/%.1f MiB (%3d%%)%s", what, done / 1048576.0,
	        total / 1048576.0, (int)(total ? done * 100 / total : 100),
	        done == total ? "\n" : "");
}

/*
 * One request.  With stream set, the body is copied to stdout as it comes
 * (for logs -f) instead of being kept.  0, or -1 after saying why.
 */
static int request(const struct target *t, const char *method, const char *path, const void *body,
                   size_t body_len, int stream, struct reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	int fd;
	if (t->path[0]) {
		struct sockaddr_un addr = {.sun_family = AF_UNIX};
		strcpy(addr.sun_path, t->path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
			close(fd);
			fd = -1;
		}
	} else {
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (const struct sockaddr *)&t->tcp, sizeof(t->tcp)) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		fprintf(stderr, "hedge: cannot reach hedged at %s: %s\n", t->label,
		        strerror(errno));
		return -1;
	}
	char head[1024], auth[300] = "";
	if (!t->path[0])
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", t->token);
	int n = snprintf(head, sizeof(head),
	                 "%s %s HTTP/1.0\r\nHost: hedged\r\nContent-Length: %zu\r\n"
	                 "Content-Type: %s\r\n%s\r\n",
	                 method, path, body_len,
	                 body_len && ((const char *)body)[0] == '{' ? "application/json"
	                                                            : "application/octet-stream",
	                 auth);
	const char *parts[2] = {head, body};
	size_t lens[2] = {(size_t)n, body_len};
	for (int p = 0; p < 2; p++)
		for (size_t sent = 0; sent < lens[p];) {
			ssize_t w = send(fd, parts[p] + sent, lens[p] - sent, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				fprintf(stderr, "hedge: cannot send to hedged: %s\n",
				        strerror(errno));
				close(fd);
				return -1;
			}
			sent += (size_t)w;
			if (p == 1)
				show_progress("uploading", sent, lens[1]);
		}
	size_t cap = 65536, len = 0;
	char *buf = malloc(cap + 1);
	char *body_at = NULL;
	for (;;) {
		if (len == cap) {
			char *b = realloc(buf, cap * 2 + 1);
			if (!b)
				break;
			buf = b;
			cap *= 2;
		}
		if (while_waiting && !len) {
			struct pollfd p = {.fd = fd, .events = POLLIN};
			int ready = poll(&p, 1, WAIT_REPORT_MS);
			if (ready < 0 && errno != EINTR)
				break;
			if (ready <= 0) {
				void (*hook)(void *) = while_waiting;
				while_waiting = NULL; /* its own requests wait plainly */
				hook(while_waiting_ctx);
				while_waiting = hook;
				continue;
			}
		}
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (!body_at && (body_at = strstr(buf, "\r\n\r\n")))
			body_at += 4;
		if (!stream && body_at) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			if (cl && cl < body_at)
				show_progress("downloading", len - (size_t)(body_at - buf),
				              strtoull(cl + 17, NULL, 10));
		}
		if (stream && body_at && sscanf(buf, "HTTP/%*s %d", &rep->code) == 1 &&
		    rep->code == 200) {
			fwrite(body_at, 1, len - (size_t)(body_at - buf), stdout);
			fflush(stdout);
			len = 0;
			body_at = buf;
			buf[0] = '\0';
		}
	}
	close(fd);
	buf[len] = '\0';
	if (!rep->code && sscanf(buf, "HTTP/%*s %d", &rep->code) != 1) {
		fprintf(stderr, "hedge: hedged sent no HTTP answer\n");
		free(buf);
		return -1;
	}
	body_at = strstr(buf, "\r\n\r\n");
	size_t off = body_at ? (size_t)(body_at + 4 - buf) : (stream ? 0 : len);
	if (stream && rep->code == 200)
		off = 0;
	memmove(buf, buf + off, len - off + 1);
	rep->body = buf;
	rep->len = len - off;
	return 0;
}

/* Prints the agent's refusal as one line; the exit status for it. */
static int refused(const struct reply *rep)
{
	char *msg = strstr(rep->body, "\"error\":\"");
	if (msg) {
		msg += 9;
		char *end = msg;
		while (*end && !(*end == '"' && end[-1] != '\\'))
			end++;
		*end = '\0';
	}
	fprintf(stderr, "hedge: hedged refused (%d): %s\n", rep->code, msg ? msg : rep->body);
	return 1;
}

/*
 * The text of a top-level field of the JSON object starting at obj, into
 * out (strings unquoted, escapes other than \" and \\ kept as written).
 * Returns the end of the object; out is "" when the field is absent.
 */
static const char *field(const char *obj, const char *key, char *out, size_t outlen)
{
	int depth = 0;
	const char *p = obj;
	size_t klen = strlen(key);
	out[0] = '\0';
	for (; *p; p++) {
		if (*p == '"') {
			const char *s = ++p;
			while (*p && *p != '"')
				p += p[0] == '\\' && p[1] ? 2 : 1;
			if (!*p)
				break;
			if (depth == 1 && (size_t)(p - s) == klen && !strncmp(s, key, klen) &&
			    p[1] == ':') {
				const char *v = p + 2;
				size_t o = 0;
				if (*v == '"') {
					for (v++; *v && *v != '"' && o + 1 < outlen; v++) {
						if (*v == '\\' && v[1])
							v++;
						out[o++] = *v;
					}
				} else if (*v == '[' || *v == '{') {
					int d = 0;
					do {
						d += *v == '[' || *v == '{'   ? 1
						     : *v == ']' || *v == '}' ? -1
						                              : 0;
						if (o + 1 < outlen)
							out[o++] = *v;
						v++;
					} while (*v && d);
				} else {
					while (*v && *v != ',' && *v != '}' && o + 1 < outlen)
						out[o++] = *v++;
				}
				out[o] = '\0';
			}
			continue;
		}
		if (*p == '{' || *p == '[')
			depth++;
		else if (*p == '}' || *p == ']') {
			if (--depth == 0)
				return p + 1;
		}
	}
	return p;
}

static const char *next_object(const char *p)
{
	while (*p && *p != '{')
		p++;
	return *p ? p : NULL;
}

static void human_duration(char *out, size_t len, long long ms)
{
	if (ms < 60000)
		snprintf(out, len, "%lld seconds", ms / 1000);
	else if (ms < 3600000)
		snprintf(out, len, "%lld minutes", ms / 60000);
	else
		snprintf(out, len, "%lld hours", ms / 3600000);
}

static int do_ps(const struct target *sock, int json)
{
	struct reply rep;
	if (request(sock, "GET", "/vms", NULL, 0, 0, &rep))
		return 2;
	if (rep.code != 200)
		return refused(&rep);
	if (json) {
		fputs(rep.body, stdout);
		free(rep.body);
		return 0;
	}
	printf("%-20s %-14s %-10s %-8s %-8s %-20s %s\n", "NAME", "IMAGE", "STATE", "PID", "MEM",
	       "STATUS", "BOOT");
	for (const char *o = next_object(rep.body); o; o = next_object(o)) {
		char name[80], image[80], state[20], pid[20], mem[32], up[32], code[16], boot[32],
		    status[64];
		field(o, "name", name, sizeof(name));
		field(o, "image", image, sizeof(image));
		field(o, "state", state, sizeof(state));
		field(o, "pid", pid, sizeof(pid));
		field(o, "mem", mem, sizeof(mem));
		field(o, "uptime_ms", up, sizeof(up));
		field(o, "exit_code", code, sizeof(code));
		field(o, "boot_ms", boot, sizeof(boot));
		if (strcmp(up, "null")) {
			char d[32];
			human_duration(d, sizeof(d), atoll(up));
			snprintf(status, sizeof(status), "Up %s", d);
		} else if (!strcmp(state, "exited"))
			snprintf(status, sizeof(status), "Exited (%s)", code);
		else
			snprintf(status, sizeof(status), "%s", state);
		char memtxt[24];
		snprintf(memtxt, sizeof(memtxt), "%lluM", strtoull(mem, NULL, 10) >> 20);
		image[12] = '\0';
		printf("%-20s %-14s %-10s %-8s %-8s %-20s %s%s\n", name, image, state,
		       strcmp(pid, "null") ? pid : "-", memtxt, status,
		       strcmp(boot, "null") ? boot : "-", strcmp(boot, "null") ? " ms" : "");
		o = field(o, "", name, sizeof(name));
	}
	free(rep.body);
	return 0;
}

static char *read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	char *buf = malloc((size_t)sb.st_size + 1);
	size_t got = 0;
	while (buf && got < (size_t)sb.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)sb.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* Uploads a local image file; fills id.  0 or an exit status. */
static int upload(const struct target *sock, const char *path, char *id, size_t idlen)
{
	size_t len;
	char *data = read_file(path, &len);
	if (!data) {
		fprintf(stderr, "hedge: cannot read image %s\n", path);
		return 2;
	}
	struct reply rep;
	int rc = request(sock, "POST", "/images", data, len, 0, &rep);
	free(data);
	if (rc)
		return 2;
	if (rep.code != 200 && rep.code != 201) {
		rc = refused(&rep);
		free(rep.body);
		return rc;
	}
	field(rep.body, "id", id, idlen);
	free(rep.body);
	return 0;
}

static int do_images(const struct target *sock, int argc, char **argv, int json)
{
	if (argc >= 2 && !strcmp(argv[0], "add")) {
		char id[80];
		int rc = upload(sock, argv[1], id, sizeof(id));
		if (!rc)
			printf("%s\n", id);
		return rc;
	}
	struct reply rep;
	if (request(sock, "GET", "/images", NULL, 0, 0, &rep))
		return 2;
	if (rep.code != 200)
		return refused(&rep);
	if (json) {
		fputs(rep.body, stdout);
	} else {
		printf("%-14s %-6s %10s\n", "IMAGE ID", "KIND", "SIZE");
		for (const char *o = next_object(rep.body); o; o = next_object(o)) {
			char id[80], kind[16], size[32];
			field(o, "id", id, sizeof(id));
			field(o, "kind", kind, sizeof(kind));
			o = field(o, "size", size, sizeof(size));
			id[12] = '\0';
			printf("%-14s %-6s %10s\n", id, kind, size);
		}
	}
	free(rep.body);
	return 0;
}

/* Appends s to the JSON text in buf as a string literal. */
static void put_json_string(char *buf, size_t cap, size_t *len, const char *s)
{
	if (*len + 2 >= cap)
		return;
	buf[(*len)++] = '"';
	for (; *s && *len + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			*len += (size_t)snprintf(buf + *len, cap - *len, "\\%c", ch);
		else if (ch < 0x20)
			*len += (size_t)snprintf(buf + *len, cap - *len, "\\u%04x", ch);
		else
			buf[(*len)++] = (char)ch;
	}
	buf[(*len)++] = '"';
	buf[*len] = '\0';
}

static int do_create(const struct target *sock, int argc, char **argv)
{
	const char *name = NULL, *mem = NULL, *restart = NULL, *snapshot = NULL, *cpus = NULL;
	const char *incoming = NULL;
	const char *net_keys[] = {"tap", "ip", "gw", "mac", "netns"}, *net_vals[5] = {0};
	const char *env[256];
	int nenv = 0, i = 0;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		}
		if (i + 1 >= argc)
			break;
		if (!strcmp(argv[i], "--name"))
			name = argv[++i];
		else if (!strcmp(argv[i], "-m") || !strcmp(argv[i], "--mem"))
			mem = argv[++i];
		else if (!strcmp(argv[i], "--restart"))
			restart = argv[++i];
		else if ((!strcmp(argv[i], "-e") || !strcmp(argv[i], "--env")) && nenv < 256)
			env[nenv++] = argv[++i];
		else if (!strcmp(argv[i], "--net")) {
			if (strncmp(argv[i + 1], "tap:", 4)) {
				fprintf(stderr, "hedge create: --net needs tap:NAME\n");
				return ST_USAGE;
			}
			net_vals[0] = argv[++i] + 4;
		} else if (!strcmp(argv[i], "--ip"))
			net_vals[1] = argv[++i];
		else if (!strcmp(argv[i], "--gw"))
			net_vals[2] = argv[++i];
		else if (!strcmp(argv[i], "--mac"))
			net_vals[3] = argv[++i];
		else if (!strcmp(argv[i], "--netns"))
			net_vals[4] = argv[++i];
		else if (!strcmp(argv[i], "--snapshot"))
			snapshot = argv[++i];
		else if (!strcmp(argv[i], "--incoming"))
			incoming = argv[++i];
		else if (!strcmp(argv[i], "--cpus"))
			cpus = argv[++i];
		else {
			fprintf(stderr, "hedge create: unknown option %s\n", argv[i]);
			return ST_USAGE;
		}
	}
	if (!name || (i >= argc && !snapshot)) {
		fprintf(stderr, "hedge create: needs --name NAME and an IMAGE or --snapshot NAME "
		                "(see --help)\n");
		return ST_USAGE;
	}
	if (cpus) {
		char *end;
		double v = strtod(cpus, &end);
		if (*end || end == cpus || !(v > 0)) {
			fprintf(stderr, "hedge create: --cpus needs a number like 0.5\n");
			return ST_USAGE;
		}
	}
	char id[80];
	const char *image = snapshot ? NULL : argv[i++];
	if (image && access(image, R_OK) == 0) {
		int rc = upload(sock, image, id, sizeof(id));
		if (rc)
			return rc;
		image = id;
	}
	size_t cap = 1 << 20, len = 0;
	char *body = malloc(cap);
	len += (size_t)snprintf(body, cap, "{\"name\":");
	put_json_string(body, cap, &len, name);
	len += (size_t)snprintf(body + len, cap - len, snapshot ? ",\"snapshot\":" : ",\"image\":");
	put_json_string(body, cap, &len, snapshot ? snapshot : image);
	if (cpus)
		len += (size_t)snprintf(body + len, cap - len, ",\"cpus\":%s", cpus);
	if (incoming) {
		len += (size_t)snprintf(body + len, cap - len, ",\"incoming\":");
		put_json_string(body, cap, &len, incoming);
	}
	int nnet = 0;
	for (int k = 0; k < 5; k++) {
		if (!net_vals[k])
			continue;
		len += (size_t)snprintf(body + len, cap - len,
		                        "%s\"%s\":", nnet++ ? "," : ",\"net\":{", net_keys[k]);
		put_json_string(body, cap, &len, net_vals[k]);
	}
	if (nnet)
		len += (size_t)snprintf(body + len, cap - len, "}");
	if (mem) {
		len += (size_t)snprintf(body + len, cap - len, ",\"mem\":");
		put_json_string(body, cap, &len, mem);
	}
	if (restart) {
		len += (size_t)snprintf(body + len, cap - len, ",\"restart\":");
		put_json_string(body, cap, &len, restart);
	}
	/* A snapshot or a migrating VM brings its own arguments and environment. */
	int own = snapshot || incoming;
	if (!own || nenv) {
		len += (size_t)snprintf(body + len, cap - len, ",\"env\":[");
		for (int e = 0; e < nenv; e++) {
			if (e)
				body[len++] = ',';
			put_json_string(body, cap, &len, env[e]);
		}
		len += (size_t)snprintf(body + len, cap - len, "]");
	}
	if (!own || i < argc) {
		len += (size_t)snprintf(body + len, cap - len, ",\"args\":[");
		for (int a = i; a < argc; a++) {
			if (a > i)
				body[len++] = ',';
			put_json_string(body, cap, &len, argv[a]);
		}
		len += (size_t)snprintf(body + len, cap - len, "]");
	}
	len += (size_t)snprintf(body + len, cap - len, "}");
	struct reply rep;
	int rc = request(sock, "POST", "/vms", body, len, 0, &rep);
	free(body);
	if (rc)
		return 2;
	rc = rep.code == 201 ? (printf("%s\n", name), 0) : refused(&rep);
	free(rep.body);
	return rc;
}

/* start, stop, kill, pause, resume, rm, inspect and logs: one VM each. */
static int do_vm(const struct target *sock, const char *cmd, const char *name, int json, int follow)
{
	char path[256];
	const char *method = "POST";
	int stream = 0;
	if (!strcmp(cmd, "rm")) {
		method = "DELETE";
		snprintf(path, sizeof(path), "/vms/%s", name);
	} else if (!strcmp(cmd, "inspect")) {
		method = "GET";
		snprintf(path, sizeof(path), "/vms/%s", name);
	} else if (!strcmp(cmd, "logs")) {
		method = "GET";
		stream = follow;
		snprintf(path, sizeof(path), "/vms/%s/logs%s", name, follow ? "?follow=1" : "");
	} else {
		snprintf(path, sizeof(path), "/vms/%s/%s", name, cmd);
	}
	struct reply rep;
	if (request(sock, method, path, NULL, 0, stream, &rep))
		return 2;
	int rc = 0;
	if (rep.code != 200)
		rc = refused(&rep);
	else if (!strcmp(cmd, "logs"))
		fwrite(rep.body, 1, rep.len, stdout);
	else if (!strcmp(cmd, "inspect") || json)
		fputs(rep.body, stdout);
	else if (!strcmp(cmd, "rm"))
		printf("%s\n", name);
	else {
		char state[20];
		field(rep.body, "state", state, sizeof(state));
		printf("%s %s\n", name, state);
	}
	free(rep.body);
	return rc;
}

/* Prints a one-line JSON answer or, for people, its fields. */
static int answer(const struct reply *rep, int ok_code, int json, const char *const *fields)
{
	if (rep->code != ok_code && !(ok_code == 201 && rep->code == 200))
		return refused(rep);
	if (json) {
		fputs(rep->body, stdout);
		return 0;
	}
	for (size_t i = 0; fields[i]; i++) {
		char v[300];
		field(rep->body, fields[i], v, sizeof(v));
		printf("%s%s=%s", i ? " " : "", fields[i], v);
	}
	printf("\n");
	return 0;
}

static void human_bytes(char *out, size_t len, const char *bytes)
{
	if (!strcmp(bytes, "") || !strcmp(bytes, "null"))
		snprintf(out, len, "-");
	else
		snprintf(out, len, "%.1fM", strtod(bytes, NULL) / 1048576.0);
}

/* A name that would change the request's path; said why. */
static int bad_name(const char *cmd, const char *what, const char *name)
{
	if (name[0] && !strpbrk(name, "/?%# ") && strcmp(name, ".") && strcmp(name, ".."))
		return 0;
	fprintf(stderr, "hedge %s: bad %s: %s\n", cmd, what, name);
	return 1;
}

/* hedge stats [NAME...]: every running VM without names. */
static int do_stats(const struct target *sock, int argc, char **argv, int json)
{
	char *names[4096];
	int n = 0;
	struct reply list = {0};
	if (argc == 0) {
		if (request(sock, "GET", "/vms", NULL, 0, 0, &list))
			return 2;
		if (list.code != 200)
			return refused(&list);
		for (char *o = (char *)next_object(list.body); o && n < 4096;) {
			char state[20], name[80];
			field(o, "state", state, sizeof(state));
			char *end = (char *)field(o, "name", name, sizeof(name));
			if (strcmp(state, "created") && strcmp(state, "exited"))
				names[n++] = strdup(name);
			o = (char *)next_object(end);
		}
	} else {
		for (int i = 0; i < argc && n < 4096; i++)
			names[n++] = strdup(argv[i]);
	}
	int rc = 0;
	if (json)
		printf("[");
	else
		printf("%-20s %-10s %8s %9s %9s %9s %9s %10s\n", "NAME", "STATE", "PID", "RSS",
		       "PSS", "GUEST", "CPU(s)", "BOOT(ms)");
	for (int i = 0; i < n; i++) {
		char path[256];
		struct reply rep;
		if (bad_name("stats", "VM name", names[i])) {
			rc = ST_USAGE;
			continue;
		}
		snprintf(path, sizeof(path), "/vms/%s/stats", names[i]);
		if (request(sock, "GET", path, NULL, 0, 0, &rep)) {
			rc = 2;
			break;
		}
		if (rep.code != 200) {
			rc = refused(&rep);
		} else if (json) {
			rep.body[strcspn(rep.body, "\n")] = '\0';
			printf("%s%s", i ? "," : "", rep.body);
		} else {
			char state[20], pid[20], boot[32], rss[32], pss[32], guest[32], cpu[32];
			char hr[16], hp[16], hg[16];
			field(rep.body, "state", state, sizeof(state));
			field(rep.body, "pid", pid, sizeof(pid));
			field(rep.body, "boot_ms", boot, sizeof(boot));
			const char *u = strstr(rep.body, "\"usage\":{");
			rss[0] = pss[0] = guest[0] = cpu[0] = '\0';
			if (u) {
				u += 8;
				field(u, "rss_bytes", rss, sizeof(rss));
				field(u, "pss_bytes", pss, sizeof(pss));
				field(u, "guest_touched_bytes", guest, sizeof(guest));
				field(u, "cpu_seconds", cpu, sizeof(cpu));
			}
			human_bytes(hr, sizeof(hr), rss);
			human_bytes(hp, sizeof(hp), pss);
			human_bytes(hg, sizeof(hg), guest);
			printf("%-20s %-10s %8s %9s %9s %9s %9s %10s\n", names[i], state,
			       strcmp(pid, "null") ? pid : "-", hr, hp, hg, cpu[0] ? cpu : "-",
			       strcmp(boot, "null") ? boot : "-");
		}
		free(rep.body);
	}
	if (json)
		printf("]\n");
	for (int i = 0; i < n; i++)
		free(names[i]);
	free(list.body);
	return rc;
}

static int do_snapshot(const struct target *sock, int argc, char **argv, int stop, int json)
{
	if (argc != 2) {
		fprintf(stderr, "hedge snapshot: needs a VM NAME and a SNAPSHOT name\n");
		return ST_USAGE;
	}
	char path[256], body[512];
	size_t len = 0;
	if (bad_name("snapshot", "VM name", argv[0]))
		return ST_USAGE;
	snprintf(path, sizeof(path), "/vms/%s/snapshot", argv[0]);
	len += (size_t)snprintf(body, sizeof(body), "{\"name\":");
	put_json_string(body, sizeof(body), &len, argv[1]);
	len += (size_t)snprintf(body + len, sizeof(body) - len, ",\"stop\":%s}",
	                        stop ? "true" : "false");
	struct reply rep;
	if (request(sock, "POST", path, body, len, 0, &rep))
		return 2;
	static const char *const f[] = {"name", "vm", "size", "total_ms", NULL};
	int rc = answer(&rep, 201, json, f);
	free(rep.body);
	return rc;
}

static int do_snapshots(const struct target *sock, int argc, char **argv, int json)
{
	struct reply rep;
	char path[256];
	if (argc >= 2 && !strcmp(argv[0], "rm")) {
		if (bad_name("snapshots", "snapshot name", argv[1]))
			return ST_USAGE;
		snprintf(path, sizeof(path), "/snapshots/%s", argv[1]);
		if (request(sock, "DELETE", path, NULL, 0, 0, &rep))
			return 2;
		static const char *const f[] = {"deleted", NULL};
		int rc = answer(&rep, 200, json, f);
		free(rep.body);
		return rc;
	}
	if (request(sock, "GET", "/snapshots", NULL, 0, 0, &rep))
		return 2;
	if (rep.code != 200)
		return refused(&rep);
	if (json) {
		fputs(rep.body, stdout);
	} else {
		printf("%-20s %-20s %-14s %8s %12s\n", "SNAPSHOT", "FROM VM", "IMAGE", "MEM",
		       "SIZE");
		for (const char *o = next_object(rep.body); o; o = next_object(o)) {
			char name[80], vm[80], image[80], mem[32], size[32];
			field(o, "name", name, sizeof(name));
			field(o, "vm", vm, sizeof(vm));
			field(o, "image", image, sizeof(image));
			field(o, "mem", mem, sizeof(mem));
			o = field(o, "size", size, sizeof(size));
			image[12] = '\0';
			printf("%-20s %-20s %-14s %7lluM %12s\n", name, vm, image,
			       strtoull(mem, NULL, 10) >> 20, size);
		}
	}
	free(rep.body);
	return 0;
}

struct migration_watch {
	const struct target *sock;
	const char *name;
	char last[200]; /* the last report shown */
};

/* Asks hedged how the migration goes (GET /vms/NAME) and shows it if it moved on. */
static void show_migration(void *ctx)
{
	struct migration_watch *w = ctx;
	char path[160], m[400], phase[16], round[24], bytes[24], dirty[24], line[200];
	snprintf(path, sizeof(path), "/vms/%s", w->name);
	struct reply rep;
	if (request(w->sock, "GET", path, NULL, 0, 0, &rep))
		return;
	field(rep.body, "migration", m, sizeof(m));
	free(rep.body);
	if (!m[0])
		return;
	field(m, "phase", phase, sizeof(phase));
	field(m, "round", round, sizeof(round));
	field(m, "bytes", bytes, sizeof(bytes));
	field(m, "dirty_pages", dirty, sizeof(dirty));
	double mib = (double)strtoull(bytes, NULL, 10) / (1024.0 * 1024.0);
	if (!strcmp(phase, "waiting"))
		snprintf(line, sizeof(line), "migrating %s: %.1f MiB sent, waiting for the target",
		         w->name, mib);
	else
		snprintf(line, sizeof(line),
		         "migrating %s: round %s%s, %.1f MiB sent, %s pages dirty", w->name, round,
		         !strcmp(phase, "paused") ? " (VM paused)" : "", mib,
		         dirty[0] ? dirty : "0");
	if (!strcmp(line, w->last))
		return;
	snprintf(w->last, sizeof(w->last), "%s", line);
	if (isatty(2))
		fprintf(stderr, "\r\033[K%s", line);
	else
		fprintf(stderr, "%s\n", line);
}

static int do_migrate(const struct target *sock, int argc, char **argv, const char *to, int json)
{
	if (argc != 1 || !to) {
		fprintf(stderr, "hedge migrate: needs a VM NAME and --to tcp:A.B.C.D:PORT\n");
		return ST_USAGE;
	}
	char path[256], body[256];
	size_t len = 0;
	if (bad_name("migrate", "VM name", argv[0]))
		return ST_USAGE;
	snprintf(path, sizeof(path), "/vms/%s/migrate", argv[0]);
	len += (size_t)snprintf(body, sizeof(body), "{\"to\":");
	put_json_string(body, sizeof(body), &len, to);
	body[len++] = '}';
	body[len] = '\0';
	struct reply rep;
	struct migration_watch watch = {.sock = sock, .name = argv[0]};
	if (progress_wanted) {
		while_waiting = show_migration;
		while_waiting_ctx = &watch;
	}
	int failed = request(sock, "POST", path, body, len, 0, &rep);
	while_waiting = NULL;
	if (watch.last[0] && isatty(2))
		fputs("\r\033[K", stderr);
	if (failed)
		return 2;
	static const char *const f[] = {"name",  "to",     "downtime_ms", "total_ms",
	                                "bytes", "frames", NULL};
	int rc = answer(&rep, 200, json, f);
	free(rep.body);
	return rc;
}

/* The bytes of image ref from hedged at src; malloc'd, or NULL after saying why. */
static char *fetch_image(const struct target *src, const char *ref, size_t *len)
{
	char path[256];
	struct reply rep;
	snprintf(path, sizeof(path), "/images/%s/content", ref);
	if (request(src, "GET", path, NULL, 0, 0, &rep))
		return NULL;
	if (rep.code != 200) {
		refused(&rep);
		free(rep.body);
		return NULL;
	}
	*len = rep.len;
	return rep.body;
}

/*
 * pull: into hedged at dst, from another hedged (src given) or a local file.
 * push: from a local file or hedged at src, into hedged at dst.  The same
 * move; pull names the source with --from, push the destination with --to.
 */
static int do_transfer(const struct target *src, const struct target *dst, const char *ref,
                       int json)
{
	size_t len = 0;
	char *data = NULL;
	if (!src) {
		data = read_file(ref, &len);
		if (!data) {
			fprintf(stderr, "hedge: cannot read image %s\n", ref);
			return 2;
		}
	} else {
		for (const char *p = ref; *p; p++)
			if (!strchr("0123456789abcdef", *p)) {
				fprintf(stderr, "hedge: bad image id %s (hex sha256 or a prefix)\n",
				        ref);
				return ST_USAGE;
			}
		if (!(data = fetch_image(src, ref, &len)))
			return 2;
	}
	struct reply rep;
	int rc = request(dst, "POST", "/images", data, len, 0, &rep);
	free(data);
	if (rc)
		return 2;
	static const char *const f[] = {"id", "kind", "size", NULL};
	if (!json && (rep.code == 200 || rep.code == 201)) {
		char id[80];
		field(rep.body, "id", id, sizeof(id));
		printf("%s\n", id);
		rc = 0;
	} else {
		rc = answer(&rep, 201, json, f);
	}
	free(rep.body);
	return rc;
}

/* Each command's own usage lines and what it does, for 'hedge CMD --help'. */
static const struct agent_help {
	const char *cmd, *usage, *what;
} agent_help[] = {
    {"ps", "hedge ps [--json]", "List the VMs with their state, image, memory and uptime."},
    {"images", "hedge images [--json]\n       hedge images add FILE",
     "List the images, or upload a .hvt or .wasm file (a .wasm is built by hedged)."},
    {"create",
     "hedge create --name NAME [-m SIZE] [-e K=V]... [--restart no|on-failure|always]\n"
     "                    [--net tap:TAP [--ip A.B.C.D/N] [--gw A.B.C.D] [--mac MAC]]\n"
     "                    [--netns NS] [--cpus N] IMAGE [--] [ARGS...]\n"
     "       hedge create --name NAME --snapshot SNAPSHOT [--net tap:TAP] [--netns NS]\n"
     "       hedge create --name NAME -m SIZE --incoming tcp:A.B.C.D:PORT IMAGE\n"
     "                    [--net tap:TAP] [--netns NS]",
     "Create a VM from an image, from a snapshot, or as the target of a migration\n"
     "('hedge migrate' on the source). It does not start it (hedge start)."},
    {"start", "hedge start NAME [--json]", "Start a created or exited VM; waits until it boots."},
    {"stop", "hedge stop NAME [--json]",
     "Stop a VM: SIGTERM, then SIGKILL after hedged's --stop-timeout."},
    {"kill", "hedge kill NAME [--json]", "Kill a VM at once (SIGKILL)."},
    {"pause", "hedge pause NAME [--json]", "Pause a running VM's vCPU."},
    {"resume", "hedge resume NAME [--json]", "Resume a paused VM."},
    {"rm", "hedge rm NAME [--json]", "Delete a created or exited VM and its log."},
    {"inspect", "hedge inspect NAME [--json]", "Show everything hedged knows of a VM."},
    {"logs", "hedge logs [-f] NAME",
     "Print a VM's console output; -f follows it until the VM ends."},
    {"stats", "hedge stats [--json] [NAME...]",
     "Memory (PSS, RSS, guest pages touched), CPU time, uptime and boot time of the\n"
     "running VMs, or of those named."},
    {"snapshot", "hedge snapshot [--stop] [--json] NAME SNAPSHOT",
     "Snapshot a running or paused VM into hedged's store; --stop leaves it paused."},
    {"snapshots", "hedge snapshots [--json]\n       hedge snapshots rm SNAPSHOT",
     "List the stored snapshots, or delete one."},
    {"migrate", "hedge migrate NAME --to tcp:A.B.C.D:PORT [--json] [--progress]",
     "Move a running VM live to a 'hedge create --incoming' (or 'hedge run\n"
     "--incoming') listening there. On failure it runs on here. With --progress (or\n"
     "on a terminal) the copy rounds are reported on stderr while it goes on."},
    {"pull", "hedge pull [--from HOST] IMAGE-ID|FILE",
     "Copy an image from another hedged (or a local file) into --host."},
    {"push", "hedge push --to HOST IMAGE-ID|FILE",
     "Copy an image of --host (or a local file) to another hedged."},
};

static void agent_usage(FILE *out, const char *cmd)
{
	const struct agent_help *h = NULL;
	for (size_t i = 0; i < sizeof(agent_help) / sizeof(agent_help[0]); i++)
		if (!strcmp(agent_help[i].cmd, cmd))
			h = &agent_help[i];
	if (h) {
		fprintf(out, "Usage: %s\n\n%s\n", h->usage, h->what);
	} else {
		fprintf(out, "Usage:");
		for (size_t i = 0; i < sizeof(agent_help) / sizeof(agent_help[0]); i++)
			fprintf(out, "%s%s\n", i ? "       " : " ", agent_help[i].usage);
	}
	fprintf(out,
	        "\n"
	        "These commands talk to hedged, the node agent (see docs/agent.md).\n"
	        "IMAGE is an image id (or a unique prefix) or a local .hvt/.wasm file, which is\n"
	        "uploaded first. A HOST is unix:PATH or tcp://A.B.C.D:PORT.\n"
	        "\n"
	        "Options:\n"
	        "  -H, --host HOST       hedged (default $HEDGED_SOCKET, else %s)\n"
	        "      --token-file FILE Bearer token for a tcp:// host (default $HEDGED_TOKEN)\n"
	        "      --from HOST, --to HOST\n"
	        "                        The other hedged of pull and push (same token unless\n"
	        "                        --from-token-file / --to-token-file)\n"
	        "      --json            Print the agent's JSON as it came\n"
	        "      --progress        Show upload, download and migration progress (default:\n"
	        "                        if stderr is a terminal)\n"
	        "  -f, --follow          logs: keep printing until the VM ends\n"
	        "      --stop            snapshot: leave the VM paused afterwards\n"
	        "  -h, --help            Show this help\n"
	        "\n"
	        "Exit status: 0 done, 1 refused by hedged (the reason is printed), 2 hedged\n"
	        "unreachable, 64 bad command line.\n",
	        DEFAULT_SOCKET);
}

int cmd_agent(int argc, char **argv)
{
	const char *cmd = argv[0], *host = NULL, *token_file = NULL, *from = NULL, *to = NULL;
	const char *from_token = NULL, *to_token = NULL;
	int json = 0, follow = 0, stop = 0, dashdash = 0;
	char *rest[argc];
	int nrest = 0;
	progress_wanted = isatty(2);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		/* After "--" everything is the guest's (hedge create IMAGE -- ARGS). */
		if (dashdash || !strcmp(a, "--")) {
			dashdash = 1;
			rest[nrest++] = argv[i];
			continue;
		}
		const char **valued = !strcmp(a, "-H") || !strcmp(a, "--host")      ? &host
		                      : !strcmp(a, "--token-file")                  ? &token_file
		                      : !strcmp(a, "--from")                        ? &from
		                      : !strcmp(a, "--from-token-file")             ? &from_token
		                      : !strcmp(a, "--to-token-file")               ? &to_token
		                      : !strcmp(a, "--to") && strcmp(cmd, "create") ? &to
		                                                                    : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			agent_usage(stdout, cmd);
			return 0;
		}
		if (valued && i + 1 < argc)
			*valued = argv[++i];
		else if (valued) {
			fprintf(stderr, "hedge %s: %s needs a value\n", cmd, a);
			return ST_USAGE;
		} else if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--progress"))
			progress_wanted = 1;
		else if (!strcmp(a, "--stop") && !strcmp(cmd, "snapshot"))
			stop = 1;
		else if (!strcmp(a, "-f") || !strcmp(a, "--follow"))
			follow = 1;
		else if (!strncmp(a, "--host=", 7))
			host = a + 7;
		else
			rest[nrest++] = argv[i];
	}
	struct target sock_t;
	const struct target *sock = &sock_t;
	if (parse_target(host, token_file, &sock_t))
		return ST_USAGE;
	if (!strcmp(cmd, "ps"))
		return do_ps(sock, json);
	if (!strcmp(cmd, "images"))
		return do_images(sock, nrest, rest, json);
	if (!strcmp(cmd, "create"))
		return do_create(sock, nrest, rest);
	if (!strcmp(cmd, "stats"))
		return do_stats(sock, nrest, rest, json);
	if (!strcmp(cmd, "snapshot"))
		return do_snapshot(sock, nrest, rest, stop, json);
	if (!strcmp(cmd, "snapshots"))
		return do_snapshots(sock, nrest, rest, json);
	if (!strcmp(cmd, "migrate"))
		return do_migrate(sock, nrest, rest, to, json);
	if (!strcmp(cmd, "pull") || !strcmp(cmd, "push")) {
		int pull = !strcmp(cmd, "pull");
		struct target other;
		const char *other_host = pull ? from : to;
		if (nrest != 1 || (!pull && !to)) {
			fprintf(stderr, "hedge %s: needs one IMAGE-ID or FILE%s (see --help)\n",
			        cmd, pull ? "" : " and --to HOST");
			return ST_USAGE;
		}
		if (other_host &&
		    parse_target(other_host,
		                 (pull ? from_token : to_token) ? (pull ? from_token : to_token)
		                                                : token_file,
		                 &other))
			return ST_USAGE;
		/* push of a local file needs no source agent; pull of a file no other agent. */
		int local = access(rest[0], R_OK) == 0;
		if (pull)
			return do_transfer(from ? &other : NULL, sock, rest[0], json);
		return do_transfer(local ? NULL : sock, &other, rest[0], json);
	}
	if (nrest != 1) {
		fprintf(stderr, "hedge %s: needs one VM NAME (see 'hedge %s --help')\n", cmd, cmd);
		return ST_USAGE;
	}
	if (bad_name(cmd, "VM name", rest[0]))
		return ST_USAGE;
	return do_vm(sock, cmd, rest[0], json, follow);
}
