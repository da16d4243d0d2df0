/*
 * wasm2c_split.h - splits the single C file wasm2c writes into parts that
 * compile in parallel and link into the same program.
 *
 * wasm2c 1.0.32 writes one file: a module-independent prelude (macros,
 * inline helpers), then the module's items: its function-type table, data
 * and element segments, functions and the init/export functions, most of
 * them static.  The splitter puts the prelude into a shared header, hands
 * the module's functions out to parts by size, and makes only the items
 * used across parts global (under a reserved symbol name); everything else
 * stays static, so gcc still inlines within a part.  Whatever it does not
 * recognise makes it decline, and the caller compiles the single file.
 */
#ifndef HEDGE_WASM2C_SPLIT_H
#define HEDGE_WASM2C_SPLIT_H

#include <stddef.h>

/* Symbols of items made global are this prefix and the item's C name. */
#define SPLIT_SYMBOL_PREFIX "hedge_split."

#define SPLIT_MAX_PARTS 64

struct split_output {
	char *header; /* the shared header (prelude and cross-part declarations) */
	size_t header_len;
	char *parts[SPLIT_MAX_PARTS]; /* each includes the header by the name given */
	size_t part_lens[SPLIT_MAX_PARTS];
	size_t part_count;
	size_t globals; /* items made global */
};

/*
 * Splits the wasm2c output text[0..len) into at most max_parts parts (2 to
 * SPLIT_MAX_PARTS), each starting with #include "header_name".  Returns 0
 * with out filled (free with split_output_free), 1 if the text is not
 * split (why says the reason: an unknown construct, or too few functions),
 * or -1 when out of memory.
 */
int wasm2c_split(const char *text, size_t len, size_t max_parts, const char *header_name,
                 struct split_output *out, char *why, size_t whylen);

void split_output_free(struct split_output *out);

#endif
