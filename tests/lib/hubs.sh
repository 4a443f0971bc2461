# SPDX-License-Identifier: GPL-2.0-or-later
# Hubs of one shared-key network for the netns tests, sourced after netns.sh
# with $B (build root), $T (the test's directory) and $KEY set:
#   hub NS NAME POOL POOL6 LOG [more server options]
# starts trellis-server NAME in namespace NS (control socket $T/NAME.sock,
# state in $T/state-NAME, routes 198.19.0.0/16 to its clients), its output
# appended to $T/LOG; $NETNS_LAST_PID is its PID.
hub() {
	local ns=$1 name=$2 pool=$3 pool6=$4 log=$5
	shift 5
	mkdir -p "$T/state-$name"
	netns_spawn "$ns" "$B/server/trellis-server" --name "$name" --shared-key "$KEY" \
		--control-socket "$T/$name.sock" --state-dir "$T/state-$name" --pool "$pool" \
		--pool6 "$pool6" --route 198.19.0.0/16 "$@" >>"$T/$log" 2>&1
}
