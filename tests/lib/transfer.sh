# SPDX-License-Identifier: GPL-2.0-or-later
# A TCP transfer checked end to end, for the netns tests (sourced after
# netns.sh and tap.sh, $T set): tests/netns/tcp-sha.py receives on port 5001
# and prints the SHA-256 of what it got, the sender that of what it sent.
#
#   transfer_recv "$b" "$ab" 120            # waits until it listens
#   transfer_send "$a" "$ab" 120 3000000 100000
#   ...                                     # break the path meanwhile
#   transfer_check 60                       # both digests, and they match
TRANSFER_SHA=$TR_SOURCE_ROOT/tests/netns/tcp-sha.py

# transfer_recv NS ADDR SECS -> the receiver in NS on ADDR:5001, giving up
# after SECS, its output in $T/recv.out; $recv_pid
transfer_recv() {
	netns_spawn "$1" python3 "$TRANSFER_SHA" recv "$2" 5001 "$3" >"$T/recv.out" 2>&1
	recv_pid=$NETNS_LAST_PID
	netns_wait_for 5 grep -q listening "$T/recv.out" || fail "receiver did not start"
}

# transfer_send NS ADDR SECS BYTES [RATE] -> BYTES of random data ($T/blob)
# sent from NS to ADDR:5001 in the background (RATE bytes/s when given),
# giving up after SECS, its output in $T/send.out; $send_pid
transfer_send() {
	head -c "$4" /dev/urandom >"$T/blob" || fail "no data to send"
	netns_spawn "$1" python3 "$TRANSFER_SHA" send "$2" 5001 "$3" "$T/blob" ${5:+"$5"} >"$T/send.out" 2>&1
	send_pid=$NETNS_LAST_PID
}

# transfer_check SECS -> waits up to SECS for the receiver's digest and 10 s
# more for the sender's; fails unless both came and they are the same
transfer_check() {
	netns_wait_for "$1" grep -q "[0-9a-f]\{64\}" "$T/recv.out" ||
		fail "transfer did not finish: $(cat "$T/recv.out" "$T/send.out")"
	netns_wait_for 10 grep -q "[0-9a-f]\{64\}" "$T/send.out" || fail "sender did not finish: $(cat "$T/send.out")"
	[ "$(tail -n 1 "$T/recv.out")" = "$(cat "$T/send.out")" ] ||
		fail "SHA-256 differs: sent $(cat "$T/send.out"), received $(tail -n 1 "$T/recv.out")"
}
