/*
 * imports.c - the functions hedge's guest runtime provides to WebAssembly
 * modules, in one table so that new ones are one line each, and the checks
 * a module must pass before it is built.
 */
#include "imports.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WASI "wasi_snapshot_preview1"

/*
 * WASI preview1: every function, with the core types wasi-libc imports them
 * with; then WasmEdge's socket extension (guest/wasi/wasi_sock.c), in the
 * same module, with the types of WasmEdge's host functions, before and
 * since 0.12.  The Rust crate wasmedge_wasi_socket imports sock_accept with
 * the old type, and wasi-libc with preview1's.
 */
const struct hedge_import hedge_imports[] = {
    {WASI, "args_get", "ii:i"},
    {WASI, "args_sizes_get", "ii:i"},
    {WASI, "environ_get", "ii:i"},
    {WASI, "environ_sizes_get", "ii:i"},
    {WASI, "clock_res_get", "ii:i"},
    {WASI, "clock_time_get", "iIi:i"},
    {WASI, "fd_advise", "iIIi:i"},
    {WASI, "fd_allocate", "iII:i"},
    {WASI, "fd_close", "i:i"},
    {WASI, "fd_datasync", "i:i"},
    {WASI, "fd_fdstat_get", "ii:i"},
    {WASI, "fd_fdstat_set_flags", "ii:i"},
    {WASI, "fd_fdstat_set_rights", "iII:i"},
    {WASI, "fd_filestat_get", "ii:i"},
    {WASI, "fd_filestat_set_size", "iI:i"},
    {WASI, "fd_filestat_set_times", "iIIi:i"},
    {WASI, "fd_pread", "iiiIi:i"},
    {WASI, "fd_prestat_get", "ii:i"},
    {WASI, "fd_prestat_dir_name", "iii:i"},
    {WASI, "fd_pwrite", "iiiIi:i"},
    {WASI, "fd_read", "iiii:i"},
    {WASI, "fd_readdir", "iiiIi:i"},
    {WASI, "fd_renumber", "ii:i"},
    {WASI, "fd_seek", "iIii:i"},
    {WASI, "fd_sync", "i:i"},
    {WASI, "fd_tell", "ii:i"},
    {WASI, "fd_write", "iiii:i"},
    {WASI, "path_create_directory", "iii:i"},
    {WASI, "path_filestat_get", "iiiii:i"},
    {WASI, "path_filestat_set_times", "iiiiIIi:i"},
    {WASI, "path_link", "iiiiiii:i"},
    {WASI, "path_open", "iiiiiIIii:i"},
    {WASI, "path_readlink", "iiiiii:i"},
    {WASI, "path_remove_directory", "iii:i"},
    {WASI, "path_rename", "iiiiii:i"},
    {WASI, "path_symlink", "iiiii:i"},
    {WASI, "path_unlink_file", "iii:i"},
    {WASI, "poll_oneoff", "iiii:i"},
    {WASI, "proc_exit", "i:"},
    {WASI, "proc_raise", "i:i"},
    {WASI, "sched_yield", ":i"},
    {WASI, "random_get", "ii:i"},
    {WASI, "sock_accept", "iii:i"},
    {WASI, "sock_recv", "iiiiii:i"},
    {WASI, "sock_send", "iiiii:i"},
    {WASI, "sock_shutdown", "ii:i"},
    /* WasmEdge's extension. */
    {WASI, "sock_open", "iii:i"},
    {WASI, "sock_bind", "iii:i"},
    {WASI, "sock_listen", "ii:i"},
    {WASI, "sock_connect", "iii:i"},
    {WASI, "sock_recv_from", "iiiiiii:i"},
    {WASI, "sock_send_to", "iiiiiii:i"},
    {WASI, "sock_getsockopt", "iiiii:i"},
    {WASI, "sock_setsockopt", "iiiii:i"},
    {WASI, "sock_getlocaladdr", "iiii:i"},
    {WASI, "sock_getpeeraddr", "iiii:i"},
    {WASI, "sock_getaddrinfo", "iiiiiiii:i"},
    /* WasmEdge 0.12's *_v2 names. */
    {WASI, "sock_open_v2", "iii:i"},
    {WASI, "sock_bind_v2", "iii:i"},
    {WASI, "sock_listen_v2", "ii:i"},
    {WASI, "sock_connect_v2", "iii:i"},
    {WASI, "sock_accept_v2", "iii:i"},
    {WASI, "sock_recv_v2", "iiiiii:i"},
    {WASI, "sock_recv_from_v2", "iiiiiiii:i"},
    {WASI, "sock_send_v2", "iiiii:i"},
    {WASI, "sock_send_to_v2", "iiiiiii:i"},
    {WASI, "sock_getlocaladdr_v2", "iii:i"},
    {WASI, "sock_getpeeraddr_v2", "iii:i"},
};
const size_t hedge_import_count = sizeof(hedge_imports) / sizeof(hedge_imports[0]);

/* The C function of WASI name fn takes the calls of a module that imports name with signature. */
#define SECOND(name, signature, fn) name, signature, "-DZ_" WASI "Z_" name "=Z_" WASI "Z_" fn

/*
 * Names with a second type: WasmEdge's types from before 0.12 for
 * sock_accept (the wasmedge_wasi_socket crate still imports it so), and
 * 0.12's for the others, whose v2 functions also have *_v2 names above.
 */
static const struct second_type {
	const char *name; /* in module WASI */
	const char *signature;
	const char *define; /* the compiler flag that sends the calls to the other function */
} second_types[] = {
    {SECOND("sock_accept", "ii:i", "sock_accept_v1")},
    {SECOND("sock_recv_from", "iiiiiiii:i", "sock_recv_from_v2")},
    {SECOND("sock_getlocaladdr", "iii:i", "sock_getlocaladdr_v2")},
    {SECOND("sock_getpeeraddr", "iii:i", "sock_getpeeraddr_v2")},
};
#define SECOND_TYPES (sizeof(second_types) / sizeof(second_types[0]))

static const struct second_type *second_type_of(const struct hedge_import *import)
{
	if (strcmp(import->module, WASI) != 0)
		return NULL;
	for (size_t i = 0; i < SECOND_TYPES; i++)
		if (strcmp(second_types[i].name, import->name) == 0)
			return &second_types[i];
	return NULL;
}

const struct hedge_import *hedge_import_find(const char *module, uint32_t module_len,
                                             const char *name, uint32_t name_len)
{
	for (size_t i = 0; i < hedge_import_count; i++)
		if (wasm_name_is(module, module_len, hedge_imports[i].module) &&
		    wasm_name_is(name, name_len, hedge_imports[i].name))
			return &hedge_imports[i];
	return NULL;
}

static uint8_t valtype_of_letter(char letter)
{
	switch (letter) {
	case 'i':
		return WASM_I32;
	case 'I':
		return WASM_I64;
	case 'f':
		return WASM_F32;
	case 'F':
		return WASM_F64;
	default:
		return 0;
	}
}

/* Expands a signature string into the form the module's types use. */
static void signature_to_functype(const char *signature, struct wasm_functype *type,
                                  uint8_t *valtypes)
{
	const char *colon = strchr(signature, ':');
	type->param_count = (uint32_t)(colon - signature);
	type->result_count = (uint32_t)strlen(colon + 1);
	type->valtypes = valtypes;
	uint32_t n = 0;
	for (const char *p = signature; *p; p++)
		if (*p != ':')
			valtypes[n++] = valtype_of_letter(*p);
}

static int signature_matches(const char *signature, const struct wasm_functype *type)
{
	uint8_t valtypes[32];
	struct wasm_functype want;
	signature_to_functype(signature, &want, valtypes);
	return want.param_count == type->param_count && want.result_count == type->result_count &&
	       memcmp(want.valtypes, type->valtypes, want.param_count + want.result_count) == 0;
}

/* Whether a module's import of this function uses its second type. */
static int uses_second_type(const struct hedge_import *import, const struct wasm_functype *type)
{
	const struct second_type *second = second_type_of(import);
	return second && signature_matches(second->signature, type);
}

int hedge_import_type_matches(const struct hedge_import *import, const struct wasm_functype *type)
{
	return signature_matches(import->signature, type) || uses_second_type(import, type);
}

size_t hedge_import_defines(const struct wasm_module *mod, const char **flags, size_t max)
{
	size_t count = 0;
	for (size_t i = 0; i < SECOND_TYPES; i++) {
		const struct second_type *second = &second_types[i];
		for (uint32_t j = 0; j < mod->import_count; j++) {
			const struct wasm_import *imp = &mod->imports[j];
			if (imp->kind != WASM_EXTERN_FUNC ||
			    !wasm_name_is(imp->module, imp->module_len, WASI) ||
			    !wasm_name_is(imp->name, imp->name_len, second->name) ||
			    !signature_matches(second->signature, &mod->types[imp->type_index]))
				continue;
			if (count < max)
				flags[count] = second->define;
			count++;
			break; /* one flag per name */
		}
	}
	return count;
}

/* A growing one-line message, cut (with a count of what was left out) to fit err. */
struct line {
	char *buf;
	size_t cap;
	size_t len;
};

static int line_fits(const struct line *l, size_t more)
{
	return l->len + more < l->cap;
}

static void line_add(struct line *l, const char *text)
{
	size_t n = strlen(text);
	if (!line_fits(l, n))
		n = l->cap - 1 - l->len;
	memcpy(l->buf + l->len, text, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static void import_display_name(const struct wasm_import *imp, char *out, size_t outlen)
{
	char module[128], name[128];
	wasm_name_format(imp->module, imp->module_len, module, sizeof(module));
	wasm_name_format(imp->name, imp->name_len, name, sizeof(name));
	if (imp->kind == WASM_EXTERN_FUNC)
		snprintf(out, outlen, "%s.%s", module, name);
	else
		snprintf(out, outlen, "%s.%s (%s)", module, name, wasm_extern_kind_name(imp->kind));
}

static int import_unsupported(const struct wasm_import *imp)
{
	return imp->kind != WASM_EXTERN_FUNC ||
	       !hedge_import_find(imp->module, imp->module_len, imp->name, imp->name_len);
}

/* "2 functions, 1 memory and 1 table" */
static void describe_counts(const uint32_t counts[5], char *out, size_t outlen)
{
	static const char *const plural[5] = {"functions", "tables", "memories", "globals", "tags"};
	unsigned kinds = 0, done = 0;
	for (int k = 0; k < 5; k++)
		kinds += counts[k] != 0;
	size_t used = 0;
	out[0] = '\0';
	for (int k = 0; k < 5; k++) {
		if (!counts[k])
			continue;
		const char *sep = done == 0 ? "" : (done + 1 == kinds ? " and " : ", ");
		const char *noun =
		    counts[k] == 1 ? wasm_extern_kind_name((enum wasm_extern_kind)k) : plural[k];
		int n = snprintf(out + used, outlen - used, "%s%u %s", sep, counts[k], noun);
		if (n < 0 || (size_t)n >= outlen - used)
			return;
		used += (size_t)n;
		done++;
	}
}

static int report_unsupported(const struct wasm_module *mod, const char *display_name,
                              struct line *l)
{
	uint32_t counts[5] = {0};
	uint32_t total = 0;
	for (uint32_t i = 0; i < mod->import_count; i++) {
		if (import_unsupported(&mod->imports[i])) {
			counts[mod->imports[i].kind]++;
			total++;
		}
	}
	if (!total)
		return 0;
	char summary[160];
	describe_counts(counts, summary, sizeof(summary));
	char head[512];
	snprintf(head, sizeof(head), "%s imports %s hedge does not provide: ", display_name,
	         summary);
	line_add(l, head);
	uint32_t listed = 0;
	for (uint32_t i = 0; i < mod->import_count && listed < total; i++) {
		if (!import_unsupported(&mod->imports[i]))
			continue;
		char name[300], more[48];
		import_display_name(&mod->imports[i], name, sizeof(name));
		/* Keep room to say how many were left out if this one does not fit. */
		snprintf(more, sizeof(more), " and %u more", total - listed);
		if (!line_fits(l, strlen(name) + 2 + strlen(more))) {
			line_add(l, more);
			break;
		}
		if (listed)
			line_add(l, ", ");
		line_add(l, name);
		listed++;
	}
	return -1;
}

static int report_type_mismatch(const struct wasm_module *mod, const char *display_name,
                                struct line *l)
{
	uint32_t mismatches = 0;
	const struct wasm_import *first = NULL;
	const struct hedge_import *provided = NULL;
	for (uint32_t i = 0; i < mod->import_count; i++) {
		const struct wasm_import *imp = &mod->imports[i];
		const struct hedge_import *h =
		    hedge_import_find(imp->module, imp->module_len, imp->name, imp->name_len);
		if (!hedge_import_type_matches(h, &mod->types[imp->type_index])) {
			if (!mismatches++) {
				first = imp;
				provided = h;
			}
		}
	}
	if (!mismatches)
		return 0;
	char name[300], got[256], want[256], alt[256] = "", buf[1200];
	uint8_t valtypes[32];
	struct wasm_functype want_type;
	signature_to_functype(provided->signature, &want_type, valtypes);
	import_display_name(first, name, sizeof(name));
	wasm_functype_format(&mod->types[first->type_index], got, sizeof(got));
	wasm_functype_format(&want_type, want, sizeof(want));
	const struct second_type *second = second_type_of(provided);
	if (second) {
		signature_to_functype(second->signature, &want_type, valtypes);
		wasm_functype_format(&want_type, alt, sizeof(alt));
	}
	snprintf(buf, sizeof(buf), "%s imports %s with type %s, but hedge provides %s%s%s",
	         display_name, name, got, want, alt[0] ? " or " : "", alt);
	line_add(l, buf);
	if (mismatches > 1) {
		snprintf(buf, sizeof(buf), " (and %u more imports of the wrong type)",
		         mismatches - 1);
		line_add(l, buf);
	}
	return -1;
}

/*
 * A name with two types, imported with both: its calls all go to one C
 * function (see hedge_import_defines), so half of them would get the wrong
 * arguments.
 */
static int report_both_types(const struct wasm_module *mod, const char *display_name,
                             struct line *l)
{
	for (size_t i = 0; i < SECOND_TYPES; i++) {
		const struct wasm_import *first = NULL, *second = NULL;
		for (uint32_t j = 0; j < mod->import_count; j++) {
			const struct wasm_import *imp = &mod->imports[j];
			if (!wasm_name_is(imp->module, imp->module_len, WASI) ||
			    !wasm_name_is(imp->name, imp->name_len, second_types[i].name))
				continue;
			if (signature_matches(second_types[i].signature,
			                      &mod->types[imp->type_index]))
				second = imp;
			else
				first = imp;
		}
		if (first && second) {
			char name[300], buf[512];
			import_display_name(first, name, sizeof(name));
			snprintf(
			    buf, sizeof(buf),
			    "%s imports %s twice, with both of its types: hedge can link only one",
			    display_name, name);
			line_add(l, buf);
			return -1;
		}
	}
	return 0;
}

static int report_exports(const struct wasm_module *mod, const char *display_name, struct line *l)
{
	char buf[512];
	if (!mod->exports_start) {
		const char *other_kind = NULL;
		for (uint32_t i = 0; i < mod->export_count; i++)
			if (wasm_name_is(mod->exports[i].name, mod->exports[i].name_len, "_start"))
				other_kind = wasm_extern_kind_name(mod->exports[i].kind);
		if (other_kind)
			snprintf(buf, sizeof(buf), "%s exports _start as a %s, not a function",
			         display_name, other_kind);
		else if (mod->exports_initialize)
			snprintf(buf, sizeof(buf),
			         "%s is a WASI reactor (it exports _initialize, not _start): hedge "
			         "runs WASI commands",
			         display_name);
		else
			snprintf(buf, sizeof(buf),
			         "%s does not export a _start function: hedge runs WASI commands",
			         display_name);
		line_add(l, buf);
		return -1;
	}
	const struct wasm_functype *start = wasm_func_type(mod, mod->start_index);
	if (start && (start->param_count || start->result_count)) {
		char type[256];
		wasm_functype_format(start, type, sizeof(type));
		snprintf(buf, sizeof(buf), "%s exports _start with type %s, expected () -> ()",
		         display_name, type);
		line_add(l, buf);
		return -1;
	}
	if (!mod->exports_memory) {
		snprintf(buf, sizeof(buf),
		         "%s does not export its memory as \"memory\", which WASI needs",
		         display_name);
		line_add(l, buf);
		return -1;
	}
	return 0;
}

int check_module_imports(const struct wasm_module *mod, const char *display_name, char *err,
                         size_t errlen)
{
	if (!errlen)
		return -1;
	struct line l = {.buf = err, .cap = errlen, .len = 0};
	err[0] = '\0';
	if (report_unsupported(mod, display_name, &l))
		return -1;
	if (report_type_mismatch(mod, display_name, &l))
		return -1;
	if (report_both_types(mod, display_name, &l))
		return -1;
	if (report_exports(mod, display_name, &l))
		return -1;
	return 0;
}
