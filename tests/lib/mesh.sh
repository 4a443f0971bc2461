# SPDX-License-Identifier: GPL-2.0-or-later
# Real daemons for the mesh's netns tests (sourced after lab.sh; it sources
# nat.sh and skips without nft): a hub at 198.18.10.2 and its clients, with
# certificates from a PKI in $S, logs and control sockets in $T, programs
# from $B. Every wait is bounded; a start that does
# not come up calls fail (tap.sh).
#
#   mesh_pki a b                 # CA, the hub's certificate, a's and b's
#   mesh_lab cone                # $hub, $a behind $r1, $b behind $r2
#   mesh_hub "$hub" hub.log      # $hub_pid
#   mesh_client "$a" a a.log     # $client_pid
#   mesh_pair a 'p["path"]'      # a's first pair, from its status

. "$TR_SOURCE_ROOT/tests/lib/nat.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
nat_require

# Where clients reach the hub (an IPv6 lab sets "[fd00:...]") and what a
# client's log says once it is ready (a lab where UDP cannot pass waits for
# "connected to" only).
MESH_HUB=198.18.10.2
MESH_CLIENT_READY="data now over UDP"

# mesh_lab MODE -> the mesh tests' lab on nat.sh's internet ($NAT_INET): the
# hub $hub at 198.18.10.2, and two clients a and b whose addresses on the
# internet are 198.18.1.2 and 198.18.2.2:
#   public  $a and $b are on the internet themselves
#   cone    $a 198.19.1.2 behind the cone router $r1, $b 198.19.2.2 behind
#           the cone router $r2
#   four    cone, and $a2 198.19.1.3 beside $a behind $r1, $c 198.19.3.2 and
#           $d 198.19.4.2 behind the symmetric routers $r3 (198.18.3.2) and
#           $r4 (198.18.4.2)
mesh_lab() {
	case "$1" in public | cone | four) ;; *)
		netns_log "mesh_lab: mode '$1', expected public, cone or four"
		return 1
		;;
	esac
	nat_internet || return 1
	netns_new hub hub && nat_attach "$hub" 10 || return 1
	if [ "$1" = public ]; then
		netns_new a a && nat_attach "$a" 1 && netns_new b b && nat_attach "$b" 2
		return
	fi
	nat_router r1 r1 1 cone && nat_host a a "$r1" 1 2 || return 1
	nat_router r2 r2 2 cone && nat_host b b "$r2" 2 2 || return 1
	[ "$1" = four ] || return 0
	nat_host a2 a2 "$r1" 1 3 || return 1
	nat_router r3 r3 3 symmetric && nat_host c c "$r3" 3 2 || return 1
	nat_router r4 r4 4 symmetric && nat_host d d "$r4" 4 2
}

# mesh_pki NAME[=SUBNET]... -> the mesh tests' PKI in $S: pki_network (pki.sh)
mesh_pki() { pki_network "$S" "$@"; }

# mesh_hub NS LOG [args] -> the hub in NS (pool 198.19.100.0/24, no IPv6
# pool), its output in $T/LOG (emptied first), $hub_pid; waits until it listens
mesh_hub() {
	local ns=$1 log=$2
	shift 2
	netns_spawn "$ns" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
		--key "$S/issued/hub.key" --pool 198.19.100.0/24 --pool6 none \
		--control-socket "$T/hub.sock" "$@" >"$T/$log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_for 10 grep -q "listening on port" "$T/$log" || fail "hub did not start"
}

# mesh_client NS NAME LOG [args] -> client NAME (certificate NAME) in NS,
# connected to $MESH_HUB, its output in $T/LOG (emptied first), control
# socket $T/NAME.sock, $client_pid; waits until LOG says $MESH_CLIENT_READY
mesh_client() {
	local ns=$1 name=$2 log=$3
	shift 3
	netns_spawn "$ns" "$B/client/trellis-client" -c "$MESH_HUB" --server-name hub \
		--ca "$S/ca.crt" --cert "$S/issued/$name.crt" --key "$S/issued/$name.key" \
		--control-socket "$T/$name.sock" "$@" >"$T/$log" 2>&1
	client_pid=$NETNS_LAST_PID
	netns_wait_for 15 grep -q "$MESH_CLIENT_READY" "$T/$log" || fail "$name did not connect"
}

# mesh_client_addr LOG -> the tunnel address (IPv4) the client's $T/LOG says
# it was given last
mesh_client_addr() {
	sed -n 's/.*connected to .* address \([0-9.]*\)\/.*/\1/p' "$T/$1" | tail -n 1
}

# mesh_status NAME -> `trellis status --json` of the daemon at $T/NAME.sock
mesh_status() { "$B/cli/trellis" status --json --socket "$T/$1.sock"; }

# mesh_pair NAME EXPR -> EXPR (Python) on client NAME's first pair, p, from its status
mesh_pair() {
	mesh_status "$1" |
		python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["pairs"][0]; print(eval(sys.argv[1]))' "$2"
}

# mesh_capture NS IF FILE FILTER... -> tcpdump in the background (every packet
# written at once), $cap_pid; waits until it listens
mesh_capture() {
	local ns=$1 ifc=$2 file=$3
	shift 3
	netns_spawn "$ns" tcpdump --immediate-mode -i "$ifc" -w "$file" -U -n "$@" 2>"$file.err"
	cap_pid=$NETNS_LAST_PID
	netns_wait_for 5 grep -q "listening" "$file.err" || fail "tcpdump did not start on $ifc"
}

# mesh_captured FILE -> how many packets the capture FILE holds
mesh_captured() { tcpdump -r "$1" -n 2>/dev/null | wc -l; }
