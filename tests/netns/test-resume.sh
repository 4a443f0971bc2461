#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# TLS session resumption (common/auth/tls.c, docs/SECURITY.md): a client
# with a certificate and a password whose control connection breaks comes
# back with the hub's ticket (a resumed handshake, still with X25519), and
# its password is checked again: once changed on the hub, the resumed
# session is refused. A restarted hub (a new ticket key) takes the old
# ticket as nothing and makes a full handshake.
#
#   [hub] 198.18.1.1 ---- 198.18.1.2 [c1]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
command -v ss >/dev/null || netns_skip "ss (iproute2) is not installed"
S=$T/pki
count() { grep -c -- "$2" "$1"; }
hash() { python3 -W ignore -c "import crypt; print(crypt.crypt('$1', crypt.mksalt(crypt.METHOD_SHA512)))"; }

pki_network "$S" c1 || fail "pki"
printf 'alice:%s\n' "$(hash wonderland)" >"$T/passwd" && chmod 600 "$T/passwd"
printf 'wonderland\n' >"$T/alice.pw" && chmod 600 "$T/alice.pw"

netns_new hub hub && netns_new c1 c1 || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link"

start_hub() { # start_hub LOG
	netns_spawn "$hub" "$B/server/trellis-server" -v --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
		--key "$S/issued/hub.key" --crl "$S/crl.pem" --state-dir "$T/hub-state" \
		--password-file "$T/passwd" --pool 198.19.1.0/24 --pool6 none --control-socket none \
		>"$T/$1" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 15 "$T/$1" "listening on port 3210" || fail "hub did not start"
}
# Cuts the client's control connection (the hub stays up): it comes back
# after its backoff (about 1 s).
cut() { netns_exec "$c1" ss -K dst 198.18.1.1 dport = 3210 >/dev/null 2>&1 || fail "ss -K"; }

start_hub hub.log
netns_spawn "$c1" "$B/client/trellis-client" -v -c 198.18.1.1 --server-name hub --ca "$S/ca.crt" \
	--cert "$S/issued/c1.crt" --key "$S/issued/c1.key" --username alice \
	--password-file "$T/alice.pw" -d tc%d --control-socket none >"$T/c1.log" 2>&1
c1_pid=$NETNS_LAST_PID
netns_wait_log 15 "$T/c1.log" "connected to" || fail "c1 did not connect"
grep -q "TLS established (TLS1.3 / .* / X25519 / certificate), peer c1" "$T/hub.log" ||
	fail "the first handshake was not a full one with certificates"
ok "c1 connected with a full handshake (certificate and password)"

cut
netns_wait_for 15 sh -c "[ \$(grep -c 'connected to' '$T/c1.log') -ge 2 ]" || fail "c1 did not come back"
grep -q "TLS established (TLS1.3 / .* / X25519 / certificate (resumed)), peer c1" "$T/hub.log" ||
	fail "the second session did not resume (or not with X25519)"
grep -q "client c1/alice connected" "$T/hub.log" || grep -q "c1/alice" "$T/hub.log" ||
	fail "the resumed session has no identity c1/alice"
netns_exec "$c1" ping -c 2 -i 0.2 -W 2 198.19.1.1 >/dev/null || fail "no ping after the resumption"
ok "a broken connection resumes: X25519 kept, the certificate's name and the password checked again"

# The password changes on the hub: the next resumption is refused.
printf 'alice:%s\n' "$(hash looking-glass)" >"$T/passwd"
kill -HUP "$hub_pid"
netns_wait_log 10 "$T/hub.log" "reloaded" || fail "the hub did not reload"
refused0=$(count "$T/hub.log" "invalid username or password\|refused .*c1/alice")
cut
netns_wait_for 15 grep -q "invalid username or password" "$T/c1.log" ||
	fail "the resumed session with the old password was not refused"
[ "$(count "$T/hub.log" "certificate (resumed)), peer c1")" -ge 2 ] ||
	fail "the refused session was not a resumed one (the test would prove nothing)"
[ "$(count "$T/hub.log" "invalid username or password\|refused .*c1/alice")" -gt "$refused0" ] ||
	fail "the hub did not log the refusal"
ok "after the password changed, a resumed session with the old one is refused"
netns_kill "$c1_pid"

# A restarted hub has a new ticket key (memory only): a full handshake.
printf 'alice:%s\n' "$(hash wonderland)" >"$T/passwd"
kill -HUP "$hub_pid"
netns_wait_for 10 sh -c "[ \$(grep -c reloaded '$T/hub.log') -ge 2 ]" || fail "the hub did not reload again"
netns_spawn "$c1" "$B/client/trellis-client" -v -c 198.18.1.1 --server-name hub --ca "$S/ca.crt" \
	--cert "$S/issued/c1.crt" --key "$S/issued/c1.key" --username alice \
	--password-file "$T/alice.pw" -d tc%d --control-socket none >"$T/c1b.log" 2>&1
c1_pid=$NETNS_LAST_PID
netns_wait_log 15 "$T/c1b.log" "connected to" || fail "c1 did not connect again"
netns_kill_hard "$hub_pid"
start_hub hub2.log
netns_wait_for 20 sh -c "[ \$(grep -c 'connected to' '$T/c1b.log') -ge 2 ]" ||
	fail "c1 did not come back to the restarted hub"
grep -q "certificate (resumed)" "$T/hub2.log" && fail "a ticket of the killed hub was taken"
grep -q "TLS established (TLS1.3 / .* / X25519 / certificate), peer c1" "$T/hub2.log" ||
	fail "no full handshake with the restarted hub"
ok "after a hub restart the old ticket is not taken: one full handshake"
netns_kill "$c1_pid"
tap_plan
