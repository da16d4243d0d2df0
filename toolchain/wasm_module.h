/*
 * wasm_module.h - reads what hedge build needs from a WebAssembly binary:
 * the header, the section layout, types, imports, exports and the counts of
 * functions, tables, memories, globals and tags.
 *
 * The input is untrusted: every length and index is checked against the
 * bytes that are really there before it is used, and a refusal comes with a
 * one-line reason that names the problem and its file offset.
 */
#ifndef HEDGE_WASM_MODULE_H
#define HEDGE_WASM_MODULE_H

#include <stddef.h>
#include <stdint.h>

enum wasm_extern_kind {
	WASM_EXTERN_FUNC = 0,
	WASM_EXTERN_TABLE = 1,
	WASM_EXTERN_MEMORY = 2,
	WASM_EXTERN_GLOBAL = 3,
	WASM_EXTERN_TAG = 4,
};

/* Value type encodings (the bytes used in the binary format). */
enum wasm_valtype {
	WASM_I32 = 0x7f,
	WASM_I64 = 0x7e,
	WASM_F32 = 0x7d,
	WASM_F64 = 0x7c,
	WASM_V128 = 0x7b,
	WASM_FUNCREF = 0x70,
	WASM_EXTERNREF = 0x6f,
};

struct wasm_functype {
	uint32_t param_count;
	uint32_t result_count;
	uint8_t *valtypes; /* param_count params, then result_count results */
};

/* Names are copied and NUL-terminated; *_len is exact (a name may hold NUL). */
struct wasm_import {
	char *module;
	uint32_t module_len;
	char *name;
	uint32_t name_len;
	enum wasm_extern_kind kind;
	uint32_t type_index; /* functions and tags: index into types */
};

struct wasm_export {
	char *name;
	uint32_t name_len;
	enum wasm_extern_kind kind;
	uint32_t index; /* in the module's index space of that kind */
};

struct wasm_module {
	uint32_t type_count;
	struct wasm_functype *types;
	uint32_t import_count;
	struct wasm_import *imports;
	uint32_t export_count;
	struct wasm_export *exports;
	/* Imported and defined entities of each kind (index spaces). */
	uint32_t imported[5];
	uint32_t defined[5];
	uint32_t *func_type_indices; /* type of each defined function */
	/* Summary for the build checks. */
	int exports_start;      /* "_start" is exported as a function */
	uint32_t start_index;   /* its function index, if so */
	int exports_memory;     /* "memory" is exported as a memory */
	int imports_memory;     /* some import is a memory */
	int exports_initialize; /* "_initialize" function: a WASI reactor */
};

/*
 * Parses a module.  Returns 0, or -1 with a one-line reason in err (no
 * trailing newline).  On success the caller frees with wasm_module_free; on
 * failure nothing is left allocated.
 */
int wasm_module_parse(const uint8_t *data, size_t len, struct wasm_module *mod, char *err,
                      size_t errlen);
void wasm_module_free(struct wasm_module *mod);

/* The function type of function index func_index, or NULL if out of range. */
const struct wasm_functype *wasm_func_type(const struct wasm_module *mod, uint32_t func_index);

/* "function", "table", "memory", "global", "tag". */
const char *wasm_extern_kind_name(enum wasm_extern_kind kind);

/* Writes a type as "(i32, i64) -> i32" (or "-> ()"); returns the length it needed. */
size_t wasm_functype_format(const struct wasm_functype *type, char *out, size_t outlen);

/*
 * Writes a name for a one-line message: printable ASCII as is, anything else
 * (control bytes, NUL, non-ASCII) as \xNN, cut with "..." if it is long.
 */
void wasm_name_format(const char *name, uint32_t name_len, char *out, size_t outlen);

/* Exact match of a counted name against a C string. */
int wasm_name_is(const char *name, uint32_t name_len, const char *want);

/*
 * LEB128 decoding, exposed for tests.  Reads from data[*pos] up to len,
 * advancing *pos.  Returns 0, WASM_LEB_TRUNCATED or WASM_LEB_OVERFLOW
 * (too many bytes or bits beyond the type's width; 5 bytes at most for u32).
 */
enum { WASM_LEB_OK = 0, WASM_LEB_TRUNCATED = -1, WASM_LEB_OVERFLOW = -2 };
int wasm_read_u32(const uint8_t *data, size_t len, size_t *pos, uint32_t *value);
int wasm_read_u64(const uint8_t *data, size_t len, size_t *pos, uint64_t *value);

#endif
