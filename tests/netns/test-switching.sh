#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Switching and routing for real.
#
# A: tap, switch mode -- three clients on one L2 segment through the hub:
#    ARP resolves, a broadcast reaches everyone, unicast reaches only its owner.
#      [c1] [c2] [c3] ---- (198.18.N.0/24 each) ---- [hub tap]
# B: tun, router mode -- a LAN behind c1 (its claimed subnet 198.19.50.0/24)
#    reached from c2; a TCP transfer from the LAN (MTU 1500) through a
#    1280-byte tunnel completes, its SYNs clamped.
#      [lan] 198.19.50.2 -- 198.19.50.1 [c1] ---- [hub] ---- [c2]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
S=$T/state
KEY="correct horse battery staple"
rx_packets() { ip -n "$1" -s -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }
addr_of() { ip -n "$1" -4 -o addr show dev "$2" | awk '{print $4}' | cut -d/ -f1; }

# ---- A: switch mode on tap ----------------------------------------------------
netns_new hub hub || fail netns
for i in 1 2 3; do
	netns_new "c$i" "c$i" || fail netns
	eval "ns=\$c$i"
	netns_link "$hub" "198.18.$i.1/24" "$ns" "198.18.$i.2/24" || fail link
	# No IPv6 on the tunnel: its multicast chatter would blur the counters.
	netns_exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
done
netns_spawn "$hub" "$B/server/trellis-server" --type tap --shared-key "$KEY" --pool6 none --state-dir "$T/hubA" \
	--control-socket none >"$T/hubA.log" 2>&1
hubA=$NETNS_LAST_PID
netns_wait_for 10 grep -q "listening" "$T/hubA.log" || fail "tap hub did not start"
for i in 1 2 3; do
	eval "ns=\$c$i"
	netns_spawn "$ns" "$B/client/trellis-client" --type tap -c "198.18.$i.1" --shared-key "$KEY" \
		--name "c$i" --control-socket none >"$T/c$i.log" 2>&1
	eval "pid$i=\$NETNS_LAST_PID"
done
for i in 1 2 3; do
	netns_wait_for 15 grep -q "data now over UDP" "$T/c$i.log" || fail "c$i did not connect"
done
a1=$(addr_of "$c1" trellis0); a2=$(addr_of "$c2" trellis0); a3=$(addr_of "$c3" trellis0)
[ -n "$a1" ] && [ -n "$a2" ] && [ -n "$a3" ] || fail "tap addresses: $a1 $a2 $a3"

netns_exec "$c1" ping -c 2 -i 0.2 -W 2 "$a2" >/dev/null || fail "c1 -> c2 over tap"
netns_exec "$c1" ip neigh show "$a2" | grep -q lladdr || fail "ARP did not resolve c2"
ok "tap, switch mode: ARP resolves and c1 reaches c2"

BCAST=$TR_SOURCE_ROOT/tests/netns/bcast.py
for i in 2 3; do
	eval "ns=\$c$i"
	netns_spawn "$ns" python3 "$BCAST" recv "$T/bcast.$i"
done
sleep 0.5
netns_exec "$c1" python3 "$BCAST" send trellis0 198.19.0.255 "hello everyone" || fail "sending the broadcast"
netns_wait_for 10 test -s "$T/bcast.2" || fail "broadcast did not reach c2"
netns_wait_for 10 test -s "$T/bcast.3" || fail "broadcast did not reach c3"
ok "a broadcast from c1 reaches c2 and c3"

netns_exec "$c1" ping -c 2 -i 0.2 -W 2 "$a2" >/dev/null
netns_spawn "$c3" tcpdump -l -n -i trellis0 icmp >"$T/c3-icmp.txt" 2>/dev/null
sleep 1
before2=$(rx_packets "$c2" trellis0)
before3=$(rx_packets "$c3" trellis0)
netns_exec "$c1" ping -c 50 -i 0.02 -W 2 "$a2" >/dev/null || fail "unicast ping"
sleep 0.5
after2=$(rx_packets "$c2" trellis0)
after3=$(rx_packets "$c3" trellis0)
netns_kill "$NETNS_LAST_PID"
[ $((after2 - before2)) -ge 50 ] || fail "c2 counted only $((after2 - before2)) packets"
[ "$(grep -c "ICMP echo" "$T/c3-icmp.txt")" = 0 ] || fail "c3 saw c1->c2 echo packets"
# What c3 may still see: flooded broadcasts such as an ARP refresh.
[ $((after3 - before3)) -le 4 ] || fail "c3 counted $((after3 - before3)) packets during the burst"
ok "unicast c1 -> c2: c2 counted $((after2 - before2)) packets, c3 none of the echoes ($((after3 - before3)) packets in all)"
netns_kill "$hubA"
for i in 1 2 3; do eval "netns_kill \$pid$i"; done

# ---- B: router mode on tun, a LAN behind c1 ------------------------------------
netns_new hubB hubB && netns_new d1 d1 && netns_new d2 d2 && netns_new lan lan || fail netns
netns_link "$hubB" 198.18.11.1/24 "$d1" 198.18.11.2/24 || fail link
netns_link "$hubB" 198.18.12.1/24 "$d2" 198.18.12.2/24 || fail link
netns_link "$d1" 198.19.50.1/24 "$lan" 198.19.50.2/24 1500 || fail link
netns_exec "$lan" ip route add default via 198.19.50.1 || fail route
netns_exec "$d1" sysctl -qw net.ipv4.ip_forward=1
pki_network "$S" d1=198.19.50.0/24 d2 || fail pki
netns_spawn "$hubB" "$B/server/trellis-server" --mode router --mtu 1280 --route 198.19.50.0/24 \
	--ca "$S/ca.crt" --cert "$S/issued/hub.crt" --key "$S/issued/hub.key" --state-dir "$S" \
	--control-socket none >"$T/hubB.log" 2>&1
netns_wait_for 10 grep -q "listening" "$T/hubB.log" || fail "router hub did not start"
cl() { # cl NS NAME LOG [args]
	local ns=$1 name=$2 log=$3
	shift 3
	netns_spawn "$ns" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/$name.crt" --key "$S/issued/$name.key" --control-socket none "$@" >"$T/$log" 2>&1
}
cl "$d2" d2 d2-bad.log -c 198.18.12.1 --subnet 198.19.60.0/24
netns_wait_for 10 grep -q "giving up" "$T/d2-bad.log" || fail "an ungranted subnet claim was accepted"
grep -q "does not grant subnet 198.19.60.0/24" "$T/d2-bad.log" || fail "claim refusal not explained"
ok "a client claiming a subnet its certificate does not grant is refused, with the reason"

cl "$d1" d1 d1.log -c 198.18.11.1 --subnet 198.19.50.0/24
cl "$d2" d2 d2.log -c 198.18.12.1
netns_wait_for 15 grep -q "data now over UDP" "$T/d1.log" || fail "d1 did not connect"
netns_wait_for 15 grep -q "data now over UDP" "$T/d2.log" || fail "d2 did not connect"
[ "$(ip -n "$d2" -j link show trellis0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')" = 1280 ] ||
	fail "tunnel MTU not 1280"
netns_exec "$d2" ping -c 3 -i 0.2 -W 2 198.19.50.2 >/dev/null || fail "d2 cannot reach the LAN behind d1"
netns_exec "$lan" ping -c 2 -i 0.2 -W 2 "$(addr_of "$d2" trellis0)" >/dev/null || fail "the LAN cannot reach d2"
ok "router mode: the LAN behind d1 (claimed 198.19.50.0/24) and d2 reach each other"

# A TCP transfer from the LAN (MTU 1500) to d2 through the 1280-byte tunnel.
a2=$(addr_of "$d2" trellis0)
head -c 5000000 /dev/urandom >"$T/blob"
want=$(sha256sum <"$T/blob" | cut -d' ' -f1)
netns_spawn "$d2" tcpdump -l -n -v -i trellis0 -c 2 "tcp[tcpflags] & tcp-syn != 0" >"$T/syn.txt" 2>/dev/null
sleep 1
netns_spawn "$d2" timeout 60 python3 -c '
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
open(sys.argv[2], "w").write("%d %s\n" % (n, h.hexdigest()))' "$a2" "$T/recv.out"
sleep 0.5
netns_exec "$lan" timeout 60 python3 -c '
import socket, sys, time
for i in range(50):
    try:
        c = socket.create_connection((sys.argv[1], 5001), timeout=30); break
    except OSError: time.sleep(0.1)
c.sendall(open(sys.argv[2], "rb").read()); c.close()' "$a2" "$T/blob" || fail "transfer from the LAN failed"
netns_wait_for 30 test -s "$T/recv.out" || fail "no transfer result"
read -r got_n got_sum <"$T/recv.out"
[ "$got_n" = 5000000 ] && [ "$got_sum" = "$want" ] || fail "transfer corrupted: $got_n"
netns_wait_for 5 grep -q "mss" "$T/syn.txt" || fail "no SYN captured"
mss=$(grep -o "mss [0-9]*" "$T/syn.txt" | head -1 | awk '{print $2}')
[ "$mss" -le 1240 ] || fail "the SYN from the LAN kept MSS $mss"
ok "5 MB TCP from the LAN (MTU 1500) through the 1280-byte tunnel intact; SYN MSS clamped to $mss"
tap_plan
