#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The express queue (--express-size, docs/ARCHITECTURE.md "Planes"): the
# device gets a queue more than the workers (two here, so three queues), and
# packets into the tunnel no longer than the express size (a ping, a TCP ACK,
# DNS, a call's audio) go to that last queue, which every worker reads, every
# longer one to the workers' queues, so the short ones never wait in a ring
# behind a stream's bulk; --express-size 0: two queues, and the kernel's own
# choice (the queue that last wrote the flow: a flow's short and long packets
# in one queue).
#
#   [cl] 198.18.4.2 ---- veth ---- 198.18.4.1 [hub]
#   trellis0 198.19.0.x            trellis0 198.19.0.1
#
# Last, the hub started as nobody with CAP_NET_ADMIN and CAP_BPF: the queue is
# made, and the daemon keeps CAP_NET_ADMIN only.
#
# The client's namespace pings the hub's tunnel address with 84-byte and then
# with 1228-byte packets (one ICMP flow: the kernel's own choice puts both on
# one queue), then sends 100 short TCP segments (10 bytes of data each: bulk
# all the same, so that no segment overtakes another of its connection); the
# client's device counts what each of its queues carried (its mq qdisc's
# children).
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"

KEY="express test key $RANDOM$RANDOM"
netns_new hub hub || fail "netns"
netns_new cl client || fail "netns"
netns_link "$cl" 198.18.4.2/24 "$hub" 198.18.4.1/24 || fail "veth"

cat >"$T/tcp.py" <<'PY'
import socket, sys, time
if sys.argv[1] == "listen":
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.19.0.1", 5003)); s.listen(1); open(sys.argv[2], "w").close(); s.settimeout(20)
    c, _ = s.accept(); c.settimeout(20); n = 0
    while n < 1000:
        d = c.recv(4096)
        if not d: break
        n += len(d)
    print(n)
else:
    c = socket.create_connection(("198.19.0.1", 5003), timeout=10)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    for i in range(100):
        c.send(b"0123456789"); time.sleep(0.005)
    c.close()
PY

# Packets the client's trellis0 carried so far: "workers' queues, the last queue"
# (with --express-size 0 the second worker's queue is the last one).
queue_packets() {
	netns_exec "$cl" tc -s -j qdisc show dev trellis0 | python3 -c '
import json, sys
q = {int(d["parent"][1:], 16): d["packets"] for d in json.load(sys.stdin) if d.get("parent", "").startswith(":")}
print(sum(q.values()) - q[max(q)], q[max(q)], len(q))'
}

# run SIZE: hub and client with --threads 2 --express-size SIZE; 200 short then
# 200 long pings, then the TCP segments; sets QUEUES and SHORT1 SHORT2 LONG1 LONG2 TCP1 TCP2
# (packets on the workers' queues, on the last queue).
run() {
	local size=$1 hub_pid cl_pid a1 a2 b1 b2 c1 c2
	netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/24 \
		--pool6 none --state-dir "$T/state-$size" --control-socket none --threads 2 \
		--express-size "$size" >"$T/hub-$size.log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$T/hub-$size.log" "listening on port" || fail "hub did not start"
	netns_spawn "$cl" "$B/client/trellis-client" -c 198.18.4.1 --shared-key "$KEY" --threads 2 \
		--express-size "$size" --control-socket none >"$T/client-$size.log" 2>&1
	cl_pid=$NETNS_LAST_PID
	netns_wait_log 20 "$T/client-$size.log" "data now over UDP" || fail "client never reached UDP"
	netns_wait_for 20 netns_exec "$cl" ping -c 1 -W 1 198.19.0.1 || fail "no ping through the tunnel"
	if grep -q "no express queue" "$T/hub-$size.log" "$T/client-$size.log"; then
		grep -h "no express queue" "$T/hub-$size.log" "$T/client-$size.log" >&2
		fail "the express queue was refused"
	fi
	read -r a1 a2 QUEUES < <(queue_packets) || fail "no queue counters"
	netns_exec "$cl" ping -c 200 -i 0.005 -W 1 -s 56 198.19.0.1 >/dev/null || fail "short pings lost"
	read -r b1 b2 _ < <(queue_packets) || fail "no queue counters"
	netns_exec "$cl" ping -c 200 -i 0.005 -W 1 -s 1200 198.19.0.1 >/dev/null || fail "long pings lost"
	read -r c1 c2 _ < <(queue_packets) || fail "no queue counters"
	rm -f "$T/listening"
	netns_spawn "$hub" python3 "$T/tcp.py" listen "$T/listening" >"$T/tcp-$size.out"
	netns_wait_for 5 test -e "$T/listening" || fail "no TCP listener"
	netns_exec "$cl" python3 "$T/tcp.py" send || fail "TCP sender failed"
	wait "$NETNS_LAST_PID" && [ "$(cat "$T/tcp-$size.out")" = 1000 ] || fail "the TCP data did not all arrive"
	read -r d1 d2 _ < <(queue_packets) || fail "no queue counters"
	SHORT1=$((b1 - a1)) SHORT2=$((b2 - a2)) LONG1=$((c1 - b1)) LONG2=$((c2 - b2))
	TCP1=$((d1 - c1)) TCP2=$((d2 - c2))
	netns_kill "$cl_pid"
	netns_kill "$hub_pid"
	echo "# --express-size $size: $QUEUES queues; 200 short pings went to the workers' queues: $SHORT1, the last one: $SHORT2; 200 long ones: $LONG1, $LONG2; TCP (100 short data segments, the handshake, ACKs): $TCP1, $TCP2"
}

run 256
[ "$QUEUES" -eq 3 ] || fail "two workers with an express queue: $QUEUES queues, not 3"
# (the kernel's own packets, neighbour and router messages, are short too: a few more)
[ "$SHORT2" -ge 200 ] && [ "$SHORT1" -le 5 ] || fail "short pings not on the express queue (workers' queues: $SHORT1, the last: $SHORT2)"
ok "--express-size 256: 3 queues; the short pings went to the last one ($SHORT2 packets there, $SHORT1 on the workers')"
[ "$LONG1" -ge 200 ] && [ "$LONG2" -le 5 ] || fail "long pings on the express queue (workers' queues: $LONG1, the last: $LONG2)"
ok "the long pings of the same flow went to the workers' queues ($LONG1 packets there, $LONG2 on the express one)"
[ "$TCP1" -ge 100 ] || fail "short TCP data segments on the express queue (workers' queues: $TCP1, the last: $TCP2)"
[ "$TCP2" -ge 2 ] || fail "the TCP connection's handshake and ACKs not on the express queue (the last: $TCP2)"
ok "short TCP segments with data stayed on the bulk queue ($TCP1), the handshake and pure ACKs went ahead ($TCP2)"

run 0
[ "$QUEUES" -eq 2 ] || fail "two workers without an express queue: $QUEUES queues, not 2"
if [ "$SHORT1" -ge 200 ]; then short_q=1; else short_q=2; fi
if [ "$LONG1" -ge 200 ]; then long_q=1; else long_q=2; fi
[ "$short_q" = "$long_q" ] || fail "--express-size 0: short and long pings of one flow on different queues ($SHORT1/$SHORT2, $LONG1/$LONG2)"
ok "--express-size 0: 2 queues; the kernel keeps the flow on one queue (queue $short_q), short and long alike"
# Not root, with CAP_NET_ADMIN and CAP_BPF (a unit's drop-in would give both): the
# program is loaded at start, and then the daemon keeps CAP_NET_ADMIN only.
command -v setpriv >/dev/null || fail "setpriv (util-linux) missing"
chmod 755 "$T"
mkdir -p "$T/nobody-state" && chown nobody "$T/nobody-state"
netns_spawn "$hub" setpriv --reuid nobody --regid nogroup --clear-groups \
	--inh-caps +net_admin,+bpf --ambient-caps +net_admin,+bpf \
	"$B/server/trellis-server" --shared-key "$KEY" --pool 198.19.0.0/24 --pool6 none \
	--state-dir "$T/nobody-state" --control-socket none --threads 2 >"$T/hub-nobody.log" 2>&1
hub_pid=$NETNS_LAST_PID
netns_wait_log 10 "$T/hub-nobody.log" "listening on port" || fail "the hub as nobody did not start"
grep -q "an express queue for short packets" "$T/hub-nobody.log" ||
	fail "no express queue with CAP_BPF: $(grep -h express "$T/hub-nobody.log")"
caps=$(awk '/^CapEff:/ {e = $2} /^CapPrm:/ {p = $2} /^CapAmb:/ {a = $2} END {print e, p, a}' "/proc/$hub_pid/status")
# (the ambient CAP_NET_ADMIN stays, for the ifup/ifdown hooks, as under the units)
[ "$caps" = "0000000000001000 0000000000001000 0000000000001000" ] ||
	fail "the hub as nobody kept more or less than CAP_NET_ADMIN (effective, permitted, ambient: $caps)"
# every thread follows (the data-plane workers at their next wakeup, 250 ms at most)
threads_kept() { ! grep -h '^CapEff:' /proc/"$hub_pid"/task/*/status | grep -qv '0000000000001000'; }
netns_wait_for 3 threads_kept || fail "a thread of the hub kept more than CAP_NET_ADMIN: $(grep -h '^CapEff:' /proc/"$hub_pid"/task/*/status | sort | uniq -c | tr '\n' ' ')"
netns_kill "$hub_pid"
ok "as nobody with CAP_NET_ADMIN and CAP_BPF: the express queue, then CAP_NET_ADMIN only ($caps), in every thread"
tap_plan
