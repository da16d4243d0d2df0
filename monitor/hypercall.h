/*
 * hypercall.h - decoding and execution of guest hypercalls.
 *
 * Decoding is separate from execution so that the part which reads untrusted
 * guest memory can be fuzzed without a VM.
 */
#ifndef HEDGE_HYPERCALL_H
#define HEDGE_HYPERCALL_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "hedge_abi.h"

struct vm;

/* A hypercall whose every guest pointer has been checked and translated. */
struct hc_request {
	enum hedge_hypercall nr;
	struct hedge_hc_header *hdr; /* host view of the argument struct */
	uint32_t stream;             /* console_write: HEDGE_STREAM_* */
	union {
		struct {
			uint8_t *ptr; /* host view of a guest buffer */
			uint64_t len;
		} buf;
		int32_t status;
		struct {
			uint64_t timeout_ns;
			uint64_t interest;
		} poll;
		struct {
			struct hedge_net_ring *tx, *rx;
		} net;
	} u;
};

/*
 * Checks a hypercall: port is the I/O port written, value the guest-physical
 * address of the argument struct.  Returns 0, or the exit status that ends the
 * VM (ST_BAD_HYPERCALL, ST_BAD_ABI) with a one-line reason in err.
 */
int hc_decode(const struct guest_mem *mem, uint16_t port, uint32_t value, struct hc_request *req,
              char *err, size_t errlen);

/* Carries out a decoded hypercall; may stop the VM (exit, abort). */
void hc_execute(struct vm *vm, const struct hc_request *req);

#endif
