/*
 * fuzz_hypercall.c - libFuzzer harness for hypercall argument decoding.
 *
 * The input is a port, an argument address and the contents of a small guest
 * memory; whatever the guest wrote there, decoding must either refuse it or
 * yield host pointers that lie entirely inside guest memory.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hypercall.h"
#include "status.h"

#define FUZZ_MEM 8192u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 6)
		return 0;
	uint16_t port;
	uint32_t addr;
	memcpy(&port, data, 2);
	memcpy(&addr, data + 2, 4);
	/* Keep most inputs near the hypercall range so the fuzzer explores the decoders. */
	port = (uint16_t)(HEDGE_HC_PORT_BASE + (port % (HEDGE_HC_COUNT + 2)) - 1);
	if (addr & 0x80000000u)
		addr %= FUZZ_MEM + 64;

	uint8_t *guest = calloc(1, FUZZ_MEM);
	size_t n = size - 6 < FUZZ_MEM ? size - 6 : FUZZ_MEM;
	memcpy(guest, data + 6, n);
	struct guest_mem mem = {.base = guest, .size = FUZZ_MEM};
	struct hc_request req;
	char err[256];
	int rc = hc_decode(&mem, port, addr, &req, err, sizeof(err));
	if (rc == 0) {
		uint8_t *hdr = (uint8_t *)req.hdr;
		if (hdr < guest || hdr >= guest + FUZZ_MEM)
			abort();
		int has_buf = req.nr == HEDGE_HC_CONSOLE_WRITE || req.nr == HEDGE_HC_ABORT ||
		              req.nr == HEDGE_HC_RANDOM;
		if (has_buf && (req.u.buf.ptr < guest || req.u.buf.len > FUZZ_MEM ||
		                req.u.buf.ptr + req.u.buf.len > guest + FUZZ_MEM))
			abort();
	} else if (rc != ST_BAD_HYPERCALL && rc != ST_BAD_ABI) {
		abort();
	}
	free(guest);
	return 0;
}
