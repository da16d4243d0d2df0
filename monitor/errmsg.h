/*
 * errmsg.h - the one-line error reasons hedge's parsers and loaders return.
 */
#ifndef HEDGE_ERRMSG_H
#define HEDGE_ERRMSG_H

#include <stddef.h>

/* Formats a one-line reason into err and returns -1, so `return set_err(...)` reads well. */
int set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
