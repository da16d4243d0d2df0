/*
 * test_toolchain.c - unit tests for hedge build's host side: LEB128 and
 * module parsing (valid, truncated at every byte, malformed), the import
 * checks, SHA-256 test vectors, tar archives checked with the host's tar,
 * build.conf and --dir parsing, the cache key's configuration
 * fingerprint, running tools in parallel, and splitting wasm2c's output
 * (checked by compiling and linking the parts with the host's compiler).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build.h"
#include "cache.h"
#include "check.h"
#include "imports.h"
#include "sha256.h"
#include "subprocess.h"
#include "tar_write.h"
#include "wasm2c_split.h"
#include "wasm_module.h"

/* ---- a tiny WebAssembly module builder ---- */

struct buf {
	uint8_t bytes[4096];
	size_t len;
};

static void put(struct buf *b, const void *data, size_t len)
{
	memcpy(b->bytes + b->len, data, len);
	b->len += len;
}

static void put_byte(struct buf *b, uint8_t byte)
{
	b->bytes[b->len++] = byte;
}

static void put_leb(struct buf *b, uint32_t v)
{
	do {
		uint8_t byte = v & 0x7f;
		v >>= 7;
		put_byte(b, byte | (v ? 0x80 : 0));
	} while (v);
}

static void put_name(struct buf *b, const char *name)
{
	put_leb(b, (uint32_t)strlen(name));
	put(b, name, strlen(name));
}

static void put_section(struct buf *module, uint8_t id, const struct buf *body)
{
	put_byte(module, id);
	put_leb(module, (uint32_t)body->len);
	put(module, body->bytes, body->len);
}

static void put_header(struct buf *m)
{
	put(m, "\0asm\1\0\0\0", 8);
}

struct import_spec {
	const char *module;
	const char *name;
	uint8_t kind;  /* 0 function, 2 memory */
	uint32_t type; /* for functions */
};

/*
 * Types: 0 = () -> (), 1 = (i32, i32, i32, i32) -> i32, 2 = (i32) -> (),
 * 3 = (i32) -> i32.  One defined function of type start_type exported as
 * _start, one memory exported as "memory" (unless memory_imported).
 */
static void make_module(struct buf *m, const struct import_spec *imports, size_t nimports,
                        uint32_t start_type, int export_memory)
{
	struct buf s;
	memset(m, 0, sizeof(*m));
	put_header(m);

	memset(&s, 0, sizeof(s));
	put_leb(&s, 4);
	put(&s, "\x60\x00\x00", 3);
	put(&s, "\x60\x04\x7f\x7f\x7f\x7f\x01\x7f", 8);
	put(&s, "\x60\x01\x7f\x00", 4);
	put(&s, "\x60\x01\x7f\x01\x7f", 5);
	put_section(m, 1, &s);

	uint32_t imported_funcs = 0;
	if (nimports) {
		memset(&s, 0, sizeof(s));
		put_leb(&s, (uint32_t)nimports);
		for (size_t i = 0; i < nimports; i++) {
			put_name(&s, imports[i].module);
			put_name(&s, imports[i].name);
			put_byte(&s, imports[i].kind);
			if (imports[i].kind == 0) {
				put_leb(&s, imports[i].type);
				imported_funcs++;
			} else {
				put(&s, "\x00\x01", 2); /* limits: min 1 */
			}
		}
		put_section(m, 2, &s);
	}

	memset(&s, 0, sizeof(s));
	put_leb(&s, 1);
	put_leb(&s, start_type);
	put_section(m, 3, &s);

	memset(&s, 0, sizeof(s));
	put(&s, "\x01\x00\x01", 3);
	put_section(m, 5, &s);

	memset(&s, 0, sizeof(s));
	put_leb(&s, export_memory ? 2 : 1);
	put_name(&s, "_start");
	put_byte(&s, 0);
	put_leb(&s, imported_funcs);
	if (export_memory) {
		put_name(&s, "memory");
		put_byte(&s, 2);
		put_leb(&s, 0);
	}
	put_section(m, 7, &s);

	memset(&s, 0, sizeof(s));
	put(&s, "\x01\x02\x00\x0b", 4); /* one body: no locals, end */
	put_section(m, 10, &s);

	memset(&s, 0, sizeof(s));
	put_name(&s, "producers");
	put(&s, "\x00", 1);
	put_section(m, 0, &s);
}

static const struct import_spec wasi_imports[] = {
    {"wasi_snapshot_preview1", "fd_write", 0, 1},
    {"wasi_snapshot_preview1", "proc_exit", 0, 2},
};

/* Parses an exact-size heap copy, so ASan sees any read past the end. */
static int parse_copy(const uint8_t *data, size_t len, struct wasm_module *mod, char *err,
                      size_t errlen)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	int rc = wasm_module_parse(copy, len, mod, err, errlen);
	free(copy);
	return rc;
}

static int one_line(const char *s)
{
	return s[0] != '\0' && strchr(s, '\n') == NULL;
}

/* ---- LEB128 ---- */

static int leb32(const char *bytes, size_t len, uint32_t *v, size_t *used)
{
	size_t pos = 0;
	int rc = wasm_read_u32((const uint8_t *)bytes, len, &pos, v);
	*used = pos;
	return rc;
}

static void test_leb128(void)
{
	uint32_t v;
	uint64_t v64;
	size_t used, pos;
	CHECK(leb32("\x00", 1, &v, &used) == 0 && v == 0 && used == 1);
	CHECK(leb32("\x7f", 1, &v, &used) == 0 && v == 127);
	CHECK(leb32("\x80\x01", 2, &v, &used) == 0 && v == 128 && used == 2);
	CHECK(leb32("\xe5\x8e\x26", 3, &v, &used) == 0 && v == 624485);
	/* Non-minimal encodings are valid as long as they fit in 5 bytes. */
	CHECK(leb32("\x80\x80\x00", 3, &v, &used) == 0 && v == 0 && used == 3);
	CHECK(leb32("\xff\xff\xff\xff\x0f", 5, &v, &used) == 0 && v == UINT32_MAX);
	/* Bits beyond 32 in the fifth byte, a sixth byte, truncation. */
	CHECK(leb32("\xff\xff\xff\xff\x1f", 5, &v, &used) == WASM_LEB_OVERFLOW);
	CHECK(leb32("\x80\x80\x80\x80\x40", 5, &v, &used) == WASM_LEB_OVERFLOW);
	CHECK(leb32("\x80\x80\x80\x80\x80\x00", 6, &v, &used) == WASM_LEB_OVERFLOW);
	CHECK(leb32("", 0, &v, &used) == WASM_LEB_TRUNCATED);
	CHECK(leb32("\x80", 1, &v, &used) == WASM_LEB_TRUNCATED);
	CHECK(leb32("\xff\xff\xff\xff", 4, &v, &used) == WASM_LEB_TRUNCATED);
	/* Reading stops at len even if the byte there would continue. */
	CHECK(leb32("\x80\x01", 1, &v, &used) == WASM_LEB_TRUNCATED);

	pos = 0;
	CHECK(wasm_read_u64((const uint8_t *)"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10, &pos,
	                    &v64) == 0 &&
	      v64 == UINT64_MAX && pos == 10);
	pos = 0;
	CHECK(wasm_read_u64((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10, &pos,
	                    &v64) == WASM_LEB_OVERFLOW);
	pos = 0;
	CHECK(wasm_read_u64((const uint8_t *)"\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00", 11,
	                    &pos, &v64) == WASM_LEB_OVERFLOW);
	pos = 0;
	CHECK(wasm_read_u64((const uint8_t *)"\x80\x80", 2, &pos, &v64) == WASM_LEB_TRUNCATED);
	pos = 0;
	CHECK(wasm_read_u64((const uint8_t *)"\x80\x80\x80\x80\x10", 5, &pos, &v64) == 0 &&
	      v64 == (1ull << 32));
}

/* ---- modules ---- */

static void test_valid_module(void)
{
	struct buf m;
	make_module(&m, wasi_imports, 2, 0, 1);
	struct wasm_module mod;
	char err[512] = "";
	CHECK(parse_copy(m.bytes, m.len, &mod, err, sizeof(err)) == 0);
	if (err[0])
		printf("    error: %s\n", err);
	CHECK(mod.type_count == 4);
	CHECK(mod.import_count == 2);
	CHECK(wasm_name_is(mod.imports[0].module, mod.imports[0].module_len,
	                   "wasi_snapshot_preview1"));
	CHECK(strcmp(mod.imports[1].name, "proc_exit") == 0);
	CHECK(mod.imports[1].kind == WASM_EXTERN_FUNC && mod.imports[1].type_index == 2);
	CHECK(mod.imported[WASM_EXTERN_FUNC] == 2 && mod.defined[WASM_EXTERN_FUNC] == 1);
	CHECK(mod.defined[WASM_EXTERN_MEMORY] == 1);
	CHECK(mod.exports_start && mod.start_index == 2);
	CHECK(mod.exports_memory && !mod.imports_memory);
	CHECK(mod.export_count == 2);
	const struct wasm_functype *start = wasm_func_type(&mod, 2);
	CHECK(start && start->param_count == 0 && start->result_count == 0);
	CHECK(wasm_func_type(&mod, 3) == NULL);
	char type[64];
	wasm_functype_format(wasm_func_type(&mod, 0), type, sizeof(type));
	CHECK(strcmp(type, "(i32, i32, i32, i32) -> i32") == 0);
	wasm_functype_format(wasm_func_type(&mod, 1), type, sizeof(type));
	CHECK(strcmp(type, "(i32) -> ()") == 0);
	CHECK(check_module_imports(&mod, "app.wasm", err, sizeof(err)) == 0);
	wasm_module_free(&mod);

	/* The smallest module: just the header. */
	CHECK(parse_copy(m.bytes, 8, &mod, err, sizeof(err)) == 0);
	CHECK(mod.import_count == 0 && !mod.exports_start);
	wasm_module_free(&mod);
}

static void test_truncated_everywhere(void)
{
	struct buf m;
	make_module(&m, wasi_imports, 2, 0, 1);
	/* Cutting inside the trailing custom section's payload keeps it well-formed
	 * only if the cut falls on a section boundary, which none of these do. */
	size_t failures = 0, cuts = 0;
	for (size_t len = 0; len < m.len; len++) {
		struct wasm_module mod;
		char err[512] = "";
		int rc = parse_copy(m.bytes, len, &mod, err, sizeof(err));
		if (rc == 0) {
			wasm_module_free(&mod);
			continue; /* a cut exactly between sections is a shorter valid module */
		}
		cuts++;
		if (!one_line(err)) {
			printf("    cut at %zu: bad message \"%s\"\n", len, err);
			failures++;
		}
	}
	CHECK(failures == 0);
	CHECK(cuts > m.len - 10);
	struct wasm_module mod;
	char err[512];
	CHECK(parse_copy(m.bytes, 20, &mod, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "truncated section 1 (type) at offset 8");
	CHECK(parse_copy(m.bytes, 0, &mod, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "empty file");
	CHECK(parse_copy(m.bytes, 6, &mod, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "truncated header");
}

static void expect_parse_error(const uint8_t *bytes, size_t len, const char *want)
{
	struct wasm_module mod;
	char err[512] = "";
	int rc = parse_copy(bytes, len, &mod, err, sizeof(err));
	CHECK(rc == -1);
	if (rc == 0)
		wasm_module_free(&mod);
	CHECK(one_line(err));
	CHECK_CONTAINS(err, want);
}

static void test_bad_header(void)
{
	expect_parse_error((const uint8_t *)"\0asx\1\0\0\0", 8,
	                   "not a WebAssembly module (bad magic)");
	expect_parse_error((const uint8_t *)"hello world\n", 12, "bad magic");
	expect_parse_error((const uint8_t *)"(module)\n", 9, "wat2wasm");
	expect_parse_error((const uint8_t *)"\x7f"
	                                    "ELF\2\1\1\0",
	                   8, "ELF");
	expect_parse_error((const uint8_t *)"\0asm\2\0\0\0", 8,
	                   "unsupported WebAssembly version 2");
	expect_parse_error((const uint8_t *)"\0asm\x0d\0\1\0", 8, "component");
}

static void test_malformed_sections(void)
{
	struct buf m, s;

	/* A section size that does not fit in 32 bits. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x01\xff\xff\xff\xff\x7f", 6);
	expect_parse_error(m.bytes, m.len, "size does not fit in 32 bits");

	/* A section longer than the file. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x03\x10\x01\x00", 4);
	expect_parse_error(m.bytes, m.len, "truncated section 3 (function) at offset 8");

	/* Unknown section id. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x0e\x00", 2);
	expect_parse_error(m.bytes, m.len, "unknown section id 14");

	/* Out of order and duplicate. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x07\x01\x00\x01\x01\x00", 6);
	expect_parse_error(m.bytes, m.len, "out of order");
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x01\x01\x00\x01\x01\x00", 6);
	expect_parse_error(m.bytes, m.len, "duplicate section 1 (type)");

	/* A count no section could hold: must not allocate 4 G entries. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x02\x05\xff\xff\xff\xff\x0f", 7);
	expect_parse_error(m.bytes, m.len, "cannot fit");

	/* Import of an unknown kind, and of a type that does not exist. */
	memset(&s, 0, sizeof(s));
	put_leb(&s, 1);
	put_name(&s, "env");
	put_name(&s, "f");
	put(&s, "\x07\x00", 2);
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put_section(&m, 2, &s);
	expect_parse_error(m.bytes, m.len, "unknown kind 0x07");
	s.bytes[s.len - 2] = 0;
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put_section(&m, 2, &s);
	expect_parse_error(m.bytes, m.len, "type index 0 out of range");

	/* A name that is not UTF-8. */
	memset(&s, 0, sizeof(s));
	put_leb(&s, 1);
	put(&s, "\x02\xc3\x28", 3);
	put_name(&s, "f");
	put(&s, "\x02\x00\x01", 3);
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put_section(&m, 2, &s);
	expect_parse_error(m.bytes, m.len, "not valid UTF-8");

	/* Bytes left over at the end of a section. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x01\x02\x00\x00", 4);
	expect_parse_error(m.bytes, m.len, "1 unused bytes");

	/* Function bodies that do not match the declared functions. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x01\x04\x01\x60\x00\x00", 6);
	put(&m, "\x03\x02\x01\x00", 4);
	expect_parse_error(m.bytes, m.len, "no code section");
	put(&m, "\x0a\x01\x00", 3);
	expect_parse_error(m.bytes, m.len, "0 function bodies for 1 declared functions");

	/* An export of a function that does not exist. */
	memset(&s, 0, sizeof(s));
	put_leb(&s, 1);
	put_name(&s, "_start");
	put(&s, "\x00\x05", 2);
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put_section(&m, 7, &s);
	expect_parse_error(m.bytes, m.len, "refers to function 5, but there are 0");

	/* An unknown value type in a function type. */
	memset(&m, 0, sizeof(m));
	put_header(&m);
	put(&m, "\x01\x05\x01\x60\x01\x40\x00", 7);
	expect_parse_error(m.bytes, m.len, "unknown value type 0x40");
}

static void check_imports_error(const struct buf *m, const char *want)
{
	struct wasm_module mod;
	char err[1024] = "";
	CHECK(parse_copy(m->bytes, m->len, &mod, err, sizeof(err)) == 0);
	CHECK(check_module_imports(&mod, "app.wasm", err, sizeof(err)) == -1);
	CHECK(one_line(err));
	CHECK_CONTAINS(err, want);
	wasm_module_free(&mod);
}

static void test_import_checks(void)
{
	struct buf m;
	static const struct import_spec other[] = {
	    {"env", "foo", 0, 0},
	    {"wasi_snapshot_preview1", "fd_write", 0, 1},
	    {"wasi_snapshot_preview1", "bar", 0, 0},
	};
	make_module(&m, other, 3, 0, 1);
	check_imports_error(&m, "app.wasm imports 2 functions hedge does not provide: env.foo, "
	                        "wasi_snapshot_preview1.bar");

	static const struct import_spec memory[] = {
	    {"env", "memory", 2, 0},
	    {"env", "foo", 0, 0},
	};
	make_module(&m, memory, 2, 0, 1);
	check_imports_error(&m,
	                    "imports 1 function and 1 memory hedge does not provide: env.memory "
	                    "(memory), env.foo");
	struct wasm_module mod;
	char err[256];
	CHECK(parse_copy(m.bytes, m.len, &mod, err, sizeof(err)) == 0);
	CHECK(mod.imports_memory && mod.imported[WASM_EXTERN_MEMORY] == 1);
	wasm_module_free(&mod);

	/* A provided function imported with another type. */
	static const struct import_spec wrong_type[] = {
	    {"wasi_snapshot_preview1", "fd_write", 0, 2},
	};
	make_module(&m, wrong_type, 1, 0, 1);
	check_imports_error(&m,
	                    "imports wasi_snapshot_preview1.fd_write with type (i32) -> (), but "
	                    "hedge provides (i32, i32, i32, i32) -> i32");

	/* No memory export, a _start with parameters. */
	make_module(&m, wasi_imports, 2, 0, 0);
	check_imports_error(&m, "does not export its memory");
	make_module(&m, wasi_imports, 2, 3, 1);
	check_imports_error(&m, "exports _start with type (i32) -> i32, expected () -> ()");

	/* The message names every missing import until the buffer is full. */
	static struct import_spec many[60];
	static char names[60][24];
	for (int i = 0; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]), "missing_%02d", i);
		many[i] = (struct import_spec){"env", names[i], 0, 0};
	}
	make_module(&m, many, 60, 0, 1);
	CHECK(parse_copy(m.bytes, m.len, &mod, err, sizeof(err)) == 0);
	CHECK(check_module_imports(&mod, "app.wasm", err, sizeof(err)) == -1);
	CHECK(strlen(err) < sizeof(err));
	CHECK_CONTAINS(err, "imports 60 functions");
	CHECK_CONTAINS(err, "env.missing_00, env.missing_01");
	CHECK_CONTAINS(err, " more");
	CHECK(one_line(err));
	wasm_module_free(&mod);
}

static void test_hedge_import_table(void)
{
	CHECK(hedge_import_count == 68);
	for (size_t i = 0; i < hedge_import_count; i++) {
		CHECK(strcmp(hedge_imports[i].module, "wasi_snapshot_preview1") == 0);
		CHECK(strchr(hedge_imports[i].signature, ':') != NULL);
		for (size_t j = i + 1; j < hedge_import_count; j++)
			CHECK(strcmp(hedge_imports[i].name, hedge_imports[j].name) != 0);
	}
	CHECK(hedge_import_find("wasi_snapshot_preview1", 22, "path_open", 9) != NULL);
	CHECK(hedge_import_find("wasi_snapshot_preview1", 22, "path_ope", 8) == NULL);
	CHECK(hedge_import_find("wasi_unstable", 13, "fd_write", 8) == NULL);
	/* A name with a NUL inside must not match its prefix. */
	CHECK(hedge_import_find("wasi_snapshot_preview1", 22, "fd_write\0x", 10) == NULL);

	char out[32];
	wasm_name_format("a\nb\\c\x01", 6, out, sizeof(out));
	CHECK(strcmp(out, "a\\x0ab\\x5cc\\x01") == 0);
	wasm_name_format("abcdefghijklmnopqrstuvwxyz", 26, out, 12);
	CHECK(strcmp(out, "abcdefgh...") == 0);
}

/* ---- SHA-256 ---- */

static void hex_of(const void *data, size_t len, char *hex)
{
	uint8_t digest[SHA256_DIGEST_LEN];
	sha256(data, len, digest);
	sha256_hex(digest, hex);
}

static void test_sha256(void)
{
	char hex[SHA256_HEX_LEN + 1];
	hex_of("", 0, hex);
	CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
	hex_of("abc", 3, hex);
	CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
	const char *two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	hex_of(two_blocks, strlen(two_blocks), hex);
	CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
	const char *long_msg = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
	                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	hex_of(long_msg, strlen(long_msg), hex);
	CHECK(strcmp(hex, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1") == 0);

	/* One million 'a's, fed in uneven pieces. */
	static char million[1000000];
	memset(million, 'a', sizeof(million));
	struct sha256_ctx ctx;
	sha256_init(&ctx);
	size_t pos = 0, step = 1;
	while (pos < sizeof(million)) {
		size_t n = step < sizeof(million) - pos ? step : sizeof(million) - pos;
		sha256_update(&ctx, million + pos, n);
		pos += n;
		step = step * 3 % 1021 + 1;
	}
	uint8_t digest[SHA256_DIGEST_LEN];
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);

	/* Every length around the padding boundaries, piecewise equals one-shot. */
	for (size_t len = 50; len < 140; len++) {
		char one[SHA256_HEX_LEN + 1], pieces[SHA256_HEX_LEN + 1];
		hex_of(million, len, one);
		sha256_init(&ctx);
		for (size_t i = 0; i < len; i++)
			sha256_update(&ctx, million + i, 1);
		sha256_final(&ctx, digest);
		sha256_hex(digest, pieces);
		CHECK(strcmp(one, pieces) == 0);
	}
}

/* ---- tar ---- */

static char scratch[256];

static void make_scratch(void)
{
	snprintf(scratch, sizeof(scratch), "/tmp/hedge-tc-test.XXXXXX");
	if (!mkdtemp(scratch))
		abort();
}

static void write_text(const char *dir, const char *rel, const char *text)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	FILE *f = fopen(path, "w");
	if (!f)
		abort();
	fputs(text, f);
	fclose(f);
}

static int run(const char *cmd)
{
	return system(cmd);
}

static void test_tar_round_trip(void)
{
	make_scratch();
	char tree[512], cmd[2048], path[1024];
	snprintf(tree, sizeof(tree), "%s/tree", scratch);
	mkdir(tree, 0755);
	write_text(tree, "hello.txt", "hello\n");
	write_text(tree, "empty", "");
	snprintf(path, sizeof(path), "%s/sub", tree);
	mkdir(path, 0750);
	snprintf(path, sizeof(path), "%s/sub/empty-dir", tree);
	mkdir(path, 0700);
	write_text(tree, "sub/data.bin", "0123456789abcdef0123456789abcdef");
	snprintf(path, sizeof(path), "%s/sub/link", tree);
	CHECK(symlink("../hello.txt", path) == 0);
	/* A path longer than 100 bytes, which needs the ustar prefix field. */
	char long_dir[700];
	snprintf(long_dir, sizeof(long_dir), "%s/%0*d", tree, 90, 0);
	mkdir(long_dir, 0755);
	write_text(long_dir, "a-file-whose-path-is-long-enough-to-need-the-prefix-field.txt",
	           "long\n");
	snprintf(path, sizeof(path), "%s/hello.txt", tree);
	chmod(path, 0640);

	uint8_t *tar = NULL, *again = NULL;
	size_t len = 0, len2 = 0;
	char err[512] = "";
	CHECK(tar_from_dir(tree, &tar, &len, err, sizeof(err)) == 0);
	if (err[0])
		printf("    %s\n", err);
	CHECK(len % 512 == 0 && len >= 1024);
	/* The same tree gives the same bytes. */
	CHECK(tar_from_dir(tree, &again, &len2, err, sizeof(err)) == 0);
	CHECK(len == len2 && tar && again && memcmp(tar, again, len) == 0);
	free(again);

	char archive[512];
	snprintf(archive, sizeof(archive), "%s/out.tar", scratch);
	int fd = open(archive, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	CHECK(fd >= 0 && tar && write(fd, tar, len) == (ssize_t)len);
	close(fd);
	free(tar);

	/* The host's tar reads it (checksums included) and lists what we expect. */
	char listing[512];
	snprintf(listing, sizeof(listing), "%s/listing", scratch);
	snprintf(cmd, sizeof(cmd), "tar -tvf %s > %s 2>&1", archive, listing);
	CHECK(run(cmd) == 0);
	size_t list_len = 0;
	char *list = NULL;
	FILE *lf = fopen(listing, "r");
	if (lf) {
		list = calloc(1, 8192);
		list_len = fread(list, 1, 8191, lf);
		fclose(lf);
	}
	CHECK(list && list_len > 0);
	if (list) {
		CHECK_CONTAINS(list, "-rw-r----- 0/0               6");
		CHECK_CONTAINS(list, " hello.txt\n");
		CHECK_CONTAINS(list, "drwxr-x--- 0/0");
		CHECK_CONTAINS(list, " sub/\n");
		CHECK_CONTAINS(list, " sub/empty-dir/\n");
		CHECK_CONTAINS(list, "lrwxrwxrwx");
		CHECK_CONTAINS(list, " sub/link -> ../hello.txt\n");
		CHECK_CONTAINS(
		    list, "00/a-file-whose-path-is-long-enough-to-need-the-prefix-field.txt\n");
		/* Sorted: parents before children, names in byte order. */
		char *empty = strstr(list, " empty\n"), *hello = strstr(list, " hello.txt\n");
		char *sub = strstr(list, " sub/\n"), *data = strstr(list, " sub/data.bin\n");
		CHECK(empty && hello && sub && data && empty < hello && hello < sub && sub < data);
	}
	free(list);

	/* Extracted, it is the same tree. */
	snprintf(cmd, sizeof(cmd),
	         "mkdir %s/x && tar -xf %s -C %s/x && diff -r --no-dereference %s %s/x >/dev/null",
	         scratch, archive, scratch, tree, scratch);
	CHECK(run(cmd) == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

static void test_tar_refusals(void)
{
	make_scratch();
	char tree[300], path[1024], cmd[1024], err[512];
	uint8_t *tar = NULL;
	size_t len = 0;

	/* Not there, not a directory. */
	snprintf(path, sizeof(path), "%s/missing", scratch);
	CHECK(tar_from_dir(path, &tar, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "No such file or directory");
	CHECK(tar == NULL);
	write_text(scratch, "file", "x");
	snprintf(path, sizeof(path), "%s/file", scratch);
	CHECK(tar_from_dir(path, &tar, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "not a directory");

	/* An empty directory is an empty archive. */
	snprintf(tree, sizeof(tree), "%s/empty", scratch);
	mkdir(tree, 0755);
	CHECK(tar_from_dir(tree, &tar, &len, err, sizeof(err)) == 0);
	CHECK(len == 1024);
	free(tar);

	/* A file name of 120 bytes cannot be split into prefix and name. */
	snprintf(tree, sizeof(tree), "%s/long", scratch);
	mkdir(tree, 0755);
	char name[130];
	memset(name, 'n', 120);
	name[120] = '\0';
	write_text(tree, name, "x");
	CHECK(tar_from_dir(tree, &tar, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "path too long for a tar archive");
	CHECK(one_line(err));

	/* A symlink target beyond the 100-byte linkname field. */
	snprintf(tree, sizeof(tree), "%s/link", scratch);
	mkdir(tree, 0755);
	snprintf(path, sizeof(path), "%s/l", tree);
	CHECK(symlink(name, path) == 0);
	CHECK(tar_from_dir(tree, &tar, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "symbolic link target longer than 100 bytes");

	/* A FIFO is neither file, directory nor link. */
	snprintf(tree, sizeof(tree), "%s/fifo", scratch);
	mkdir(tree, 0755);
	snprintf(path, sizeof(path), "%s/pipe", tree);
	CHECK(mkfifo(path, 0644) == 0);
	CHECK(tar_from_dir(tree, &tar, &len, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "/fifo/pipe: not a directory, regular file or symbolic link");

	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

/* ---- build.conf, --dir, cache key ---- */

static void test_build_conf(void)
{
	struct build_conf conf;
	char err[256] = "";
	const char *text = "# comment\n"
	                   "\n"
	                   "cc=gcc\r\n"
	                   "cflags= -O2  -I{libdir}/include\t-DX={libdir}{libdir}\n"
	                   "  ldflags = -Wl,-T,{libdir}/guest.ld\n"
	                   "start={libdir}/start.o\n"
	                   "libs={libdir}/libwasi.a {libdir}/libc.a /usr/lib/libgcc.a";
	CHECK(build_conf_parse(text, "/opt/lib dir", &conf, err, sizeof(err)) == 0);
	if (err[0])
		printf("    %s\n", err);
	CHECK(conf.cc && strcmp(conf.cc[0], "gcc") == 0 && conf.cc[1] == NULL);
	CHECK(conf.cflags && strcmp(conf.cflags[0], "-O2") == 0);
	CHECK(conf.cflags && strcmp(conf.cflags[1], "-I/opt/lib dir/include") == 0);
	CHECK(conf.cflags && strcmp(conf.cflags[2], "-DX=/opt/lib dir/opt/lib dir") == 0);
	CHECK(conf.ldflags && strcmp(conf.ldflags[0], "-Wl,-T,/opt/lib dir/guest.ld") == 0);
	CHECK(conf.libs && strcmp(conf.libs[2], "/usr/lib/libgcc.a") == 0 && !conf.libs[3]);
	CHECK(conf.wasm2c && strcmp(conf.wasm2c[0], "wasm2c") == 0);
	CHECK(conf.glue && conf.glue[0] == NULL);
	CHECK(conf.split_cflags && strcmp(conf.split_cflags[0], SPLIT_CFLAGS_DEFAULT) == 0 &&
	      !conf.split_cflags[1]);
	build_conf_free(&conf);

	/* split_cflags given empty means none; given, those. */
	CHECK(build_conf_parse("cc=gcc\nstart=s.o\nlibs=a\nsplit_cflags=\n", "/L", &conf, err,
	                       sizeof(err)) == 0);
	CHECK(conf.split_cflags && conf.split_cflags[0] == NULL);
	build_conf_free(&conf);
	CHECK(build_conf_parse("cc=gcc\nstart=s.o\nlibs=a\nsplit_cflags=-O2 -g\n", "/L", &conf, err,
	                       sizeof(err)) == 0);
	CHECK(conf.split_cflags && strcmp(conf.split_cflags[1], "-g") == 0);
	build_conf_free(&conf);

	CHECK(
	    build_conf_parse("cc=gcc\nstart=s.o\nlibs=a\nglue={libdir}/g.c\nwasm2c=/x/wasm2c -v\n",
	                     "/L", &conf, err, sizeof(err)) == 0);
	CHECK(conf.glue && strcmp(conf.glue[0], "/L/g.c") == 0);
	CHECK(conf.wasm2c && strcmp(conf.wasm2c[1], "-v") == 0);
	build_conf_free(&conf);

	CHECK(build_conf_parse("cc=gcc\nstart=s.o\n", "/L", &conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "'libs' is missing");
	CHECK(build_conf_parse("cc=\nstart=s.o\nlibs=a\n", "/L", &conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "'cc' is missing or empty");
	CHECK(build_conf_parse("cc=gcc\ncolour=blue\n", "/L", &conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "line 2: unknown key 'colour'");
	CHECK(build_conf_parse("cc=gcc\ncc=clang\n", "/L", &conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "line 2: 'cc' is set twice");
	CHECK(build_conf_parse("cc gcc\n", "/L", &conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "line 1: expected key=value");
}

static void test_dir_spec(void)
{
	struct build_dir d;
	char err[256];
	CHECK(build_dir_parse("site", &d, err, sizeof(err)) == 0);
	CHECK(strcmp(d.host, "site") == 0 && strcmp(d.guest, "site") == 0);
	build_dir_free(&d);
	CHECK(build_dir_parse("./site/::/www", &d, err, sizeof(err)) == 0);
	CHECK(strcmp(d.host, "./site/") == 0 && strcmp(d.guest, "/www") == 0);
	build_dir_free(&d);
	CHECK(build_dir_parse("data::/", &d, err, sizeof(err)) == 0);
	CHECK(strcmp(d.guest, "/") == 0);
	build_dir_free(&d);
	CHECK(build_dir_parse("::/www", &d, err, sizeof(err)) == -1);
	CHECK(build_dir_parse("site::", &d, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "empty guest path");
}

static void test_check_module_status(void)
{
	struct buf m;
	char err[512];
	make_module(&m, wasi_imports, 2, 0, 1);
	CHECK(build_check_module(m.bytes, m.len, "ok.wasm", err, sizeof(err)) == 0);
	CHECK(build_check_module(m.bytes, 30, "cut.wasm", err, sizeof(err)) == BUILD_INVALID);
	CHECK_CONTAINS(err, "cut.wasm: truncated section");
	static const struct import_spec foo[] = {{"env", "foo", 0, 0}};
	make_module(&m, foo, 1, 0, 1);
	CHECK(build_check_module(m.bytes, m.len, "foo.wasm", err, sizeof(err)) ==
	      BUILD_UNSUPPORTED);
	CHECK_CONTAINS(err, "foo.wasm imports 1 function hedge does not provide: env.foo");
}

static void test_cache_fingerprint(void)
{
	make_scratch();
	char text[1024], lib[512], cmd[600];
	snprintf(lib, sizeof(lib), "%s/libwasi.a", scratch);
	write_text(scratch, "libwasi.a", "v1");
	snprintf(text, sizeof(text), "cc=gcc\nstart={libdir}/start.o\nlibs={libdir}/libwasi.a\n");
	struct build_conf conf;
	char err[256], first[SHA256_HEX_LEN + 1], second[SHA256_HEX_LEN + 1];
	CHECK(build_conf_parse(text, scratch, &conf, err, sizeof(err)) == 0);
	cache_config_fingerprint(&conf, first);
	cache_config_fingerprint(&conf, second);
	CHECK(strcmp(first, second) == 0);
	/* A rebuilt library (new size and time) changes the fingerprint. */
	write_text(scratch, "libwasi.a", "version 2");
	struct timespec times[2] = {{.tv_sec = 1000000}, {.tv_sec = 1000000}};
	utimensat(AT_FDCWD, lib, times, 0);
	cache_config_fingerprint(&conf, second);
	CHECK(strcmp(first, second) != 0);
	build_conf_free(&conf);

	/* Where the cache lives. */
	char dir[512];
	setenv("HEDGE_CACHE_DIR", "/x/cache", 1);
	CHECK(cache_dir(dir, sizeof(dir), err, sizeof(err)) == 0 && strcmp(dir, "/x/cache") == 0);
	unsetenv("HEDGE_CACHE_DIR");
	setenv("XDG_CACHE_HOME", "/xdg", 1);
	CHECK(cache_dir(dir, sizeof(dir), err, sizeof(err)) == 0 && strcmp(dir, "/xdg/hedge") == 0);
	unsetenv("XDG_CACHE_HOME");
	setenv("HOME", "/home/u", 1);
	CHECK(cache_dir(dir, sizeof(dir), err, sizeof(err)) == 0 &&
	      strcmp(dir, "/home/u/.cache/hedge") == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

static void test_libdir_lookup(void)
{
	make_scratch();
	char libdir[PATH_MAX], err[512], cmd[600];
	setenv("HEDGE_LIBDIR", scratch, 1);
	CHECK(build_find_libdir(libdir, sizeof(libdir), err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "has no readable build.conf");
	write_text(scratch, "build.conf", "cc=gcc\nstart={libdir}/start.o\nlibs=-lc\n");
	CHECK(build_find_libdir(libdir, sizeof(libdir), err, sizeof(err)) == 0);
	CHECK(strcmp(libdir, scratch) == 0);
	struct build_conf conf;
	CHECK(build_conf_load(&conf, err, sizeof(err)) == 0);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof(want), "%s/start.o", scratch);
	CHECK(conf.start && strcmp(conf.start[0], want) == 0);
	CHECK(conf.text && strstr(conf.text, "cc=gcc") != NULL);
	build_conf_free(&conf);
	write_text(scratch, "build.conf", "cc=gcc\nstart=x\nlibs=y\nextra=1\n");
	CHECK(build_conf_load(&conf, err, sizeof(err)) == -1);
	CHECK_CONTAINS(err, "build.conf: line 4: unknown key 'extra'");
	unsetenv("HEDGE_LIBDIR");
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

static void test_tool_run(void)
{
	struct tool_result res;
	char *status3[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3", NULL};
	CHECK(tool_run(status3, NULL, &res) == 0);
	CHECK(res.exit_status == 3 && !res.term_signal && !res.exec_errno);
	CHECK(!tool_succeeded(&res));
	CHECK(res.output && strcmp(res.output, "out\nerr\n") == 0);
	tool_result_free(&res);

	char *missing[] = {"/nonexistent/tool", NULL};
	CHECK(tool_run(missing, NULL, &res) == -1);
	CHECK(res.exec_errno == ENOENT);
	tool_result_free(&res);

	char *killed[] = {"/bin/sh", "-c", "kill -9 $$", NULL};
	CHECK(tool_run(killed, NULL, &res) == 0);
	CHECK(res.term_signal == SIGKILL);
	tool_result_free(&res);

	/* Only the start of a flood of output is kept; all of it is logged. */
	make_scratch();
	char log[300], cmd[400];
	snprintf(log, sizeof(log), "%s/log", scratch);
	char *flood[] = {"/bin/sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x", NULL};
	CHECK(tool_run(flood, log, &res) == 0);
	CHECK(tool_succeeded(&res));
	CHECK(res.output_len == 64 * 1024 && strlen(res.output) == res.output_len);
	struct stat st;
	CHECK(stat(log, &st) == 0 && st.st_size == 300000);
	tool_result_free(&res);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

static void test_tool_run_jobs(void)
{
	make_scratch();
	char logs[4][300];
	for (int i = 0; i < 4; i++)
		snprintf(logs[i], sizeof(logs[i]), "%s/log%d", scratch, i);
	char *ok1[] = {"/bin/sh", "-c", "echo one", NULL};
	char *ok2[] = {"/bin/sh", "-c", "echo two >&2", NULL};
	char *fails[] = {"/bin/sh", "-c", "echo broken; exit 4", NULL};
	char *slow[] = {"/bin/sh", "-c", "exec sleep 30", NULL};
	struct tool_job all_ok[2] = {{.argv = ok1, .log_path = logs[0]},
	                             {.argv = ok2, .log_path = logs[1]}};
	CHECK(tool_run_jobs(all_ok, 2, 2, NULL, NULL) == 2);
	CHECK(all_ok[0].ran && all_ok[1].ran);
	CHECK(all_ok[0].res.output && strcmp(all_ok[0].res.output, "one\n") == 0);
	CHECK(all_ok[1].res.output && strcmp(all_ok[1].res.output, "two\n") == 0);
	struct stat st;
	CHECK(stat(logs[1], &st) == 0 && st.st_size == 4);
	for (int i = 0; i < 2; i++)
		tool_result_free(&all_ok[i].res);

	/* One at a time: the failure stops the rest before they start. */
	struct tool_job serial[3] = {{.argv = ok1}, {.argv = fails}, {.argv = ok2}};
	CHECK(tool_run_jobs(serial, 3, 1, NULL, NULL) == 1);
	CHECK(serial[1].res.exit_status == 4 && strcmp(serial[1].res.output, "broken\n") == 0);
	CHECK(serial[0].ran && serial[1].ran && !serial[2].ran);
	for (int i = 0; i < 3; i++)
		tool_result_free(&serial[i].res);

	/* Side by side: a failure stops the slow job still running (not 30 s). */
	struct tool_job parallel[2] = {{.argv = slow}, {.argv = fails}};
	CHECK(tool_run_jobs(parallel, 2, 2, NULL, NULL) == 1);
	CHECK(parallel[0].res.term_signal == SIGTERM);
	for (int i = 0; i < 2; i++)
		tool_result_free(&parallel[i].res);

	char *missing[] = {"/nonexistent/tool", NULL};
	struct tool_job bad[2] = {{.argv = ok1}, {.argv = missing}};
	CHECK(tool_run_jobs(bad, 2, 2, NULL, NULL) == 1);
	CHECK(bad[1].res.exec_errno == ENOENT);
	for (int i = 0; i < 2; i++)
		tool_result_free(&bad[i].res);
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

/* A module with calls, an indirect call, segments, globals and multiple results. */
static const char split_wat[] =
    "(module\n"
    " (import \"wasi_snapshot_preview1\" \"proc_exit\" (func $exit (param i32)))\n"
    " (type $pair (func (param i32) (result i32 i32)))\n"
    " (memory (export \"memory\") 1)\n"
    " (table 4 funcref)\n"
    " (global $g (mut i32) (i32.const 5))\n"
    " (data $d \"hello\")\n"
    " (data (i32.const 100) \"xyz\")\n"
    " (elem $e func $f1 $f2)\n"
    " (elem (i32.const 0) $f1 $f2)\n"
    " (func $f1 (param i32) (result i32 i32) local.get 0 i32.const 1 i32.add local.get 0)\n"
    " (func $f2 (param i32) (result i32 i32) local.get 0 call $f3 local.get 0)\n"
    " (func $f3 (param i32) (result i32) local.get 0 i32.load global.get $g i32.add)\n"
    " (func $f4 (param i32) (result i32) local.get 0 call $f3 call $f3)\n"
    " (func $f5 (param i32) local.get 0 call $f4 call $exit)\n"
    " (func $start (export \"_start\")\n"
    "  i32.const 0 i32.const 0 i32.const 5 memory.init $d\n"
    "  data.drop $d\n"
    "  i32.const 1 i32.const 0 i32.const 2 table.init $e\n"
    "  i32.const 3 i32.const 1 call_indirect (type $pair) drop drop\n"
    "  i32.const 3 call $f1 drop global.set $g\n"
    "  i32.const 7 call $f5))\n";

/* Lines holding needle that end in '{' (definitions, not declarations). */
static size_t count_text(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) {
		const char *eol = strchr(p, '\n');
		n += eol && eol > p && eol[-1] == '{';
	}
	return n;
}

static void test_wasm2c_split(void)
{
	make_scratch();
	char path[400], wasm[400], c[400], cmd[4096];
	snprintf(path, sizeof(path), "%s/m.wat", scratch);
	snprintf(wasm, sizeof(wasm), "%s/m.wasm", scratch);
	snprintf(c, sizeof(c), "%s/app.c", scratch);
	write_text(scratch, "m.wat", split_wat);
	snprintf(cmd, sizeof(cmd), "wat2wasm %s -o %s && wasm2c %s -n app -o %s", path, wasm, wasm,
	         c);
	CHECK(run(cmd) == 0);
	FILE *f = fopen(c, "r");
	static char text[1 << 20];
	size_t len = f ? fread(text, 1, sizeof(text) - 1, f) : 0;
	if (f)
		fclose(f);
	text[len] = '\0';
	CHECK(len > 0 && len < sizeof(text) - 1);

	struct split_output out;
	char why[300];
	CHECK(wasm2c_split(text, len, 3, "app_shared.h", &out, why, sizeof(why)) == 0);
	CHECK(out.part_count >= 2 && out.part_count <= 3);
	CHECK(out.header && strstr(out.header, "#define CALL_INDIRECT"));
	/* Used in every part by a macro of the prelude: global, renamed, declared in each. */
	for (size_t p = 0; p < out.part_count; p++) {
		CHECK_CONTAINS(out.parts[p], "extern u32 func_types[");
		CHECK_CONTAINS(out.parts[p], "__asm__(\"" SPLIT_SYMBOL_PREFIX "func_types\")");
	}
	size_t defs[6] = {0}, init_module = 0;
	static const char *const funcs[6] = {"w2c_f1(", "w2c_f2(", "w2c_f3(",
	                                     "w2c_f4(", "w2c_f5(", "w2c__start("};
	for (size_t p = 0; p < out.part_count; p++) {
		CHECK(strncmp(out.parts[p], "/* one part", 11) == 0);
		CHECK_CONTAINS(out.parts[p], "#include \"app_shared.h\"");
		init_module += count_text(out.parts[p], "void Z_app_init_module(void) {");
		for (size_t i = 0; i < 6; i++) {
			char def[64];
			snprintf(def, sizeof(def), " %sZ_app_instance_t* instance", funcs[i]);
			defs[i] += count_text(out.parts[p], def);
		}
		snprintf(path, sizeof(path), "%s/app_part%zu.c", scratch, p);
		f = fopen(path, "w");
		if (f) {
			fwrite(out.parts[p], 1, out.part_lens[p], f);
			fclose(f);
		}
	}
	/* Every function defined once. */
	for (size_t i = 0; i < 6; i++)
		CHECK(defs[i] == 1);
	CHECK(init_module == 1);
	CHECK(strstr(out.parts[0], "void Z_app_init_module(void) {"));
	snprintf(path, sizeof(path), "%s/app_shared.h", scratch);
	f = fopen(path, "w");
	if (f) {
		fwrite(out.header, 1, out.header_len, f);
		fclose(f);
	}
	/*
	 * The parts compile with the host's compiler and link into one object
	 * whose only undefined symbols are the runtime's and the import.
	 */
	snprintf(
	    cmd, sizeof(cmd),
	    "cd %s && for p in app_part*.c; do cc -std=gnu11 -O2 -fno-pic -w -c $p -o ${p%%.c}.o "
	    "|| exit 1; done && ld -r -o all.o app_part*.o && "
	    "nm -u all.o | grep -v -e ' U wasm_rt_' -e "
	    "' U Z_wasi_snapshot_preview1Z_proc_exit$' -e ' U memcpy$' -e ' U memmove$' "
	    "-e ' U __assert_fail$' "
	    ">undefined.txt; test ! -s undefined.txt || { cat undefined.txt; exit 1; }",
	    scratch);
	CHECK(run(cmd) == 0);
	split_output_free(&out);

	/*
	 * Cut short anywhere or with bytes changed, the module section must give
	 * a split or a refusal, never a crash or a read past the end (ASan).
	 */
	char *marker_at = strstr(text, "\nstatic bool s_module_initialized");
	size_t section = marker_at ? (size_t)(marker_at - text) + 1 : len;
	int results[2] = {0, 0};
	for (size_t cut = section; cut < len; cut += 3) {
		char *copy = malloc(cut);
		memcpy(copy, text, cut);
		int rc = wasm2c_split(copy, cut, 3, "h", &out, why, sizeof(why));
		CHECK(rc == 0 || rc == 1);
		results[rc == 0]++;
		if (rc == 0)
			split_output_free(&out);
		free(copy);
	}
	CHECK(results[0] > 0 && results[1] > 0);
	unsigned seed = 12345;
	static const char noise[] = "{}()[];=*/\"'\\#\n x_0";
	for (int round = 0; round < 400; round++) {
		char *copy = malloc(len);
		memcpy(copy, text, len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = section + (seed >> 8) % (len - section);
			copy[at] = noise[(seed >> 4) % (sizeof(noise) - 1)];
		}
		int rc = wasm2c_split(copy, len, 3, "h", &out, why, sizeof(why));
		CHECK(rc == 0 || rc == 1);
		if (rc == 0)
			split_output_free(&out);
		free(copy);
	}

	/* Declines: one part, a changed prelude, an unknown item, another layout. */
	CHECK(wasm2c_split(text, len, 1, "h", &out, why, sizeof(why)) == 1);
	text[20] ^= 1;
	CHECK(wasm2c_split(text, len, 2, "h", &out, why, sizeof(why)) == 1);
	CHECK_CONTAINS(why, "prelude");
	text[20] ^= 1;
	static char extra[sizeof(text) + 64];
	snprintf(extra, sizeof(extra), "%s\ntypedef int unknown_t;\n", text);
	CHECK(wasm2c_split(extra, strlen(extra), 2, "h", &out, why, sizeof(why)) == 1);
	CHECK_CONTAINS(why, "unknown shape");
	snprintf(extra, sizeof(extra), "%s\n#define X 1\n", text);
	CHECK(wasm2c_split(extra, strlen(extra), 2, "h", &out, why, sizeof(why)) == 1);
	char *marker = strstr(text, "static bool s_module_initialized");
	CHECK(marker != NULL);
	if (marker) {
		marker[7] = 'B';
		CHECK(wasm2c_split(text, len, 2, "h", &out, why, sizeof(why)) == 1);
		CHECK_CONTAINS(why, "layout");
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", scratch);
	run(cmd);
}

int main(void)
{
	static const struct test_case cases[] = {
	    {"wasm: LEB128 edge cases", test_leb128},
	    {"wasm: valid module", test_valid_module},
	    {"wasm: truncated at every byte", test_truncated_everywhere},
	    {"wasm: bad magic and version", test_bad_header},
	    {"wasm: malformed sections", test_malformed_sections},
	    {"wasm: unsupported imports, memory import, types, exports", test_import_checks},
	    {"imports: the table hedge provides", test_hedge_import_table},
	    {"build: module check statuses", test_check_module_status},
	    {"sha256: test vectors and chunking", test_sha256},
	    {"tar: round trip through the host's tar", test_tar_round_trip},
	    {"tar: what ustar cannot hold is refused", test_tar_refusals},
	    {"build.conf parsing", test_build_conf},
	    {"--dir HOST::GUEST parsing", test_dir_spec},
	    {"cache: configuration fingerprint and directory", test_cache_fingerprint},
	    {"build: library directory and build.conf loading", test_libdir_lookup},
	    {"subprocess: status, exec failure, signal, output cap", test_tool_run},
	    {"subprocess: jobs in parallel, stopped after a failure", test_tool_run_jobs},
	    {"wasm2c split: parts compile and link, unknown input declined", test_wasm2c_split},
	};
	return run_tests(cases, sizeof(cases) / sizeof(cases[0]));
}
