/*
 * request.h - checking hedged's API requests: the one place where request
 * bodies, names, sizes, network settings and tokens are validated.  Pure
 * (jansson only, no HTTP, no database), so it is unit-tested and fuzzed.
 */
#ifndef HEDGE_AGENT_REQUEST_H
#define HEDGE_AGENT_REQUEST_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define VM_NAME_MAX      64
#define MAX_VM_MEM       (16ull << 30)
#define REQ_MAX_ARGS     256
#define REQ_MAX_ARG_LEN  4096
#define REQ_IMAGE_REF    64 /* a sha256 in hex, or a prefix of one */
#define REQ_TAP_MAX      15 /* IFNAMSIZ - 1 */
#define REQ_MIGRATE_ADDR 32

/* A VM's network interface: strings as hedge run takes them, "" when absent. */
struct vm_net {
	char tap[REQ_TAP_MAX + 1];
	char ip[20];  /* A.B.C.D/N */
	char gw[16];  /* A.B.C.D */
	char mac[18]; /* aa:bb:cc:dd:ee:ff */
	char netns[VM_NAME_MAX + 1];
};

/* POST /vms, checked. */
struct vm_spec {
	char name[VM_NAME_MAX + 1];
	char image[REQ_IMAGE_REF + 1];   /* "" when created from a snapshot */
	char snapshot[VM_NAME_MAX + 1];  /* "" when created from an image */
	char incoming[REQ_MIGRATE_ADDR]; /* tcp:A.B.C.D:PORT: waits for a migration */
	uint64_t mem;                    /* bytes, 2 MiB multiple; 0: the default */
	char *args, *env;                /* compact JSON arrays of strings (malloc'd) */
	char restart[16];                /* no, on-failure, always */
	struct vm_net net;               /* all "" without "net" */
	unsigned cpu_millis;             /* CPU limit in thousandths of a CPU; 0: none */
};

/* Names of VMs, snapshots and network namespaces: 1-64 of [A-Za-z0-9_.-], no leading '.'. */
int req_name_valid(const char *name);
/* A TAP device name: 1-15 of [A-Za-z0-9_.-], no leading '.' or '-'. */
int req_tap_valid(const char *name);
/* Strict dotted-quad IPv4 (no leading zeros, no spaces); with prefix, "/1".."/32" required. */
int req_ipv4_valid(const char *text, int with_prefix);
/* aa:bb:cc:dd:ee:ff in hex, unicast and not all zero. */
int req_mac_valid(const char *text);
/* tcp:A.B.C.D:PORT with PORT 1..65535. */
int req_tcp_addr_valid(const char *text);

/* Bytes or "64M"/"1K"/"2G" (K, M, G), at most 16G; rounded up to 2 MiB.  0 or -1. */
int req_parse_mem(json_t *v, uint64_t *out);
/* A JSON array of strings (env: each K=V); NULL or why it is refused. */
const char *req_check_strings(json_t *arr, int env);
/* The "net" object; 0, or -1 with the reason in err. */
int req_parse_net(json_t *obj, struct vm_net *net, char *err, size_t errlen);
/* The network settings as a JSON object (only the fields given); a new reference. */
json_t *req_net_json(const struct vm_net *net);

/*
 * A POST /vms body: 0 (fill spec; free it with req_vm_spec_free), or 400
 * with the one-line reason in err.
 */
int req_parse_vm(const char *body, size_t len, struct vm_spec *spec, char *err, size_t errlen);
void req_vm_spec_free(struct vm_spec *spec);

/* POST /vms/{name}/snapshot {"name":S,"stop":bool}: 0 or 400 with a reason. */
int req_parse_snapshot(const char *body, size_t len, char name[VM_NAME_MAX + 1], int *stop,
                       char *err, size_t errlen);
/* POST /vms/{name}/migrate {"to":"tcp:A.B.C.D:PORT"}: 0 or 400 with a reason. */
int req_parse_migrate(const char *body, size_t len, char to[REQ_MIGRATE_ADDR], char *err,
                      size_t errlen);

/*
 * Checks an Authorization header against the token: "Bearer TOKEN",
 * compared in time independent of where they differ.  1 if it matches.
 */
int req_bearer_ok(const char *header, const char *token);

#endif
