#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The tray's desktop files, AppStream metainfo and the polkit actions, as
# built (translations merged): each validated by its own tool, and German
# present in each.
set -u
B=$TR_BUILD_ROOT/data
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "not ok - $*"; exit 1; }
for tool in desktop-file-validate appstreamcli xmllint; do
	command -v "$tool" >/dev/null || { echo "SKIP: $tool is not installed (scripts/install-deps.sh)"; exit 77; }
done
for f in org.trellisvpn.Tray.desktop trellis-tray.desktop; do
	out=$(desktop-file-validate "$B/$f" 2>&1) || fail "$f: $out"
	[ -z "$out" ] || fail "$f: $out"
	grep -q '^Name\[de\]=Trellis-VPN$' "$B/$f" || fail "$f: no German name"
done
grep -q '^X-GNOME-Autostart-enabled=true$' "$B/trellis-tray.desktop" || fail "autostart entry not enabled"
ok "desktop-file-validate: launcher and autostart entry, with German"
appstreamcli validate --no-net --pedantic "$B/org.trellisvpn.Tray.metainfo.xml" ||
	fail "metainfo does not validate"
grep -q 'xml:lang="de"' "$B/org.trellisvpn.Tray.metainfo.xml" || fail "metainfo: no German"
ok "appstreamcli validate: metainfo, with German"
# polkit's own DTD is not shipped: check it is well-formed, names the three
# actions the daemons ask for, and carries German messages.
xmllint --noout "$B/org.trellisvpn.policy" || fail "polkit policy is not well-formed XML"
for action in org.trellisvpn.network.connect org.trellisvpn.network.disconnect \
	org.trellisvpn.daemon.reload; do
	grep -q "<action id=\"$action\">" "$B/org.trellisvpn.policy" || fail "no action $action"
	grep -q "^#define TR_ACTION_[A-Z]* *\"$action\"" "$TR_SOURCE_ROOT/common/daemon/bus-auth.h" ||
		fail "$action is not one the daemons ask for"
done
grep -q 'xml:lang="de">Zum Verbinden des VPN-Netzes $(network)' "$B/org.trellisvpn.policy" ||
	fail "polkit policy: no German message"
# Join is checked by pkexec: the action must name the installed trellis.
grep -A12 '<action id="org.trellisvpn.network.join">' "$B/org.trellisvpn.policy" |
	grep -q '<annotate key="org.freedesktop.policykit.exec.path">/.*/trellis</annotate>' ||
	fail "the join action does not name the trellis program for pkexec"
ok "polkit policy: well-formed, the daemons' three actions and join (exec.path for pkexec), German messages"
