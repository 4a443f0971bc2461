#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# One-line onboarding: `trellis invite` on the hub, `trellis join` on a new
# machine, then trellis-client with what join printed; tokens that are
# reused, damaged, re-pinned, expired; and a revocation that drops the client.
#
#        198.18.1.0/24
#   [hub] ------------------- [lap]
#   trellis0 198.19.0.1       trellis0 198.19.0.x (after joining)
#   state dir S (CA made      state dirs under $T/join-*
#   on first run)
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
command -v python3 >/dev/null || netns_skip "python3 is not installed"

S=$T/hub-state
C=$T/join-laptop
# Where join writes NAME.conf (/etc/trellis on a real machine).
export TRELLIS_CONFIG_DIR=$T/etc
CF=$TRELLIS_CONFIG_DIR/laptop.conf
mode() { stat -c %a "$1"; }

# Rewrites a token's payload (fp: flip a bit of the CA fingerprint; expiry:
# one day later) and recomputes its checksum, as docs/PKI.md describes it.
retoken() {
	python3 - "$1" "$2" <<'PY'
import base64, hashlib, sys
token, what = sys.argv[1], sys.argv[2]
prefix = "trellis1:"
body = token[len(prefix):]
raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
p = bytearray(raw[:-4])
assert hashlib.sha256(p).digest()[:4] == raw[-4:]
if what == "fp":
    p[1 + 8 + 32] ^= 0x01
else:
    off = 1 + 8 + 32 + 32
    p[off:off + 8] = (int.from_bytes(p[off:off + 8], "big") + 86400).to_bytes(8, "big")
out = bytes(p) + hashlib.sha256(p).digest()[:4]
print(prefix + base64.urlsafe_b64encode(out).decode().rstrip("="))
PY
}

netns_new hub hub && netns_new lap lap || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$lap" 198.18.1.2/24 || fail "link"

# ---- The hub, on its state directory alone (it makes its CA) ----------------
netns_spawn "$hub" "$B/server/trellis-server" --state-dir "$S" --keepalive 2 >>"$T/hub.log" 2>&1
netns_wait_log 15 "$T/hub.log" "listening on port 3210" || fail "hub did not start"
grep -q "invites (trellis invite) are redeemed here" "$T/hub.log" || fail "hub did not enable invites"
ok "hub started on its state directory, invites on"

TOKEN=$("$B/cli/trellis" invite laptop --server 198.18.1.1 --state-dir "$S" 2>"$T/invite.log") ||
	fail "trellis invite: $(cat "$T/invite.log")"
[ "$(printf '%s\n' "$TOKEN" | wc -l)" = 1 ] && [ "${TOKEN#trellis1:}" != "$TOKEN" ] ||
	fail "the token is not one line starting trellis1: ($TOKEN)"
[ "$(mode "$S/invites")" = 700 ] || fail "invites dir mode $(mode "$S/invites")"
f=$(ls "$S"/invites/*.invite) || fail "no invite file"
[ "$(mode "$f")" = 600 ] || fail "invite file mode $(mode "$f")"
if command -v certtool >/dev/null; then
	fp=$(certtool --fingerprint --hash sha256 --infile "$S/ca.crt") || fail "certtool"
	grep -q "CA fingerprint (SHA-256) $fp" "$T/invite.log" || fail "invite did not print the fingerprint certtool computes ($fp)"
fi
ok "invite: one line, pending invite file 0600 in a 0700 directory"

# ---- Join, then connect with exactly what join printed -----------------------
netns_exec "$lap" "$B/cli/trellis" join "$TOKEN" --state-dir "$C" >"$T/join.out" 2>&1 ||
	fail "trellis join failed"
for f in "$C/ca.crt" "$C/laptop.crt" "$C/laptop.key" "$CF"; do [ -f "$f" ] || fail "join did not write $f"; done
[ "$(mode "$C/laptop.key")" = 600 ] || fail "key mode $(mode "$C/laptop.key")"
cmp -s "$C/ca.crt" "$S/ca.crt" || fail "the CA join wrote is not the hub's"
[ -f "$S/issued/laptop.crt" ] && [ ! -e "$S/issued/laptop.key" ] ||
	fail "the hub should hold laptop's certificate and no key"
grep -q "BEGIN PRIVATE KEY" "$T/hub.log" "$S"/invites/* && fail "a private key reached the hub"
grep -qx "connect=198.18.1.1:3210" "$CF" && grep -qx "server-name=hub" "$CF" &&
	grep -qx "key=$C/laptop.key" "$CF" || fail "laptop.conf: $(cat "$CF")"
python3 -c 'import configparser,sys; c=configparser.ConfigParser(); c.read(sys.argv[1]); assert set(c["client"]) == {"connect","server-name","ca","cert","key"}' \
	"$CF" || fail "laptop.conf keys"
[ -z "$(ls "$S"/invites/*.invite 2>/dev/null)" ] || fail "the pending invite was not consumed"
grep -q "invite .* redeemed from 198.18.1.2:[0-9]*: issued a certificate for 'laptop'" "$T/hub.log" ||
	fail "hub did not log the redemption"
ok "join: CA, certificate, key (0600, made here) and laptop.conf written; the hub consumed the invite"

grep -qx "  systemctl enable --now trellis-client@laptop" "$T/join.out" || fail "join did not say how to start it"
cmd=$(grep '^  trellis-client ' "$T/join.out") || fail "join printed no trellis-client command"
cmd=${cmd#  }
eval "set -- ${cmd#trellis-client }"
netns_spawn "$lap" "$B/client/trellis-client" "$@" --retry-max 2 >>"$T/client.log" 2>&1
client_pid=$NETNS_LAST_PID
netns_wait_log 15 "$T/client.log" "connected to" || fail "the joined client did not connect"
netns_exec "$lap" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "no ping through the tunnel"
grep -q "client laptop connected from 198.18.1.2" "$T/hub.log" || fail "hub did not see 'laptop'"
ok "trellis-client with the printed arguments connects as 'laptop' and pings the hub"

# ---- Refusals ----------------------------------------------------------------
expect_refused() { # expect_refused LABEL PATTERN TOKEN
	local label=$1 pattern=$2 token=$3 dir
	dir=$T/join-$label
	netns_exec "$lap" timeout 40 "$B/cli/trellis" join "$token" --state-dir "$dir" --network "$label" >"$T/$label.out" 2>&1 &&
		fail "$label: join succeeded"
	grep -q -- "$pattern" "$T/$label.out" || fail "$label: no '$pattern' in: $(cat "$T/$label.out")"
	[ ! -e "$dir/ca.crt" ] || fail "$label: files written after a refusal"
}
expect_refused reused "already used" "$TOKEN"
grep -q "refused .*invite already used" "$T/hub.log" || fail "hub did not log the reuse"
ok "the same token again: refused, 'already used' (both sides)"

c=${TOKEN:30:1}
[ "$c" = A ] && r=B || r=A
bad=${TOKEN:0:30}$r${TOKEN:31}
[ "$bad" != "$TOKEN" ] || fail "test bug: token not altered"
expect_refused damaged "damaged (checksum mismatch" "$bad"
ok "a token with one character changed: 'damaged', nothing sent"

T2=$("$B/cli/trellis" invite desk --server 198.18.1.1 --state-dir "$S" 2>/dev/null) || fail "invite desk"
expect_refused repinned "CA fingerprint mismatch" "$(retoken "$T2" fp)"
ok "a token whose CA fingerprint was altered (checksum recomputed): 'fingerprint mismatch', nothing written"

T3=$("$B/cli/trellis" invite old --server 198.18.1.1 --state-dir "$S" --expires 1s 2>/dev/null) ||
	fail "invite old"
sleep 2
expect_refused expired "expired at" "$T3"
expect_refused expired-hub "this invite has expired" "$(retoken "$T3" expiry)"
grep -q "refused .*invite expired" "$T/hub.log" || fail "hub did not log the expiry"
ok "an expired token: refused locally, and by the hub when the token's expiry is pushed later"

# Two machines redeem one invite at the same moment: exactly one succeeds.
T4=$("$B/cli/trellis" invite twin --server 198.18.1.1 --state-dir "$S" 2>/dev/null) || fail "invite twin"
twins=()
for i in 1 2; do
	netns_exec "$lap" timeout 40 "$B/cli/trellis" join "$T4" --state-dir "$T/twin$i" --network "twin$i" >"$T/twin$i.out" 2>&1 &
	twins+=($!)
done
wait "${twins[@]}"
wins=$(grep -l "^joined as 'twin'" "$T"/twin?.out | wc -l)
[ "$wins" = 1 ] || fail "$wins of 2 simultaneous redemptions succeeded"
grep -q "already used\|does not know this invite" "$T"/twin?.out || fail "the loser was not told"
ok "two simultaneous redemptions of one token: exactly one succeeds"

expect_refused unreachable "cannot reach the hub" \
	"$("$B/cli/trellis" invite far --server 198.18.1.99:3210 --state-dir "$S" 2>/dev/null)"
ok "an unreachable hub: 'cannot reach the hub'"

# ---- Revocation: dropped within the CRL check, refused afterwards -------------
"$B/cli/trellis" pki revoke laptop --state-dir "$S" >/dev/null || fail "revoke"
netns_wait_log 10 "$T/hub.log" "client laptop: certificate revoked, disconnecting" || fail "hub did not drop laptop"
netns_wait_log 10 "$T/client.log" "certificate revoked" || fail "client not told it was revoked"
netns_kill "$client_pid"
# This time from the laptop.conf that join wrote (trellis-client --config).
netns_spawn "$lap" "$B/client/trellis-client" --config "$CF" --retry-max 2 >"$T/client2.log" 2>&1
netns_wait_log 15 "$T/client2.log" "giving up" || fail "revoked client not refused on reconnection"
grep -q "certificate revoked" "$T/client2.log" || fail "reconnection: no 'certificate revoked'"
ok "revoked: the connected client is dropped after the CRL reload and refused on reconnection (from laptop.conf)"
tap_plan
