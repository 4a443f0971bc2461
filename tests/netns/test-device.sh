#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Linux platform layer on real tun/tap devices, inside a namespace:
# tr-devtool opens and configures a device through platform/, iproute2 checks
# the result independently (ip -j), ping moves packets through it (tr-devtool
# answers echo requests), and closing undoes everything.
#
#   [ns d] ping -> route 198.19.2.0/24 -> tun (2 queues) -> tr-devtool echoes
#          ping -> 198.19.3.0/24 on tap -> tr-devtool answers ARP + echo
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
[ -e /dev/net/tun ] || netns_skip "no /dev/net/tun on this machine"
command -v python3 >/dev/null || netns_skip "python3 is needed to read ip -j output"

devtool=$TR_BUILD_ROOT/tests/tr-devtool
tmp=$(netns_tmpdir)
netns_new d dev || netns_fail "netns_new"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }

# json NS PY-EXPR IP-ARGS...: evaluates PY-EXPR over `ip -j IP-ARGS` (as j)
json() {
	local ns=$1 expr=$2
	shift 2
	ip -n "$ns" -j "$@" | python3 -c "import json,sys; j=json.load(sys.stdin); print($expr)"
}
expect() { # expect WHAT GOT WANT
	[ "$2" = "$3" ] || netns_fail "$1: got '$2', want '$3'"
}

# start NAME ARGS...: runs tr-devtool in $d, waits for "ready", sets $ifname
start() {
	local tag=$1
	shift
	netns_spawn "$d" "$devtool" "$@" >"$tmp/$tag.out" 2>"$tmp/$tag.err"
	pid=$NETNS_LAST_PID
	if ! netns_wait_for 10 grep -q '^ready ' "$tmp/$tag.out"; then
		cat "$tmp/$tag.err" >&2
		netns_fail "$tag: tr-devtool did not get ready"
	fi
	ifname=$(sed -n 's/^ready //p' "$tmp/$tag.out")
}
stop() { # stop TAG: TERM, then tr-devtool must have closed cleanly
	netns_kill "$pid"
	grep -q '^closing' "$tmp/$1.out" || netns_fail "$1: tr-devtool did not close"
	! grep -q '^error' "$tmp/$1.err" || netns_fail "$1: $(cat "$tmp/$1.err")"
}

# 1-3. tun, two queues, configured, verified with iproute2, packets both ways
start tun --name 'tt%d' --queues 2 --mtu 1400 --up \
	--addr 198.19.1.1/24 --addr fd00:1::1/64 --route 198.19.2.0/24 --route fd00:2::/64 \
	--ifup "echo up \$IFNAME > $tmp/hook" --ifdown "echo down \$IFNAME >> $tmp/hook" --echo
expect "name" "$ifname" tt0
expect "kind" "$(json "$d" "j[0]['linkinfo']['info_data']['type']" -d link show "$ifname")" tun
expect "multi-queue" "$(json "$d" "j[0]['linkinfo']['info_data'].get('multi_queue')" \
	-d link show "$ifname")" True
expect "queues" "$(json "$d" "j[0]['linkinfo']['info_data'].get('numqueues')" \
	-d link show "$ifname")" 2
expect "pi" "$(json "$d" "j[0]['linkinfo']['info_data']['pi']" -d link show "$ifname")" False
expect "mtu" "$(json "$d" "j[0]['mtu']" link show "$ifname")" 1400
expect "up" "$(json "$d" "'UP' in j[0]['flags']" link show "$ifname")" True
expect "addresses" "$(json "$d" \
	"sorted(a['local']+'/'+str(a['prefixlen']) for a in j[0]['addr_info'] if a['scope']=='global')" \
	addr show dev "$ifname")" "['198.19.1.1/24', 'fd00:1::1/64']"
expect "v4 route" "$(json "$d" "[r['dst'] for r in j if r.get('protocol')=='static']" \
	-4 route show dev "$ifname")" "['198.19.2.0/24']"
expect "v6 route" "$(json "$d" "[r['dst'] for r in j if r.get('protocol')=='static']" \
	-6 route show dev "$ifname")" "['fd00:2::/64']"
ok "tun: name tt0, 2 queues, IFF_NO_PI, MTU 1400, up, IPv4+IPv6 addresses and routes"
expect "ifup" "$(cat "$tmp/hook")" "up tt0"
ok "ifup ran with IFNAME"
netns_exec "$d" ping -c 3 -i 0.2 -W 2 198.19.2.7 >/dev/null || netns_fail "no echo through the tun"
grep -q 'echoed on queue' "$tmp/tun.err" || netns_fail "tr-devtool saw no echo request"
ok "ping through the tun: read and write on the queues"
stop tun
expect "ifdown" "$(cat "$tmp/hook")" "up tt0
down tt0"
ip -n "$d" link show tt0 >/dev/null 2>&1 && netns_fail "tt0 outlived close"
expect "routes after" "$(ip -n "$d" route show 198.19.2.0/24)" ""
ok "close ran ifdown and removed the device"

# 4. a persistent device survives close: everything we changed must be undone
ip -n "$d" tuntap add mode tun name tpers || netns_fail "ip tuntap add"
ip -n "$d" link set tpers mtu 1300
start pers --name tpers --mtu 1280 --up --addr 198.19.4.1/24 --addr fd00:4::1/64 \
	--route 198.19.5.0/24
expect "mtu while open" "$(json "$d" "j[0]['mtu']" link show tpers)" 1280
# 5. (while it is open) the same name again is taken
netns_exec "$d" "$devtool" --name tpers >/dev/null 2>"$tmp/busy.err" && netns_fail "tpers opened twice"
grep -q "error: device name tpers is taken (a tun device another process has open)" \
	"$tmp/busy.err" || netns_fail "busy: $(cat "$tmp/busy.err")"
stop pers
expect "mtu after" "$(json "$d" "j[0]['mtu']" link show tpers)" 1300
expect "up after" "$(json "$d" "'UP' in j[0]['flags']" link show tpers)" False
expect "addresses after" "$(json "$d" \
	"[a['local'] for a in j[0]['addr_info'] if a['scope']=='global']" addr show dev tpers)" "[]"
expect "route after" "$(ip -n "$d" route show 198.19.5.0/24)" ""
ok "close undid MTU, link state, addresses and routes on a persistent tun"
ok "a tun another process holds is reported as taken"

# 6. tap: Ethernet frames, ARP and ICMP answered by tr-devtool
start tap --tap --name 'tp%d' --up --addr 198.19.3.1/24 --echo
expect "tap kind" "$(json "$d" "j[0]['linkinfo']['info_data']['type']" -d link show "$ifname")" tap
expect "tap link" "$(json "$d" "j[0]['link_type']" link show "$ifname")" ether
netns_exec "$d" ping -c 2 -i 0.2 -W 2 198.19.3.2 >/dev/null || netns_fail "no echo through the tap"
expect "neighbour" "$(json "$d" "j[0]['lladdr']" neigh show 198.19.3.2 dev "$ifname")" \
	02:00:00:00:00:01
stop tap
ok "tap: ARP and ping answered through the device"

# 7. DNS through a resolv.conf file of ours: written, then restored
printf 'nameserver 198.18.0.53\n' >"$tmp/resolv.conf"
start dns --name 'td%d' --dns 198.19.0.53 --dns fd00::53 --domain vpn.test \
	--dns-method file --resolv-conf "$tmp/resolv.conf"
expect "resolv.conf" "$(cat "$tmp/resolv.conf")" "# set by Trellis for $ifname
nameserver 198.19.0.53
nameserver fd00::53
search vpn.test"
stop dns
expect "restored" "$(cat "$tmp/resolv.conf")" "nameserver 198.18.0.53"
[ -e "$tmp/resolv.conf.trellis-backup" ] && netns_fail "backup left behind"
ok "DNS (file method): written, restored, backup removed"

# 8. DNS, automatic method, default path: inside a private mount namespace
# with a tmpfs on /etc, no system bus and no resolvconf in PATH -> the file.
cat >"$tmp/auto.sh" <<SH
set -e
mount -t tmpfs trellis-test /etc
echo 'nameserver 198.18.0.53' > /etc/resolv.conf
"$devtool" --name 'ta%d' --dns 198.19.0.53 --domain auto.test > $tmp/auto.out 2>&1 &
p=\$!
for i in \$(seq 50); do grep -q ready $tmp/auto.out && break; sleep 0.1; done
cat /etc/resolv.conf > $tmp/auto.during
kill -TERM \$p; wait \$p
cat /etc/resolv.conf > $tmp/auto.after
SH
DBUS_SYSTEM_BUS_ADDRESS=unix:path=$tmp/no-bus PATH=/usr/bin:/bin \
	timeout 30 ip netns exec "$d" unshare -m --propagation private sh "$tmp/auto.sh" ||
	netns_fail "auto DNS: $(cat "$tmp/auto.out")"
grep -q '^nameserver 198.19.0.53$' "$tmp/auto.during" || netns_fail "auto DNS: $(cat "$tmp/auto.during")"
grep -q '^search auto.test$' "$tmp/auto.during" || netns_fail "auto DNS: no search line"
expect "auto restored" "$(cat "$tmp/auto.after")" "nameserver 198.18.0.53"
ok "DNS (auto, no resolved, no resolvconf): /etc/resolv.conf in a private mount namespace"

# 9. error paths: clear messages
errcheck() { # errcheck WHAT EXPECTED-LINE CMD...
	local what=$1 want=$2
	shift 2
	"$@" >/dev/null 2>"$tmp/err" && netns_fail "$what: succeeded"
	expect "$what" "$(cat "$tmp/err")" "$want"
}
errcheck "no tun" "error: cannot open $tmp/no-tun: No such file or directory (is the tun module loaded?)" \
	netns_exec "$d" "$devtool" --path "$tmp/no-tun"
ip -n "$d" link add taken0 type veth peer name taken1 || netns_fail "ip link add veth"
errcheck "name taken" "error: device name taken0 is taken (by a device that is not a tun device)" \
	netns_exec "$d" "$devtool" --name taken0
errcheck "tap over tun" "error: device name tpers is taken (by a device that is not a tap device)" \
	netns_exec "$d" "$devtool" --tap --name tpers
errcheck "too long" "error: device name averyveryverylongname is too long (Linux allows 15 characters)" \
	netns_exec "$d" "$devtool" --name averyveryverylongname
if command -v setpriv >/dev/null; then
	# /dev/net/tun is usually 0666 (then TUNSETIFF refuses); where it is
	# not, opening it already fails
	if [ "$(stat -c %A /dev/net/tun | cut -c8-9)" = rw ]; then
		want="error: permission denied: creating tun devices needs CAP_NET_ADMIN"
	else
		want="error: permission denied: cannot open /dev/net/tun (needs root or CAP_NET_ADMIN)"
	fi
	errcheck "no permission" "$want" \
		netns_exec "$d" setpriv --reuid=65534 --regid=65534 --clear-groups \
		--inh-caps=-all --bounding-set=-all "$devtool" --name 'tu%d'
else
	netns_fail "setpriv (util-linux) missing"
fi
errcheck "route down" "error: cannot add route 198.19.6.0/24 via tpers: Network is down (Device for nexthop is not up)" \
	netns_exec "$d" "$devtool" --name tpers --route 198.19.6.0/24
ok "errors: no /dev/net/tun, name taken, wrong kind, too long, no permission, kernel's own reason"
echo "1..$n"
