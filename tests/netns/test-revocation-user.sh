#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Revocation keeps working when the hub drops to --user (issue 16, item 1):
# a hub started as root with --user nobody on its state directory's CA
#   - reloads a CRL written by `trellis pki revoke` (run as root) and drops
#     the revoked client, and refuses it afterwards;
#   - refuses every new connection, loudly, while the CRL cannot be loaded,
#     and accepts again once it loads;
#   - saves its leases (a client keeps its address across a hub restart);
#   - leaves neither its pid file nor its control socket behind at exit, in
#     a root-owned directory it cannot write itself.
#
#   [hub] 198.18.1.1 ---- 198.18.1.2 [c1]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
id nobody >/dev/null 2>&1 || netns_skip "no user 'nobody'"
S=$T/state
R=$T/run-root # root's, 0755: like /run/trellis
chmod 755 "$T" && mkdir -p -m 0755 "$R"

netns_new hub hub && netns_new c1 c1 || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link"

start_hub() { # start_hub LOG
	netns_spawn "$hub" "$B/server/trellis-server" --user nobody --state-dir "$S" \
		--pid-file "$R/hub.pid" --control-socket "$R/hub.sock" >"$T/$1" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 15 "$T/$1" "listening on port 3210" || fail "hub did not start"
}
start_hub hub.log
[ "$(stat -c %U "$S")" = nobody ] || fail "the state directory was not given to nobody"
for name in c1 c2; do
	pki_issue "$S" "$name" || fail "pki issue $name"
done
[ "$(stat -c %U "$S/issued/c1.crt")" = nobody ] || fail "a certificate issued by root afterwards is not nobody's"
ok "hub runs as nobody on its state directory's CA; files root writes there later stay readable to it"

# The client keeps its own copies (revoking moves the CA's to revoked/).
for name in c1 c2; do
	cp "$S/issued/$name.crt" "$S/issued/$name.key" "$T/" || fail "copy $name"
done
client() { # client NAME LOG
	netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.1.1 --server-name hub --ca "$S/ca.crt" \
		--cert "$T/$1.crt" --key "$T/$1.key" -d "t$1%d" --retry-max 1 \
		--control-socket none >"$T/$2" 2>&1
	client_pid=$NETNS_LAST_PID
}
client c1 c1.log
netns_wait_log 15 "$T/c1.log" "connected to" || fail "c1 did not connect"
c1_pid=$client_pid

"$B/cli/trellis" pki revoke c1 --state-dir "$S" >/dev/null || fail "pki revoke"
netns_wait_log 10 "$T/hub.log" "client c1: certificate revoked, disconnecting" ||
	fail "the hub (as nobody) did not drop the client revoked while it runs"
netns_wait_log 10 "$T/c1.log" "certificate revoked" || fail "c1 was not told"
netns_kill "$c1_pid"
grep -q "cannot be loaded" "$T/hub.log" && fail "the hub could not load the CRL"
client c1 c1-again.log
netns_wait_log 15 "$T/c1-again.log" "certificate revoked" || fail "the revoked client was not refused"
netns_kill "$client_pid"
ok "a certificate revoked while the hub runs as nobody is dropped at once and refused afterwards"

# A CRL that cannot be loaded: new connections refused, loudly, until it loads.
cp "$S/crl.pem" "$T/crl.good"
echo "not a CRL" >"$S/crl.pem"
netns_wait_log 10 "$T/hub.log" "cannot be loaded.*refusing every new connection" ||
	fail "no loud warning about the damaged CRL"
client c2 c2-refused.log
netns_wait_log 15 "$T/c2-refused.log" "cannot check revocations" || fail "c2 was not refused while the CRL is damaged"
netns_kill "$client_pid"
cp "$T/crl.good" "$S/crl.pem"
netns_wait_log 10 "$T/hub.log" "loads again" || fail "the hub did not notice the CRL loads again"
client c2 c2.log
netns_wait_log 15 "$T/c2.log" "connected to" || fail "c2 did not connect once the CRL loads"
addr=$(ip -n "$c1" -4 -o addr show dev tc20 | awk '{print $4}')
[ -n "$addr" ] || fail "c2 has no address"
ok "a damaged CRL: the hub refuses new sessions and says so; once it loads, c2 connects ($addr)"

# Invites need the CA key and the invites file: root writes the invite, the
# hub (nobody) reads it, signs with ca.key and marks it used.
TOKEN=$("$B/cli/trellis" invite laptop --server 198.18.1.1 --state-dir "$S" 2>"$T/invite.log") ||
	fail "trellis invite: $(cat "$T/invite.log")"
netns_exec "$c1" "$B/cli/trellis" join "$TOKEN" --state-dir "$T/joined" >"$T/join.log" 2>&1 ||
	fail "trellis join against the hub running as nobody failed: $(cat "$T/join.log")"
netns_wait_log 5 "$T/hub.log" "invite .* redeemed from .*issued a certificate for 'laptop'" || fail "the hub did not log the redemption"
[ "$(stat -c %U "$S/issued/laptop.crt")" = nobody ] || fail "the hub's own writes are not nobody's"
ok "an invite made by root is redeemed by the hub running as nobody (it signs with the CA key)"

# A client that refuses the hub's certificate (wrong --server-name): the hub hears why (item 11).
netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.1.1 --server-name not-the-hub --ca "$S/ca.crt" \
	--cert "$T/c2.crt" --key "$T/c2.key" -d tbad%d --retry-max 1 --control-socket none >"$T/bad-name.log" 2>&1
bad_pid=$NETNS_LAST_PID
netns_wait_log 10 "$T/bad-name.log" "name does not match" || fail "the client did not refuse the wrong name"
netns_wait_log 10 "$T/hub.log" "failed: the peer refused our certificate: the peer sent the TLS alert 'Certificate is bad'" ||
	fail "the hub did not log why the client left"
netns_kill "$bad_pid"
ok "a client refusing the hub's certificate sends a TLS alert; the hub logs why"

# Unknown invite ids (anyone can send one): a bounded rate of log lines (item 9).
if command -v gnutls-cli >/dev/null; then
	lines0=$(wc -l <"$T/hub.log")
	for i in $(seq 1 60); do
		netns_exec "$c1" timeout 5 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK' \
			--pskusername "invite:$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" \
			--pskkey 000102030405060708090a0b0c0d0e0f -p 3210 198.18.1.1 </dev/null >/dev/null 2>&1
	done
	lines=$(($(wc -l <"$T/hub.log") - lines0))
	[ "$lines" -le 12 ] || fail "60 handshakes with unknown invite ids wrote $lines log lines"
	ok "60 handshakes with unknown invite ids: $lines log lines"
fi

# The hub writes its leases within 500 ms of a change (server/pool.c).
netns_wait_for 5 grep -q " c2 " "$S/leases" || fail "leases not saved: $(cat "$S/leases")"
[ "$(stat -c %U "$S/leases")" = nobody ] || fail "leases not nobody's"
netns_kill "$client_pid"
kill -TERM "$hub_pid"
netns_wait_for 10 sh -c "! kill -0 $hub_pid 2>/dev/null" || fail "hub did not stop"
netns_wait_for 5 sh -c "! test -e $R/hub.pid && ! test -e $R/hub.sock" ||
	fail "left behind in root's directory: $(ls "$R")"
ok "at exit the pid file and the control socket are gone from root's directory"

# The hub again: c2 gets its address back.
start_hub hub2.log
client c2 c2-back.log
netns_wait_log 15 "$T/c2-back.log" "connected to" || fail "c2 did not reconnect"
again=$(ip -n "$c1" -4 -o addr show dev tc20 | awk '{print $4}')
[ "$again" = "$addr" ] || fail "c2 had $addr, now $again: leases were not kept"
ok "after a restart c2 has the same address ($again): leases were saved as nobody"
tap_plan
