#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The mesh's path choice (common/mesh/path.c) and the hub's relay
# (server/pairs.c) over real NAT routers (tests/lib/nat.sh), driven by the
# test tool tr-mesh-lab (plain UDP probes and data; the daemons are not wired
# to the mesh yet, issue 17 phase 2):
#
#                 [hub] 198.18.10.2 (tr-mesh-lab hub on :4000, :4002, :4004)
#                   |
#   [r1 cone] -- [internet] -- [r2 cone]      [r3 symmetric] [r4 symmetric]
#    a1 .2, a2 .3                b .2           c .2           d .2
#
#   1. cone + cone: direct within seconds; when the internet drops UDP
#      between the two routers, back to the relay within seconds, data still
#      flowing; when it passes again, direct again
#   2. symmetric + symmetric: relayed all along, data flows; the frames leave
#      the hub byte for byte as they came (tcpdump on the hub's link)
#   3. two clients behind one NAT: direct over the LAN
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
LAB="$TR_BUILD_ROOT/tests/tr-mesh-lab"
[ -x "$LAB" ] || netns_fail "tr-mesh-lab not built ($LAB)"

# a1 and a2 are the lab's a and a2, behind r1.
mesh_lab four || fail "lab"
a1=$a
mesh_capture "$hub" "$(nat_wan_if "$hub")" "$T/hub.pcap" udp port 4002

for p in 4000 4002 4004; do
	netns_spawn "$hub" "$LAB" hub "$p" 30 >"$T/hub-$p.out" 2>&1
done
sleep 0.3
# Each client runs a fixed time, then reports; every run is bounded.
netns_spawn "$a1" "$LAB" client a1 198.18.10.2 4000 198.19.1.2 22 >"$T/a1.out" 2>&1
pa1=$NETNS_LAST_PID
netns_spawn "$b" "$LAB" client b 198.18.10.2 4000 198.19.2.2 22 >"$T/b.out" 2>&1
pb=$NETNS_LAST_PID
netns_spawn "$c" "$LAB" client c 198.18.10.2 4002 198.19.3.2 10 >"$T/c.out" 2>&1
pc=$NETNS_LAST_PID
netns_spawn "$d" "$LAB" client d 198.18.10.2 4002 198.19.4.2 10 >"$T/d.out" 2>&1
pd=$NETNS_LAST_PID
netns_spawn "$a1" "$LAB" client a1l 198.18.10.2 4004 198.19.1.2 6 >"$T/a1l.out" 2>&1
pl1=$NETNS_LAST_PID
netns_spawn "$a2" "$LAB" client a2l 198.18.10.2 4004 198.19.1.3 6 >"$T/a2l.out" 2>&1
pl2=$NETNS_LAST_PID

# 1. direct first; then the internet drops UDP between the routers (not to the hub)
netns_wait_for 5 grep -q "path direct reflexive 198.18.2.2" "$T/a1.out" ||
	fail "a1 found no direct path to b: $(cat "$T/a1.out")"
netns_wait_for 5 grep -q "path direct reflexive 198.18.1.2" "$T/b.out" ||
	fail "b found no direct path to a1: $(cat "$T/b.out")"
ok "cone + cone: direct"
sleep 2
nat_cut_udp 198.18.1.2 198.18.2.2 || fail "nft on the internet"
cut=$(date +%s.%N)
netns_wait_for 10 grep -q "path relayed.*(the direct path stopped answering)" "$T/a1.out" ||
	fail "a1 did not fall back to the relay: $(cat "$T/a1.out")"
fell=$(date +%s.%N)
ok "direct -> relayed after $(echo "$fell - $cut" | bc | cut -c1-4) s without the direct path"
nat_mend_udp || fail "nft delete"
netns_wait_for 12 sh -c "grep 'path ' '$T/a1.out' | tail -1 | grep -q 'path direct'" ||
	fail "a1 did not return to the direct path: $(cat "$T/a1.out")"
ok "relayed -> direct again once the path passes"

for p in $pa1 $pb $pc $pd $pl1 $pl2; do
	for i in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
done
for f in a1 b c d a1l a2l; do sed "s/^/  /" "$T/$f.out"; done
grep -q "^a1 final direct" "$T/a1.out" || fail "a1 did not end direct"
read -r _ _ _ _ sent _ gd _ gr < <(grep "^b final" "$T/b.out")
[ "${gd:-0}" -gt 0 ] && [ "${gr:-0}" -gt 0 ] || fail "b got no data on one of the paths (direct $gd, relayed $gr)"
# What is lost is what a1 sent into the cut path before it gave up on it
# (about 1.5 + 3 s at one datagram every 50 ms), not more.
read -r _ _ _ _ sent_a _ _ _ _ < <(grep "^a1 final" "$T/a1.out")
[ $((gd + gr + 120)) -ge "$sent_a" ] || fail "b got $((gd + gr)) of a1's $sent_a datagrams"
ok "data flowed on both paths: b got $gd direct and $gr relayed of a1's $sent_a"

grep -q "^c final relayed" "$T/c.out" && grep -q "^d final relayed" "$T/d.out" ||
	fail "symmetric + symmetric did not stay relayed"
read -r _ _ _ _ sent_c _ _ _ _ < <(grep "^c final" "$T/c.out")
read -r _ _ _ _ _ _ gdd _ grd < <(grep "^d final" "$T/d.out")
[ "$gdd" = 0 ] && [ "$grd" -gt $((sent_c - 20)) ] || fail "d got direct $gdd relayed $grd of $sent_c"
ok "symmetric + symmetric: relayed, d got $grd of c's $sent_c datagrams"
netns_kill "$cap_pid"
python3 "$TR_SOURCE_ROOT/tests/netns/pcap-relay.py" "$T/hub.pcap" 198.18.10.2 4002 >"$T/pcap.out" ||
	fail "$(cat "$T/pcap.out")"
ok "$(cat "$T/pcap.out") (the hub forwards them unchanged)"

grep -q "^a1l .* path direct host 198.19.1.3" "$T/a1l.out" && grep -q "^a2l .* path direct host 198.19.1.2" "$T/a2l.out" ||
	fail "two clients behind one NAT did not take the LAN path"
ok "same NAT: direct over the LAN"
tap_plan
