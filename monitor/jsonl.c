/*
 * jsonl.c - the one-line JSON messages of the control socket: a flat object
 * whose values are strings, numbers, booleans or null.
 *
 * The control protocol needs no more than that, and a parser this small
 * can be strict: anything outside the grammar is refused with a reason,
 * never guessed at.  The monitor is linked statically, so a few hundred
 * lines here beat carrying a JSON library.
 */
#include "jsonl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parser {
	const char *p, *end;
	struct jsonl_obj *obj;
	char *err;
	size_t errlen;
};

static int fail(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(ps->err, ps->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end &&
	       (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' || *ps->p == '\n'))
		ps->p++;
}

static int emit(struct parser *ps, char c)
{
	struct jsonl_obj *o = ps->obj;
	if (o->used >= sizeof(o->text))
		return fail(ps, "message too long");
	o->text[o->used++] = c;
	return 0;
}

static int hex4(struct parser *ps, unsigned *out)
{
	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return fail(ps, "bad \\u escape");
	}
	*out = v;
	return 0;
}

static int emit_utf8(struct parser *ps, unsigned cp)
{
	if (cp < 0x80)
		return emit(ps, (char)cp);
	if (cp < 0x800)
		return emit(ps, (char)(0xc0 | (cp >> 6))) || emit(ps, (char)(0x80 | (cp & 0x3f)));
	if (cp < 0x10000)
		return emit(ps, (char)(0xe0 | (cp >> 12))) ||
		       emit(ps, (char)(0x80 | ((cp >> 6) & 0x3f))) ||
		       emit(ps, (char)(0x80 | (cp & 0x3f)));
	return emit(ps, (char)(0xf0 | (cp >> 18))) ||
	       emit(ps, (char)(0x80 | ((cp >> 12) & 0x3f))) ||
	       emit(ps, (char)(0x80 | ((cp >> 6) & 0x3f))) || emit(ps, (char)(0x80 | (cp & 0x3f)));
}

static int unicode_escape(struct parser *ps)
{
	unsigned cp, lo;
	if (hex4(ps, &cp))
		return -1;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return fail(ps, "unpaired surrogate in \\u escape");
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
			return fail(ps, "unpaired surrogate in \\u escape");
		ps->p += 2;
		if (hex4(ps, &lo))
			return -1;
		if (lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, "unpaired surrogate in \\u escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	if (cp == 0)
		return fail(ps, "strings may not contain NUL");
	return emit_utf8(ps, cp);
}

/* Parses a string at ps->p (at its opening quote) into the object's text. */
static int parse_string(struct parser *ps, const char **out)
{
	ps->p++;
	*out = ps->obj->text + ps->obj->used;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p++;
		if (c == '"')
			return emit(ps, '\0');
		if (c < 0x20)
			return fail(ps, "control character in a string");
		if (c != '\\') {
			if (emit(ps, (char)c))
				return -1;
			continue;
		}
		if (ps->p >= ps->end)
			break;
		char e = *ps->p++;
		static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
		const char *hit = e ? strchr(from, e) : NULL;
		if (hit) {
			if (emit(ps, to[hit - from]))
				return -1;
		} else if (e == 'u') {
			if (unicode_escape(ps))
				return -1;
		} else if (e > 0x20 && e < 0x7f) {
			return fail(ps, "bad escape \\%c", e);
		} else {
			return fail(ps, "bad escape \\ followed by byte 0x%02x", (unsigned char)e);
		}
	}
	return fail(ps, "unterminated string");
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Accepts exactly JSON's number grammar and keeps the text as written. */
static int parse_number(struct parser *ps, const char **out)
{
	const char *start = ps->p;
	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	if (ps->p >= ps->end || !is_digit(*ps->p))
		return fail(ps, "bad number");
	if (*ps->p == '0')
		ps->p++;
	else
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	if (ps->p < ps->end && *ps->p == '.') {
		ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return fail(ps, "bad number");
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
		ps->p++;
		if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
			ps->p++;
		if (ps->p >= ps->end || !is_digit(*ps->p))
			return fail(ps, "bad number");
		while (ps->p < ps->end && is_digit(*ps->p))
			ps->p++;
	}
	*out = ps->obj->text + ps->obj->used;
	for (const char *c = start; c < ps->p; c++)
		if (emit(ps, *c))
			return -1;
	return emit(ps, '\0');
}

static int literal(struct parser *ps, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
		return -1;
	ps->p += n;
	return 0;
}

static int parse_value(struct parser *ps, struct jsonl_field *f)
{
	if (ps->p >= ps->end)
		return fail(ps, "value missing");
	char c = *ps->p;
	if (c == '"') {
		f->type = JSONL_STRING;
		return parse_string(ps, &f->str);
	}
	if (c == '-' || is_digit(c)) {
		f->type = JSONL_NUMBER;
		return parse_number(ps, &f->str);
	}
	if (c == '{' || c == '[')
		return fail(ps, "nested objects and arrays are not supported");
	if (literal(ps, "true") == 0) {
		f->type = JSONL_BOOL;
		f->boolean = 1;
	} else if (literal(ps, "false") == 0) {
		f->type = JSONL_BOOL;
		f->boolean = 0;
	} else if (literal(ps, "null") == 0) {
		f->type = JSONL_NULL;
	} else {
		return fail(ps, "bad value");
	}
	return 0;
}

int jsonl_parse(const char *text, size_t len, struct jsonl_obj *obj, char *err, size_t errlen)
{
	struct parser ps = {.p = text, .end = text + len, .obj = obj, .err = err, .errlen = errlen};
	obj->n = 0;
	obj->used = 0;
	skip_ws(&ps);
	if (ps.p >= ps.end || *ps.p != '{')
		return fail(&ps, "not a JSON object");
	ps.p++;
	skip_ws(&ps);
	if (ps.p < ps.end && *ps.p == '}') {
		ps.p++;
	} else {
		for (;;) {
			skip_ws(&ps);
			if (ps.p >= ps.end || *ps.p != '"')
				return fail(&ps, "expected a quoted key");
			if (obj->n == JSONL_MAX_FIELDS)
				return fail(&ps, "too many fields");
			struct jsonl_field *f = &obj->f[obj->n];
			memset(f, 0, sizeof(*f));
			if (parse_string(&ps, &f->key))
				return -1;
			if (jsonl_get(obj, f->key)) {
				char quoted[48];
				jsonl_quote(quoted, sizeof(quoted), f->key);
				return fail(&ps, "duplicate key %s", quoted);
			}
			skip_ws(&ps);
			if (ps.p >= ps.end || *ps.p != ':')
				return fail(&ps, "expected ':' after a key");
			ps.p++;
			skip_ws(&ps);
			if (parse_value(&ps, f))
				return -1;
			obj->n++;
			skip_ws(&ps);
			if (ps.p < ps.end && *ps.p == ',') {
				ps.p++;
				continue;
			}
			if (ps.p < ps.end && *ps.p == '}') {
				ps.p++;
				break;
			}
			return fail(&ps, "expected ',' or '}'");
		}
	}
	skip_ws(&ps);
	if (ps.p != ps.end)
		return fail(&ps, "trailing characters after the object");
	return 0;
}

const struct jsonl_field *jsonl_get(const struct jsonl_obj *obj, const char *key)
{
	for (int i = 0; i < obj->n; i++)
		if (strcmp(obj->f[i].key, key) == 0)
			return &obj->f[i];
	return NULL;
}

int jsonl_get_u64(const struct jsonl_obj *obj, const char *key, uint64_t *value)
{
	const struct jsonl_field *f = jsonl_get(obj, key);
	if (!f || f->type != JSONL_NUMBER || f->str[0] == '-')
		return -1;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(f->str, &end, 10);
	if (errno || *end)
		return -1;
	*value = v;
	return 0;
}

size_t jsonl_quote(char *out, size_t outlen, const char *s)
{
	size_t n = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return 0;
	}
	out[n++] = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[8];
		size_t k;
		if (c == '"' || c == '\\')
			k = (size_t)snprintf(esc, sizeof(esc), "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			k = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", c);
		else
			k = (size_t)snprintf(esc, sizeof(esc), "%c", c);
		if (n + k + 2 > outlen)
			break;
		memcpy(out + n, esc, k);
		n += k;
	}
	out[n++] = '"';
	out[n] = '\0';
	return n;
}
