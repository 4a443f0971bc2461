#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A TCP transfer through the tunnel while the underlay UDP path drops,
# reorders, duplicates and corrupts datagrams (trellis-faultrelay in a router
# namespace); the TLS control connection is DNATed through the same router,
# untouched, so neither daemon knows the relay is there.
#
#        198.18.1.0/24                          198.18.2.0/24
#   [cl] ------------- [router] ------------------------------ [hub]
#   connects to        UDP 198.18.1.1:3210: trellis-faultrelay  listens on 3210
#   198.18.1.1:3210      -> 198.18.2.2:3210 (one socket per client)
#   trellis0           TCP 198.18.1.1:3210: nft DNAT            trellis0 198.19.0.1
#   198.19.0.x           -> 198.18.2.2:3210
#
# It proves: the transfer completes and its SHA-256 matches; it went over the
# faulty UDP path (relay counters, no fallback to TLS); no corrupted datagram
# reached a tun device (the namespaces' kernels count no IP or TCP checksum
# error, which any delivered bit flip would cause -- shown to work by a
# control run with the unauthenticated plaintext cipher); the session
# survived (one connection, no reconnect).
#
# TR_FAULTS_MB overrides the transfer size (default: see TESTING.md).
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"

S=$T/state
. "$TR_SOURCE_ROOT/tests/lib/faults.sh"

pki_network "$S" cl || fail "pki"

netns_new hub hub || fail "netns"
netns_new rt router || fail "netns"
netns_new cl client || fail "netns"
netns_link "$cl" 198.18.1.2/24 "$rt" 198.18.1.1/24 || fail "link client-router"
netns_link "$rt" 198.18.2.1/24 "$hub" 198.18.2.2/24 || fail "link router-hub"
ip -n "$hub" route add 198.18.1.0/24 via 198.18.2.1 || fail "hub route"
netns_exec "$rt" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding"
netns_exec "$rt" nft -f - <<'NFT' || fail "nft"
table ip trellis_faults {
	chain pre { type nat hook prerouting priority dstnat; ip daddr 198.18.1.1 tcp dport 3210 dnat to 198.18.2.2; }
}
NFT

start_relay() { # start_relay FAULTS STATS LOG
	netns_spawn "$rt" "$B/tests/trellis-faultrelay" --listen 198.18.1.1:3210 --upstream 198.18.2.2:3210 \
		--faults "$1" --seed "$SEED" --stats "$2" >"$3" 2>&1
	relay_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$3" "relaying" || fail "relay did not start"
}
start_relay "$FAULTS" "$T/relay.stats" "$T/relay.log"
netns_spawn "$hub" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
	--key "$S/issued/hub.key" --state-dir "$S" --keepalive 2 --peer-timeout 20 \
	--crypto aes256-gcm,plaintext --stats-file "$T/hub-stats.json" --stats-interval 1 \
	--control-socket none >"$T/hub.log" 2>&1
netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
client() { # client LOG [extra args]
	local log=$1
	shift
	netns_spawn "$cl" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/cl.crt" --key "$S/issued/cl.key" --retry-max 2 -c 198.18.1.1 \
		--stats-file "$T/client-stats.json" --stats-interval 1 --control-socket none "$@" \
		>"$T/$log" 2>&1
	client_pid=$NETNS_LAST_PID
	netns_wait_log 20 "$T/$log" "connected to" || fail "client did not connect ($log)"
	netns_wait_log 20 "$T/$log" "data now over UDP" || fail "client never moved to UDP ($log)"
	netns_wait_for 20 netns_exec "$cl" ping -c 1 -W 1 198.19.0.1 || fail "no ping through the tunnel ($log)"
}
client client.log
grep -q "cipher aes256-gcm" "$T/hub.log" || fail "session not on aes256-gcm"
ok "client connected through the router; data over UDP via the relay"

# Checksum errors the kernel saw (tests/lib/netns.sh): the relay re-sends every
# datagram with a valid UDP checksum, so only a corrupted inner packet written
# to a tun device counts.

cat >"$T/recv.py" <<'PY'
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())
PY
# Random bytes from a seeded generator, hashed as they are sent.
cat >"$T/send.py" <<'PY'
import hashlib, random, socket, sys, time
host, size, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(100):
    try:
        c = socket.create_connection((host, 5001), timeout=30); break
    except OSError: time.sleep(0.1)
else:
    sys.exit("cannot connect")
r = random.Random(seed); h = hashlib.sha256(); left = size
while left:
    b = r.randbytes(min(left, 1 << 20)); h.update(b); c.sendall(b); left -= len(b)
c.close()
print(size, h.hexdigest())
PY
transfer() { # transfer BYTES TIMEOUT -> $secs
	local bytes=$1 limit=$2 t0 t1
	netns_exec "$hub" timeout "$limit" python3 "$T/recv.py" 198.19.0.1 >"$T/recv.out" &
	local recv_pid=$!
	t0=$(date +%s.%N)
	netns_exec "$cl" timeout "$limit" python3 "$T/send.py" 198.19.0.1 "$bytes" "$SEED" >"$T/send.out" ||
		fail "send failed or timed out after $limit s"
	wait $recv_pid || fail "receive failed or timed out"
	t1=$(date +%s.%N)
	[ "$(cat "$T/recv.out")" = "$(cat "$T/send.out")" ] ||
		fail "transfer corrupted: sent $(cat "$T/send.out"), received $(cat "$T/recv.out")"
	secs=$(python3 -c "print(round($t1 - $t0, 1))")
}

# ---- The transfer under faults ----------------------------------------------------
errs0=$(( $(netns_csum_errors "$hub") + $(netns_csum_errors "$cl") ))
bytes=$((MB * 1000000))
transfer "$bytes" 170
ok "$MB MB TCP transfer client -> hub under faults intact ($(cut -d' ' -f2 "$T/recv.out")), ${secs} s, $(python3 -c "print(round($MB * 8 / $secs, 1))") Mbit/s"

faults_counters "$relay_pid" "$T/relay.stats"
up=$(faults_stat up.seen "$T/relay.stats")
[ "$up" -gt $((bytes / 1500)) ] || fail "only $up datagrams went through the relay: the data took another path"
every=$(faults_every "$T/relay.stats") || fail "$every"
corrupted=$(( $(faults_stat up.corrupted "$T/relay.stats") + $(faults_stat down.corrupted "$T/relay.stats") ))
ok "the data crossed the relay: $up datagrams up, $corrupted corrupted in all, every fault seen both ways"

errs1=$(( $(netns_csum_errors "$hub") + $(netns_csum_errors "$cl") ))
[ "$errs1" -eq "$errs0" ] ||
	fail "$((errs1 - errs0)) inner packets with bad checksums reached the kernels: corrupted datagrams were delivered"
ok "none of the $corrupted corrupted datagrams was delivered (no IP/TCP checksum error in either namespace)"

# Every corrupted datagram was dropped and counted: most as authentication
# failures, the rest (a flipped magic or header) before any crypto.
sleep 2
read -r auth total < <(python3 - "$T/hub-stats.json" "$T/client-stats.json" <<'PY'
import json, sys
hub = json.load(open(sys.argv[1])); cl = json.load(open(sys.argv[2]))
sessions = hub["peers"] + [cl]
auth = sum(s["rx_drops"]["auth"] for s in sessions)
total = sum(sum(s["rx_drops"].values()) for s in sessions) + hub["rx_drops"] + cl["drops"]
print(auth, total)
PY
)
[ "${auth:-0}" -gt 0 ] && [ "${total:-0}" -ge "$corrupted" ] ||
	fail "drop counters: $auth authentication failures, $total drops in all, $corrupted corrupted"
ok "the daemons counted $auth authentication failures ($total drops in all, including replays) for $corrupted corrupted datagrams"

[ "$(grep -c "connected to" "$T/client.log")" -eq 1 ] || fail "the client connected more than once"
grep -q "reconnecting\|connection to .* lost" "$T/client.log" && fail "the client lost its session"
grep -q "TLS (TCP fallback)" "$T/client.log" && fail "the client fell back to TLS: data left the faulty path"
grep -q "disconnected\|dropping the session" "$T/hub.log" && fail "the hub dropped the session"
ok "the session survived: one connection, no reconnect, data stayed on UDP"

# ---- Plaintext mode under the same corruption ----------------------------------
# Plaintext carries the payload in the clear but still authenticates every
# packet (GMAC), so corrupted datagrams, headers included, are dropped and
# counted like any other, and the session goes on.
netns_kill "$client_pid"
netns_kill "$relay_pid"
start_relay corrupt=2 "$T/relay-plain.stats" "$T/relay-plain.log"
client plain.log --crypto plaintext
grep -q "cipher plaintext" "$T/hub.log" || fail "session not on plaintext"
errs0=$(( $(netns_csum_errors "$hub") + $(netns_csum_errors "$cl") ))
transfer 20000000 60
errs1=$(( $(netns_csum_errors "$hub") + $(netns_csum_errors "$cl") ))
[ "$errs1" -eq "$errs0" ] || fail "plaintext: $((errs1 - errs0)) corrupted packets reached the kernels"
grep -q "reconnecting" "$T/plain.log" && fail "plaintext: the session was lost"
ok "plaintext mode with 2 % corruption: 20 MB intact in ${secs} s, nothing corrupted delivered, session kept"

# ---- Control: the checksum counters do see corruption ------------------------------
# Without this, a silent counter would make the checks above pass. A TCP
# segment with a wrong checksum, written straight into a tun device, must show
# up in the namespace's counters.
errs0=$(netns_csum_errors "$cl")
netns_exec "$cl" python3 - <<'PY' || fail "control: cannot inject"
import fcntl, os, socket, struct, subprocess
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack("16sH", b"trctl0", 0x0001 | 0x1000))  # TUNSETIFF, IFF_TUN|IFF_NO_PI
subprocess.run(["ip", "addr", "add", "198.19.99.1/24", "dev", "trctl0"], check=True)
subprocess.run(["ip", "link", "set", "trctl0", "up"], check=True)
src, dst = socket.inet_aton("198.19.99.2"), socket.inet_aton("198.19.99.1")
tcp = struct.pack("!HHIIBBHHH", 40000, 9, 1, 0, 5 << 4, 0x02, 65535, 0xdead, 0)
ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
for _ in range(3):
    os.write(fd, ip + tcp)
PY
sleep 0.5
errs1=$(netns_csum_errors "$cl")
[ "$errs1" -gt "$errs0" ] || fail "control: a bad TCP checksum written to a tun device was not counted"
ok "control: the checksum counters see corrupted packets ($((errs1 - errs0)) counted from 3 injected)"
tap_plan
