#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Clients with several hubs (issue 19 item 5, docs/MESH.md "Clients with
# several hubs"): two hubs of one network (shared key, joined with
# --connect), a client on each. c2 is given both hubs; when its hub dies it
# moves to the other at once and its traffic resumes; with --failback it
# moves back once its hub is restarted. A hub that refuses a client (another
# network's key) is skipped for the next one. Times are printed, not asserted
# tightly (the machine is shared).
#
#   [hub-1] 198.18.1.1 ------------- 198.18.1.2 [hub-2]     pools 198.19.16.0/20, 198.19.32.0/20
#   [c1] 198.18.3.2 -- 198.18.3.1 [hub-1]   (hub-x, another key, on 198.18.3.1:3300)
#   [c2] 198.18.4.2 -- 198.18.4.1 [hub-2]
#   [c2] 198.18.5.2 -- 198.18.5.1 [hub-1]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"

netns_new h1 hub1 && netns_new h2 hub2 && netns_new c1 c1 && netns_new c2 c2 || fail "netns"
netns_link "$h1" 198.18.1.1/24 "$h2" 198.18.1.2/24 || fail "link"
netns_link "$c1" 198.18.3.2/24 "$h1" 198.18.3.1/24 || fail "link"
netns_link "$c2" 198.18.4.2/24 "$h2" 198.18.4.1/24 || fail "link"
c2_to_hub2=$NETNS_IFA
netns_link "$c2" 198.18.5.2/24 "$h1" 198.18.5.1/24 || fail "link"

# Keepalives every 2 s, sessions timed out after 6 s: a silent hub is left soon.
FAST_TIMEOUTS="--keepalive 2 --peer-timeout 6"
hub "$h1" hub-1 198.19.16.0/20 fd00:19:1::/64 hub1.log $FAST_TIMEOUTS
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log $FAST_TIMEOUTS -c 198.18.1.1
hub2_pid=$NETNS_LAST_PID
netns_wait_for 20 grep -q "node hub-1 connected to" "$T/hub2.log" || fail "hub-2 did not join hub-1"
# hub-x: a hub of another network (another key) in front of hub-1 in c1's list.
mkdir -p "$T/state-x"
netns_spawn "$h1" "$B/server/trellis-server" --shared-key "another network's key" --listen 3300 \
	--control-socket "$T/hub-x.sock" --state-dir "$T/state-x" --pool 198.19.64.0/20 \
	--pool6 fd00:19:9::/64 >"$T/hubx.log" 2>&1
netns_wait_for 10 grep -q "listening" "$T/hubx.log" || fail "hub-x did not start"

# c1 reads its hubs from a config file, as trellis join and the tray's
# networks have them.
cat >"$T/c1.conf" <<CONF
[client]
connect = 198.18.3.1:3300;198.18.3.1
shared-key = $KEY
name = c1
CONF
chmod 600 "$T/c1.conf"
netns_spawn "$c1" "$B/client/trellis-client" --config "$T/c1.conf" --control-socket "$T/c1.sock" \
	>"$T/c1.log" 2>&1
client "$c2" c2 198.18.4.1 c2.log -c 198.18.5.1 --failback 2 --control-socket "$T/c2.sock"
netns_wait_for 20 grep -q "connected to 198.18.3.1 as" "$T/c1.log" || fail "c1 did not reach hub-1"
grep -q "hub 198.18.3.1:3300 refused us" "$T/c1.log" || fail "c1 did not say hub-x refused it"
grep "refused us" "$T/c1.log" | head -n 1 | sed 's/^/# c1: /'
st=$("$B/cli/trellis" status --socket "$T/c1.sock" --json) || fail "c1 status: $st"
echo "$st" | grep -q '"hub":"198.18.3.1:3300","current":false,"refused":true' || fail "c1's status: $st"
ok "a hub that refuses the client (another network's key) is skipped for the next (both from its config file)"

netns_wait_for 20 grep -q "connected to 198.18.4.1 as" "$T/c2.log" || fail "c2 did not reach hub-2"
a1=$(hubs_tun_addr "$c1")
a2=$(hubs_tun_addr "$c2")
case $a2 in 198.19.3[2-9].* | 198.19.4[0-7].*) ;; *) fail "c2's address $a2 is not from hub-2's pool" ;; esac
netns_wait_for 10 netns_exec "$c2" ping -c 1 -W 1 "$a1" >/dev/null || fail "c2 cannot reach c1 ($a1)"
ok "c2 on hub-2 reaches c1 ($a1) on hub-1 through both hubs"

# hub-2 dies (SIGKILL: no goodbye): c2 moves to hub-1 at once.
t0=$(date +%s%N)
netns_kill_hard "$hub2_pid"
hubs_moved 30 "$T/c2.log" 198.18.5.1 1 "$c2" "$a1" "$t0" ||
	fail "c2 did not fail over to hub-1 and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-2 killed: c2 connected to hub-1 after $t_conn ms, its first ping to c1 answered after $t_ping ms"
b2=$(hubs_tun_addr "$c2")
case $b2 in 198.19.1[6-9].* | 198.19.2[0-9].* | 198.19.3[01].*) ;; *) fail "c2's address $b2 is not from hub-1's pool" ;; esac
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$b2" >/dev/null || fail "c1 cannot reach c2 at $b2"
ok "hub-2 killed: c2 failed over to hub-1 and traffic resumed; c1 reaches it at its new address $b2"
# Both on hub-1 now: their traffic makes hub-1 introduce them (the mesh),
# and they set up a pair session with each other.
netns_exec "$c1" ping -c 3 -i 0.2 -W 1 "$b2" >/dev/null
netns_wait_for 15 grep -q "pair with psk:c1 established" "$T/c2.log" || fail "c2 and c1 set up no pair after the failover"
grep -h "pair with psk:c1 established" "$T/c2.log" | head -n 1 | sed 's/^/# c2: /'
ok "after the failover c1 and c2 find each other as pair peers through hub-1"

# hub-2 restarted: c2 (--failback 2) sees it answer and moves back.
t0=$(date +%s%N)
hub "$h2" hub-2 198.19.32.0/20 fd00:19:2::/64 hub2.log $FAST_TIMEOUTS -c 198.18.1.1
netns_wait_for 30 grep -q "hub 198.18.4.1 answers again" "$T/c2.log" || fail "c2 did not check hub-2 again"
hubs_moved 30 "$T/c2.log" 198.18.4.1 2 "$c2" "$a1" "$t0" ||
	fail "c2 did not move back to hub-2 and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-2 restarted: c2 back on it after $t_conn ms, traffic to c1 after $t_ping ms"
c2a=$(hubs_tun_addr "$c2")
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$c2a" >/dev/null || fail "c1 cannot reach c2 at $c2a"
st=$("$B/cli/trellis" status --socket "$T/c2.sock" --json) || fail "c2 status: $st"
echo "$st" | grep -q '"hub":"198.18.4.1","current":true' || fail "c2's status: $st"
st=$("$B/cli/trellis" status --socket "$T/c2.sock") || fail "c2 status: $st"
echo "$st" | grep -q "hubs: 198.18.4.1 (current), 198.18.5.1$" || fail "c2's hubs in status: $st"
echo "$st" | grep "hubs:" | sed 's/^ */# c2 status: /'
ok "hub-2 restarted: c2 moved back (--failback) and reaches c1, c1 reaches it at $c2a"
# c2's path to hub-2 goes silent (its link down: no FIN, no RST): its
# session times out (the hub's --peer-timeout 6) and it moves to hub-1;
# the path back, and failback moves it back.
t0=$(date +%s%N)
ip -n "$c2" link set "$c2_to_hub2" down || fail "link down"
hubs_moved 30 "$T/c2.log" 198.18.5.1 2 "$c2" "$a1" "$t0" ||
	fail "c2 did not fail over when hub-2 went silent and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-2 silent: c2 on hub-1 after $t_conn ms (peer timeout 6 s), traffic to c1 after $t_ping ms"
t0=$(date +%s%N)
ip -n "$c2" link set "$c2_to_hub2" up || fail "link up"
hubs_moved 30 "$T/c2.log" 198.18.4.1 3 "$c2" "$a1" "$t0" ||
	fail "c2 did not move back once hub-2 answered again and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-2 reachable again: c2 back on it and reaching c1 after $t_ping ms"
ok "hub-2 silent (link down): c2's session timed out, it moved to hub-1 and back once hub-2 answered"
tap_plan
