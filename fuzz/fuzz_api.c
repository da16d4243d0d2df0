/*
 * fuzz_api.c - libFuzzer harness for hedged's request checks
 * (agent/request.c): the first byte picks the parser, the rest is the body,
 * name or header.  Whatever comes in, a parser either refuses it with a
 * one-line reason or returns values that obey its own rules.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "request.h"

static void one_line(const char *err)
{
	if (strchr(err, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *body = (const char *)data + 1;
	size_t len = size - 1;
	char err[400] = "";
	char *text = malloc(len + 1); /* NUL-terminated copy for the string checks */
	if (!text)
		return 0;
	memcpy(text, body, len);
	text[len] = '\0';
	switch (data[0] % 5) {
	case 0: {
		struct vm_spec spec;
		if (req_parse_vm(body, len, &spec, err, sizeof(err)) == 0) {
			/* Accepted: every value must pass the checks the agent relies on. */
			if (!req_name_valid(spec.name) || (!spec.image[0] == !spec.snapshot[0]) ||
			    (spec.snapshot[0] && !req_name_valid(spec.snapshot)) ||
			    (spec.net.tap[0] && !req_tap_valid(spec.net.tap)) ||
			    (spec.net.ip[0] && !req_ipv4_valid(spec.net.ip, 1)) ||
			    (spec.net.gw[0] && !req_ipv4_valid(spec.net.gw, 0)) ||
			    (spec.net.mac[0] && !req_mac_valid(spec.net.mac)) ||
			    (spec.net.netns[0] && !req_name_valid(spec.net.netns)) ||
			    spec.mem > MAX_VM_MEM || spec.mem % (2u << 20) || !spec.args ||
			    !spec.env || strchr(spec.name, '/'))
				abort();
			json_t *net = req_net_json(&spec.net);
			json_decref(net);
			req_vm_spec_free(&spec);
		} else {
			one_line(err);
		}
		break;
	}
	case 1: {
		char name[VM_NAME_MAX + 1];
		int stop;
		if (req_parse_snapshot(body, len, name, &stop, err, sizeof(err)) == 0) {
			if (!req_name_valid(name) || (stop != 0 && stop != 1))
				abort();
		} else {
			one_line(err);
		}
		break;
	}
	case 2: {
		char to[REQ_MIGRATE_ADDR];
		if (req_parse_migrate(body, len, to, err, sizeof(err)) == 0) {
			if (!req_tcp_addr_valid(to))
				abort();
		} else {
			one_line(err);
		}
		break;
	}
	case 3:
		if (req_name_valid(text) && (strchr(text, '/') || text[0] == '.'))
			abort();
		if (req_tap_valid(text) && strlen(text) > REQ_TAP_MAX)
			abort();
		req_ipv4_valid(text, 0);
		req_ipv4_valid(text, 1);
		req_mac_valid(text);
		req_tcp_addr_valid(text);
		break;
	default:
		if (req_bearer_ok(text, "0123456789abcdef") &&
		    strcmp(text, "Bearer 0123456789abcdef"))
			abort();
		break;
	}
	free(text);
	return 0;
}
