#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# NAT port mapping against a real router: miniupnpd (Debian's
# miniupnpd-nftables) as the NAT gateway of a LAN, with a STUN server above
# it so that it agrees to forward (its WAN address is in a reserved range;
# the recipe is docs/TESTING.md's). A fake gateway sending garbage last.
#
#   [out: stund, client "out"]          [rt: NAT, miniupnpd]          [hub]     198.18.201.1
#   198.18.101.254 (+.253) ------------- 198.18.101.1 | 198.18.201.254 ----------
#                                                      | 198.18.202.254 ---------- [lan] 198.18.202.1
#
#   [fk: fake gateway, garbage SSDP/HTTP/NAT-PMP] 198.18.203.254 ----- [hub2] 198.18.203.1
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
command -v nft >/dev/null || netns_skip "nftables (nft) is not installed"
command -v miniupnpd >/dev/null || netns_skip "miniupnpd (miniupnpd-nftables) is not installed"
command -v stund >/dev/null || netns_skip "stund (stun-server) is not installed"
command -v python3 >/dev/null || netns_skip "python3 is not installed"
command -v upnpc >/dev/null || netns_skip "upnpc (miniupnpc) is not installed"

S=$T/state

# ---- PKI ------------------------------------------------------------------------
pki_network "$S" out lan || fail "pki"

# ---- The networks ------------------------------------------------------------------
netns_new out out || fail "netns"
netns_new rt rt || fail "netns"
netns_new hub hub || fail "netns"
netns_new lan lan || fail "netns"
netns_link "$out" 198.18.101.254/24 "$rt" 198.18.101.1/24 || fail "link out-rt"
up_if=$NETNS_IFA
wan=$NETNS_IFB
netns_link "$rt" 198.18.201.254/24 "$hub" 198.18.201.1/24 || fail "link rt-hub"
lan_hub=$NETNS_IFA
netns_link "$rt" 198.18.202.254/24 "$lan" 198.18.202.1/24 || fail "link rt-lan"
lan_lan=$NETNS_IFA
netns_exec "$hub" ip route add default via 198.18.201.254 || fail "route"
netns_exec "$lan" ip route add default via 198.18.202.254 || fail "route"
netns_exec "$out" ip addr add 198.18.101.253/24 dev "$up_if" || fail "second STUN address"

# The router: forwarding, masquerade of the LANs, the chains miniupnpd
# expects, and counters of what each LAN host asks (SSDP and NAT-PMP).
netns_exec "$rt" sysctl -qw net.ipv4.ip_forward=1
netns_exec "$rt" nft -f - <<NFT || fail "router nftables"
table ip nat {
	chain post { type nat hook postrouting priority 100; oifname "$wan" ip saddr { 198.18.201.0/24, 198.18.202.0/24 } masquerade; }
}
table inet filter {
	chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
	chain miniupnpd { }
	chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
	chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
	chain prerouting_miniupnpd { }
	chain postrouting_miniupnpd { }
}
table inet asked {
	counter hub { }
	chain input { type filter hook input priority -10; policy accept;
		ip saddr 198.18.201.1 udp dport { 1900, 5351 } counter name hub; }
}
NFT

netns_spawn "$out" stund -h 198.18.101.254 -a 198.18.101.253 >"$T/stund.log" 2>&1

miniupnpd_conf() { # miniupnpd_conf FILE UPNP(yes/no)
	cat >"$1" <<CONF
ext_ifname=$wan
listening_ip=$lan_hub
listening_ip=$lan_lan
enable_natpmp=yes
enable_upnp=$2
secure_mode=yes
ext_perform_stun=yes
ext_stun_host=198.18.101.254
system_uptime=yes
uuid=3d3c8f3e-1d2b-4f6a-9b1e-5a1f2c3d4e5f
allow 1024-65535 198.18.201.0/24 1024-65535
allow 1024-65535 198.18.202.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
}
start_router() { # start_router UPNP(yes/no) LOG
	miniupnpd_conf "$T/m-$1.conf" "$1"
	: >"$T/$2"
	netns_spawn "$rt" miniupnpd -d -f "$T/m-$1.conf" -P "$T/m-$1.pid" >"$T/$2" 2>&1
	router_pid=$NETNS_LAST_PID
	netns_wait_log 30 "$T/$2" "Port forwarding is now enabled" || fail "miniupnpd never enabled port forwarding"
}

# The router's DNAT rules for one port (miniupnpd writes one per protocol).
rules() { # rules [PATTERN]
	netns_exec "$rt" nft list chain inet filter prerouting_miniupnpd | grep dnat | grep -c -- "${1:-}"
}
rules_are() { [ "$(rules)" = "$1" ]; }
asked() { netns_exec "$rt" nft list counter inet asked hub | sed -n 's/.*packets \([0-9]*\).*/\1/p'; }
status_json() { "$B/cli/trellis" status --json --socket "$1"; }
pm() { # pm SOCKET EXPR -> evaluates EXPR on the port_mapping object (m)
	status_json "$1" | python3 -c 'import json,sys; m=json.load(sys.stdin)[0]["port_mapping"]; print(eval(sys.argv[1]))' "$2"
}

hub_args=(--ca "$S/ca.crt" --cert "$S/issued/hub.crt" --key "$S/issued/hub.key" --crl "$S/crl.pem"
	--state-dir "$S" --port-forwarding-interval 2 --control-socket "$T/hub.sock")
start_hub() { # start_hub LOG [extra args]
	local log=$1
	shift
	: >"$T/$log"
	netns_spawn "$hub" "$B/server/trellis-server" "${hub_args[@]}" "$@" >"$T/$log" 2>&1
	hub_pid=$NETNS_LAST_PID
	netns_wait_log 10 "$T/$log" "listening on port 3210" || fail "hub did not start"
}
stop() { # stop PID: SIGTERM, and it must exit by itself, cleanly
	local i
	kill -TERM "$1"
	for i in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$1" 2>/dev/null && fail "pid $1 did not exit within 10 s of SIGTERM"
	wait "$1" || fail "pid $1 exited with status $?"
}
client() { # client NS NAME LOG SERVER [extra args]
	local ns=$1 name=$2 log=$3 server=$4
	shift 4
	netns_spawn "$ns" "$B/client/trellis-client" -c "$server" --server-name hub --ca "$S/ca.crt" \
		--cert "$S/issued/$name.crt" --key "$S/issued/$name.key" --retry-max 2 \
		--port-forwarding-interval 2 --control-socket "$T/$name.sock" "$@" >"$T/$log" 2>&1
}

# ---- UPnP-IGD: the hub maps its port by itself ---------------------------------------
t_start=$(date +%s)
start_router yes miniupnpd.log
# What a hub that crashed would leave: its port mapped on another external port.
igd=$(netns_exec "$hub" timeout 10 upnpc -s 2>/dev/null | grep -o 'http://198.18.201.254:[0-9]*/rootDesc.xml' | head -1)
[ -n "$igd" ] || fail "upnpc found no IGD"
netns_exec "$hub" upnpc -u "$igd" -e "Trellis hub" -a 198.18.201.1 3210 3299 UDP 3600 >"$T/upnpc.log" 2>&1
[ "$(rules 'th dport 3299')" = 1 ] || fail "could not leave a stale mapping ($(cat "$T/upnpc.log"))"
start_hub hub.log
netns_wait_log 15 "$T/hub.log" "port mapping: made" || fail "the hub made no mapping"
grep -q "UDP and TCP port 3210 reachable at 198.18.101.1:3210 through the UPnP IGD" "$T/hub.log" ||
	fail "the mapping logged is not UDP+TCP 3210 at 198.18.101.1:3210 by UPnP"
grep -q "not connected" "$T/hub.log" || fail "the IGD's 'not connected' was not reported"
[ "$(rules "th dport 3210")" = 2 ] || fail "the router holds $(rules 'th dport 3210') rules for port 3210, not 2 (UDP, TCP)"
[ "$(rules 'th dport 3299')" = 0 ] || fail "the mapping an earlier run left on 3299 is still there"
grep -q "deleting a mapping of ours left over on the IGD (UDP 3299)" "$T/hub.log" || fail "the stale mapping's deletion was not logged"
[ "$(pm "$T/hub.sock" '(m["state"], m["protocol"], m["external_address"], m["external_port"], m["external_tcp_port"], m["not_connected"], m["priority"], 0 < m["lifetime_left"] <= 3600)')" = \
	"('mapped', 'upnp', '198.18.101.1', 3210, 3210, True, 'low', True)" ] ||
	fail "status JSON: $(status_json "$T/hub.sock")"
"$B/cli/trellis" status --socket "$T/hub.sock" >"$T/status.txt" || fail "trellis status"
grep -q "port mapping: 198.18.101.1:3210 (UDP and TCP) to local port 3210, by UPnP IGD, lease [0-9]* s left" "$T/status.txt" ||
	fail "trellis status shows no mapping: $(cat "$T/status.txt")"
grep -q "lower-priority" "$T/status.txt" || fail "trellis status does not say lower priority"
ok "UPnP: the hub mapped TCP+UDP 3210 at 198.18.101.1:3210 (IGD 'not connected': lower priority), deleted the one an earlier run left on 3299, shown by trellis status"

# A client outside reaches the hub through the mapping: TLS over TCP, data over UDP.
client "$out" out out.log 198.18.101.1
out_pid=$NETNS_LAST_PID
netns_wait_log 15 "$T/out.log" "connected to" || fail "the outside client did not connect through the mapping"
netns_exec "$out" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "outside client -> hub ping through the tunnel"
netns_wait_log 10 "$T/out.log" "data now over UDP" || fail "data never went over UDP through the mapping"
ok "a client outside connected to 198.18.101.1 and pinged the hub through the tunnel, data over UDP"

# A client behind the same router maps the UDP port its sessions use.
client "$lan" lan lan.log 198.18.201.1
lan_pid=$NETNS_LAST_PID
netns_wait_log 15 "$T/lan.log" "port mapping: made" || fail "the LAN client made no mapping"
lan_port=$(pm "$T/lan.sock" 'm["local_port"]')
[ "$(rules "ip to 198.18.202.1:$lan_port")" = 1 ] || fail "the router holds no single UDP rule for the client's port $lan_port"
[ "$(pm "$T/lan.sock" '("external_tcp_port" in m, m["protocol"])')" = "(False, 'upnp')" ] || fail "client mapped TCP too"
ok "a client behind the router mapped its UDP port $lan_port (UDP only)"

# ---- The router restarts with its rules flushed: the mappings come back, one per port --
# (Flushing the chains under a running miniupnpd is not seen through UPnP: it
# keeps answering from its own cache, and renewing does not restore the rule;
# NAT-PMP below does restore it.)
flush_router() {
	local chain
	for chain in prerouting_miniupnpd postrouting_miniupnpd miniupnpd; do
		netns_exec "$rt" nft flush chain inet filter "$chain"
	done
	[ "$(rules)" = 0 ] || fail "flush"
}
stop "$router_pid"
flush_router
start_router yes miniupnpd-restarted.log
netns_wait_for 15 rules_are 3 || fail "the mappings did not come back after the router restarted with its rules flushed ($(rules))"
grep -q "port mapping: lost touch with the gateway" "$T/hub.log" || fail "the hub did not log losing the gateway"
netns_wait_log 5 "$T/hub.log" "port mapping: made again: UDP and TCP port 3210 reachable at 198.18.101.1:3210" ||
	fail "the hub did not log the mapping made again on the same port"
netns_exec "$out" ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "ping after the mapping came back"
ok "router restarted with its rules flushed: both mappings made again, on the same ports"

# The table cleared through the router itself (its UPnP interface): seen at the next check.
igd=$(pm "$T/hub.sock" 'm["gateway"]')
netns_exec "$hub" upnpc -u "$igd" -d 3210 UDP >"$T/upnpc-d.log" 2>&1
netns_wait_log 5 "$T/hub.log" "port mapping: the UPnP IGD no longer holds the mapping of port 3210" ||
	fail "the hub did not notice its mapping deleted on the router ($(cat "$T/upnpc-d.log"))"
netns_wait_for 5 rules_are 3 || fail "the deleted mapping did not come back ($(rules))"
ok "a mapping deleted through the router's UPnP interface: noticed at the next check, made again"

# No flood: the rule count over 8 s (4 checks of each daemon) never passes one per port.
max=0
for i in $(seq 1 16); do
	c=$(rules)
	[ "$c" -gt "$max" ] && max=$c
	sleep 0.5
done
[ "$max" = 3 ] && [ "$(rules)" = 3 ] || fail "rules over time: at most $max, now $(rules) (want 3 throughout)"
[ "$(grep -c "port mapping: made" "$T/hub.log")" = 3 ] || fail "the hub logged its mapping more often than it was lost"
ok "no flood: 3 rules (hub UDP+TCP, client UDP) throughout 8 s of checks every 2 s"

stop "$lan_pid"
[ "$(rules "ip to 198.18.202.1")" = 0 ] || fail "the client's mapping outlived it"
stop "$out_pid"
stop "$hub_pid"
[ "$(rules)" = 0 ] || fail "the hub's mapping outlived it ($(rules) rules)"
grep -q "port mapping: deleted the mapping of port 3210" "$T/hub.log" || fail "the hub did not log the deletion"
ok "mappings deleted when the client and the hub stopped"

# ---- Port forwarding off: no request at all ----------------------------------------------
netns_exec "$rt" nft reset counter inet asked hub >/dev/null
start_hub hub-off.log --no-port-forwarding
sleep 3
[ "$(pm "$T/hub.sock" 'm["state"]')" = disabled ] || fail "status with --no-port-forwarding: $(status_json "$T/hub.sock")"
stop "$hub_pid"
printf '[server]\nport-forwarding = false\n' >"$T/off.conf"
start_hub hub-off2.log --config "$T/off.conf"
sleep 3
stop "$hub_pid"
[ "$(asked)" = 0 ] || fail "with port forwarding off the hub still sent $(asked) SSDP/NAT-PMP packets"
[ "$(rules)" = 0 ] || fail "with port forwarding off a mapping was made"
grep -q "port mapping" "$T/hub-off.log" "$T/hub-off2.log" && fail "port mapping logged while off"
ok "--no-port-forwarding and port-forwarding = false: no SSDP or NAT-PMP packet, no mapping"

# ---- NAT-PMP alone ----------------------------------------------------------------------
stop "$router_pid"
start_router no miniupnpd-natpmp.log
start_hub hub-natpmp.log
netns_wait_log 15 "$T/hub-natpmp.log" "port mapping: made" || fail "no mapping by NAT-PMP"
grep -q "UDP and TCP port 3210 reachable at 198.18.101.1:3210 through the NAT-PMP gateway at 198.18.201.254" "$T/hub-natpmp.log" ||
	fail "the NAT-PMP mapping logged is not UDP+TCP 3210 at 198.18.101.1:3210"
[ "$(rules 'th dport 3210')" = 2 ] || fail "NAT-PMP: $(rules 'th dport 3210') rules for 3210"
[ "$(pm "$T/hub.sock" '(m["protocol"], m["external_port"], m["external_tcp_port"], 0 < m["lifetime_left"] <= 3600)')" = "('nat-pmp', 3210, 3210, True)" ] ||
	fail "NAT-PMP status: $(status_json "$T/hub.sock")"
sleep 4.5 # two renewals
[ "$(rules)" = 2 ] || fail "NAT-PMP renewals changed the rule count to $(rules)"
flush_router
netns_wait_for 6 rules_are 2 || fail "NAT-PMP: the rules flushed under a running router did not come back ($(rules))"
stop "$hub_pid"
[ "$(rules)" = 0 ] || fail "the NAT-PMP mapping outlived the hub"
ok "NAT-PMP alone (UPnP off in miniupnpd): mapped, renewed without new rules, restored within a check after a flush, deleted at exit"
stop "$router_pid"

# ---- A gateway that answers garbage: refused, no crash -----------------------------------
netns_new fk fk || fail "netns"
netns_new hub2 hub2 || fail "netns"
netns_link "$fk" 198.18.203.254/24 "$hub2" 198.18.203.1/24 || fail "link fk-hub2"
netns_exec "$hub2" ip route add default via 198.18.203.254 || fail "route"
netns_spawn "$fk" python3 "$TR_SOURCE_ROOT/tests/netns/fake-gateway.py" 198.18.203.254 >"$T/fake.log" 2>&1
netns_wait_log 5 "$T/fake.log" "ready" || fail "fake gateway did not start"
: >"$T/hub2.log"
netns_spawn "$hub2" "$B/server/trellis-server" "${hub_args[@]}" >"$T/hub2.log" 2>&1
hub2_pid=$NETNS_LAST_PID
netns_wait_log 10 "$T/hub2.log" "listening on port 3210" || fail "hub2 did not start"
# Two rounds of SSDP, description, SOAP and NAT-PMP garbage (the retry comes 3-5 s later).
searches() { [ "$(grep -c '^ssdp ' "$T/fake.log")" -ge "$1" ]; }
netns_wait_for 20 searches 2 || fail "the hub did not search twice"
netns_wait_log 10 "$T/hub2.log" "port mapping: " || fail "no port mapping message from hub2"
netns_wait_for 10 grep -q "^natpmp .* round 2" "$T/fake.log" || fail "the NAT-PMP garbage was not sent twice"
sleep 1
# The garbage really reached the hub's libraries: every description and SOAP.
for what in "GET /garbage.xml" "GET /deep.xml" "GET /desc.xml" "POST /ctl"; do
	grep -q "^http $what" "$T/fake.log" || fail "the hub never asked for $what"
done
kill -0 "$hub2_pid" 2>/dev/null || fail "hub2 died on the garbage"
[ "$(pm "$T/hub.sock" 'm["state"]')" = failed ] || fail "a mapping was accepted from garbage: $(status_json "$T/hub.sock")"
grep -E "port mapping: .*(NAT-PMP|IGD|UPnP)" "$T/hub2.log" | head -3 >"$T/garbage-reason.txt"
stop "$hub2_pid"
ok "a fake gateway's garbage (SSDP, descriptions, SOAP, NAT-PMP) refused without a crash: $(head -c 300 "$T/garbage-reason.txt")"

echo "# took $(($(date +%s) - t_start)) s"
