#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Compares the relay frames that reached a hub with those that left it.

  pcap-relay.py CAPTURE HUB_IP PORT
  pcap-relay.py --across CAPTURE1 HUB1_IP CAPTURE2 HUB2_IP PORT

CAPTURE is a tcpdump file (Ethernet or Linux cooked) of the hub's link. Every
UDP payload to HUB_IP:PORT whose byte 4 is 7 (a relay frame) must leave from
HUB_IP:PORT again with exactly the same bytes, and nothing may leave that did
not come in. Prints "relay frames: N in, N out, identical" and exits 0, or
says what differs and exits 1.

With --across, a pair relayed through two hubs: CAPTURE1 is taken on HUB1's
link to one client, CAPTURE2 on HUB2's link to the other. Every relay frame
that came to HUB1 must leave HUB2 with the same bytes, and the other way
round (the frames crossed the hub link and a hub each unchanged); CAPTURE1
must have started first and stopped last, so only frames in flight the other
way when CAPTURE2 stopped may be missing.
"""
import collections
import socket
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic = struct.unpack("<I", head[:4])[0]
        endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            incl = struct.unpack(endian + "IIII", rec)[2]
            data = f.read(incl)
            if linktype == 1:  # Ethernet
                if struct.unpack(">H", data[12:14])[0] != 0x0800:
                    continue
                yield data[14:]
            elif linktype == 113:  # Linux cooked (SLL)
                if struct.unpack(">H", data[14:16])[0] != 0x0800:
                    continue
                yield data[16:]
            elif linktype == 276:  # Linux cooked v2 (SLL2)
                if struct.unpack(">H", data[0:2])[0] != 0x0800:
                    continue
                yield data[20:]


def frames(path, hub, port):
    """The relay frames to HUB:PORT and from HUB:PORT in a capture (Counters)."""
    came, left = collections.Counter(), collections.Counter()
    for ip in packets(path):
        if len(ip) < 28 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        src, dst = ip[12:16], ip[16:20]
        sport, dport = struct.unpack(">HH", ip[ihl:ihl + 4])
        payload = ip[ihl + 8:]
        if len(payload) < 5 or payload[4] != 7:
            continue
        if dst == hub and dport == port:
            came[payload] += 1
        elif src == hub and sport == port:
            left[payload] += 1
    return came, left


def across(path1, hub1, path2, hub2, port):
    came1, left1 = frames(path1, socket.inet_aton(hub1), port)
    came2, left2 = frames(path2, socket.inet_aton(hub2), port)
    if not came1 or not came2:
        print(f"relay frames: {sum(came1.values())} to {hub1}, {sum(came2.values())} to {hub2}")
        return 1
    # CAPTURE1 ran the whole time CAPTURE2 did: nothing may leave HUB2 that did not
    # come to HUB1, nor come to HUB2 and not leave HUB1. Frames outside CAPTURE2's
    # time (in flight when it started or stopped) may miss the other two ways.
    changed = (left2 - came1) + (came2 - left1)
    edges = (came1 - left2) + (left1 - came2)
    print(f"relay frames: {sum(came1.values())} in at {hub1}, {sum(left2.values())} out at "
          f"{hub2}; {sum(came2.values())} in at {hub2}, {sum(left1.values())} out at {hub1}; "
          + ("byte-identical" if not changed else f"{sum(changed.values())} changed or lost")
          + (f" ({sum(edges.values())} at the captures' edges)" if edges else ""))
    return 0 if not changed and sum(edges.values()) <= 4 else 1


def main():
    if sys.argv[1] == "--across":
        return across(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], int(sys.argv[6]))
    path, hub, port = sys.argv[1], socket.inet_aton(sys.argv[2]), int(sys.argv[3])
    came, left = frames(path, hub, port)
    n_in, n_out = sum(came.values()), sum(left.values())
    if n_in == 0:
        print("relay frames: none captured")
        return 1
    extra = left - came
    if extra:
        print(f"relay frames: {sum(extra.values())} left the hub that never came in")
        return 1
    missing = came - left
    print(f"relay frames: {n_in} in, {n_out} out, "
          f"{'identical' if not missing else str(sum(missing.values())) + ' not forwarded'}")
    # Frames in flight when the capture stopped may be missing; none may differ.
    return 0 if sum(missing.values()) <= 2 else 1


if __name__ == "__main__":
    sys.exit(main())
