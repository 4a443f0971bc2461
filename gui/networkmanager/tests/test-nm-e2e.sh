#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The NetworkManager plugin end to end, as a user drives it: a real
# NetworkManager (private system bus) in one namespace, real Trellis hubs in
# another, nmcli from outside.
#
#   [nm] vethN 198.18.60.2 -------- 198.18.60.1 [hub]
#        NetworkManager                trellis-server :3210 certificates + password,
#        nm-trellis-service               pool 198.19.0.0/24, fd00:7472::/64,
#        trellis0, trellis1               DNS 198.19.0.53 + fd00:7472::53, route 198.19.99.0/24
#                                     trellis-server :3211 shared key, pool 198.19.1.0/24,
#                                       pushes a default route; reached at 198.18.61.1
#                                       (not on the link: through the base's gateway)
#
# import a client.conf -> up -> ping -> nmcli shows the pushed addresses and
# DNS -> down -> device gone; a wrong password fails with the reason; the
# password asked through the auth dialog (nmcli --ask); two connections at once.
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
for p in NetworkManager nmcli dbus-daemon unshare; do
	command -v "$p" >/dev/null || netns_skip "$p is not installed (scripts/install-deps.sh installs it)"
done

B=$TR_BUILD_ROOT
G=$B/gui/networkmanager
T=$(netns_tmpdir)
S=$T/pki
D=$T/nm
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "not ok - $*"
	for f in "$T"/*.log "$D/nm.log"; do
		[ -f "$f" ] || continue
		echo "---- $f"
		grep -v -e '<trace>' -e '<debug>' "$f" | tail -n 40
	done
	exit 1
}
wait_log() { netns_wait_for "$1" grep -q -- "$3" "$2"; }

# nmcli from outside the namespace, on NetworkManager's private bus, with the
# plugin from the build tree.
nmc() {
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/bus.sock NM_VPN_PLUGIN_DIR=$D/etc/VPN \
		timeout 60 nmcli "$@"
}

# ---- PKI and a password file ----------------------------------------------------
$B/cli/trellis pki init --state-dir "$S" >/dev/null || fail "pki init"
$B/cli/trellis pki issue hub --server --state-dir "$S" >/dev/null || fail "issue hub"
$B/cli/trellis pki issue laptop --state-dir "$S" >/dev/null || fail "issue laptop"
printf 'alice:%s\n' "$(python3 -W ignore -c 'import crypt; print(crypt.crypt("wonderland", crypt.mksalt(crypt.METHOD_SHA512)))')" >"$T/passwd"
chmod 600 "$T/passwd"
KEY=correct-horse-battery-staple-trellis

# ---- Namespaces ----------------------------------------------------------------------
netns_new hub hub || fail "netns"
netns_new nmns nm || fail "netns"
ip -n "$hub" link add vhub type veth peer name vnm netns "$nmns" || fail "veth"
ip -n "$hub" addr add 198.18.60.1/24 dev vhub
ip -n "$hub" link set vhub up

# ---- The hubs --------------------------------------------------------------------------
start_hub() {
	local before
	before=$(grep -c "listening on port 3210" "$T/hub.log" 2>/dev/null)
	netns_spawn "$hub" "$B/server/trellis-server" --ca "$S/ca.crt" --cert "$S/issued/hub.crt" \
		--key "$S/issued/hub.key" --state-dir "$S" --password-file "$T/passwd" \
		--dns 198.19.0.53 --dns fd00:7472::53 --dns-search trellis.test --route 198.19.99.0/24 \
		--mtu 1400 --keepalive 2 >>"$T/hub.log" 2>&1
	NETNS_HUB_PID=$NETNS_LAST_PID
	netns_wait_for 10 bash -c "[ \$(grep -c 'listening on port 3210' '$T/hub.log') -gt ${before:-0} ]" ||
		fail "hub did not start"
}
start_hub
ip -n "$hub" addr add 198.18.61.1/32 dev lo
netns_spawn "$hub" "$B/server/trellis-server" --shared-key "$KEY" --listen 3211 --state-dir "$T" \
	--pool 198.19.1.0/24 --pool6 none --device tsk%d --route 0.0.0.0/0 >"$T/hub-sk.log" 2>&1
wait_log 10 "$T/hub-sk.log" "listening on port 3211" || fail "shared-key hub did not start"

# ---- NetworkManager, with the plugin from the build tree ------------------------------
mkdir -p "$D/etc/VPN"
sed -e "s|^program=.*|program=$G/nm-trellis-service|" \
	-e "s|^plugin=.*|plugin=$G/libnm-vpn-plugin-trellis.so|" \
	-e "s|^auth-dialog=.*|auth-dialog=$G/nm-trellis-auth-dialog|" \
	"$G/nm-trellis-service.name" >"$D/etc/VPN/nm-trellis-service.name"
chmod 644 "$D/etc/VPN/nm-trellis-service.name"
# The bus has the plugin's own policy on top of an allow-all default.
netns_spawn "$nmns" unshare -u bash "$TR_SOURCE_ROOT/gui/networkmanager/tests/nm-in-netns.sh" "$D" \
	"$TR_SOURCE_ROOT/gui/networkmanager/nm-trellis-service.conf"
netns_wait_for 20 nmc general status || fail "NetworkManager did not come up"
nmc connection add type ethernet ifname vnm con-name base ipv4.method manual \
	ipv4.addresses 198.18.60.2/24 ipv4.gateway 198.18.60.1 ipv6.method disabled >/dev/null || fail "base connection"
nmc connection up base >/dev/null || fail "base connection up"
netns_exec "$nmns" ping -c 1 -W 2 198.18.60.1 >/dev/null || fail "underlay ping"
ok "NetworkManager runs in its namespace and manages the underlay (a VPN needs a base connection with a default route)"

# ---- Import the file `trellis join` would have written ----------------------------------
mkdir -p "$T/etc"
cat >"$T/etc/office.conf" <<CONF
# as 'trellis join --network office' writes /etc/trellis/office.conf, plus a username
[client]
connect = 198.18.60.1
server-name = hub
ca = $S/ca.crt
cert = $S/issued/laptop.crt
key = $S/issued/laptop.key
username = alice
CONF
nmc connection import type trellis file "$T/etc/office.conf" >"$T/import.out" 2>&1 ||
	fail "import: $(cat "$T/import.out")"
nmc -g vpn.service-type,vpn.data connection show office >"$T/shown" || fail "imported connection not found"
grep -q "org.freedesktop.NetworkManager.trellis" "$T/shown" || fail "wrong service type: $(cat "$T/shown")"
grep -q "connect = 198.18.60.1" "$T/shown" || fail "data not imported: $(cat "$T/shown")"
ok "nmcli connection import type trellis file office.conf made connection 'office'"

# ---- nm-connection-editor (GTK 3) opens the connection with the Trellis editor ----------------
if command -v nm-connection-editor >/dev/null && command -v Xvfb >/dev/null &&
	command -v xdotool >/dev/null && command -v import >/dev/null; then
	shots=$B/gui/networkmanager/screenshots
	mkdir -p "$shots"
	for xd in $(seq 150 200); do [ -e "/tmp/.X11-unix/X$xd" ] || [ -e "/tmp/.X$xd-lock" ] || break; done
	Xvfb ":$xd" -screen 0 1024x768x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
	NETNS_PIDS+=($!)
	netns_wait_for 10 test -e "/tmp/.X11-unix/X$xd" || fail "Xvfb did not start"
	uuid=$(nmc -g connection.uuid connection show office)
	DISPLAY=":$xd" NO_AT_BRIDGE=1 GSETTINGS_BACKEND=memory DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/bus.sock \
		NM_VPN_PLUGIN_DIR=$D/etc/VPN nm-connection-editor --edit "$uuid" >"$T/nce.log" 2>&1 &
	nce=$!
	NETNS_PIDS+=($nce)
	wid=$(DISPLAY=":$xd" timeout 20 xdotool search --sync --onlyvisible --name "Editing office" | head -1)
	[ -n "$wid" ] || fail "nm-connection-editor showed no window: $(cat "$T/nce.log")"
	sleep 1
	DISPLAY=":$xd" import -window root "$shots/nm-connection-editor-vpn.png"
	# Alt+D, the "Advanced…" button's mnemonic, opens the advanced window.
	DISPLAY=":$xd" xdotool windowfocus --sync "$wid"
	sleep 0.3
	DISPLAY=":$xd" xdotool key alt+d
	DISPLAY=":$xd" timeout 10 xdotool search --sync --onlyvisible --name "Trellis VPN: advanced settings" >/dev/null ||
		fail "Alt+D did not open the advanced window in nm-connection-editor"
	sleep 0.5
	DISPLAY=":$xd" import -window root "$shots/nm-connection-editor-advanced.png"
	grep -i "trellis" "$T/nce.log" && fail "nm-connection-editor could not use the plugin: $(cat "$T/nce.log")"
	netns_kill "$nce"
	ok "nm-connection-editor --edit office: the Trellis form in its VPN tab, Alt+D opens its advanced window; screenshots nm-connection-editor-{vpn,advanced}.png"
fi

# A broken file is refused with the file, the line and what is wrong.
printf '[client]\nconnect = 198.18.60.1\nmtu = 9\n' >"$T/broken.conf"
nmc connection import type trellis file "$T/broken.conf" >"$T/broken.out" 2>&1 && fail "broken file imported"
grep -q "broken.conf:3: mtu: '9' is not a whole number from 576 to 65535" "$T/broken.out" ||
	fail "import error does not say where: $(cat "$T/broken.out")"
ok "a broken file is refused: $(tr '\n' ' ' <"$T/broken.out")"

# ---- Up with the password stored in the connection -----------------------------------
nmc connection modify office vpn.secrets "password=wonderland" || fail "set password"
nmc connection up office >"$T/up.out" 2>&1 || fail "up: $(cat "$T/up.out")"
# The service's tun device (the base connection's is vnm).
dev=$(netns_exec "$nmns" ip -o link show type tun | awk -F': ' '{print $2}' | head -1)
[ -n "$dev" ] || fail "no tun device after up"
netns_exec "$nmns" ping -c 3 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "ping through the tunnel"
netns_exec "$nmns" ping -6 -c 2 -i 0.2 -W 2 fd00:7472::1 >/dev/null || fail "ping6 through the tunnel"
ok "nmcli connection up office: $dev up, ping 198.19.0.1 and fd00:7472::1 through the tunnel"

# Only root may call or own the service's names (nm-trellis-service.conf).
svc=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$D/bus.sock gdbus call --system --dest org.freedesktop.DBus \
	--object-path /org/freedesktop/DBus --method org.freedesktop.DBus.ListNames |
	grep -o "org.freedesktop.NetworkManager.trellis[A-Za-z0-9_.]*" | head -1)
[ -n "$svc" ] || fail "the service's bus name is not on the bus"
in_nm() { nsenter -t "$(cat "$D/nm.pid")" -m -n env DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket "$@"; }
as_nobody() { in_nm setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
in_nm gdbus introspect --system --dest "$svc" --object-path /org/freedesktop/NetworkManager/VPN/Plugin |
	grep -q "org.freedesktop.NetworkManager.VPN.Plugin" || fail "root cannot introspect $svc"
as_nobody gdbus introspect --system --dest "$svc" --object-path /org/freedesktop/NetworkManager/VPN/Plugin \
	>"$T/nobody.out" 2>&1 && fail "nobody could call $svc"
grep -q "AccessDenied" "$T/nobody.out" || fail "nobody's call not denied by policy: $(cat "$T/nobody.out")"
as_nobody busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
	RequestName su org.freedesktop.NetworkManager.trellis.Connection_99 0 >"$T/own.out" 2>&1 &&
	fail "nobody could own a trellis service name: $(cat "$T/own.out")"
grep -qi "denied\|not allowed" "$T/own.out" || fail "owning not denied by policy: $(cat "$T/own.out")"
ok "service on the bus as $svc: root may call it; nobody (uid 65534) may not call it nor own a trellis name (AccessDenied)"

nmc -f IP4,IP6 connection show office >"$T/ip.out" || fail "connection show"
grep -Eq '^IP4.ADDRESS\[1\]: +198\.19\.0\.[0-9]+/24' "$T/ip.out" || fail "no pushed IPv4 address: $(cat "$T/ip.out")"
grep -Eq '^IP4.DNS\[1\]: +198\.19\.0\.53' "$T/ip.out" || fail "no pushed IPv4 DNS: $(cat "$T/ip.out")"
grep -Eq '^IP4.DOMAIN\[1\]: +trellis\.test' "$T/ip.out" || fail "no pushed search domain: $(cat "$T/ip.out")"
grep -Eq '^IP6.ADDRESS\[1\]: +fd00:7472::' "$T/ip.out" || fail "no pushed IPv6 address: $(cat "$T/ip.out")"
grep -Eq '^IP6.DNS\[1\]: +fd00:7472::53' "$T/ip.out" || fail "no pushed IPv6 DNS: $(cat "$T/ip.out")"
grep -Eq '198\.19\.99\.0/24' "$T/ip.out" || fail "no pushed route: $(cat "$T/ip.out")"
ok "nmcli -f IP4,IP6 shows $(grep -E '^IP4.ADDRESS\[1\]' "$T/ip.out" | awk '{print $2}'), $(grep -E '^IP6.ADDRESS\[1\]' "$T/ip.out" | awk '{print $2}'), DNS 198.19.0.53 and fd00:7472::53, domain trellis.test, route 198.19.99.0/24"
netns_exec "$nmns" ip route show 198.19.99.0/24 | grep -q "dev $dev" || fail "route 198.19.99.0/24 not on $dev"
mtu=$(netns_exec "$nmns" cat /sys/class/net/"$dev"/mtu)
[ "$mtu" = 1400 ] || fail "MTU $mtu, the hub pushed 1400"
netns_exec "$nmns" ip route get 198.18.199.9 | grep -q "dev vnm" ||
	fail "office became the default route without pushing one: $(netns_exec "$nmns" ip route get 198.18.199.9)"
ok "NetworkManager configured the pushed route and MTU $mtu on $dev; no default route pushed, none taken"
! grep -q wonderland "$D/nm.log" || fail "the password is in NetworkManager's log"
ok "the password appears in no log"

# The hub restarts: the library reconnects by itself, NetworkManager keeps
# the connection and gets the configuration again.
hub_pid=$NETNS_HUB_PID
netns_kill "$hub_pid"
start_hub
netns_wait_for 30 bash -c "[ \$(grep -c 'office: connected, device' '$D/nm.log') -ge 2 ]" ||
	fail "the service did not reconnect after the hub restarted"
[ "$(nmc -g GENERAL.STATE connection show office)" = activated ] || fail "connection dropped on hub restart"
netns_exec "$nmns" ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "ping after the hub restarted"
ok "hub restarted: the service reconnected, NetworkManager kept 'office' activated, ping works"

byes=$(grep -c "closed the session" "$T/hub.log")
nmc connection down office >/dev/null || fail "down"
netns_wait_for 10 bash -c "! ip netns exec $nmns ip link show $dev" || fail "device $dev still there after down"
netns_wait_for 10 bash -c "[ \$(grep -c 'closed the session' '$T/hub.log') -gt $byes ]" ||
	fail "the hub was not told goodbye: $(tail -3 "$T/hub.log")"
ok "nmcli connection down: the hub got the goodbye, $dev is gone"

# ---- A wrong password fails, with the reason ---------------------------------------------
nmc connection modify office vpn.secrets "password=looking-glass" || fail "set password"
nmc connection up office >"$T/wrong.out" 2>&1 && fail "up with a wrong password succeeded"
grep -qi "login failed\|invalid secrets\|no valid secrets" "$T/wrong.out" ||
	fail "nmcli does not say the login failed: $(cat "$T/wrong.out")"
grep -q "login refused: .*password" "$D/nm.log" || fail "the reason is not in the log"
ok "wrong password: nmcli says '$(grep -o 'Error:.*' "$T/wrong.out" | head -1)'; the log says '$(grep -o 'login refused: .*' "$D/nm.log" | tail -1)'"

# ---- The hub's certificate from another network: refused, not a login failure ---------------
$B/cli/trellis pki init --state-dir "$T/other" --network other >/dev/null || fail "pki init other"
mkdir -p "$T/stranger"
sed -e "s|^ca = .*|ca = $T/other/ca.crt|" "$T/etc/office.conf" >"$T/stranger/client.conf"
nmc connection import type trellis file "$T/stranger/client.conf" >/dev/null 2>&1 || fail "import stranger"
nmc connection modify stranger vpn.secrets "password=wonderland" || fail "set password"
nmc connection up stranger >"$T/stranger.out" 2>&1 && fail "up with the wrong CA succeeded"
grep -qi "invalid secrets\|login failed" "$T/stranger.out" && fail "a wrong CA reported as a login failure: $(cat "$T/stranger.out")"
netns_wait_for 10 grep -q "stranger: cannot connect: " "$D/nm.log" || fail "the wrong CA is not in the log"
ok "the hub's certificate from another network: nmcli says '$(grep -o 'Error:.*' "$T/stranger.out" | head -1)'; the log says '$(grep -o 'stranger: cannot connect: .*' "$D/nm.log" | tail -1)'"
nmc connection delete stranger >/dev/null || fail "delete stranger"

# ---- The password asked through the auth dialog (nmcli --ask) -----------------------------
nmc connection modify office vpn.secrets "" +vpn.data "password-flags=2" || fail "password-flags"
# The first password typed is wrong: asked again, with the hub's reason.
printf 'looking-glass\nwonderland\n' | nmc --ask connection up office >"$T/ask.out" 2>&1 ||
	fail "up --ask: $(cat "$T/ask.out")"
netns_exec "$nmns" ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "ping after --ask"
[ "$(grep -c "Password (vpn.secrets.password)" "$T/ask.out")" = 2 ] || fail "nmcli did not prompt twice: $(cat "$T/ask.out")"
# The reason goes to the agent as a hint; nmcli 1.42 does not hand hints to
# the auth dialog (the protocol test checks that the dialog shows them).
grep -q "office: login refused: invalid username or password" "$D/nm.log" || fail "the refusal is not in the log"
ok "nmcli --ask: the auth dialog described the password; a wrong one was refused and asked for again, the right one connected"

# ---- Export gives back a file trellis-client reads; a broken connection is refused ---------
nmc connection export office "$T/exported.conf" >/dev/null 2>&1 || fail "export"
[ "$(stat -c %a "$T/exported.conf")" = 600 ] || fail "exported file mode $(stat -c %a "$T/exported.conf")"
grep -q "^connect = 198.18.60.1$" "$T/exported.conf" && grep -q "^username = alice$" "$T/exported.conf" ||
	fail "export: $(cat "$T/exported.conf")"
! grep -q wonderland "$T/exported.conf" || fail "the password was exported"
ok "nmcli connection export: a 0600 client.conf with the hub and username, no password"
nmc connection down office >/dev/null || fail "down before modify"
nmc connection modify office +vpn.data mtu=9 || fail "modify"
printf 'wonderland\n' | nmc --ask connection up office >"$T/bad.out" 2>&1 && fail "a connection with mtu=9 came up"
netns_wait_for 10 grep -q "connection 'office': mtu: '9' is not a whole number from 576 to 65535" "$D/nm.log" ||
	fail "the broken setting is not named in the log"
nmc connection modify office -vpn.data mtu || fail "modify back"
printf 'wonderland\n' | nmc --ask connection up office >/dev/null 2>&1 || fail "up again"
ok "vpn.data mtu=9 set by hand: Connect refused, the log says \"connection 'office': mtu: '9' is not a whole number from 576 to 65535\""

# ---- A second Trellis connection at the same time (shared key) ---------------------------
cat >"$T/lab.conf" <<CONF
[client]
connect = 198.18.61.1:3299;198.18.61.1:3211
shared-key = $KEY
name = laptop-lab
CONF
nmc connection import type trellis file "$T/lab.conf" >/dev/null 2>&1 || fail "import lab"
nmc connection up lab >"$T/up-lab.out" 2>&1 || fail "up lab: $(cat "$T/up-lab.out")"
netns_exec "$nmns" ping -c 2 -i 0.2 -W 2 198.19.1.1 >/dev/null || fail "ping through lab"
netns_exec "$nmns" ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "ping through office while lab is up"
# lab's hub pushed a default route: the VPN is the default now, and the hub
# itself stays reached outside the tunnel, through the base's gateway (the
# external gateway the service handed over).
labdev=$(netns_exec "$nmns" ip -o addr show | awk '/198\.19\.1\./ {print $2}' | head -1)
[ -n "$labdev" ] || fail "no lab device"
netns_exec "$nmns" ip route get 198.18.199.9 | grep -q "dev $labdev" ||
	fail "the pushed default route is not used: $(netns_exec "$nmns" ip route get 198.18.199.9)"
netns_exec "$nmns" ip route get 198.18.61.1 | grep -q "via 198.18.60.1 dev vnm" ||
	fail "the hub is not reached outside the tunnel: $(netns_exec "$nmns" ip route get 198.18.61.1)"
ok "lab's pushed default route: traffic goes through $labdev, the hub 198.18.61.1 still via 198.18.60.1 dev vnm"
[ "$(nmc -g GENERAL.STATE connection show office)" = activated ] || fail "office not active any more"
grep -q "trying the next hub, 198.18.61.1:3211 (2 of 2)" "$D/nm.log" ||
	fail "lab did not move past its first hub (nothing listens on 3299): $(grep -i 'hub' "$D/nm.log" | tail -n 5)"
ok "two Trellis connections at once: office and lab (shared key, not in any log) both carry traffic; lab's first hub (nothing there) was passed for its second"
! grep -q "$KEY" "$D/nm.log" || fail "the shared key is in NetworkManager's log"
nmc connection down lab >/dev/null || fail "down lab"
nmc connection down office >/dev/null || fail "down office"
netns_wait_for 10 bash -c "! ip netns exec $nmns ip -o link show type tun | grep -q ." ||
	fail "tun devices left: $(ip -n "$nmns" -o link show type tun)"
ok "both down, no tun device left"
echo "1..$n"
