/*
 * stdio.h - formatted output for the hedge guest.
 *
 * The formatting engine (vcbprintf and the string variants) lives in the C
 * library, guest/lib/printf.c.  The FILE-based calls write to the console
 * and are defined by the guest runtime on top of vcbprintf.
 */
#ifndef HEDGE_STDIO_H
#define HEDGE_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#define EOF (-1)

typedef struct hedge_file FILE;

extern FILE *stdout, *stderr;

#define HEDGE_PRINTF_LIKE(fmt_index, first_arg) \
	__attribute__((format(printf, fmt_index, first_arg)))

/*
 * Formats to a callback instead of a buffer: emit receives the output in
 * pieces, in order, none of them NUL-terminated.  Returns the number of
 * bytes produced, or -1 (errno EOVERFLOW) if that exceeds INT_MAX.
 */
int vcbprintf(void (*emit)(void *ctx, const char *s, size_t n), void *ctx, const char *fmt,
              va_list ap) HEDGE_PRINTF_LIKE(3, 0);

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
    HEDGE_PRINTF_LIKE(3, 0);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    HEDGE_PRINTF_LIKE(3, 4);
int vsprintf(char *restrict buf, const char *restrict fmt, va_list ap) HEDGE_PRINTF_LIKE(2, 0);
int sprintf(char *restrict buf, const char *restrict fmt, ...) HEDGE_PRINTF_LIKE(2, 3);

/* Provided by the guest runtime. */
int printf(const char *restrict fmt, ...) HEDGE_PRINTF_LIKE(1, 2);
int vprintf(const char *restrict fmt, va_list ap) HEDGE_PRINTF_LIKE(1, 0);
int fprintf(FILE *restrict stream, const char *restrict fmt, ...) HEDGE_PRINTF_LIKE(2, 3);
int puts(const char *s);
int putchar(int c);
int fputs(const char *restrict s, FILE *restrict stream);
int fflush(FILE *stream);
int vfprintf(FILE *restrict stream, const char *restrict fmt, va_list ap) HEDGE_PRINTF_LIKE(2, 0);
int fputc(int c, FILE *stream);
#define putc(c, stream) fputc((c), (stream))
size_t fwrite(const void *restrict buf, size_t size, size_t count, FILE *restrict stream);

#endif /* HEDGE_STDIO_H */
