# SPDX-License-Identifier: GPL-2.0-or-later
# Hubs, symmetric nodes and their clients for the netns tests, sourced after
# netns.sh and tap.sh with $B (build root), $T (the test's directory) set.
# Every start waits (bounded) until the daemon says it listens, and calls
# fail (tap.sh) when it does not; $NETNS_LAST_PID is the daemon's PID.
#
#   hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log --keepalive 2
#   client "$c1" c1 198.18.3.1 c1.log       # a client of hub-1
#   cert_hub "$ha" hub-a "$S" 198.19.16.0/20 fd00:19:1::/64
#   cert_client "$c1" c1 -c 198.18.2.1 --server-name hub-a
#   node "$nb" b 198.19.5.2/24             # a symmetric node

# The shared key of the network (a test may set its own first).
: "${KEY:=correct horse battery staple}"

# hubs_started LOG NAME N -> waits until $T/LOG says "listening" more than N
# times (a restarted daemon appends to its log)
hubs_started() {
	netns_wait_for 10 sh -c "[ \$(grep -c 'listening on port' '$T/$1') -gt $3 ]" || fail "$2 did not start"
}

# hubs_listened LOG -> how often $T/LOG says "listening" so far
hubs_listened() { grep -c 'listening on port' "$T/$1" 2>/dev/null; }

# hub NS NAME POOL POOL6 LOG [more server options] -> trellis-server NAME of
# the shared-key network ($KEY) in NS (control socket $T/NAME.sock, state in
# $T/state-NAME, routes 198.19.0.0/16 to its clients), its output appended
# to $T/LOG
hub() {
	local ns=$1 name=$2 pool=$3 pool6=$4 log=$5 n
	shift 5
	mkdir -p "$T/state-$name"
	n=$(hubs_listened "$log")
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --shared-key "$KEY" \
		--control-socket "$T/$name.sock" --state-dir "$T/state-$name" --pool "$pool" \
		--pool6 "$pool6" --route 198.19.0.0/16 "$@" >>"$T/$log" 2>&1
	hubs_started "$log" "$name" "${n:-0}"
}

# client NS NAME HUB LOG [args] -> trellis-client NAME of the shared-key
# network in NS, dialling HUB, its output appended to $T/LOG (it does not wait
# for the connection: the tests wait for what they expect)
client() {
	local ns=$1 name=$2 hub=$3 log=$4
	shift 4
	netns_spawn "$ns" "$B/client/trellis-client" -c "$hub" --shared-key "$KEY" --name "$name" \
		"$@" >>"$T/$log" 2>&1
}

# node NS NAME ADDR [args] -> a symmetric node NAME of the shared-key network
# in NS, tunnel address ADDR, keepalives every 2 s and peers timed out after
# 6 s (control socket $T/NAME.sock, state in $T/state-NAME), its output
# appended to $T/NAME.log
node() {
	local ns=$1 name=$2 addr=$3 n
	shift 3
	mkdir -p "$T/state-$name"
	n=$(hubs_listened "$name.log")
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --shared-key "$KEY" \
		--address "$addr" --state-dir "$T/state-$name" --control-socket "$T/$name.sock" \
		--keepalive 2 --peer-timeout 6 "$@" >>"$T/$name.log" 2>&1
	hubs_started "$name.log" "$name" "${n:-0}"
}

# cert_hub NS NAME PKI POOL POOL6 [args] -> hub NAME of a CA in NS: PKI's
# issued/NAME.crt, the CRL in $S, its output appended to $T/NAME.log; $hub_pid
cert_hub() {
	local ns=$1 name=$2 pki=$3 pool=$4 pool6=$5 n
	shift 5
	n=$(hubs_listened "$name.log")
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --ca "$pki/ca.crt" \
		--cert "$pki/issued/$name.crt" --key "$pki/issued/$name.key" --crl "$S/crl.pem" \
		--pool "$pool" --pool6 "$pool6" --route 198.19.0.0/16 \
		--control-socket "$T/$name.sock" "$@" >>"$T/$name.log" 2>&1
	hub_pid=$NETNS_LAST_PID
	hubs_started "$name.log" "$name" "${n:-0}"
}

# cert_client NS NAME [args] -> trellis-client with the certificate NAME of
# the CA in $S (control socket $T/NAME.sock), its output appended to
# $T/NAME.log; the hubs to dial are in args (it does not wait)
cert_client() {
	local ns=$1 name=$2
	shift 2
	netns_spawn "$ns" "$B/client/trellis-client" --ca "$S/ca.crt" --cert "$S/issued/$name.crt" \
		--key "$S/issued/$name.key" --control-socket "$T/$name.sock" "$@" >>"$T/$name.log" 2>&1
}

# hubs_tun_addr NS -> the IPv4 address of trellis0 in NS (empty without one)
hubs_tun_addr() { ip -n "$1" -4 -o addr show dev trellis0 2>/dev/null | awk '{print $4}' | cut -d/ -f1; }

# hubs_moved SECS LOG HUB N NS ADDR T0 -> waits until the client's LOG says
# "connected to HUB as" N times, then until a ping from NS to ADDR is
# answered; $t_conn and $t_ping: the milliseconds from T0 (date +%s%N) to
# each. Returns 1 if it did not connect, 2 if the ping was not answered.
hubs_moved() {
	local secs=$1 log=$2 hub=$3 n=$4 ns=$5 addr=$6 t0=$7
	netns_wait_for "$secs" sh -c "[ \$(grep -c 'connected to $hub as' '$log') -ge $n ]" || return 1
	t_conn=$(ms_since "$t0")
	netns_wait_for "$secs" netns_exec "$ns" ping -c 1 -W 1 "$addr" || return 2
	t_ping=$(ms_since "$t0")
}
