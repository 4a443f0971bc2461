#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Many hubs in one network (issue 19, docs/MESH.md "Many hubs"): hubs of one
# shared key --connect each other, state their pools, and refuse a hub whose
# pool collides with one they know, also when they only know it through the
# graph (a pool of a hub two links away).
#
#   [hub-1] 198.18.1.1 ---- 198.18.1.2 [hub-2] 198.18.2.2 ---- 198.18.2.3 [hub-3]
#   pools   198.19.16.0/20              198.19.32.0/20          198.19.24.0/21 (inside hub-1's)
#   [c1] 198.18.3.2 -- 198.18.3.1 [hub-1]     [hub-2] 198.18.4.1 -- 198.18.4.2 [c2]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"

netns_new h1 hub1 && netns_new h2 hub2 && netns_new h3 hub3 && netns_new c1 c1 &&
	netns_new c2 c2 && netns_new y2 y2 || fail "netns"
netns_link "$h1" 198.18.1.1/24 "$h2" 198.18.1.2/24 || fail "link"
netns_link "$h2" 198.18.2.2/24 "$h3" 198.18.2.3/24 || fail "link"
netns_link "$c1" 198.18.3.2/24 "$h1" 198.18.3.1/24 || fail "link"
netns_link "$c2" 198.18.4.2/24 "$h2" 198.18.4.1/24 || fail "link"
netns_link "$y2" 198.18.6.2/24 "$h2" 198.18.6.1/24 || fail "link"

hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log --keepalive 2
hub1_pid=$NETNS_LAST_PID
t0=$(date +%s%N)
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log --keepalive 2 -c 198.18.1.1
netns_wait_for 20 grep -q "node hub-1 connected to" "$T/hub2.log" || fail "hub-2 did not join hub-1"
netns_wait_for 10 grep -q "node hub-2 connected from" "$T/hub1.log" || fail "hub-1 did not take hub-2"
netns_wait_for 10 netns_exec "$h2" ping -c 1 -W 1 198.19.16.1 >/dev/null || fail "hub-2 cannot reach hub-1's address"
echo "# hub-2 joined hub-1 and reached its address in $((($(date +%s%N) - t0) / 1000000)) ms"
ok "two hubs of one network joined: pools stated, each other's address reachable"

# A client on each hub: hub-1 routes hub-2's pool to hub-2 and back.
client "$c1" c1 198.18.3.1 c1.log
client "$c2" c2 198.18.4.1 c2.log
netns_wait_for 15 grep -q "connected to" "$T/c1.log" || fail "c1 did not connect"
netns_wait_for 15 grep -q "connected to" "$T/c2.log" || fail "c2 did not connect"
a2=$(hubs_tun_addr "$c2")
case $a2 in 198.19.3[2-9].* | 198.19.4[0-7].*) ;; *) fail "c2's address $a2 is not from hub-2's pool" ;; esac
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$a2" >/dev/null || fail "c1 cannot reach c2 ($a2) across the hubs"
netns_exec "$c1" ping -c 5 -i 0.2 -W 2 "$a2" | sed -n 's/^rtt/# c1 -> c2 across two hubs: rtt/p'
ok "a client of hub-1 reaches a client of hub-2 ($a2) through both hubs"

# A client of hub-2 named like hub-1: its node name in the graph is a digest,
# not hub-1's name (hub-1 would take its address for its own).
client "$y2" hub-1 198.18.6.1 y2.log
netns_wait_for 15 grep -q "connected to" "$T/y2.log" || fail "y2 (named hub-1) did not connect"
ay=$(hubs_tun_addr "$y2")
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$ay" >/dev/null || fail "c1 cannot reach y2 ($ay)"
st=$("$B/cli/trellis" status --socket "$T/hub-1.sock") || fail "status: $st"
echo "$st" | grep -q "client-[0-9a-f]\{16\}: reachable, next hop hub-2, 2 hops" ||
	fail "hub-1's status: y2 is not a client-DIGEST node behind hub-2: $st"
echo "$st" | grep "client-" | sed 's/^ */# hub-1: /'
ok "a client named like another hub is a node of its own in the graph, reached through its hub"

# hub-3's pool lies inside hub-1's. hub-2 knows hub-1's pool only from the
# graph (hub-1 claimed it over the hub-1 - hub-2 link) and refuses hub-3.
hub "$h3" hub-3 198.19.24.0/21 fd00:19:3::/64 hub3.log --keepalive 2 -c 198.18.2.2
want="address pool 198.19.24.0/21 of hub 'hub-3' overlaps pool 198.19.16.0/20 of hub 'hub-1'"
netns_wait_for 20 grep -qF "$want" "$T/hub2.log" || fail "hub-2 did not refuse the colliding pool"
netns_wait_for 10 grep -qF "$want" "$T/hub3.log" || fail "hub-3 was not told why"
netns_wait_for 10 grep -q "not connecting to it again" "$T/hub3.log" || fail "hub-3 retries a collision"
grep -q "node hub-3 connected" "$T/hub2.log" && fail "hub-3 was linked"
grep -F "$want" "$T/hub2.log" | head -n 1 | sed 's/^/# hub-2: /'
grep -F "$want" "$T/hub3.log" | head -n 1 | sed 's/^/# hub-3: /'
ok "a pool colliding with one known through the graph: refused (code 14) on both sides, with the reason"

# Seeing it: hub-2's status lists hub-1 (reachable, directly) and the graph
# in dot has both hubs and their edge; hub-3 was never linked.
st=$("$B/cli/trellis" status --socket "$T/hub-2.sock") || fail "status: $st"
# The clients are nodes too: their hubs claim their addresses for them.
echo "$st" | grep -q "graph: hub-2, 4 other nodes known" || fail "status graph line: $st"
echo "$st" | grep -q "c1: reachable, next hop hub-1, 2 hops" || fail "status: c1 not behind hub-1: $st"
echo "$st" | grep -q "c2: reachable, next hop c2, 1 hop" || fail "status: c2 not local: $st"
echo "$st" | grep -q "hub-1 (hub): reachable, next hop hub-1, 1 hop" || fail "status: hub-1 not reachable: $st"
echo "$st" | grep "graph:" -A4 | sed 's/^/# /'
dot=$("$B/cli/trellis" graph --socket "$T/hub-2.sock") || fail "graph: $dot"
echo "$dot" | grep -q '^digraph\|^graph' || fail "not dot: $dot"
echo "$dot" | grep -q '"hub-1"' && echo "$dot" | grep -q '"hub-2"' || fail "dot lacks the hubs: $dot"
echo "$dot" | grep -q 'hub-3' && fail "dot has the refused hub-3: $dot"
ok "trellis status shows hub-1 reachable through the graph; trellis graph prints dot with both hubs"

# The hub link weighs its measured round trip (PING/PONG every 2 s here),
# not the 1.0 ms it starts with: between namespaces well under a
# millisecond on a quiet machine, over one on a loaded one (1.4 ms seen).
measured() {
	"$B/cli/trellis" status --socket "$T/hub-2.sock" |
		grep "hub-1 (hub): reachable, next hop hub-1, 1 hop, [0-9.]* ms" | grep -vq ", 1\.0 ms"
}
netns_wait_for 20 measured || fail "hub-1's link still unmeasured: $("$B/cli/trellis" status --socket "$T/hub-2.sock" | grep 'hub-1')"
"$B/cli/trellis" status --socket "$T/hub-2.sock" | grep "hub-1 (hub)" | sed 's/^ */# measured: /'
ok "the hub link's weight is its measured round trip"

# hub-1 shuts down (BYE, then CLOSE): hub-2 shows it unreachable at once.
netns_kill "$hub1_pid"
netns_wait_for 10 sh -c "'$B/cli/trellis' status --socket '$T/hub-2.sock' | grep -q 'hub-1 (hub): unreachable'" ||
	fail "hub-1 still reachable after shutdown: $("$B/cli/trellis" status --socket "$T/hub-2.sock")"
ok "a hub that shuts down is unreachable in the other's graph"
tap_plan
