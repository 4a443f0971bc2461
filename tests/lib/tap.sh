# SPDX-License-Identifier: GPL-2.0-or-later
# TAP output for the netns tests, sourced after netns.sh with $T set to the
# test's directory: ok TEXT numbers a passed check; fail TEXT says "not ok",
# shows the end (the last 30 lines) of every *.log and *.out file in $T and
# exits 1; tap_plan prints the count at the end (TAP_N, the checks so far);
# ms_since START (from date +%s%N) gives the milliseconds since.
TAP_N=0
ok() {
	TAP_N=$((TAP_N + 1))
	echo "ok $TAP_N - $*"
}
fail() {
	local f
	echo "not ok - $*"
	for f in "$T"/*.log "$T"/*.out; do
		[ -f "$f" ] || continue
		echo "---- $f"
		tail -n 30 "$f"
	done
	exit 1
}
tap_plan() { echo "1..$TAP_N"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
