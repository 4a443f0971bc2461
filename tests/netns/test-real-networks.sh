#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bulk TCP on networks that are not a clean 1500-byte IPv4 veth: 20 MB each
# way, SHA-256 checked, over
#   (a) a 1400-byte IPv4 link             [c] ---1400--- [h]
#   (b) an IPv6-only underlay at 1500,    [c] ---v6 only--- [h]
#       with no IPv6 fragment on the wire
#   (c) a 1280-byte router in the middle  [c] ---1500--- [r] ---1280--- [h]
#       that sends no "fragmentation needed" (a black hole: only path MTU
#       discovery finds the size), and status showing the smaller MTU;
# and routes on the hub:
#   (d) a LAN behind a client           [lan] --- [c] ------ [h]
#       (--subnet, granted by its certificate): the hub pings a host on it
#       and that host pings the hub; the route goes when the client does;
# and layer 2 without pushed addresses:
#   (e) a tap hub with --pool none --pool6 none and dnsmasq on its device:
#       the tap client gets nothing pushed and its address by DHCP.
# TR_PARTS="a c" runs only those parts.
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"

S=$T/state
SHA=$TR_SOURCE_ROOT/tests/netns/tcp-sha.py

pki_network "$S" c1 lanc=198.19.50.0/24 || fail "pki"
head -c 20M /dev/urandom >"$T/blob" || fail "test data"
want=$(sha256sum "$T/blob" | cut -d' ' -f1)

start_pair() { # start_pair TAG HUB_NS CLIENT_NS HUB_ADDR [CLIENT_NAME [CLIENT ARGS]]: connected
	local tag=$1 h=$2 c=$3 addr=$4 name=${5:-c1}
	shift 4
	[ $# -gt 0 ] && shift
	netns_spawn "$h" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
		--key "$S/issued/hub.key" --state-dir "$S" --control-socket none \
		--stats-file "$T/$tag-hub.json" --stats-interval 1 >"$T/$tag-hub.log" 2>&1
	netns_wait_log 10 "$T/$tag-hub.log" "listening on port 3210" || fail "$tag: hub did not start"
	netns_spawn "$c" "$B/client/trellis-client" -c "$addr" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/$name.crt" --key "$S/issued/$name.key" --control-socket "$T/$tag-client.sock" \
		--stats-file "$T/$tag-client.json" --stats-interval 1 "$@" >"$T/$tag-client.log" 2>&1
	CLIENT_PID=$NETNS_LAST_PID
	netns_wait_log 15 "$T/$tag-client.log" "connected to" || fail "$tag: client did not connect"
}

# xfer TAG FROM_NS TO_NS TO_ADDR: 20 MB from FROM_NS to TO_ADDR (in TO_NS), checked
xfer() {
	local tag=$1 from=$2 to=$3 addr=$4 t0 t1 got
	rm -f "$T/$tag.out"
	netns_spawn "$to" python3 "$SHA" recv "$addr" 5001 60 >"$T/$tag.out" 2>&1
	local rpid=$NETNS_LAST_PID
	netns_wait_log 5 "$T/$tag.out" listening || fail "$tag: receiver did not start"
	t0=$(date +%s.%N)
	timeout 70 ip netns exec "$from" python3 "$SHA" send "$addr" 5001 60 "$T/blob" >"$T/$tag-send.out" 2>&1 ||
		fail "$tag: sending did not finish ($(cat "$T/$tag-send.out"))"
	netns_wait_for 10 sh -c "! kill -0 $rpid" || fail "$tag: receiver still running"
	t1=$(date +%s.%N)
	got=$(tail -n 1 "$T/$tag.out")
	[ "$got" = "20971520 $want" ] || fail "$tag: received '$got', want 20971520 bytes with SHA-256 $want"
	XFER_SECS=$(printf '%.2f' "$(echo "$t1 - $t0" | bc -l 2>/dev/null || echo 0)")
}

# xfer_both TAG HUB_NS CLIENT_NS LABEL: 20 MB up to the hub and 20 MB down to the client
xfer_both() {
	local tag=$1 h=$2 c=$3 label=$4 caddr up
	caddr=$(client_addr "$tag") || fail "$tag: no client address in status"
	xfer "$tag-up" "$c" "$h" 198.19.0.1
	up=$XFER_SECS
	xfer "$tag-down" "$h" "$c" "$caddr"
	ok "$label: 20 MB each way intact (up ${up}s, down ${XFER_SECS}s)"
}

# json FILE EXPR: a value from a daemon's stats file (python expression over j)
json() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1" 2>/dev/null; }
# The client's tunnel address, once its stats file shows it.
client_addr() {
	netns_wait_for 5 sh -c "grep -q '\"addresses\"' '$T/$1-client.json'" || return 1
	json "$T/$1-client.json" "j['addresses'][0].split('/')[0]"
}
# The client's path MTU once its search settled.
part() { case " ${TR_PARTS:-a b c d e} " in *" $1 "*) return 0 ;; esac; return 1; }
wait_pmtu() { # wait_pmtu TAG WANT_PATH_MTU
	netns_wait_for 15 sh -c "python3 -c \"import json,sys; j=json.load(open('$T/$1-client.json')); sys.exit(0 if j.get('path_mtu_search')=='done' and j.get('path_mtu')==$2 else 1)\""
}

# ---- (a) a 1400-byte IPv4 link ------------------------------------------------
part_a() {
netns_new ha ha || fail "netns"
netns_new ca ca || fail "netns"
netns_link "$ha" 198.18.1.1/24 "$ca" 198.18.1.2/24 1400 || fail "link"
start_pair a "$ha" "$ca" 198.18.1.1
xfer_both a "$ha" "$ca" "(a) 1400-byte IPv4 link"
wait_pmtu a 1400 || fail "a: client path MTU not 1400: $(cat "$T/a-client.json")"
[ "$(json "$T/a-client.json" "j['peer_mtu']")" = 1336 ] || fail "a: tunnel MTU to the hub not 1336"
ok "(a) path MTU 1400 found, packets sized to a tunnel MTU of 1336"

}

# ---- (b) IPv6-only underlay at 1500 ---------------------------------------------
part_b() {
netns_new hb hb || fail "netns"
netns_new cb cb || fail "netns"
netns_link "$hb" fd00:18:2::1/64 "$cb" fd00:18:2::2/64 || fail "link"
bif=$NETNS_IFA
netns_spawn "$hb" tcpdump -i "$bif" -s 96 -U -w "$T/b.pcap" ip6 >"$T/b-tcpdump.log" 2>&1
tcpdump_pid=$NETNS_LAST_PID
netns_wait_log 5 "$T/b-tcpdump.log" "listening on" || fail "b: tcpdump did not start"
start_pair b "$hb" "$cb" "[fd00:18:2::1]"
xfer_both b "$hb" "$cb" "(b) IPv6-only underlay"
sleep 1
netns_kill "$tcpdump_pid"
frags=$(tcpdump -r "$T/b.pcap" -n 'ip6[6] == 44' 2>/dev/null | wc -l)
# veth keeps UDP GSO runs whole, so count bytes rather than packets: at least the 40 MB sent
udp=$(tcpdump -r "$T/b.pcap" -n -q 'ip6 and udp port 3210' 2>/dev/null |
	awk '{ for (i = 1; i < NF; i++) if ($i == "length") s += $(i + 1) } END { print s + 0 }')
[ "$udp" -gt 41943040 ] || fail "b: the capture saw only $udp bytes of tunnel datagrams"
[ "$frags" -eq 0 ] || fail "b: $frags IPv6 fragments on the wire"
ok "(b) no IPv6 fragment in $((udp / 1048576)) MiB of tunnel datagrams captured"

}

# ---- (c) a 1280-byte black-hole router in the middle --------------------------------
part_c() {
netns_new hc hc || fail "netns"
netns_new rc rc || fail "netns"
netns_new cc cc || fail "netns"
netns_link "$cc" 198.18.3.2/24 "$rc" 198.18.3.1/24 || fail "link"
netns_link "$rc" 198.18.4.1/24 "$hc" 198.18.4.2/24 1280 || fail "link"
ip netns exec "$rc" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding"
ip -n "$cc" route add 198.18.4.0/24 via 198.18.3.1 || fail "route"
ip -n "$hc" route add 198.18.3.0/24 via 198.18.4.1 || fail "route"
# The router tells nobody that packets are too big.
ip netns exec "$rc" nft -f - <<'NFT' || fail "nft"
table inet blackhole {
	chain out {
		type filter hook output priority 0;
		icmp type destination-unreachable drop
	}
}
NFT
start_pair c "$hc" "$cc" 198.18.4.2
xfer_both c "$hc" "$cc" "(c) 1280-byte black-hole router"
wait_pmtu c 1280 || fail "c: client path MTU not 1280: $(cat "$T/c-client.json")"
[ "$(json "$T/c-client.json" "j['peer_mtu']")" = 1216 ] || fail "c: tunnel MTU to the hub not 1216"
[ "$(json "$T/c-hub.json" "j['peers'][0]['path_mtu']")" = 1280 ] || fail "c: hub's path MTU to the client not 1280"
ip netns exec "$cc" "$B/cli/trellis" status --socket "$T/c-client.sock" >"$T/c-status.out" 2>&1 ||
	fail "c: trellis status failed"
grep -q "mtu: 1216 (path MTU 1280)" "$T/c-status.out" || fail "c: trellis status does not show the path MTU"
ok "(c) path MTU 1280 found on both sides; trellis status: '$(grep -o 'mtu: 1216 (path MTU 1280)' "$T/c-status.out")'"

}

# ---- (d) a LAN behind a client: routes on the hub ------------------------------------
part_d() {
netns_new hd hd || fail "netns"
netns_new cd cd || fail "netns"
netns_new ld lan || fail "netns"
netns_link "$hd" 198.18.5.1/24 "$cd" 198.18.5.2/24 || fail "link"
netns_link "$cd" 198.19.50.1/24 "$ld" 198.19.50.2/24 || fail "lan link"
ip netns exec "$cd" sysctl -qw net.ipv4.ip_forward=1 || fail "forwarding"
ip -n "$ld" route add default via 198.19.50.1 || fail "lan route"
start_pair d "$hd" "$cd" 198.18.5.1 lanc --subnet 198.19.50.0/24
netns_wait_for 5 sh -c "ip -n '$hd' route show 198.19.50.0/24 | grep -q trellis0" ||
	fail "d: no route to the client's LAN on the hub: $(ip -n "$hd" route)"
ip netns exec "$hd" ping -c 2 -W 2 198.19.50.2 >"$T/d-ping.out" 2>&1 || fail "d: the hub cannot ping the LAN host"
ip netns exec "$ld" ping -c 2 -W 2 198.19.0.1 >"$T/d-ping2.out" 2>&1 || fail "d: the LAN host cannot ping the hub"
ok "(d) hub -> LAN host behind a client and back: route $(ip -n "$hd" route show 198.19.50.0/24)"
netns_kill "$CLIENT_PID"
netns_wait_for 10 sh -c "! ip -n '$hd' route show 198.19.50.0/24 | grep -q ." ||
	fail "d: the route stayed after the client left"
ok "(d) the route went with the client"
}

# ---- (e) tap without pushed addresses: DHCP on the tunnel --------------------------------
part_e() {
command -v dnsmasq >/dev/null || fail "e: dnsmasq (dnsmasq-base) is not installed"
command -v busybox >/dev/null || fail "e: busybox (udhcpc) is not installed"
netns_new he he || fail "netns"
netns_new ce ce || fail "netns"
netns_link "$he" 198.18.6.1/24 "$ce" 198.18.6.2/24 || fail "link"
netns_spawn "$he" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
	--key "$S/issued/hub.key" --state-dir "$S" --control-socket none --type tap \
	--pool none --pool6 none --address 198.19.60.1/24 >"$T/e-hub.log" 2>&1
netns_wait_log 10 "$T/e-hub.log" "listening on port 3210" || fail "e: hub did not start"
netns_spawn "$he" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --interface=trellis0 \
	--bind-interfaces --except-interface=lo --dhcp-range=198.19.60.100,198.19.60.150,255.255.255.0,1h \
	--dhcp-leasefile="$T/e-dnsmasq.leases" --pid-file="$T/e-dnsmasq.pid" --log-dhcp >"$T/e-dnsmasq.log" 2>&1
netns_wait_log 5 "$T/e-dnsmasq.log" "DHCP, IP range" || fail "e: dnsmasq did not start"
netns_spawn "$ce" "$B/client/trellis-client" -c 198.18.6.1 --server-name hub --ca "$S/ca.crt" \
	--cert "$S/issued/c1.crt" --key "$S/issued/c1.key" --control-socket none --type tap \
	--stats-file "$T/e-client.json" --stats-interval 1 >"$T/e-client.log" 2>&1
netns_wait_log 15 "$T/e-client.log" "connected to" || fail "e: tap client did not connect"
netns_wait_for 5 sh -c "grep -q '\"addresses\"' '$T/e-client.json'" || fail "e: no client status"
[ "$(json "$T/e-client.json" "len(j['addresses'])")" = 0 ] || fail "e: addresses were pushed: $(cat "$T/e-client.json")"
# udhcpc's script: apply the lease as ifupdown's would
cat >"$T/udhcpc.sh" <<'SH'
#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
ip addr add "$ip/$mask" dev "$interface"
SH
chmod +x "$T/udhcpc.sh"
timeout 20 ip netns exec "$ce" busybox udhcpc -i trellis0 -n -q -t 5 -T 2 -s "$T/udhcpc.sh" >"$T/e-udhcpc.log" 2>&1 ||
	fail "e: no DHCP lease over the tunnel"
lease=$(ip -n "$ce" -4 -o addr show dev trellis0 | awk '{print $4}')
case "$lease" in 198.19.60.1[0-4][0-9]/24 | 198.19.60.150/24) ;; *) fail "e: leased address '$lease' not from the DHCP range" ;; esac
ip netns exec "$ce" ping -c 2 -W 2 198.19.60.1 >"$T/e-ping.out" 2>&1 || fail "e: cannot ping the hub over the tap with the DHCP address"
ok "(e) tap client: nothing pushed, DHCP lease $lease from dnsmasq on the hub's device, hub reachable"
}

for p in a b c d e; do part $p && part_$p; done
tap_plan
