#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Pair sessions over an IPv6-only underlay (issue 17, docs/MESH.md): a hub and
# two clients on three links of a router namespace, fd00::/8, no NAT (IPv6
# needs none). The clients' candidates are IPv6 (host and reflexive); the
# pair goes direct to the peer's IPv6 endpoint; when the router drops UDP
# between the two clients during a paced TCP transfer the pair is relayed
# through the hub (over IPv6) and goes direct again once it passes; the
# transfer's SHA-256 matches. Then a's UDP moves to its other address (the
# one in use is deprecated, as when a host roams): the hub sees a's endpoint
# move and gives b a's new reflexive candidate itself (a's own candidates did
# not change), and the pair keeps working.
#
#          [hub] fd00:18:10::2
#            |
#   [a] -- [router] -- [b]      fd00:18:1::2, fd00:18:2::2
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
S=$T/pki
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"
MESH_HUB="[fd00:18:10::2]"

mesh_pki a b || fail "pki"
netns_new r r || fail "router"
netns_new hub hub || fail "hub"
netns_new a a || fail "a"
netns_new b b || fail "b"
netns_link "$r" fd00:18:10::1/64 "$hub" fd00:18:10::2/64 || fail "hub link"
netns_link "$r" fd00:18:1::1/64 "$a" fd00:18:1::2/64 || fail "a link"
aif=$NETNS_IFB
ip -n "$a" addr add fd00:18:1::3/64 dev "$aif" nodad || fail "a's second address"
netns_link "$r" fd00:18:2::1/64 "$b" fd00:18:2::2/64 || fail "b link"
netns_exec "$r" sysctl -qw net.ipv6.conf.all.forwarding=1 || fail "forwarding"
ip -n "$hub" -6 route add default via fd00:18:10::1 || fail "hub route"
ip -n "$a" -6 route add default via fd00:18:1::1 || fail "a route"
ip -n "$b" -6 route add default via fd00:18:2::1 || fail "b route"

mesh_hub "$hub" hub.log
mesh_client "$a" a a.log
mesh_client "$b" b b.log
ab=$(mesh_client_addr b.log)
[ -n "$ab" ] || fail "no tunnel address for b"

# 1. Direct over IPv6.
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b"
netns_wait_for 10 grep -q "pair with b: direct to \[fd00:18:2::2\]:" "$T/a.log" ||
	fail "a: no direct IPv6 path to b: $(grep 'pair with' "$T/a.log")"
netns_wait_for 10 grep -q "pair with a: direct to \[fd00:18:1::[23]\]:" "$T/b.log" || fail "b: no direct IPv6 path to a"
[ "$(mesh_pair a 'p["path"], p["endpoint"].startswith("[fd00:18:2::2]:")')" = "('direct', True)" ] ||
	fail "a's status: $(mesh_status a)"
ok "IPv6 underlay: $(grep -o 'pair with b: direct to .*' "$T/a.log" | head -n 1)"

# 2. The router drops UDP between a and b during a paced TCP transfer: relayed
# through the hub, direct again once it passes, SHA-256 intact.
transfer_recv "$b" "$ab" 90
transfer_send "$a" "$ab" 90 1500000 100000
sleep 1
nat_cut_udp fd00:18:1::/64 fd00:18:2::/64 "$r" || fail "nft"
netns_wait_for 15 grep -q "pair with b: relayed through the hub (the direct path stopped answering)" "$T/a.log" ||
	fail "a did not fall back to the relay"
nat_mend_udp "$r" || fail "nft delete"
netns_wait_for 45 sh -c "[ \$(grep -c 'pair with b: direct to' '$T/a.log') -ge 2 ]" || fail "a did not go direct again"
transfer_check 40
ok "IPv6: UDP between the clients cut under a TCP transfer: relayed through the hub, direct again; 1.5 MB, SHA-256 matches"
# 3. a roams: its UDP leaves from its other address.
used=$(mesh_status hub |
	python3 -c 'import json,sys; print([p["endpoint"] for p in json.load(sys.stdin)[0]["peers"] if p["identity"] == "a"][0])' |
	sed -n 's/^\[\(.*\)\]:[0-9]*$/\1/p')
case "$used" in fd00:18:1::2) other=fd00:18:1::3 ;; fd00:18:1::3) other=fd00:18:1::2 ;; *) fail "a's endpoint at the hub: '$used'" ;; esac
ip -n "$a" addr change "$used/64" dev "$aif" preferred_lft 0 || fail "deprecate $used"
netns_exec "$a" ping -c 2 -i 0.2 -W 2 198.19.100.1 >/dev/null || fail "a cannot ping the hub"
netns_wait_for 10 grep -q "endpoint moved from \[$used\]:[0-9]* to \[$other\]:" "$T/hub.log" ||
	fail "the hub did not see a roam: $(grep 'moved' "$T/hub.log")"
# a's new address was one of its host candidates already, so b may be sent the
# same set again (the hub re-sends on the roam either way): both say so.
netns_wait_for 10 grep -q "pair with a: the \(peer's candidates changed\|hub sent the peer's candidates again\)" "$T/b.log" ||
	fail "b was not sent a's candidates after the roam"
! grep -q "our addresses changed" "$T/a.log" || fail "a's own candidates changed (the test wants the hub's push)"
netns_exec "$a" ping -c 10 -i 0.1 -W 2 -q "$ab" >/dev/null || fail "a cannot ping b after roaming"
ok "a roamed from $used to $other: the hub passed b a's candidates again; the pair works"
tap_plan
