#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hub and two clients for real: TLS control, pushed configuration, tun
# devices, UDP data with TCP fallback, reconnection, and refusals.
#
#          198.18.1.0/24               198.18.2.0/24
#   [c1] ---------------- [hub] ---------------- [c2]
#   trellis0 198.19.0.x   trellis0 198.19.0.1    trellis0 198.19.0.y
#                         (second hub instance with passwords on :3211,
#                          tunnel 198.19.1.0/24)
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
. "$TR_SOURCE_ROOT/tests/lib/filter.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"
command -v gnutls-cli >/dev/null || netns_skip "gnutls-cli (gnutls-bin) is not installed"

S=$T/state
O=$T/other

# ---- PKI: the network's CA, a hub, clients; a second, unrelated CA ----------
pki_network "$S" c1 c2 c3 || fail "pki"
pki_init "$O" --network other && pki_issue "$O" stranger || fail "the other CA"
printf 'alice:%s\n' "$(python3 -W ignore -c 'import crypt; print(crypt.crypt("wonderland", crypt.mksalt(crypt.METHOD_SHA512)))')" >"$T/passwd"
chmod 600 "$T/passwd"
printf 'wonderland\n' >"$T/alice.pw"
printf 'looking-glass\n' >"$T/wrong.pw"
chmod 600 "$T"/*.pw

netns_new hub hub || fail "netns"
netns_new c1 c1 || fail "netns"
netns_new c2 c2 || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link c1"
netns_link "$hub" 198.18.2.1/24 "$c2" 198.18.2.2/24 || fail "link c2"

hub_args=(--ca "$S/ca.crt" --cert "$S/issued/hub.crt" --key "$S/issued/hub.key" --crl "$S/crl.pem"
	--state-dir "$S" --keepalive 2 --peer-timeout 20 --rekey-interval 2 --stats-file "$T/hub-stats.json"
	--stats-interval 1)
start_hub() {
	netns_spawn "$hub" "$B/server/trellis-server" "${hub_args[@]}" >>"$T/hub.log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
}
client() { # client NS NAME LOG [extra args]
	local ns=$1 name=$2 log=$3
	shift 3
	netns_spawn "$ns" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/$name.crt" --key "$S/issued/$name.key" --retry-max 2 "$@" >>"$T/$log" 2>&1
}
: >"$T/hub.log"
start_hub
client "$c1" c1 c1.log -c 198.18.1.1
c1_pid=$NETNS_LAST_PID
# c2 takes its settings from a config file; the command line adds the rest.
cat >"$T/c2.conf" <<CONF
[client]
connect = 198.18.2.1
server-name = hub
ca = $S/ca.crt
cert = $S/issued/c2.crt
key = $S/issued/c2.key
retry-max = 2
CONF
netns_spawn "$c2" "$B/client/trellis-client" --config "$T/c2.conf" >>"$T/c2.log" 2>&1
netns_wait_log 15 "$T/c1.log" "connected to" || fail "c1 did not connect"
netns_wait_log 15 "$T/c2.log" "connected to" || fail "c2 did not connect"
addr() { ip -n "$1" -4 -o addr show dev trellis0 | awk '{print $4}' | cut -d/ -f1; }
a1=$(addr "$c1")
a2=$(addr "$c2")
[ -n "$a1" ] && [ -n "$a2" ] || fail "pushed addresses not applied ($a1, $a2)"
ip -n "$c1" -j addr show dev trellis0 | grep -q '"fd00:7472::' || fail "IPv6 address not applied"
[ "$(ip -n "$c1" -j link show dev trellis0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')" = 1416 ] ||
	fail "pushed MTU not applied"
ok "hub pushed addresses ($a1, $a2), IPv6 and MTU to both clients"
grep -q "client c1 connected from 198.18.1.2" "$T/hub.log" || fail "hub did not log who connected"
ok "hub logged identity, endpoint and address"

netns_exec "$c1" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "c1 -> hub ping"
netns_exec "$hub" ping -c 3 -i 0.2 -W 2 "$a1" >/dev/null || fail "hub -> c1 ping"
netns_exec "$c1" ping -c 3 -i 0.2 -W 2 "$a2" >/dev/null || fail "c1 -> c2 ping"
netns_exec "$c2" ping -c 3 -i 0.2 -W 2 "$a1" >/dev/null || fail "c2 -> c1 ping"
netns_exec "$c1" ping -6 -c 2 -i 0.2 -W 2 fd00:7472::1 >/dev/null || fail "c1 -> hub ping6"
ok "ping hub<->client and client<->client (IPv4, IPv6)"

netns_wait_log 10 "$T/c1.log" "data now over UDP" || fail "c1 never moved to UDP"
ok "data moved to UDP"

# ---- A TCP transfer through the tunnel, checksummed ----------------------------
head -c 20000000 /dev/urandom >"$T/blob"
want=$(sha256sum <"$T/blob" | cut -d' ' -f1)
cat >"$T/recv.py" <<'PY'
import hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5001)); s.listen(1); s.settimeout(30)
c, _ = s.accept(); c.settimeout(30); h = hashlib.sha256(); n = 0
while True:
    b = c.recv(65536)
    if not b: break
    h.update(b); n += len(b)
print(n, h.hexdigest())
PY
cat >"$T/send.py" <<'PY'
import socket, sys, time
for i in range(50):
    try:
        c = socket.create_connection((sys.argv[1], 5001), timeout=30); break
    except OSError: time.sleep(0.1)
c.sendall(open(sys.argv[2], "rb").read()); c.close()
PY
netns_exec "$c2" timeout 60 python3 "$T/recv.py" "$a2" >"$T/recv.out" &
recv_pid=$!
t0=$(date +%s.%N)
netns_exec "$c1" timeout 60 python3 "$T/send.py" "$a2" "$T/blob" || fail "send failed"
wait $recv_pid || fail "receive failed"
t1=$(date +%s.%N)
read -r got_n got_sum <"$T/recv.out"
[ "$got_n" = 20000000 ] && [ "$got_sum" = "$want" ] || fail "transfer corrupted: $got_n $got_sum"
ok "20 MB TCP transfer c1 -> c2 intact (sha256 $want), $(python3 -c "print(round(160/($t1-$t0),1))") Mbit/s"

# ---- Rekeying under traffic: keys replaced every 2 s, nothing lost ------------
netns_exec "$c1" ping -c 60 -i 0.1 -W 2 "$a2" >"$T/rekey-ping.txt" || fail "ping across rekeys"
grep -q " 0% packet loss" "$T/rekey-ping.txt" || fail "packets lost across rekeys: $(tail -2 "$T/rekey-ping.txt")"
sleep 1.5
python3 - "$T/hub-stats.json" <<'PY' || fail "no rekey seen in the stats"
import json, sys
peers = json.load(open(sys.argv[1]))["peers"]
assert all(p["epoch"] >= 2 for p in peers), [(p["identity"], p["epoch"]) for p in peers]
PY
ok "keys replaced every 2 s (epoch >= 2 on every session) with no ping lost"

# ---- UDP blocked -> TCP fallback -> back to UDP --------------------------------
: >"$T/c1.log.mark"
filter_udp_port "$c1" 3210 || fail "nft"
before=$(grep -c "data now over TLS" "$T/c1.log")
netns_wait_for 15 sh -c "[ \$(grep -c 'data now over TLS' '$T/c1.log') -gt $before ]" || fail "no fallback to TLS"
netns_exec "$c1" ping -c 5 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "no traffic over the TLS fallback"
netns_exec "$c1" ping -c 3 -i 0.2 -W 2 "$a2" >/dev/null || fail "no client-to-client traffic over the fallback"
ok "UDP blocked: traffic continues over TLS"
before=$(grep -c "data now over UDP" "$T/c1.log")
filter_lift "$c1" || fail "nft delete"
netns_wait_for 15 sh -c "[ \$(grep -c 'data now over UDP' '$T/c1.log') -gt $before ]" || fail "did not return to UDP"
netns_exec "$c1" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "no traffic after returning to UDP"
ok "UDP unblocked: back to UDP"

# ---- Server killed and restarted: clients come back by themselves --------------
netns_kill_hard "$hub_pid"
t0=$(date +%s.%N)
start_hub
netns_wait_for 30 netns_exec "$c1" ping -c 1 -W 1 198.19.0.1 || fail "c1 did not come back"
t1=$(date +%s.%N)
netns_wait_for 30 netns_exec "$c2" ping -c 1 -W 1 "$a1" || fail "c2 -> c1 did not come back"
[ "$(addr "$c1")" = "$a1" ] || fail "c1's address changed across the restart"
ok "hub restart: clients reconnected by themselves in $(python3 -c "print(round($t1-$t0,1))") s, same addresses"

# ---- Refusals, with the reason logged on both sides ----------------------------
netns_spawn "$c1" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
	--cert "$O/issued/stranger.crt" --key "$O/issued/stranger.key" -c 198.18.1.1 >"$T/stranger.log" 2>&1
netns_wait_for 15 grep -q "giving up" "$T/stranger.log" || fail "client of another CA not refused"
grep -q "unknown CA" "$T/stranger.log" || fail "stranger: reason not logged on the client"
grep -q "refused .*unknown CA" "$T/hub.log" || fail "stranger: reason not logged on the hub"
ok "certificate from another CA refused: unknown CA (both sides)"

# c3 keeps copies of its files; its certificate is revoked before it connects.
cp "$S/issued/c3.crt" "$S/issued/c3.key" "$T/"
$B/cli/trellis pki revoke c3 --state-dir "$S" >/dev/null || fail "revoke"
kill -HUP "$hub_pid"
netns_wait_log 10 "$T/hub.log" "reloaded the CRL" || fail "hub did not reload the CRL"
netns_spawn "$c1" "$B/client/trellis-client" --server-name hub --ca "$S/ca.crt" \
	--cert "$T/c3.crt" --key "$T/c3.key" -c 198.18.1.1 >"$T/c3.log" 2>&1
netns_wait_for 15 grep -q "giving up" "$T/c3.log" || fail "revoked client not refused"
grep -q "certificate revoked" "$T/c3.log" || fail "revoked: reason not logged on the client"
grep -q "refused .*certificate revoked" "$T/hub.log" || fail "revoked: reason not logged on the hub"
ok "revoked certificate refused (both sides)"

# A connected client whose certificate is revoked is dropped on reload.
$B/cli/trellis pki revoke c2 --state-dir "$S" >/dev/null || fail "revoke c2"
kill -HUP "$hub_pid"
netns_wait_log 10 "$T/hub.log" "client c2: certificate revoked, disconnecting" || fail "c2 not dropped"
netns_wait_for 15 grep -q "giving up: certificate revoked" "$T/c2.log" || fail "c2 not told why"
ok "connected client dropped after its revocation and the CRL reload"

# Passwords on top of certificates: a second hub instance on port 3211.
netns_spawn "$hub" "$B/server/trellis-server" "${hub_args[@]}" --listen 3211 --pool 198.19.1.0/24 \
	--pool6 none --password-file "$T/passwd" --state-dir "$T" >"$T/hubpw.log" 2>&1
netns_wait_log 10 "$T/hubpw.log" "listening on port 3211" || fail "password hub did not start"
client "$c1" c1 pw-good.log -c 198.18.1.1:3211 -d tpw%d --username alice --password-file "$T/alice.pw"
netns_wait_for 15 grep -q "connected to" "$T/pw-good.log" || fail "right password refused"
netns_exec "$c1" ping -c 2 -i 0.2 -W 2 198.19.1.1 >/dev/null || fail "no ping with password auth"
ok "username and password accepted on top of the certificate"
client "$c1" c1 pw-bad.log -c 198.18.1.1:3211 -d tpw%d --username alice --password-file "$T/wrong.pw"
netns_wait_for 15 grep -q "giving up" "$T/pw-bad.log" || fail "wrong password not refused"
grep -q "invalid username or password" "$T/pw-bad.log" || fail "wrong password: client not told"
grep -q "refused .*c1/alice" "$T/hubpw.log" || fail "wrong password: hub did not log it"
ok "wrong password refused: client told 'invalid username or password', hub logged why"

# A stock TLS client without a certificate gets nowhere.
netns_exec "$c1" timeout 10 gnutls-cli --insecure --priority NORMAL -p 3210 198.18.1.1 \
	</dev/null >"$T/gnutls-cli.log" 2>&1
netns_wait_log 10 "$T/hub.log" "sent no certificate" || fail "hub did not log the certificate-less client"
netns_exec "$c1" timeout 10 gnutls-cli --insecure -p 3210 198.18.1.1 </dev/null 2>&1 | grep -qi "handshake has failed\|closed\|error" ||
	true
ok "gnutls-cli without a client certificate refused"

# ---- Shutdown: closing message, devices and addresses removed --------------------
netns_kill "$c1_pid"
netns_wait_log 5 "$T/hub.log" "client c1 .* closed the session\|client c1 (.*) disconnected" || fail "hub did not hear c1 leave"
ip -n "$c1" link show trellis0 >/dev/null 2>&1 && fail "c1's device left behind"
ok "client shutdown: hub told at once, device removed"
tap_plan
