#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A TCP transfer between two clients over their pair session's direct path
# while that path drops, reorders, duplicates and corrupts datagrams
# (issue 17, item 9; the same fault relay and faults as `faults` for a hub
# session). Real daemons, certificates, no NAT.
#
#        [hub] 198.18.10.2
#          |
#   [a] -- [internet] -- [b]        a 198.18.1.2, b 198.18.2.2
#
# In the internet namespace: a's UDP to b's port is DNATed to
# trellis-faultrelay (198.18.1.1:4000), which sends it on to b from a socket
# of its own (198.18.2.1:PORT) and b's answers back; any other UDP between
# a and b is dropped. So the only direct path is through the relay: a sees
# b at b's own address, b sees a at the relay's.
#
# It proves: the pair goes direct through the relay; TCP_MB (default 200) MB
# from a to b arrive intact (SHA-256); they went over the relay (its
# counters; every fault seen both ways), not through the hub (the pair never
# fell back); no corrupted datagram reached a tun device (no IP/TCP checksum
# error in either client's namespace).
#
# TR_FAULTS_MB, TR_FAULTS_SPEC and TR_FAULTS_SEED as for `faults`.
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
S=$T/pki
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/faults.sh"

mesh_pki a b || fail "pki"
mesh_lab public || fail "lab"

mesh_hub "$hub" hub.log
mesh_client "$a" a a.log
pa=$client_pid
mesh_client "$b" b b.log
pb=$client_pid
# b's UDP port: its session's endpoint in the hub's status (where peers probe it).
port=$(mesh_status hub | python3 -c '
import json, sys
def walk(x):
    if isinstance(x, dict):
        e = x.get("endpoint")
        if isinstance(e, str) and e.startswith("198.18.2.2:"):
            print(e.split(":")[1]); sys.exit(0)
        for v in x.values(): walk(v)
    elif isinstance(x, list):
        for v in x: walk(v)
walk(json.load(sys.stdin))')
[ -n "$port" ] || fail "b's UDP endpoint is not in the hub's status"

netns_spawn "$NAT_INET" "$B/tests/trellis-faultrelay" --listen 198.18.1.1:4000 --upstream "198.18.2.2:$port" \
	--faults "$FAULTS" --seed "$SEED" --stats "$T/relay.stats" >"$T/relay.log" 2>&1
relay_pid=$NETNS_LAST_PID
netns_wait_for 10 grep -q "relaying" "$T/relay.log" || fail "relay did not start"
ip netns exec "$NAT_INET" nft -f - <<NFT || fail "nft"
table ip mesh_faults {
	chain pre {
		type nat hook prerouting priority dstnat; policy accept;
		ip saddr 198.18.1.2 ip daddr 198.18.2.2 udp dport $port dnat to 198.18.1.1:4000
	}
	chain between {
		type filter hook forward priority filter; policy accept;
		ip saddr 198.18.1.2 ip daddr 198.18.2.2 meta l4proto udp drop
		ip saddr 198.18.2.2 ip daddr 198.18.1.2 meta l4proto udp drop
	}
}
NFT

ab=$(hubs_tun_addr "$b")
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b"
netns_wait_for 15 grep -q "pair with b: direct to 198.18.2.2:$port" "$T/a.log" || fail "a: no direct path to b"
netns_wait_for 15 grep -q "pair with a: direct to 198.18.2.1:" "$T/b.log" || fail "b: no direct path to a through the relay"
ok "the pair went direct through the fault relay ($(grep -o 'pair with a: direct to [^ ]*' "$T/b.log" | head -n 1))"

errs0=$(($(netns_csum_errors "$a") + $(netns_csum_errors "$b")))
transfer_recv "$b" "$ab" 170
transfer_send "$a" "$ab" 170 $((MB * 1000000))
t0=$(date +%s.%N)
transfer_check 175
t1=$(date +%s.%N)
rm -f "$T/blob"
secs=$(python3 -c "print(round($t1 - $t0, 1))")
ok "$MB MB TCP a -> b over the pair under faults intact ($(cut -d' ' -f2 "$T/send.out")), $secs s, $(python3 -c "print(round($MB * 8 / $secs, 1))") Mbit/s"

faults_counters "$relay_pid" "$T/relay.stats"
up=$(faults_stat up.seen "$T/relay.stats")
[ "$up" -gt $((MB * 1000000 / 1500)) ] || fail "only $up datagrams went through the relay: the data took another path"
every=$(faults_every "$T/relay.stats") || fail "$every"
! grep -q "the direct path stopped answering\|pair with b ended" "$T/a.log" || fail "a's pair left the direct path: $(grep 'pair with b' "$T/a.log")"
[ "$(mesh_pair a 'p["path"], p["tx_bytes"] >= '$((MB * 1000000)))" = "('direct', True)" ] ||
	fail "a's pair did not carry the transfer: $(mesh_status a)"
corrupted=$(($(faults_stat up.corrupted "$T/relay.stats") + $(faults_stat down.corrupted "$T/relay.stats")))
ok "the data crossed the relay on the pair's direct path: $up datagrams up, $corrupted corrupted in all, every fault seen both ways; the pair stayed direct"

errs1=$(($(netns_csum_errors "$a") + $(netns_csum_errors "$b")))
[ "$errs1" -eq "$errs0" ] ||
	fail "$((errs1 - errs0)) inner packets with bad checksums reached the clients' kernels: corrupted datagrams were delivered"
ok "none of the $corrupted corrupted datagrams was delivered (no IP/TCP checksum error in either client)"
netns_kill "$pa"
netns_kill "$pb"
netns_kill "$relay_pid"
tap_plan
