#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Pair sessions between real daemons (issue 17, docs/MESH.md), over real NAT
# routers (tests/lib/nat.sh): the hub introduces two clients when it
# forwards traffic between them, carries their TLS handshake, and each
# client verifies the other end to end; `trellis status` lists the pair.
#
#                 [hub] 198.18.10.2 (pool 198.19.100.0/24)
#                   |
#   [r1 cone] -- [internet] -- [r2 cone]
#    a 198.19.1.2                b 198.19.2.2
#
#   1. a pings b's tunnel address: the hub introduces a and b; both verify
#      the other's certificate and agree on keys; the ping works; both go
#      direct (cone NATs punched) and 200 pings no longer cross the hub's link
#   2b. the internet drops UDP between the routers during a paced TCP
#      transfer: back through the hub, then direct again; SHA-256 matches
#   2. `trellis status --json` on both lists the pair (peer, established,
#      certificate); the text status too
#   2c'. symmetric + cone: relayed (what the NAT lab predicts)
#   2d. UDP blocked for one client: relayed over TCP (RELAY messages); new
#      candidates of the peer reach it
#   2e. same NAT: the LAN path; 2f. --no-direct: relayed all the same
#   3. a client whose certificate is revoked after it connected: its peer
#      refuses it, with the reason, and says so; the hub backs off
#   4. b leaves: a's pair ends with the reason
#   5. with --no-mesh, nothing of it happens; with --no-client-to-client neither
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
S=$T/pki
. "$TR_SOURCE_ROOT/tests/lib/mesh.sh"
. "$TR_SOURCE_ROOT/tests/lib/transfer.sh"
command -v tcpdump >/dev/null || netns_skip "tcpdump is not installed"
# Step 2d blocks a client's UDP: its hub session is over TLS only.
MESH_CLIENT_READY="connected to"

mesh_pki a a2 b c d || fail "pki"
# The hub keeps its own copy of the revocation list (step 4 revokes b for a only).
cp "$S/crl.pem" "$T/hub-crl.pem" || fail "crl"
mesh_lab four || fail "lab"
hub_if=$(nat_wan_if "$hub")

# 1. Introduced on traffic, verified end to end. a replaces its pairs' keys every
# 3 s (step 2b checks it happened under traffic, both ways).
mesh_hub "$hub" hub.log --crl "$T/hub-crl.pem"
mesh_client "$a" a a.log --pair-rekey-interval 3
pa=$client_pid
mesh_client "$b" b b.log
pb=$client_pid
ab=$(mesh_client_addr b.log)
[ -n "$ab" ] || fail "no tunnel address for b"
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$ab" >/dev/null || fail "a cannot ping b at $ab"
netns_wait_for 10 grep -q "pair with b established (certificate" "$T/a.log" || fail "a: no pair with b"
netns_wait_for 10 grep -q "pair with a established (certificate" "$T/b.log" || fail "b: no pair with a"
grep -q "pair [0-9a-f]*: introducing a and b" "$T/hub.log" || fail "the hub did not say it introduced a and b"
grep -q "we are the TLS client" "$T/a.log" && grep -q "we are the TLS server" "$T/b.log" ||
	fail "roles: the sender of the first packet is the TLS client"
[ "$(grep -c "introducing" "$T/hub.log")" = 1 ] || fail "introduced more than once"
netns_exec "$b" ping -c 2 -i 0.2 -W 2 "$(mesh_client_addr a.log)" >/dev/null || fail "b cannot ping a"
sleep 0.5
[ "$(grep -c "introducing" "$T/hub.log")" = 1 ] || fail "b's answer started a second pair"
ok "a pings b: the hub introduced them once; each verified the other's certificate"

# 1b. Direct: both cone NATs punched; the pair's traffic no longer crosses the hub.
netns_wait_for 10 grep -q "pair with b: direct to 198.18.2.2:" "$T/a.log" || fail "a: no direct path to b"
netns_wait_for 10 grep -q "pair with a: direct to 198.18.1.2:" "$T/b.log" || fail "b: no direct path to a"
hub_rx() { mesh_status hub | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["dataplane"]["rx_datagrams"])'; }
before=$(hub_rx)
mesh_capture "$hub" "$hub_if" "$T/hub.pcap" udp
netns_exec "$a" ping -c 200 -i 0.01 -W 2 -q "$ab" >"$T/ping.txt" || fail "a cannot ping b directly: $(cat "$T/ping.txt")"
sleep 0.5
netns_kill "$cap_pid"
after=$(hub_rx)
crossed=$(mesh_captured "$T/hub.pcap")
[ $((after - before)) -lt 20 ] && [ "$crossed" -lt 20 ] ||
	fail "200 pings crossed the hub: its data plane received $((after - before)) datagrams, its link saw $crossed UDP packets"
ok "direct within seconds ($(grep -o 'direct to .*' "$T/a.log" | head -n 1)); 200 pings a -> b: the hub's link saw $crossed UDP packets, its data plane $((after - before)) datagrams"

# 2. Seen in the status.
[ "$(mesh_pair a 'p["peer"], p["state"], p["auth"], p["role"], p["path"], p["endpoint"].startswith("198.18.2.2:"), p["tx_packets"] >= 200, 0 < p["rtt_us"] < 1000000')" = "('b', 'established', 'certificate', 'tls-client', 'direct', True, True, True)" ] ||
	fail "a's status: $(mesh_status a)"
[ "$(mesh_pair b 'p["peer"], p["state"], p["role"], p["addresses"][0]')" = "('a', 'established', 'tls-server', '$(mesh_client_addr a.log)/32')" ] ||
	fail "b's status: $(mesh_status b)"
"$B/cli/trellis" status --socket "$T/a.sock" >"$T/a-status.txt" 2>&1 || fail "trellis status"
grep -q "peer b: established, certificate" "$T/a-status.txt" && grep -q "path direct 198.18.2.2:[0-9]*, rtt [0-9.]* ms" "$T/a-status.txt" &&
	grep -q "sent [0-9]* bytes, received [0-9]* bytes" "$T/a-status.txt" || fail "text status: $(cat "$T/a-status.txt")"
ok "trellis status (JSON and text) lists the pair: peer, state, how it was authenticated, path, endpoint, RTT ($(grep -o 'rtt [0-9.]* ms' "$T/a-status.txt")), bytes"

# 2b. The direct path breaks under a running TCP transfer (the internet drops UDP
# between the two routers): back through the hub within seconds; when it passes
# again, direct again; the transfer's SHA-256 matches.
transfer_recv "$b" "$ab" 120
transfer_send "$a" "$ab" 120 3000000 100000
sleep 2
t0=$(date +%s.%N)
nat_cut_udp 198.18.1.2 198.18.2.2 || fail "nft"
netns_wait_for 15 grep -q "pair with b: relayed through the hub (the direct path stopped answering)" "$T/a.log" ||
	fail "a did not fall back to the relay"
t1=$(date +%s.%N)
nat_mend_udp || fail "nft delete"
netns_wait_for 45 sh -c "[ \$(grep -c 'pair with b: direct to' '$T/a.log') -ge 2 ]" || fail "a did not go direct again"
t2=$(date +%s.%N)
transfer_check 60
ea=$(mesh_pair a 'p["epoch"]')
eb=$(mesh_pair b 'p["epoch"]')
[ "$ea" -ge 5 ] && [ $((ea - eb)) -le 1 ] && [ $((eb - ea)) -le 1 ] || fail "pair keys: a at epoch $ea, b at $eb (a rekeys every 3 s)"
ok "direct path cut during a TCP transfer: relayed through the hub after $(echo "$t1 - $t0" | bc) s, direct again $(echo "$t2 - $t1" | bc) s after it passed; 3 MB, SHA-256 matches; the pair rekeyed under it (epochs $ea and $eb)"

# 2c. Two symmetric NATs: no direct path; relayed through the hub, the frames
# leave the hub byte for byte as they came.
mesh_client "$c" c c.log
pc=$client_pid
mesh_client "$d" d d.log
pd=$client_pid
ad=$(mesh_client_addr d.log)
mesh_capture "$hub" "$hub_if" "$T/relay.pcap" udp port 3210
netns_exec "$c" ping -c 2 -i 0.2 -W 2 "$ad" >/dev/null || fail "c cannot ping d"
netns_wait_for 10 grep -q "pair with d: relayed through the hub (no direct path yet)" "$T/c.log" || fail "c: not relayed"
netns_exec "$c" ping -c 200 -i 0.01 -W 2 -q "$ad" >"$T/ping2.txt" || fail "relayed ping: $(cat "$T/ping2.txt")"
sleep 0.5
netns_kill "$cap_pid"
! grep -q "pair with d: direct" "$T/c.log" || fail "c went direct through two symmetric NATs?"
[ "$(mesh_pair c 'p["path"], p["tx_packets"] >= 200')" = "('relayed', True)" ] || fail "c's status: $(mesh_status c)"
python3 "$TR_SOURCE_ROOT/tests/netns/pcap-relay.py" "$T/relay.pcap" 198.18.10.2 3210 >"$T/pcap.out" ||
	fail "relay frames changed at the hub: $(cat "$T/pcap.out")"
ok "symmetric + symmetric: relayed, 200 pings c -> d ($(grep -o "[0-9]* received, [0-9.]*% packet loss" "$T/ping2.txt")); $(cat "$T/pcap.out")"

# 2c'. Symmetric (c) + cone (b): c's probes leave r3 from a port nobody saw (a new
# one per destination), and r2 lets in only answers to what b sent; b's probes
# go to the port r3 opened for the hub only. No direct path: relayed, and it
# stays so through a whole punch burst (10 s).
netns_exec "$c" ping -c 3 -i 0.2 -W 2 -q "$ab" >/dev/null || fail "c cannot ping b"
netns_wait_for 10 grep -q "pair with b: relayed through the hub (no direct path yet)" "$T/c.log" || fail "c-b: not relayed"
netns_exec "$c" ping -c 110 -i 0.1 -W 2 -q "$ab" >"$T/ping4.txt" || fail "sym+cone ping: $(cat "$T/ping4.txt")"
! grep -q "pair with b: direct" "$T/c.log" && ! grep -q "pair with c: direct" "$T/b.log" || fail "c-b went direct: $(grep 'pair with [bc]: direct' "$T/c.log" "$T/b.log")"
ok "symmetric + cone: relayed for the whole punch burst, as the NAT lab predicts ($(grep -o "[0-9]* received" "$T/ping4.txt") of 110 pings)"
netns_kill "$pc"
netns_kill "$pd"

# 2d. UDP blocked for one client: its hub session falls back to TLS, and its
# pair is relayed over TCP: its sealed datagrams travel in RELAY messages on
# that TLS stream; the hub forwards them unchanged (it has no key to open
# them) to the other client over UDP, and the other way round.
nat_block_udp "$r3" || fail "block UDP at r3"
mesh_client "$c" c c2.log
pc=$client_pid
mesh_client "$d" d d2.log
pd=$client_pid
sleep 2
[ "$(mesh_status c | python3 -c 'import json,sys; print(json.load(sys.stdin)[0].get("path"))')" = tcp ] ||
	fail "c's hub session is not on TLS: $(mesh_status c)"
hub_mesh() { mesh_status hub | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["mesh"]["relayed"])'; }
relayed0=$(hub_mesh)
netns_exec "$c" ping -c 3 -i 0.2 -W 2 -q "$(mesh_client_addr d2.log)" >/dev/null || fail "c cannot ping d"
netns_wait_for 10 grep -q "pair with d: relayed through the hub over TCP (no direct path yet)" "$T/c2.log" ||
	fail "c's pair is not relayed over TCP: $(grep 'pair with' "$T/c2.log")"
netns_exec "$c" ping -c 20 -i 0.1 -W 2 -q "$(mesh_client_addr d2.log)" >"$T/ping3.txt"
got=$(sed -n 's/.* \([0-9]*\) received.*/\1/p' "$T/ping3.txt")
[ "${got:-0}" -ge 19 ] || fail "UDP blocked for c: $(cat "$T/ping3.txt")"
[ "$(mesh_pair c 'p["path"], p["tx_packets"] >= 20, p["rx_packets"] >= 20')" = "('tcp', True, True)" ] || fail "c's status: $(mesh_status c)"
[ "$(mesh_pair d 'p["path"]')" = relayed ] || fail "d's status: $(mesh_status d)"
relayed=$(($(hub_mesh) - relayed0))
[ "$relayed" -ge 40 ] || fail "the hub relayed $relayed frames for 20 pings"
# d gets a new address: the hub passes d's new candidates to c, whose relayed pair
# probes them at once.
dif=$(ip -n "$d" -o -4 addr show | awk '/198.19.4.2\// {print $2}')
ip -n "$d" addr add 198.19.4.9/24 dev "$dif" || fail "address for d"
netns_wait_for 10 grep -q "pair with d: the peer's candidates changed; probing" "$T/c2.log" ||
	fail "c was not given d's new candidates: $(grep 'addresses changed' "$T/d2.log")"
ok "UDP blocked for c: its pair is relayed over TCP ($got of 20 pings answered; c's path tcp, d's relayed; the hub relayed $relayed frames unchanged)"
netns_kill "$pc"
netns_kill "$pd"
nat_unblock_udp "$r3"

# 2e. Two clients behind the same NAT (which does not hairpin): they find the
# LAN path through their host candidates.
mesh_client "$a2" a2 a2.log
pa2=$client_pid
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$(mesh_client_addr a2.log)" >/dev/null || fail "a cannot ping a2"
netns_wait_for 10 grep -q "pair with a2: direct to 198.19.1.3:" "$T/a.log" || fail "a: no LAN path to a2: $(grep 'pair with a2' "$T/a.log")"
netns_wait_for 10 grep -q "pair with a: direct to 198.19.1.2:" "$T/a2.log" || fail "a2: no LAN path to a"
ok "same NAT: $(grep -o 'pair with a2: direct to .*' "$T/a.log" | head -n 1)"
netns_kill "$pa2"

# 2f. --no-direct on a2: the hub gives neither side the other's candidates; their
# pair stays relayed, though the LAN path is there.
netns_wait_for 10 grep -q "pair with a2 ended" "$T/a.log" || fail "a's pair with a2 did not end"
mesh_client "$a2" a2 a2-nd.log --no-direct
pa2=$client_pid
netns_exec "$a" ping -c 30 -i 0.1 -W 2 -q "$(mesh_client_addr a2-nd.log)" >"$T/ping5.txt" || fail "a cannot ping a2 (--no-direct)"
netns_wait_for 10 grep -q "pair with a: relayed through the hub (direct paths are off (--no-direct))" "$T/a2-nd.log" || fail "a2: not relayed: $(grep "pair with" "$T/a2-nd.log")"
[ "$(grep -c "pair with a2: direct" "$T/a.log")" = 1 ] && ! grep -q "pair with a: direct" "$T/a2-nd.log" || fail "--no-direct went direct"
[ "$(mesh_pair a2 'p["path"]')" = relayed ] || fail "a2's status: $(mesh_status a2)"
ok "--no-direct: relayed although a LAN path exists ($(grep -o "[0-9]* received" "$T/ping5.txt") of 30 pings)"
netns_kill "$pa2"

# 3. b leaves: a's pair ends, with the reason.
netns_kill "$pb"
netns_wait_for 10 grep -q "pair with b ended: b left" "$T/a.log" || fail "a's pair did not end when b left"
[ "$(mesh_status a | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["pairs"]))')" = 0 ] ||
	fail "a still lists the pair: $(mesh_status a)"
ok "b left: the hub ended the pair and a says why"

# 4. A revoked peer: the other side refuses it end to end, even though the hub
# (whose copy of the list is older) still takes it.
netns_kill "$pa"
mkdir -p "$T/keep" && cp "$S/issued/b.crt" "$S/issued/b.key" "$T/keep/" || fail "keep b's files"
$B/cli/trellis pki revoke b --state-dir "$S" >/dev/null || fail "revoke b"
cp "$T/keep/b.crt" "$T/keep/b.key" "$S/issued/" || fail "b's files back"
mesh_client "$a" a a2.log --crl "$S/crl.pem"
pa=$client_pid
mesh_client "$b" b b2.log
pb=$client_pid
netns_exec "$a" ping -c 2 -i 0.2 -W 1 "$(mesh_client_addr b2.log)" >/dev/null || fail "a cannot reach b through the hub"
netns_wait_for 10 grep -q "pair with b failed: .*revoked" "$T/a2.log" || fail "a did not refuse the revoked b"
netns_wait_for 10 grep -q "pair with a failed\|pair with a ended" "$T/b2.log" || fail "b was not told"
# Traffic goes on through the hub; the failed pair is not tried again every 10 s.
intro=$(grep -c "introducing a and b" "$T/hub.log")
netns_exec "$a" ping -c 24 -i 0.5 -W 1 -q "$(mesh_client_addr b2.log)" >/dev/null || fail "a cannot reach b through the hub"
[ "$(grep -c "introducing a and b" "$T/hub.log")" = "$intro" ] || fail "the hub introduced the refused pair again within 12 s"
ok "a refused the revoked b end to end ($(grep -o 'pair with b failed: .*' "$T/a2.log" | head -n 1)); b: $(grep -o 'pair with a \(failed\|ended\): .*' "$T/b2.log" | head -n 1)"
netns_kill "$pb"
netns_kill "$pa"
netns_kill "$hub_pid"

# 5. With --no-mesh, and with --no-client-to-client: nothing of it.
$B/cli/trellis pki issue b2 --state-dir "$S" >/dev/null || fail "issue b2"
mesh_hub "$hub" hub-off.log --crl "$T/hub-crl.pem" --no-mesh
mesh_client "$a" a a-off.log
pa=$client_pid
mesh_client "$b" b2 b-off.log
pb=$client_pid
netns_exec "$a" ping -c 3 -i 0.2 -W 2 "$(mesh_client_addr b-off.log)" >/dev/null || fail "no ping with --no-mesh"
sleep 1
! grep -q "pair" "$T/a-off.log" "$T/b-off.log" "$T/hub-off.log" || fail "pairs with --no-mesh"
ok "--no-mesh: clients talk through the hub, no pair"
netns_kill "$pa"
netns_kill "$pb"
netns_kill "$hub_pid"
mesh_hub "$hub" hub-noc2c.log --crl "$T/hub-crl.pem" --no-client-to-client
mesh_client "$a" a a-noc2c.log
pa=$client_pid
mesh_client "$b" b2 b-noc2c.log
pb=$client_pid
! netns_exec "$a" ping -c 2 -i 0.2 -W 1 "$(mesh_client_addr b-noc2c.log)" >/dev/null 2>&1 || fail "client-to-client traffic with --no-client-to-client"
sleep 1
! grep -q "pair" "$T/a-noc2c.log" "$T/b-noc2c.log" "$T/hub-noc2c.log" || fail "pairs with --no-client-to-client"
ok "--no-client-to-client: no traffic between clients, no pair"
netns_kill "$pa"
netns_kill "$pb"
netns_kill "$hub_pid"
tap_plan
