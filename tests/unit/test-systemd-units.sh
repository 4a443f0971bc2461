#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The systemd units are valid: systemd-analyze verify, with ExecStart pointed
# at the built programs. No systemd needs to run for this.
set -u
command -v systemd-analyze >/dev/null || { echo "SKIP: systemd-analyze is not installed"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rc=0
for role in server client; do
	unit=$T/trellis-$role@check.service
	sed -e "s|^ExecStart=[^ ]*|ExecStart=$TR_BUILD_ROOT/$role/trellis-$role|" \
		"$TR_BUILD_ROOT/data/trellis-$role@.service" >"$unit"
	grep -q '^Type=notify$' "$unit" || { echo "not ok - $role: not Type=notify"; rc=1; }
	# CAP_NET_ADMIN, and CAP_BPF for loading the express queue's program at start
	# (given up right after; tests/package/test-debian.sh), with bpf(2) allowed for it.
	grep -q '^CapabilityBoundingSet=CAP_NET_ADMIN CAP_BPF$' "$unit" || { echo "not ok - $role: capabilities"; rc=1; }
	grep -q '^SystemCallFilter=@system-service bpf$' "$unit" || { echo "not ok - $role: bpf(2) not allowed"; rc=1; }
	out=$(systemd-analyze verify --man=no "$unit" 2>&1)
	if [ -n "$out" ]; then
		echo "not ok - $role unit: $out"
		rc=1
	else
		echo "ok - trellis-$role@.service verifies"
	fi
done
exit $rc
