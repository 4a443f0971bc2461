#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Broadcast UDP through a tunnel device, for the netns tests.

  bcast.py recv FILE           wait (15 s at most) for one datagram on port 9999,
                               write its text to FILE
  bcast.py send DEV ADDR TEXT  send TEXT to ADDR:9999 (a broadcast address) out of DEV
"""
import socket
import sys

s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if sys.argv[1] == "recv":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", 9999))
    s.settimeout(15)
    data, src = s.recvfrom(100)
    with open(sys.argv[2], "w") as f:
        f.write(data.decode())
else:
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, sys.argv[2].encode())
    s.sendto(sys.argv[4].encode(), (sys.argv[3], 9999))
