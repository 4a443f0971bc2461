# SPDX-License-Identifier: GPL-2.0-or-later
# Hubs and their clients for the netns tests, sourced after netns.sh (and
# used after tap.sh) with $B (build root), $T (the test's directory) set.
# Hubs of one shared-key network ($KEY):
#   hub NS NAME POOL POOL6 LOG [more server options]
# starts trellis-server NAME in namespace NS (control socket $T/NAME.sock,
# state in $T/state-NAME, routes 198.19.0.0/16 to its clients), its output
# appended to $T/LOG; $NETNS_LAST_PID is its PID.
hub() {
	local ns=$1 name=$2 pool=$3 pool6=$4 log=$5
	shift 5
	mkdir -p "$T/state-$name"
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --shared-key "$KEY" \
		--control-socket "$T/$name.sock" --state-dir "$T/state-$name" --pool "$pool" \
		--pool6 "$pool6" --route 198.19.0.0/16 "$@" >>"$T/$log" 2>&1
}

# cert_hub NS NAME PKI POOL POOL6 [args] -> hub NAME of a CA in NS: PKI's
# issued/NAME.crt, the CRL in $S, its output in $T/NAME.log; $hub_pid
cert_hub() {
	local ns=$1 name=$2 pki=$3 pool=$4 pool6=$5
	shift 5
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --ca "$pki/ca.crt" \
		--cert "$pki/issued/$name.crt" --key "$pki/issued/$name.key" --crl "$S/crl.pem" \
		--pool "$pool" --pool6 "$pool6" --route 198.19.0.0/16 \
		--control-socket "$T/$name.sock" "$@" >>"$T/$name.log" 2>&1
	hub_pid=$NETNS_LAST_PID
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
