/*
 * syn_guard.c - keeps a flood of half-open connections from locking a
 * listener out.
 *
 * lwIP counts connections in SYN_RCVD against the listen backlog and keeps
 * each for up to 20 s.  SYNs from addresses that never answer (spoofed, or
 * a scanner) therefore fill the backlog and every real client is refused
 * until they time out.  Linux answers this with SYN cookies; we do what
 * its request queue did before them: when a SYN finds the backlog full,
 * the oldest half-open connection that has waited at least a second gives
 * its place up.  A burst of real clients is never evicted (their
 * handshakes finish in well under a second); they wait for a retransmitted
 * SYN as they would anywhere.
 *
 * Runs as lwIP's LWIP_HOOK_TCP_INPACKET_PCB, before tcp_listen_input, when
 * tcp_input no longer walks the active list, so freeing a PCB there is safe.
 * The same hook, run before every segment of a connection, also drops the
 * segments that would trip an assertion in lwIP (see below).
 */
#include "lwip/priv/tcp_priv.h"
#include "lwip/prot/tcp.h"
#include "lwip/tcp.h"

/* In slow-timer ticks (500 ms): a half-open connection younger than this stays. */
#define MIN_AGE_TICKS 2

int hedge_tcp_inpacket(void *pcb_arg, const void *hdr_arg)
{
	struct tcp_pcb *pcb = pcb_arg;
	const struct tcp_hdr *hdr = hdr_arg;
	/*
	 * lwIP 2.1.3's tcp_receive mistakes a segment whose sequence number is
	 * exactly 2^31 away from rcv_nxt, with one byte of data or a FIN, for one
	 * that overlaps rcv_nxt (TCP_SEQ_BETWEEN wraps) and fails its "insane
	 * offset" assertion, which would end the VM: any client could send it.
	 * Such a segment is never in the window (found by fuzz/fuzz_lwip_rx.c).
	 * Below SYN_RCVD rcv_nxt means nothing (and a listener has none).
	 * tcp_input has already put the header's numbers in host byte order.
	 */
	if (pcb->state >= SYN_RCVD && hdr->seqno - pcb->rcv_nxt == 0x80000000u)
		return ERR_ABRT;
	if (pcb->state != LISTEN || (TCPH_FLAGS(hdr) & (TCP_SYN | TCP_ACK)) != TCP_SYN)
		return ERR_OK;
	struct tcp_pcb_listen *lpcb = (struct tcp_pcb_listen *)pcb_arg;
	if (lpcb->accepts_pending < lpcb->backlog)
		return ERR_OK;
	struct tcp_pcb *oldest = NULL;
	u32_t oldest_age = MIN_AGE_TICKS - 1;
	for (struct tcp_pcb *p = tcp_active_pcbs; p; p = p->next) {
		u32_t age = tcp_ticks - p->tmr;
		if (p->state == SYN_RCVD && p->listener == lpcb && age > oldest_age) {
			oldest = p;
			oldest_age = age;
		}
	}
	/* No reset: the peer of a stale half-open connection is most likely not there. */
	if (oldest)
		tcp_abandon(oldest, 0);
	return ERR_OK;
}
