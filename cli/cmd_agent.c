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
#include <errno.h>
#include <fcntl.h>
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

static const char *host_socket(const char *host)
{
	if (!host)
		host = getenv("HEDGED_SOCKET");
	if (!host)
		return DEFAULT_SOCKET;
	return strncmp(host, "unix:", 5) == 0 ? host + 5 : host;
}

/*
 * One request.  With stream set, the body is copied to stdout as it comes
 * (for logs -f) instead of being kept.  0, or -1 after saying why.
 */
static int request(const char *sock, const char *method, const char *path, const void *body,
                   size_t body_len, int stream, struct reply *rep)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	memset(rep, 0, sizeof(*rep));
	if (strlen(sock) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "hedge: socket path too long: %s\n", sock);
		return -1;
	}
	strcpy(addr.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		fprintf(stderr, "hedge: cannot reach hedged at %s: %s\n", sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	char head[1024];
	int n = snprintf(head, sizeof(head),
	                 "%s %s HTTP/1.0\r\nHost: hedged\r\nContent-Length: %zu\r\n"
	                 "Content-Type: %s\r\n\r\n",
	                 method, path, body_len,
	                 body_len && ((const char *)body)[0] == '{' ? "application/json"
	                                                            : "application/octet-stream");
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
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (!body_at && (body_at = strstr(buf, "\r\n\r\n")))
			body_at += 4;
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
				} else if (*v == '[') {
					int d = 0;
					do {
						d += *v == '[' ? 1 : *v == ']' ? -1 : 0;
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

static int do_ps(const char *sock, int json)
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
static int upload(const char *sock, const char *path, char *id, size_t idlen)
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

static int do_images(const char *sock, int argc, char **argv, int json)
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

static int do_create(const char *sock, int argc, char **argv)
{
	const char *name = NULL, *mem = NULL, *restart = NULL;
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
		else {
			fprintf(stderr, "hedge create: unknown option %s\n", argv[i]);
			return ST_USAGE;
		}
	}
	if (!name || i >= argc) {
		fprintf(stderr, "hedge create: needs --name NAME and an IMAGE (see --help)\n");
		return ST_USAGE;
	}
	char id[80];
	const char *image = argv[i++];
	if (access(image, R_OK) == 0) {
		int rc = upload(sock, image, id, sizeof(id));
		if (rc)
			return rc;
		image = id;
	}
	size_t cap = 1 << 20, len = 0;
	char *body = malloc(cap);
	len += (size_t)snprintf(body, cap, "{\"name\":");
	put_json_string(body, cap, &len, name);
	len += (size_t)snprintf(body + len, cap - len, ",\"image\":");
	put_json_string(body, cap, &len, image);
	if (mem) {
		len += (size_t)snprintf(body + len, cap - len, ",\"mem\":");
		put_json_string(body, cap, &len, mem);
	}
	if (restart) {
		len += (size_t)snprintf(body + len, cap - len, ",\"restart\":");
		put_json_string(body, cap, &len, restart);
	}
	len += (size_t)snprintf(body + len, cap - len, ",\"env\":[");
	for (int e = 0; e < nenv; e++) {
		if (e)
			body[len++] = ',';
		put_json_string(body, cap, &len, env[e]);
	}
	len += (size_t)snprintf(body + len, cap - len, "],\"args\":[");
	for (int a = i; a < argc; a++) {
		if (a > i)
			body[len++] = ',';
		put_json_string(body, cap, &len, argv[a]);
	}
	len += (size_t)snprintf(body + len, cap - len, "]}");
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
static int do_vm(const char *sock, const char *cmd, const char *name, int json, int follow)
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

static void agent_usage(FILE *out, const char *cmd)
{
	fprintf(out,
	        "Usage: hedge ps [--json]\n"
	        "       hedge images [--json] | hedge images add FILE\n"
	        "       hedge create --name NAME [-m SIZE] [-e K=V]... [--restart no|on-failure|"
	        "always]\n"
	        "                    IMAGE [--] [ARGS...]\n"
	        "       hedge start|stop|kill|pause|resume|rm|inspect NAME [--json]\n"
	        "       hedge logs [-f] NAME\n"
	        "\n"
	        "Talk to hedged, the node agent (see docs/agent.md). '%s' is one of these.\n"
	        "IMAGE is an image id (or a unique prefix) or a local .hvt/.wasm file, which is\n"
	        "uploaded first.\n"
	        "\n"
	        "Options:\n"
	        "  -H, --host unix:PATH  hedged's socket (default $HEDGED_SOCKET, else %s)\n"
	        "      --json            Print the agent's JSON as it came\n"
	        "  -f, --follow          logs: keep printing until the VM ends\n"
	        "  -h, --help            Show this help\n"
	        "\n"
	        "Exit status: 0 done, 1 refused by hedged (the reason is printed), 2 hedged\n"
	        "unreachable, 64 bad command line.\n",
	        cmd, DEFAULT_SOCKET);
}

int cmd_agent(int argc, char **argv)
{
	const char *cmd = argv[0], *host = NULL;
	int json = 0, follow = 0;
	char *rest[argc];
	int nrest = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			agent_usage(stdout, cmd);
			return 0;
		}
		if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "-f") || !strcmp(a, "--follow"))
			follow = 1;
		else if ((!strcmp(a, "-H") || !strcmp(a, "--host")) && i + 1 < argc)
			host = argv[++i];
		else if (!strncmp(a, "--host=", 7))
			host = a + 7;
		else
			rest[nrest++] = argv[i];
	}
	const char *sock = host_socket(host);
	if (!strcmp(cmd, "ps"))
		return do_ps(sock, json);
	if (!strcmp(cmd, "images"))
		return do_images(sock, nrest, rest, json);
	if (!strcmp(cmd, "create"))
		return do_create(sock, nrest, rest);
	if (nrest != 1) {
		fprintf(stderr, "hedge %s: needs one VM NAME (see 'hedge %s --help')\n", cmd, cmd);
		return ST_USAGE;
	}
	for (const char *p = rest[0]; *p; p++)
		if (*p == '/' || *p == '?' || *p == '%' || *p == ' ') {
			fprintf(stderr, "hedge %s: bad VM name: %s\n", cmd, rest[0]);
			return ST_USAGE;
		}
	return do_vm(sock, cmd, rest[0], json, follow);
}
