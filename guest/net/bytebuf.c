/*
 * bytebuf.c - the byte ring that holds a TCP socket's received data.
 *
 * Received segments are copied in and their pbufs freed at once, so a
 * slow reader never holds frames of the shared receive pool and so stalls
 * every other connection.  The ring grows by doubling, up to the receive
 * window, and is freed whenever it runs empty: idle connections cost no
 * buffer at all.  Memory comes from the networking budget (sys_arch.c).
 */
#include <string.h>

#include "net_internal.h"
#include "sock.h"

#define BYTEBUF_MIN 4096u

int bytebuf_reserve(struct bytebuf *b, size_t extra, size_t max)
{
	if (extra > max || b->len > max - extra)
		return -1;
	size_t need = b->len + extra;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : BYTEBUF_MIN;
	while (cap < need)
		cap *= 2;
	uint8_t *data = net_mem_alloc(cap);
	if (!data)
		return -1;
	/* Linearise the old contents at the start of the new ring. */
	bytebuf_get(b, data, b->len, true);
	net_mem_free(b->data);
	b->data = data;
	b->cap = (uint32_t)cap;
	b->head = 0;
	return 0;
}

void bytebuf_put(struct bytebuf *b, const void *src, size_t n)
{
	uint32_t tail = (b->head + b->len) & (b->cap - 1);
	size_t first = b->cap - tail;
	if (first > n)
		first = n;
	memcpy(b->data + tail, src, first);
	memcpy(b->data, (const uint8_t *)src + first, n - first);
	b->len += (uint32_t)n;
}

size_t bytebuf_get(struct bytebuf *b, void *dst, size_t n, bool peek)
{
	if (n > b->len)
		n = b->len;
	if (n == 0)
		return 0;
	size_t first = b->cap - b->head;
	if (first > n)
		first = n;
	memcpy(dst, b->data + b->head, first);
	memcpy((uint8_t *)dst + first, b->data, n - first);
	if (!peek) {
		b->head = (uint32_t)((b->head + n) & (b->cap - 1));
		b->len -= (uint32_t)n;
		if (b->len == 0)
			bytebuf_reset(b);
	}
	return n;
}

void bytebuf_reset(struct bytebuf *b)
{
	net_mem_free(b->data);
	*b = (struct bytebuf){0};
}
