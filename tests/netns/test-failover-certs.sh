#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Failover between hubs of one CA (issue 19 item 9; docs/MESH.md "Clients
# with several hubs"): hub-a and hub-b joined by their server certificates,
# a client on each with its own client certificate and both hubs in its
# list, one server name per hub. hub-b killed: c2 moves to hub-a (verifying
# hub-a's certificate name, not hub-b's), traffic resumes, and c1 and c2 set
# up a pair session through hub-a; hub-b restarted: it joins hub-a again, c2
# (--failback 2) moves back and the traffic crosses both hubs again. Times
# are printed, not asserted tightly (the machine is shared). Then c3 joins
# with an invite naming both hubs: `trellis join` writes each hub's name,
# and c3 fails over from hub-a to hub-b with that file alone.
#
#   [hub-a] 198.18.1.1 ------------- 198.18.1.2 [hub-b]   pools 198.19.16.0/20, 198.19.32.0/20
#   [c1] 198.18.2.2 -- 198.18.2.1 [hub-a]     [c1] 198.18.3.2 -- 198.18.3.1 [hub-b]
#   [c2] 198.18.4.2 -- 198.18.4.1 [hub-b]     [c2] 198.18.5.2 -- 198.18.5.1 [hub-a]
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
S=$T/pki

pki_init "$S" || fail "pki init"
for x in "hub-a --server" "hub-b --server" c1 c2; do
	pki_issue "$S" $x || fail "issue $x"
done
netns_new ha huba && netns_new hb hubb && netns_new c1 c1 && netns_new c2 c2 &&
	netns_new c3 c3 || fail "netns"
netns_link "$ha" 198.18.1.1/24 "$hb" 198.18.1.2/24 || fail "link"
netns_link "$c1" 198.18.2.2/24 "$ha" 198.18.2.1/24 || fail "link"
netns_link "$c1" 198.18.3.2/24 "$hb" 198.18.3.1/24 || fail "link"
netns_link "$c2" 198.18.4.2/24 "$hb" 198.18.4.1/24 || fail "link"
netns_link "$c2" 198.18.5.2/24 "$ha" 198.18.5.1/24 || fail "link"
netns_link "$c3" 198.18.6.2/24 "$ha" 198.18.6.1/24 || fail "link"
netns_link "$c3" 198.18.7.2/24 "$hb" 198.18.7.1/24 || fail "link"

# hub-a runs on the CA's state directory: it redeems invites.
cert_hub "$ha" hub-a "$S" 198.19.16.0/20 fd00:19:1::/64 --state-dir "$S"
huba_pid=$hub_pid
cert_hub "$hb" hub-b "$S" 198.19.32.0/20 fd00:19:2::/64 -c 198.18.1.1
hubb_pid=$hub_pid
netns_wait_for 20 grep -q "node hub-a connected to" "$T/hub-b.log" || fail "hub-b did not join hub-a"

# c1: its hubs and their names on the command line; c2: in its config file.
cert_client "$c1" c1 -c 198.18.2.1 -c 198.18.3.1 --server-name hub-a --server-name hub-b
cat >"$T/c2.conf" <<CONF
[client]
connect = 198.18.4.1;198.18.5.1
server-name = hub-b;hub-a
failback = 2
CONF
cert_client "$c2" c2 --config "$T/c2.conf"
netns_wait_for 20 grep -q "connected to 198.18.2.1 as" "$T/c1.log" || fail "c1 did not reach hub-a"
netns_wait_for 20 grep -q "connected to 198.18.4.1 as" "$T/c2.log" || fail "c2 did not reach hub-b"
a1=$(hubs_tun_addr "$c1")
netns_wait_for 10 netns_exec "$c2" ping -c 1 -W 1 "$a1" >/dev/null || fail "c2 cannot reach c1 ($a1)"
ok "c2 on hub-b reaches c1 ($a1) on hub-a; the hubs joined by their server certificates"

# hub-b dies (SIGKILL: no goodbye): c2 moves to hub-a, whose certificate
# carries its own name.
t0=$(date +%s%N)
netns_kill_hard "$hubb_pid"
hubs_moved 30 "$T/c2.log" 198.18.5.1 1 "$c2" "$a1" "$t0" ||
	fail "c2 did not fail over to hub-a and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-b killed: c2 connected to hub-a after $t_conn ms, its first ping to c1 answered after $t_ping ms"
b2=$(hubs_tun_addr "$c2")
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$b2" >/dev/null || fail "c1 cannot reach c2 at $b2"
ok "hub-b killed: c2 failed over to hub-a (its certificate name checked) and traffic resumed both ways"
netns_exec "$c1" ping -c 3 -i 0.2 -W 1 "$b2" >/dev/null
netns_wait_for 15 grep -q "pair with c1 established" "$T/c2.log" || fail "c2 and c1 set up no pair after the failover"
grep -h "pair with c1 established" "$T/c2.log" | head -n 1 | sed 's/^/# c2: /'
ok "after the failover c1 and c2 set up a pair session through hub-a"

# hub-b restarted: it joins hub-a again and c2 moves back.
t0=$(date +%s%N)
cert_hub "$hb" hub-b "$S" 198.19.32.0/20 fd00:19:2::/64 -c 198.18.1.1
netns_wait_for 20 sh -c "[ \$(grep -c 'node hub-a connected to' '$T/hub-b.log') -ge 2 ]" ||
	fail "hub-b did not join hub-a again"
t_join=$(ms_since "$t0")
hubs_moved 30 "$T/c2.log" 198.18.4.1 2 "$c2" "$a1" "$t0" ||
	fail "c2 did not move back to hub-b and reach c1 (step $?: 1 connect, 2 ping)"
echo "# hub-b restarted: joined hub-a after $t_join ms, c2 back on it after $t_conn ms, traffic to c1 after $t_ping ms"
c2a=$(hubs_tun_addr "$c2")
netns_wait_for 10 netns_exec "$c1" ping -c 1 -W 1 "$c2a" >/dev/null || fail "c1 cannot reach c2 at $c2a"
st=$("$B/cli/trellis" status --socket "$T/c2.sock") || fail "c2 status: $st"
echo "$st" | grep -q "hubs: 198.18.4.1 (current), 198.18.5.1$" || fail "c2's hubs in status: $st"
ok "hub-b restarted: it joined hub-a again, c2 moved back and c1 and c2 reach each other across both hubs"

# c3 joins with an invite that names both hubs: join asks hub-b for its
# certificate name (with c3's new certificate) and writes one name per hub.
# A third address where nothing listens cannot be asked: it keeps hub-a's
# name, with a warning.
export TRELLIS_CONFIG_DIR=$T/etc
TOKEN=$("$B/cli/trellis" invite c3 --server 198.18.6.1 --server 198.18.7.1 --server 198.18.7.1:3999 --state-dir "$S" 2>"$T/invite.log") ||
	fail "trellis invite: $(cat "$T/invite.log")"
netns_exec "$c3" "$B/cli/trellis" join "$TOKEN" --state-dir "$T/join-c3" >"$T/join.out" 2>&1 ||
	fail "trellis join: $(cat "$T/join.out")"
CF=$TRELLIS_CONFIG_DIR/c3.conf
grep -qx "connect=198.18.6.1:3210;198.18.7.1:3210;198.18.7.1:3999" "$CF" &&
	grep -qx "server-name=hub-a;hub-b;hub-a;" "$CF" ||
	fail "c3.conf does not name each hub: $(cat "$CF")"
grep -q "hubs:  *198.18.6.1:3210 (hub-a), 198.18.7.1:3210 (hub-b), 198.18.7.1:3999 (hub-a)$" "$T/join.out" ||
	fail "join did not print the hubs: $(cat "$T/join.out")"
grep -q "warning: could not ask the hub at 198.18.7.1:3999 for its certificate name (.*refused.*); the configuration gives it the name 'hub-a'" "$T/join.out" ||
	fail "join did not warn about the hub it could not ask: $(cat "$T/join.out")"
grep -q "closed the session: trellis join: read this hub's certificate name" "$T/hub-b.log" ||
	fail "hub-b did not log join's question"
ok "join with an invite naming hub-a and hub-b: c3.conf has each hub's certificate name (a silent address: warned)"

netns_spawn "$c3" "$B/client/trellis-client" --config "$CF" --control-socket "$T/c3.sock" >>"$T/c3.log" 2>&1
netns_wait_for 20 grep -q "connected to 198.18.6.1:3210 as" "$T/c3.log" || fail "c3 did not reach hub-a"
netns_wait_for 10 netns_exec "$c3" ping -c 1 -W 1 "$c2a" >/dev/null || fail "c3 cannot reach c2 ($c2a)"
t0=$(date +%s%N)
netns_kill_hard "$huba_pid"
hubs_moved 30 "$T/c3.log" 198.18.7.1:3210 1 "$c3" "$c2a" "$t0" ||
	fail "c3 did not fail over to hub-b and reach c2 (step $?: 1 connect, 2 ping)"
echo "# hub-a killed: c3 (configured by join) connected to hub-b after $t_conn ms, its first ping to c2 answered after $t_ping ms"
ok "hub-a killed: c3 failed over to hub-b with the file join wrote (hub-b's name checked)"
tap_plan
