/*
 * control_client.h - the client side of a VM's control socket (control.c):
 * one JSON request line out, one answer line back.  Used by `hedge vm` and
 * by hedged.
 */
#ifndef HEDGE_CONTROL_CLIENT_H
#define HEDGE_CONTROL_CLIENT_H

#include <stddef.h>

/*
 * Connects to the unix socket at sock_path, sends request (one line ending
 * in '\n') and reads one answer line into answer (NUL-terminated, without
 * the '\n'), waiting at most timeout_ms in all.  0, or -1 with a one-line
 * reason in err: cannot connect or send, no answer in time, the connection
 * closed early, an answer longer than answer_len - 1.
 */
int control_exchange(const char *sock_path, const char *request, char *answer, size_t answer_len,
                     int timeout_ms, char *err, size_t errlen);

/*
 * The same for a request that asks for progress ({"op":"migrate",...,
 * "progress":true}): each {"progress":...} line before the answer is passed
 * to on_progress (NUL-terminated, without its '\n') as it arrives, and
 * timeout_ms becomes the longest wait without one.
 */
int control_exchange_progress(const char *sock_path, const char *request, char *answer,
                              size_t answer_len, int timeout_ms,
                              void (*on_progress)(void *ctx, const char *line), void *ctx,
                              char *err, size_t errlen);

#endif
