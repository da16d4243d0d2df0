#!/usr/bin/env python3
"""fuzz/lwip_rx_seeds.py - writes the seed corpus of fuzz/fuzz_lwip_rx.c.

Each seed is the harness's input format: a header byte (bits 0-2: how many
16-bit big-endian frame lengths follow, bit 3: batch, bits 4-6: 250 ms ticks
after each frame, bit 7: the harness fills in checksums; clear here, as these
frames carry correct ones), the lengths, then the Ethernet frames back to back.  The
guest is 10.0.0.2 (02:00:00:00:00:02) with a TCP echo server on port 80 and
a UDP echo socket on port 7; the peer here is 10.0.0.1 (02:00:00:00:00:01).

The TCP session seed completes the handshake, so it computes the guest's
initial sequence number as guest/net/sys_arch.c does (SipHash-2-4 of the
addresses and ports under the key the harness's hedge_random gives, plus a
clock term the harness keeps at 0 for the first frames of an input).

Usage: python3 fuzz/lwip_rx_seeds.py [DIR]   (default fuzz/corpus/lwip_rx)
"""
import os
import struct
import sys

GUEST_MAC = bytes([2, 0, 0, 0, 0, 2])
PEER_MAC = bytes([2, 0, 0, 0, 0, 1])
BROADCAST = b"\xff" * 6
GUEST_IP = bytes([10, 0, 0, 2])
PEER_IP = bytes([10, 0, 0, 1])
TCP_PORT, UDP_PORT, PEER_PORT = 80, 7, 40000
PEER_ISN = 0x1000


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ether(dst, ethertype, payload):
    return dst + PEER_MAC + struct.pack("!H", ethertype) + payload


def arp_request():
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + PEER_MAC + PEER_IP + b"\0" * 6 + GUEST_IP
    return ether(BROADCAST, 0x0806, body)


def ipv4(proto, payload, ident=1, frag=0, total=None):
    length = 20 + len(payload) if total is None else total
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, ident, frag, 64, proto, 0, PEER_IP, GUEST_IP)
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return ether(GUEST_MAC, 0x0800, hdr + payload)


def pseudo(proto, length):
    return PEER_IP + GUEST_IP + struct.pack("!BBH", 0, proto, length)


def icmp_echo():
    body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"hedge ping"
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    return ipv4(1, body)


def udp_segment(payload):
    length = 8 + len(payload)
    seg = struct.pack("!HHHH", PEER_PORT, UDP_PORT, length, 0) + payload
    return seg[:6] + struct.pack("!H", checksum(pseudo(17, length) + seg) or 0xFFFF) + seg[8:]


def tcp(flags, seq, ack, payload=b"", options=b"", window=65535):
    offset = (20 + len(options)) // 4
    seg = struct.pack("!HHIIBBHHH", PEER_PORT, TCP_PORT, seq, ack, offset << 4, flags, window, 0, 0)
    seg += options + payload
    seg = seg[:16] + struct.pack("!H", checksum(pseudo(6, len(seg)) + seg)) + seg[18:]
    return ipv4(6, seg)


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
MSS_OPT = struct.pack("!BBH", 2, 4, 1460)
# MSS, window scale 7, SACK permitted, a timestamp: lwIP parses all of them.
SYN_OPTS = MSS_OPT + b"\x01\x03\x03\x07" + b"\x04\x02" + b"\x08\x0a" + struct.pack("!II", 1, 0) + b"\x01\x01"

M64 = (1 << 64) - 1


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & M64


def siphash16(key, m0, m1):
    v0 = key[0] ^ 0x736F6D6570736575
    v1 = key[1] ^ 0x646F72616E646F6D
    v2 = key[0] ^ 0x6C7967656E657261
    v3 = key[1] ^ 0x7465646279746573

    def rnd():
        nonlocal v0, v1, v2, v3
        v0 = (v0 + v1) & M64
        v1 = rotl(v1, 13) ^ v0
        v0 = rotl(v0, 32)
        v2 = (v2 + v3) & M64
        v3 = rotl(v3, 16) ^ v2
        v0 = (v0 + v3) & M64
        v3 = rotl(v3, 21) ^ v0
        v2 = (v2 + v1) & M64
        v1 = rotl(v1, 17) ^ v2
        v2 = rotl(v2, 32)

    for word in (m0, m1, 16 << 56):
        v3 ^= word
        rnd()
        rnd()
        v0 ^= word
    v2 ^= 0xFF
    for _ in range(4):
        rnd()
    return v0 ^ v1 ^ v2 ^ v3


def guest_isn():
    """The guest's ISN for PEER:PEER_PORT -> GUEST:TCP_PORT at clock term 0."""
    seed = bytes(range(1, 49))  # the harness's hedge_random: byte i is i + 1
    key = struct.unpack("<QQ", seed[32:48])
    # Addresses as the guest holds them: network byte order in a little-endian u32.
    lip, rip = struct.unpack("<I", GUEST_IP)[0], struct.unpack("<I", PEER_IP)[0]
    return siphash16(key, (lip << 32) | rip, (TCP_PORT << 16) | PEER_PORT) & 0xFFFFFFFF


def tcp_session():
    ours = guest_isn() + 1
    data = b"GET / HTTP/1.0\r\n\r\n"
    seq = PEER_ISN + 1
    return [
        arp_request(),
        tcp(SYN, PEER_ISN, 0, options=MSS_OPT),
        tcp(ACK, seq, ours),
        tcp(PSH | ACK, seq, ours, data),
        tcp(FIN | ACK, seq + len(data), ours),
    ]


def tcp_half_space():
    """The handshake's ACK carries a FIN 2^31 away from the expected sequence
    number: lwIP 2.1.3 took it for an overlapping segment and failed an
    assertion (guest/net/syn_guard.c now drops it)."""
    ours = guest_isn() + 1
    return [
        arp_request(),
        tcp(SYN, PEER_ISN, 0, options=MSS_OPT),
        tcp(FIN | ACK, (PEER_ISN + 1 + (1 << 31)) & 0xFFFFFFFF, ours),
    ]


def tcp_small_window():
    """The client opens with a zero window, then offers 4 bytes while the
    guest's first reply is still queued: lwIP 2.1.3's tcp_write asserted that
    the queued segment fits half that window (guest/net/sock_tcp.c now waits)."""
    ours = guest_isn() + 1
    seq = PEER_ISN + 1
    return [
        arp_request(),
        tcp(SYN, PEER_ISN, 0, options=MSS_OPT, window=0),
        tcp(PSH | ACK, seq, ours, b"x" * 18, window=0),
        tcp(PSH | ACK, seq + 18, ours, b"yy", window=4),
    ]


def udp_fragments():
    """A 2,000-byte datagram in two fragments, the second first."""
    seg = udp_segment(bytes(range(256)) * 7 + bytes(208))
    first, rest = seg[:1480], seg[1480:]
    return [
        arp_request(),
        ipv4(17, rest, ident=7, frag=1480 // 8),
        ipv4(17, first, ident=7, frag=0x2000),
    ]


def seed(frames, ticks=0, batch=False):
    """The harness's input: header byte, lengths of all frames but the last, frames."""
    assert 1 <= len(frames) <= 8 and ticks < 8
    head = bytes([(len(frames) - 1) | (8 if batch else 0) | ticks << 4])
    lengths = b"".join(struct.pack("!H", len(f)) for f in frames[:-1])
    return head + lengths + b"".join(frames)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus", "lwip_rx")
    os.makedirs(out, exist_ok=True)
    seeds = {
        "arp_request": seed([arp_request()]),
        "icmp_echo": seed([arp_request(), icmp_echo()]),
        "tcp_syn": seed([tcp(SYN, PEER_ISN, 0, options=SYN_OPTS)], ticks=4),
        "udp_datagram": seed([arp_request(), ipv4(17, udp_segment(b"hedge udp"))]),
        "tcp_session": seed(tcp_session()),
        "tcp_half_space": seed(tcp_half_space()),
        "tcp_small_window": seed(tcp_small_window()),
        "udp_fragments": seed(udp_fragments(), batch=True),
    }
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
