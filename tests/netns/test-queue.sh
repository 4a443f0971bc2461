#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# CoDel on the receiving socket (--queue-target, docs/ARCHITECTURE.md "Planes"):
# a standing queue in the hub's UDP socket makes the hub mark ECN-capable bulk
# packets CE and drop bulk packets that are not ECN capable; small packets and
# an idle path are never touched; --queue-target 0 turns it off.
#
#   [cl] 198.18.3.2 ---- veth ---- 198.18.3.1 [hub]
#   trellis0 198.19.0.x            trellis0 198.19.0.1, receiver on UDP 5002
#
# The client's namespace sends 1200-byte UDP datagrams through the tunnel to
# the hub's tunnel address, half of them ECT(0) and half Not-ECT, 40 byte
# ones among them; the hub is stopped (SIGSTOP) for 600 ms meanwhile, so
# that the datagrams stand in its socket, then continued: reading that
# backlog (about 4,800 datagrams) takes longer than CoDel's interval (20 x
# the 100 us target) with
# every datagram's wait above the target. The receiver counts what arrives by
# its ECN field (IP_RECVTOS); the hub's counters (--stats-file) say what it
# marked and dropped.
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"

KEY="queue test key $RANDOM$RANDOM"
netns_new hub hub || fail "netns"
netns_new cl client || fail "netns"
netns_link "$cl" 198.18.3.2/24 "$hub" 198.18.3.1/24 || fail "veth"

cat >"$T/recv.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_IP, socket.IP_RECVTOS, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.bind(("198.19.0.1", 5002)); s.settimeout(0.5)
n = {"ect": 0, "ce": 0, "not-ect": 0, "small": 0}
open(sys.argv[1], "w").close()
end = time.time() + 20
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(4))
    except socket.timeout:
        if sum(n.values()) and time.time() > last + 1.5: break
        continue
    last = time.time()
    tos = anc[0][2][0] if anc else 0
    if len(data) < 100: n["small"] += 1
    elif tos & 3 == 3: n["ce"] += 1
    elif tos & 3: n["ect"] += 1
    else: n["not-ect"] += 1
print(n["ect"], n["ce"], n["not-ect"], n["small"])
PY
# $1 datagrams of 1200 bytes, one in ten 40 bytes, every other one ECT(0), in about 1.5 s.
cat >"$T/send.py" <<'PY'
import socket, sys, time
count = int(sys.argv[1])
ect = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); ect.setsockopt(socket.SOL_IP, socket.IP_TOS, 2)
plain = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
t0 = time.time()
for i in range(count):
    (ect if i % 2 else plain).sendto(b"x" * (40 if i % 10 == 5 else 1200), ("198.19.0.1", 5002))
    if i % 100 == 99:
        time.sleep(max(0, t0 + 1.5 * (i + 1) / count - time.time()))
PY

# run TARGET: hub and client with --queue-target TARGET, the flood with a 600 ms stop
# of the hub in it; sets SENT ECT CE NOT_ECT SMALL and MARKS DROPS (the hub's counters).
run() {
	local target=$1 hub_pid cl_pid send_pid recv_pid
	rm -f "$T/hub.json" "$T/ready"
	netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/24 \
		--pool6 none --state-dir "$T/state-$target" --control-socket none --threads 1 \
		--queue-target "$target" --stats-file "$T/hub.json" --stats-interval 1 \
		>"$T/hub-$target.log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$T/hub-$target.log" "listening on port" || fail "hub did not start"
	netns_spawn "$cl" "$B/client/trellis-client" -c 198.18.3.1 --shared-key "$KEY" --threads 1 \
		--queue-target "$target" --control-socket none >"$T/client-$target.log" 2>&1
	cl_pid=$NETNS_LAST_PID
	netns_wait_log 20 "$T/client-$target.log" "data now over UDP" || fail "client never reached UDP"
	netns_wait_for 20 netns_exec "$cl" ping -c 1 -W 1 198.19.0.1 || fail "no ping through the tunnel"
	# an idle path first: pings are never held back
	netns_exec "$cl" ping -c 20 -i 0.01 -W 1 198.19.0.1 >/dev/null || fail "idle pings lost"
	netns_spawn "$hub" python3 "$T/recv.py" "$T/ready" >"$T/recv-$target.out"
	recv_pid=$NETNS_LAST_PID
	netns_wait_for 5 test -e "$T/ready" || fail "receiver did not start"
	SENT=12000
	netns_spawn "$cl" python3 "$T/send.py" $SENT
	send_pid=$NETNS_LAST_PID
	sleep 0.4
	[ "${TR_QUEUE_NOSTOP:-}" ] || kill -STOP "$hub_pid"
	sleep 0.6
	kill -CONT "$hub_pid"
	wait "$send_pid" || fail "sender failed"
	wait "$recv_pid" || fail "receiver failed"
	read -r ECT CE NOT_ECT SMALL <"$T/recv-$target.out" || fail "no receiver output"
	sleep 2.2 # the stats file is rewritten every second
	read -r MARKS DROPS < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["dataplane"]
print(d["rx_ce_marks"], d["rx_queue_drops"])' "$T/hub.json") || fail "no hub counters"
	netns_kill "$cl_pid"
	netns_kill "$hub_pid"
	echo "# --queue-target $target: received ECT $ECT, CE $CE, Not-ECT $NOT_ECT, small $SMALL of $SENT; hub marked $MARKS, dropped $DROPS"
}

run 100
[ "$MARKS" -gt 0 ] && [ "$CE" -gt 0 ] || fail "a standing queue of 300 ms marked nothing (hub $MARKS, CE received $CE)"
[ "$CE" -le "$MARKS" ] || fail "more CE received ($CE) than the hub marked ($MARKS)"
ok "--queue-target 100: the standing queue got ECT packets marked CE ($MARKS marked, $CE received with CE)"
[ "$DROPS" -gt 0 ] || fail "no Not-ECT bulk packet was dropped"
[ $((NOT_ECT + DROPS)) -eq $((SENT / 2)) ] || fail "the drops do not add up: $NOT_ECT received + $DROPS dropped of $((SENT / 2)) Not-ECT"
ok "Not-ECT bulk packets were dropped instead ($DROPS), none lost otherwise"
[ "$SMALL" -eq $((SENT / 10)) ] || fail "small packets were lost: $SMALL of $((SENT / 10)) arrived"
ok "no small packet was touched: all $SMALL arrived"
[ $((MARKS + DROPS)) -lt $((SENT * 9 / 20)) ] || fail "CoDel signalled $((MARKS + DROPS)) times: half the stream or more"
ok "not every bulk packet was signalled: $((MARKS + DROPS)) of $((SENT * 9 / 10))"

run 0
[ "$MARKS" -eq 0 ] && [ "$DROPS" -eq 0 ] && [ "$CE" -eq 0 ] ||
	fail "--queue-target 0 still marked $MARKS and dropped $DROPS ($CE CE received)"
[ $((ECT + NOT_ECT + SMALL)) -eq $SENT ] || fail "with CoDel off $((ECT + NOT_ECT + SMALL)) of $SENT arrived"
ok "--queue-target 0: the same standing queue, nothing marked or dropped, all $SENT arrived"
tap_plan
