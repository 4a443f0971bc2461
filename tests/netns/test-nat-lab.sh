#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The NAT lab (tests/lib/nat.sh) behaves as it claims, shown with a small UDP
# hole-punching tool (punch.py) and a rendezvous on the "hub":
#
#                          [hub] 198.18.10.2 (rendezvous on :3478, :3479)
#                            |
#   [r1 cone] 198.18.1.2 -- [internet] -- 198.18.2.2 [r2 cone]
#      |  198.19.1.0/24          |  \              198.19.2.0/24  |
#    [a1] .2  [a2] .3            |   198.18.4.2 [r4 symmetric]   [b] .2
#                   198.18.3.2 [r3 symmetric]    198.19.4.0/24 -- [d] .2
#                     198.19.3.0/24 -- [c] .2
#                                    198.18.5.2 [r5 cone, UDP blocked] -- [e] 198.19.5.2
#
#   1. the routers masquerade: the hub sees the routers' addresses
#   2. cone + cone: the mapping is the same for two destinations; both punch
#   3. symmetric + symmetric: the mapping differs; neither punches
#   4. symmetric + cone: neither punches either (Linux filters per port)
#   5. two hosts behind one NAT: they find each other on the LAN
#   6. UDP blocked: not even the rendezvous answers; unblocked, it does
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
. "$TR_SOURCE_ROOT/tests/lib/nat.sh"
netns_require_root
nat_require
command -v python3 >/dev/null || netns_skip "python3 is not installed"
PUNCH="$TR_SOURCE_ROOT/tests/netns/punch.py"
T=$(netns_tmpdir)

nat_internet || netns_fail "internet"
netns_new hub hub || netns_fail "hub"
nat_attach "$hub" 10 || netns_fail "hub link"
nat_router r1 r1 1 cone || netns_fail "r1"
nat_router r2 r2 2 cone || netns_fail "r2"
nat_router r3 r3 3 symmetric || netns_fail "r3"
nat_router r4 r4 4 symmetric || netns_fail "r4"
nat_router r5 r5 5 cone || netns_fail "r5"
nat_host a1 a1 "$r1" 1 2 || netns_fail "a1"
nat_host a2 a2 "$r1" 1 3 || netns_fail "a2"
nat_host b b "$r2" 2 2 || netns_fail "b"
nat_host c c "$r3" 3 2 || netns_fail "c"
nat_host d d "$r4" 4 2 || netns_fail "d"
nat_host e e "$r5" 5 2 || netns_fail "e"
nat_block_udp "$r5" || netns_fail "block UDP on r5"

# One rendezvous per pair of clients, on its own port pair.
port=3478
listening() { ip netns exec "$hub" ss -Hlun "sport = :$1" | grep -q .; }
listening_tcp() { ip netns exec "$hub" ss -Hltn "sport = :$1" | grep -q .; }
pair() { # NAME_A NS_A LAN_A NAME_B NS_B LAN_B -> $T/NAME.out, $T/NAME.rc
	netns_spawn "$hub" python3 "$PUNCH" server "$port" >"$T/server-$port.out" 2>&1
	local server=$NETNS_LAST_PID
	netns_wait_for 5 listening "$port" || netns_fail "rendezvous on :$port did not start"
	local p1 p2
	(netns_exec "$2" timeout 30 python3 "$PUNCH" client "$1" 198.18.10.2 "$port" "$3" >"$T/$1.out" 2>&1; echo $? >"$T/$1.rc") &
	p1=$!
	(netns_exec "$5" timeout 30 python3 "$PUNCH" client "$4" 198.18.10.2 "$port" "$6" >"$T/$4.out" 2>&1; echo $? >"$T/$4.rc") &
	p2=$!
	wait "$p1" "$p2"
	netns_wait_for 20 test -s "$T/$1.rc" -a -s "$T/$4.rc" || netns_fail "pair $1/$4 did not finish"
	netns_kill "$server"
	port=$((port + 2))
	sed "s/^/  $1: /" "$T/$1.out"
	sed "s/^/  $4: /" "$T/$4.out"
}
rc() { cat "$T/$1.rc"; }

# 2 (and 1): cone + cone
pair a1 "$a1" 198.19.1.2 b "$b" 198.19.2.2
grep -q "a1 seen as 198.18.1.2:" "$T/server-3478.out" || netns_fail "the hub did not see a1 as r1's WAN address"
grep -q "b seen as 198.18.2.2:" "$T/server-3478.out" || netns_fail "the hub did not see b as r2's WAN address"
echo "ok 1 - the routers masquerade: the hub sees 198.18.1.2 and 198.18.2.2"
[ "$(rc a1)" = 0 ] && [ "$(rc b)" = 0 ] || netns_fail "cone + cone did not punch"
grep -q "^direct 198.18.2.2:.* mapping=same" "$T/a1.out" || netns_fail "a1 did not reach b's public address, or b's mapping was not the same"
grep -q "^direct 198.18.1.2:.* mapping=same" "$T/b.out" || netns_fail "b did not reach a1's public address"
echo "ok 2 - cone + cone: one mapping for every destination; both punch through"

# 3: symmetric + symmetric
pair c "$c" 198.19.3.2 d "$d" 198.19.4.2
grep -q "peer mapping different" "$T/c.out" || netns_fail "r4 kept one mapping for two destinations: not symmetric"
grep -q "peer mapping different" "$T/d.out" || netns_fail "r3 kept one mapping for two destinations: not symmetric"
[ "$(rc c)" = 1 ] && [ "$(rc d)" = 1 ] || netns_fail "symmetric + symmetric punched (rc $(rc c)/$(rc d))"
echo "ok 3 - symmetric + symmetric: a new mapping per destination; no direct path"

# 4: symmetric + cone. The cone side keeps its port, but its router only lets
# in answers from where it sent to; the symmetric side's probes come from a
# port nobody saw. Neither gets through.
pair c2 "$c" 198.19.3.2 b2 "$b" 198.19.2.2
[ "$(rc c2)" = 1 ] && [ "$(rc b2)" = 1 ] || netns_fail "symmetric + cone punched (rc $(rc c2)/$(rc b2)): the lab is not what it claims"
echo "ok 4 - symmetric + cone: no direct path (conntrack filters by address and port)"

# 5: two hosts behind the same NAT (no hairpinning): the LAN candidate wins.
pair a1l "$a1" 198.19.1.2 a2l "$a2" 198.19.1.3
[ "$(rc a1l)" = 0 ] && [ "$(rc a2l)" = 0 ] || netns_fail "two hosts behind one NAT found no path"
grep -q "^direct 198.19.1.3:" "$T/a1l.out" || netns_fail "a1 did not reach a2 on the LAN"
grep -q "^direct 198.19.1.2:" "$T/a2l.out" || netns_fail "a2 did not reach a1 on the LAN"
echo "ok 5 - same NAT: the LAN path works"

# 6: UDP blocked at r5: nothing gets out; TCP still does.
netns_spawn "$hub" python3 "$PUNCH" server 3600 >/dev/null 2>&1
srv=$NETNS_LAST_PID
netns_wait_for 5 listening 3600 || netns_fail "rendezvous on :3600 did not start"
netns_exec "$e" timeout 20 python3 "$PUNCH" client e 198.18.10.2 3600 198.19.5.2 >"$T/e.out" 2>&1
[ $? = 2 ] && grep -q "no answer from the rendezvous" "$T/e.out" || netns_fail "UDP got through r5's block: $(cat "$T/e.out")"
netns_spawn "$hub" python3 -c 'import socket; s=socket.create_server(("0.0.0.0", 3601)); c,_=s.accept(); c.sendall(b"tcp ok")' >/dev/null 2>&1
netns_wait_for 5 listening_tcp 3601 || netns_fail "TCP server on :3601 did not start"
got=$(netns_exec "$e" timeout 5 python3 -c 'import socket; print(socket.create_connection(("198.18.10.2", 3601), 3).recv(16).decode())')
[ "$got" = "tcp ok" ] || netns_fail "TCP did not get through r5 ($got)"
nat_unblock_udp "$r5"
netns_spawn "$hub" python3 "$PUNCH" server 3602 >"$T/server-3602.out" 2>&1
netns_wait_for 5 listening 3602 || netns_fail "rendezvous on :3602 did not start"
netns_exec "$e" timeout 20 python3 "$PUNCH" client e 198.18.10.2 3602 198.19.5.2 >"$T/e2.out" 2>&1 &
netns_wait_for 10 grep -q "e seen as 198.18.5.2" "$T/server-3602.out" || netns_fail "UDP still blocked after nat_unblock_udp"
netns_kill "$srv"
echo "ok 6 - UDP blocked: nothing gets out, TCP does; unblocked, UDP gets out again"
echo "1..6"
