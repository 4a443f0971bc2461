#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Slow-loris (issue 16, item 6): an unauthenticated attacker holds as many
# TCP connections as it can that never start TLS, reopening each one the
# hub closes. From one address (500 connections), then from ten (200: each
# at the per-source cap, together more than the global cap), a legitimate
# client must still connect within a few seconds.
#
#   [c1] 198.18.1.2 ---- 198.18.1.1 [hub] 198.18.2.1 ---- 198.18.2.2..11 [atk]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
HOSTILE=$TR_SOURCE_ROOT/tests/netns/hostile.py
MAX_CONNECT_S=5 # a legitimate client connects within this, flood or not

netns_new hub hub && netns_new c1 c1 && netns_new atk atk || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link c1"
netns_link "$hub" 198.18.2.1/24 "$atk" 198.18.2.2/24 || fail "link atk"
atk_if=$NETNS_IFB
for i in $(seq 3 11); do ip -n "$atk" addr add "198.18.2.$i/24" dev "$atk_if" || fail "address"; done
(umask 077 && "$B/cli/trellis" genkey >"$T/network.key") || fail "genkey"
netns_spawn "$hub" "$B/server/trellis-server" --shared-key-file "$T/network.key" --state-dir "$T/state" \
	>"$T/hub.log" 2>&1
hub_pid=$NETNS_LAST_PID
netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"

# flood NAME CONNECTIONS SOURCES: the attacker runs 15 s; a client starts
# after 4 s (the attacker holds all it can by then) and must be connected
# within MAX_CONNECT_S.
flood() {
	netns_exec "$atk" timeout 60 python3 "$HOSTILE" hold 198.18.2.1 3210 "$2" 15 "$3" >"$T/$1.out" 2>&1 &
	local atk_pid=$! start elapsed_ms
	NETNS_PIDS+=("$atk_pid")
	sleep 4
	pending=$(ls "/proc/$hub_pid/fd" | wc -l)
	start=$(date +%s%N)
	netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.1.1 --shared-key-file "$T/network.key" \
		--name "$1" -d "t$1%d" --retry-max 1 --control-socket none >"$T/$1.log" 2>&1
	local client_pid=$NETNS_LAST_PID
	netns_wait_for $((MAX_CONNECT_S + 5)) grep -q "connected to" "$T/$1.log"
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	netns_kill "$client_pid"
	wait "$atk_pid"
	grep -q "connected to" "$T/$1.log" || fail "$1 did not connect during the flood ($(cat "$T/$1.out"))"
	[ "$elapsed_ms" -lt $((MAX_CONNECT_S * 1000)) ] || fail "$1 took $elapsed_ms ms to connect during the flood"
	echo "# $1: connected in $elapsed_ms ms; hub fds during the flood: $pending; attacker: $(cat "$T/$1.out")"
}
flood one 500 198.18.2.2
ok "500 silent connections from one address: a client still connects within $MAX_CONNECT_S s"
flood many 200 "$(seq -s, -f '198.18.2.%g' 2 11)"
ok "silent connections from ten addresses (more than the global cap): a client still connects within $MAX_CONNECT_S s"
lines=$(grep -c "pending" "$T/hub.log")
[ "$lines" -le 40 ] || fail "$lines log lines about pending handshakes"
ok "the hub's log about the floods stayed bounded ($lines lines)"
tap_plan
