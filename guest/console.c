/*
 * console.c - stdio on the guest console.
 *
 * stdout and stderr share one line buffer, so their output keeps its order,
 * and a program printing many short lines pays one hypercall per line rather
 * than per call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hedge.h"
#include "runtime.h"

struct hedge_file {
	int fd;
};

static struct hedge_file stdout_file = {1}, stderr_file = {2};
FILE *stdout = &stdout_file;
FILE *stderr = &stderr_file;

static char line[4096];
static size_t line_len;

/* One hypercall per physically contiguous piece of buf: usually exactly one. */
int hedge_console_write_stream(unsigned stream, const char *buf, size_t len)
{
	while (len > 0) {
		uintptr_t pa;
		size_t span = mm_phys_span((uintptr_t)buf, len, &pa);
		if (span == 0)
			return HEDGE_EIO;
		struct hedge_hc_console_write args = {.data = pa, .len = span, .stream = stream};
		hypercall(HEDGE_HC_CONSOLE_WRITE, &args);
		if (args.hdr.ret < 0)
			return args.hdr.ret;
		buf += span;
		len -= span;
	}
	return 0;
}

void hedge_console_write(const char *buf, size_t len)
{
	hedge_console_write_stream(HEDGE_STREAM_STDOUT, buf, len);
}

/* Reads at most the first physically contiguous piece: a short read is allowed. */
long hedge_console_read(void *buf, size_t len)
{
	uintptr_t pa;
	size_t span = mm_phys_span((uintptr_t)buf, len, &pa);
	if (span == 0 && len > 0)
		return -1;
	struct hedge_hc_console_read args = {.buf = pa, .len = span};
	hypercall(HEDGE_HC_CONSOLE_READ, &args);
	return args.hdr.ret < 0 ? args.hdr.ret : (long)args.nread;
}

void console_flush(void)
{
	if (line_len) {
		hedge_console_write(line, line_len);
		line_len = 0;
	}
}

static void console_put(const char *s, size_t n)
{
	while (n > 0) {
		if (line_len == sizeof(line))
			console_flush();
		size_t room = sizeof(line) - line_len;
		size_t take = n < room ? n : room;
		const char *nl = memchr(s, '\n', take);
		if (nl)
			take = (size_t)(nl - s) + 1;
		memcpy(line + line_len, s, take);
		line_len += take;
		s += take;
		n -= take;
		if (nl)
			console_flush();
	}
}

static void emit(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	console_put(s, n);
}

int vprintf(const char *fmt, va_list ap)
{
	return vcbprintf(emit, NULL, fmt, ap);
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	(void)f;
	return vprintf(fmt, ap);
}

int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vfprintf(f, fmt, ap);
	va_end(ap);
	return n;
}

int fputs(const char *s, FILE *f)
{
	(void)f;
	console_put(s, strlen(s));
	return 0;
}

int puts(const char *s)
{
	console_put(s, strlen(s));
	console_put("\n", 1);
	return 0;
}

int fputc(int c, FILE *f)
{
	(void)f;
	char ch = (char)c;
	console_put(&ch, 1);
	return (unsigned char)c;
}

int putchar(int c)
{
	return fputc(c, stdout);
}

size_t fwrite(const void *buf, size_t size, size_t count, FILE *f)
{
	(void)f;
	console_put(buf, size * count);
	return count;
}

int fflush(FILE *f)
{
	(void)f;
	console_flush();
	return 0;
}
