#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A client's subnet that loses later (issue 19, item 2): hub-2 cannot reach
# hub-1 yet (nftables), so each accepts a claim of overlapping subnets, c1's
# first; once the hubs link, c1's earlier claim wins on both, and hub-2
# disconnects x2 with the graph's reason; hub-2 then routes c1's subnet.
#
#   [c1] 198.18.3.2 -- .1 [hub-1] 198.18.1.1 ---- .2 [hub-2] .1 -- 198.18.4.2 [x2]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/filter.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"

netns_new h1 hub1 && netns_new h2 hub2 && netns_new c1 c1 && netns_new x2 x2 || fail "netns"
netns_link "$h1" 198.18.1.1/24 "$h2" 198.18.1.2/24 || fail "link"
netns_link "$c1" 198.18.3.2/24 "$h1" 198.18.3.1/24 || fail "link"
netns_link "$x2" 198.18.4.2/24 "$h2" 198.18.4.1/24 || fail "link"
filter_from "$h1" 198.18.1.2 || fail "nft"

hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log --keepalive 1
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log --keepalive 1 -c 198.18.1.1

client "$c1" c1 198.18.3.1 c1.log --subnet 198.18.200.0/24
netns_wait_for 15 grep -q "connected to" "$T/c1.log" || fail "c1 did not connect"
sleep 0.2 # x2's claim is the later one (the ranks compare the claims' times)
client "$x2" x2 198.18.4.1 x2.log --subnet 198.18.200.128/25
netns_wait_for 15 grep -q "connected to" "$T/x2.log" || fail "x2 did not connect"
grep -q "node hub-1 connected" "$T/hub2.log" && fail "the hubs linked before the filter was lifted"
ok "apart, hub-1 accepts c1's subnet and hub-2 x2's overlapping one"

filter_lift "$h1" || fail "nft delete"
t0=$(date +%s%N)
want="subnet 198.18.200.128/25 of 'x2'"
netns_wait_for 30 grep -q "client psk:x2: disconnecting: the network refuses the claim: $want" "$T/hub2.log" ||
	fail "hub-2 did not disconnect x2"
echo "# x2 disconnected $(ms_since "$t0") ms after the filter was lifted"
grep "disconnecting: the network refuses" "$T/hub2.log" | head -n 1 | sed 's/^.*notice: /# hub-2: /'
netns_wait_for 10 grep -q "$want.*overlaps subnet 198.18.200.0/24 of 'c1', claimed earlier" "$T/x2.log" ||
	fail "x2 was not told why"
netns_wait_for 10 sh -c "ip -n '$h2' route show 198.18.200.0/24 | grep -q trellis0" ||
	fail "hub-2 does not route c1's subnet: $(ip -n "$h2" route)"
ok "linked, c1's earlier claim wins: hub-2 disconnects x2 with the reason and routes c1's subnet"
tap_plan
