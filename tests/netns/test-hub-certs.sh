#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Hubs of one CA join with their server certificates (issue 19, item 1):
# hub-b --connect hub-a is taken (each checked the other's is a server
# certificate of the CA, with the CRL); refused, with the reason logged:
# a "hub" holding a client certificate of the CA, a hub whose certificate is
# revoked, and a hub of another CA.
#
#   [hub-b] 198.18.1.2 --+                     pools: hub-a 198.19.16.0/20
#   [hub-x] 198.18.2.2 --+-- [hub-a]                  hub-b 198.19.32.0/20, ...
#   [hub-r] 198.18.3.2 --+   198.18.{1,2,3,4}.1
#   [hub-o] 198.18.4.2 --+
set -u
. "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/pki.sh"
. "$TR_SOURCE_ROOT/tests/lib/hubs.sh"
S=$T/pki
O=$T/other

pki_init "$S" || fail "pki init"
for h in hub-a hub-b hub-r; do
	pki_issue "$S" "$h" --server || fail "issue $h"
done
pki_issue "$S" hub-x || fail "issue hub-x (client)"
# hub-r keeps its copy of what revoking moves away.
R=$T/revoked && mkdir -p "$R/issued" && cp "$S/ca.crt" "$R/" && cp "$S"/issued/hub-r.* "$R/issued/" ||
	fail "copy hub-r"
"$B/cli/trellis" pki revoke hub-r --state-dir "$S" >/dev/null || fail "revoke hub-r"
pki_init "$O" --network other && pki_issue "$O" hub-o --server || fail "the other CA"

netns_new ha huba && netns_new hb hubb && netns_new hx hubx && netns_new hr hubr &&
	netns_new ho hubo || fail "netns"
i=0
for ns in "$hb" "$hx" "$hr" "$ho"; do
	i=$((i + 1))
	netns_link "$ha" "198.18.$i.1/24" "$ns" "198.18.$i.2/24" || fail "link"
done

cert_hub "$ha" hub-a "$S" 198.19.16.0/20 fd00:19:1::/64

cert_hub "$hb" hub-b "$S" 198.19.32.0/20 fd00:19:2::/64 -c 198.18.1.1
netns_wait_for 20 grep -q "node hub-a connected to" "$T/hub-b.log" || fail "hub-b did not join hub-a"
netns_wait_for 10 grep -q "node hub-b connected from" "$T/hub-a.log" || fail "hub-a did not take hub-b"
netns_wait_for 10 netns_exec "$hb" ping -c 1 -W 1 198.19.16.1 >/dev/null || fail "hub-b cannot reach hub-a's address"
netns_wait_for 10 sh -c "'$B/cli/trellis' status --socket '$T/hub-a.sock' | grep -q 'hub-b (hub): reachable, next hop hub-b'" ||
	fail "hub-b not in hub-a's graph: $("$B/cli/trellis" status --socket "$T/hub-a.sock")"
ok "hubs of one CA join with their server certificates: linked, in each other's graph, addresses reachable"

# A client certificate of the CA cannot pose as a hub.
cert_hub "$hx" hub-x "$S" 198.19.48.0/20 fd00:19:3::/64 -c 198.18.2.1
want="'hub-x' presented a client certificate; hubs join hubs with their server certificates"
netns_wait_for 20 grep -qF "$want" "$T/hub-a.log" || fail "hub-a did not refuse hub-x's client certificate"
netns_wait_for 10 grep -qF "$want" "$T/hub-x.log" || fail "hub-x was not told why"
grep -F "$want" "$T/hub-a.log" | head -n 1 | sed 's/^/# hub-a: /'

# A revoked hub certificate (the CRL) and one of another CA: refused in TLS.
cert_hub "$hr" hub-r "$R" 198.19.64.0/20 fd00:19:4::/64 -c 198.18.3.1
cert_hub "$ho" hub-o "$O" 198.19.80.0/20 fd00:19:5::/64 -c 198.18.4.1
netns_wait_for 20 grep -q "refused 198.18.3.2.*certificate revoked (subject hub-r)" "$T/hub-a.log" ||
	fail "hub-a did not refuse the revoked hub-r"
netns_wait_for 20 grep -q "refused 198.18.4.2.*unknown CA.*subject hub-o" "$T/hub-a.log" ||
	fail "hub-a did not refuse hub-o of another CA"
grep -E "refused 198.18.(3|4).2" "$T/hub-a.log" | head -n 2 | sed 's/^/# hub-a: /'
for h in hub-x hub-r hub-o; do
	grep -q "connected to" "$T/$h.log" && fail "$h was linked"
done
st=$("$B/cli/trellis" status --socket "$T/hub-a.sock")
echo "$st" | grep -q "graph: hub-a, 1 other node known" || fail "hub-a's graph has more than hub-b: $st"
ok "refused with the reason: a client certificate posing as a hub, a revoked hub certificate, a hub of another CA"
tap_plan
