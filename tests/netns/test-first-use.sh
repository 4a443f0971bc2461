#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# First use: configurations that cannot work are refused at start (and make
# nothing first), and a client refused for a reason that retrying cannot fix
# (a hub that takes no clients, a wrong shared key) stops with that reason
# instead of reconnecting for ever.
#
#   [hub] 198.18.3.1 ---- 198.18.3.2 [c1]      tunnel 198.19.7.0/24
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
KEY="correct horse battery staple"

netns_new hub hub && netns_new c1 c1 || fail "netns"
netns_link "$hub" 198.18.3.1/24 "$c1" 198.18.3.2/24 || fail "link"

# runs_out SECS LOG NS CMD...: runs CMD in NS (bounded), records its exit status.
runs_out() {
	local secs=$1 log=$2
	shift 2
	local ns=$1
	shift
	timeout -k 2 "$secs" ip netns exec "$ns" "$@" >"$log" 2>&1
	echo $? >"$log.rc"
}

# ---- refused at start, nothing made ------------------------------------------
mkdir -p "$T/st1"
runs_out 10 "$T/nopool.log" "$hub" "$B/server/trellis-server" --pool none --pool6 none \
	--state-dir "$T/st1"
[ "$(cat "$T/nopool.log.rc")" = 2 ] || fail "no pool, no address: exit $(cat "$T/nopool.log.rc")"
grep -q "no tunnel address and assign none.*--address" "$T/nopool.log" || fail "no reason given"
[ -z "$(ls -A "$T/st1")" ] || fail "a refused start left files: $(ls -A "$T/st1")"
ok "hub with --pool none --pool6 none and no --address: refused at start, with the reason, nothing made"

runs_out 10 "$T/node.log" "$hub" "$B/server/trellis-server" --name alpha --shared-key "$KEY" \
	-c 198.18.3.2 --state-dir "$T/st1"
[ "$(cat "$T/node.log.rc")" = 2 ] || fail "node without --address: exit $(cat "$T/node.log.rc")"
grep -q -- "--connect makes this a node.*--address" "$T/node.log" || fail "no reason given"
ok "symmetric node (--connect) without --address: refused at start, with the reason"

runs_out 10 "$T/port.log" "$hub" "$B/server/trellis-server" --listen 99999 --state-dir "$T/st1"
[ "$(cat "$T/port.log.rc")" != 0 ] || fail "--listen 99999 accepted"
grep -q "99999" "$T/port.log" || fail "the bad port is not named: $(cat "$T/port.log")"
[ -z "$(ls -A "$T/st1")" ] || fail "--listen 99999 made files first: $(ls -A "$T/st1")"
ok "--listen 99999: refused before a CA is created"

# ---- a plain user: told what is missing, not a later symptom ----------------
if command -v setpriv >/dev/null && setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$B/cli/trellis" --version >/dev/null 2>&1; then
	asnobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	runs_out 10 "$T/user-client.log" "$c1" setpriv --reuid=nobody --regid=nogroup --clear-groups \
		"$B/client/trellis-client" -c 198.18.3.1 --shared-key "$KEY" --name c1
	[ "$(cat "$T/user-client.log.rc")" = 1 ] || fail "client as a plain user: exit $(cat "$T/user-client.log.rc")"
	grep -q "needs root or the CAP_NET_ADMIN capability" "$T/user-client.log" ||
		fail "client as a plain user: $(cat "$T/user-client.log")"
	grep -q "control socket" "$T/user-client.log" && fail "control socket error instead of the reason"
	"$B/cli/trellis" pki init --state-dir "$T/st3" >/dev/null 2>&1 || fail "pki init"
	chmod 700 "$T/st3"
	asnobody "$B/cli/trellis" pki list --state-dir "$T/st3" >"$T/user-pki.log" 2>&1 && fail "pki list as a plain user worked"
	grep -q "permission denied reading the state directory" "$T/user-pki.log" ||
		fail "pki list as a plain user: $(cat "$T/user-pki.log")"
	ok "a plain user: the client says it needs root or CAP_NET_ADMIN; pki list says permission denied, not 'no CA'"
else
	echo "# skipped the plain-user checks: the build directory is not readable by nobody"
fi

# ---- refusals that stop the client's retry loop -----------------------------
netns_spawn "$hub" "$B/server/trellis-server" --name alpha --shared-key "$KEY" --address 198.19.7.1/24 \
	--pool none --pool6 none --state-dir "$T/st2" >"$T/node-hub.log" 2>&1
netns_wait_for 10 grep -q "listening" "$T/node-hub.log" || fail "node did not start"

# A start that fails late (the port is taken) takes back the CA it had made.
runs_out 10 "$T/busy.log" "$hub" "$B/server/trellis-server" --state-dir "$T/st5" --device tbusy%d
[ "$(cat "$T/busy.log.rc")" = 1 ] || fail "a hub on a taken port: exit $(cat "$T/busy.log.rc")"
grep -q "cannot listen on port 3210 (TCP): Address already in use" "$T/busy.log" || fail "busy port: $(cat "$T/busy.log")"
[ ! -e "$T/st5" ] || fail "a failed start left $(ls -RA "$T/st5")"
ok "a hub whose port is taken: says so, and the CA it had just made is gone again"

# gives_up LABEL EXPECTED-REGEX CLIENT-ARGS...: the client exits 1 within 10 s,
# says EXPECTED and never reconnects; took= how long it ran.
gives_up() {
	local label=$1 want=$2 start
	shift 2
	start=$(date +%s)
	runs_out 20 "$T/c-$label.log" "$c1" "$B/client/trellis-client" "$@"
	took=$(($(date +%s) - start))
	[ "$(cat "$T/c-$label.log.rc")" = 1 ] || fail "$label: exit $(cat "$T/c-$label.log.rc") after ${took}s"
	[ "$took" -le 10 ] || fail "$label: took ${took}s to give up"
	grep -q "$want" "$T/c-$label.log" || fail "$label: expected '$want' in: $(cat "$T/c-$label.log")"
	grep -q "reconnecting" "$T/c-$label.log" && fail "$label: the client retried what cannot change"
	return 0
}
gives_up nopool "giving up: .*takes no clients.*--pool none" -c 198.18.3.1 --shared-key "$KEY" --name c1
grep -q "refused .*assigns no addresses" "$T/node-hub.log" || fail "the hub did not log why"
ok "client of a hub that assigns no addresses: exits 1 in ${took}s with the reason (hub logs it too)"

gives_up key "giving up: .*shared key.*differ" -c 198.18.3.1 --shared-key "a different phrase entirely" --name c2
ok "wrong shared key: the client stops in ${took}s and says the keys differ"

# A node that the other node refuses for good (both called alpha) stops
# dialling it, says why once, and keeps running.
netns_spawn "$c1" "$B/server/trellis-server" --name alpha --shared-key "$KEY" --address 198.19.7.2/24 \
	--pool none --pool6 none -c 198.18.3.1 --listen 3213 --state-dir "$T/st4" --control-socket none \
	>"$T/twin-node.log" 2>&1
twin_pid=$NETNS_LAST_PID
netns_wait_for 10 grep -q "refused us: both nodes have the same name (--name); not connecting to it again" \
	"$T/twin-node.log" || fail "the refused node did not say so: $(cat "$T/twin-node.log")"
sleep 3
[ "$(grep -c "refused .*our own name" "$T/node-hub.log")" = 1 ] || fail "the refused node dialled again"
kill -0 "$twin_pid" 2>/dev/null || fail "the refused node exited"
netns_kill "$twin_pid"
ok "a node refused for good by the node it connects (same --name): it stops dialling and says why"

# ---- what cannot be fixed by the client is retried, and shown as such -------
netns_spawn "$c1" "$B/client/trellis-client" -c 198.18.3.1:3299 --shared-key "$KEY" --name c9 \
	--control-socket "$T/c9.sock" >"$T/c-retry.log" 2>&1
retry_pid=$NETNS_LAST_PID
netns_wait_for 10 grep -q "reconnecting in" "$T/c-retry.log" || fail "no retry against a closed port"
netns_wait_for 10 sh -c "'$B/cli/trellis' status --socket '$T/c9.sock' | grep -q 'client: reconnecting (.*refused'" ||
	fail "status while retrying: $("$B/cli/trellis" status --socket "$T/c9.sock" 2>&1)"
kill -0 "$retry_pid" 2>/dev/null || fail "the client gave up on a port that may open later"
ok "a hub not listening (yet): the client keeps retrying; trellis status shows 'reconnecting (reason)'"

# --daemon: progress on the terminal, and a bounded wait.
start=$(date +%s)
runs_out 20 "$T/c-daemon.log" "$c1" "$B/client/trellis-client" --daemon --daemon-timeout 4 \
	-c 198.18.3.1:3299 --shared-key "$KEY" --name c10 --control-socket "$T/c10.sock"
took=$(($(date +%s) - start))
daemon_pid=$(sed -n 's/.*(pid \([0-9]*\);.*/\1/p' "$T/c-daemon.log")
[ -n "$daemon_pid" ] && NETNS_PIDS+=("$daemon_pid")
[ "$(cat "$T/c-daemon.log.rc")" = 3 ] || fail "--daemon against a closed port: exit $(cat "$T/c-daemon.log.rc")"
grep -q "^trellis-client: not connected yet (.*refused.*); trying again in" "$T/c-daemon.log" ||
	fail "--daemon showed no progress: $(cat "$T/c-daemon.log")"
grep -q "not ready after 4 s; it keeps trying in the background (pid $daemon_pid" "$T/c-daemon.log" ||
	fail "--daemon did not say it gave up waiting: $(cat "$T/c-daemon.log")"
[ "$took" -le 8 ] || fail "--daemon-timeout 4 took ${took}s"
kill -0 "$daemon_pid" 2>/dev/null || fail "the daemon did not keep trying"
netns_kill "$daemon_pid"
ok "--daemon: progress on the terminal (not connected yet, why), gives up waiting after --daemon-timeout with exit 3"

# docs/CONTROL.md's dbus-send example, as written but for the socket's path.
ctl=$(sed -n '/^    dbus-send --peer/,/[^\\]$/p' "$TR_SOURCE_ROOT/docs/CONTROL.md" | sed 's/^ *//; s/\\$//' | tr '\n' ' ')
[ -n "$ctl" ] || fail "no dbus-send example in docs/CONTROL.md"
ctl=${ctl//\/run\/trellis\/trellis-client-home.sock/$T/c9.sock}
bash -c "$ctl" >"$T/dbus-send.out" 2>&1 || fail "CONTROL.md's example ($ctl): $(cat "$T/dbus-send.out")"
netns_wait_for 5 grep -q "disconnecting on request" "$T/c-retry.log" || fail "Disconnect did not reach the client"
netns_kill "$retry_pid"
ok "docs/CONTROL.md's dbus-send example works as written (Disconnect over the control socket)"

# ---- certificates: what was expected and what was found ---------------------
P=$T/pki
netns_spawn "$hub" "$B/server/trellis-server" --name hub --listen 3212 --pool 198.19.7.0/24 \
	--pool6 none --state-dir "$P" >"$T/pki-hub.log" 2>&1
netns_wait_for 10 grep -q "listening" "$T/pki-hub.log" || fail "certificate hub did not start"
"$B/cli/trellis" pki issue laptop --state-dir "$P" >/dev/null 2>&1 || fail "pki issue"
"$B/cli/trellis" pki init --state-dir "$T/other" >/dev/null 2>&1 &&
	"$B/cli/trellis" pki issue stranger --state-dir "$T/other" >/dev/null 2>&1 || fail "other CA"
certcase() { # certcase LABEL EXPECTED-REGEX ARGS...: against the certificate hub
	local label=$1 want=$2
	shift 2
	gives_up "$label" "$want" -c 198.18.3.1:3212 "$@"
}
L="--cert $P/issued/laptop.crt --key $P/issued/laptop.key"
# shellcheck disable=SC2086
certcase name "the server's certificate is for 'hub', but --server-name expects 'hub.example.net'" \
	--server-name hub.example.net --ca "$P/ca.crt" $L
# shellcheck disable=SC2086
certcase ca "the server's certificate (subject hub) was not issued by the CA in $T/other/ca.crt" \
	--server-name hub --ca "$T/other/ca.crt" $L
certcase theirs "giving up: .*(subject stranger) was not issued by this hub's CA" --server-name hub \
	--ca "$P/ca.crt" --cert "$T/other/issued/stranger.crt" --key "$T/other/issued/stranger.key"
certcase keymix "the key $T/other/issued/stranger.key (--key) does not belong to the certificate" \
	--server-name hub --ca "$P/ca.crt" --cert "$P/issued/laptop.crt" --key "$T/other/issued/stranger.key"
certcase missing "cannot read the CA certificate $T/nope.crt (--ca): No such file" --server-name hub \
	--ca "$T/nope.crt" --cert "$P/issued/laptop.crt" --key "$P/issued/laptop.key"
ok "certificates: a wrong server name, CA, client CA, key or a missing file: the client stops and names what it expected"

tap_plan
