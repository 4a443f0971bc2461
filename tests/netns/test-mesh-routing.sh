#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What goes over a pair session besides the peers' own tunnel addresses
# (issue 17, docs/MESH.md): tap devices on a switch-mode hub, and a LAN
# behind a client (its claimed subnet). Real daemons, certificates; the
# underlay is a router namespace (no NAT), so a direct path between two
# clients never touches the hub's namespace.
#
#        [hub] 198.18.10.2 (tap or tun, pool 198.19.100.0/24)
#          |
#   [a] -- [internet] -- [b]         198.18.1.2, 198.18.2.2
#    |
#   [lan] 198.19.50.2 (part B: behind a, the subnet a claims)
#
# A. tap, switch mode: a pings b; the hub introduces them, the pair goes
#    direct, and the pings' frames then go over it (200 pings: the hub's link
#    sees almost nothing, b's tap counts them all); with UDP between a and b
#    cut, the pair falls back to the hub's relay and the frames follow; ARP
#    and a broadcast still
#    go through the hub (its own tap sees them), and resolve/arrive.
# B. tun, router mode: b reaches the LAN behind a (198.19.50.0/24, claimed by
#    a) directly over the pair, and the LAN reaches b: pings and a TCP
#    transfer from the LAN whose SHA-256 matches, the hub's link idle.
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
S=$T/pki
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"

mesh_pki a=198.19.50.0/24 b || fail "pki"
mesh_lab public || fail "lab"
hub_if=$(nat_wan_if "$hub")
netns_new lan lan || fail "lan"
netns_link "$a" 198.19.50.1/24 "$lan" 198.19.50.2/24 || fail "lan link"
ip -n "$lan" route add default via 198.19.50.1 || fail "lan route"
netns_exec "$a" sysctl -qw net.ipv4.ip_forward=1
for ns in "$hub" "$a" "$b"; do
	# No IPv6 on the tunnel: its multicast chatter would blur the counts.
	netns_exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
done

rx_packets() { ip -n "$1" -s -j link show dev "$2" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats64"]["rx"]["packets"])'; }

# ---- A: tap, switch mode ---------------------------------------------------------
mesh_hub "$hub" hub-tap.log --type tap
mesh_client "$a" a a-tap.log --type tap
pa=$client_pid
mesh_client "$b" b b-tap.log --type tap
pb=$client_pid
aa=$(hubs_tun_addr "$a")
ab=$(hubs_tun_addr "$b")
[ -n "$aa" ] && [ -n "$ab" ] || fail "tap addresses: '$aa' '$ab'"
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b over tap"
netns_wait_for 10 grep -q "pair with b established" "$T/a-tap.log" || fail "a: no pair with b"
netns_wait_for 10 grep -q "pair with b: direct to 198.18.2.2:" "$T/a-tap.log" || fail "a: no direct path to b"
netns_wait_for 10 grep -q "pair with a: direct to 198.18.1.2:" "$T/b-tap.log" || fail "b: no direct path to a"
ok "tap: a pings b; the hub introduced them; the pair is direct"

# 200 pings: after the first few (b's MAC is learnt behind the pair from b's
# frames through the hub), every frame goes over the pair.
mesh_capture "$hub" "$hub_if" "$T/hub-tap.pcap" udp
rx0=$(rx_packets "$b" trellis0)
netns_exec "$a" ping -c 200 -i 0.01 -W 2 -q "$ab" >"$T/ping-tap.txt" || fail "a -> b over the pair: $(cat "$T/ping-tap.txt")"
sleep 0.5
netns_kill "$cap_pid"
rx1=$(rx_packets "$b" trellis0)
crossed=$(mesh_captured "$T/hub-tap.pcap")
[ "$crossed" -lt 40 ] || fail "200 pings over tap crossed the hub: its link saw $crossed UDP packets"
[ $((rx1 - rx0)) -ge 200 ] || fail "b's tap counted $((rx1 - rx0)) packets"
[ "$(mesh_pair a 'p["path"], p["tx_packets"] >= 200, p["rx_packets"] >= 200')" = "('direct', True, True)" ] ||
	fail "a's pair did not carry the pings: $(mesh_status a)"
ok "tap: 200 pings a -> b over the pair: the hub's link saw $crossed UDP packets, b's tap counted $((rx1 - rx0))"

# The direct path breaks (the internet drops UDP between a and b) while pings
# flow: the pair falls back to the hub's relay, and the frames follow it.
nat_cut_udp 198.18.1.2 198.18.2.2 || fail "nft"
netns_spawn "$a" ping -c 100 -i 0.1 -W 1 -q "$ab"
bg=$NETNS_LAST_PID
netns_wait_for 15 grep -q "pair with b: relayed through the hub (the direct path stopped answering)" "$T/a-tap.log" ||
	fail "a's tap pair did not fall back to the relay: $(grep 'pair with b' "$T/a-tap.log")"
netns_kill "$bg"
mesh_capture "$hub" "$hub_if" "$T/hub-tap-relay.pcap" udp
tx0=$(mesh_pair a 'p["tx_packets"]')
netns_exec "$a" ping -c 50 -i 0.02 -W 2 -q "$ab" >"$T/ping-tap-relay.txt" || fail "a -> b relayed: $(cat "$T/ping-tap-relay.txt")"
sleep 0.3
netns_kill "$cap_pid"
relayed=$(mesh_captured "$T/hub-tap-relay.pcap")
[ "$(mesh_pair a 'p["path"]')" = relayed ] && [ $(($(mesh_pair a 'p["tx_packets"]') - tx0)) -ge 50 ] ||
	fail "a's pair did not carry the pings relayed: $(mesh_status a)"
[ "$relayed" -ge 100 ] || fail "the relayed frames did not cross the hub: its link saw $relayed UDP packets"
nat_mend_udp || fail "nft delete"
ok "tap: the direct path cut, the pair fell back to the hub's relay and carried 50 pings (the hub's link saw $relayed UDP packets)"

# ARP again (a forgets b's MAC) and a broadcast: through the hub, and they work.
BCAST=$TR_SOURCE_ROOT/tests/netns/bcast.py
netns_spawn "$b" python3 "$BCAST" recv "$T/bcast.b"
mesh_capture "$hub" trellis0 "$T/hub-tap-bcast.pcap" "arp or udp port 9999"
hcap=$cap_pid
netns_exec "$a" ip neigh flush dev trellis0
netns_exec "$b" ip neigh flush dev trellis0
netns_exec "$a" ping -c 2 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b after flushing ARP"
netns_exec "$a" ip neigh show "$ab" | grep -q lladdr || fail "ARP did not resolve b again"
netns_exec "$a" python3 "$BCAST" send trellis0 255.255.255.255 "hello b" || fail "sending the broadcast"
netns_wait_for 10 test -s "$T/bcast.b" || fail "a's broadcast did not reach b"
sleep 0.3
netns_kill "$hcap"
tcpdump -r "$T/hub-tap-bcast.pcap" -n 2>/dev/null >"$T/hub-tap-bcast.txt"
grep -q "ARP, Request who-has $ab" "$T/hub-tap-bcast.txt" || fail "the hub's tap did not see a's ARP request: $(cat "$T/hub-tap-bcast.txt")"
grep -q "9999" "$T/hub-tap-bcast.txt" || fail "the hub's tap did not see a's broadcast: $(cat "$T/hub-tap-bcast.txt")"
ok "tap: ARP and a broadcast still go through the hub (its tap saw both) and reach b"

# b leaves: a's pair ends and forgets b's MAC; a reaches the hub as before.
netns_kill "$pb"
netns_wait_for 10 grep -q "pair with b ended" "$T/a-tap.log" || fail "a's pair did not end"
netns_exec "$a" ping -c 2 -i 0.2 -W 2 198.19.100.1 >/dev/null || fail "a cannot ping the hub after b left"
ok "tap: b left, a's pair ended ($(grep -o 'pair with b ended: .*' "$T/a-tap.log" | head -n 1))"
netns_kill "$pa"
netns_kill "$hub_pid"

# ---- B: a LAN behind a, reached directly from b (tun) -----------------------------
mesh_hub "$hub" hub-tun.log --route 198.19.50.0/24
mesh_client "$a" a a-tun.log --subnet 198.19.50.0/24
pa=$client_pid
mesh_client "$b" b b-tun.log
pb=$client_pid
ab=$(hubs_tun_addr "$b")
netns_exec "$b" ping -c 3 -i 0.2 -W 2 198.19.50.2 >/dev/null || fail "b cannot reach the LAN behind a"
netns_wait_for 10 grep -q "pair with a: direct to 198.18.1.2:" "$T/b-tun.log" || fail "b: no direct path to a"
netns_wait_for 10 grep -q "pair with b: direct to 198.18.2.2:" "$T/a-tun.log" || fail "a: no direct path to b"
[ "$(mesh_pair b '"198.19.50.0/24" in p["addresses"]')" = True ] || fail "b's pair lacks a's subnet: $(mesh_status b)"
mesh_capture "$hub" "$hub_if" "$T/hub-lan.pcap" udp
netns_exec "$b" ping -c 200 -i 0.01 -W 2 -q 198.19.50.2 >"$T/ping-lan.txt" || fail "b -> LAN: $(cat "$T/ping-lan.txt")"
netns_exec "$lan" ping -c 50 -i 0.01 -W 2 -q "$ab" >"$T/ping-lan2.txt" || fail "LAN -> b: $(cat "$T/ping-lan2.txt")"
transfer_recv "$b" "$ab" 60
transfer_send "$lan" "$ab" 60 20000000
transfer_check 90
sleep 0.3
netns_kill "$cap_pid"
crossed=$(mesh_captured "$T/hub-lan.pcap")
[ "$crossed" -lt 40 ] || fail "the LAN's traffic crossed the hub: its link saw $crossed UDP packets"
[ "$(mesh_pair b 'p["path"], p["rx_bytes"] >= 20000000')" = "('direct', True)" ] ||
	fail "b's pair did not carry the transfer: $(mesh_status b)"
ok "LAN behind a (claimed 198.19.50.0/24) <-> b directly: 250 pings and 20 MB TCP from the LAN (SHA-256 matches); the hub's link saw $crossed UDP packets"
netns_kill "$pb"
netns_kill "$pa"
netns_kill "$hub_pid"
tap_plan
