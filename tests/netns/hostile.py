#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Hostile traffic for test-hostile.sh, aimed at a hub on HOST:PORT.

  hostile.py tcp-random HOST PORT N       N connections of random bytes
  hostile.py tls-truncated HOST PORT N    N truncated or malformed TLS records
  hostile.py udp HOST PORT N [HEXPKT]     N bad datagrams; with a captured
                                          genuine datagram also forgeries
                                          under its session and replays of it
  hostile.py loris HOST PORT N SECS       N connections sending one byte a
                                          second for SECS seconds
  hostile.py hold HOST PORT N SECS SRC,.. N silent connections spread over the
                                          source addresses, each reopened as
                                          soon as it is closed (at most 500
                                          opens a second), for SECS seconds

Everything is seeded (HOSTILE_SEED) and bounded in time; each mode prints one
summary line "key=value ...". Run only against namespaces a test created.
"""
import os
import random
import select
import socket
import ssl
import struct
import sys
import time

rng = random.Random(int(os.environ.get("HOSTILE_SEED", "1")))
MAGIC = bytes.fromhex("74726c01")


def connect(host, port, timeout=5.0):
    return socket.create_connection((host, port), timeout=timeout)


def drain_close(s, wait):
    """Waits up to @wait s for the hub to answer or close, then closes."""
    got = 0
    end = time.monotonic() + wait
    try:
        while time.monotonic() < end:
            r, _, _ = select.select([s], [], [], max(0.0, end - time.monotonic()))
            if not r:
                break
            b = s.recv(65536)
            if not b:
                break
            got += len(b)
    except OSError:
        pass
    s.close()
    return got


def tcp_random(host, port, n):
    refused = 0
    for i in range(n):
        try:
            s = connect(host, port)
            s.sendall(rng.randbytes(rng.randint(1, 4096)))
            drain_close(s, 0.05)
        except OSError:
            refused += 1
    print(f"connections={n} refused={refused}")


def client_hello():
    """A real TLS 1.3 ClientHello, as the first flight of a stock client."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="hub")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


def tls_truncated(host, port, n):
    hello = client_hello()
    for i in range(n):
        kind = i % 5
        if kind == 0:  # a ClientHello cut anywhere
            data = hello[: rng.randint(1, len(hello) - 1)]
        elif kind == 1:  # a record header announcing more than follows
            data = bytes([0x16, 3, 1]) + struct.pack(">H", 0x4000) + rng.randbytes(rng.randint(0, 200))
        elif kind == 2:  # a record longer than TLS allows
            data = bytes([0x16, 3, 3]) + struct.pack(">H", 0xFFFF) + rng.randbytes(1000)
        elif kind == 3:  # a ClientHello with its body scrambled
            body = bytearray(hello)
            for _ in range(8):
                body[rng.randrange(5, len(body))] ^= 1 << rng.randrange(8)
            data = bytes(body)
        else:  # alerts and application data before any handshake
            data = bytes([0x15, 3, 3, 0, 2, 2, 40]) + bytes([0x17, 3, 3, 0, 32]) + rng.randbytes(32)
        try:
            s = connect(host, port)
            s.sendall(data)
            drain_close(s, 0.05)
        except OSError:
            pass
    print(f"connections={n} clienthello_len={len(hello)}")


def udp(host, port, n, genuine=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    counts = {"random": 0, "short": 0, "magic": 0, "forged": 0, "replayed": 0}
    for i in range(n):
        kind = i % 5 if genuine else i % 3
        if kind == 0:
            pkt = rng.randbytes(rng.randint(0, 1500))
            counts["random"] += 1
        elif kind == 1:  # shorter than a header, with and without the magic
            pkt = (MAGIC if i % 2 else b"") + rng.randbytes(rng.randint(0, 15))
            counts["short"] += 1
        elif kind == 2:  # our magic and a plausible header, unknown session
            pkt = MAGIC + bytes([1, 0, 0, 0]) + rng.randbytes(12) + rng.randbytes(rng.randint(0, 1400))
            counts["magic"] += 1
        elif kind == 3:  # the live session's header, fresh counters, bad tag
            counter = struct.unpack(">Q", genuine[12:20])[0] + rng.randint(1, 1 << 20)
            pkt = genuine[:12] + struct.pack(">Q", counter) + rng.randbytes(len(genuine) - 20)
            counts["forged"] += 1
        else:  # the genuine datagram again, from another address
            pkt = genuine
            counts["replayed"] += 1
        s.sendto(pkt, (host, port))
        if i % 200 == 199:
            time.sleep(0.01)  # a flood, but not one that only tests socket buffers
    print(" ".join(f"{k}={v}" for k, v in counts.items()))


def loris(host, port, n, secs):
    hello = client_hello()
    conns = []
    refused = 0
    for i in range(n):
        try:
            conns.append(connect(host, port, timeout=2))
        except OSError:
            refused += 1
    closed_at = {}
    start = time.monotonic()
    for tick in range(secs):
        for idx, s in enumerate(conns):
            if idx in closed_at:
                continue
            try:
                s.send(hello[tick % len(hello): tick % len(hello) + 1])
            except OSError:
                closed_at[idx] = time.monotonic() - start
        # Notice closes (EOF or reset) without blocking.
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            live = [s for i, s in enumerate(conns) if i not in closed_at]
            if not live:
                break
            r, _, _ = select.select(live, [], [], max(0.0, deadline - time.monotonic()))
            for s in r:
                idx = conns.index(s)
                try:
                    if s.recv(65536) == b"":
                        closed_at[idx] = time.monotonic() - start
                except OSError:
                    closed_at[idx] = time.monotonic() - start
    open_at_end = len(conns) - len(closed_at)
    for s in conns:
        s.close()
    quick = sum(1 for t in closed_at.values() if t < 1.5)
    late = sorted(t for t in closed_at.values() if t >= 1.5)
    print(f"connections={n} refused={refused} closed_at_once={quick} "
          f"closed_later={len(late)} open_at_end={open_at_end} "
          f"latest_close={round(max(late), 1) if late else 0}")


def hold(host, port, n, secs, sources):
    """Slow-loris as issue 16 found it: connections that never start TLS."""
    conns = {}  # socket -> source
    opened = refused = 0
    held = []
    end = time.monotonic() + secs
    budget_start, budget = time.monotonic(), 0
    while time.monotonic() < end:
        want = n - len(conns)
        for i in range(want):
            now = time.monotonic()
            if budget >= 500 * (now - budget_start) + 50:
                break
            src = sources[(opened + refused) % len(sources)]
            budget += 1
            try:
                s = socket.create_connection((host, port), timeout=1, source_address=(src, 0))
                s.setblocking(False)
                conns[s] = src
                opened += 1
            except OSError:
                refused += 1
        held.append(len(conns))
        r, _, _ = select.select(list(conns), [], [], 0.05) if conns else ([], [], time.sleep(0.05))
        for s in r:
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:
                del conns[s]
                s.close()
    for s in conns:
        s.close()
    print(f"connections={n} sources={len(sources)} opened={opened} refused={refused} "
          f"held_avg={round(sum(held) / max(1, len(held)))}")


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "tcp-random":
        tcp_random(host, port, int(sys.argv[4]))
    elif mode == "tls-truncated":
        tls_truncated(host, port, int(sys.argv[4]))
    elif mode == "udp":
        genuine = bytes.fromhex(sys.argv[5]) if len(sys.argv) > 5 else None
        udp(host, port, int(sys.argv[4]), genuine)
    elif mode == "loris":
        loris(host, port, int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "hold":
        hold(host, port, int(sys.argv[4]), int(sys.argv[5]), sys.argv[6].split(","))
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
