# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
#
# Network-namespace helper for Trellis tests. Source it from a bash test:
#
#   . "$TR_SOURCE_ROOT/tests/lib/netns.sh"
#   netns_require_root                 # skips (exit 77) when not root
#   netns_new a a; netns_new b b       # $a, $b: names unique per run
#   netns_link "$a" 198.18.1.1/24 "$b" 198.18.1.2/24
#   netns_spawn "$a" some-daemon --flag # PID recorded for cleanup
#   netns_exec "$b" ping -c1 -W2 198.18.1.1
#
# Everything it makes is removed when the shell exits, fails or is
# interrupted: recorded processes are killed by PID, then whatever still runs
# inside the namespaces, then the namespaces themselves, by name.
#
# Addresses: underlay 198.18.0.0/16 only (RFC 2544 benchmarking range).

NETNS_RUN_ID="trt$$x$RANDOM"
NETNS_NAMES=()
NETNS_PIDS=()
NETNS_LAST_PID=
NETNS_LINKS=0
NETNS_TMPDIR=

netns_log() { printf '[netns] %s\n' "$*" >&2; }

netns_skip() {
	printf 'SKIP: %s\n' "$*"
	exit 77
}

netns_require_root() {
	[ "$(id -u)" -eq 0 ] || netns_skip "needs root (network namespaces, veth, tun/tap); run the netns suite as root"
	command -v ip >/dev/null || netns_skip "iproute2 (ip) is not installed"
}

# A private scratch directory, removed with everything else. It is made when
# the helper is sourced (below): tests call T=$(netns_tmpdir), a subshell, so a
# directory made inside it would never reach the cleanup.
netns_tmpdir() {
	if [ -z "$NETNS_TMPDIR" ]; then
		NETNS_TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/$NETNS_RUN_ID.XXXXXX")
	fi
	printf '%s\n' "$NETNS_TMPDIR"
}

netns_cleanup() {
	local rc=$? pid ns i
	trap - EXIT INT TERM HUP
	# 1. Processes we started, by PID, and any other background job of the
	# test shell: TERM, a bounded wait, then KILL.
	NETNS_PIDS+=($(jobs -p))
	for pid in "${NETNS_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${NETNS_PIDS[@]}"; do
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	# 2. Anything else still running inside our namespaces.
	for ns in "${NETNS_NAMES[@]}"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
	done
	# 3. The namespaces, by name (their veth ends go with them).
	for ns in "${NETNS_NAMES[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -n "$NETNS_TMPDIR" ] && rm -rf "$NETNS_TMPDIR"
	NETNS_PIDS=()
	NETNS_NAMES=()
	return $rc
}
netns_tmpdir >/dev/null
# Daemons started here put their default control sockets in the scratch
# directory, not in the machine's /run/trellis: runs never see each other's.
export TRELLIS_CONTROL_DIR="$NETNS_TMPDIR/run"
# Likewise the default state directory (leases, node keys), not the machine's.
export TRELLIS_STATE_DIR="$NETNS_TMPDIR/state-default"
# And where `trellis join` writes NETWORK.conf: never the machine's /etc/trellis.
export TRELLIS_CONFIG_DIR="$NETNS_TMPDIR/etc"
trap 'netns_cleanup; exit' EXIT
trap 'netns_log "interrupted"; exit 130' INT
trap 'netns_log "terminated"; exit 143' TERM HUP

# netns_new VAR LABEL -> creates a namespace named uniquely for this run and
# stores its name in VAR. (Not "$(netns_new)": a command substitution is a
# subshell, and the name would never reach the cleanup list.)
netns_new() {
	local name="$NETNS_RUN_ID-$2"
	ip netns add "$name" || { netns_log "cannot create namespace $name"; return 1; }
	NETNS_NAMES+=("$name")
	ip -n "$name" link set lo up
	printf -v "$1" '%s' "$name"
}

# netns_link NS_A ADDR_A/LEN NS_B ADDR_B/LEN [MTU] -> a veth pair; its ends'
# names are left in NETNS_IFA and NETNS_IFB
netns_link() {
	local a=$1 addr_a=$2 b=$3 addr_b=$4 mtu=${5:-1500}
	NETNS_LINKS=$((NETNS_LINKS + 1))
	local ifa="veth${NETNS_LINKS}a" ifb="veth${NETNS_LINKS}b"
	# Underlay links use 198.18.0.0/16; a LAN behind a node (a routed
	# subnet) may use 198.19.0.0/16 like the tunnel; IPv6 links use unique
	# local addresses, fd00::/8. Nothing else, ever.
	local x nodad_a= nodad_b=
	for x in "$addr_a" "$addr_b"; do
		case "$x" in 198.18.* | 198.19.* | fd[0-9a-f][0-9a-f]:*) ;; *) netns_log "address $x outside 198.18.0.0/15 and fd00::/8"; return 1 ;; esac
	done
	# IPv6 addresses usable at once (no duplicate address detection on a fresh veth)
	case "$addr_a" in *:*) nodad_a=nodad ;; esac
	case "$addr_b" in *:*) nodad_b=nodad ;; esac
	ip -n "$a" link add "$ifa" mtu "$mtu" type veth peer name "$ifb" netns "$b" mtu "$mtu" || return 1
	ip -n "$a" addr add "$addr_a" dev "$ifa" $nodad_a || return 1
	ip -n "$b" addr add "$addr_b" dev "$ifb" $nodad_b || return 1
	ip -n "$a" link set "$ifa" up || return 1
	ip -n "$b" link set "$ifb" up || return 1
	NETNS_IFA=$ifa
	NETNS_IFB=$ifb
}

# netns_exec NS CMD... -> runs CMD inside NS in the foreground
netns_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# netns_spawn NS CMD... -> runs CMD inside NS in the background, records its PID
# in NETNS_PIDS and NETNS_LAST_PID. Output goes where the caller redirects it.
netns_spawn() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@" &
	NETNS_LAST_PID=$!
	NETNS_PIDS+=("$NETNS_LAST_PID")
}

# netns_kill PID -> stops one spawned process now (TERM, bounded wait, KILL)
netns_kill() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 0
}

# netns_kill_hard PID -> the process dies at once, with no chance to say
# goodbye (SIGKILL), as a crash or a power cut; reaped before it returns
netns_kill_hard() {
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 0
}

# netns_wait_for SECONDS CMD... -> polls CMD every 0.1 s until it succeeds or
# the time runs out (returns 1). Every wait in a test is bounded.
netns_wait_for() {
	local secs=$1 i
	shift
	for i in $(seq 1 $((secs * 10))); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# netns_wait_log SECS FILE PATTERN -> waits until FILE has a line matching
# PATTERN (grep), at most SECS seconds (returns 1)
netns_wait_log() { netns_wait_for "$1" grep -q -- "$3" "$2"; }

# netns_csum_errors NS -> the checksum errors NS's kernel saw: IP header (Ip
# InHdrErrors) and TCP segment (Tcp InCsumErrors). A corrupted inner packet
# written to a tunnel device counts there.
netns_csum_errors() {
	netns_exec "$1" cat /proc/net/snmp | python3 -c '
import sys
rows = {}
for line in sys.stdin:
    k, v = line.split(":", 1)
    rows.setdefault(k, []).append(v.split())
ip = dict(zip(*rows["Ip"])); tcp = dict(zip(*rows["Tcp"]))
print(int(ip["InHdrErrors"]) + int(tcp["InCsumErrors"]))'
}

netns_fail() {
	printf 'FAIL: %s\n' "$*" >&2
	exit 1
}
