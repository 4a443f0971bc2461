# SPDX-License-Identifier: GPL-2.0-or-later
# Real daemons for the mesh's netns tests (sourced after netns.sh): a hub
# at 198.18.10.2 and its clients, with certificates from a PKI in $S, logs
# and control sockets in $T, programs from $B. The caller defines fail().

# mesh_pki NAME[=SUBNET]... -> a CA in $S, the hub's server certificate, a
# client certificate per NAME (granting SUBNET where given)
mesh_pki() {
	local x
	"$B/cli/trellis" pki init --state-dir "$S" >/dev/null || return 1
	"$B/cli/trellis" pki issue hub --server --state-dir "$S" >/dev/null || return 1
	for x in "$@"; do
		if [ "${x#*=}" != "$x" ]; then
			"$B/cli/trellis" pki issue "${x%%=*}" --subnet "${x#*=}" --state-dir "$S" >/dev/null || return 1
		else
			"$B/cli/trellis" pki issue "$x" --state-dir "$S" >/dev/null || return 1
		fi
	done
}

# mesh_hub NS LOG [args] -> the hub in NS (pool 198.19.100.0/24), $hub_pid
mesh_hub() {
	local ns=$1 log=$2
	shift 2
	netns_spawn "$ns" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
		--key "$S/issued/hub.key" --pool 198.19.100.0/24 --pool6 none \
		--control-socket "$T/hub.sock" "$@" >"$T/$log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_for 10 grep -q "listening on port" "$T/$log" || fail "hub did not start"
}

# mesh_client NS NAME LOG [args] -> client NAME in NS, connected over UDP; $client_pid
mesh_client() {
	local ns=$1 name=$2 log=$3
	shift 3
	netns_spawn "$ns" "$B/client/trellis-client" -c 198.18.10.2 --server-name hub \
		--ca "$S/ca.crt" --cert "$S/issued/$name.crt" --key "$S/issued/$name.key" \
		--control-socket "$T/$name.sock" "$@" >"$T/$log" 2>&1
	client_pid=$NETNS_LAST_PID
	netns_wait_for 15 grep -q "data now over UDP" "$T/$log" || fail "$name did not connect"
}

# mesh_pair NAME EXPR -> EXPR (Python) on client NAME's first pair, p, from its status
mesh_pair() {
	"$B/cli/trellis" status --json --socket "$T/$1.sock" |
		python3 -c 'import json,sys; p=json.load(sys.stdin)[0]["pairs"][0]; print(eval(sys.argv[1]))' "$2"
}

# mesh_capture NS IF FILE FILTER... -> tcpdump in the background (every packet
# written at once), $cap_pid
mesh_capture() {
	local ns=$1 ifc=$2 file=$3
	shift 3
	netns_spawn "$ns" tcpdump --immediate-mode -i "$ifc" -w "$file" -U -n "$@" 2>"$file.err"
	cap_pid=$NETNS_LAST_PID
	netns_wait_for 5 grep -q "listening" "$file.err" || fail "tcpdump did not start on $ifc"
}
