/*
 * imports.h - what a module may import from hedge, and the check that a
 * module is something hedge can run: a WASI command whose every import the
 * guest runtime provides.
 */
#ifndef HEDGE_IMPORTS_H
#define HEDGE_IMPORTS_H

#include <stddef.h>
#include <stdint.h>

#include "wasm_module.h"

/*
 * One function the guest runtime provides.  The signature is the parameter
 * types, ':' and the result types, one letter each: i = i32, I = i64,
 * f = f32, F = f64.  wasm2c turns an import into a C call without any type
 * check at link time, so a mismatch must be caught here.
 *
 * A few names come with a second type (imports.c lists them): WasmEdge 0.12
 * changed sock_accept, sock_recv_from, sock_getlocaladdr and
 * sock_getpeeraddr without renaming them, and picks the implementation by
 * the type a module imports.  wasm2c names the C function after the import
 * alone (Z_<module>Z_<name>), so the second type's function has another C
 * name, and hedge_import_defines gives the compiler flags that point a
 * module's calls at it.
 */
struct hedge_import {
	const char *module;
	const char *name;
	const char *signature;
};

extern const struct hedge_import hedge_imports[];
extern const size_t hedge_import_count;

/* The provided function with this module and name, or NULL. */
const struct hedge_import *hedge_import_find(const char *module, uint32_t module_len,
                                             const char *name, uint32_t name_len);

/* Whether a module's function type is a signature hedge provides under this name. */
int hedge_import_type_matches(const struct hedge_import *import, const struct wasm_functype *type);

/*
 * The compiler flags that make the C code wasm2c writes for mod call the
 * function of the right type for every import with a second type (above):
 * hedge build must pass them when it compiles the module's C and the glue
 * that includes its header.  Stores up to max of them in flags (strings of
 * the table, never freed) and returns how many there are.  Call it only on
 * a module check_module_imports accepted.
 */
size_t hedge_import_defines(const struct wasm_module *mod, const char **flags, size_t max);

/*
 * Checks that hedge can build and run the module: every import is a function
 * hedge provides with the same type (and a name with two types is imported
 * with only one of them), "_start" is an exported () -> ()
 * function and the memory is exported as "memory".  Returns 0, or -1 with
 * one line in err that starts with display_name and names every problem
 * import (as far as errlen allows).
 */
int check_module_imports(const struct wasm_module *mod, const char *display_name, char *err,
                         size_t errlen);

#endif
