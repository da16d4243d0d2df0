/*
 * wasm_module.c - a checked reader of the WebAssembly binary format
 * (core specification, version 1, with the reference-types, multi-value,
 * memory64, threads and exception-handling encodings hedge may meet).
 *
 * It reads what hedge build decides on - types, imports, exports, function
 * types and index-space sizes - and skips function bodies, data and
 * initialiser expressions, which wasm2c validates afterwards.  All reads go
 * through a cursor bounded by the current section, so a bad length can only
 * ever produce an error message.
 */
#include "wasm_module.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum section_id {
	SEC_CUSTOM = 0,
	SEC_TYPE = 1,
	SEC_IMPORT = 2,
	SEC_FUNCTION = 3,
	SEC_TABLE = 4,
	SEC_MEMORY = 5,
	SEC_GLOBAL = 6,
	SEC_EXPORT = 7,
	SEC_START = 8,
	SEC_ELEMENT = 9,
	SEC_CODE = 10,
	SEC_DATA = 11,
	SEC_DATA_COUNT = 12,
	SEC_TAG = 13,
	SEC_MAX = 13,
};

static const char *const section_names[SEC_MAX + 1] = {
    "custom", "type",  "import",  "function", "table", "memory",     "global",
    "export", "start", "element", "code",     "data",  "data count", "tag",
};

/*
 * Where each known section may appear: the order is fixed by the spec, with
 * the tag section (exception handling) between memory and global and data
 * count before code.
 */
static const int section_rank[SEC_MAX + 1] = {
    [SEC_TYPE] = 1,   [SEC_IMPORT] = 2,   [SEC_FUNCTION] = 3,    [SEC_TABLE] = 4,
    [SEC_MEMORY] = 5, [SEC_TAG] = 6,      [SEC_GLOBAL] = 7,      [SEC_EXPORT] = 8,
    [SEC_START] = 9,  [SEC_ELEMENT] = 10, [SEC_DATA_COUNT] = 11, [SEC_CODE] = 12,
    [SEC_DATA] = 13,
};

/* A cursor over one section (or the header); reads never pass `end`. */
struct reader {
	const uint8_t *data;
	size_t pos;
	size_t end;
	unsigned section_id;
	char *err;
	size_t errlen;
};

/* Smallest encoding of one element of each vector, to bound counts early. */
#define MIN_FUNCTYPE_BYTES 3 /* form, two empty vectors */
#define MIN_IMPORT_BYTES   4 /* two empty names, kind, one-byte index */
#define MIN_EXPORT_BYTES   3 /* empty name, kind, one-byte index */

int wasm_read_u64(const uint8_t *data, size_t len, size_t *pos, uint64_t *value)
{
	uint64_t result = 0;
	for (unsigned i = 0; i < 10; i++) {
		if (*pos >= len)
			return WASM_LEB_TRUNCATED;
		uint8_t byte = data[(*pos)++];
		/* The tenth byte carries bit 63 only; more is overflow. */
		if (i == 9 && (byte & 0xfe))
			return WASM_LEB_OVERFLOW;
		result |= (uint64_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*value = result;
			return WASM_LEB_OK;
		}
	}
	return WASM_LEB_OVERFLOW;
}

int wasm_read_u32(const uint8_t *data, size_t len, size_t *pos, uint32_t *value)
{
	uint32_t result = 0;
	for (unsigned i = 0; i < 5; i++) {
		if (*pos >= len)
			return WASM_LEB_TRUNCATED;
		uint8_t byte = data[(*pos)++];
		/* The fifth byte carries bits 28..31 only; more is overflow. */
		if (i == 4 && (byte & 0xf0))
			return WASM_LEB_OVERFLOW;
		result |= (uint32_t)(byte & 0x7f) << (7 * i);
		if (!(byte & 0x80)) {
			*value = result;
			return WASM_LEB_OK;
		}
	}
	return WASM_LEB_OVERFLOW;
}

static const char *section_name(unsigned id)
{
	return id <= SEC_MAX ? section_names[id] : "unknown";
}

__attribute__((format(printf, 3, 4))) static int fail(struct reader *r, size_t at, const char *fmt,
                                                      ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(r->err, r->errlen, "section %u (%s): %s at offset %zu", r->section_id,
	         section_name(r->section_id), msg, at);
	return -1;
}

static int truncated(struct reader *r)
{
	snprintf(r->err, r->errlen, "truncated section %u (%s) at offset %zu", r->section_id,
	         section_name(r->section_id), r->pos);
	return -1;
}

static int read_byte(struct reader *r, uint8_t *byte)
{
	if (r->pos >= r->end)
		return truncated(r);
	*byte = r->data[r->pos++];
	return 0;
}

static int read_u32(struct reader *r, uint32_t *value)
{
	size_t start = r->pos;
	int rc = wasm_read_u32(r->data, r->end, &r->pos, value);
	if (rc == WASM_LEB_TRUNCATED) {
		r->pos = r->end;
		return truncated(r);
	}
	if (rc == WASM_LEB_OVERFLOW)
		return fail(r, start, "integer does not fit in 32 bits");
	return 0;
}

static int read_u64(struct reader *r, uint64_t *value)
{
	size_t start = r->pos;
	int rc = wasm_read_u64(r->data, r->end, &r->pos, value);
	if (rc == WASM_LEB_TRUNCATED) {
		r->pos = r->end;
		return truncated(r);
	}
	if (rc == WASM_LEB_OVERFLOW)
		return fail(r, start, "integer does not fit in 64 bits");
	return 0;
}

/* Reads a vector length, refusing counts the remaining bytes cannot hold. */
static int read_count(struct reader *r, size_t min_entry_bytes, const char *what, uint32_t *count)
{
	size_t start = r->pos;
	if (read_u32(r, count))
		return -1;
	if (*count > (r->end - r->pos) / min_entry_bytes)
		return fail(r, start, "%u %s cannot fit in the %zu bytes left", *count, what,
		            r->end - r->pos);
	return 0;
}

static int utf8_valid(const uint8_t *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		uint8_t c = s[i];
		size_t extra;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			extra = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			extra = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (len - i <= extra)
			return 0;
		for (size_t k = 1; k <= extra; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		static const uint32_t min_for_length[4] = {0, 0x80, 0x800, 0x10000};
		if (cp < min_for_length[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += extra + 1;
	}
	return 1;
}

static int read_name(struct reader *r, char **name, uint32_t *name_len)
{
	size_t start = r->pos;
	uint32_t len;
	if (read_u32(r, &len))
		return -1;
	if (len > r->end - r->pos) {
		r->pos = r->end;
		return truncated(r);
	}
	if (!utf8_valid(r->data + r->pos, len))
		return fail(r, start, "name is not valid UTF-8");
	char *copy = malloc((size_t)len + 1);
	if (!copy)
		return fail(r, start, "out of memory");
	memcpy(copy, r->data + r->pos, len);
	copy[len] = '\0';
	r->pos += len;
	*name = copy;
	*name_len = len;
	return 0;
}

static int valtype_known(uint8_t byte)
{
	switch (byte) {
	case WASM_I32:
	case WASM_I64:
	case WASM_F32:
	case WASM_F64:
	case WASM_V128:
	case WASM_FUNCREF:
	case WASM_EXTERNREF:
		return 1;
	default:
		return 0;
	}
}

static int read_valtype(struct reader *r, uint8_t *type)
{
	size_t start = r->pos;
	if (read_byte(r, type))
		return -1;
	if (!valtype_known(*type))
		return fail(r, start, "unknown value type 0x%02x", *type);
	return 0;
}

static int read_reftype(struct reader *r)
{
	size_t start = r->pos;
	uint8_t type;
	if (read_byte(r, &type))
		return -1;
	if (type != WASM_FUNCREF && type != WASM_EXTERNREF)
		return fail(r, start, "unknown reference type 0x%02x", type);
	return 0;
}

/* Limits of a table (is_memory = 0) or a memory; memory64 uses 64-bit bounds. */
static int read_limits(struct reader *r, int is_memory)
{
	size_t start = r->pos;
	uint8_t flags;
	if (read_byte(r, &flags))
		return -1;
	/* bit 0: has maximum; memories also: bit 1 shared (threads), bit 2 memory64 */
	if (flags > (is_memory ? 7 : 1))
		return fail(r, start, "unknown limits flags 0x%02x", flags);
	int count = (flags & 1) ? 2 : 1;
	for (int i = 0; i < count; i++) {
		if (flags & 4) {
			uint64_t v;
			if (read_u64(r, &v))
				return -1;
		} else {
			uint32_t v;
			if (read_u32(r, &v))
				return -1;
		}
	}
	return 0;
}

static int read_type_index(struct reader *r, const struct wasm_module *m, uint32_t *index)
{
	size_t start = r->pos;
	if (read_u32(r, index))
		return -1;
	if (*index >= m->type_count)
		return fail(r, start, "type index %u out of range (%u types)", *index,
		            m->type_count);
	return 0;
}

static int parse_type_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, MIN_FUNCTYPE_BYTES, "types", &count))
		return -1;
	m->types = calloc(count ? count : 1, sizeof(*m->types));
	if (!m->types)
		return fail(r, r->pos, "out of memory");
	m->type_count = count;
	for (uint32_t i = 0; i < count; i++) {
		size_t start = r->pos;
		uint8_t form;
		if (read_byte(r, &form))
			return -1;
		if (form != 0x60)
			return fail(r, start, "type %u is not a function type (form 0x%02x)", i,
			            form);
		struct wasm_functype *t = &m->types[i];
		uint32_t params, results;
		if (read_count(r, 1, "parameters", &params))
			return -1;
		/* Copy params and results into one array; results are read below. */
		size_t params_at = r->pos;
		r->pos += params;
		if (read_count(r, 1, "results", &results))
			return -1;
		size_t results_at = r->pos;
		r->pos = params_at;
		t->valtypes = malloc((size_t)params + results + 1);
		if (!t->valtypes)
			return fail(r, start, "out of memory");
		t->param_count = params;
		t->result_count = results;
		for (uint32_t k = 0; k < params; k++)
			if (read_valtype(r, &t->valtypes[k]))
				return -1;
		r->pos = results_at;
		for (uint32_t k = 0; k < results; k++)
			if (read_valtype(r, &t->valtypes[params + k]))
				return -1;
	}
	return 0;
}

static int parse_import_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, MIN_IMPORT_BYTES, "imports", &count))
		return -1;
	m->imports = calloc(count ? count : 1, sizeof(*m->imports));
	if (!m->imports)
		return fail(r, r->pos, "out of memory");
	m->import_count = count;
	for (uint32_t i = 0; i < count; i++) {
		struct wasm_import *imp = &m->imports[i];
		if (read_name(r, &imp->module, &imp->module_len) ||
		    read_name(r, &imp->name, &imp->name_len))
			return -1;
		size_t kind_at = r->pos;
		uint8_t kind, byte;
		if (read_byte(r, &kind))
			return -1;
		switch (kind) {
		case WASM_EXTERN_FUNC:
			if (read_type_index(r, m, &imp->type_index))
				return -1;
			break;
		case WASM_EXTERN_TABLE:
			if (read_reftype(r) || read_limits(r, 0))
				return -1;
			break;
		case WASM_EXTERN_MEMORY:
			if (read_limits(r, 1))
				return -1;
			m->imports_memory = 1;
			break;
		case WASM_EXTERN_GLOBAL:
			if (read_valtype(r, &byte) || read_byte(r, &byte))
				return -1;
			if (byte > 1)
				return fail(r, r->pos - 1, "global mutability 0x%02x", byte);
			break;
		case WASM_EXTERN_TAG:
			if (read_byte(r, &byte))
				return -1;
			if (byte != 0)
				return fail(r, r->pos - 1, "unknown tag attribute 0x%02x", byte);
			if (read_type_index(r, m, &imp->type_index))
				return -1;
			break;
		default:
			return fail(r, kind_at, "import %u has unknown kind 0x%02x", i, kind);
		}
		imp->kind = (enum wasm_extern_kind)kind;
		m->imported[kind]++;
	}
	return 0;
}

static int parse_function_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, 1, "functions", &count))
		return -1;
	m->func_type_indices = calloc(count ? count : 1, sizeof(uint32_t));
	if (!m->func_type_indices)
		return fail(r, r->pos, "out of memory");
	m->defined[WASM_EXTERN_FUNC] = count;
	for (uint32_t i = 0; i < count; i++)
		if (read_type_index(r, m, &m->func_type_indices[i]))
			return -1;
	return 0;
}

static int parse_table_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, 2, "tables", &count))
		return -1;
	m->defined[WASM_EXTERN_TABLE] = count;
	for (uint32_t i = 0; i < count; i++)
		if (read_reftype(r) || read_limits(r, 0))
			return -1;
	return 0;
}

static int parse_memory_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, 2, "memories", &count))
		return -1;
	m->defined[WASM_EXTERN_MEMORY] = count;
	for (uint32_t i = 0; i < count; i++)
		if (read_limits(r, 1))
			return -1;
	return 0;
}

/* Globals and tags: only their number matters here; their bodies are skipped. */
static int parse_counted_section(struct reader *r, struct wasm_module *m,
                                 enum wasm_extern_kind kind, const char *what)
{
	uint32_t count;
	if (read_count(r, 2, what, &count))
		return -1;
	m->defined[kind] = count;
	r->pos = r->end;
	return 0;
}

static uint32_t index_space_size(const struct wasm_module *m, unsigned kind)
{
	uint64_t total = (uint64_t)m->imported[kind] + m->defined[kind];
	return total > UINT32_MAX ? UINT32_MAX : (uint32_t)total;
}

static int parse_export_section(struct reader *r, struct wasm_module *m)
{
	uint32_t count;
	if (read_count(r, MIN_EXPORT_BYTES, "exports", &count))
		return -1;
	m->exports = calloc(count ? count : 1, sizeof(*m->exports));
	if (!m->exports)
		return fail(r, r->pos, "out of memory");
	m->export_count = count;
	for (uint32_t i = 0; i < count; i++) {
		struct wasm_export *exp = &m->exports[i];
		if (read_name(r, &exp->name, &exp->name_len))
			return -1;
		size_t kind_at = r->pos;
		uint8_t kind;
		if (read_byte(r, &kind))
			return -1;
		if (kind > WASM_EXTERN_TAG)
			return fail(r, kind_at, "export %u has unknown kind 0x%02x", i, kind);
		size_t index_at = r->pos;
		if (read_u32(r, &exp->index))
			return -1;
		exp->kind = (enum wasm_extern_kind)kind;
		uint32_t limit = index_space_size(m, kind);
		if (exp->index >= limit)
			return fail(r, index_at, "export %u refers to %s %u, but there are %u", i,
			            wasm_extern_kind_name(exp->kind), exp->index, limit);
		if (kind == WASM_EXTERN_FUNC && wasm_name_is(exp->name, exp->name_len, "_start")) {
			m->exports_start = 1;
			m->start_index = exp->index;
		}
		if (kind == WASM_EXTERN_FUNC &&
		    wasm_name_is(exp->name, exp->name_len, "_initialize"))
			m->exports_initialize = 1;
		if (kind == WASM_EXTERN_MEMORY && wasm_name_is(exp->name, exp->name_len, "memory"))
			m->exports_memory = 1;
	}
	return 0;
}

static int parse_start_section(struct reader *r, struct wasm_module *m)
{
	size_t start = r->pos;
	uint32_t func;
	if (read_u32(r, &func))
		return -1;
	if (func >= index_space_size(m, WASM_EXTERN_FUNC))
		return fail(r, start, "start function %u out of range", func);
	return 0;
}

static int parse_code_section(struct reader *r, struct wasm_module *m)
{
	size_t start = r->pos;
	uint32_t count;
	if (read_count(r, 1, "function bodies", &count))
		return -1;
	if (count != m->defined[WASM_EXTERN_FUNC])
		return fail(r, start, "%u function bodies for %u declared functions", count,
		            m->defined[WASM_EXTERN_FUNC]);
	r->pos = r->end;
	return 0;
}

static int parse_custom_section(struct reader *r)
{
	char *name;
	uint32_t name_len;
	if (read_name(r, &name, &name_len))
		return -1;
	free(name);
	r->pos = r->end;
	return 0;
}

static int parse_section(struct reader *r, struct wasm_module *m)
{
	switch (r->section_id) {
	case SEC_CUSTOM:
		return parse_custom_section(r);
	case SEC_TYPE:
		return parse_type_section(r, m);
	case SEC_IMPORT:
		return parse_import_section(r, m);
	case SEC_FUNCTION:
		return parse_function_section(r, m);
	case SEC_TABLE:
		return parse_table_section(r, m);
	case SEC_MEMORY:
		return parse_memory_section(r, m);
	case SEC_GLOBAL:
		return parse_counted_section(r, m, WASM_EXTERN_GLOBAL, "globals");
	case SEC_TAG:
		return parse_counted_section(r, m, WASM_EXTERN_TAG, "tags");
	case SEC_EXPORT:
		return parse_export_section(r, m);
	case SEC_START:
		return parse_start_section(r, m);
	case SEC_CODE:
		return parse_code_section(r, m);
	default: /* element, data, data count: contents are wasm2c's to check */
		r->pos = r->end;
		return 0;
	}
}

static int bad_header(const uint8_t *data, size_t len, char *err, size_t errlen)
{
	static const uint8_t magic[4] = {0x00, 'a', 's', 'm'};
	if (len == 0) {
		snprintf(err, errlen, "empty file");
		return -1;
	}
	size_t compared = len < 4 ? len : 4;
	if (memcmp(data, magic, compared) != 0) {
		size_t i = 0;
		while (i < len && i < 64 &&
		       (data[i] == ' ' || data[i] == '\t' || data[i] == '\n' || data[i] == '\r'))
			i++;
		const char *hint = "";
		if (len - i >= 7 &&
		    (memcmp(data + i, "(module", 7) == 0 || memcmp(data + i, ";;", 2) == 0))
			hint = "; it looks like the text format: convert it with wat2wasm";
		else if (len >= 4 && memcmp(data,
		                            "\x7f"
		                            "ELF",
		                            4) == 0)
			hint = "; it is an ELF file";
		snprintf(err, errlen, "not a WebAssembly module (bad magic%s)", hint);
		return -1;
	}
	if (len < 8) {
		snprintf(err, errlen, "truncated header: %zu of 8 bytes", len);
		return -1;
	}
	uint32_t version = (uint32_t)data[4] | (uint32_t)data[5] << 8 | (uint32_t)data[6] << 16 |
	                   (uint32_t)data[7] << 24;
	if (version == 0x0001000d) {
		snprintf(err, errlen,
		         "a WebAssembly component, not a core module (hedge builds core modules)");
		return -1;
	}
	if (version != 1) {
		snprintf(err, errlen, "unsupported WebAssembly version %u (hedge reads version 1)",
		         version);
		return -1;
	}
	return 0;
}

int wasm_module_parse(const uint8_t *data, size_t len, struct wasm_module *mod, char *err,
                      size_t errlen)
{
	memset(mod, 0, sizeof(*mod));
	if (bad_header(data, len, err, errlen))
		return -1;
	struct reader r = {.data = data, .pos = 8, .end = len, .err = err, .errlen = errlen};
	int last_rank = 0;
	unsigned last_id = 0;
	int saw_code = 0;
	while (r.pos < len) {
		size_t section_at = r.pos;
		uint8_t id = data[r.pos++];
		r.section_id = id;
		r.end = len;
		if (id > SEC_MAX) {
			snprintf(err, errlen, "unknown section id %u at offset %zu", id,
			         section_at);
			goto fail;
		}
		uint32_t size;
		size_t size_at = r.pos;
		int rc = wasm_read_u32(data, len, &r.pos, &size);
		if (rc == WASM_LEB_TRUNCATED) {
			snprintf(err, errlen, "truncated section %u (%s) at offset %zu", id,
			         section_name(id), section_at);
			goto fail;
		}
		if (rc == WASM_LEB_OVERFLOW) {
			snprintf(err, errlen,
			         "section %u (%s): size does not fit in 32 bits at offset %zu", id,
			         section_name(id), size_at);
			goto fail;
		}
		if (size > len - r.pos) {
			snprintf(err, errlen,
			         "truncated section %u (%s) at offset %zu: %u bytes long, %zu left",
			         id, section_name(id), section_at, size, len - r.pos);
			goto fail;
		}
		if (id != SEC_CUSTOM) {
			int rank = section_rank[id];
			if (rank == last_rank) {
				snprintf(err, errlen, "duplicate section %u (%s) at offset %zu", id,
				         section_name(id), section_at);
				goto fail;
			}
			if (rank < last_rank) {
				snprintf(err, errlen,
				         "section %u (%s) at offset %zu is out of order (after %s)",
				         id, section_name(id), section_at, section_name(last_id));
				goto fail;
			}
			last_rank = rank;
			last_id = id;
		}
		r.end = r.pos + size;
		if (parse_section(&r, mod))
			goto fail;
		if (r.pos != r.end) {
			snprintf(err, errlen, "section %u (%s) at offset %zu has %zu unused bytes",
			         id, section_name(id), section_at, r.end - r.pos);
			goto fail;
		}
		if (id == SEC_CODE)
			saw_code = 1;
	}
	if (mod->defined[WASM_EXTERN_FUNC] && !saw_code) {
		snprintf(err, errlen, "%u functions declared but there is no code section",
		         mod->defined[WASM_EXTERN_FUNC]);
		goto fail;
	}
	return 0;
fail:
	wasm_module_free(mod);
	return -1;
}

void wasm_module_free(struct wasm_module *mod)
{
	for (uint32_t i = 0; i < mod->type_count; i++)
		free(mod->types[i].valtypes);
	free(mod->types);
	for (uint32_t i = 0; i < mod->import_count; i++) {
		free(mod->imports[i].module);
		free(mod->imports[i].name);
	}
	free(mod->imports);
	for (uint32_t i = 0; i < mod->export_count; i++)
		free(mod->exports[i].name);
	free(mod->exports);
	free(mod->func_type_indices);
	memset(mod, 0, sizeof(*mod));
}

const struct wasm_functype *wasm_func_type(const struct wasm_module *mod, uint32_t func_index)
{
	uint32_t seen = 0;
	for (uint32_t i = 0; i < mod->import_count; i++) {
		if (mod->imports[i].kind != WASM_EXTERN_FUNC)
			continue;
		if (seen++ == func_index)
			return &mod->types[mod->imports[i].type_index];
	}
	uint64_t local = (uint64_t)func_index - mod->imported[WASM_EXTERN_FUNC];
	if (func_index < mod->imported[WASM_EXTERN_FUNC] || local >= mod->defined[WASM_EXTERN_FUNC])
		return NULL;
	return &mod->types[mod->func_type_indices[local]];
}

const char *wasm_extern_kind_name(enum wasm_extern_kind kind)
{
	static const char *const names[] = {"function", "table", "memory", "global", "tag"};
	return (unsigned)kind < 5 ? names[kind] : "unknown";
}

static const char *valtype_name(uint8_t type)
{
	switch (type) {
	case WASM_I32:
		return "i32";
	case WASM_I64:
		return "i64";
	case WASM_F32:
		return "f32";
	case WASM_F64:
		return "f64";
	case WASM_V128:
		return "v128";
	case WASM_FUNCREF:
		return "funcref";
	case WASM_EXTERNREF:
		return "externref";
	default:
		return "?";
	}
}

/* Appends to out like snprintf, tracking the length it would need. */
static void append(char *out, size_t outlen, size_t *used, const char *text)
{
	size_t n = strlen(text);
	if (*used < outlen) {
		size_t room = outlen - *used - 1;
		memcpy(out + *used, text, n < room ? n : room);
		out[*used + (n < room ? n : room)] = '\0';
	}
	*used += n;
}

size_t wasm_functype_format(const struct wasm_functype *type, char *out, size_t outlen)
{
	size_t used = 0;
	if (outlen)
		out[0] = '\0';
	append(out, outlen, &used, "(");
	for (uint32_t i = 0; i < type->param_count; i++) {
		if (i)
			append(out, outlen, &used, ", ");
		append(out, outlen, &used, valtype_name(type->valtypes[i]));
	}
	append(out, outlen, &used, ") -> ");
	if (type->result_count != 1)
		append(out, outlen, &used, "(");
	for (uint32_t i = 0; i < type->result_count; i++) {
		if (i)
			append(out, outlen, &used, ", ");
		append(out, outlen, &used, valtype_name(type->valtypes[type->param_count + i]));
	}
	if (type->result_count != 1)
		append(out, outlen, &used, ")");
	return used;
}

void wasm_name_format(const char *name, uint32_t name_len, char *out, size_t outlen)
{
	if (!outlen)
		return;
	size_t used = 0;
	for (uint32_t i = 0; i < name_len; i++) {
		unsigned char c = (unsigned char)name[i];
		char piece[8];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			piece[0] = (char)c, piece[1] = '\0';
		else
			snprintf(piece, sizeof(piece), "\\x%02x", c);
		size_t n = strlen(piece);
		/* Leave room for "..." and the NUL if more must be cut. */
		if (used + n + 4 > outlen) {
			if (used + 4 <= outlen) {
				memcpy(out + used, "...", 3);
				used += 3;
			}
			break;
		}
		memcpy(out + used, piece, n);
		used += n;
	}
	out[used] = '\0';
}

int wasm_name_is(const char *name, uint32_t name_len, const char *want)
{
	size_t want_len = strlen(want);
	return name_len == want_len && memcmp(name, want, want_len) == 0;
}
