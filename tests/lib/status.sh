# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# What a daemon's status says, for netns tests (needs $B, the build root).

# status_mtu_settled SOCK -> true when every session of the daemon at SOCK
# whose data goes over UDP knows its path MTU and is not searching it again
# (the searches' probes would show in a capture taken meanwhile)
status_mtu_settled() {
	"$B/cli/trellis" status --json --socket "$1" | python3 -c '
import json, sys
peers = json.load(sys.stdin)[0]["peers"]
sys.exit(any(p.get("path") == "udp" and (not p.get("path_mtu") or p.get("path_mtu_search") == "searching") for p in peers))'
}
