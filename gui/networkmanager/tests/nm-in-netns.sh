#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Runs a real NetworkManager with its own system bus inside the current
# network namespace (run it with `ip netns exec NS unshare -u` so the mounts
# and the hostname stay private): nm-in-netns.sh DIR [BUS-POLICY-FILE], the
# policy file included after an allow-all default. Everything it writes is
# under DIR (nm.pid: NetworkManager's PID):
#   DIR/bus.sock            the private system bus (for nmcli from outside)
#   DIR/nm.log, bus.log     their output
#   DIR/etc/VPN/*.name      VPN plugins NetworkManager may run
# Stops both daemons (by PID) on TERM or INT.
# The recipe is the one proven in the feasibility notes: a tmpfs /run, private
# /etc/NetworkManager and /var/lib/NetworkManager, and a read-only /sys, so
# that NetworkManager runs without udev and manages the veth it is given.
set -eu
D=$1
POLICY=${2:-}
mount -t tmpfs tmpfs /run
mkdir -p /run/NetworkManager /run/dbus "$D/etc/conf.d" "$D/etc/VPN" "$D/lib" "$D/conns"
mount --bind "$D/lib" /var/lib/NetworkManager
mount --bind "$D/etc" /etc/NetworkManager
mount -o remount,ro /sys
hostname trellis-nm-test
ip link set lo up
INCLUDE=
[ -n "$POLICY" ] && INCLUDE="<include>$POLICY</include>"
cat >"$D/dbus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$D/bus.sock</listen>
  <listen>unix:path=/run/dbus/system_bus_socket</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_requested_reply="true"/>
  </policy>
  $INCLUDE
</busconfig>
CONF
cat >"$D/NetworkManager.conf" <<CONF
[main]
plugins=keyfile
dns=none
rc-manager=unmanaged
auth-polkit=false
hostname-mode=none
no-auto-default=*
[keyfile]
path=$D/conns
[connectivity]
enabled=false
[logging]
level=DEBUG
domains=VPN,VPN_PLUGIN,CORE,DEVICE,IP4,IP6,DNS
CONF
dbus-daemon --config-file="$D/dbus.conf" --nofork --nopidfile >"$D/bus.log" 2>&1 &
bus_pid=$!
for _ in $(seq 1 50); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
NetworkManager --debug --config="$D/NetworkManager.conf" --config-dir="$D/etc/conf.d" \
	--system-config-dir="$D/etc/conf.d" --state-file="$D/lib/NetworkManager.state" \
	--intern-config="$D/lib/NetworkManager-intern.conf" \
	--pid-file=/run/NetworkManager/NM.pid >"$D/nm.log" 2>&1 &
nm_pid=$!
echo "$nm_pid" >"$D/nm.pid"
stop() {
	kill -TERM "$nm_pid" 2>/dev/null
	for _ in $(seq 1 50); do kill -0 "$nm_pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$nm_pid" 2>/dev/null
	kill -TERM "$bus_pid" 2>/dev/null
	wait
	exit 0
}
trap stop TERM INT
wait "$nm_pid"
