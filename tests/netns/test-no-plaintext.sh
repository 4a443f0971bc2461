#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# No plaintext on the wire: random markers sent through the tunnel (in UDP
# datagrams and in a TCP stream, over the UDP data path and over the TLS
# fallback) never appear in a capture of the underlay, while they do appear
# in a capture of the tunnel device itself, and -- with the plaintext cipher,
# as a control -- on the underlay too. Both controls show the search can fail.
#
#            198.18.1.0/24
#   [cl] ------------------------ [hub]
#   trellis0 198.19.0.x           trellis0 198.19.0.1
#                                 tcpdump on the veth (underlay) and trellis0
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
. "$TR_SOURCE_ROOT/tests/lib/filter.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"

S=$T/state
marker() { python3 -c 'import secrets; print("TRMARK" + secrets.token_hex(24))'; }

pki_network "$S" cl || fail "pki"

netns_new hub hub || fail "netns"
netns_new cl client || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$cl" 198.18.1.2/24 || fail "link"
underlay=$NETNS_IFA

netns_spawn "$hub" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
	--key "$S/issued/hub.key" --state-dir "$S" --keepalive 2 --peer-timeout 20 \
	--crypto aes256-gcm,plaintext >"$T/hub.log" 2>&1
netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
client() { # client LOG [extra args]
	local log=$1
	shift
	netns_spawn "$cl" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/cl.crt" --key "$S/issued/cl.key" --retry-max 2 -c 198.18.1.1 "$@" \
		>"$T/$log" 2>&1
	client_pid=$NETNS_LAST_PID
	netns_wait_log 15 "$T/$log" "connected to" || fail "client did not connect ($log)"
	netns_wait_log 15 "$T/$log" "data now over UDP" || fail "client never moved to UDP ($log)"
}

capture() { # capture IFACE FILE LOG -> $cap_pid
	netns_spawn "$hub" tcpdump -n -U -s 0 -i "$1" -w "$2" >"$3" 2>&1
	cap_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$3" "listening on" || fail "tcpdump did not start on $1"
}

# Receivers in the hub's namespace: UDP datagrams and one TCP stream, each
# counting its marker, so we know the markers really crossed the tunnel.
cat >"$T/sink.py" <<'PY'
import socket, sys
mode, marker = sys.argv[1], sys.argv[2].encode()
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.19.0.1", 5002))
    print("ready", flush=True)
    s.settimeout(5); n = 0
    try:
        while n < 20:
            n += s.recv(2048).count(marker)
    except socket.timeout:
        pass
    print(n)
else:
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.19.0.1", 5001)); s.listen(1); s.settimeout(20)
    print("ready", flush=True)
    c, _ = s.accept(); c.settimeout(20); data = bytearray()
    while True:
        b = c.recv(1 << 16)
        if not b: break
        data += b
    print(data.count(marker))
PY
cat >"$T/source.py" <<'PY'
import socket, sys, time
mode, marker = sys.argv[1], sys.argv[2].encode()
if mode == "udp":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(20):
        s.sendto(b"datagram %d: " % i + marker, ("198.19.0.1", 5002)); time.sleep(0.02)
else:
    for i in range(100):
        try:
            c = socket.create_connection(("198.19.0.1", 5001), timeout=20); break
        except OSError: time.sleep(0.1)
    c.sendall((marker + b"\n") * 20000); c.close()
PY
send_markers() { # send_markers UDP_MARKER TCP_MARKER: both must arrive in full
	netns_exec "$hub" timeout 30 python3 "$T/sink.py" udp "$1" >"$T/sink-udp.out" &
	local u=$!
	netns_exec "$hub" timeout 30 python3 "$T/sink.py" tcp "$2" >"$T/sink-tcp.out" &
	local t=$!
	# the sinks listen before anything is sent (a datagram sent earlier is lost)
	netns_wait_for 10 grep -q ready "$T/sink-udp.out" || fail "UDP sink did not start"
	netns_wait_for 10 grep -q ready "$T/sink-tcp.out" || fail "TCP sink did not start"
	netns_exec "$cl" timeout 30 python3 "$T/source.py" udp "$1" || fail "UDP source"
	netns_exec "$cl" timeout 30 python3 "$T/source.py" tcp "$2" || fail "TCP source"
	wait $u; wait $t
	[ "$(tail -n 1 "$T/sink-udp.out")" = 20 ] || fail "UDP markers lost in the tunnel: $(tail -n 1 "$T/sink-udp.out")/20"
	[ "$(tail -n 1 "$T/sink-tcp.out")" = 20000 ] || fail "TCP markers lost in the tunnel: $(tail -n 1 "$T/sink-tcp.out")/20000"
}
count() { # count FILE MARKER -> occurrences in a capture
	python3 -c 'import sys; print(open(sys.argv[1], "rb").read().count(sys.argv[2].encode()))' "$1" "$2"
}

client client.log
grep -q "cipher aes256-gcm" "$T/hub.log" || fail "session not on aes256-gcm"
capture "$underlay" "$T/underlay.pcap" "$T/tcpdump-underlay.log"
under_pid=$cap_pid
capture trellis0 "$T/tunnel.pcap" "$T/tcpdump-tunnel.log"
tun_pid=$cap_pid

udp1=$(marker) tcp1=$(marker) udp2=$(marker) tcp2=$(marker)
send_markers "$udp1" "$tcp1"
ok "markers crossed the tunnel over the UDP data path (20 datagrams, a 1 MB stream)"

# The TLS fallback: UDP blocked on the client side.
filter_udp_port "$cl" 3210 || fail "nft"
netns_wait_log 15 "$T/client.log" "data now over TLS" || fail "no fallback to TLS"
netns_wait_log 15 "$T/hub.log" "data now over TLS" || fail "the hub did not move to TLS"
send_markers "$udp2" "$tcp2"
ok "markers crossed the tunnel over the TLS fallback"
filter_lift "$cl" || fail "nft delete"
sleep 0.5
netns_kill "$under_pid"
netns_kill "$tun_pid"

# Two 1 MB streams went through it, so a capture that saw them is larger.
size=$(stat -c %s "$T/underlay.pcap")
[ "$size" -gt 2000000 ] || fail "the underlay capture holds only $size bytes: it missed the traffic"
grep -q "^0 packets dropped by kernel" "$T/tcpdump-underlay.log" || fail "tcpdump dropped packets"
for m in "$udp1" "$tcp1" "$udp2" "$tcp2"; do
	c=$(count "$T/underlay.pcap" "$m")
	[ "$c" -eq 0 ] || fail "marker ${m:0:16}... found $c times on the underlay"
done
ok "no marker in the underlay capture ($size bytes, UDP and TLS paths)"
for m in "$udp1" "$tcp1" "$udp2" "$tcp2"; do
	c=$(count "$T/tunnel.pcap" "$m")
	[ "$c" -gt 0 ] || fail "control: marker ${m:0:16}... not found on trellis0: the search is broken"
done
ok "control: every marker is in the capture of trellis0"

# ---- Control: with the plaintext cipher the same search finds the markers ----------
netns_kill "$client_pid"
client control.log --crypto plaintext
grep -q "cipher plaintext" "$T/hub.log" || fail "control session not on plaintext"
capture "$underlay" "$T/underlay-plain.pcap" "$T/tcpdump-plain.log"
udp3=$(marker) tcp3=$(marker)
send_markers "$udp3" "$tcp3"
netns_kill "$cap_pid"
[ "$(count "$T/underlay-plain.pcap" "$udp3")" -gt 0 ] && [ "$(count "$T/underlay-plain.pcap" "$tcp3")" -gt 0 ] ||
	fail "control: plaintext markers not found on the underlay: the search is broken"
ok "control: with --crypto plaintext the markers do show on the underlay"
tap_plan
