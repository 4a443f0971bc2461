#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): handshakes per second and the hub's memory per
# session, with N in-process clients on loopback in a throwaway namespace.
#   sudo bench/bench-load.sh [BUILD_DIR] [SESSIONS...]
set -u
cd "$(dirname "$0")/.."
TR_SOURCE_ROOT=$PWD
B=$(realpath "${1:-build}")
shift || true
SIZES=${*:-100 1000 2000}
. tests/lib/netns.sh
[ "$(id -u)" -eq 0 ] || { echo "bench-load: run as root (namespaces, tun)" >&2; exit 1; }
T=$(netns_tmpdir)
KEY="correct horse battery staple"
rss() { awk '/^VmRSS:/{print $2}' /proc/"$1"/status; }

printf '%-9s %-14s %-12s %-14s %-16s\n' sessions handshakes/s "hub RSS 0" "hub RSS N" "KiB per session"
for n in $SIZES; do
	netns_new h "h$n" || exit 1
	netns_spawn "$h" "$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/18 --pool6 none \
		--state-dir "$T/s$n" --control-socket none --max-pending 200 --max-pending-per-source 200 -q \
		>"$T/hub$n.log" 2>&1
	hub=$NETNS_LAST_PID
	netns_wait_for 10 ip -n "$h" link show trellis0 || { echo "hub did not start" >&2; exit 1; }
	sleep 0.5
	base=$(rss "$hub")
	TRELLIS_LOADGEN_HOLD=1 ip netns exec "$h" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 \
		--shared-key "$KEY" -n "$n" --concurrency 100 --timeout 300 >"$T/load$n.out" 2>&1 &
	gen=$!
	NETNS_PIDS+=("$gen")
	netns_wait_for 300 grep -q holding "$T/load$n.out" || { cat "$T/load$n.out"; exit 1; }
	sleep 1
	full=$(rss "$hub")
	hps=$(awk '/^sessions/{print $12}' "$T/load$n.out")
	ok=$(awk '/^sessions/{print $6}' "$T/load$n.out")
	[ "$ok" = "$n" ] || echo "warning: only $ok of $n sessions answered" >&2
	printf '%-9s %-14s %-12s %-14s %-16s\n' "$n" "$hps" "${base} KiB" "${full} KiB" \
		"$(( (full - base) / n ))"
	netns_kill "$gen"
	netns_kill "$hub"
done
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
