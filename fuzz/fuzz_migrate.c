/*
 * fuzz_migrate.c - libFuzzer harness for the target side of live migration:
 * the input is the byte stream a source sends (HELLO, PAGES, DELTA, STATE, then
 * FRAMES and GO), fed through a socket to migrate_receive and
 * migrate_commit exactly as `hedge run --incoming` reads it.  Whatever the
 * stream, the target must refuse it with an exit status it documents and a
 * one-line reason, or accept it: pages only inside the memory it mapped,
 * frames only into the guest's receive ring and never more than it holds.
 *
 * Checksums would stop nearly every mutation at the first frame, so when
 * the input's length is odd the harness first recomputes the CRC of every
 * frame it can find, as a hostile source would.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crc32c.h"
#include "le.h"
#include "migrate.h"
#include "snapfile.h"
#include "snapshot.h"
#include "status.h"

#define FRAME_HEADER 16u

/* Walks the frames as the target would and rewrites each CRC. */
static void fix_crcs(uint8_t *buf, size_t size)
{
	size_t off = 0;
	while (size - off >= FRAME_HEADER) {
		uint64_t len = get64(buf + off + 8);
		if (len > size - off - FRAME_HEADER)
			return;
		memset(buf + off + 4, 0, 4);
		uint32_t crc = crc32c(0, buf + off, FRAME_HEADER + len);
		memcpy(buf + off + 4, &crc, 4);
		off += FRAME_HEADER + len;
		/* After the state the source writes "GO\n" outside any frame: skip it. */
		if (size - off >= 3 && memcmp(buf + off, "GO\n", 3) == 0)
			off += 3;
	}
}

static int one_line(const char *err)
{
	return err[0] && !strchr(err, '\n');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		abort();
	/* The whole stream waits in the socket; the source then hangs up. */
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (size & 1)
		fix_crcs(copy, size);
	if (size && write(sv[1], copy, size) != (ssize_t)size)
		abort();
	shutdown(sv[1], SHUT_WR);
	free(copy);

	struct vm vm;
	memset(&vm, 0, sizeof(vm));
	vm.vcpu_fd = vm.vm_fd = vm.kvm_fd = -1;
	struct snap_file snap = {.fd = -1};
	char err[600] = "";
	int rc = migrate_receive(sv[0], &vm, 0, 1, &snap, err, sizeof(err));
	if (rc) {
		if ((rc != ST_NO_MIGRATION && rc != ST_BAD_SNAPSHOT && rc != ST_SNAPSHOT_HOST &&
		     rc != ST_INTERNAL) ||
		    !one_line(err))
			abort();
	} else {
		if (snap.meta.mem_size != vm.mem.size || snap.meta.nextents)
			abort();
		snap_file_close(&snap);
		/* A guest's receive ring, with room for some frames only. */
		static struct hedge_net_ring ring;
		memset(&ring, 0, sizeof(ring));
		ring.head = ring.tail = 1000;
		ring.tail -= HEDGE_NET_SLOTS / 2;
		struct net_dev net = {.tap_fd = -1, .rx = &ring};
		unsigned frames = 0;
		err[0] = '\0';
		rc = migrate_commit(sv[0], &net, &frames, err, sizeof(err));
		if (rc == 0) {
			if (frames > HEDGE_NET_SLOTS / 2 || ring.head - 1000 != frames)
				abort();
		} else if ((rc != ST_NO_MIGRATION && rc != ST_BAD_SNAPSHOT && rc != ST_INTERNAL) ||
		           !one_line(err)) {
			abort();
		}
	}
	gmem_unmap(&vm.mem);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
