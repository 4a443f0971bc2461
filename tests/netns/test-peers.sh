#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The symmetric model and pre-shared keys: two nodes configured alike that
# only --connect each other (nothing pushed), a hub with clients on a shared
# key, and settings that cannot be agreed.
#
#   [alpha] 198.18.1.1 ---- 198.18.1.2 [beta]      tunnel 198.19.5.1 / 198.19.5.2
#   [hub]   198.18.2.1 ---- 198.18.2.2 [c1]        tunnel 198.19.0.0/24 (pool)
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
KEY="correct horse battery staple"

netns_new alpha alpha && netns_new beta beta && netns_new hub hub && netns_new c1 c1 || fail "netns"
netns_link "$alpha" 198.18.1.1/24 "$beta" 198.18.1.2/24 || fail "link"
netns_link "$hub" 198.18.2.1/24 "$c1" 198.18.2.2/24 || fail "link"

node() { # node NS NAME ADDR PEER LOG [args]
	local ns=$1 name=$2 addr=$3 peer=$4 log=$5
	shift 5
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --shared-key "$KEY" \
		--address "$addr" -c "$peer" --keepalive 2 "$@" >>"$T/$log" 2>&1
}
node "$alpha" alpha 198.19.5.1/24 198.18.1.2 alpha.log
alpha_pid=$NETNS_LAST_PID
node "$beta" beta 198.19.5.2/24 198.18.1.1 beta.log
netns_wait_for 20 netns_exec "$alpha" ping -c 1 -W 1 198.19.5.2 || fail "alpha cannot reach beta"
netns_exec "$beta" ping -c 3 -i 0.2 -W 2 198.19.5.1 >/dev/null || fail "beta cannot reach alpha"
ok "two nodes configured alike, connecting each other: ping both ways"
# Whether the two nodes dialled each other at the same moment or not, each
# ends up with exactly one session to the other.
sessions() { echo $(($(grep -c "node $2 connected" "$T/$1.log") - $(grep -c "node $2 (.*) disconnected" "$T/$1.log"))); }
sleep 1
[ "$(sessions alpha beta)" = 1 ] && [ "$(sessions beta alpha)" = 1 ] ||
	fail "sessions alpha->beta: $(sessions alpha beta), beta->alpha: $(sessions beta alpha)"
if grep -q "two sessions" "$T/alpha.log" "$T/beta.log"; then
	grep -q "two sessions; keeping the one alpha opened" "$T/alpha.log" "$T/beta.log" ||
		fail "duplicate sessions not settled on alpha's"
fi
[ "$(ip -n "$alpha" -4 -o addr show dev trellis0 | awk '{print $4}')" = 198.19.5.1/24 ] || fail "alpha's own address"
ok "duplicate sessions settled on the one the smaller name opened; own addresses kept"

netns_kill "$alpha_pid"
netns_wait_for 10 grep -q "node alpha (.*) disconnected" "$T/beta.log" || fail "beta did not notice"
node "$alpha" alpha 198.19.5.1/24 198.18.1.2 alpha.log
netns_wait_for 30 netns_exec "$beta" ping -c 1 -W 1 198.19.5.1 || fail "no reconnection after restart"
ok "a node restarted: the pair reconnects by itself"

# A hub on a shared key with a client on the same key; a client on another key.
netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --crypto chacha20-poly1305 >"$T/hub.log" 2>&1
netns_wait_for 10 grep -q "listening" "$T/hub.log" || fail "hub did not start"
netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.2.1 --shared-key "$KEY" --name c1 >"$T/c1.log" 2>&1
c1_pid=$NETNS_LAST_PID
netns_wait_for 15 grep -q "connected to" "$T/c1.log" || fail "PSK client did not connect"
netns_exec "$c1" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "no ping over the PSK session"
grep -q "client psk:c1 connected" "$T/hub.log" || fail "hub did not log the PSK identity"
grep -q "TLS1.3\|cipher chacha20-poly1305" "$T/c1.log" || fail "cipher not as configured"
ok "shared key: client authenticated as psk:c1, ChaCha20-Poly1305 as the hub prefers"
netns_kill "$c1_pid"

netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.2.1 --shared-key "another key entirely" \
	--name c2 --retry-max 1 >"$T/wrongkey.log" 2>&1
wk_pid=$NETNS_LAST_PID
netns_wait_for 10 grep -q "TLS handshake with .* failed" "$T/wrongkey.log" || fail "wrong key not refused"
netns_wait_for 10 grep -q "connection from 198.18.2.2.* failed: TLS handshake" "$T/hub.log" || fail "hub did not log the failed handshake"
netns_kill "$wk_pid"
ok "wrong shared key refused in the TLS handshake (both sides log it)"

netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.2.1 --shared-key "$KEY" --name c3 \
	--crypto aes256-gcm >"$T/mismatch.log" 2>&1
netns_wait_for 10 grep -q "giving up" "$T/mismatch.log" || fail "cipher mismatch not refused"
grep -q "no common cipher (the peer offers aes256-gcm, this node allows chacha20-poly1305)" "$T/mismatch.log" ||
	fail "client not told which ciphers"
grep -q "refused .*no common cipher" "$T/hub.log" || fail "hub did not log the cipher mismatch"
ok "no common cipher: a clear error on both sides"

netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.2.1 --shared-key "$KEY" --name c4 \
	--crypto plaintext >"$T/plain.log" 2>&1
netns_wait_for 10 grep -q "giving up" "$T/plain.log" || fail "plaintext not refused"
grep -q "plaintext needs both sides" "$T/plain.log" || fail "plaintext refusal not explained"
ok "plaintext refused unless both sides ask for it"
tap_plan
