#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What a holder of the shared key cannot do (issue 16, items 2, 3, 4 and 5):
#   - take another client's or node's name: the first one binds its name to
#     its node key; the same name with another key, or none, is refused and
#     logged as a takeover attempt, and the first client's session stays;
#   - claim a subnet inside another client's, inside the hub's pushed route
#     or inside the pool (refused, logged, the client told why), while a
#     claim that overlaps nothing still works;
#   - get a name with a line break, an escape sequence or bytes that are not
#     UTF-8 into the hub: refused at the handshake, the log line stays one
#     line, the leases file gains nothing, status keeps working.
#
#   [c1] 198.18.1.2 ---- 198.18.1.1 [hub] 198.18.2.1 ---- 198.18.2.2 [atk]
#                              198.18.3.1 ---- 198.18.3.2 [c5]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
command -v gnutls-cli >/dev/null || netns_skip "gnutls-cli (gnutls-bin) is not installed"

netns_new hub hub && netns_new c1 c1 && netns_new c5 c5 && netns_new atk atk || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link c1"
netns_link "$hub" 198.18.3.1/24 "$c5" 198.18.3.2/24 || fail "link c5"
netns_link "$hub" 198.18.2.1/24 "$atk" 198.18.2.2/24 || fail "link atk"
(umask 077 && "$B/cli/trellis" genkey >"$T/network.key") || fail "genkey"
# A config file holding the key that others can read is refused (item 8).
printf '[server]\nshared-key = %s\nstate-dir = %s\n' "$(cat "$T/network.key")" "$T/open-state" >"$T/open.conf"
chmod 644 "$T/open.conf"
netns_exec "$hub" timeout 5 "$B/server/trellis-server" --config "$T/open.conf" >"$T/open-conf.out" 2>&1 &&
	fail "a 0644 config file with the shared key was accepted"
grep -q "can be read by group or others (mode 0644).*chmod 600" "$T/open-conf.out" ||
	fail "no clear refusal: $(cat "$T/open-conf.out")"
netns_spawn "$hub" "$B/server/trellis-server" --shared-key-file "$T/network.key" --state-dir "$T/state" --name hub \
	--route 198.19.100.0/24 --control-socket "$T/hub.sock" >"$T/hub.log" 2>&1
netns_wait_log 10 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
grep -q "passphrase" "$T/hub.log" && fail "a genkey key was called a passphrase"

client() { # client NAME SUBNET [NS HUB]: c2..c4 are refused, so they can share c1's namespace
	netns_spawn "${3:-$c1}" "$B/client/trellis-client" -c "${4:-198.18.1.1}" --shared-key-file "$T/network.key" \
		--name "$1" --subnet "$2" -d "t$1%d" --retry-max 1 --control-socket none >"$T/$1.log" 2>&1
}
client c1 198.19.50.0/24
netns_wait_log 15 "$T/c1.log" "connected to" || fail "c1 did not connect"
client c2 198.19.50.128/25
netns_wait_log 15 "$T/c2.log" "overlaps 198.19.50.0/24 of psk:c1" || fail "c2's claim inside c1's subnet was not refused"
netns_wait_log 5 "$T/hub.log" "refused .* as psk:c2: the claim 198.19.50.128/25 overlaps" || fail "the hub did not log it"
client c3 198.19.100.0/25
netns_wait_log 15 "$T/c3.log" "overlaps 198.19.100.0/24 of the hub's pushed routes" || fail "a claim inside the hub's route was not refused"
client c4 198.19.0.128/25
netns_wait_log 15 "$T/c4.log" "overlaps 198.19.0.0/24 of the hub's address pool" || fail "a claim inside the pool was not refused"
client c5 198.19.60.0/24 "$c5" 198.18.3.1
netns_wait_log 15 "$T/c5.log" "connected to" || fail "c5's claim overlaps nothing, yet it did not connect"
ok "claims inside another client's subnet, the hub's route or the pool are refused and logged; others work"

# Names: c1 bound its name to its node key on first contact.
grep -q "the name 'c1' is now bound to the node key of its first holder" "$T/hub.log" || fail "c1's name was not bound"
for how in "--node-key $T/impostor.key" "--node-key none"; do
	# shellcheck disable=SC2086
	netns_spawn "$atk" "$B/client/trellis-client" -c 198.18.2.1 --shared-key-file "$T/network.key" \
		--name c1 $how -d timp%d --retry-max 1 --control-socket none >"$T/impostor.log" 2>&1
	imp_pid=$NETNS_LAST_PID
	netns_wait_log 15 "$T/impostor.log" "the name 'c1' belongs to another node" || fail "the impostor ($how) was not refused"
	netns_kill "$imp_pid"
done
[ "$(grep -c "takeover attempt: 198.18.2.2:[0-9]* connected as 'c1'" "$T/hub.log")" -eq 2 ] ||
	fail "the takeover attempts were not logged as such"
grep -q "connected again" "$T/hub.log" && fail "c1's session was replaced"
netns_exec "$c1" ping -c 1 -W 2 198.19.0.1 >/dev/null || fail "c1 lost its tunnel"
ok "another key holder cannot take c1's name (with another node key or none): refused, logged as a takeover attempt; c1 keeps its session"

# Nodes (the symmetric model) bind their names alike: n1, then another n1.
node() { # node LOG STATE
	netns_spawn "$atk" "$B/server/trellis-server" --name n1 --address 198.19.7.1/24 --connect 198.18.2.1 \
		--shared-key-file "$T/network.key" --state-dir "$T/$2" --control-socket none -d tn1%d >"$T/$1" 2>&1
	node_pid=$NETNS_LAST_PID
}
node n1.log n1-state
netns_wait_log 15 "$T/hub.log" "the name 'node:n1' is now bound" || fail "node n1's name was not bound"
netns_wait_log 15 "$T/n1.log" "node hub connected" || fail "n1 did not connect to the hub"
netns_kill "$node_pid"
node n1-impostor.log n1-impostor-state
netns_wait_log 15 "$T/n1-impostor.log" "the name 'node:n1' belongs to another node" || fail "the second n1 was not refused"
netns_kill "$node_pid"
grep -q "takeover attempt: 198.18.2.2:[0-9]* connected as 'node:n1'" "$T/hub.log" || fail "not logged as a takeover attempt"
ok "nodes too: n1 binds its name; another n1 (another node key) is refused and logged"

# Names from the network: the PSK as gnutls-cli needs it (docs/PROTOCOL.md).
psk=$(python3 -c 'import hashlib, sys; print(hashlib.pbkdf2_hmac("sha256", open(sys.argv[1]).readline().strip().encode(),
	b"trellis shared key v2 74726c01", 200000, 32).hex())' "$T/network.key")
lines0=$(wc -l <"$T/hub.log")
for name in $'x 1\n7 psk:victim' $'evil\e[2J' $'\xff\xfe' "$(printf 'a%.0s' $(seq 1 252))"; do
	netns_exec "$atk" timeout 10 gnutls-cli --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+ECDHE-PSK:+DHE-PSK' \
		--pskusername "$name" --pskkey "$psk" -p 3210 198.18.2.1 </dev/null >"$T/gnutls.out" 2>&1
done
netns_wait_log 10 "$T/hub.log" "refused 198.18.2.2:.*shared-key name" || fail "bad names were not refused"
grep -q "x 1\\\\n7 psk:victim" "$T/hub.log" || fail "the name with a line break is not escaped in the log"
python3 - "$T/hub.log" <<'PY' || fail "the hub's log has raw control characters or bytes that are not UTF-8"
import sys
data = open(sys.argv[1], "rb").read()
data.decode("utf-8")
assert not any(b < 0x20 and b not in (0x0a,) for b in data), "control character"
PY
lines=$(($(wc -l <"$T/hub.log") - lines0))
[ "$lines" -le 8 ] || fail "$lines log lines for 4 refused names"
# The hub writes its leases within 500 ms of a change (server/pool.c): look after that.
sleep 1
grep -q victim "$T/state/leases" && fail "a lease was planted: $(cat "$T/state/leases")"
"$B/cli/trellis" status --json --socket "$T/hub.sock" >"$T/status.json" 2>"$T/status.err" || fail "status broke: $(cat "$T/status.err")"
python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert len(d[0]["peers"]) == 2, d' "$T/status.json" ||
	fail "status: $(cat "$T/status.json")"
ok "names with a line break, an escape sequence, non-UTF-8 bytes or 252 bytes: refused, logged on one line each, no lease written, status works"
tap_plan
