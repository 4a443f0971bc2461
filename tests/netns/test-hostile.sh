#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hostile input: while a client has a live session and pings through the
# tunnel, an attacker throws at the hub random bytes on TCP, truncated and
# malformed TLS records, a valid TLS (PSK) handshake followed by invalid
# control messages, random/short/forged/replayed UDP datagrams, and more
# slow-loris connections than --max-pending allows. Then: the ping kept
# working, a fresh client still gets in, the hub's log stayed bounded, and
# its RSS and open fds returned to what they were.
#
#       198.18.1.0/24            198.18.3.0/24
#   [c1] ----------- [hub] -------------------- [atk]
#   ping 198.19.0.1    |  --shared-key, --max-pending 16, --handshake-timeout 5
#                      | 198.18.2.0/24
#                    [c2]  (the fresh client, afterwards)
#
# Every check runs and reports; the test fails if any did.
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
command -v gnutls-cli >/dev/null || netns_skip "gnutls-cli (gnutls-bin) is not installed"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"

HOSTILE=$TR_SOURCE_ROOT/tests/netns/hostile.py
KEY="hostile test key"
MAX_PENDING=16
LORIS=40
# Bounds (see TESTING.md for the figures measured).
MAX_PING_LOSS_PCT=2      # of the pings sent during the whole hostile load
MAX_PING_GAP_S=1         # longest run of unanswered pings
MAX_LOG_LINES=50         # log lines the whole hostile load may cause
MAX_RSS_GROWTH_KB=2048   # hub RSS after the load, over the before value
export HOSTILE_SEED=${HOSTILE_SEED:-$RANDOM}
bad=0
nok() { TAP_N=$((TAP_N + 1)); bad=1; echo "not ok $TAP_N - $*"; }
echo "# HOSTILE_SEED=$HOSTILE_SEED"

netns_new hub hub || fail "netns"
netns_new c1 c1 || fail "netns"
netns_new atk attacker || fail "netns"
netns_new c2 c2 || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link c1"
c1_link=$NETNS_IFA
netns_link "$hub" 198.18.3.1/24 "$atk" 198.18.3.2/24 || fail "link atk"
netns_link "$hub" 198.18.2.1/24 "$c2" 198.18.2.2/24 || fail "link c2"

netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --state-dir "$T" \
	--keepalive 2 --peer-timeout 20 --max-pending "$MAX_PENDING" --handshake-timeout 5 >"$T/hub.log" 2>&1
hub_pid=$NETNS_LAST_PID
netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
[ "$(cat /proc/$hub_pid/comm)" = trellis-server ] || fail "PID $hub_pid is not the hub"
client() { # client NS NAME
	netns_spawn "$1" "$B/client/trellis-client" --shared-key "$KEY" --name "$2" --retry-max 2 \
		-c "$3" >"$T/$2.log" 2>&1
	netns_wait_log 15 "$T/$2.log" "connected to" || fail "$2 did not connect"
	netns_wait_log 15 "$T/$2.log" "data now over UDP" || fail "$2 never moved to UDP"
	netns_wait_for 10 netns_exec "$1" ping -c 1 -W 1 198.19.0.1 || fail "$2: no ping through the tunnel"
}
client "$c1" c1 198.18.1.1

fds() { ls "/proc/$hub_pid/fd" | wc -l; }
rss() { awk '/^VmRSS/ {print $2}' "/proc/$hub_pid/status"; }
lines() { wc -l <"$T/hub.log"; }

# A genuine data packet of c1's session, for forgeries and replays.
netns_exec "$hub" timeout 10 tcpdump -n -U -c 1 -s 0 -i "$c1_link" -w "$T/genuine.pcap" \
	"udp and src host 198.18.1.2 and dst port 3210 and greater 100" >"$T/tcpdump.log" 2>&1 &
sleep 0.5
netns_exec "$c1" ping -c 3 -i 0.2 -s 200 198.19.0.1 >/dev/null
wait $! || fail "no genuine datagram captured"
genuine=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()[24:]           # pcap global header
caplen = int.from_bytes(d[8:12], "little")
frame = d[16:16 + caplen]                          # record header, then Ethernet
ihl = (frame[14] & 15) * 4
print(frame[14 + ihl + 8:].hex())' "$T/genuine.pcap") || fail "cannot read the captured datagram"
[ ${#genuine} -gt 80 ] || fail "captured datagram too short"

# The continuous ping, and the hub's figures before the load.
# -O reports every unanswered ping, so the output alone says what was sent.
netns_spawn "$c1" ping -O -i 0.1 -W 1 198.19.0.1 >"$T/ping.out" 2>&1
ping_pid=$NETNS_LAST_PID
sleep 2
fds0=$(fds) rss0=$(rss) lines0=$(lines)
echo "# before: $fds0 fds, VmRSS $rss0 kB, $lines0 log lines"

phase() { # phase NAME CMD...: runs one attack, notes the log lines it caused
	local before after
	before=$(lines)
	"${@:2}" >"$T/phase.out" 2>&1 || { cat "$T/phase.out"; nok "$1: the attack itself failed"; return; }
	sleep 0.5
	after=$(lines)
	echo "# $1: $(tail -n 1 "$T/phase.out"); hub log +$((after - before)) lines, $(fds) fds, VmRSS $(rss) kB"
}
attack() { local mode=$1; shift; netns_exec "$atk" timeout 120 python3 "$HOSTILE" "$mode" 198.18.3.1 3210 "$@"; }

phase "random bytes on TCP" attack tcp-random 300
phase "truncated TLS records" attack tls-truncated 200

# Valid TLS 1.3 (the PSK from --shared-key; any PSK username), then garbage
# where control messages belong.
psk=$(python3 -c 'import hashlib, sys; print(hashlib.pbkdf2_hmac("sha256", sys.argv[1].encode(),
	b"trellis shared key v2 74726c01", 200000, 32).hex())' "$KEY")
python3 - "$T" <<'PY'
import os, random, struct, sys
r = random.Random(int(os.environ["HOSTILE_SEED"]))
def msg(t, body, flags=0): return struct.pack(">BBH", t, flags, len(body)) + body
payloads = {
    "random": r.randbytes(4096),
    "frame-overrun": struct.pack(">BBH", 1, 0, 65535) + r.randbytes(100),
    "unknown-type": msg(200, b""),
    "data-before-hello": msg(8, r.randbytes(100)),
    "hello-garbage": msg(1, r.randbytes(300)),
    "hello-flags": msg(1, b"", flags=0xff),
    "attr-overrun": msg(1, bytes([1, 0xff, 0xff]) + b"x"),
    "ping-before-hello": msg(4, bytes([23, 0, 16]) + r.randbytes(16)),
    "peer-timeout-16-bytes": msg(4, bytes([20, 0, 16]) + r.randbytes(16)),
    "close-before-hello": msg(10, b""),
    "many-messages": b"".join(msg(r.randrange(256), r.randbytes(r.randrange(64))) for _ in range(2000)),
    "nothing": b"",
}
for name, data in payloads.items():
    open(os.path.join(sys.argv[1], "tls-" + name + ".bin"), "wb").write(data)
PY
tls_garbage() {
	local f i=0 done=0
	for f in "$T"/tls-*.bin; do
		for i in 1 2 3; do
			netns_exec "$atk" timeout 15 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK' \
				--pskusername "attacker$i" --pskkey "$psk" -p 3210 198.18.3.1 <"$f" >"$T/gnutls.out" 2>&1
			grep -q "Handshake was completed" "$T/gnutls.out" && done=$((done + 1))
		done
	done
	# Sessions that complete TLS and then say nothing (stdin open 8 s): the
	# hub must cut them with its HELLO timer (--handshake-timeout 5).
	# Counted from the attacker's side: the hub closes the session (its log
	# of refusals is rate-limited, so it cannot be counted there).
	local pids=() cut=0
	for i in 1 2 3 4; do
		sleep 8 | netns_exec "$atk" timeout 15 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK' \
			--pskusername "idle$i" --pskkey "$psk" -p 3210 198.18.3.1 >"$T/gnutls-idle$i.out" 2>&1 &
		pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i"; done
	for i in 1 2 3 4; do
		grep -q "Peer has closed the GnuTLS connection" "$T/gnutls-idle$i.out" && cut=$((cut + 1))
	done
	echo "tls_sessions=$done idle_sessions_cut=$cut"
	[ "$done" -gt 0 ]
}
phase "valid TLS, invalid messages" tls_garbage
tls_result=$(tail -n 1 "$T/phase.out")
phase "UDP: random, short, forged and replayed" attack udp 30000 "$genuine"
phase "slow loris ($LORIS connections, one byte a second)" attack loris "$LORIS" 9
loris_result=$(tail -n 1 "$T/phase.out")

netns_kill "$ping_pid"

# ---- The existing session ---------------------------------------------------------
read -r sent recvd gap <<<"$(python3 -c '
import re, sys
text = open(sys.argv[1]).read()
answered = {int(m) for m in re.findall(r"icmp_seq=(\d+) ttl=", text)}
sent = max([int(m) for m in re.findall(r"icmp_seq=(\d+)", text)] or [0])
gap = run = 0
for seq in range(1, sent + 1):
    run = 0 if seq in answered else run + 1
    gap = max(gap, run)
print(sent, len(answered), round(gap * 0.1, 1))' "$T/ping.out")"
loss=$(( (sent - recvd) * 100 / (sent > 0 ? sent : 1) ))
if [ "$sent" -gt 100 ] && [ "$loss" -le $MAX_PING_LOSS_PCT ] && python3 -c "import sys; sys.exit(not $gap <= $MAX_PING_GAP_S)"; then
	ok "the live session kept working: $recvd/$sent pings answered, longest gap ${gap} s"
else
	nok "the live session suffered: $recvd/$sent pings answered (bound ${MAX_PING_LOSS_PCT}% loss), longest gap ${gap} s (bound ${MAX_PING_GAP_S} s)"
fi
if grep -q "connected again\|endpoint moved\|c1 .*disconnected\|dropping the session" "$T/hub.log" ||
	[ "$(grep -c "connected to" "$T/c1.log")" -ne 1 ]; then
	nok "c1's session was disturbed: $(grep "connected again\|endpoint moved\|disconnected\|dropping" "$T/hub.log" | head -3)"
else
	ok "c1's session was never replaced, moved or dropped (forged and replayed datagrams ignored)"
fi

# ---- Slow loris: the excess refused, the rest cut at the handshake timeout ----------
eval "$(echo "$loris_result" | tr ' ' '\n' | grep '=' | sed 's/^/loris_/')"
if [ "${loris_open_at_end:-1}" -eq 0 ] && [ "${loris_closed_at_once:-0}" -ge $((LORIS - MAX_PENDING)) ]; then
	ok "slow loris: $loris_closed_at_once of $LORIS connections refused at once, $loris_closed_later cut by ${loris_latest_close} s"
else
	nok "slow loris not contained: $loris_result"
fi

# ---- Valid TLS, then garbage or silence: every session closed --------------------
eval "$(echo "$tls_result" | tr ' ' '\n' | grep '=' | sed 's/^/tls_/')"
if [ "${tls_tls_sessions:-0}" -ge 30 ] && [ "${tls_idle_sessions_cut:-0}" -eq 4 ]; then
	ok "valid TLS then invalid messages: $tls_tls_sessions sessions closed; 4 silent ones cut by the HELLO timer"
else
	nok "TLS sessions not handled: $tls_result"
fi

# ---- Resources back where they were --------------------------------------------------
if netns_wait_for 20 sh -c "[ \$(ls /proc/$hub_pid/fd | wc -l) -le $fds0 ]"; then
	ok "open fds back to the baseline: $(fds) (before: $fds0)"
else
	nok "hub fds did not return to the baseline: $(fds) now, $fds0 before"
	ls -l "/proc/$hub_pid/fd" | sed 's/^/# /'
fi
rss1=$(rss)
if [ "$rss1" -le $((rss0 + MAX_RSS_GROWTH_KB)) ]; then
	ok "hub RSS after the load: $rss1 kB (before: $rss0 kB, bound +$MAX_RSS_GROWTH_KB kB)"
else
	nok "hub RSS grew from $rss0 kB to $rss1 kB (bound +$MAX_RSS_GROWTH_KB kB)"
fi
lines1=$(lines)
if [ $((lines1 - lines0)) -le $MAX_LOG_LINES ]; then
	ok "hub log bounded: $((lines1 - lines0)) lines for the whole load (bound $MAX_LOG_LINES)"
else
	nok "hub log not bounded: $((lines1 - lines0)) lines for the whole load (bound $MAX_LOG_LINES); most frequent:"
	tail -n +"$((lines0 + 1))" "$T/hub.log" | sed -E 's/^[^:]*: [a-z]+: //; s/[0-9]+(\.[0-9]+)*(:[0-9]+)?/N/g' |
		sort | uniq -c | sort -rn | head -5 | sed 's/^/# /'
fi

# ---- Still open for business -------------------------------------------------------------
client "$c2" c2 198.18.2.1
netns_exec "$c2" ping -c 5 -i 0.2 -W 2 198.19.0.1 >/dev/null && ok "a fresh client connects and pings afterwards" ||
	nok "a fresh client cannot use the hub afterwards"
kill -0 "$hub_pid" 2>/dev/null && ok "the hub is still running" || nok "the hub died"

tap_plan
[ "$bad" -eq 0 ] || { echo "---- hub.log (last 20)"; tail -n 20 "$T/hub.log"; exit 1; }
