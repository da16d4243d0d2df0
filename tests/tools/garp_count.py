#!/usr/bin/env python3
"""garp_count.py IFACE MAC IP N SECONDS - counts the gratuitous ARPs (ARP
requests from MAC for IP, asking for IP itself) seen on IFACE.  Prints
"ready" once it listens, then "announcements K" when it has seen N or
SECONDS have passed; exits 0 only if it saw N."""
import socket
import sys
import time

iface, mac_text, ip_text, need, seconds = sys.argv[1:6]
mac = bytes.fromhex(mac_text.replace(":", ""))
ip = socket.inet_aton(ip_text)
sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0806))
sock.bind((iface, 0))
sock.settimeout(0.2)
print("ready", flush=True)
seen, deadline = 0, time.monotonic() + float(seconds)
while seen < int(need) and time.monotonic() < deadline:
    try:
        frame = sock.recv(128)
    except socket.timeout:
        continue
    if (len(frame) >= 42 and frame[6:12] == mac and frame[20:22] == b"\x00\x01"
            and frame[28:32] == ip and frame[38:42] == ip):
        seen += 1
print("announcements", seen, flush=True)
sys.exit(0 if seen >= int(need) else 1)
