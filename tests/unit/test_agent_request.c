/*
 * test_agent_request.c - hedged's request checks (agent/request.c): names,
 * addresses, sizes, VM bodies, snapshot and migration bodies, bearer tokens.
 */
#include <stdlib.h>

#include "check.h"
#include "request.h"

static int parse_vm(const char *body, struct vm_spec *spec, char *err, size_t errlen)
{
	return req_parse_vm(body, strlen(body), spec, err, errlen);
}

/* Expects body refused with 400 and a reason containing why, on one line. */
static void refuses(const char *body, const char *why)
{
	struct vm_spec spec;
	char err[400] = "";
	int rc = parse_vm(body, &spec, err, sizeof(err));
	CHECK(rc == 400);
	CHECK_CONTAINS(err, why);
	CHECK(!strchr(err, '\n'));
	CHECK(spec.args == NULL && spec.env == NULL);
}

static void test_names(void)
{
	CHECK(req_name_valid("web-1.a_b"));
	CHECK(req_name_valid("A"));
	char max[VM_NAME_MAX + 2];
	memset(max, 'x', sizeof(max));
	max[VM_NAME_MAX] = '\0';
	CHECK(req_name_valid(max));
	max[VM_NAME_MAX] = 'x';
	max[VM_NAME_MAX + 1] = '\0';
	CHECK(!req_name_valid(max));
	CHECK(!req_name_valid(""));
	CHECK(!req_name_valid("."));
	CHECK(!req_name_valid(".."));
	CHECK(!req_name_valid(".hidden"));
	CHECK(!req_name_valid("a/b"));
	CHECK(!req_name_valid("a b"));
	CHECK(!req_name_valid("a%2f"));
	CHECK(!req_name_valid("ä"));
}

static void test_taps(void)
{
	CHECK(req_tap_valid("tap0"));
	CHECK(req_tap_valid("123456789012345"));
	CHECK(!req_tap_valid("1234567890123456"));
	CHECK(!req_tap_valid("-tap"));
	CHECK(!req_tap_valid(".tap"));
	CHECK(!req_tap_valid("ta/p"));
	CHECK(!req_tap_valid(""));
}

static void test_addresses(void)
{
	CHECK(req_ipv4_valid("10.0.0.2", 0));
	CHECK(req_ipv4_valid("255.255.255.255", 0));
	CHECK(req_ipv4_valid("0.0.0.0", 0));
	CHECK(req_ipv4_valid("10.0.0.2/24", 1));
	CHECK(req_ipv4_valid("10.0.0.2/32", 1));
	CHECK(!req_ipv4_valid("10.0.0.2/0", 1));
	CHECK(!req_ipv4_valid("10.0.0.2/33", 1));
	CHECK(!req_ipv4_valid("10.0.0.2", 1));
	CHECK(!req_ipv4_valid("10.0.0.2/24", 0));
	CHECK(!req_ipv4_valid("10.0.0.256", 0));
	CHECK(!req_ipv4_valid("10.0.0", 0));
	CHECK(!req_ipv4_valid("10.0.0.1.", 0));
	CHECK(!req_ipv4_valid("10.0.0.01", 0));
	CHECK(!req_ipv4_valid(" 10.0.0.1", 0));
	CHECK(!req_ipv4_valid("10.0.0.1 ", 0));
	CHECK(!req_ipv4_valid("10.0.0.-1", 0));
	CHECK(!req_ipv4_valid("99999999999.0.0.1", 0));
	CHECK(req_mac_valid("02:00:00:aa:BB:0f"));
	CHECK(!req_mac_valid("01:00:00:00:00:01")); /* multicast */
	CHECK(!req_mac_valid("00:00:00:00:00:00")); /* zero */
	CHECK(!req_mac_valid("02:00:00:00:00"));
	CHECK(!req_mac_valid("02-00-00-00-00-01"));
	CHECK(!req_mac_valid("02:00:00:00:00:0g"));
	CHECK(!req_mac_valid("02:00:00:00:00:011"));
	CHECK(req_tcp_addr_valid("tcp:127.0.0.1:7000"));
	CHECK(req_tcp_addr_valid("tcp:10.0.0.2:65535"));
	CHECK(!req_tcp_addr_valid("tcp:10.0.0.2:65536"));
	CHECK(!req_tcp_addr_valid("tcp:10.0.0.2:0"));
	CHECK(!req_tcp_addr_valid("tcp:10.0.0.2"));
	CHECK(!req_tcp_addr_valid("udp:10.0.0.2:1"));
	CHECK(!req_tcp_addr_valid("tcp:host:1"));
	CHECK(!req_tcp_addr_valid("tcp:10.0.0.2:1x"));
}

static void test_mem(void)
{
	uint64_t m;
	json_t *v;
	CHECK(req_parse_mem(v = json_string("64M"), &m) == 0 && m == 64ull << 20);
	json_decref(v);
	CHECK(req_parse_mem(v = json_string("1"), &m) == 0 && m == 2ull << 20); /* rounded up */
	json_decref(v);
	CHECK(req_parse_mem(v = json_integer(3 << 20), &m) == 0 && m == 4ull << 20);
	json_decref(v);
	CHECK(req_parse_mem(v = json_string("16G"), &m) == 0 && m == 16ull << 30);
	json_decref(v);
	static const char *const bad[] = {
	    "17G", "0", "-1M", "64X", "M", "", " 1M", "64MB", "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(req_parse_mem(v = json_string(bad[i]), &m) == -1);
		json_decref(v);
	}
	CHECK(req_parse_mem(v = json_integer(-5), &m) == -1);
	json_decref(v);
	CHECK(req_parse_mem(v = json_real(1.5), &m) == -1);
	json_decref(v);
}

static void test_vm_body_ok(void)
{
	struct vm_spec spec;
	char err[400] = "";
	int rc =
	    parse_vm("{\"name\":\"web\",\"image\":\"abcdef\",\"mem\":\"16M\",\"args\":[\"80\"],"
	             "\"env\":[\"A=1\"],\"restart\":\"always\",\"cpus\":0.25,"
	             "\"net\":{\"tap\":\"t0\",\"ip\":\"10.1.0.2/16\",\"gw\":\"10.1.0.1\","
	             "\"mac\":\"02:00:00:00:00:02\",\"netns\":\"ns1\"}}",
	             &spec, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(!strcmp(spec.name, "web"));
	CHECK(!strcmp(spec.image, "abcdef"));
	CHECK(spec.snapshot[0] == '\0');
	CHECK(spec.mem == 16ull << 20);
	CHECK(spec.args && !strcmp(spec.args, "[\"80\"]"));
	CHECK(spec.env && !strcmp(spec.env, "[\"A=1\"]"));
	CHECK(!strcmp(spec.restart, "always"));
	CHECK(spec.cpu_millis == 250);
	CHECK(!strcmp(spec.net.tap, "t0") && !strcmp(spec.net.ip, "10.1.0.2/16"));
	CHECK(!strcmp(spec.net.gw, "10.1.0.1") && !strcmp(spec.net.mac, "02:00:00:00:00:02"));
	CHECK(!strcmp(spec.net.netns, "ns1"));
	json_t *net = req_net_json(&spec.net);
	char *text = json_dumps(net, JSON_COMPACT | JSON_SORT_KEYS);
	CHECK(text && !strcmp(text, "{\"gw\":\"10.1.0.1\",\"ip\":\"10.1.0.2/16\",\"mac\":"
	                            "\"02:00:00:00:00:02\",\"netns\":\"ns1\",\"tap\":\"t0\"}"));
	free(text);
	json_decref(net);
	req_vm_spec_free(&spec);

	rc = parse_vm("{\"name\":\"i\",\"image\":\"abcdef\",\"mem\":\"32M\",\"incoming\":\"tcp:"
	              "10.0.0.2:7000\",\"net\":{\"tap\":\"t\"}}",
	              &spec, err, sizeof(err));
	CHECK(rc == 0);
	CHECK(!strcmp(spec.incoming, "tcp:10.0.0.2:7000") && spec.mem == 32ull << 20);
	req_vm_spec_free(&spec);

	rc = parse_vm("{\"name\":\"r\",\"snapshot\":\"s1\",\"net\":{\"tap\":\"t\"}}", &spec, err,
	              sizeof(err));
	CHECK(rc == 0);
	CHECK(!strcmp(spec.snapshot, "s1") && spec.image[0] == '\0');
	CHECK(!strcmp(spec.restart, "no") && spec.mem == 0);
	CHECK(spec.args && !strcmp(spec.args, "[]"));
	req_vm_spec_free(&spec);
}

static void test_vm_body_refused(void)
{
	refuses("{\"name\": \"x\", ", "malformed JSON");
	refuses("[1,2]", "must be a JSON object");
	refuses("", "malformed JSON");
	refuses("{\"name\":\"a\",\"name\":\"b\",\"image\":\"abcdef\"}", "malformed JSON");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"colour\":1}", "unknown field \"colour\"");
	refuses("{\"image\":\"abcdef\"}", "\"name\" is a required string");
	refuses("{\"a\\nb\":1}", "unknown field \"a?b\""); /* still one line */
	refuses("{\"name\":\"a/b\",\"image\":\"abcdef\"}", "bad VM name");
	refuses("{\"name\":\"a\\u0000b\",\"image\":\"abcdef\"}", "is not allowed");
	refuses("{\"name\":\"..\",\"image\":\"abcdef\"}", "bad VM name");
	refuses("{\"name\":\"a\"}", "either \"image\" or \"snapshot\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"snapshot\":\"s\"}", "either");
	refuses("{\"name\":\"a\",\"image\":\"\"}", "\"image\" is empty");
	refuses("{\"name\":\"a\",\"image\":7}", "\"image\" must be a string");
	refuses("{\"name\":\"a\",\"snapshot\":\"../x\"}", "bad snapshot name");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"args\":\"x\"}",
	        "\"args\" must be an array");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"args\":[1]}", "\"args\" must be an array");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"env\":[\"A\"]}", "K=V");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"env\":[\"=1\"]}", "K=V");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"restart\":\"sometimes\"}", "\"restart\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"mem\":\"99G\"}", "\"mem\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"cpus\":0}", "\"cpus\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"cpus\":\"1\"}", "\"cpus\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":[]}", "\"net\" must be an object");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"t\",\"x\":1}}",
	        "unknown field \"x\" in \"net\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"a/b\"}}", "bad \"tap\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"t\",\"ip\":\"1.2.3.4\"}}",
	        "bad \"ip\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"t\",\"gw\":\"1.2.3\"}}",
	        "bad \"gw\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"t\",\"mac\":\"ff:ff:ff:ff:"
	        "ff:ff\"}}",
	        "bad \"mac\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"netns\":\"a/b\"}}",
	        "bad \"netns\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"ip\":\"1.2.3.4/8\"}}",
	        "need \"tap\"");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"net\":{\"tap\":\"tttttttttttttttttttt\"}}",
	        "\"tap\" must be a string of at most 15 bytes");
	refuses("{\"name\":\"a\",\"snapshot\":\"s\",\"args\":[]}", "come with the snapshot");
	refuses(
	    "{\"name\":\"a\",\"image\":\"abcdef\",\"mem\":\"32M\",\"incoming\":\"tcp:1.2.3.4\"}",
	    "\"incoming\" must be tcp:");
	refuses("{\"name\":\"a\",\"image\":\"abcdef\",\"incoming\":\"tcp:1.2.3.4:5\"}",
	        "needs \"mem\"");
	refuses(
	    "{\"name\":\"a\",\"image\":\"abcdef\",\"mem\":\"32M\",\"incoming\":\"tcp:1.2.3.4:5\","
	    "\"args\":[]}",
	    "come with an incoming VM");
	refuses("{\"name\":\"a\",\"snapshot\":\"s\",\"net\":{\"tap\":\"t\",\"ip\":\"1.2.3.4/8\"}}",
	        "come with the snapshot");
}

static void test_many_args(void)
{
	/* 256 arguments are fine, 257 are not. */
	char body[4096];
	for (int n = 256; n <= 257; n++) {
		size_t len = (size_t)snprintf(body, sizeof(body),
		                              "{\"name\":\"a\",\"image\":\"abcdef\",\"args\":[");
		for (int i = 0; i < n; i++)
			len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\"x\"",
			                        i ? "," : "");
		snprintf(body + len, sizeof(body) - len, "]}");
		struct vm_spec spec;
		char err[400];
		int rc = parse_vm(body, &spec, err, sizeof(err));
		CHECK(rc == (n == 256 ? 0 : 400));
		req_vm_spec_free(&spec);
	}
}

static void test_snapshot_and_migrate_bodies(void)
{
	char name[VM_NAME_MAX + 1], to[REQ_MIGRATE_ADDR], err[400];
	int stop = 7;
	const char *b = "{\"name\":\"s1\",\"stop\":true}";
	CHECK(req_parse_snapshot(b, strlen(b), name, &stop, err, sizeof(err)) == 0);
	CHECK(!strcmp(name, "s1") && stop == 1);
	b = "{\"name\":\"s1\"}";
	CHECK(req_parse_snapshot(b, strlen(b), name, &stop, err, sizeof(err)) == 0 && stop == 0);
	static const char *const bad_snap[] = {"{}", "{\"name\":\"../x\"}",
	                                       "{\"name\":\"s\",\"stop\":1}",
	                                       "{\"name\":\"s\",\"path\":\"/etc\"}", "nope"};
	for (size_t i = 0; i < sizeof(bad_snap) / sizeof(bad_snap[0]); i++)
		CHECK(req_parse_snapshot(bad_snap[i], strlen(bad_snap[i]), name, &stop, err,
		                         sizeof(err)) == 400);
	b = "{\"to\":\"tcp:10.0.0.2:7000\"}";
	CHECK(req_parse_migrate(b, strlen(b), to, err, sizeof(err)) == 0);
	CHECK(!strcmp(to, "tcp:10.0.0.2:7000"));
	static const char *const bad_mig[] = {"{}", "{\"to\":\"tcp:10.0.0.2\"}",
	                                      "{\"to\":\"tcp:10.0.0.2:7000\",\"x\":1}",
	                                      "{\"to\":\"tcp:255.255.255.255:1:2\"}",
	                                      "{\"to\":\"tcp:10.0.0.2:7000000000000000000000\"}"};
	for (size_t i = 0; i < sizeof(bad_mig) / sizeof(bad_mig[0]); i++)
		CHECK(req_parse_migrate(bad_mig[i], strlen(bad_mig[i]), to, err, sizeof(err)) ==
		      400);
}

static void test_bearer(void)
{
	const char *tok = "0123456789abcdef";
	CHECK(req_bearer_ok("Bearer 0123456789abcdef", tok));
	CHECK(!req_bearer_ok("Bearer 0123456789abcdeg", tok));
	CHECK(!req_bearer_ok("Bearer 0123456789abcde", tok));
	CHECK(!req_bearer_ok("Bearer 0123456789abcdef0", tok));
	CHECK(!req_bearer_ok("bearer 0123456789abcdef", tok));
	CHECK(!req_bearer_ok("Basic 0123456789abcdef", tok));
	CHECK(!req_bearer_ok("Bearer ", tok));
	CHECK(!req_bearer_ok(NULL, tok));
	CHECK(!req_bearer_ok("Bearer ", ""));
}

int main(void)
{
	static const struct test_case cases[] = {
	    {"agent request: names", test_names},
	    {"agent request: TAP names", test_taps},
	    {"agent request: IPv4, MAC and tcp: addresses", test_addresses},
	    {"agent request: memory sizes", test_mem},
	    {"agent request: a full VM body", test_vm_body_ok},
	    {"agent request: bad VM bodies get 400 and a reason", test_vm_body_refused},
	    {"agent request: argument count limit", test_many_args},
	    {"agent request: snapshot and migrate bodies", test_snapshot_and_migrate_bodies},
	    {"agent request: bearer tokens", test_bearer},
	};
	return run_tests(cases, sizeof(cases) / sizeof(cases[0]));
}
