#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Three hubs in a line with a client on each end (issue 19, item 9): hub-1
# routes hub-3's pool through hub-2, which it learnt from the graph only;
# the middle hub dies (SIGKILL, no BYE): the clients stop reaching each
# other; a third link hub-3 -> hub-1 (blocked until then) restores it.
# Clients' addresses and subnets are claims in the graph: c1's subnet is
# routed on hub-3, and a client of hub-3 claiming part of it is refused, with
# the reason, and every hub logs the refusal.
#
#   [c1] 198.18.3.2 -- .1 [hub-1] 198.18.1.1 ---- .2 [hub-2] 198.18.2.2 ---- .3 [hub-3] .1 -- 198.18.4.2 [c3]
#                          [hub-1] 198.18.5.1 ------------------------------- .3 [hub-3]  (the third link)
#   pools: hub-1 198.19.16.0/20, hub-2 198.19.32.0/20, hub-3 198.19.48.0/20
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/filter.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"

netns_new h1 hub1 && netns_new h2 hub2 && netns_new h3 hub3 && netns_new c1 c1 &&
	netns_new c3 c3 && netns_new x3 x3 || fail "netns"
netns_link "$h1" 198.18.1.1/24 "$h2" 198.18.1.2/24 || fail "link"
netns_link "$h2" 198.18.2.2/24 "$h3" 198.18.2.3/24 || fail "link"
netns_link "$h1" 198.18.5.1/24 "$h3" 198.18.5.3/24 || fail "link"
netns_link "$c1" 198.18.3.2/24 "$h1" 198.18.3.1/24 || fail "link"
netns_link "$c3" 198.18.4.2/24 "$h3" 198.18.4.1/24 || fail "link"
netns_link "$x3" 198.18.6.2/24 "$h3" 198.18.6.1/24 || fail "link"
# The third link is there but hub-1 drops it until hub-2 has died.
filter_from "$h1" 198.18.5.3 || fail "nft"

hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log --keepalive 1 --peer-timeout 5
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log --keepalive 1 --peer-timeout 5 -c 198.18.1.1
hub2_pid=$NETNS_LAST_PID
netns_wait_for 20 grep -q "node hub-1 connected to" "$T/hub2.log" || fail "hub-2 did not join hub-1"
hub "$h3" hub-3 198.19.48.0/20 fd00:19:3::/64 hub3.log --keepalive 1 --peer-timeout 5 -c 198.18.2.2 -c 198.18.5.1
netns_wait_for 20 grep -q "node hub-2 connected to" "$T/hub3.log" || fail "hub-3 did not join hub-2"

client "$c1" c1 198.18.3.1 c1.log --subnet 198.18.200.0/24
client "$c3" c3 198.18.4.1 c3.log
netns_wait_for 15 grep -q "connected to" "$T/c1.log" || fail "c1 did not connect"
netns_wait_for 15 grep -q "connected to" "$T/c3.log" || fail "c3 did not connect"
a3=$(hubs_tun_addr "$c3")
case $a3 in 198.19.4[89].* | 198.19.5[0-9].* | 198.19.6[0-3].*) ;; *) fail "c3's address $a3 is not from hub-3's pool" ;; esac

status1() { "$B/cli/trellis" status --socket "$T/hub-1.sock" 2>&1; }
reaches() { netns_exec "$c1" ping -c 1 -W 1 "$a3" >/dev/null; }
netns_wait_for 15 reaches || fail "c1 cannot reach c3 ($a3) across three hubs: $(status1)"
status1 | grep -q "hub-3 (hub): reachable, next hop hub-2, 2 hops" || fail "hub-1's status: $(status1)"
status1 | grep "hub-3 (hub)" | sed 's/^ */# hub-1: /'
netns_exec "$c1" ping -c 3 -i 0.2 -W 2 "$a3" | sed -n 's/^rtt/# c1 -> c3 across three hubs: rtt/p'
ok "a client of hub-1 reaches a client of hub-3 ($a3): hub-1 routes hub-3's pool through hub-2"

# c1 and c3 are introduced through all three hubs (hub-2 passes the PAIR_START on
# and the answer back, by pair id); with no route between their underlays, their
# pair is relayed hop by hop: hub-1 -> hub-2 -> hub-3, each frame unchanged.
netns_wait_for 10 grep -q "pair with psk:c3 established" "$T/c1.log" ||
	fail "c1 and c3 were not introduced across three hubs"
grep -q "pair with psk:c3: relayed through the hub" "$T/c1.log" || fail "c1's pair with c3 is not relayed"
netns_exec "$c1" ping -c 20 -i 0.05 -W 2 -q "$a3" >"$T/ping-pair.txt" ||
	fail "ping over the relayed pair: $(cat "$T/ping-pair.txt")"
mesh2() { "$B/cli/trellis" status --json --socket "$T/hub-2.sock" |
	python3 -c 'import json,sys
def find(o):
    if isinstance(o, dict):
        if "mesh" in o: return o["mesh"]
        o = list(o.values())
    if isinstance(o, list):
        for x in o:
            r = find(x)
            if r: return r
m = find(json.load(sys.stdin)); print(m["pairs"], m["relayed"])'; }
set -- $(mesh2)
[ "${1:-0}" -ge 1 ] && [ "${2:-0}" -ge 20 ] || fail "hub-2 (in the middle) carries $1 pairs, relayed $2 frames"
ok "c1 and c3 paired through three hubs: hub-2 in the middle carries the pair ($2 frames relayed, $(grep -o "[0-9]* received" "$T/ping-pair.txt") of 20 pings)"

# c1's subnet is a claim hub-1 makes for it: hub-3 routes it (kernel route
# into its tunnel) and knows c1 as a node behind hub-2.
status3() { "$B/cli/trellis" status --socket "$T/hub-3.sock" 2>&1; }
netns_wait_for 10 sh -c "ip -n '$h3' route show 198.18.200.0/24 | grep -q trellis0" ||
	fail "hub-3 has no route to c1's subnet: $(ip -n "$h3" route)"
status3 | grep -q "c1: reachable, next hop hub-2, 3 hops" || fail "hub-3's status: $(status3)"
status3 | grep "c1:" | sed 's/^ */# hub-3: /'
# x3 claims part of it at hub-3: refused there with the graph's reason; the
# claim was flooded before it was withdrawn, and every hub refused it.
client "$x3" x3 198.18.6.1 x3.log --subnet 198.18.200.128/25
want="subnet 198.18.200.128/25 of 'x3'"
netns_wait_for 15 grep -q "refused.*the network refuses the claim: $want" "$T/hub3.log" ||
	fail "hub-3 did not refuse x3's claim"
netns_wait_for 10 grep -q "$want.*overlaps subnet 198.18.200.0/24 of 'c1', claimed earlier" "$T/x3.log" ||
	fail "x3 was not told why"
for h in hub1 hub2; do
	netns_wait_for 10 grep -q "graph: refused: $want" "$T/$h.log" || fail "$h did not refuse x3's claim"
done
grep "the network refuses the claim" "$T/hub3.log" | head -n 1 | sed 's/^/# hub-3: /'
grep "graph: refused: $want" "$T/hub1.log" | head -n 1 | sed 's/^/# hub-1: /'
ok "clients' subnets are graph claims: c1's routed on hub-3; x3 claiming part of it refused on every hub, with the reason"

# The middle hub dies (no BYE): its neighbours see the connections drop.
netns_kill_hard "$hub2_pid"
t0=$(date +%s%N)
netns_wait_for 15 sh -c "! ip netns exec '$c1' ping -c 1 -W 1 '$a3'" || fail "c1 still reaches c3 without hub-2"
netns_wait_for 15 sh -c "'$B/cli/trellis' status --socket '$T/hub-1.sock' | grep -q 'hub-3 (hub): unreachable'" ||
	fail "hub-3 still reachable on hub-1: $(status1)"
echo "# hub-3 unreachable on hub-1 $((($(date +%s%N) - t0) / 1000000)) ms after hub-2 died"
# The pair went with the link it ran through: hub-1 ended it for c1, hub-3 for c3.
netns_wait_for 10 grep -q "pair with psk:c3 ended: node:hub-2 left" "$T/c1.log" || fail "c1's pair did not end with hub-2"
netns_wait_for 10 grep -q "pair with psk:c1 ended: node:hub-2 left" "$T/c3.log" || fail "c3's pair did not end with hub-2"
ok "the middle hub killed: the clients no longer reach each other, hub-3 is unreachable, their pair ended on both sides"

# The third link: hub-3's connector to hub-1 gets through.
filter_lift "$h1" || fail "nft delete"
t0=$(date +%s%N)
netns_wait_for 40 reaches || fail "the third link did not restore c1 -> c3: $(status1)"
echo "# c1 reaches c3 again $((($(date +%s%N) - t0) / 1000000)) ms after the third link was unblocked"
status1 | grep -q "hub-3 (hub): reachable, next hop hub-3, 1 hop" || fail "hub-1's status: $(status1)"
ok "a third link hub-1 <-> hub-3 restores it"
tap_plan
