#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): handshakes per second and the hub's memory per
# session, with N in-process clients on loopback in a throwaway namespace.
#   sudo bench/bench-load.sh [BUILD_DIR] [SESSIONS...]
# The reconnection storm: N sessions up (100 of them probes, an echo every
# 100 ms), the hub killed (SIGKILL) and started again at once; how long until
# every session is back, and what the probes saw meanwhile.
#   sudo bench/bench-load.sh --storm [BUILD_DIR] [SESSIONS]
# HUB_BUILD=DIR takes the hub from another build (the load generator stays
# BUILD_DIR's): a side-by-side comparison of two hubs under the same load.
# The hub's data-channel cipher is AES-256-GCM (BENCH_CRYPTO=chacha20-poly1305
# for the other): by default a hub picks the faster by a 12 ms measurement at
# start, which a busy machine can tip either way, and the two differ in memory.
# LINKED=1: the hub is linked (--connect, shared key) to a second hub in a
# namespace of its own, as in a network of several hubs: every client's
# claim is then also a route the hubs' graph sync looks at.
# "hub CPU ms/hs": the hub's CPU time (user + system) over the load, per
# handshake: steadier than handshakes/s on a shared machine. "gen CPU ms/hs":
# the load generator's, from its start (its clients' side of each session on
# the same cores: the two together bound the rate the cores allow).
# The load generator does the clients' handshakes on one thread per core
# (--handshake-threads 0), as the hub does its own: one thread of clients
# could not keep a hub on both cores busy.
set -u
cd "$(dirname "$0")/.."
TR_SOURCE_ROOT=$PWD
STORM=0
if [ "${1:-}" = --storm ]; then
	STORM=1
	shift
fi
B=$(realpath "${1:-build}")
shift || true
SIZES=${*:-100 1000 2000}
[ "$STORM" = 1 ] && SIZES=${1:-10000}
. tests/lib/netns.sh
[ "$(id -u)" -eq 0 ] || { echo "bench-load: run as root (namespaces, tun)" >&2; exit 1; }
T=$(netns_tmpdir)
KEY="correct horse battery staple"
rss() { awk '/^VmRSS:/{print $2}' /proc/"$1"/status; }
now() { date +%s.%N; }

# hub NS N: starts the hub in NS (state in $T/sN), its PID in $hub. Every
# session comes from 127.0.0.1 here, where real ones come from thousands of
# addresses: the per-source cap is lifted above the global one.
hub_start() {
	local linked=()
	[ "${LINKED:-0}" = 1 ] && linked=(--name bench-hub -c 198.18.250.2)
	netns_spawn "$1" "${HUB_BUILD:-$B}/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/18 --pool6 none \
		--state-dir "$T/s$2" --control-socket none --max-pending 200 --max-pending-per-source 100000 -q \
		--crypto "${BENCH_CRYPTO:-aes256-gcm}" "${linked[@]}" >>"$T/hub$2.log" 2>&1
	hub=$NETNS_LAST_PID
	netns_wait_for 10 ip -n "$1" link show trellis0 || { echo "hub did not start" >&2; exit 1; }
}
# peer_start NS N (LINKED=1): the second hub, in a namespace linked to NS,
# which the hub started next dials; waits until the two are linked.
peer_start() {
	[ "${LINKED:-0}" = 1 ] || return 0
	netns_new p "p$2" || exit 1
	netns_link "$1" 198.18.250.1/24 "$p" 198.18.250.2/24 || exit 1
	netns_spawn "$p" "${HUB_BUILD:-$B}/server/trellis-server" --shared-key "$KEY" --name bench-peer \
		--pool 198.19.128.0/18 --pool6 none --state-dir "$T/p$2" --control-socket none >>"$T/peer$2.log" 2>&1
	peer=$NETNS_LAST_PID
	netns_wait_for 10 grep -q "listening" "$T/peer$2.log" || { echo "peer hub did not start" >&2; exit 1; }
}
peer_linked() {
	[ "${LINKED:-0}" = 1 ] || return 0
	netns_wait_for 20 grep -q "node bench-hub connected" "$T/peer$1.log" ||
		{ echo "the hubs did not link" >&2; cat "$T/peer$1.log" >&2; exit 1; }
}
# Issue 24's fair admission: a storm of new or returning connections must not
# starve the sessions already there. Their echoes' loss excludes those cut by
# the hub's kill (sent before their session saw its connection go).
PROBE_LOST_MAX=0.1
PROBE_P99_MAX=20
PROBE_TARGET="< $PROBE_LOST_MAX % of echoes lost, p99 round trip <= $PROBE_P99_MAX ms"
# probe_verdict WHAT FIRST LAST: the probes' lines FIRST to LAST (in the order
# printed) together: echoes lost, the worst line's p99, and the verdict.
probe_verdict() {
	grep '^probes ' "$T/probes.out" | awk -v what="$1" -v a="$2" -v b="$3" -v lmax="$PROBE_LOST_MAX" \
		-v pmax="$PROBE_P99_MAX" '
		{ for (i = 2; i < NF; i++) v[$i] = $(i + 1) }
		NR >= a && NR <= b {
			n = v["sent"] - v["cut"]; sent += n; lost += n - (v["answered"] < n ? v["answered"] : n)
			if (v["rtt_p99_ms"] > p99) p99 = v["rtt_p99_ms"]; seen = 1 }
		END {
			if (!seen || sent == 0) { printf "probes %s: no figures\n", what; exit }
			pct = 100 * lost / sent
			printf "probes %s: %.1f %% lost (%d of %d), p99 %.1f ms: %s\n", what, pct, lost, sent, p99,
				pct < lmax && p99 <= pmax ? "not starved" : "STARVED" }'
}
# cpu_ms PID: the process's CPU time so far (user + system), in ms.
cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / t)}' /proc/"$1"/stat; }

if [ "$STORM" = 1 ]; then
	n=${SIZES%% *}
	netns_new h "storm$n" || exit 1
	hub_start "$h" "$n"
	# 100 established sessions whose echoes (every 100 ms) show what the storms
	# do to the sessions already there; a process of their own, so that the
	# storm's client side does not delay them, and ahead of every other
	# process here for the CPU (nice -10): real clients have CPUs of their own,
	# and on these shared cores the probes would otherwise measure their own
	# wait for a core as much as the hub's.
	ip netns exec "$h" nice -n -10 "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 --shared-key "$KEY" -n 100 \
		--concurrency 100 --timeout 60 --reconnect --probe 100 --names probe- >"$T/probes.out" 2>&1 &
	probes=$!
	NETNS_PIDS+=("$probes")
	netns_wait_for 60 grep -q holding "$T/probes.out" || { cat "$T/probes.out"; exit 1; }
	sleep 1
	kill -USR1 "$probes" # (the quiet second)
	ip netns exec "$h" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 --shared-key "$KEY" -n "$n" \
		--concurrency 100 --timeout 300 --reconnect --progress >"$T/storm.out" 2>&1 &
	gen=$!
	NETNS_PIDS+=("$gen")
	netns_wait_for 300 grep -q holding "$T/storm.out" || { cat "$T/storm.out"; exit 1; }
	kill -USR1 "$probes" # while the N connected
	sleep 3
	kill -USR1 "$probes" # all up
	t_kill=$(now)
	kill -KILL "$hub"
	wait "$hub" 2>/dev/null
	netns_wait_for 10 sh -c "! ip -n $h link show trellis0" || { echo "the killed hub's device stays" >&2; exit 1; }
	hub_start "$h" "$n"
	t_up=$(now)
	netns_wait_for 120 grep -q '^back' "$T/storm.out" || echo "not all sessions came back within 120 s" >&2
	kill -USR1 "$probes" # from their own return until every session was back
	# An interval's line comes a second after its end (late answers count in it).
	netns_wait_for 10 sh -c "[ \$(grep -c '^probes ' '$T/probes.out') -ge 7 ]" ||
		echo "the probes' last figures did not come" >&2
	echo "== the storm's $n sessions"
	cat "$T/storm.out"
	echo "== the 100 probe sessions (lines in order: their own connect; up-intervals: a quiet second, while the $n connected, 3 s all up; up: to the kill; storm: to their own return; up-interval: after it until all $n were back)"
	cat "$T/probes.out"
	back=$(awk '/^back/{print $5; exit}' "$T/storm.out")
	if [ -n "$back" ]; then
		awk -v k="$t_kill" -v u="$t_up" -v b="$back" 'BEGIN {
			printf "hub down (SIGKILL to listening again): %.2f s\n", u - k
			printf "every session back: %.2f s after the first loss, %.2f s after the hub listened again\n", b, b - (u - k) }'
	fi
	echo "== the namespace's TCP counters (listen queue overflows: connections the kernel dropped before the hub accepted them)"
	ip netns exec "$h" nstat -az TcpExtListenOverflows TcpExtListenDrops TcpExtTCPReqQFullDrop TcpExtTCPTimeouts 2>/dev/null | tail -n +2
	echo "== UDP datagrams the kernel dropped (full receive or send buffers, the hub's and the load generators'), and the hub's device"
	ip netns exec "$h" nstat -az UdpRcvbufErrors UdpSndbufErrors UdpInErrors 2>/dev/null | tail -n +2
	ip -n "$h" -s link show trellis0 | awk '/RX:|TX:/{getline; print "trellis0 " (++i == 1 ? "RX" : "TX") " packets " $2 " dropped " $4}'
	echo "== the restarted hub's admission log (rate-limited)"
	grep "too many pending\\|handshake queue\\|refused at admission\\|cannot accept" "$T/hub$n.log" | tail -n 8
	echo "== fair admission: what the 100 established probe sessions saw (target: $PROBE_TARGET)"
	probe_verdict "while the $n sessions first connected" 3 3
	probe_verdict "in the reconnection storm, from their own return until all $n were back" 6 7
	netns_kill "$probes"
	netns_kill "$gen"
	netns_kill "$hub"
	echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo), load $(cut -d' ' -f1-3 /proc/loadavg)"
	exit 0
fi

printf '%-9s %-14s %-12s %-14s %-16s %-14s %-14s\n' sessions handshakes/s "hub RSS 0" "hub RSS N" "KiB per session" \
	"hub CPU ms/hs" "gen CPU ms/hs"
for n in $SIZES; do
	netns_new h "h$n" || exit 1
	peer_start "$h" "$n"
	hub_start "$h" "$n"
	peer_linked "$n"
	sleep 0.5
	base=$(rss "$hub")
	cpu0=$(cpu_ms "$hub")
	TRELLIS_LOADGEN_HOLD=1 ip netns exec "$h" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 \
		--shared-key "$KEY" -n "$n" --concurrency 100 --timeout 300 --handshake-threads 0 >"$T/load$n.out" 2>&1 &
	gen=$!
	NETNS_PIDS+=("$gen")
	netns_wait_for 300 grep -q holding "$T/load$n.out" || { cat "$T/load$n.out"; exit 1; }
	sleep 1
	full=$(rss "$hub")
	cpu=$(( $(cpu_ms "$hub") - cpu0 ))
	gcpu=$(cpu_ms "$gen")
	hps=$(awk '/^sessions/{print $12}' "$T/load$n.out")
	ok=$(awk '/^sessions/{print $6}' "$T/load$n.out")
	[ "$ok" = "$n" ] || echo "warning: only $ok of $n sessions answered" >&2
	printf '%-9s %-14s %-12s %-14s %-16s %-14s %-14s\n' "$n" "$hps" "${base} KiB" "${full} KiB" \
		"$(awk -v f="$full" -v b="$base" -v n="$n" 'BEGIN { printf "%.2f", (f - b) / n }')" \
		"$(awk -v c="$cpu" -v n="$n" 'BEGIN {printf "%.3f", c / n}')" \
		"$(awk -v c="$gcpu" -v n="$n" 'BEGIN {printf "%.3f", c / n}')"
	[ "$n" -ge 10000 ] && per_10k=$(awk -v f="$full" -v b="$base" -v n="$n" 'BEGIN { print (f - b) / n }')
	netns_kill "$gen"
	netns_kill "$hub"
	[ "${LINKED:-0}" = 1 ] && netns_kill "$peer"
done
# Issue 24's memory target: <= 16 KiB of hub RSS per idle session at 10,000 sessions.
if [ -n "${per_10k:-}" ]; then
	awk -v k="$per_10k" 'BEGIN { printf "memory at 10,000 sessions or more: %.2f KiB per idle session (target <= 16): %s\n", k, k <= 16 ? "met" : "NOT met" }'
fi
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
