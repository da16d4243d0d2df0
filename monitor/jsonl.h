/*
 * jsonl.h - the one-line JSON messages of the control socket: a flat object
 * whose values are strings, numbers, booleans or null.
 */
#ifndef HEDGE_JSONL_H
#define HEDGE_JSONL_H

#include <stddef.h>
#include <stdint.h>

#define JSONL_MAX_FIELDS 16
#define JSONL_MAX_TEXT   8192 /* unescaped strings of one message, all together */

enum jsonl_type { JSONL_STRING, JSONL_NUMBER, JSONL_BOOL, JSONL_NULL };

struct jsonl_field {
	const char *key;
	enum jsonl_type type;
	const char *str; /* JSONL_STRING: the unescaped text; JSONL_NUMBER: the number as written */
	int boolean;     /* JSONL_BOOL */
};

struct jsonl_obj {
	int n;
	struct jsonl_field f[JSONL_MAX_FIELDS];
	char text[JSONL_MAX_TEXT]; /* where keys and strings live */
	size_t used;
};

/*
 * Parses text[0..len) as one JSON object (surrounding whitespace allowed).
 * Nested objects and arrays, duplicate keys and strings holding NUL are
 * refused.  Returns 0, or -1 with a one-line reason in err.
 */
int jsonl_parse(const char *text, size_t len, struct jsonl_obj *obj, char *err, size_t errlen);

/* The field named key, or NULL. */
const struct jsonl_field *jsonl_get(const struct jsonl_obj *obj, const char *key);

/* A number field as an unsigned integer; -1 if absent, not a number or not an integer. */
int jsonl_get_u64(const struct jsonl_obj *obj, const char *key, uint64_t *value);

/*
 * Writes s as a JSON string literal (quotes included) into out, truncating
 * s rather than overflowing.  Returns the length written.
 */
size_t jsonl_quote(char *out, size_t outlen, const char *s);

#endif
