#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Fair admission: ten established sessions (in-process clients, one echo each
# every 100 ms through the hub) keep every echo answered while 1,000 new
# connections arrive at once and queue for a handshake slot (--max-pending
# 50), and none of the ten is dropped. An answer may take up to 10 s
# (trellis-loadgen --probe-grace): this checks that the sessions already
# there are served, not how fast; the round trips during such a storm are
# bench/bench-load.sh --storm's.
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
B=$TR_BUILD_ROOT
T=$(netns_tmpdir)
N=1000
KEY="correct horse battery staple"
fail() {
	echo "not ok - $*"
	cat "$T/probes.out"
	tail -n 20 "$T/hub.log"
	exit 1
}

netns_new hub storm || fail netns
# Every session comes from 127.0.0.1: the per-source cap (test loris) is
# lifted above the global one, and with it the per-source bound on waiting
# connections (16 x the cap).
netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/20 --pool6 none \
	--state-dir "$T/state" --control-socket none --max-pending 50 --max-pending-per-source 100 -q \
	>"$T/hub.log" 2>&1
hub_pid=$NETNS_LAST_PID
netns_wait_for 10 netns_exec "$hub" ip link show trellis0 || fail "hub did not start"
netns_spawn "$hub" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 --shared-key "$KEY" -n 10 \
	--concurrency 10 --timeout 60 --reconnect --probe 10 --probe-grace 10 --names probe- \
	>"$T/probes.out" 2>&1
probes=$NETNS_LAST_PID
netns_wait_for 60 grep -q holding "$T/probes.out" || fail "the ten sessions did not come up"
sleep 1
kill -USR1 "$probes" # the interval before the storm
netns_exec "$hub" "$B/tests/trellis-loadgen" -c 127.0.0.1:3210 --shared-key "$KEY" -n "$N" \
	--concurrency "$N" --timeout 120 >"$T/storm.out" 2>"$T/storm.err"
rc=$?
kill -USR1 "$probes" # the storm's interval
cat "$T/storm.out"
head -n 5 "$T/storm.err"
[ $rc -eq 0 ] || fail "the storm's load generator exited $rc"
grep -q "^sessions $N configured $N answered $N failed 0 " "$T/storm.out" || fail "not every new session completed"
# Each interval's line comes --probe-grace (10 s) after its end.
netns_wait_for 30 sh -c "[ \$(grep -c '^probes up-interval' '$T/probes.out') -ge 2 ]" ||
	fail "the probes' figures did not come"
cat "$T/probes.out"
line=$(grep '^probes up-interval' "$T/probes.out" | sed -n 2p)
set -- $line
# probes up-interval sent S answered A lost_percent L ... cut C sessions_lost K
sent=$4 answered=$6 cut=${16} lost_sessions=${18}
[ "$sent" -gt 0 ] || fail "no echo was sent during the storm"
[ "$cut" = 0 ] && [ "$lost_sessions" = 0 ] || fail "an established session lost the hub during the storm"
[ "$answered" = "$sent" ] || fail "$((sent - answered)) of $sent echoes of the established sessions went unanswered during the storm"
kill -0 "$hub_pid" || fail "the hub died"
echo "ok 1 - while $N new connections handshook, the ten established sessions had all $sent echoes answered and none was dropped"
echo "1..1"
