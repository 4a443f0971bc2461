# SPDX-License-Identifier: GPL-2.0-or-later
# The fault relay's settings and counters for the netns tests that send a
# transfer through tests/trellis-faultrelay (sourced after netns.sh).
# TR_FAULTS_MB, TR_FAULTS_SPEC and TR_FAULTS_SEED override the size, the
# faults (both directions) and the seed; docs/TESTING.md has the defaults.
MB=${TR_FAULTS_MB:-200}
FAULTS=${TR_FAULTS_SPEC:-drop=5,reorder=5,gap=3,hold=20,dup=1,corrupt=1}
SEED=${TR_FAULTS_SEED:-$RANDOM}
echo "# faults: $FAULTS, seed $SEED (TR_FAULTS_SEED=$SEED reproduces the fault pattern)"

# faults_stat KEY FILE -> the relay's counter KEY in its --stats FILE
faults_stat() { grep "^$1=" "$2" | cut -d= -f2; }

# faults_counters PID FILE -> asks the relay (PID, started with --stats
# FILE) for its counters, waits (5 s) until FILE has them, prints them as a
# TAP comment; fails (tap.sh) without them
faults_counters() {
	kill -USR1 "$1"
	netns_wait_for 5 test -s "$2" || fail "no relay counters"
	sleep 0.2
	echo "# relay: $(tr '\n' ' ' <"$2")"
}

# faults_every FILE -> fails (returns 1, saying which) unless every fault of
# the default spec happened in both directions
faults_every() {
	local d fault
	for d in up down; do
		for fault in dropped corrupted duplicated reordered; do
			[ "$(faults_stat $d.$fault "$1")" -gt 0 ] ||
				{ echo "relay: no $d.$fault out of $(faults_stat $d.seen "$1")"; return 1; }
		done
	done
}
