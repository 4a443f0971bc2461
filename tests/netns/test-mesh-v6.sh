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
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
netns_require_root
command -v nft >/dev/null || netns_skip "nft is not installed"
B=$TR_BUILD_ROOT
T=$(netns_tmpdir)
S=$T/pki
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "not ok - $*"
	for f in "$T"/*.log; do echo "---- $f"; tail -n 30 "$f"; done
	exit 1
}

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
start_client() { # start_client NS NAME LOG [args]
	local ns=$1 name=$2 log=$3
	shift 3
	netns_spawn "$ns" "$B/client/trellis-client" -c "[fd00:18:10::2]" --server-name hub \
		--ca "$S/ca.crt" --cert "$S/issued/$name.crt" --key "$S/issued/$name.key" \
		--control-socket "$T/$name.sock" "$@" >"$T/$log" 2>&1
	client_pid=$NETNS_LAST_PID
	netns_wait_for 15 grep -q "data now over UDP" "$T/$log" || fail "$name did not connect"
}
start_client "$a" a a.log
start_client "$b" b b.log
ab=$(sed -n 's/.*connected to .* address \([0-9.]*\)\/.*/\1/p' "$T/b.log" | tail -n 1)
[ -n "$ab" ] || fail "no tunnel address for b"

# 1. Direct over IPv6.
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b"
netns_wait_for 10 grep -q "pair with b: direct to \[fd00:18:2::2\]:" "$T/a.log" ||
	fail "a: no direct IPv6 path to b: $(grep 'pair with' "$T/a.log")"
netns_wait_for 10 grep -q "pair with a: direct to \[fd00:18:1::[23]\]:" "$T/b.log" || fail "b: no direct IPv6 path to a"
[ "$(mesh_pair a 'p["path"], p["endpoint"].startswith("[fd00:18:2::2]:")')" = "('direct', True)" ] ||
	fail "a's status: $("$B/cli/trellis" status --json --socket "$T/a.sock")"
ok "IPv6 underlay: $(grep -o 'pair with b: direct to .*' "$T/a.log" | head -n 1)"

# 2. The router drops UDP between a and b during a paced TCP transfer: relayed
# through the hub, direct again once it passes, SHA-256 intact.
SHA=$TR_SOURCE_ROOT/tests/netns/tcp-sha.py
head -c 1500000 /dev/urandom >"$T/blob"
netns_spawn "$b" python3 "$SHA" recv "$ab" 5001 90 >"$T/recv.out" 2>&1
netns_wait_for 5 grep -q listening "$T/recv.out" || fail "receiver did not start"
netns_spawn "$a" python3 "$SHA" send "$ab" 5001 90 "$T/blob" 100000 >"$T/send.out" 2>&1
sleep 1
ip netns exec "$r" nft -f - <<'NFT' || fail "nft"
table ip6 cut {
	chain between {
		type filter hook forward priority filter; policy accept;
		ip6 saddr fd00:18:1::/64 ip6 daddr fd00:18:2::/64 meta l4proto udp drop
		ip6 saddr fd00:18:2::/64 ip6 daddr fd00:18:1::/64 meta l4proto udp drop
	}
}
NFT
netns_wait_for 15 grep -q "pair with b: relayed through the hub (the direct path stopped answering)" "$T/a.log" ||
	fail "a did not fall back to the relay"
ip netns exec "$r" nft delete table ip6 cut
netns_wait_for 45 sh -c "[ \$(grep -c 'pair with b: direct to' '$T/a.log') -ge 2 ]" || fail "a did not go direct again"
netns_wait_for 40 grep -q "[0-9a-f]\{64\}" "$T/recv.out" || fail "transfer did not finish: $(cat "$T/recv.out" "$T/send.out")"
netns_wait_for 10 grep -q "[0-9a-f]\{64\}" "$T/send.out" || fail "sender did not finish: $(cat "$T/send.out")"
[ "$(tail -n 1 "$T/recv.out")" = "$(cat "$T/send.out")" ] || fail "SHA-256 differs"
ok "IPv6: UDP between the clients cut under a TCP transfer: relayed through the hub, direct again; 1.5 MB, SHA-256 matches"
# 3. a roams: its UDP leaves from its other address.
used=$("$B/cli/trellis" status --json --socket "$T/hub.sock" |
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
echo "1..$n"
