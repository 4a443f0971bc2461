#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Benchmark (not a test): Trellis's data path side by side with bare veth and
# the userspace VPNs from Debian's packages, between two network namespaces.
#
#   sudo bench/bench-vpn.sh [--cases LIST] [--build DIR] [--time N] [--repeat N] [--csv FILE]
#
#   [A] veth 198.18.0.1/24 <--------------> veth 198.18.0.2/24 [B]   underlay
#       tunnel 198.19.0.1  ================ tunnel 198.19.0.x          overlay
#
# For each case: start the VPN in both namespaces, wait (bounded) for a ping
# through it, then measure from B to A's tunnel address: iperf3 TCP with 1 and
# 4 streams, ping RTT under load (pings at 10 ms during the 1-stream run: the
# queueing delay a call feels while a download runs), 200 pings at 10 ms on
# the idle tunnel, and the CPU seconds (during the 1-stream run)
# and peak RSS of the VPN processes on both sides. Trellis runs a hub in A
# (198.19.0.1, shared key, its pool pushes B's address) and a client in B.
# Prints a table with ratios to bare veth and Trellis's single-stream ratio to
# each peer; --csv also writes the rows as CSV.
#
#   --cases LIST  subset/order of (default: all):
#                 bare trellis-aes256gcm trellis-chacha20 trellis-aes256gcm-lzo
#                 trellis-chacha20-lzo trellis-1thread-plain trellis-threads
#                 trellis-udp-offload trellis-no-coalesce trellis-no-codel
#                 trellis-no-express mesh-hub mesh-direct mesh-relayed wireguard-go
#                 openvpn-aes256gcm openvpn-chacha20 tinc-1.0 nebula
#                 The trellis-* technique cases are AES-256-GCM with parts of the
#                 data path switched off, to show what each gives:
#                   1thread-plain  one worker, batching only: no offloads at all
#                   threads        a worker per core, batching; no offloads
#                   udp-offload    workers + UDP GSO/GRO; no device offload
#                   no-coalesce    everything but merging segments for the device
#                   no-codel       everything but CoDel on the receive queue
#                                  (--queue-target 0): for the loaded RTT
#                   no-express     everything but the express queue for short
#                                  packets (--express-size 0): for the loaded RTT
#                   aes256gcm      everything on (the default configuration)
#                 The mesh-* cases (issue 17, docs/MESH.md) run in three other
#                 namespaces on one bridge (198.18.1.0/24, in the hub's
#                 namespace): a hub H, a client P and a client Q that measures;
#                 certificates, AES-256-GCM, everything else default:
#                   mesh-hub       Q to the hub (client to hub, P idle)
#                   mesh-direct    Q to P over their pair session, direct
#                   mesh-relayed   Q to P over their pair session, relayed by
#                                  the hub (UDP between P and Q dropped)
#                 With mesh-hub and mesh-direct, the report checks the mesh's
#                 targets: direct >= 90 % of client-to-hub single-stream
#                 throughput, idle RTT within 10 %.
#   --build DIR   Trellis build directory (default: ./build)
#   --time N      iperf3 seconds per run (default 10)
#   --repeat N    run the whole list of cases N times (rounds, default 1), so
#                 that every case meets the same changes of the machine's
#                 other load; each figure is then the median over the rounds
#                 (with min-max beside the throughputs), pings pooled. The
#                 report also checks issue 24's single-stream targets
#                 (trellis-aes256gcm >= 30 % of bare, trellis-chacha20 >= 85 %
#                 of trellis-aes256gcm), on the medians and per round.
#   --csv FILE    also write the results as CSV
#
# Environment: BENCH_TRELLIS_OPTS, options added to both Trellis daemons in
# every trellis-* case (an A/B of one option across the ciphers, e.g.
# "--express-size 0"); the cases' notes show them.
#
# Needs root and /dev/net/tun; installs the missing Debian packages (iperf3,
# wireguard-go, wireguard-tools, openvpn, tinc, nebula) with apt. The peers
# are set up as in the team's /work/shared/bench/peers.sh (credit: its
# configurations, PKI and measurement approach are adapted here). Everything
# is removed on exit or Ctrl-C by tests/lib/netns.sh: processes by PID, then
# the namespaces by name.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

ALL_CASES="bare trellis-aes256gcm trellis-chacha20 trellis-aes256gcm-lzo trellis-chacha20-lzo
	trellis-1thread-plain trellis-threads trellis-udp-offload trellis-no-coalesce trellis-no-codel
	trellis-no-express mesh-hub mesh-direct mesh-relayed wireguard-go openvpn-aes256gcm openvpn-chacha20 tinc-1.0 nebula"
ALL_CASES=$(echo $ALL_CASES)
CASES=$ALL_CASES
T=10
B=build
REPEAT=1
CSV=

log() { printf '[bench-vpn %(%T)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '3,/^$/{s/^# \{0,1\}//;p}' "$0"; }

while (($#)); do
	case $1 in
	--cases) CASES=${2:?--cases needs a list}; shift 2 ;;
	--time) T=${2:?--time needs seconds}; shift 2 ;;
	--repeat) REPEAT=${2:?--repeat needs a count}; shift 2 ;;
	--build) B=${2:?--build needs a directory}; shift 2 ;;
	--csv) CSV=${2:?--csv needs a file}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option: $1" ;;
	esac
done
CASES=$(echo $CASES | tr ',' ' ')
[[ $T =~ ^[0-9]+$ ]] && ((T >= 1 && T <= 300)) || die "--time must be 1..300"
[[ $REPEAT =~ ^[0-9]+$ ]] && ((REPEAT >= 1 && REPEAT <= 20)) || die "--repeat must be 1..20, got '$REPEAT'"
for c in $CASES; do [[ " $ALL_CASES " == *" $c "* ]] || die "unknown case: $c"; done
((EUID == 0)) || die "run as root (namespaces, tun devices)"
[[ -n $CSV ]] && CSV=$(realpath -m "$CSV")
if [[ " $CASES " == *" trellis-"* || " $CASES " == *" mesh-"* ]]; then
	B=$(realpath "$B" 2>/dev/null) && [[ -x $B/server/trellis-server && -x $B/client/trellis-client ]] ||
		die "no Trellis build in '$B' (meson setup build && ninja -C build, or --build DIR)"
fi

# ---------------------------------------------------------------- packages --
# Only what the selected cases need; --no-install-recommends keeps
# wireguard-tools from pulling a kernel image and openvpn easy-rsa. These are
# benchmark-only dependencies: scripts/install-deps.sh (CI) never installs them.
declare -A PKG=([iperf3]=iperf3 [ping]=iputils-ping [ip]=iproute2 [ss]=iproute2 [nstat]=iproute2
	[wg]=wireguard-tools [wireguard-go]=wireguard-go [openvpn]=openvpn
	[openssl]=openssl [tincd]=tinc [nebula]=nebula [nebula-cert]=nebula [nft]=nftables)
need=(iperf3 ping ip ss nstat)
[[ " $CASES " == *" mesh-relayed "* ]] && need+=(nft)
for c in $CASES; do
	case $c in
	wireguard-go) need+=(wg wireguard-go) ;;
	openvpn-*) need+=(openvpn openssl) ;;
	tinc-1.0) need+=(tincd) ;;
	nebula) need+=(nebula nebula-cert) ;;
	esac
done
missing=()
for cmd in "${need[@]}"; do command -v "$cmd" >/dev/null || missing+=("${PKG[$cmd]}"); done
if ((${#missing[@]})); then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	timeout 600 apt-get -o DPkg::Lock::Timeout=300 update -qq || die "apt-get update failed"
	timeout 900 apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "apt-get install failed"
fi
[[ -c /dev/net/tun ]] || die "/dev/net/tun missing"

# ------------------------------------------------------------- bookkeeping --
. tests/lib/netns.sh
TMP=$(netns_tmpdir)
HZ=$(getconf CLK_TCK)
A1=198.18.0.1 B1=198.18.0.2 # underlay (veth)
A2=198.19.0.1 B2=198.19.0.2 # overlay: A is the Trellis hub / the peers' node A
TAG=$$                      # interface names unique per run (wireguard-go's socket dir is shared)
EXTRA_FILES=()              # files outside $TMP to remove (wireguard-go's UAPI sockets)
WG_RUNDIR_NEW=0
[[ -d /var/run/wireguard ]] || WG_RUNDIR_NEW=1
bench_cleanup() {
	((${#EXTRA_FILES[@]})) && rm -f "${EXTRA_FILES[@]}"
	((WG_RUNDIR_NEW)) && rmdir /var/run/wireguard 2>/dev/null
	return 0
}
# netns.sh's EXIT trap, with our files first (keeping the exit status).
# shellcheck disable=SC2154 # bench_rc is set inside the trap
trap 'bench_rc=$?; bench_cleanup; (exit $bench_rc); netns_cleanup; exit' EXIT

netns_new NSA a && netns_new NSB b || die "cannot create namespaces"
netns_link "$NSA" $A1/24 "$NSB" $B1/24 || die "veth failed"

# spawn NS LOG CMD...: a background process in NS, PID recorded for cleanup
# (ip netns exec execs CMD, so the PID is the daemon's own).
spawn() {
	local ns=$1 out=$2
	shift 2
	netns_spawn "$ns" "$@" >"$out" 2>&1 </dev/null
}
alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
listening() { [[ -n $(ip netns exec "$1" ss -Hln"${3:-t}" "sport = :$2") ]]; }
pinged() { ip netns exec "$1" ping -n -c1 -W1 "$2" >/dev/null 2>&1; }
# wait_secs SECONDS CMD...: retries CMD until it holds or SECONDS of wall time
# have passed (netns_wait_for counts tries, and a ping try can take a second).
wait_secs() {
	local end=$((SECONDS + $1))
	shift
	while ((SECONDS < end)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# ------------------------------------------------------------- measurement --
cpu_ticks() { # utime+stime of a process, all threads
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	read -ra f <<<"${s##*) }"
	echo $((f[11] + f[12]))
}
hwm_mib() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status" 2>/dev/null; }
udp_drops() { ip netns exec "$1" nstat -asz UdpRcvbufErrors UdpSndbufErrors | awk '/^Udp/ {s += $2} END {print s + 0}'; }

# iperf3 from B (CLI_NS; the server in SRV_NS) to $1 with $2 streams; GBPS = receiver's total, RETR = retransmits.
# With $3 = ping, pings B -> $1 at 10 ms while the stream runs (from its second
# second to one second before its end, past slow start): LRTT as RTT below.
iperf_run() {
	local dst=$1 n=$2 out=$TMP/iperf-$CUR-P$2.txt srv cli pcount pdelay=1
	GBPS='' RETR='' LRTT=''
	spawn "$SRV_NS" "$TMP/iperf-server-$CUR.txt" iperf3 -s -1 -p 5201
	srv=$NETNS_LAST_PID
	netns_wait_for 5 listening "$SRV_NS" 5201 || { netns_kill "$srv"; return 1; }
	spawn "$CLI_NS" "$out" timeout $((T + 30)) iperf3 -c "$dst" -p 5201 -t "$T" -P "$n" -f m --connect-timeout 5000
	cli=$NETNS_LAST_PID
	if [[ ${3:-} == ping ]]; then
		pcount=$(((T - 2) * 100))
		((T < 3)) && pdelay=0.3 pcount=$((T * 50))
		sleep "$pdelay"
		spawn "$CLI_NS" "$TMP/ping-loaded-$CUR.txt" ping -n -c "$pcount" -i 0.01 -W 1 -w $((T + 10)) "$dst"
		wait "$NETNS_LAST_PID"
		LRTT=$(ping_stats "$TMP/ping-loaded-$CUR.txt" "$pcount") PCOUNT=$pcount
	fi
	wait "$cli"
	netns_wait_for 5 eval '! alive '"$srv"
	netns_kill "$srv"
	GBPS=$(awk '/receiver/ {v = $(NF - 2)} END {if (v != "") printf "%.2f", v / 1000}' "$out")
	RETR=$(awk '/sender/ {v = $(NF - 1)} END {print v}' "$out")
}
# ping_stats FILE COUNT: "avg p99 max loss%" in ms of the replies in FILE (duplicates not counted).
ping_stats() {
	grep -v 'DUP!' "$1" | grep -o 'time=[0-9.]*' | cut -d= -f2 | sort -g | awk -v n="$2" '
		{v[NR] = $1; s += $1}
		END {if (NR == 0) exit 1
		     p = int((NR * 99 + 99) / 100)
		     printf "%.3f %.3f %.3f %.1f", s / NR, v[p], v[NR], 100 * (n - NR) / n}'
}
# 200 pings at 10 ms from B to $1 on the idle tunnel; RTT="avg p99 max loss%" in ms.
ping_run() {
	local out=$TMP/ping-$CUR.txt
	RTT=
	spawn "$CLI_NS" "$out" ping -n -c 200 -i 0.01 -W 1 -w 30 "$1"
	wait "$NETNS_LAST_PID"
	RTT=$(ping_stats "$out" 200)
}

# ------------------------------------------------------------------- cases --
# Each up_* starts both ends and sets VPN_A, VPN_B (PIDs), VER, NOTE, and may
# set READY (a command that holds once the tunnel carries data).
VPN_A='' VPN_B='' VER='' NOTE='' READY='' MESH_OTHER=''
# Where iperf3's server runs and where it and ping are started from, and the
# destination: A and B and A's tunnel address unless a case says otherwise.
SRV_NS='' CLI_NS='' DST=''

up_bare() {
	VER="linux $(uname -r | cut -d- -f1) veth"
	NOTE="no VPN; veth MTU 1500 with GSO/GRO"
}

# Trellis: hub in A, client in B, shared key; $1 = cipher, $2 = compression,
# the rest: options for both daemons.
TR_KEY="bench-vpn shared key $RANDOM$RANDOM"
up_trellis() {
	local cipher=$1 comp=$2 d=$TMP/trellis
	shift 2
	# shellcheck disable=SC2206 # options, split on spaces on purpose
	TR_EXTRA=("$@" ${BENCH_TRELLIS_OPTS:-})
	mkdir -p "$d"
	spawn "$NSA" "$d/hub.log" "$B/server/trellis-server" --shared-key "$TR_KEY" --name hub \
		--pool 198.19.0.0/24 --pool6 none --crypto "$cipher" --compression "$comp" \
		--control-socket none --state-dir "$d/hub-state" "${TR_EXTRA[@]}"
	VPN_A=$NETNS_LAST_PID
	netns_wait_for 10 grep -q "listening on port" "$d/hub.log" || { NOTE="the hub did not start"; return 1; }
	spawn "$NSB" "$d/client.log" "$B/client/trellis-client" -c $A1 --shared-key "$TR_KEY" --name bench \
		--crypto "$cipher" --compression "$comp" --control-socket none "${TR_EXTRA[@]}"
	VPN_B=$NETNS_LAST_PID
	netns_wait_for 20 grep -q "data now over UDP" "$d/client.log" || { NOTE="the client did not reach UDP"; return 1; }
	VER="trellis $(git describe --always --dirty 2>/dev/null || echo '?')"
	NOTE="hub/client, UDP, $(grep -o 'MTU [0-9]*, cipher [^,]*, compression [^ ]*' "$d/client.log" | tail -1)${TR_EXTRA[*]:+, ${TR_EXTRA[*]}}"
}
up_trellis_aes256gcm() { up_trellis aes256-gcm none; }
up_trellis_chacha20() { up_trellis chacha20-poly1305 none; }
up_trellis_aes256gcm_lzo() { up_trellis aes256-gcm lzo; }
up_trellis_chacha20_lzo() { up_trellis chacha20-poly1305 lzo; }
up_trellis_1thread_plain() { up_trellis aes256-gcm none --threads 1 --no-tun-offload --no-udp-gso --no-udp-gro; }
up_trellis_threads() { up_trellis aes256-gcm none --no-tun-offload --no-udp-gso --no-udp-gro; }
up_trellis_udp_offload() { up_trellis aes256-gcm none --no-tun-offload; }
up_trellis_no_coalesce() { up_trellis aes256-gcm none --no-coalesce; }
up_trellis_no_codel() { up_trellis aes256-gcm none --queue-target 0; }
up_trellis_no_express() { up_trellis aes256-gcm none --express-size 0; }

# The mesh cases' three namespaces (made once): hub H 198.18.1.1 (a bridge),
# clients P 198.18.1.2 and Q 198.18.1.3, and their PKI.
MESH_LAB=0
mesh_lab() {
	local ns i=2 d=$TMP/mesh-pki
	((MESH_LAB)) && return 0
	netns_new NSH mh && netns_new NSP mp && netns_new NSQ mq || return 1
	ip -n "$NSH" link add br0 type bridge && ip -n "$NSH" addr add 198.18.1.1/24 dev br0 &&
		ip -n "$NSH" link set br0 up || return 1
	for ns in "$NSP" "$NSQ"; do
		ip -n "$NSH" link add "mv$i" type veth peer name eth0 netns "$ns" &&
			ip -n "$NSH" link set "mv$i" master br0 up &&
			ip -n "$ns" addr add "198.18.1.$i/24" dev eth0 && ip -n "$ns" link set eth0 up || return 1
		i=$((i + 1))
	done
	"$B/cli/trellis" pki init --state-dir "$d" >/dev/null &&
		"$B/cli/trellis" pki issue hub --server --state-dir "$d" >/dev/null &&
		"$B/cli/trellis" pki issue p --state-dir "$d" >/dev/null &&
		"$B/cli/trellis" pki issue q --state-dir "$d" >/dev/null || return 1
	MESH_LAB=1
}
# $1: hub, direct or relayed.
up_mesh() {
	local how=$1 d=$TMP/trellis p=$TMP/mesh-pki name ns pp
	mkdir -p "$d"
	mesh_lab || { NOTE="cannot build the three namespaces"; return 1; }
	spawn "$NSH" "$d/hub.log" "$B/server/trellis-server" --ca "$p/ca.crt" --cert "$p/issued/hub.crt" \
		--key "$p/issued/hub.key" --pool 198.19.0.0/24 --pool6 none --crypto aes256-gcm \
		--control-socket none --state-dir "$d/hub-state"
	MESH_HUB=$NETNS_LAST_PID
	netns_wait_for 10 grep -q "listening on port" "$d/hub.log" || { NOTE="the hub did not start"; return 1; }
	for name in p q; do
		[[ $name == p ]] && ns=$NSP || ns=$NSQ
		spawn "$ns" "$d/$name.log" "$B/client/trellis-client" -c 198.18.1.1 --server-name hub \
			--ca "$p/ca.crt" --cert "$p/issued/$name.crt" --key "$p/issued/$name.key" \
			--crypto aes256-gcm --control-socket none
		[[ $name == p ]] && pp=$NETNS_LAST_PID || VPN_B=$NETNS_LAST_PID
		netns_wait_for 20 grep -q "data now over UDP" "$d/$name.log" || { NOTE="client $name did not reach UDP"; return 1; }
	done
	CLI_NS=$NSQ
	VER="trellis $(git describe --always --dirty 2>/dev/null || echo '?')"
	if [[ $how == hub ]]; then
		SRV_NS=$NSH DST=198.19.0.1 VPN_A=$MESH_HUB MESH_OTHER=$pp
		NOTE="client Q to the hub, three namespaces on a bridge, certificates, AES-256-GCM"
		return 0
	fi
	SRV_NS=$NSP VPN_A=$pp MESH_OTHER=$MESH_HUB
	DST=$(ip -n "$NSP" -4 -o addr show dev trellis0 | awk '{print $4}' | cut -d/ -f1)
	[[ -n $DST ]] || { NOTE="no tunnel address for P"; return 1; }
	if [[ $how == relayed ]]; then
		ip netns exec "$NSQ" nft -f - <<-'NFT' || { NOTE="nft failed"; return 1; }
			table ip bench_mesh {
				chain out { type filter hook output priority filter; ip daddr 198.18.1.2 meta l4proto udp drop; }
				chain in { type filter hook input priority filter; ip saddr 198.18.1.2 meta l4proto udp drop; }
			}
		NFT
	fi
	NOTE="client Q to client P over their pair, $how, certificates, AES-256-GCM"
	[[ $how == relayed ]] && NOTE="$NOTE (the hub relays the sealed datagrams on its main loop)"
	READY="mesh_ready $how"
}
# The pair is set up on traffic: ping until it is direct (or relayed).
mesh_ready() {
	local want="direct to" i
	[[ $1 == relayed ]] && want="relayed through the hub"
	for ((i = 0; i < 40; i++)); do
		ip netns exec "$NSQ" ping -n -c 1 -W 1 "$DST" >/dev/null 2>&1
		grep -q "pair with p established" "$TMP/trellis/q.log" && grep -q "pair with p: $want" "$TMP/trellis/q.log" &&
			return 0
		sleep 0.5
	done
	log "mesh: the pair did not become $1 within 20 s, measuring anyway"
	NOTE="$NOTE; NOT $1: $(grep -o 'pair with p.*' "$TMP/trellis/q.log" | tail -n 1)"
}
up_mesh_hub() { up_mesh hub; }
up_mesh_direct() { up_mesh direct; }
up_mesh_relayed() { up_mesh relayed; }

# wireguard-go: two peers (configuration as in peers.sh).
up_wireguard_go() {
	local d=$TMP/wg ia=bwg${TAG}a ib=bwg${TAG}b
	mkdir -p "$d"
	(umask 077; wg genkey >"$d/a.key"; wg genkey >"$d/b.key")
	wg pubkey <"$d/a.key" >"$d/a.pub"
	wg pubkey <"$d/b.key" >"$d/b.pub"
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nEndpoint = %s:51820\nAllowedIPs = %s/32\n' \
		"$(cat "$d/a.key")" "$(cat "$d/b.pub")" $B1 $B2 >"$d/a.conf"
	printf '[Interface]\nPrivateKey = %s\nListenPort = 51820\n\n[Peer]\nPublicKey = %s\nEndpoint = %s:51820\nAllowedIPs = %s/32\n' \
		"$(cat "$d/b.key")" "$(cat "$d/a.pub")" $A1 $A2 >"$d/b.conf"
	EXTRA_FILES+=("/var/run/wireguard/$ia.sock" "/var/run/wireguard/$ib.sock")
	spawn "$NSA" "$d/a.log" wireguard-go -f "$ia"; VPN_A=$NETNS_LAST_PID
	spawn "$NSB" "$d/b.log" wireguard-go -f "$ib"; VPN_B=$NETNS_LAST_PID
	netns_wait_for 5 test -S "/var/run/wireguard/$ia.sock" && netns_wait_for 5 test -S "/var/run/wireguard/$ib.sock" ||
		{ NOTE="wireguard-go did not create its UAPI socket"; return 1; }
	ip netns exec "$NSA" wg setconf "$ia" "$d/a.conf" || return 1
	ip netns exec "$NSB" wg setconf "$ib" "$d/b.conf" || return 1
	ip -n "$NSA" addr add $A2/24 dev "$ia" && ip -n "$NSA" link set "$ia" mtu 1420 up || return 1
	ip -n "$NSB" addr add $B2/24 dev "$ib" && ip -n "$NSB" link set "$ib" mtu 1420 up || return 1
	VER="wireguard-go $(wireguard-go --version | awk 'NR==1 {print $2}' | tr -d v)"
	NOTE="MTU 1420 (wg-quick default); ChaCha20-Poly1305 (fixed by protocol)"
}

# A small PKI for OpenVPN: ECDSA P-256 CA, server and client certificates.
make_pki() {
	local d=$1 n serial=1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj /CN=bv-ca -keyout "$d/ca.key" -out "$d/ca.crt" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null || return 1
	for n in server client; do
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj "/CN=bv-$n" -keyout "$d/$n.key" -out "$d/$n.csr" 2>/dev/null || return 1
		printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=%s\n' \
			"$([[ $n == server ]] && echo serverAuth || echo clientAuth)" >"$d/$n.ext"
		openssl x509 -req -in "$d/$n.csr" -CA "$d/ca.crt" -CAkey "$d/ca.key" -set_serial $((serial++)) \
			-days 2 -extfile "$d/$n.ext" -out "$d/$n.crt" 2>/dev/null || return 1
	done
}

# OpenVPN 2.6: server (hub) in A, client in B, userspace data path; $1 = cipher.
up_openvpn() {
	local cipher=$1 d=$TMP/ovpn
	mkdir -p "$d/ccd"
	make_pki "$d" || { NOTE="openssl PKI generation failed"; return 1; }
	openvpn --genkey tls-crypt "$d/tc.key" >/dev/null || return 1
	echo "ifconfig-push $B2 255.255.255.0" >"$d/ccd/bv-client"
	cat >"$d/server.conf" <<EOF
dev bvo${TAG}a
dev-type tun
proto udp4
local $A1
port 1194
topology subnet
server 198.19.0.0 255.255.255.0
client-config-dir $d/ccd
ca $d/ca.crt
cert $d/server.crt
key $d/server.key
dh none
tls-crypt $d/tc.key
remote-cert-tls client
data-ciphers $cipher
keepalive 10 60
disable-dco
verb 3
EOF
	cat >"$d/client.conf" <<EOF
client
dev bvo${TAG}b
dev-type tun
proto udp4
remote $A1 1194
nobind
ca $d/ca.crt
cert $d/client.crt
key $d/client.key
tls-crypt $d/tc.key
remote-cert-tls server
verify-x509-name bv-server name
data-ciphers $cipher
disable-dco
verb 3
EOF
	spawn "$NSA" "$d/server.log" openvpn --config "$d/server.conf"; VPN_A=$NETNS_LAST_PID
	netns_wait_for 5 listening "$NSA" 1194 u
	spawn "$NSB" "$d/client.log" openvpn --config "$d/client.conf"; VPN_B=$NETNS_LAST_PID
	VER="openvpn $(openvpn --version | awk 'NR==1 {print $2}') / $(openssl version | awk '{print $1" "$2}')"
	NOTE="server/client, UDP, tun-mtu 1500 + mssfix default, no DCO (userspace), cipher $cipher"
}
up_openvpn_aes256gcm() { up_openvpn AES-256-GCM; }
up_openvpn_chacha20() { up_openvpn CHACHA20-POLY1305; }

# tinc 1.0: two nodes, router mode, UDP, a modern cipher suite (as peers.sh).
up_tinc_1_0() {
	local d=$TMP/tinc n me peer ip addr
	for n in a b; do
		if [[ $n == a ]]; then me=node_a peer=node_b ip=$A2 addr=$A1; else me=node_b peer=node_a ip=$B2 addr=$B1; fi
		mkdir -p "$d/$n/hosts"
		{
			printf 'Name = %s\nMode = router\nAddressFamily = ipv4\nBindToAddress = %s\n' $me $addr
			printf 'Interface = bvt%s%s\nDevice = /dev/net/tun\nPrivateKeyFile = %s\n' $TAG $n "$d/$n/rsa_key.priv"
			[[ $n == b ]] && echo "ConnectTo = $peer"
		} >"$d/$n/tinc.conf"
		printf 'Address = %s\nPort = 655\nSubnet = %s/32\nCipher = aes-256-cbc\nDigest = sha256\nMACLength = 16\nCompression = 0\n' \
			$addr $ip >"$d/$n/hosts/$me"
		printf '#!/bin/sh\nip addr add %s/24 dev "$INTERFACE"\nip link set "$INTERFACE" up\n' $ip >"$d/$n/tinc-up"
		chmod +x "$d/$n/tinc-up"
		tincd -c "$d/$n" -K2048 </dev/null >/dev/null 2>&1 || { NOTE="tincd -K failed"; return 1; }
	done
	cp "$d/a/hosts/node_a" "$d/b/hosts/"
	cp "$d/b/hosts/node_b" "$d/a/hosts/"
	spawn "$NSA" "$d/a.log" tincd -c "$d/a" -D -d1 --pidfile="$d/a/pid"; VPN_A=$NETNS_LAST_PID
	spawn "$NSB" "$d/b.log" tincd -c "$d/b" -D -d1 --pidfile="$d/b/pid"; VPN_B=$NETNS_LAST_PID
	VER="tinc $(tincd --version | awk 'NR==1 {print $3}')"
	NOTE="router mode, UDP, aes-256-cbc + HMAC-SHA256/128, RSA-2048 meta"
	READY=tinc_pmtu_ready
}
# tinc 1.0 sends packets above the confirmed path MTU over its TCP meta
# connection until PMTU discovery has finished: wait (bounded) for it, read
# from the node dump that SIGUSR2 writes to the log.
tinc_pmtu_ready() {
	local i ok
	for ((i = 0; i < 40; i++)); do
		ok=0
		kill -USR2 "$VPN_A" "$VPN_B" 2>/dev/null
		sleep 0.5
		grep -q 'node_b at .* pmtu \([0-9]*\) (min \1 max \1)' "$TMP/tinc/a.log" && ((ok++))
		grep -q 'node_a at .* pmtu \([0-9]*\) (min \1 max \1)' "$TMP/tinc/b.log" && ((ok++))
		((ok == 2)) && return 0
	done
	log "tinc: PMTU not confirmed within 20 s, measuring anyway"
	return 0
}

# Nebula: A is the lighthouse, B knows it statically (as peers.sh).
up_nebula() {
	local d=$TMP/nebula n
	mkdir -p "$d"
	(cd "$d" && nebula-cert ca -name bv-ca -duration 48h &&
		nebula-cert sign -name node-a -ip $A2/24 -out-crt a.crt -out-key a.key &&
		nebula-cert sign -name node-b -ip $B2/24 -out-crt b.crt -out-key b.key) >/dev/null ||
		{ NOTE="nebula-cert failed"; return 1; }
	for n in a b; do
		{
			printf 'pki:\n  ca: %s/ca.crt\n  cert: %s/%s.crt\n  key: %s/%s.key\n' "$d" "$d" $n "$d" $n
			printf 'static_host_map:\n'
			[[ $n == b ]] && printf '  "%s": ["%s:4242"]\n' $A2 $A1
			if [[ $n == a ]]; then printf 'lighthouse:\n  am_lighthouse: true\n  hosts: []\n'
			else printf 'lighthouse:\n  am_lighthouse: false\n  hosts: ["%s"]\n' $A2; fi
			printf 'listen:\n  host: %s\n  port: 4242\n' "$([[ $n == a ]] && echo $A1 || echo $B1)"
			printf 'punchy:\n  punch: false\ncipher: aes\n'
			printf 'tun:\n  dev: bvn%s%s\n  mtu: 1300\nlogging:\n  level: info\n' $TAG $n
			printf 'firewall:\n  outbound:\n    - {port: any, proto: any, host: any}\n'
			printf '  inbound:\n    - {port: any, proto: icmp, host: any}\n    - {port: 5201, proto: tcp, host: any}\n'
		} >"$d/$n.yml"
	done
	spawn "$NSA" "$d/a.log" nebula -config "$d/a.yml"; VPN_A=$NETNS_LAST_PID
	spawn "$NSB" "$d/b.log" nebula -config "$d/b.yml"; VPN_B=$NETNS_LAST_PID
	VER="nebula $(nebula -version | awk '{print $2}')"
	NOTE="A = lighthouse, MTU 1300 (default), cipher aes (AES-256-GCM)"
}

down_case() {
	[[ -n $VPN_A ]] && netns_kill "$VPN_A"
	[[ -n $VPN_B ]] && netns_kill "$VPN_B"
	[[ -n $MESH_OTHER ]] && netns_kill "$MESH_OTHER"
	[[ -n ${NSQ:-} ]] && ip netns exec "$NSQ" nft delete table ip bench_mesh 2>/dev/null
	MESH_OTHER=''
	rm -rf "$TMP/trellis" "$TMP/wg" "$TMP/ovpn" "$TMP/tinc" "$TMP/nebula"
	VPN_A='' VPN_B=''
}

# ---------------------------------------------------------------- run all --
declare -A R_VER R_T1 R_T4 R_RTT R_LRTT R_CPUA R_CPUB R_RSSA R_RSSB R_STATUS R_NOTE R_READY R_RETR R_DROP
# Per round (--repeat): space-separated samples, reduced to the R_* figures after the last round.
declare -A L_T1 L_T4 L_CPUA L_CPUB L_PING L_LPING L_NPING L_NLPING L_RETR L_DROPA L_DROPB R_T1R R_T4R
declare -A P_T1 # single-stream Gbit/s by "case round", for the per-round ratios
RUN_CASES=()
ROUND=1 RUN_N=0

# fail_case MESSAGE: the case's status (the first failure it had stays), logs shown.
fail_case() {
	local c=$CUR_CASE f
	[[ ${R_STATUS[$c]} == ok ]] && R_STATUS[$c]="FAILED${ROUND_TAG}: $1"
	log "$c: $1"
	for f in "$TMP"/*/*.log; do [[ -f $f ]] && { log "--- $f"; tail -n 5 "$f" >&2; }; done
	down_case
}

run_case() {
	local c=$1 dst=$A2 fn=up_${1//[-.]/_} t0 a0 b0 ua ub da db g1 lrtt
	RUN_N=$((RUN_N + 1))
	CUR_CASE=$c CUR=$c.$RUN_N VPN_A='' VPN_B='' VER='' NOTE='' READY='' SRV_NS=$NSA CLI_NS=$NSB DST=''
	if [[ -z ${R_STATUS[$c]:-} ]]; then
		RUN_CASES+=("$c")
		R_STATUS[$c]=ok
	fi
	[[ $c == bare ]] && dst=$A1
	log "$c: starting${ROUND_TAG}"
	t0=$(date +%s.%N)
	if ! $fn; then
		fail_case "${NOTE:-setup error}"
		return
	fi
	[[ -n $DST ]] && dst=$DST
	if ! wait_secs 30 pinged "$CLI_NS" "$dst"; then
		fail_case "no ping through the tunnel within 30 s"
		return
	fi
	[[ -n $READY ]] && $READY
	R_READY[$c]=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
	R_VER[$c]=$VER R_NOTE[$c]=$NOTE
	log "$c: up after ${R_READY[$c]} s ($VER)"

	if [[ -n $VPN_A ]]; then a0=$(cpu_ticks "$VPN_A") b0=$(cpu_ticks "$VPN_B"); fi
	ua=$(udp_drops "$SRV_NS") ub=$(udp_drops "$CLI_NS")
	iperf_run "$dst" 1 ping
	g1=$GBPS lrtt=$LRTT
	[[ -n $GBPS ]] && L_T1[$c]+=" $GBPS" P_T1["$c $ROUND"]=$GBPS
	[[ -n $RETR ]] && L_RETR[$c]=$((${L_RETR[$c]:-0} + RETR))
	da=$(($(udp_drops "$SRV_NS") - ua)) db=$(($(udp_drops "$CLI_NS") - ub))
	L_DROPA[$c]=$((${L_DROPA[$c]:-0} + da)) L_DROPB[$c]=$((${L_DROPB[$c]:-0} + db))
	if [[ -n $LRTT ]]; then
		L_LPING[$c]+=" $TMP/ping-loaded-$CUR.txt"
		L_NLPING[$c]=$((${L_NLPING[$c]:-0} + PCOUNT))
	fi
	if [[ -n $VPN_A ]]; then
		L_CPUA[$c]+=" $(awk -v t=$(($(cpu_ticks "$VPN_A") - a0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')"
		L_CPUB[$c]+=" $(awk -v t=$(($(cpu_ticks "$VPN_B") - b0)) -v hz="$HZ" 'BEGIN {printf "%.2f", t / hz}')"
	fi
	log "$c: 1 stream ${GBPS:-?} Gbit/s; ping under load avg/p99/max/loss% ${LRTT:-?}"
	iperf_run "$dst" 4
	[[ -n $GBPS ]] && L_T4[$c]+=" $GBPS"
	log "$c: 4 streams ${GBPS:-?} Gbit/s"
	ping_run "$dst"
	if [[ -n $RTT ]]; then
		L_PING[$c]+=" $TMP/ping-$CUR.txt"
		L_NPING[$c]=$((${L_NPING[$c]:-0} + 200))
	fi
	log "$c: ping avg/p99/max/loss% ${RTT:-?}"
	if [[ -n $VPN_A ]]; then
		R_RSSA[$c]=$(awk -v x="${R_RSSA[$c]:-0}" -v y="$(hwm_mib "$VPN_A")" 'BEGIN {printf "%.1f", (x > y ? x : y)}')
		R_RSSB[$c]=$(awk -v x="${R_RSSB[$c]:-0}" -v y="$(hwm_mib "$VPN_B")" 'BEGIN {printf "%.1f", (x > y ? x : y)}')
	fi
	[[ -z $g1 || -z $GBPS || -z $RTT || -z $lrtt ]] && [[ ${R_STATUS[$c]} == ok ]] &&
		R_STATUS[$c]="partial${ROUND_TAG}: a measurement failed"
	if [[ -n $VPN_A ]] && ! { alive "$VPN_A" && alive "$VPN_B"; } && [[ ${R_STATUS[$c]} != FAILED* ]]; then
		R_STATUS[$c]="FAILED${ROUND_TAG}: a VPN process died during the run"
	fi
	down_case
	sleep 1
}

# median LIST, spread LIST: of space-separated numbers ("" if none).
median() {
	printf '%s\n' $1 | sort -g | awk -v f="${2:-%.2f}" '{v[NR] = $1}
		END {if (NR) printf f, NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}
spread() { printf '%s\n' $1 | sort -g | awk '{v[NR] = $1} END {if (NR) printf "%.2f-%.2f", v[1], v[NR]}'; }
# pooled_ping FILES COUNT: ping_stats over the replies of every round.
pooled_ping() {
	[[ -n $1 ]] || return 0
	# shellcheck disable=SC2086 # a list of paths without spaces
	cat $1 >"$TMP/ping-pooled.txt"
	ping_stats "$TMP/ping-pooled.txt" "$2"
}

host_busy() { awk '/^cpu / {t = 0; for (i = 2; i <= 9; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# Other load on the machine skews every figure: sample it for a second first.
read -r hb0 ht0 <<<"$(host_busy)"
sleep 1
read -r hb1 ht1 <<<"$(host_busy)"
IDLE_BUSY=$(awk -v b=$((hb1 - hb0)) -v t=$((ht1 - ht0)) 'BEGIN {if (t > 0) printf "%.0f%%", 100 * b / t; else print "?"}')
log "machine busy before the run (other load): $IDLE_BUSY of all cores"
read -r hb0 ht0 <<<"$(host_busy)"
ROUND_TAG=''
for ((ROUND = 1; ROUND <= REPEAT; ROUND++)); do
	((REPEAT > 1)) && ROUND_TAG=" (round $ROUND of $REPEAT)"
	for c in $CASES; do run_case "$c"; done
done
read -r hb1 ht1 <<<"$(host_busy)"
for c in "${RUN_CASES[@]}"; do
	R_T1[$c]=$(median "${L_T1[$c]:-}") R_T1R[$c]=$(spread "${L_T1[$c]:-}")
	R_T4[$c]=$(median "${L_T4[$c]:-}") R_T4R[$c]=$(spread "${L_T4[$c]:-}")
	R_RTT[$c]=$(pooled_ping "${L_PING[$c]:-}" "${L_NPING[$c]:-0}")
	R_LRTT[$c]=$(pooled_ping "${L_LPING[$c]:-}" "${L_NLPING[$c]:-0}")
	R_RETR[$c]=${L_RETR[$c]:-}
	[[ -n ${L_DROPA[$c]:-} ]] && R_DROP[$c]=${L_DROPA[$c]}/${L_DROPB[$c]}
	if [[ -n ${L_CPUA[$c]:-} ]]; then
		R_CPUA[$c]=$(median "${L_CPUA[$c]}" %.1f) R_CPUB[$c]=$(median "${L_CPUB[$c]}" %.1f)
	fi
done

# ------------------------------------------------------------------ report --
ratio() { awk -v x="$1" -v y="$2" 'BEGIN {if (x != "" && y != "" && x != "-" && y != "-" && y > 0) printf (x / y < 0.1 ? "%.3f" : "%.2f"), x / y; else print "-"}'; }
sum() { awk -v x="$1" -v y="$2" 'BEGIN {if (x != "" && y != "") printf "%.1f", x + y; else print "-"}'; }
rtt_avg() { set -- ${R_RTT[$1]:-}; echo "${1:--}"; }

echo
echo "bench-vpn: iperf3 -t $T, B -> A (receiver Gbit/s); ping x200 @10 ms B -> A on the idle tunnel (RTT);"
echo "loaded RTT = ping @10 ms B -> A during the 1-stream run; CPU = VPN processes A+B during the"
echo "1-stream run; RSS = peak (VmHWM) A/B; (xN) = ratio to bare"
((REPEAT > 1)) && echo "$REPEAT rounds of every case: throughputs and CPU are medians over the rounds, RTTs over all their pings"
fmt='%-22s %14s %14s %16s %9s %15s %9s %12s %12s\n'
printf "$fmt" case "1 stream" "4 streams" "RTT avg ms" "p99 ms" "loaded RTT ms" "p99 ms" "CPU s A+B" "RSS MiB A/B"
for c in "${RUN_CASES[@]}"; do
	read -r ravg rp99 _ _ <<<"${R_RTT[$c]:-- - - -}"
	read -r lavg lp99 _ lloss <<<"${R_LRTT[$c]:-- - - -}"
	[[ $lloss != - && $lloss != 0.0 ]] && lavg="$lavg ${lloss}%"
	t1=${R_T1[$c]:--} t4=${R_T4[$c]:--}
	b1=${R_T1[bare]:-} b4=${R_T4[bare]:-} brtt=$(rtt_avg bare)
	[[ $c == bare || ${R_STATUS[$c]} == FAILED* ]] || {
		t1="$t1 (x$(ratio "$t1" "$b1"))"; t4="$t4 (x$(ratio "$t4" "$b4"))"; ravg="$ravg (x$(ratio "$ravg" "$brtt"))"; }
	cpu=-; rss=-
	[[ -n ${R_CPUA[$c]:-} ]] && cpu=$(sum "${R_CPUA[$c]}" "${R_CPUB[$c]}")
	[[ -n ${R_RSSA[$c]:-} ]] && rss="${R_RSSA[$c]}/${R_RSSB[$c]}"
	printf "$fmt" "$c" "$t1" "$t4" "$ravg" "$rp99" "$lavg" "$lp99" "$cpu" "$rss"
done
echo "(a loaded RTT followed by N%: N % of those pings got no reply within 1 s)"
if ((REPEAT > 1)); then
	echo
	echo "throughput over the $REPEAT rounds, min-max Gbit/s (the table has the medians):"
	printf '%-22s %14s %14s   %s\n' case "1 stream" "4 streams" "1 stream, each round"
	for c in "${RUN_CASES[@]}"; do
		printf '%-22s %14s %14s   %s\n' "$c" "${R_T1R[$c]:--}" "${R_T4R[$c]:--}" "$(echo ${L_T1[$c]:--})"
	done
fi

# Trellis single-stream throughput over each peer's.
peers=() trellis=()
for c in "${RUN_CASES[@]}"; do
	[[ ${R_STATUS[$c]} == ok && -n ${R_T1[$c]:-} ]] || continue
	case $c in bare | mesh-*) ;; trellis-*) trellis+=("$c") ;; *) peers+=("$c") ;; esac
done
if ((${#trellis[@]} && ${#peers[@]})); then
	echo
	echo "Trellis single-stream throughput / peer's:"
	printf '%-22s' ""
	for p in "${peers[@]}"; do printf ' %17s' "$p"; done
	echo
	for t in "${trellis[@]}"; do
		printf '%-22s' "$t"
		for p in "${peers[@]}"; do printf ' %17s' "x$(ratio "${R_T1[$t]}" "${R_T1[$p]}")"; done
		echo
	done
fi
# Issue 24's loaded-RTT target: each Trellis case's loaded RTT (average) <= the best
# peer's in this run.
best='' best_case=''
for p in "${peers[@]}"; do
	read -r l _ <<<"${R_LRTT[$p]:--}"
	[[ $l == - ]] && continue
	if [[ -z $best ]] || awk -v l="$l" -v b="$best" 'BEGIN {exit !(l < b)}'; then best=$l best_case=$p; fi
done
if [[ -n $best ]] && ((${#trellis[@]})); then
	echo
	echo "loaded RTT against the best peer's ($best_case, $best ms; target: Trellis's <= it):"
	for t in "${trellis[@]}"; do
		read -r l _ _ loss <<<"${R_LRTT[$t]:-- - - -}"
		awk -v t="$t" -v l="$l" -v b="$best" -v loss="$loss" 'BEGIN {
			if (l == "-") { printf "  %-22s no figure\n", t; exit }
			printf "  %-22s %s ms%s: %s\n", t, l, (loss != "-" && loss != "0.0") ? " (" loss "% lost)" : "", l <= b ? "met" : "NOT met" }'
	done
fi
# Issue 24's single-stream targets: the default tunnel (trellis-aes256gcm) >= 30 % of bare
# veth, and ChaCha20 >= 85 % of AES; on the medians, and each round's own ratio (the two
# cases of one round ran minutes apart at most).
# target_line LABEL NUM DEN TARGET
target_line() {
	local label=$1 num=$2 den=$3 target=$4 r per='' k v
	[[ ${R_STATUS[$num]:-} == ok && ${R_STATUS[$den]:-} == ok ]] || return 0
	r=$(ratio "${R_T1[$num]:-}" "${R_T1[$den]:-}")
	if ((REPEAT > 1)); then
		for ((k = 1; k <= REPEAT; k++)); do
			v=$(ratio "${P_T1["$num $k"]:-}" "${P_T1["$den $k"]:-}")
			[[ $v != - ]] && per+=" $v"
		done
		[[ -n $per ]] && per="; per round $(spread "$per" | tr -d '\n'), met in $(printf '%s\n' $per |
			awk -v t="$target" '$1 >= t {m++} END {print m + 0}') of $(wc -w <<<"$per")"
	fi
	awk -v l="$label" -v r="$r" -v t="$target" -v per="$per" 'BEGIN {
		printf "  %-36s x%s: %s (target >= %.2f%s)\n", l, r, (r != "-" && r >= t) ? "met" : "NOT met", t, per }'
}
if [[ -n ${R_T1[trellis-aes256gcm]:-} && ( -n ${R_T1[bare]:-} || -n ${R_T1[trellis-chacha20]:-} ) ]]; then
	echo
	echo "single-stream targets (issue 24 items 5 and 1$( ((REPEAT > 1)) && echo ", medians of $REPEAT rounds")):"
	target_line "trellis-aes256gcm / bare" trellis-aes256gcm bare 0.30
	target_line "trellis-chacha20 / trellis-aes256gcm" trellis-chacha20 trellis-aes256gcm 0.85
fi
# The mesh's targets (issue 17): a direct pair against client to hub, same machine, same run.
if [[ ${R_STATUS[mesh-hub]:-} == ok && ${R_STATUS[mesh-direct]:-} == ok ]]; then
	t=$(ratio "${R_T1[mesh-direct]}" "${R_T1[mesh-hub]}")
	r=$(ratio "$(rtt_avg mesh-direct)" "$(rtt_avg mesh-hub)")
	echo
	echo "mesh targets (client to client direct / client to hub, this run):"
	awk -v t="$t" 'BEGIN {printf "  single-stream throughput x%s: %s (target >= 0.90)\n", t, (t != "-" && t >= 0.90) ? "met" : "NOT met"}'
	awk -v r="$r" 'BEGIN {printf "  idle RTT x%s: %s (target <= 1.10)\n", r, (r != "-" && r <= 1.10) ? "met" : "NOT met"}'
	[[ ${R_STATUS[mesh-relayed]:-} == ok ]] &&
		echo "  relayed (for reference): throughput x$(ratio "${R_T1[mesh-relayed]}" "${R_T1[mesh-hub]}"), RTT x$(ratio "$(rtt_avg mesh-relayed)" "$(rtt_avg mesh-hub)")"
fi
echo
for c in "${RUN_CASES[@]}"; do
	printf '  %-22s %s; %s; ready %s s; 1-stream%s: %s retransmits, %s UDP buffer drops A/B; %s\n' "$c" \
		"${R_STATUS[$c]}" "${R_VER[$c]:--}" "${R_READY[$c]:--}" "$( ((REPEAT > 1)) && echo " (all $REPEAT rounds)")" \
		"${R_RETR[$c]:--}" "${R_DROP[$c]:--}" "${R_NOTE[$c]:-}"
done
echo "machine: $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); kernel $(uname -r)"
awk -v b=$((hb1 - hb0)) -v t=$((ht1 - ht0)) -v i="$IDLE_BUSY" 'BEGIN {if (t > 0) printf "machine busy: %s of all cores before the run (other load), %.0f%% during it\n", i, 100 * b / t}'

if [[ -n $CSV ]]; then
	{
		echo "case,version,tcp1_gbps,tcp4_gbps,tcp1_ratio_bare,tcp4_ratio_bare,rtt_avg_ms,rtt_p99_ms,rtt_max_ms,ping_loss_pct,loaded_rtt_avg_ms,loaded_rtt_p99_ms,loaded_rtt_max_ms,loaded_ping_loss_pct,cpu_s_a,cpu_s_b,rss_mib_a,rss_mib_b,ready_s,tcp1_retransmits,udp_buf_drops_a_b,status,note,rounds,tcp1_min_gbps,tcp1_max_gbps,tcp4_min_gbps,tcp4_max_gbps"
		for c in "${RUN_CASES[@]}"; do
			read -r ravg rp99 rmax rloss <<<"${R_RTT[$c]:-- - - -}"
			read -r lavg lp99 lmax lloss <<<"${R_LRTT[$c]:-- - - -}"
			IFS=- read -r t1min t1max <<<"${R_T1R[$c]:--}"
			IFS=- read -r t4min t4max <<<"${R_T4R[$c]:--}"
			printf '%s,"%s",%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,"%s","%s",%s,%s,%s,%s,%s\n' "$c" "${R_VER[$c]:-}" \
				"${R_T1[$c]:-}" "${R_T4[$c]:-}" "$(ratio "${R_T1[$c]:-}" "${R_T1[bare]:-}")" \
				"$(ratio "${R_T4[$c]:-}" "${R_T4[bare]:-}")" "$ravg" "$rp99" "$rmax" "$rloss" \
				"$lavg" "$lp99" "$lmax" "$lloss" \
				"${R_CPUA[$c]:-}" "${R_CPUB[$c]:-}" "${R_RSSA[$c]:-}" "${R_RSSB[$c]:-}" "${R_READY[$c]:-}" \
				"${R_RETR[$c]:-}" "${R_DROP[$c]:-}" "${R_STATUS[$c]//\"/\'}" "${R_NOTE[$c]//\"/\'}" \
				"$REPEAT" "$t1min" "$t1max" "$t4min" "$t4max"
		done
	} >"$CSV"
	log "CSV written to $CSV"
fi
