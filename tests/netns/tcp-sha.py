#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bulk TCP with its SHA-256 checked, for the netns tests.

  tcp-sha.py recv ADDR PORT TIMEOUT   accept one connection, read to EOF, print "BYTES SHA256"
  tcp-sha.py send ADDR PORT TIMEOUT FILE [RATE]   connect, send FILE (at most RATE
                                            bytes a second), close; print "BYTES SHA256"

Every wait is bounded by TIMEOUT seconds (for the whole transfer); on timeout it
prints what arrived so far and exits 1.
"""
import hashlib
import socket
import sys
import time


def main():
    mode, addr, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    deadline = time.monotonic() + timeout
    h = hashlib.sha256()
    n = 0
    if mode == "recv":
        srv = socket.socket(family, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind((addr, port))
        srv.listen(1)
        print("listening", flush=True)
        srv.settimeout(timeout)
        conn, _ = srv.accept()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError
                conn.settimeout(left)
                b = conn.recv(1 << 16)
                if not b:
                    break
                h.update(b)
                n += len(b)
        except (TimeoutError, socket.timeout):
            print(n, h.hexdigest(), "timeout", flush=True)
            return 1
        print(n, h.hexdigest(), flush=True)
        return 0
    data = open(sys.argv[5], "rb").read()
    s = socket.create_connection((addr, port), timeout=timeout)
    s.settimeout(max(deadline - time.monotonic(), 0.1))
    try:
        rate = float(sys.argv[6]) if len(sys.argv) > 6 else 0
        if rate <= 0:
            s.sendall(data)
        else:
            # paced: a transfer that lasts long enough for the network to change under it
            start, off, step = time.monotonic(), 0, 16384
            while off < len(data):
                s.sendall(data[off:off + step])
                off += step
                ahead = start + off / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
        s.shutdown(socket.SHUT_WR)
        # wait for the receiver to close: everything was delivered
        while s.recv(4096):
            pass
    except (TimeoutError, socket.timeout):
        print("timeout sending", flush=True)
        return 1
    h.update(data)
    print(len(data), h.hexdigest(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
