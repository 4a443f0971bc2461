#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The seeds' symmetric nodes (issue 19 items 6 and 9, docs/MESH.md
# "Symmetric nodes"): A --connect B and C --connect B, nothing else. A and C
# learn of each other through B's graph edges, make direct contact, and
# exchange packets directly: a capture on B's port during 200 pings between
# A and C shows almost nothing. A node that shuts down says so, and is not
# dialled again from hearsay; one that dies times out. D, which nobody can
# contact directly, is reached through B along the graph.
#
#   [A] 198.18.10.1 --+
#   [B] 198.18.10.2 --+-- bridge (its own namespace)     tunnel 198.19.5.1 .. .4 /24
#   [C] 198.18.10.3 --+
#   [D] 198.18.10.4 --+   (no direct TCP with A and C, as behind two NATs)
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/status.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"

netns_new sw sw && netns_new na a && netns_new nb b && netns_new nc c && netns_new nd d || fail "netns"
ip -n "$sw" link add br0 type bridge && ip -n "$sw" link set br0 up || fail "bridge"
i=0
for ns in "$na" "$nb" "$nc" "$nd"; do
	i=$((i + 1))
	ip -n "$ns" link add eth0 type veth peer name port$i netns "$sw" &&
		ip -n "$ns" addr add 198.18.10.$i/24 dev eth0 && ip -n "$ns" link set eth0 up &&
		ip -n "$sw" link set port$i master br0 && ip -n "$sw" link set port$i up || fail "port $i"
done

node "$nb" b 198.19.5.2/24
t0=$(date +%s%N)
node "$na" a 198.19.5.1/24 -c 198.18.10.2
node "$nc" c 198.19.5.3/24 -c 198.18.10.2
c_pid=$NETNS_LAST_PID
netns_wait_for 20 netns_exec "$na" ping -c 1 -W 1 198.19.5.3 >/dev/null || fail "a cannot reach c"
echo "# a reached c $(ms_since "$t0") ms after a and c started"
grep -h "contacting it directly" "$T/a.log" "$T/c.log" | head -n 2 | sed 's/^/# /'
# The first pings may go through b while the direct link is made.
netns_wait_for 10 grep -q "node c connected" "$T/a.log" || fail "a has no session with c"
netns_wait_for 10 grep -q "node a connected" "$T/c.log" || fail "c has no session with a"
st=$("$B/cli/trellis" status --socket "$T/a.sock") || fail "a's status: $st"
echo "$st" | grep -q "  c: reachable, next hop c, 1 hop" || fail "a's graph: c not adjacent: $st"
ok "a --connect b, c --connect b: a and c learn of each other through b and link directly"

# 200 pings between a and c while b's port is captured: the keepalives of
# a-b and c-b (every 2 s) and ARP, nothing of the 400 tunnel datagrams.
# The path MTU searches of the links with b first (their probes cross b's port).
for n in a b c; do
	netns_wait_for 30 status_mtu_settled "$T/$n.sock" || fail "$n: path MTU search still running"
done
netns_spawn "$sw" tcpdump -i port2 -w "$T/b.pcap" -U -n 2>"$T/tcpdump.err"
cap_pid=$NETNS_LAST_PID
netns_wait_for 5 grep -q "listening" "$T/tcpdump.err" || fail "tcpdump did not start"
out=$(netns_exec "$na" ping -c 200 -i 0.01 -W 1 198.19.5.3) || fail "pings a -> c: $out"
echo "$out" | grep -q " 0% packet loss" || fail "pings lost: $(echo "$out" | tail -n 2)"
sleep 0.5
kill "$cap_pid" 2>/dev/null
wait "$cap_pid" 2>/dev/null
seen=$(tcpdump -r "$T/b.pcap" -n 2>/dev/null | wc -l)
echo "# 200 pings a -> c in $(echo "$out" | sed -n 's/.*time \([0-9]*ms\).*/\1/p'); b's port saw $seen packets:" \
	"$(tcpdump -r "$T/b.pcap" -n 2>/dev/null | awk '{print $2 == "ARP," ? "arp" : $2 == "IP" ? "ip" : $2}' | sort | uniq -c | tr '\n' ' ')"
# Through b the 200 pings and replies would be 800 packets on its port; the
# links a-b and c-b (UDP keepalives and answers, graph messages over TLS and
# their ACKs) and IPv6 neighbour traffic make 25 to 75 in these 3 s.
[ "$seen" -lt 100 ] || fail "b's port saw $seen packets during 200 pings: $(tcpdump -r "$T/b.pcap" -n 2>/dev/null | head -n 20)"
ok "200 pings between a and c: $seen packets on b's port (direct, not through b)"

# c shuts down: it says so (BYE, CLOSE); a drops it at once and, knowing
# of c only from b's news (which b withdraws), does not dial it again.
dials=$(grep -c "contacting it directly" "$T/a.log")
t0=$(date +%s%N)
netns_kill "$c_pid"
netns_wait_for 10 grep -q "node c (.*) disconnected" "$T/a.log" || fail "a did not notice c leaving"
echo "# c shut down: a dropped it after $(ms_since "$t0") ms"
sleep 3
[ "$(grep -c "contacting it directly" "$T/a.log")" = "$dials" ] || fail "a dialled the departed c again"
st=$("$B/cli/trellis" status --socket "$T/a.sock")
echo "$st" | grep -q "  c: reachable" && fail "c still reachable at a: $st"
ok "a node that shuts down is dropped at once and not dialled again from hearsay"

# c back, then cut off without a word (its link down): a's direct session
# with it and b's time out (--peer-timeout 6), and c is unreachable at a.
node "$nc" c 198.19.5.3/24 -c 198.18.10.2
netns_wait_for 20 netns_exec "$na" ping -c 1 -W 1 198.19.5.3 >/dev/null || fail "a cannot reach the restarted c"
netns_wait_for 10 sh -c "'$B/cli/trellis' status --socket '$T/a.sock' | grep -q '  c: reachable, next hop c, 1 hop'" ||
	fail "a has no direct link with the restarted c: $("$B/cli/trellis" status --socket "$T/a.sock")"
gone=$(grep -c "node c (.*) disconnected" "$T/a.log")
t0=$(date +%s%N)
ip -n "$nc" link set eth0 down || fail "link down"
netns_wait_for 20 sh -c "[ \$(grep -c 'node c (.*) disconnected' '$T/a.log') -gt $gone ]" ||
	fail "a's session with the silent c did not time out"
echo "# c cut off: a's session with it timed out after $(ms_since "$t0") ms"
netns_wait_for 20 sh -c "! '$B/cli/trellis' status --socket '$T/a.sock' | grep -q '  c: reachable'" ||
	fail "c still reachable at a: $("$B/cli/trellis" status --socket "$T/a.sock")"
ok "c restarted: direct again; c cut off: a's session times out and c is unreachable"
# d --connect b too, but TCP between d and a or c is dropped (as two NATs
# would): no direct contact, and a reaches d through b all the same (the
# graph's next hop: d's address claimed in the graph, routed to b's link).
ip netns exec "$nd" nft -f - <<NFT || fail "nft in d"
table inet chain_test {
	chain out { type filter hook output priority 0; ip daddr { 198.18.10.1, 198.18.10.3 } tcp dport 3210 drop; }
	chain in { type filter hook input priority 0; ip saddr { 198.18.10.1, 198.18.10.3 } tcp dport 3210 drop; }
}
NFT
t0=$(date +%s%N)
node "$nd" d 198.19.5.4/24 -c 198.18.10.2
netns_wait_for 20 netns_exec "$na" ping -c 1 -W 1 198.19.5.4 >/dev/null || fail "a cannot reach d through b"
echo "# a reached d through b $(ms_since "$t0") ms after d started"
grep -q "node d connected" "$T/a.log" && fail "a and d linked directly through the firewall"
st=$("$B/cli/trellis" status --socket "$T/a.sock") || fail "a's status: $st"
echo "$st" | grep -q "  d: reachable, next hop b, 2 hops" || fail "a's graph: d not through b: $st"
echo "$st" | grep "  d:" | sed 's/^ */# a: /'
ok "d, which a cannot contact directly: a reaches it through b (next hop b, 2 hops)"
tap_plan
