/*
 * request.c - checking hedged's API requests (see request.h).  Everything a
 * client sends that reaches a file name, a command line of `hedge run` or
 * the database passes through here first.
 */
#include "request.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int name_chars_ok(const char *name, size_t max)
{
	size_t n = strlen(name);
	/* A leading dot would allow "." and ".." and hidden files. */
	if (n == 0 || n > max || name[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

int req_name_valid(const char *name)
{
	return name_chars_ok(name, VM_NAME_MAX);
}

int req_tap_valid(const char *name)
{
	/* A leading '-' would read as an option to ip(8) in scripts. */
	return name_chars_ok(name, REQ_TAP_MAX) && name[0] != '-';
}

/* A decimal number 0..max without sign, spaces or leading zeros; the end, or NULL. */
static const char *decimal(const char *p, unsigned max, unsigned *out)
{
	if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	unsigned v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max)
			return NULL;
	}
	*out = v;
	return p;
}

int req_ipv4_valid(const char *text, int with_prefix)
{
	const char *p = text;
	unsigned v;
	for (int i = 0; i < 4; i++) {
		if (!(p = decimal(p, 255, &v)))
			return 0;
		if (i < 3 && *p++ != '.')
			return 0;
	}
	if (with_prefix) {
		if (*p++ != '/' || !(p = decimal(p, 32, &v)) || v == 0)
			return 0;
	}
	return *p == '\0';
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
	                              : -1;
}

int req_mac_valid(const char *text)
{
	if (strlen(text) != 17)
		return 0;
	int any = 0, first = 0;
	for (int i = 0; i < 6; i++) {
		const char *p = text + 3 * i;
		int hi = hexval(p[0]), lo = hexval(p[1]);
		if (hi < 0 || lo < 0 || (i < 5 && p[2] != ':'))
			return 0;
		if (i == 0)
			first = hi * 16 + lo;
		any |= hi | lo;
	}
	return any && !(first & 1);
}

int req_tcp_addr_valid(const char *text)
{
	if (strncmp(text, "tcp:", 4))
		return 0;
	const char *colon = strrchr(text + 4, ':');
	if (!colon || colon - (text + 4) >= 16)
		return 0;
	char ip[16];
	memcpy(ip, text + 4, (size_t)(colon - (text + 4)));
	ip[colon - (text + 4)] = '\0';
	unsigned port;
	const char *end = decimal(colon + 1, 65535, &port);
	return req_ipv4_valid(ip, 0) && end && *end == '\0' && port > 0;
}

int req_parse_mem(json_t *v, uint64_t *out)
{
	uint64_t bytes;
	if (json_is_integer(v)) {
		if (json_integer_value(v) <= 0)
			return -1;
		bytes = (uint64_t)json_integer_value(v);
	} else if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		if (s[0] < '0' || s[0] > '9')
			return -1;
		errno = 0;
		unsigned long long n = strtoull(s, &end, 10);
		if (errno || end == s || n == 0)
			return -1;
		unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;
		end += shift != 0;
		if (*end || n > MAX_VM_MEM >> shift)
			return -1;
		bytes = n << shift;
	} else {
		return -1;
	}
	if (bytes > MAX_VM_MEM)
		return -1;
	/* As hedge run does: whole 2 MiB pages. */
	*out = (bytes + (2u << 20) - 1) & ~((uint64_t)(2u << 20) - 1);
	return 0;
}

const char *req_check_strings(json_t *arr, int env)
{
	if (!json_is_array(arr))
		return "must be an array of strings";
	if (json_array_size(arr) > REQ_MAX_ARGS)
		return "has too many entries (256 at most)";
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!json_is_string(v))
			return "must be an array of strings";
		const char *s = json_string_value(v);
		if (strlen(s) != json_string_length(v) || strlen(s) > REQ_MAX_ARG_LEN)
			return "has a string with NUL or longer than 4096 bytes";
		if (env && (!strchr(s, '=') || s[0] == '='))
			return "entries must be K=V";
	}
	return NULL;
}

/* Text that came from the client, fit for a one-line reason: control characters and
 * quotes become '?', and it is cut to the buffer. */
static void client_text_shown(const char *text, char *shown, size_t size)
{
	size_t n = 0;
	for (; text[n] && n < size - 1; n++)
		shown[n] = (unsigned char)text[n] < 0x20 || text[n] == '"' || text[n] == 0x7f
		               ? '?'
		               : text[n];
	shown[n] = '\0';
}

/* Refuses fields of obj not in known (a NULL-ended list); 0 or -1 with a reason. */
static int only_known(json_t *obj, const char *const *known, const char *what, char *err,
                      size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v)
	{
		int ok = 0;
		for (size_t k = 0; known[k]; k++)
			ok |= !strcmp(key, known[k]);
		if (!ok) {
			char list[200] = "";
			for (size_t k = 0; known[k]; k++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
				         k ? ", " : "", known[k]);
			char shown[65];
			client_text_shown(key, shown, sizeof(shown));
			snprintf(err, errlen, "unknown field \"%s\"%s (%s)", shown, what, list);
			return -1;
		}
	}
	return 0;
}

/* A string field of at most max bytes without NUL, or absent; 0 or -1 with a reason. */
static int get_string(json_t *obj, const char *key, char *out, size_t max, char *err, size_t errlen,
                      const char *ctx)
{
	json_t *v = json_object_get(obj, key);
	out[0] = '\0';
	if (!v)
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= max ||
	    strlen(json_string_value(v)) != json_string_length(v)) {
		snprintf(err, errlen, "%s\"%s\" must be a string of at most %zu bytes", ctx, key,
		         max - 1);
		return -1;
	}
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

int req_parse_net(json_t *obj, struct vm_net *net, char *err, size_t errlen)
{
	static const char *const known[] = {"tap", "ip", "gw", "mac", "netns", NULL};
	memset(net, 0, sizeof(*net));
	if (!json_is_object(obj)) {
		snprintf(err, errlen, "\"net\" must be an object (tap, ip, gw, mac, netns)");
		return -1;
	}
	if (only_known(obj, known, " in \"net\"", err, errlen))
		return -1;
	if (get_string(obj, "tap", net->tap, sizeof(net->tap), err, errlen, "net: ") ||
	    get_string(obj, "ip", net->ip, sizeof(net->ip), err, errlen, "net: ") ||
	    get_string(obj, "gw", net->gw, sizeof(net->gw), err, errlen, "net: ") ||
	    get_string(obj, "mac", net->mac, sizeof(net->mac), err, errlen, "net: ") ||
	    get_string(obj, "netns", net->netns, sizeof(net->netns), err, errlen, "net: "))
		return -1;
	if (json_object_get(obj, "tap") && !req_tap_valid(net->tap)) {
		snprintf(
		    err, errlen,
		    "net: bad \"tap\": 1 to 15 of A-Z a-z 0-9 _ . -, not starting with . or -");
		return -1;
	}
	if (json_object_get(obj, "ip") && !req_ipv4_valid(net->ip, 1)) {
		snprintf(err, errlen,
		         "net: bad \"ip\": an IPv4 address with prefix, e.g. 10.0.0.2/24");
		return -1;
	}
	if (json_object_get(obj, "gw") && !req_ipv4_valid(net->gw, 0)) {
		snprintf(err, errlen, "net: bad \"gw\": an IPv4 address, e.g. 10.0.0.1");
		return -1;
	}
	if (json_object_get(obj, "mac") && !req_mac_valid(net->mac)) {
		snprintf(err, errlen, "net: bad \"mac\": a unicast aa:bb:cc:dd:ee:ff");
		return -1;
	}
	if (json_object_get(obj, "netns") && !req_name_valid(net->netns)) {
		snprintf(err, errlen,
		         "net: bad \"netns\": 1 to 64 of A-Z a-z 0-9 _ . -, not starting with '.'");
		return -1;
	}
	if (!net->tap[0] && (net->ip[0] || net->gw[0] || net->mac[0])) {
		snprintf(err, errlen, "net: \"ip\", \"gw\" and \"mac\" need \"tap\"");
		return -1;
	}
	return 0;
}

json_t *req_net_json(const struct vm_net *net)
{
	json_t *o = json_object();
	const struct {
		const char *key, *val;
	} f[] = {{"tap", net->tap},
	         {"ip", net->ip},
	         {"gw", net->gw},
	         {"mac", net->mac},
	         {"netns", net->netns}};
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		if (f[i].val[0])
			json_object_set_new(o, f[i].key, json_string(f[i].val));
	return o;
}

static json_t *load_object(const char *body, size_t len, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *o = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o) {
		char shown[sizeof(jerr.text)];
		client_text_shown(jerr.text, shown, sizeof(shown));
		snprintf(err, errlen, "malformed JSON: %s (line %d)", shown, jerr.line);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		snprintf(err, errlen, "the body must be a JSON object");
		return NULL;
	}
	return o;
}

void req_vm_spec_free(struct vm_spec *spec)
{
	free(spec->args);
	free(spec->env);
	spec->args = spec->env = NULL;
}

int req_parse_vm(const char *body, size_t len, struct vm_spec *spec, char *err, size_t errlen)
{
	static const char *const known[] = {"name", "image", "snapshot", "incoming",
	                                    "mem",  "args",  "env",      "restart",
	                                    "net",  "cpus",  NULL};
	memset(spec, 0, sizeof(*spec));
	json_t *o = load_object(body, len, err, errlen);
	if (!o)
		return 400;
	int rc = 400;
	if (only_known(o, known, "", err, errlen))
		goto out;
	json_t *jname = json_object_get(o, "name");
	if (!json_is_string(jname)) {
		snprintf(err, errlen, "\"name\" is a required string");
		goto out;
	}
	const char *name = json_string_value(jname);
	if (strlen(name) != json_string_length(jname) || !req_name_valid(name)) {
		snprintf(err, errlen,
		         "bad VM name: 1 to 64 of A-Z a-z 0-9 _ . -, not starting with '.'");
		goto out;
	}
	strcpy(spec->name, name);
	json_t *jimage = json_object_get(o, "image"), *jsnap = json_object_get(o, "snapshot");
	if (!!jimage == !!jsnap) {
		snprintf(err, errlen, "give either \"image\" or \"snapshot\"");
		goto out;
	}
	if (get_string(o, "image", spec->image, sizeof(spec->image), err, errlen, "") ||
	    get_string(o, "snapshot", spec->snapshot, sizeof(spec->snapshot), err, errlen, ""))
		goto out;
	if (jsnap && !req_name_valid(spec->snapshot)) {
		snprintf(err, errlen, "bad snapshot name");
		goto out;
	}
	if (jimage && !spec->image[0]) {
		snprintf(err, errlen, "\"image\" is empty");
		goto out;
	}
	json_t *jargs = json_object_get(o, "args"), *jenv = json_object_get(o, "env");
	const char *why;
	if (jargs && (why = req_check_strings(jargs, 0))) {
		snprintf(err, errlen, "\"args\" %s", why);
		goto out;
	}
	if (jenv && (why = req_check_strings(jenv, 1))) {
		snprintf(err, errlen, "\"env\" %s", why);
		goto out;
	}
	json_t *jrestart = json_object_get(o, "restart");
	const char *restart = jrestart ? json_string_value(jrestart) : "no";
	if (!restart ||
	    (strcmp(restart, "no") && strcmp(restart, "on-failure") && strcmp(restart, "always"))) {
		snprintf(err, errlen, "\"restart\" must be \"no\", \"on-failure\" or \"always\"");
		goto out;
	}
	strcpy(spec->restart, restart);
	json_t *jmem = json_object_get(o, "mem");
	if (jmem && req_parse_mem(jmem, &spec->mem)) {
		snprintf(err, errlen, "\"mem\" must be bytes or a size like \"64M\", at most 16G");
		goto out;
	}
	json_t *jnet = json_object_get(o, "net");
	if (jnet && req_parse_net(jnet, &spec->net, err, errlen))
		goto out;
	json_t *jcpus = json_object_get(o, "cpus");
	if (jcpus) {
		double cpus = json_number_value(jcpus);
		if (!json_is_number(jcpus) || !(cpus >= 0.01 && cpus <= 1024)) {
			snprintf(err, errlen, "\"cpus\" must be a number from 0.01 to 1024");
			goto out;
		}
		spec->cpu_millis = (unsigned)(cpus * 1000 + 0.5);
	}
	if (jsnap && (jargs || jenv || spec->net.ip[0] || spec->net.gw[0] || spec->net.mac[0])) {
		/* hedge run --restore: these come with the snapshot. */
		snprintf(
		    err, errlen,
		    "\"args\", \"env\" and net \"ip\", \"gw\", \"mac\" come with the snapshot");
		goto out;
	}
	json_t *jin = json_object_get(o, "incoming");
	if (jin) {
		if (get_string(o, "incoming", spec->incoming, sizeof(spec->incoming), err, errlen,
		               "") ||
		    !req_tcp_addr_valid(spec->incoming)) {
			snprintf(err, errlen, "\"incoming\" must be tcp:A.B.C.D:PORT");
			goto out;
		}
		/* hedge run --incoming: the rest comes with the migrating VM. */
		if (jsnap || jargs || jenv || spec->net.ip[0] || spec->net.gw[0] ||
		    spec->net.mac[0]) {
			snprintf(err, errlen,
			         "\"snapshot\", \"args\", \"env\" and net \"ip\", \"gw\", \"mac\" "
			         "come with an incoming VM");
			goto out;
		}
		if (!spec->mem) {
			snprintf(err, errlen, "an incoming VM needs \"mem\", the migrating VM's");
			goto out;
		}
	}
	spec->args = jargs ? json_dumps(jargs, JSON_COMPACT) : strdup("[]");
	spec->env = jenv ? json_dumps(jenv, JSON_COMPACT) : strdup("[]");
	if (!spec->args || !spec->env) {
		req_vm_spec_free(spec);
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int req_parse_snapshot(const char *body, size_t len, char name[VM_NAME_MAX + 1], int *stop,
                       char *err, size_t errlen)
{
	static const char *const known[] = {"name", "stop", NULL};
	json_t *o = load_object(body, len, err, errlen);
	if (!o)
		return 400;
	int rc = 400;
	*stop = 0;
	if (only_known(o, known, "", err, errlen) ||
	    get_string(o, "name", name, VM_NAME_MAX + 1, err, errlen, ""))
		goto out;
	if (!req_name_valid(name)) {
		snprintf(err, errlen,
		         "\"name\" of the snapshot: 1 to 64 of A-Z a-z 0-9 _ . -, not starting "
		         "with '.'");
		goto out;
	}
	json_t *jstop = json_object_get(o, "stop");
	if (jstop && !json_is_boolean(jstop)) {
		snprintf(err, errlen, "\"stop\" must be true or false");
		goto out;
	}
	*stop = json_is_true(jstop);
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int req_parse_migrate(const char *body, size_t len, char to[REQ_MIGRATE_ADDR], char *err,
                      size_t errlen)
{
	static const char *const known[] = {"to", NULL};
	json_t *o = load_object(body, len, err, errlen);
	if (!o)
		return 400;
	int rc = 400;
	if (only_known(o, known, "", err, errlen) ||
	    get_string(o, "to", to, REQ_MIGRATE_ADDR, err, errlen, ""))
		goto out;
	if (!req_tcp_addr_valid(to)) {
		snprintf(err, errlen, "\"to\" must be tcp:A.B.C.D:PORT");
		goto out;
	}
	rc = 0;
out:
	json_decref(o);
	return rc;
}

int req_bearer_ok(const char *header, const char *token)
{
	if (!header || !token || strncmp(header, "Bearer ", 7))
		return 0;
	const unsigned char *a = (const unsigned char *)header + 7;
	const unsigned char *b = (const unsigned char *)token;
	size_t la = strlen((const char *)a), lb = strlen((const char *)b);
	/* Every byte of the token is compared whatever the header holds. */
	unsigned diff = (unsigned)(la ^ lb);
	for (size_t i = 0; i < lb; i++)
		diff |= (unsigned)(b[i] ^ (i < la ? a[i] : 0));
	return diff == 0 && lb > 0;
}
