#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Pairs across hubs (issue 19 item 3, docs/MESH.md "Pairs across hubs"): a
# client of hub-1 and a client of hub-2, each behind a cone NAT, are introduced
# through both hubs (the PAIR_START goes along the hub link and is answered) and
# talk directly; with UDP between their routers dropped, their pair is relayed
# hop by hop, c1 -> hub-1 -> hub-2 -> c2, as unchanged ciphertext. hub-3 plays
# a hub built before pairs across hubs (the test switch
# TRELLIS_TEST_NO_PAIRS_ACROSS): no pair crosses its link, traffic to its
# client c3 goes hop by hop through the hubs, and its link stays up.
#
#   [c1] 198.19.1.2 -- [r1 cone] 198.18.1.2 --+                +-- 198.18.10.2 [hub-1]
#                                              [internet]        |  hub link
#   [c2] 198.19.2.2 -- [r2 cone] 198.18.2.2 --+                +-- 198.18.20.2 [hub-2]
#   [c3] 198.18.3.2 ---------------------------+                +-- 198.18.30.2 [hub-3]
#                                                   (hub-2 and hub-3 --connect hub-1)
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh" # nat.sh; skips without nft
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"

nat_internet || fail "internet"
netns_new h1 hub1 && netns_new h2 hub2 || fail "netns"
nat_attach "$h1" 10 || fail "attach hub-1"
if1=$NAT_WAN_IF
nat_attach "$h2" 20 || fail "attach hub-2"
if2=$NAT_WAN_IF
nat_router r1 r1 1 cone && nat_router r2 r2 2 cone || fail "routers"
nat_host c1 c1 "$r1" 1 2 && nat_host c2 c2 "$r2" 2 2 || fail "hosts"
netns_new h3 hub3 && nat_attach "$h3" 30 && netns_new c3 c3 && nat_attach "$c3" 3 || fail "hub-3, c3"

hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log --keepalive 2 --route fd00:19::/32
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log --keepalive 2 --route fd00:19::/32 -c 198.18.10.2
TRELLIS_TEST_NO_PAIRS_ACROSS=1 hub "$h3" hub-3 198.19.48.0/20 fd00:19:3::/64 hub3.log --keepalive 2 \
	--route fd00:19::/32 -c 198.18.10.2
netns_wait_for 20 grep -q "node hub-1 connected to" "$T/hub2.log" || fail "hub-2 did not join hub-1"
netns_wait_for 20 grep -q "node hub-1 connected to" "$T/hub3.log" || fail "hub-3 did not join hub-1"

client "$c1" c1 198.18.10.2 c1.log --control-socket "$T/c1.sock"
client "$c2" c2 198.18.20.2 c2.log --control-socket "$T/c2.sock"
client "$c3" c3 198.18.30.2 c3.log --control-socket "$T/c3.sock"
netns_wait_for 15 grep -q "data now over UDP" "$T/c1.log" || fail "c1 did not connect"
netns_wait_for 15 grep -q "data now over UDP" "$T/c2.log" || fail "c2 did not connect"
a2=$(hubs_tun_addr "$c2")

# 1. c1 and c2 ping each other at once while the hubs' TLS link is held up (TCP
# between them dropped for a moment; their data still passes over UDP): both hubs
# introduce the two, and the two introductions cross on the hub link. The target's
# hub settles it the same way on both sides (the pair made for c1, whose name sorts
# first, stands); one pair goes direct through the two cone NATs.
# c2 pings c1's IPv6 address: hub-2's introduction starts from an IPv6 destination.
a1=$(ip -n "$c1" -6 -o addr show dev trellis0 scope global | awk '{print $4}' | cut -d/ -f1)
[ -n "$a1" ] || fail "c1 has no IPv6 tunnel address"
ip netns exec "$NAT_INET" nft -f - <<'NFT' || fail "nft"
table ip hold {
	chain between {
		type filter hook forward priority filter; policy accept;
		ip saddr 198.18.10.2 ip daddr 198.18.20.2 meta l4proto tcp drop
		ip saddr 198.18.20.2 ip daddr 198.18.10.2 meta l4proto tcp drop
	}
}
NFT
t0=$(date +%s%N)
netns_spawn "$c2" ping -c 5 -i 0.2 -W 1 "$a1" >"$T/ping0.out" 2>&1
netns_wait_for 5 grep -q "introducing psk:c2 to c1 ($a1/128" "$T/hub2.log" || fail "hub-2 did not introduce c2 (IPv6)"
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$a2" >/dev/null || fail "c1 cannot reach c2 ($a2)"
netns_wait_for 5 grep -q "introducing psk:c1 to c2" "$T/hub1.log" || fail "hub-1 did not introduce c1"
ip netns exec "$NAT_INET" nft delete table ip hold
netns_exec "$c1" ping -c 3 -i 0.2 -W 1 -q "$a2" >/dev/null
netns_wait_for 15 grep -q "pair with psk:c2: direct to" "$T/c1.log" || fail "c1's pair with c2 did not go direct"
netns_wait_for 10 grep -q "pair with psk:c1: direct to" "$T/c2.log" || fail "c2's pair with c1 did not go direct"
echo "# direct $(ms_since "$t0") ms after the first ping"
grep "introduc\|have a pair" "$T/hub1.log" "$T/hub2.log" | sed 's/^[^:]*hub\([12]\)\.log:/# hub-\1: /'
grep -q "introduced from both sides; pair" "$T/hub2.log" || fail "hub-2 did not settle the two introductions"
[ "$(mesh_pair c1 'p["peer"], p["path"]')" = "('psk:c2', 'direct')" ] || fail "c1's status: $(mesh_pair c1 'p')"
[ "$(mesh_pair c2 'p["peer"], p["path"]')" = "('psk:c1', 'direct')" ] || fail "c2's status: $(mesh_pair c2 'p')"
pairs() { mesh_status "$1" |
	python3 -c 'import json,sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)[0].get("pairs", [])))'; }
[ "$(pairs c1)" = "$(pairs c2)" ] && [ "$(pairs c1 | wc -w)" = 1 ] ||
	fail "one pair expected: c1 has $(pairs c1), c2 has $(pairs c2)"
ok "c1 (hub-1) and c2 (hub-2) introduced from both sides at once (IPv4 and IPv6 traffic): one pair stands, both statuses show the peer, path direct"

# 2. 200 pings: almost nothing on the hub link (198.18.10.2 <-> 198.18.20.2).
mesh_capture "$h1" "$if1" "$T/link.pcap" "host 198.18.20.2"
netns_exec "$c1" ping -c 200 -i 0.01 -W 2 -q "$a2" >"$T/ping1.txt" || fail "ping: $(cat "$T/ping1.txt")"
sleep 0.3
netns_kill "$cap_pid"
# Without the pair, 400 packets (each ping and its answer) would cross it.
on_link=$(mesh_captured "$T/link.pcap")
[ "$on_link" -lt 40 ] || fail "$on_link packets on the hub link during 200 direct pings: $(tcpdump -r "$T/link.pcap" -n 2>/dev/null | head -n 40)"
ok "200 pings c1 -> c2 ($(grep -o "[0-9]* received" "$T/ping1.txt")): $on_link packets on the hub link"

# 3. A paced TCP transfer c1 -> c2; UDP between the routers dropped under it: the
# pair is relayed hop by hop and the transfer goes on.
transfer_recv "$c2" "$a2" 60
transfer_send "$c1" "$a2" 60 1500000 150000
sleep 1
t1=$(date +%s%N)
nat_cut_udp 198.18.1.2 198.18.2.2 || fail "nft"
netns_wait_for 15 grep -q "pair with psk:c2: relayed through the hub (the direct path stopped answering)" "$T/c1.log" ||
	fail "c1 did not fall back to the relay"
echo "# relayed $(ms_since "$t1") ms after the cut"
transfer_check 40
[ "$(mesh_pair c1 'p["path"]')" = "relayed" ] || fail "c1's status: $(mesh_pair c1 'p')"
[ "$(mesh_pair c2 'p["path"]')" = "relayed" ] || fail "c2's status: $(mesh_pair c2 'p')"
ok "UDP between the routers dropped under a 1.5 MB TCP transfer: the pair relayed through hub-1 and hub-2, SHA-256 matches"

# 4. The relayed frames, captured where c1's reach hub-1 and where they leave
# hub-2 for c2 (and back), are the same bytes: sealed by c1, opened only by c2.
# (Pings, one datagram each: a capture on a veth sees a GSO run as one packet.)
mesh_capture "$h1" "$if1" "$T/in.pcap" "udp and host 198.18.1.2"
cap_in=$cap_pid # started first, stopped last (pcap-relay.py --across)
mesh_capture "$h2" "$if2" "$T/out.pcap" "udp and host 198.18.2.2"
cap_out=$cap_pid
netns_exec "$c1" ping -c 100 -i 0.02 -W 2 -q "$a2" >"$T/ping2.txt" || fail "relayed ping: $(cat "$T/ping2.txt")"
sleep 0.3
netns_kill "$cap_out"
netns_kill "$cap_in"
python3 "$TR_SOURCE_ROOT/tests/netns/pcap-relay.py" --across "$T/in.pcap" 198.18.10.2 \
	"$T/out.pcap" 198.18.20.2 3210 >"$T/pcap.out" || fail "relay frames changed between the hubs: $(cat "$T/pcap.out")"
ok "100 relayed pings ($(grep -o "[0-9]* received" "$T/ping2.txt")): $(cat "$T/pcap.out")"

# 5. hub-3 announced no pairs across hubs (it plays an older version, which drops a
# link on a PAIR_START from it). c1 pings c3 (next hop hub-3) and c2 does (hub-2 ->
# hub-1 -> hub-3): no pair is introduced, hub-1 says so once for its link to hub-3
# and refuses hub-2's introduction, the pings go through the hubs, no link drops.
netns_wait_for 15 grep -q "data now over UDP" "$T/c3.log" || fail "c3 did not connect"
a3=$(hubs_tun_addr "$c3")
for i in 1 2; do
	netns_exec "$c1" ping -c 20 -i 0.1 -W 2 -q "$a3" >"$T/ping3.txt" || fail "c1 -> c3: $(cat "$T/ping3.txt")"
	grep -q " 20 received" "$T/ping3.txt" || fail "c1 -> c3: $(cat "$T/ping3.txt")"
	netns_exec "$c2" ping -c 20 -i 0.1 -W 2 -q "$a3" >"$T/ping4.txt" || fail "c2 -> c3: $(cat "$T/ping4.txt")"
	grep -q " 20 received" "$T/ping4.txt" || fail "c2 -> c3: $(cat "$T/ping4.txt")"
done
grep -q "ended by node:hub-1: hub-3 takes no pairs across hubs" "$T/hub2.log" ||
	fail "hub-2 was not told that hub-3 takes no pairs: $(grep "hub-3\|psk:c3" "$T/hub2.log")"
told=$(grep -c "hub-3 takes no pairs across hubs (it announced none" "$T/hub1.log")
[ "$told" = 1 ] || fail "hub-1 said $told times that hub-3 takes no pairs"
grep -q "pair [0-9a-f]\{8\}.*c3" "$T/hub1.log" "$T/hub3.log" && fail "a pair with c3: $(grep "pair [0-9a-f]\{8\}.*c3" "$T/hub1.log" "$T/hub3.log")"
[ "$(pairs c1)" = "$(pairs c2)" ] && [ "$(pairs c1 | wc -w)" = 1 ] && [ -z "$(pairs c3)" ] ||
	fail "pairs: c1 has $(pairs c1), c2 has $(pairs c2), c3 has $(pairs c3)"
grep -q "unexpected" "$T/hub1.log" "$T/hub2.log" "$T/hub3.log" && fail "a link dropped: $(grep "unexpected" "$T"/hub*.log)"
for l in hub1.log:hub-3 hub3.log:hub-1; do
	n=$(grep -c "node ${l#*:} connected" "$T/${l%%:*}")
	[ "$n" = 1 ] || fail "${l%%:*}: node ${l#*:} connected $n times"
done
across() { # across NODE -> what hub-1's status says of its link to NODE
	mesh_status hub-1 | python3 -c '
import json, sys
print([p["pairs_across_hubs"] for p in json.load(sys.stdin)[0]["peers"] if p["identity"] == sys.argv[1]])' "$1"
}
[ "$(across node:hub-2)" = "[True]" ] && [ "$(across node:hub-3)" = "[False]" ] ||
	fail "hub-1's status: hub-2 $(across node:hub-2), hub-3 $(across node:hub-3)"
"$B/cli/trellis" status --socket "$T/hub-1.sock" >"$T/hub1-status.txt" 2>&1
grep -q "pairs across hubs: no (the node announced none" "$T/hub1-status.txt" ||
	fail "trellis status: $(cat "$T/hub1-status.txt")"
echo "# hub-1: $(grep "hub-3 takes no pairs" "$T/hub1.log" | head -n 1)"
ok "hub-3 announced no pairs across hubs: 80 pings c1/c2 -> c3 through the hubs, no pair, said once, no link dropped, status shows it"
tap_plan
