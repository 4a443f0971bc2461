#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Roaming in the mesh (issue 17, docs/MESH.md "Roaming"): a's NAT router gets
# a new public address while a and b are direct and a TCP transfer runs. The
# kernel drops the router's old mappings with the old address, so a's UDP now
# leaves from 198.18.1.3 and b's router lets in nothing from there (b never
# sent to it), while b's datagrams to a's old address go nowhere: no direct
# path either way, and a itself sees nothing change (its own addresses are the
# same). The hub sees a's UDP come from the new endpoint: it re-sends a's
# reflexive candidate to b and b's candidates to a at once, both probe, and the
# pair is direct again within seconds (without that, the pair stayed on the
# relay: b kept probing a's old address, until a's TLS connection to the hub,
# broken by the same change, was made again and the pair with it). The
# transfer's SHA-256 matches.
#
#                 [hub] 198.18.10.2
#                   |
#   [r1 cone] -- [internet] -- [r2 cone]
#   198.18.1.2 -> 198.18.1.3     198.18.2.2
#    a 198.19.1.2                b 198.19.2.2
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
S=$T/pki
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"

mesh_pki a b || fail "pki"
mesh_lab cone || fail "lab"
r1_wan=$(nat_wan_if "$r1")

mesh_hub "$hub" hub.log
mesh_client "$a" a a.log
mesh_client "$b" b b.log
ab=$(mesh_client_addr b.log)
[ -n "$ab" ] || fail "no tunnel address for b"
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b at $ab"
netns_wait_for 15 grep -q "pair with b: direct to 198.18.2.2:" "$T/a.log" || fail "a: no direct path to b"
netns_wait_for 15 grep -q "pair with a: direct to 198.18.1.2:" "$T/b.log" || fail "b: no direct path to a"
ok "a and b direct through two cone NATs"

# A paced TCP transfer a -> b (3 MB at 100 kB/s: ~30 s), the roam in its middle.
transfer_recv "$b" "$ab" 120
transfer_send "$a" "$ab" 120 3000000 100000
# a also talks to the hub through the tunnel (every 0.2 s, as a call would):
# its UDP to the hub then leaves from the new address within 0.2 s of the
# roam. Without it the hub heard a's UDP only at a's next keepalive, and on a
# loaded machine a's control connection, broken by the same change, was
# sometimes made again first (a new session: no "endpoint moved").
netns_spawn "$a" ping -q -c 150 -i 0.2 -W 1 198.19.100.1 >/dev/null 2>&1
sleep 2

# r1's new public address; the old one goes (and with it, in the kernel, every
# masquerade mapping made with it).
t0=$(date +%s.%N)
ip netns exec "$r1" sysctl -qw "net.ipv4.conf.$r1_wan.promote_secondaries=1"
ip -n "$r1" addr add 198.18.1.3/24 dev "$r1_wan" || fail "new address"
ip -n "$r1" addr del 198.18.1.2/24 dev "$r1_wan" || fail "old address"
ip -n "$r1" route replace default via 198.18.1.1 || fail "default route"

netns_wait_for 20 grep -q "endpoint moved from 198.18.1.2:[0-9]* to 198.18.1.3:" "$T/hub.log" ||
	fail "the hub did not see a's UDP come from its new address"
netns_wait_for 20 grep -q "pair with a: direct to 198.18.1.3:" "$T/b.log" || fail "b: not direct to a's new endpoint"
t1=$(date +%s.%N)
# The same pair, not a new one after a reconnected: the old address took a's TCP
# connection to the hub with it, and a new session would bring fresh candidates too.
[ "$(grep -c "introducing a and b" "$T/hub.log")" = 1 ] ||
	fail "a and b were introduced again before the pair went direct (a reconnected): the roam did not do it"
netns_wait_for 10 sh -c "[ \$(grep -c 'pair with b: direct to 198.18.2.2:' '$T/a.log') -ge 1 ]" || fail "a: not direct"
grep -q "pair with a: the peer's candidates changed" "$T/b.log" || fail "b was not sent a's new candidate"
# (The hub also sends a b's candidates again, but over a's TLS connection, which
# the same change broke: here it is b's burst that brings the path back.)
[ "$(mesh_pair b 'p["path"], p["endpoint"].startswith("198.18.1.3:")')" = "('direct', True)" ] ||
	fail "b's status: $(mesh_status b)"
[ "$(mesh_pair a 'p["path"]')" = "direct" ] || fail "a's status: $(mesh_status a)"
ok "r1 changed its public address: the pair is direct again to 198.18.1.3 after $(echo "$t1 - $t0" | bc) s"

transfer_check 60
ok "3 MB a -> b across the roam, SHA-256 matches"
tap_plan
