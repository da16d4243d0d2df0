/*
 * fuzz_wasm.c - libFuzzer harness for the WebAssembly module reader and
 * the import checks of hedge build.
 *
 * Any byte string is a possible user-supplied .wasm: parsing must refuse it
 * or accept it without reading outside the input, leaking, or producing an
 * empty or multi-line message, and whatever it accepts must be consistent.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imports.h"
#include "wasm_module.h"

static void require_one_line(const char *msg)
{
	if (msg[0] == '\0' || strchr(msg, '\n'))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan catches any read past the end. */
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct wasm_module mod;
	char err[2048];
	if (wasm_module_parse(copy, size, &mod, err, sizeof(err)) != 0) {
		require_one_line(err);
		free(copy);
		return 0;
	}
	/* What was accepted must hold together: indices within their spaces. */
	for (uint32_t i = 0; i < mod.import_count; i++) {
		const struct wasm_import *imp = &mod.imports[i];
		if ((imp->kind == WASM_EXTERN_FUNC || imp->kind == WASM_EXTERN_TAG) &&
		    imp->type_index >= mod.type_count)
			abort();
		if (strlen(imp->module) > imp->module_len || strlen(imp->name) > imp->name_len)
			abort();
	}
	for (uint32_t i = 0; i < mod.defined[WASM_EXTERN_FUNC]; i++)
		if (mod.func_type_indices[i] >= mod.type_count)
			abort();
	if (mod.exports_start && !wasm_func_type(&mod, mod.start_index))
		abort();
	if (check_module_imports(&mod, "fuzz.wasm", err, sizeof(err)) != 0)
		require_one_line(err);
	/* A small buffer exercises the cut-off paths of the message builders. */
	char small[40];
	if (check_module_imports(&mod, "fuzz.wasm", small, sizeof(small)) != 0 &&
	    strlen(small) >= sizeof(small))
		abort();
	for (uint32_t i = 0; i < mod.type_count; i++) {
		char type[64];
		wasm_functype_format(&mod.types[i], type, sizeof(type));
	}
	wasm_module_free(&mod);
	free(copy);
	return 0;
}
