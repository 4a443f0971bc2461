#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A small UDP hole-punching tool that proves what tests/lib/nat.sh claims.

  punch.py server PORT                  rendezvous: listens on PORT and PORT+1
  punch.py client NAME SERVER PORT LAN  punches toward the other client

Each client sends HELLO from one socket to both server ports, with its LAN
address as a host candidate. The server notes where each HELLO came from (the
reflexive address per port: the same port twice means the NAT kept one mapping
for two destinations) and, once two clients are in, tells both at once:

  PEER <reflexive ip> <port> <host ip> <port> <mapping same|different>

Each client then probes both of the peer's candidates every 100 ms. The first
PUNCH or ACK from the peer wins: the client prints
"direct <ip>:<port> mapping=<same|different>" and exits 0, after answering for
one more second so the peer succeeds too. No answer within the time limit:
"no direct path", exit 1. The rendezvous never answering: exit 2.
Every wait is bounded.
"""
import select
import socket
import sys
import time


def server(port):
    socks = []
    for p in (port, port + 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("0.0.0.0", p))
        socks.append(s)
    seen = {}  # name -> {"ports": {server port: (ip, port)}, "host": (ip, port)}
    told = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select(socks, [], [], 0.5)
        for s in ready:
            data, addr = s.recvfrom(2048)
            words = data.decode(errors="replace").split()
            if len(words) != 4 or words[0] != "HELLO":
                continue
            name = words[1]
            entry = seen.setdefault(name, {"ports": {}, "host": None})
            entry["ports"][s.getsockname()[1]] = addr
            entry["host"] = (words[2], int(words[3]))
            entry["sock"] = s
            print(f"server: {name} seen as {addr[0]}:{addr[1]} on port {s.getsockname()[1]}",
                  flush=True)
        ready_names = [n for n, e in seen.items() if len(e["ports"]) == 2]
        if len(ready_names) >= 2:
            a, b = ready_names[:2]
            for me, peer in ((a, b), (b, a)):
                e = seen[peer]
                refl = e["ports"][port]
                mapping = "same" if e["ports"][port][1] == e["ports"][port + 1][1] else "different"
                msg = f"PEER {refl[0]} {refl[1]} {e['host'][0]} {e['host'][1]} {mapping}"
                socks[0].sendto(msg.encode(), seen[me]["ports"][port])
                told.add(me)
            # Keep answering repeated HELLOs (a lost PEER is asked for again).
            seen = {n: e for n, e in seen.items() if n in (a, b)}
    return 0


def client(name, host, port, lan, limit=6.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((lan, 0))
    local_port = s.getsockname()[1]
    hello = f"HELLO {name} {lan} {local_port}".encode()
    peer = None
    deadline = time.monotonic() + 10
    while peer is None and time.monotonic() < deadline:
        s.sendto(hello, (host, port))
        s.sendto(hello, (host, port + 1))
        r, _, _ = select.select([s], [], [], 0.2)
        if r:
            data, addr = s.recvfrom(2048)
            w = data.decode(errors="replace").split()
            if addr[0] == host and len(w) == 6 and w[0] == "PEER":
                peer = w
    if peer is None:
        print("no answer from the rendezvous", flush=True)
        return 2
    candidates = [(peer[1], int(peer[2])), (peer[3], int(peer[4]))]
    print(f"{name}: peer candidates {candidates}, peer mapping {peer[5]}", flush=True)
    won = None
    end = time.monotonic() + limit
    next_probe = 0.0
    seq = 0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_probe:
            for c in candidates:
                s.sendto(f"PUNCH {name} {seq}".encode(), c)
            seq += 1
            next_probe = now + 0.1
        r, _, _ = select.select([s], [], [], 0.05)
        if not r:
            continue
        data, addr = s.recvfrom(2048)
        w = data.decode(errors="replace").split()
        if len(w) >= 2 and w[0] == "PUNCH" and w[1] != name:
            s.sendto(f"ACK {name}".encode(), addr)
        if len(w) >= 2 and w[0] in ("PUNCH", "ACK") and w[1] != name and won is None:
            won = addr
            print(f"direct {addr[0]}:{addr[1]} mapping={peer[5]}", flush=True)
            end = min(end, time.monotonic() + 1.0)  # keep answering a little
    if won is None:
        print("no direct path", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "server":
        sys.exit(server(int(sys.argv[2])))
    if len(sys.argv) == 6 and sys.argv[1] == "client":
        sys.exit(client(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
    print(__doc__, file=sys.stderr)
    sys.exit(64)
