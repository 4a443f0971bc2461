#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Running as a service: --daemon returns only once the device is configured
# (non-zero when startup fails), the pid file, the switch to --user/--group
# keeping only CAP_NET_ADMIN, the stats file, and systemd's READY/STOPPING
# notifications over $NOTIFY_SOCKET.
#
#   [hub] 198.18.1.1 ---- 198.18.1.2 [c1]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
id nobody >/dev/null 2>&1 || netns_skip "no user 'nobody'"
S=$T/state
R=$T/run
# Shared by root and nobody, like /tmp: the hub (root, but with only
# CAP_NET_ADMIN once running) and the client (nobody) each write their own files.
mkdir -p "$R" && chmod 1777 "$R" && chmod 755 "$T"

netns_new hub hub && netns_new c1 c1 || fail "netns"
netns_link "$hub" 198.18.1.1/24 "$c1" 198.18.1.2/24 || fail "link"
pki_network "$S" c1 || fail "pki"

# The hub as a daemon: the command returns once it listens, the pid file names it.
cat >"$T/notify.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(sys.argv[1]); s.settimeout(30)
with open(sys.argv[2], "a") as out:
    while True:
        try: msg = s.recv(4096).decode()
        except socket.timeout: break
        out.write(msg.replace("\n", " ") + "\n"); out.flush()
        if "STOPPING=1" in msg: break
PY
netns_spawn "$hub" python3 "$T/notify.py" "$R/notify.sock" "$T/notify.out"
netns_wait_for 5 test -S "$R/notify.sock" || fail "notify socket"
NOTIFY_SOCKET=$R/notify.sock netns_exec "$hub" "$B/server/trellis-server" --daemon --pid-file "$R/hub.pid" \
	--ca "$S/ca.crt" --cert "$S/issued/hub.crt" --key "$S/issued/hub.key" --state-dir "$S" \
	--stats-file "$R/hub-stats.json" --stats-interval 1 --control-socket "$R/hub.sock" \
	--ifup "echo up \$IFNAME > $R/ifup" --ifdown "echo down \$IFNAME > $R/ifdown" \
	>"$T/hub-start.log" 2>&1 || fail "hub --daemon failed"
hub_pid=$(cat "$R/hub.pid") || fail "no pid file"
NETNS_PIDS+=("$hub_pid")
kill -0 "$hub_pid" || fail "the pid file names no live process"
ip -n "$hub" link show trellis0 >/dev/null || fail "the hub returned before its device existed"
[ "$(ps -o ppid= -p "$hub_pid" | tr -d ' ')" = 1 ] || [ "$(ps -o sid= -p "$hub_pid" | tr -d ' ')" = "$hub_pid" ] ||
	fail "the daemon is still attached"
netns_wait_for 5 grep -q "READY=1 STATUS=listening on port 3210" "$T/notify.out" || fail "no READY=1 to systemd"
[ "$(cat "$R/ifup" 2>/dev/null)" = "up trellis0" ] || fail "ifup did not run with IFNAME"
ok "hub --daemon: returned once listening (ifup ran), pid file $hub_pid, READY=1 sent"

# A client as a daemon dropping to nobody: returns once configured.
netns_exec "$c1" "$B/client/trellis-client" --daemon --pid-file "$R/c1.pid" --user nobody \
	-c 198.18.1.1 --server-name hub --ca "$S/ca.crt" --cert "$S/issued/c1.crt" --key "$S/issued/c1.key" \
	--stats-file "$R/c1-stats.json" --stats-interval 1 --control-socket "$R/c1.sock" \
	>"$T/c1-start.log" 2>&1 || fail "client --daemon failed"
c1_pid=$(cat "$R/c1.pid") || fail "no client pid file"
NETNS_PIDS+=("$c1_pid")
ip -n "$c1" -4 -o addr show dev trellis0 | grep -q 198.19.0. || fail "returned before the pushed address was applied"
netns_exec "$c1" ping -c 2 -i 0.2 -W 2 198.19.0.1 >/dev/null || fail "no ping through the daemonized client"
ok "client --daemon: returned once the device had its pushed address; ping works"

uid=$(awk '/^Uid:/{print $2}' /proc/"$c1_pid"/status)
gid=$(awk '/^Gid:/{print $2}' /proc/"$c1_pid"/status)
capeff=$(awk '/^CapEff:/{print $2}' /proc/"$c1_pid"/status)
capprm=$(awk '/^CapPrm:/{print $2}' /proc/"$c1_pid"/status)
[ "$uid" = "$(id -u nobody)" ] && [ "$gid" = "$(id -g nobody)" ] || fail "runs as $uid:$gid, not nobody"
[ "$capeff" = 0000000000001000 ] && [ "$capprm" = 0000000000001000 ] || fail "capabilities eff $capeff prm $capprm"
ok "client runs as nobody ($uid:$gid) with only CAP_NET_ADMIN (CapEff $capeff)"
hub_caps=$(awk '/^CapEff:/{print $2}' /proc/"$hub_pid"/status)
[ "$(awk '/^Uid:/{print $2}' /proc/"$hub_pid"/status)" = 0 ] && [ "$hub_caps" = 0000000000001000 ] ||
	fail "the hub (root, no --user) kept capabilities $hub_caps"
ok "without --user, the hub stays root but keeps only CAP_NET_ADMIN (CapEff $hub_caps)"
# Capabilities are per thread: every thread must hold at most what the main
# thread kept -- the data-plane workers (they follow within their 250 ms
# poll) and GLib's own threads (gmain for signals, gdbus), which must start
# after the drop (issue 16, item 10).
check_threads() {
	local pid=$1 want=$2 t caps
	for t in /proc/"$pid"/task/*; do
		caps=$(awk '/^CapEff:/{print $2}' "$t/status")
		(( (16#$caps & ~16#$want) == 0 )) || { echo "thread ${t##*/} ($(cat "$t/comm")) has CapEff $caps"; return 1; }
	done
}
netns_wait_for 3 check_threads "$hub_pid" 0000000000001000 >/dev/null ||
	fail "a hub thread kept more than CAP_NET_ADMIN: $(check_threads "$hub_pid" 0000000000001000)"
netns_wait_for 3 check_threads "$c1_pid" 0000000000001000 >/dev/null ||
	fail "a client thread kept more than CAP_NET_ADMIN: $(check_threads "$c1_pid" 0000000000001000)"
[ "$(grep -l gmain /proc/"$hub_pid"/task/*/comm | wc -l)" -ge 1 ] || fail "no gmain thread in the hub: nothing was checked"
ok "every thread of both daemons (data-plane workers, GLib's gmain) holds at most CAP_NET_ADMIN ($(ls /proc/"$hub_pid"/task | wc -l) and $(ls /proc/"$c1_pid"/task | wc -l) threads)"

netns_wait_for 5 test -s "$R/c1-stats.json" || fail "no client stats file"
netns_wait_for 5 test -s "$R/hub-stats.json" || fail "no hub stats file"
[ "$(stat -c %a "$R/hub-stats.json")" = 640 ] && [ "$(stat -c %a "$R/c1-stats.json")" = 640 ] ||
	fail "stats files are $(stat -c %a "$R/hub-stats.json") and $(stat -c %a "$R/c1-stats.json"), not 640"
python3 - "$R/hub-stats.json" "$R/c1-stats.json" <<'PY' || fail "stats files wrong"
import json, sys
hub = json.load(open(sys.argv[1])); c1 = json.load(open(sys.argv[2]))
assert hub["role"] == "hub" and len(hub["peers"]) == 1, hub
p = hub["peers"][0]
assert p["identity"] == "c1" and p["kind"] == "client", p
assert p["addresses"][0].startswith("198.19.0."), p
assert p["rx_packets"] >= 2 and p["tx_packets"] >= 2, p
assert c1["state"] == "connected" and c1["identity"] == "c1", c1
assert c1["path"] in ("udp", "tcp") and c1["cipher"], c1
PY
ok "stats files (mode 0640): JSON with the session's identity, address, path, cipher and counters"

# trellis status over the control sockets (D-Bus, peer to peer).
$B/cli/trellis status --json --socket "$R/hub.sock" --socket "$R/c1.sock" >"$T/status.json" 2>"$T/status.log" ||
	fail "trellis status --json failed: $(cat "$T/status.log")"
python3 - "$T/status.json" <<'PY' || fail "trellis status --json: wrong content"
import json, sys
hub, c1 = json.load(open(sys.argv[1]))
assert hub["role"] == "hub" and hub["peers"][0]["identity"] == "c1", hub
p = hub["peers"][0]
assert p["path"] == "udp" and p["rx_packets"] > 0 and p["cipher"] in ("aes256-gcm", "chacha20-poly1305"), p
assert c1["role"] == "client" and c1["state"] == "connected" and c1["addresses"][0] == p["addresses"][0], c1
PY
$B/cli/trellis status --dir "$R" >"$T/status.txt" || fail "trellis status failed"
grep -q "client c1" "$T/status.txt" && grep -q "path: UDP direct" "$T/status.txt" && grep -q "client: connected" "$T/status.txt" ||
	fail "trellis status: $(cat "$T/status.txt")"
ok "trellis status (and --json) over the control sockets shows both ends of the live tunnel"

# Startup that fails: the daemon's parent says why and exits non-zero.
netns_exec "$c1" "$B/client/trellis-client" --daemon -c 198.18.1.1 --server-name wrong-name \
	--ca "$S/ca.crt" --cert "$S/issued/c1.crt" --key "$S/issued/c1.key" -d tbad%d >"$T/bad.log" 2>&1 &&
	fail "a failing daemon start returned 0"
grep -q "name does not match" "$T/bad.log" || fail "the parent did not say why: $(cat "$T/bad.log")"
ok "client --daemon with a wrong server name: exits 1 with the reason"

kill -TERM "$hub_pid"
netns_wait_for 10 sh -c "! kill -0 $hub_pid 2>/dev/null" || fail "hub did not stop on SIGTERM"
[ -e "$R/hub.pid" ] && fail "pid file left behind"
[ -e "$R/hub.sock" ] && fail "control socket left behind"
[ "$(cat "$R/ifdown" 2>/dev/null)" = "down trellis0" ] || fail "ifdown did not run"
ip -n "$hub" link show trellis0 >/dev/null 2>&1 && fail "hub device left behind"
netns_wait_for 5 grep -q "STOPPING=1" "$T/notify.out" || fail "no STOPPING=1"
ok "SIGTERM: hub stopped, ifdown ran, pid file and device removed, STOPPING=1 sent"
tap_plan
