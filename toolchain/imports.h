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

/* Whether a module's function type is the signature hedge provides. */
int hedge_import_type_matches(const struct hedge_import *import, const struct wasm_functype *type);

/*
 * Checks that hedge can build and run the module: every import is a function
 * hedge provides with the same type, "_start" is an exported () -> ()
 * function and the memory is exported as "memory".  Returns 0, or -1 with
 * one line in err that starts with display_name and names every problem
 * import (as far as errlen allows).
 */
int check_module_imports(const struct wasm_module *mod, const char *display_name, char *err,
                         size_t errlen);

#endif
