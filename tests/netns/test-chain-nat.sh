#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The seeds' symmetric nodes behind NAT (issue 19 item 6, docs/MESH.md
# "Symmetric nodes"): A --connect B and C --connect B, A and C each behind a
# cone NAT router, B public. Neither A nor C accepts connections from the
# internet; both dial the other from the port they listen on (the one B saw,
# as the NAT keeps it) at the address in B's edges: the two SYNs open each
# router for the other (TCP simultaneous open), and A and C link directly. A
# capture on B's link during 200 pings between A and C shows almost nothing.
# Then D, behind a symmetric NAT router (a new public port per destination),
# joins B: A and D cannot link directly (each router lets in only answers
# from where it sent to, and D's port toward A is one nobody saw), so they
# talk through B, routed by the graph (docs/MESH.md, "Symmetric nodes").
#
#   [A] 198.19.1.2 -- [cone 198.18.1.2] --+
#                                         +-- [internet] -- 198.18.10.2 [B]
#   [C] 198.19.3.2 -- [cone 198.18.3.2] --+          tunnel 198.19.5.1 .. .4 /24
#   [D] 198.19.4.2 -- [symmetric 198.18.4.2] --+
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
. "$TR_SOURCE_ROOT/tests/lib/status.sh"
. "$TR_SOURCE_ROOT/tests/lib/nat.sh"
nat_require
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"

nat_internet || fail "internet"
netns_new nb b && nat_attach "$nb" 10 || fail "b"
b_if=$NAT_WAN_IF
nat_router ra ra 1 cone && nat_host na a "$ra" 1 2 || fail "a behind its router"
nat_router rc rc 3 cone && nat_host nc c "$rc" 3 2 || fail "c behind its router"

node "$nb" b 198.19.5.2/24
# Nothing from the internet reaches A or C unasked (the routers drop it).
netns_exec "$nb" timeout 3 bash -c "exec 3<>/dev/tcp/198.18.1.2/3210" 2>/dev/null &&
	fail "a's router accepts connections from the internet"
t0=$(date +%s%N)
node "$na" a 198.19.5.1/24 -c 198.18.10.2
node "$nc" c 198.19.5.3/24 -c 198.18.10.2
netns_wait_for 30 sh -c "grep -q 'node c connected' '$T/a.log' && grep -q 'node a connected' '$T/c.log'" ||
	fail "a and c did not link directly: $(grep -h "contact\|node \|connect" "$T/a.log" "$T/c.log" | tail -n 20)"
echo "# a and c linked directly $(ms_since "$t0") ms after they started"
grep -h "contacting it directly\|crossed\|path\|UDP\|TCP" "$T/a.log" "$T/c.log" | sed 's/^/# /'
grep -q "node a: our connections crossed" "$T/c.log" || fail "c did not see its dial cross a's"
netns_wait_for 10 netns_exec "$na" ping -c 1 -W 1 198.19.5.3 >/dev/null || fail "a cannot reach c"
st=$("$B/cli/trellis" status --socket "$T/a.sock") || fail "a's status: $st"
echo "$st" | grep -q "  c: reachable, next hop c, 1 hop" || fail "a's graph: c not adjacent: $st"
ok "a and c, each behind a cone NAT, link directly through both routers"

# 200 pings between a and c while b's link is captured: the keepalives of
# a-b and c-b (every 2 s), nothing of the 400 tunnel datagrams. First the
# path MTU searches of the links with b end (their probes cross b's link).
udp_to_c() { "$B/cli/trellis" status --json --socket "$T/a.sock" | grep -q '"identity":"node:c"[^}]*"path":"udp"'; }
netns_wait_for 15 udp_to_c || fail "a's session with c is not on UDP: $("$B/cli/trellis" status --socket "$T/a.sock")"
ok "the direct session's data goes over UDP through both routers"
for n in a b c; do
	netns_wait_for 30 status_mtu_settled "$T/$n.sock" || fail "$n: path MTU search still running: $("$B/cli/trellis" status --socket "$T/$n.sock")"
done
netns_spawn "$nb" tcpdump -i "$b_if" -w "$T/b.pcap" -U -n 2>"$T/tcpdump.err"
cap_pid=$NETNS_LAST_PID
netns_wait_for 5 grep -q "listening" "$T/tcpdump.err" || fail "tcpdump did not start"
out=$(netns_exec "$na" ping -c 200 -i 0.01 -W 1 198.19.5.3) || fail "pings a -> c: $out"
echo "$out" | grep -q " 0% packet loss" || fail "pings lost: $(echo "$out" | tail -n 2)"
sleep 0.5
netns_kill "$cap_pid"
seen=$(tcpdump -r "$T/b.pcap" -n 2>/dev/null | wc -l)
echo "# 200 pings a -> c in $(echo "$out" | sed -n 's/.*time \([0-9]*ms\).*/\1/p'); b's link saw $seen packets:" \
	"$(tcpdump -r "$T/b.pcap" -n 2>/dev/null | awk '{print $2 == "ARP," ? "arp" : $2 == "IP" ? "ip" : $2}' | sort | uniq -c | tr '\n' ' ')"
# Through b, the 200 pings and replies would be 800 packets on its link; the
# links a-b and c-b (UDP keepalives and their answers, graph messages over
# TLS with their ACKs) make 15 to 50 in these 3 s.
[ "$seen" -lt 100 ] || fail "b's link saw $seen packets during 200 pings: $(tcpdump -r "$T/b.pcap" -n 2>/dev/null | head -n 20)"
ok "200 pings between a and c: $seen packets on b's link (direct, not through b)"

# D behind a symmetric NAT: its contacts with A (and A's with it) cannot get
# through the routers; A reaches D through B (or C), and still does a few
# seconds on.
nat_router rd rd 4 symmetric && nat_host nd d "$rd" 4 2 || fail "d behind its router"
t0=$(date +%s%N)
node "$nd" d 198.19.5.4/24 -c 198.18.10.2
netns_wait_for 20 netns_exec "$na" ping -c 1 -W 1 198.19.5.4 >/dev/null || fail "a cannot reach d"
echo "# a reaches d (symmetric NAT) $(ms_since "$t0") ms after d started"
netns_wait_for 10 grep -q "node d: known through [bc], contacting it directly" "$T/a.log" ||
	fail "a did not try d directly: $(grep -h "contact\|node d" "$T/a.log" | tail -n 5)"
sleep 3
grep -q "node d connected" "$T/a.log" && fail "a and d linked directly through a symmetric NAT"
st=$("$B/cli/trellis" status --socket "$T/a.sock") || fail "a's status: $st"
# Through b, or through c when the measured round trips make a-c-b-d the
# shorter way: not directly.
echo "$st" | grep -q "  d: reachable, next hop [bc], [23] hops" || fail "a's graph: d not behind b or c: $st"
echo "$st" | grep "  d: reachable" | sed 's/^/# a: /'
netns_exec "$na" ping -c 3 -i 0.2 -W 1 198.19.5.4 >/dev/null || fail "a no longer reaches d"
grep -h "node d\|cannot reach node" "$T/a.log" | head -n 3 | sed 's/^/# a: /'
ok "d behind a symmetric NAT: no direct link with a (cone), a reaches it through its neighbours"
tap_plan
