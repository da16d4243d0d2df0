/*
 * wasmedge_sock.h - the WasmEdge socket extension, declared for C programs
 * built with clang --target=wasm32-wasi.  The functions live in module
 * wasi_snapshot_preview1 next to WASI's own; hedge provides them, and so
 * does WasmEdge, so a program using them runs unchanged on both.
 *
 * Every call returns 0 or a WASI errno (__WASI_ERRNO_* in <wasi/api.h>).
 * Only what the examples need is declared here; hedge provides the rest of
 * the extension too (docs/net-wasm.md has the whole list).
 */
#ifndef WASMEDGE_SOCK_H
#define WASMEDGE_SOCK_H

#include <stdint.h>
#include <wasi/api.h>

#define WASMEDGE_IMPORT(name) \
	__attribute__((import_module("wasi_snapshot_preview1"), import_name(name)))

/* Address families and socket types, WasmEdge's numbering. */
#define WASMEDGE_AF_INET4    1
#define WASMEDGE_SOCK_DGRAM  1
#define WASMEDGE_SOCK_STREAM 2

/* Socket option levels and names. */
#define WASMEDGE_SOL_SOCKET   0
#define WASMEDGE_SO_REUSEADDR 0
#define WASMEDGE_SO_KEEPALIVE 7
/* hedge's addition (WasmEdge has no TCP level and says EINVAL): Linux's numbers. */
#define WASMEDGE_IPPROTO_TCP  6
#define WASMEDGE_TCP_NODELAY  1

/* An address: buf holds 4 bytes of IPv4 in network order (or 128 of address storage). */
struct wasmedge_address {
	uint8_t *buf;
	uint32_t buf_len;
};

uint32_t wasmedge_sock_open(uint32_t af, uint32_t type, uint32_t *fd) WASMEDGE_IMPORT("sock_open");
uint32_t wasmedge_sock_bind(uint32_t fd, struct wasmedge_address *addr, uint32_t port)
    WASMEDGE_IMPORT("sock_bind");
uint32_t wasmedge_sock_listen(uint32_t fd, uint32_t backlog) WASMEDGE_IMPORT("sock_listen");
/* preview1's type (fd, fdflags, *new_fd), which WasmEdge has taken since 0.12. */
uint32_t wasmedge_sock_accept(uint32_t fd, uint32_t fdflags, uint32_t *new_fd)
    WASMEDGE_IMPORT("sock_accept");
uint32_t wasmedge_sock_connect(uint32_t fd, struct wasmedge_address *addr, uint32_t port)
    WASMEDGE_IMPORT("sock_connect");
uint32_t wasmedge_sock_recv(uint32_t fd, const __wasi_iovec_t *iovs, uint32_t iovs_len,
                            uint32_t riflags, uint32_t *nread, uint16_t *roflags)
    WASMEDGE_IMPORT("sock_recv");
uint32_t wasmedge_sock_send(uint32_t fd, const __wasi_ciovec_t *iovs, uint32_t iovs_len,
                            uint32_t siflags, uint32_t *nwritten) WASMEDGE_IMPORT("sock_send");
uint32_t wasmedge_sock_shutdown(uint32_t fd, uint32_t how) WASMEDGE_IMPORT("sock_shutdown");
uint32_t wasmedge_sock_setsockopt(uint32_t fd, uint32_t level, uint32_t name, const void *value,
                                  uint32_t value_len) WASMEDGE_IMPORT("sock_setsockopt");
uint32_t wasmedge_sock_getlocaladdr(uint32_t fd, struct wasmedge_address *addr, uint32_t *addr_type,
                                    uint32_t *port) WASMEDGE_IMPORT("sock_getlocaladdr");

#endif /* WASMEDGE_SOCK_H */
