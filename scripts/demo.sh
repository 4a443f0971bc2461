#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# A real tunnel on a built-in default, in throwaway network namespaces:
#
#   [c1] 198.18.1.2 ---- 198.18.1.1 [hub] 198.18.2.1 ---- 198.18.2.2 [c2]
#
# The hub runs on its state directory's CA, which it creates on first run
# together with its own certificate; each client gets a certificate from
# `trellis pki issue`. Then: ping through the tunnel, a short throughput run,
# and everything is removed again. Needs root (namespaces, tun devices).
set -u
cd "$(dirname "$0")/.."
TR_SOURCE_ROOT=$PWD
B=${TR_BUILD_ROOT:-$PWD/build}
. tests/lib/netns.sh
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (namespaces and tun devices)" >&2; exit 1; }

T=$(netns_tmpdir)
S=$T/state
die() {
	echo "demo: $*" >&2
	for f in "$T"/*.log; do echo "---- ${f##*/}" >&2; tail -n 20 "$f" >&2; done
	exit 1
}
step() { printf '\n== %s\n' "$*"; }

netns_new hub hub && netns_new c1 c1 && netns_new c2 c2 || die "cannot create namespaces"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || die "veth"
netns_link "$hub" 198.18.2.1/24 "$c2" 198.18.2.2/24 || die "veth"

step "hub: first run creates the network's CA and its own certificate in $S"
netns_spawn "$hub" "$B/server/trellis-server" --state-dir "$S" --name hub >"$T/hub.log" 2>&1
netns_wait_for 20 grep -q "listening on port" "$T/hub.log" || die "the hub did not start"
grep -E "created|issued|listening" "$T/hub.log" | sed 's/^/   /'

step "clients: one certificate each, then connect"
for c in c1 c2; do
	"$B/cli/trellis" pki issue "$c" --state-dir "$S" || die "cannot issue $c"
done
netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.1.1 --server-name hub --ca "$S/ca.crt" \
	--cert "$S/issued/c1.crt" --key "$S/issued/c1.key" >"$T/c1.log" 2>&1
netns_spawn "$c2" "$B/client/trellis-client" -c 198.18.2.1 --server-name hub --ca "$S/ca.crt" \
	--cert "$S/issued/c2.crt" --key "$S/issued/c2.key" >"$T/c2.log" 2>&1
netns_wait_for 20 grep -q "data now over UDP" "$T/c1.log" || die "c1 did not connect"
netns_wait_for 20 grep -q "data now over UDP" "$T/c2.log" || die "c2 did not connect"
grep -h "connected to" "$T/c1.log" "$T/c2.log" | sed 's/^/   /'
a2=$(ip -n "$c2" -4 -o addr show dev trellis0 | awk '{print $4}' | cut -d/ -f1)

step "ping c1 -> hub (198.19.0.1) and c1 -> c2 ($a2) through the tunnel"
netns_exec "$c1" ping -c 3 -i 0.2 198.19.0.1 | tail -n 2 | sed 's/^/   /' || die "ping"
netns_exec "$c1" ping -c 3 -i 0.2 "$a2" | tail -n 2 | sed 's/^/   /' || die "ping"

step "throughput c1 -> c2 through the hub (iperf3, 3 s)"
netns_spawn "$c2" iperf3 -s -1 -B "$a2" >"$T/iperf-server.log" 2>&1
sleep 0.5
netns_exec "$c1" timeout 20 iperf3 -c "$a2" -t 3 -f m >"$T/iperf.log" 2>&1 || die "iperf3"
grep -E "sender|receiver" "$T/iperf.log" | sed 's/^/   /'

step "done: removing the namespaces, processes and state"
