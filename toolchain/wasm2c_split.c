/*
 * wasm2c_split.c - the single C file of wasm2c 1.0.32 as parts for parallel
 * compilers.
 *
 * Only output whose prelude (everything before the module's first item) is
 * byte for byte one this file was checked against is split: the prelude is
 * copied into every part, so it must hold nothing but macros, types and
 * stateless helpers.  The module section after it is read as a sequence of
 * top-level items of three recognised shapes (function definition,
 * function declaration, variable definition); anything else declines the
 * split.  An item used by a part other than its own becomes global under
 * the symbol SPLIT_SYMBOL_PREFIX + name (a name no C identifier can clash
 * with), declared in each part that defines or uses it; the rest keep
 * their static.
 */
#include "wasm2c_split.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sha256.h"

#define NONE SIZE_MAX

/* wasm2c 1.0.32's prelude for "-n app -o app.c", the only one known to hold no state. */
static const char *const known_preludes[] = {
    "09f840c1d5e2aa47277da0f85d41368724e067185a3c065bd4102a227bf4515f",
};

/* The first item of the module section in wasm2c 1.0.32's output. */
static const char module_marker[] = "\nstatic bool s_module_initialized = false;\n";

enum token_kind { TOK_END, TOK_IDENT, TOK_NUMBER, TOK_STRING, TOK_PUNCT };

struct token {
	enum token_kind kind;
	size_t start, end;
};

struct lexer {
	const char *text;
	size_t len;
	size_t pos;
	int bad; /* an unterminated comment, string or character constant */
};

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident_char(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

/* The next token, skipping blanks and comments. */
static struct token next_token(struct lexer *lx)
{
	const char *t = lx->text;
	for (;;) {
		while (lx->pos < lx->len && (t[lx->pos] == ' ' || t[lx->pos] == '\t' ||
		                             t[lx->pos] == '\n' || t[lx->pos] == '\r'))
			lx->pos++;
		if (lx->pos + 1 < lx->len && t[lx->pos] == '/' && t[lx->pos + 1] == '*') {
			const char *close = NULL;
			if (lx->pos + 2 < lx->len)
				close = memmem(t + lx->pos + 2, lx->len - lx->pos - 2, "*/", 2);
			if (!close) {
				lx->bad = 1;
				lx->pos = lx->len;
				break;
			}
			lx->pos = (size_t)(close - t) + 2;
			continue;
		}
		if (lx->pos + 1 < lx->len && t[lx->pos] == '/' && t[lx->pos + 1] == '/') {
			while (lx->pos < lx->len && t[lx->pos] != '\n')
				lx->pos++;
			continue;
		}
		break;
	}
	struct token tok = {TOK_END, lx->pos, lx->pos};
	if (lx->pos >= lx->len)
		return tok;
	char c = t[lx->pos];
	if (is_ident_start(c)) {
		tok.kind = TOK_IDENT;
		while (lx->pos < lx->len && is_ident_char(t[lx->pos]))
			lx->pos++;
	} else if (c >= '0' && c <= '9') {
		/* 0x1p-3, 1e+5, 12ull: letters, digits, dots and exponent signs */
		tok.kind = TOK_NUMBER;
		while (lx->pos < lx->len) {
			char d = t[lx->pos];
			if (is_ident_char(d) || d == '.')
				lx->pos++;
			else if ((d == '+' || d == '-') && strchr("eEpP", t[lx->pos - 1]))
				lx->pos++;
			else
				break;
		}
	} else if (c == '"' || c == '\'') {
		tok.kind = TOK_STRING;
		lx->pos++;
		while (lx->pos < lx->len && t[lx->pos] != c && t[lx->pos] != '\n')
			lx->pos += t[lx->pos] == '\\' ? 2 : 1;
		if (lx->pos >= lx->len || t[lx->pos] != c) {
			lx->bad = 1;
			lx->pos = lx->len;
			return tok;
		}
		lx->pos++;
	} else {
		tok.kind = TOK_PUNCT;
		lx->pos++;
	}
	tok.end = lx->pos;
	return tok;
}

static int tok_is(const struct lexer *lx, struct token tok, const char *s)
{
	size_t n = strlen(s);
	return tok.end - tok.start == n && memcmp(lx->text + tok.start, s, n) == 0;
}

static int punct_is(const struct lexer *lx, struct token tok, char c)
{
	return tok.kind == TOK_PUNCT && lx->text[tok.start] == c;
}

/* ---- the items of the module section ---- */

enum item_kind { ITEM_FUNC, ITEM_PROTO, ITEM_VAR };

struct item {
	enum item_kind kind;
	size_t start, end; /* the whole item, with the blanks and comments before it */
	size_t decl_start; /* its first token */
	size_t decl_end;   /* FUNC, PROTO: after the parameters' ')'; VAR: before '=' or ';' */
	size_t static_at;  /* the "static" keyword, or NONE */
	size_t name_at, name_len;
	size_t weight; /* compile cost estimate, in bytes of C */
	size_t part;
	int movable; /* a wasm function: may go to any part */
	int global;
	uint64_t used_by; /* bit p: part p uses it; all bits: the prelude does */
};

struct splitter {
	const char *text;
	size_t len;
	struct item *items;
	size_t count, cap;
	/* name -> index of the defining item + 1 (0 = empty slot) */
	size_t *table;
	size_t table_size;
	char *why;
	size_t whylen;
};

__attribute__((format(printf, 3, 4))) static int decline(struct splitter *s, size_t at,
                                                         const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	size_t line = 1;
	for (size_t i = 0; i < at && i < s->len; i++)
		line += s->text[i] == '\n';
	snprintf(s->why, s->whylen, "%s (app.c line %zu)", msg, line);
	return 1;
}

/* Words that would change what an item is or where it lives: not in the shapes known. */
static int unexpected_word(const struct lexer *lx, struct token tok)
{
	static const char *const words[] = {
	    "typedef",  "extern",     "inline",   "__inline",      "__inline__", "register",
	    "auto",     "volatile",   "enum",     "union",         "_Noreturn",  "__attribute__",
	    "asm",      "__asm__",    "__thread", "_Thread_local", "restrict",   "__extension__",
	    "_Alignas", "__typeof__", "typeof",   "sizeof",        "static"};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (tok_is(lx, tok, words[i]))
			return 1;
	return 0;
}

/*
 * The declarator of a function or variable: [static] TYPE-WORDS NAME,
 * where TYPE-WORDS are identifiers and '*'s; lx is left after NAME.
 * Returns 0, or 1 if the item has another shape.
 */
static int parse_declarator(struct lexer *lx, struct item *it)
{
	struct token tok = next_token(lx);
	it->decl_start = tok.start;
	it->static_at = NONE;
	if (tok.kind == TOK_IDENT && tok_is(lx, tok, "static")) {
		it->static_at = tok.start;
		tok = next_token(lx);
	}
	size_t type_words = 0;
	for (;;) {
		if (tok.kind != TOK_IDENT && !punct_is(lx, tok, '*'))
			return 1;
		if (tok.kind == TOK_IDENT && unexpected_word(lx, tok))
			return 1;
		size_t save = lx->pos;
		struct token after = next_token(lx);
		lx->pos = save;
		int ends = punct_is(lx, after, '(') || punct_is(lx, after, '[') ||
		           punct_is(lx, after, '=') || punct_is(lx, after, ';');
		if (tok.kind == TOK_IDENT && ends) {
			if (type_words == 0)
				return 1;
			it->name_at = tok.start;
			it->name_len = tok.end - tok.start;
			return 0;
		}
		if (ends)
			return 1;
		type_words++;
		tok = next_token(lx);
	}
}

/* Skips a balanced group whose opening token was just read. */
static int skip_group(struct lexer *lx, char open, char close)
{
	int depth = 1;
	while (depth > 0) {
		struct token tok = next_token(lx);
		if (tok.kind == TOK_END)
			return 1;
		if (punct_is(lx, tok, open))
			depth++;
		else if (punct_is(lx, tok, close))
			depth--;
	}
	return 0;
}

/* Reads the item starting at lx->pos into it; returns 0, or 1 if it has no known shape. */
static int parse_item(struct lexer *lx, struct item *it)
{
	it->start = lx->pos;
	if (parse_declarator(lx, it))
		return 1;
	struct token tok = next_token(lx);
	if (punct_is(lx, tok, '(')) {
		if (skip_group(lx, '(', ')'))
			return 1;
		it->decl_end = lx->pos;
		tok = next_token(lx);
		if (punct_is(lx, tok, ';')) {
			it->kind = ITEM_PROTO;
		} else if (punct_is(lx, tok, '{')) {
			it->kind = ITEM_FUNC;
			if (skip_group(lx, '{', '}'))
				return 1;
		} else {
			return 1;
		}
		it->end = lx->pos;
		return 0;
	}
	it->kind = ITEM_VAR;
	while (punct_is(lx, tok, '[')) {
		if (skip_group(lx, '[', ']'))
			return 1;
		tok = next_token(lx);
	}
	it->decl_end = tok.start;
	if (punct_is(lx, tok, '=')) {
		/* The initializer: up to the ';' outside any brackets. */
		for (;;) {
			tok = next_token(lx);
			if (tok.kind == TOK_END)
				return 1;
			if (punct_is(lx, tok, '{') && skip_group(lx, '{', '}'))
				return 1;
			if (punct_is(lx, tok, '(') && skip_group(lx, '(', ')'))
				return 1;
			if (punct_is(lx, tok, '}') || punct_is(lx, tok, ')'))
				return 1;
			if (punct_is(lx, tok, ';'))
				break;
		}
	} else if (!punct_is(lx, tok, ';')) {
		return 1;
	}
	it->end = lx->pos;
	return 0;
}

static uint64_t name_hash(const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 1099511628211ull;
	return h;
}

/* The slot of name in the table: the item defining it, or an empty slot. */
static size_t *lookup(struct splitter *s, const char *name, size_t len)
{
	size_t mask = s->table_size - 1;
	for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
		size_t *slot = &s->table[i];
		if (*slot == 0)
			return slot;
		const struct item *it = &s->items[*slot - 1];
		if (it->name_len == len && memcmp(s->text + it->name_at, name, len) == 0)
			return slot;
	}
}

static int prelude_known(const char *text, size_t len)
{
	struct sha256_ctx ctx;
	uint8_t digest[SHA256_DIGEST_LEN];
	char hex[2 * SHA256_DIGEST_LEN + 1];
	sha256_init(&ctx);
	sha256_update(&ctx, text, len);
	sha256_final(&ctx, digest);
	sha256_hex(digest, hex);
	for (size_t i = 0; i < sizeof(known_preludes) / sizeof(known_preludes[0]); i++)
		if (strcmp(hex, known_preludes[i]) == 0)
			return 1;
	return 0;
}

/* Reads the module section into s->items; returns 0, 1 (declined) or -1. */
static int read_items(struct splitter *s, size_t module_start)
{
	struct lexer lx = {s->text, s->len, module_start, 0};
	for (;;) {
		size_t save = lx.pos;
		struct token tok = next_token(&lx);
		if (tok.kind == TOK_END)
			break;
		lx.pos = save;
		if (s->count == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 1024;
			struct item *grown = realloc(s->items, cap * sizeof(*grown));
			if (!grown)
				return -1;
			s->items = grown;
			s->cap = cap;
		}
		struct item *it = &s->items[s->count];
		memset(it, 0, sizeof(*it));
		if (parse_item(&lx, it) || lx.bad)
			return decline(s, tok.start, "an item of unknown shape");
		s->count++;
	}
	if (lx.bad)
		return decline(s, lx.pos, "an unterminated comment or string");
	return 0;
}

/* Fills the name table with the definitions and checks every declaration has one. */
static int index_items(struct splitter *s)
{
	s->table_size = 16;
	while (s->table_size < 2 * s->count + 16)
		s->table_size *= 2;
	s->table = calloc(s->table_size, sizeof(size_t));
	if (!s->table)
		return -1;
	for (size_t i = 0; i < s->count; i++) {
		struct item *it = &s->items[i];
		if (it->kind == ITEM_PROTO)
			continue;
		size_t *slot = lookup(s, s->text + it->name_at, it->name_len);
		if (*slot)
			return decline(s, it->start, "a second definition of %.*s",
			               (int)it->name_len, s->text + it->name_at);
		*slot = i + 1;
	}
	for (size_t i = 0; i < s->count; i++) {
		struct item *it = &s->items[i];
		size_t *slot = lookup(s, s->text + it->name_at, it->name_len);
		if (it->kind == ITEM_PROTO && (!*slot || s->items[*slot - 1].kind != ITEM_FUNC))
			return decline(s, it->start, "a declaration of %.*s without a definition",
			               (int)it->name_len, s->text + it->name_at);
		/* wasm2c's own functions; init and export functions stay with the data. */
		it->movable = it->kind == ITEM_FUNC && it->static_at != NONE && it->name_len > 4 &&
		              memcmp(s->text + it->name_at, "w2c_", 4) == 0;
		/* Segment data is cheap to compile for its size. */
		it->weight = it->kind == ITEM_VAR ? (it->end - it->start) / 4 : it->end - it->start;
	}
	return 0;
}

/*
 * Contiguous runs of functions, each part about the same weight; part 0
 * also holds everything that is not a wasm function.  Returns the number
 * of parts that got anything.
 */
static size_t assign_parts(struct splitter *s, size_t max_parts)
{
	size_t fixed = 0, total = 0;
	for (size_t i = 0; i < s->count; i++) {
		if (s->items[i].kind == ITEM_PROTO)
			continue;
		total += s->items[i].weight;
		if (!s->items[i].movable)
			fixed += s->items[i].weight;
	}
	double target = (double)total / (double)max_parts;
	double done = (double)fixed;
	size_t used[SPLIT_MAX_PARTS] = {0};
	used[0] = 1;
	for (size_t i = 0; i < s->count; i++) {
		struct item *it = &s->items[i];
		if (!it->movable)
			continue;
		size_t part = (size_t)((done + (double)it->weight / 2) / target);
		it->part = part < max_parts ? part : max_parts - 1;
		used[it->part] = 1;
		done += (double)it->weight;
	}
	/* Renumber so that the parts that got something are 0..n-1. */
	size_t renumber[SPLIT_MAX_PARTS], n = 0;
	for (size_t p = 0; p < max_parts; p++)
		renumber[p] = used[p] ? n++ : 0;
	for (size_t i = 0; i < s->count; i++)
		s->items[i].part = renumber[s->items[i].part];
	return n;
}

/*
 * Marks the items used from a part other than their own as global, and
 * those the prelude names (its macros, e.g. CALL_INDIRECT's func_types,
 * expand to them in every part).
 */
static void mark_globals(struct splitter *s, size_t prelude_len)
{
	struct lexer pre = {s->text, prelude_len, 0, 0};
	for (struct token tok = next_token(&pre); tok.kind != TOK_END; tok = next_token(&pre)) {
		size_t *slot = tok.kind == TOK_IDENT
		                   ? lookup(s, s->text + tok.start, tok.end - tok.start)
		                   : NULL;
		if (slot && *slot) {
			s->items[*slot - 1].global = 1;
			s->items[*slot - 1].used_by = ~0ull;
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct item *user = &s->items[i];
		if (user->kind == ITEM_PROTO)
			continue;
		struct lexer lx = {s->text, user->end, user->decl_start, 0};
		struct token prev = {TOK_END, 0, 0}, prev2 = prev;
		for (struct token tok = next_token(&lx); tok.kind != TOK_END;
		     tok = next_token(&lx)) {
			/* x.name and x->name are members, not the item called name. */
			int member = punct_is(&lx, prev, '.') ||
			             (punct_is(&lx, prev, '>') && punct_is(&lx, prev2, '-') &&
			              prev2.end == prev.start);
			prev2 = prev;
			prev = tok;
			if (tok.kind != TOK_IDENT || member)
				continue;
			size_t *slot = lookup(s, s->text + tok.start, tok.end - tok.start);
			if (*slot && s->items[*slot - 1].part != user->part) {
				s->items[*slot - 1].global = 1;
				s->items[*slot - 1].used_by |= 1ull << user->part;
			}
		}
	}
}

/* ---- writing the parts ---- */

struct sbuf {
	char *data;
	size_t len, cap;
	int failed;
};

static void put(struct sbuf *b, const char *data, size_t len)
{
	if (b->failed)
		return;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *grown = realloc(b->data, cap);
		if (!grown) {
			b->failed = 1;
			return;
		}
		b->data = grown;
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

static void put_str(struct sbuf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* Text [from, to) of the source, leaving out the item's "static" keyword. */
static void put_without_static(struct sbuf *b, const struct splitter *s, const struct item *it,
                               size_t from, size_t to)
{
	if (it->static_at != NONE && it->static_at >= from && it->static_at < to) {
		put(b, s->text + from, it->static_at - from);
		from = it->static_at + strlen("static");
		if (from < to && s->text[from] == ' ')
			from++;
	}
	put(b, s->text + from, to - from);
}

/* The declaration of a global item for the shared header. */
static void put_global_decl(struct sbuf *b, const struct splitter *s, const struct item *it)
{
	if (it->kind == ITEM_VAR)
		put_str(b, "extern ");
	put_without_static(b, s, it, it->decl_start, it->decl_end);
	if (it->static_at != NONE) {
		/* Renamed: a static's name may be common enough to clash with a library's. */
		put_str(b, " __asm__(\"" SPLIT_SYMBOL_PREFIX);
		put(b, s->text + it->name_at, it->name_len);
		put_str(b, "\")");
	}
	put_str(b, ";\n");
}

static void put_part(struct sbuf *b, const struct splitter *s, size_t part, const char *header)
{
	put_str(b, "/* one part of app.c, split by hedge build */\n#include \"");
	put_str(b, header);
	put_str(b, "\"\n\n");
	/*
	 * The global items this part defines or uses, declared before any
	 * definition so that the definitions take their symbol names.
	 */
	for (size_t i = 0; i < s->count; i++) {
		const struct item *it = &s->items[i];
		if (it->global && (it->part == part || (it->used_by >> part & 1)))
			put_global_decl(b, s, it);
	}
	/* This part's own static functions, declared first since their order changed. */
	for (size_t i = 0; i < s->count; i++) {
		const struct item *it = &s->items[i];
		if (it->kind == ITEM_FUNC && it->part == part && !it->global &&
		    it->static_at != NONE) {
			put(b, s->text + it->decl_start, it->decl_end - it->decl_start);
			put_str(b, ";\n");
		}
	}
	for (size_t i = 0; i < s->count; i++) {
		const struct item *it = &s->items[i];
		if (it->kind == ITEM_PROTO || it->part != part)
			continue;
		if (it->global)
			put_without_static(b, s, it, it->start, it->end);
		else
			put(b, s->text + it->start, it->end - it->start);
	}
	put_str(b, "\n");
}

void split_output_free(struct split_output *out)
{
	free(out->header);
	for (size_t i = 0; i < out->part_count; i++)
		free(out->parts[i]);
	memset(out, 0, sizeof(*out));
}

static int write_output(struct splitter *s, size_t module_start, size_t parts,
                        const char *header_name, struct split_output *out)
{
	struct sbuf header = {0};
	put_str(&header, "/* the prelude of app.c, shared by its parts (hedge build) */\n");
	put(&header, s->text, module_start + 1);
	for (size_t i = 0; i < s->count; i++)
		out->globals += s->items[i].global != 0;
	out->header = header.data;
	out->header_len = header.len;
	int failed = header.failed;
	for (size_t p = 0; p < parts; p++) {
		struct sbuf part = {0};
		put_part(&part, s, p, header_name);
		out->parts[p] = part.data;
		out->part_lens[p] = part.len;
		out->part_count = p + 1;
		failed |= part.failed;
	}
	return failed ? -1 : 0;
}

int wasm2c_split(const char *text, size_t len, size_t max_parts, const char *header_name,
                 struct split_output *out, char *why, size_t whylen)
{
	memset(out, 0, sizeof(*out));
	snprintf(why, whylen, "split");
	struct splitter s = {.text = text, .len = len, .why = why, .whylen = whylen};
	if (max_parts < 2 || max_parts > SPLIT_MAX_PARTS)
		return decline(&s, 0, "%zu parts asked for", max_parts);
	const char *marker = memmem(text, len, module_marker, sizeof(module_marker) - 1);
	if (!marker || memmem(marker + 1, len - (size_t)(marker + 1 - text), module_marker,
	                      sizeof(module_marker) - 1))
		return decline(&s, 0, "not the layout of wasm2c 1.0.32");
	/* The prelude ends with the newline before the first item. */
	size_t module_start = (size_t)(marker - text);
	if (!prelude_known(text, module_start + 1))
		return decline(&s, 0, "a prelude other than wasm2c 1.0.32's");
	int rc = read_items(&s, module_start + 1);
	if (rc == 0)
		rc = index_items(&s);
	size_t parts = 0;
	if (rc == 0) {
		parts = assign_parts(&s, max_parts);
		if (parts < 2)
			rc = decline(&s, 0, "too few functions to split");
	}
	if (rc == 0) {
		mark_globals(&s, module_start + 1);
		rc = write_output(&s, module_start, parts, header_name, out);
		if (rc)
			split_output_free(out);
	}
	free(s.items);
	free(s.table);
	return rc;
}
