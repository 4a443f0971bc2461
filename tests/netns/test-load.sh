#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Load: 1000 concurrent sessions from in-process clients (one data plane on a
# test device, no OS device) to one hub on loopback. Every one completes the
# handshake and gets an ICMP echo answered through the tunnel by the hub's
# kernel; none is dropped. Figures
# (handshakes per second, memory per session) belong to bench/bench-load.sh,
# not to this test.
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
B=$TR_BUILD_ROOT
T=$(netns_tmpdir)
N=${TRELLIS_LOAD_SESSIONS:-1000}
KEY="correct horse battery staple"
fail() {
	echo "not ok - $*"
	tail -n 30 "$T/hub.log"
	exit 1
}

netns_new hub hub || fail netns
# Every session comes from one address (127.0.0.1): the per-source cap on
# pending handshakes (a slow-loris defence, test loris) is lifted to the
# global one here.
netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/20 --pool6 none \
	--state-dir "$T/state" --control-socket none --max-pending 100 --max-pending-per-source 100 -q \
	>"$T/hub.log" 2>&1
hub_pid=$NETNS_LAST_PID
netns_wait_for 10 netns_exec "$hub" ip link show trellis0 || fail "hub did not start"
sleep 0.5
netns_exec "$hub" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 --shared-key "$KEY" -n "$N" \
	--concurrency 50 --timeout 150 >"$T/load.out" 2>"$T/load.err"
rc=$?
cat "$T/load.out"
head -n 10 "$T/load.err"
[ $rc -eq 0 ] || fail "load generator exited $rc"
grep -q "^sessions $N configured $N answered $N failed 0 " "$T/load.out" || fail "not every session completed"
kill -0 "$hub_pid" || fail "the hub died"
echo "ok 1 - $N concurrent sessions: all completed the handshake and exchanged data, none dropped"
echo "1..1"
