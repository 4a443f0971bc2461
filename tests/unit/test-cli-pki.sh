#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `trellis pki` end to end in a temporary state directory: TAP-less, exit 0 on success.
# Usage: test-cli-pki.sh PATH/TO/trellis
set -u
trellis=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
state=$tmp/state
fails=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# expect CODE PATTERN CMD...: exit code CODE and PATTERN in stdout+stderr
expect() {
	local code=$1 pattern=$2 out rc
	shift 2
	out=$("$@" 2>&1)
	rc=$?
	[ "$rc" -eq "$code" ] || fail "$* exited $rc, expected $code: $out"
	grep -qE -- "$pattern" <<<"$out" || fail "$*: output lacks '$pattern': $out"
}

expect 0 "^trellis [0-9]" "$trellis" --version
expect 0 "pki" "$trellis" --help
expect 2 "unknown command" "$trellis" frobnicate
expect 2 "Usage: trellis pki" "$trellis" pki
expect 0 "init" "$trellis" pki --help
expect 0 "--subnet" "$trellis" pki issue --help

expect 1 "trellis pki init" "$trellis" pki list --state-dir "$state"
expect 0 "CA fingerprint" "$trellis" pki init --state-dir "$state" --algorithm ecdsa-p256
[ "$(stat -c %a "$state")" = 700 ] || fail "state dir mode $(stat -c %a "$state")"
[ "$(stat -c %a "$state/ca.key")" = 600 ] || fail "ca.key mode"
expect 1 "already exists" "$trellis" pki init --state-dir "$state"
expect 2 "unknown key algorithm" "$trellis" pki init --state-dir "$tmp/x" --algorithm rsa

export TRELLIS_STATE_DIR=$state
expect 0 "issued a client certificate" "$trellis" pki issue alice --ip 198.19.0.5 \
	--subnet 198.19.5.0/24 --subnet fd00:5::/64
[ "$(stat -c %a "$state/issued/alice.key")" = 600 ] || fail "alice.key mode"
expect 0 "issued a server certificate" "$trellis" pki issue hub --server --days 30
expect 1 "already has a certificate.*--force" "$trellis" pki issue alice
expect 2 "lower case" "$trellis" pki issue Alice
expect 2 "must start" "$trellis" pki issue -- -x
expect 2 "without a prefix length" "$trellis" pki issue bob --ip 198.19.0.0/24
expect 2 "--subnet" "$trellis" pki issue bob --subnet 198.19.5.1/24
expect 2 "usage" "$trellis" pki issue
expect 0 "alice +client .* valid" "$trellis" pki list
# 30 days is inside the warning window: the list says so.
expect 0 "hub +server .* EXPIRES in" "$trellis" pki list

expect 0 "revoked 'alice'" "$trellis" pki revoke alice
expect 0 "alice +client .* revoked" "$trellis" pki list
expect 0 '"name": "alice", "kind": "client".*"revoked": true' "$trellis" pki list --json
expect 1 "no current certificate" "$trellis" pki revoke alice
expect 0 "issued a client" "$trellis" pki issue alice
expect 0 "issued a client" "$trellis" pki issue alice --force
expect 0 "re-signed" "$trellis" pki crl

chmod 644 "$state/ca.key"
expect 1 "chmod 600" "$trellis" pki issue carol
chmod 600 "$state/ca.key"
expect 0 "issued" "$trellis" pki issue carol --state-dir "$state"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed"
	exit 1
fi
echo "all trellis pki checks passed"
