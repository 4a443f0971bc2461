#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Debian packages as a user gets them, on this machine (root, Debian 12):
# builds them (dpkg-buildpackage, in a scratch copy of the tree), lints them,
# installs them with the README's own command, runs the README's "A first
# network" -- every command, as written -- with the hub and the laptop in two
# network namespaces, from the installed files only (/usr/sbin, /etc/trellis,
# /var/lib/trellis, the installed units), checks the installed layout (the
# tray's launcher, autostart entry, metainfo and icons, the polkit actions in
# /usr/share/polkit-1/actions among it), runs the README's from-source install
# into a scratch root and its quick start, then purges the packages and checks
# that nothing is left behind. (The README's last command, ./scripts/test.sh,
# is what runs this.)
#
#   [hub] 198.18.4.1 ---- 198.18.4.2 [laptop]     tunnel 198.19.0.0/24 (the default pool)
#
# The two share this machine's /usr; the laptop gets its own /etc/trellis,
# /var/lib/trellis and /run/trellis (bind mounts in a private mount
# namespace), as a second machine would have.
#
# systemd is not process 1 in CI containers: `systemctl` is
# tests/package/systemctl-shim there, which runs the installed unit's
# ExecStart= line as the unit's User=/Group= with its capabilities (setpriv),
# makes its StateDirectory=/RuntimeDirectory= and waits for READY=1 as
# systemd would. The daemons run as the packages' system user _trellis: the
# test checks that they do, with CAP_NET_ADMIN only, that the state they and
# the admin tool write belongs to that user, that they own their names on a
# private system bus through the installed bus policy, that polkitd (run on
# that bus) answers them for a caller that is not root, and that a hub with
# PAM checks a local account's password once given the group shadow by the
# drop-in the docs show. Purge leaves the user, as Debian does; the test then
# removes it if it made it.
set -u
TR_SOURCE_ROOT=${TR_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
export TR_SOURCE_ROOT
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
# The README's commands use the real /run/trellis, /var/lib/trellis and
# /etc/trellis, not the helper's scratch ones.
unset TRELLIS_CONTROL_DIR TRELLIS_STATE_DIR TRELLIS_CONFIG_DIR
T=$(netns_tmpdir)
README=$TR_SOURCE_ROOT/README.md
PKGS="trellis trellis-server trellis-client network-manager-trellis network-manager-trellis-gnome trellis-tray"
APT="apt-get -o DPkg::Lock::Timeout=600 -y -q"
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() {
	echo "not ok - $*"
	for f in "$T"/*.log "$T"/shim/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 30 "$f"; }; done
	exit 1
}
leftovers() { # every path outside /tmp and /work named like ours
	find /etc /usr /var /run /lib/ -xdev \( -iname '*trellis*' -o -iname 'org.trellisvpn*' \) \
		-not -path '/var/cache/*' -not -path '/var/log/*' 2>/dev/null | sort
}

for p in $PKGS; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		netns_skip "$p is installed on this machine already; the test installs and purges its own"
	fi
done
[ ! -e /etc/trellis ] && [ ! -e /var/lib/trellis ] ||
	netns_skip "/etc/trellis or /var/lib/trellis exists: this machine has a Trellis of its own"
leftovers >"$T/before.txt"
DUSER=_trellis
had_user=0
getent passwd $DUSER >/dev/null && had_user=1
PAMUSER=trt$$pam
remove_test_users() { # the PAM test's account; the system user if the test made it
	getent passwd "$PAMUSER" >/dev/null && userdel "$PAMUSER"
	rm -rf /etc/systemd/system/trellis-server@.service.d/test-shadow.conf
	rmdir /etc/systemd/system/trellis-server@.service.d 2>/dev/null
	if [ "$had_user" = 0 ] && ! dpkg-query -W -f='${Status}' trellis 2>/dev/null | grep -q 'ok installed'; then
		getent passwd $DUSER >/dev/null && userdel $DUSER
		getent group $DUSER >/dev/null && groupdel $DUSER
	fi
	return 0
}

# ---- build and lint ---------------------------------------------------------------
mkdir -p "$T/deb/src"
if git -C "$TR_SOURCE_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$TR_SOURCE_ROOT" && git ls-files -z -co --exclude-standard | tar --null -T - -c)
else
	tar -C "$TR_SOURCE_ROOT" --exclude='./build*' --exclude=./.git -c .
fi | tar -x -C "$T/deb/src" || fail "copying the source tree"
[ -f "$T/deb/src/debian/control" ] || fail "no debian/ in the copied tree"
(cd "$T/deb/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -b -us -uc) \
	>"$T/build.log" 2>&1 || fail "dpkg-buildpackage failed"
ls "$T"/deb/*.deb >"$T/debs.txt" || fail "no packages built"
ok "dpkg-buildpackage -b: $(wc -l <"$T/debs.txt") packages ($(cd "$T/deb" && ls ./*.deb | grep -vc dbgsym) without the dbgsym ones)"

lintian --allow-root --fail-on error,warning --display-info "$T"/deb/*.changes >"$T/lintian.log" 2>&1 ||
	fail "lintian: $(cat "$T/lintian.log")"
ok "lintian: no errors or warnings$( [ -s "$T/lintian.log" ] && echo " ($(wc -l <"$T/lintian.log") info lines)")"

# Whatever happens from here on, the machine is left as it was found: the
# packages purged and the files the README's commands wrote removed.
installed=0
purge_on_exit() {
	[ "$installed" = 1 ] || { remove_test_users; return 0; }
	rm -f /etc/trellis/hub.conf /etc/trellis/laptop.conf
	# shellcheck disable=SC2086
	$APT purge $PKGS >>"$T/purge-on-exit.log" 2>&1 </dev/null
	remove_test_users
}
trap 'purge_on_exit; netns_cleanup; exit' EXIT

# ---- install with the README's commands ----------------------------------------------
sed -n 's/^# \(apt install .*\)$/\1/p' "$README" >"$T/install-cmds.txt"
[ "$(wc -l <"$T/install-cmds.txt")" = 3 ] || fail "expected three '# apt install' lines in the README: $(cat "$T/install-cmds.txt")"
installed=1
while read -r install_cmd; do
	for f in ${install_cmd#apt install }; do
		[ -f "$T/deb/$f" ] || fail "the README installs $f, which the build did not make ($(cat "$T/debs.txt"))"
	done
	# shellcheck disable=SC2086
	(cd "$T/deb" && DEBIAN_FRONTEND=noninteractive $APT install ${install_cmd#apt install } </dev/null) >>"$T/install.log" 2>&1 ||
		fail "$install_cmd: $(tail -n 20 "$T/install.log")"
done <"$T/install-cmds.txt"
ok "installed with the README's commands: $(tr '\n' ';' <"$T/install-cmds.txt")"

# The layout every document promises.
for f in /usr/bin/trellis /usr/sbin/trellis-server /usr/sbin/trellis-client \
	/lib/systemd/system/trellis-server@.service /lib/systemd/system/trellis-client@.service \
	/usr/lib/tmpfiles.d/trellis.conf /usr/lib/sysusers.d/trellis.conf /etc/pam.d/trellis \
	/usr/share/dbus-1/system.d/org.trellisvpn.Daemon.conf \
	/usr/share/polkit-1/rules.d/org.trellisvpn.rules \
	/usr/share/bash-completion/completions/trellis \
	/usr/share/bash-completion/completions/trellis-server \
	/usr/share/bash-completion/completions/trellis-client \
	/usr/share/doc/trellis/examples/server.conf; do
	[ -e "$f" ] || fail "not installed: $f"
done
[ -d /etc/trellis ] || fail "no /etc/trellis"
# The system user (sysusers), made before the directories that are its (tmpfiles).
pw=$(getent passwd $DUSER) || fail "no user $DUSER after install (systemd-sysusers did not run?)"
IFS=: read -r _ _ duid dgid _ dhome dshell <<<"$pw"
[ "$duid" -lt 1000 ] && [ "$dshell" = /usr/sbin/nologin ] && [ "$dhome" = /var/lib/trellis ] ||
	fail "$DUSER is not a system user without a shell, at home in /var/lib/trellis: $pw"
[ "$(getent group $DUSER | cut -d: -f3)" = "$dgid" ] || fail "$DUSER's group: $(getent group $DUSER)"
case $(getent shadow $DUSER | cut -d: -f2) in '!'* | '*'*) ;; *) fail "$DUSER has a password" ;; esac
postinst=/var/lib/dpkg/info/trellis.postinst
su_line=$(grep -n "systemd-sysusers" $postinst | head -n 1 | cut -d: -f1)
tf_line=$(grep -n "systemd-tmpfiles" $postinst | head -n 1 | cut -d: -f1)
[ -n "$su_line" ] && [ -n "$tf_line" ] && [ "$su_line" -lt "$tf_line" ] ||
	fail "trellis.postinst does not run systemd-sysusers before systemd-tmpfiles"
[ "$(stat -c %U:%G:%a /var/lib/trellis)" = $DUSER:$DUSER:700 ] || fail "/var/lib/trellis: $(stat -c %U:%G:%a /var/lib/trellis 2>&1) (tmpfiles did not run?)"
[ "$(stat -c %U:%G /run/trellis)" = $DUSER:$DUSER ] || fail "/run/trellis: $(stat -c %U:%G /run/trellis 2>&1)"
for role in server client; do
	unit=/lib/systemd/system/trellis-$role@.service
	for line in User=$DUSER Group=$DUSER "AmbientCapabilities=CAP_NET_ADMIN CAP_BPF" \
		"CapabilityBoundingSet=CAP_NET_ADMIN CAP_BPF" NoNewPrivileges=yes "SystemCallFilter=@system-service bpf"; do
		grep -qx "$line" "$unit" || fail "$unit: no $line"
	done
done
grep -q "<policy user=\"$DUSER\">" /usr/share/dbus-1/system.d/org.trellisvpn.Daemon.conf || fail "the bus policy does not let $DUSER own the daemons' names"
for m in trellis trellis-server trellis-client; do man -w "$m" >/dev/null 2>&1 || fail "no man page for $m"; done
grep -q "^ExecStart=/usr/sbin/trellis-server --config /etc/trellis/%i.conf$" \
	/lib/systemd/system/trellis-server@.service || fail "server unit's ExecStart"
grep -q "^ExecStart=/usr/sbin/trellis-client --config /etc/trellis/%i.conf$" \
	/lib/systemd/system/trellis-client@.service || fail "client unit's ExecStart"
trellis-server --help | grep -q -- "--state-dir=DIR .*(default: [^)]*/var/lib/trellis)" || fail "server's default state directory"
trellis join --help | grep -q "/etc/trellis" || fail "join's configuration directory"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify trellis-server@hub.service trellis-client@laptop.service >"$T/verify.log" 2>&1 ||
		fail "systemd-analyze verify: $(cat "$T/verify.log")"
fi
bash -c '. /usr/share/bash-completion/completions/trellis-server
	COMP_WORDS=(trellis-server --state); COMP_CWORD=1; _trellis_daemon; [ "${COMPREPLY[*]}" = --state-dir ]' ||
	fail "bash completion of trellis-server --state"
# The NetworkManager plugin: what its .name file points at is there and loads.
name=/usr/lib/NetworkManager/VPN/nm-trellis-service.name
[ -f "$name" ] || fail "no $name"
for f in $(sed -n 's/^\(program\|plugin\|auth-dialog\)=//p' "$name"); do
	[ -e "$f" ] || fail "$name names $f, which is not installed"
	! ldd "$f" | grep -q "not found" || fail "$f: $(ldd "$f" | grep "not found")"
done
[ -f /usr/share/dbus-1/system.d/nm-trellis-service.conf ] || fail "no bus policy for the NetworkManager service"
ok "layout: programs, units (ExecStart on /etc/trellis/NAME.conf, User=$DUSER, CAP_NET_ADMIN, and CAP_BPF to give up after start), system user $DUSER (uid $duid, nologin; sysusers before tmpfiles), tmpfiles (/var/lib/trellis 0700 and /run/trellis, both $DUSER's), PAM, D-Bus policy, man pages, completion, NetworkManager plugin (.name file, service, plugin, auth dialog)"

# The tray and what the daemons' side ships for it: the launcher and the
# autostart entry valid and naming what is installed, the metainfo valid, the
# icons, the German catalogue, the polkit actions where polkitd reads them
# (with the join action naming the installed trellis for pkexec).
launcher=/usr/share/applications/org.trellisvpn.Tray.desktop
autostart=/etc/xdg/autostart/trellis-tray.desktop
policy=/usr/share/polkit-1/actions/org.trellisvpn.policy
metainfo=/usr/share/metainfo/org.trellisvpn.Tray.metainfo.xml
for f in /usr/bin/trellis-tray "$launcher" "$autostart" "$policy" "$metainfo" \
	/usr/share/icons/hicolor/scalable/apps/org.trellisvpn.Tray.svg \
	/usr/share/icons/hicolor/scalable/status/trellis-tray-connected-symbolic.svg \
	/usr/share/locale/de/LC_MESSAGES/trellis.mo; do
	[ -e "$f" ] || fail "not installed: $f"
done
[ "$(dpkg-query -S "$policy" | cut -d: -f1)" = trellis ] || fail "$policy is not in the package trellis: $(dpkg-query -S "$policy")"
! ldd /usr/bin/trellis-tray | grep -q "not found" || fail "trellis-tray: $(ldd /usr/bin/trellis-tray | grep "not found")"
/usr/bin/trellis-tray --help >"$T/tray-help.out" 2>&1 || fail "trellis-tray --help: $(cat "$T/tray-help.out")"
man -w trellis-tray >/dev/null 2>&1 || fail "no man page for trellis-tray"
for f in "$launcher" "$autostart"; do
	out=$(desktop-file-validate "$f" 2>&1) && [ -z "$out" ] || fail "desktop-file-validate $f: $out"
	[ "$(sed -n 's/^Exec=//p' "$f")" = trellis-tray ] || fail "$f: Exec= is not trellis-tray"
	icon=$(sed -n 's/^Icon=//p' "$f")
	[ -e "/usr/share/icons/hicolor/scalable/apps/$icon.svg" ] || fail "$f: Icon=$icon is not installed"
done
appstreamcli validate --no-net "$metainfo" >"$T/metainfo.log" 2>&1 || fail "appstreamcli validate $metainfo: $(cat "$T/metainfo.log")"
xmllint --noout "$policy" || fail "$policy is not well-formed"
for action in org.trellisvpn.network.connect org.trellisvpn.network.disconnect \
	org.trellisvpn.daemon.reload org.trellisvpn.network.join; do
	grep -q "<action id=\"$action\">" "$policy" || fail "$policy: no action $action"
done
grep -q '<annotate key="org.freedesktop.policykit.exec.path">/usr/bin/trellis</annotate>' "$policy" ||
	fail "$policy: the join action does not name /usr/bin/trellis"
[ "$(grep -c "<annotate key=\"org.freedesktop.policykit.owner\">unix-user:$DUSER</annotate>" "$policy")" = 3 ] ||
	fail "$policy: connect, disconnect and reload do not name $DUSER as their owner (polkitd would not answer the daemons)"
ldd /usr/sbin/trellis-client | grep -q libpolkit-gobject-1 || fail "trellis-client is not built with polkit"
msgunfmt /usr/share/locale/de/LC_MESSAGES/trellis.mo | grep -q '^msgstr "Beenden"$' || fail "no German in trellis.mo"
ok "tray: trellis-tray runs (--help), launcher and autostart entry pass desktop-file-validate, metainfo appstreamcli, icons, German catalogue, man page; polkit actions in $policy (package trellis; join names /usr/bin/trellis), daemons built with polkit"

# ---- the README's first network, as written -----------------------------------------
netns_new hub hub && netns_new lap laptop || fail "netns"
netns_link "$hub" 198.18.4.1/24 "$lap" 198.18.4.2/24 || fail "link"
mkdir -p "$T/shim/bin"
cp "$TR_SOURCE_ROOT/tests/package/systemctl-shim" "$T/shim/bin/systemctl"
[ -d /run/systemd/system ] || export PATH="$T/shim/bin:$PATH"
export SYSTEMCTL_SHIM_DIR=$T/shim
L=$T/laptop-root
# The laptop's state and runtime directories as its own tmpfiles would make them.
mkdir -p "$L/etc" "$L/var" "$L/run" && chmod 700 "$L/var" && chown $DUSER:$DUSER "$L/var" "$L/run" ||
	fail "laptop directories"
# The daemons are not root: they reach the notify sockets under $T.
chmod 711 "$T"

# A system bus of the test's own, with the installed bus policies (the
# daemons export their control interface there: the shim sets INVOCATION_ID
# as systemd does), and polkitd on it with the installed actions and rules
# plus one rule of the test's, in a private mount namespace: nobody (a
# stand-in for the desktop user) may connect and disconnect.
sed -e "s|<listen>.*</listen>|<listen>unix:path=$T/system_bus_socket</listen>|" \
	-e "s|<includedir>system.d</includedir>|<includedir>/usr/share/dbus-1/system.d</includedir>|" \
	-e '/<user>\|<fork\/>\|<pidfile>\|<syslog\/>\|<servicehelper>\|<standard_system_servicedirs\/>/d' \
	/usr/share/dbus-1/system.conf >"$T/system.conf" || fail "bus configuration"
dbus-daemon --nofork --config-file="$T/system.conf" >"$T/system-bus.log" 2>&1 &
NETNS_PIDS+=($!)
export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$T/system_bus_socket
netns_wait_for 10 test -S "$T/system_bus_socket" || fail "the test's system bus did not start"
mkdir -p "$T/pk-rules"
cat >"$T/pk-rules/50-trellis-test.rules" <<'JS'
polkit.addRule(function(action, subject) {
    if ((action.id == "org.trellisvpn.network.connect" ||
         action.id == "org.trellisvpn.network.disconnect") && subject.user == "nobody")
        return polkit.Result.YES;
});
JS
chmod -R a+rX "$T/pk-rules"
unshare -m --propagation private sh -c 'mount --bind "$1" /etc/polkit-1/rules.d && exec /usr/lib/polkit-1/polkitd --no-debug' \
	sh "$T/pk-rules" >"$T/polkitd.log" 2>&1 &
NETNS_PIDS+=($!)
bus() { gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus --method "$@"; }
netns_wait_for 15 bash -c "$(declare -f bus); bus org.freedesktop.DBus.NameHasOwner org.freedesktop.PolicyKit1 | grep -q true" ||
	fail "polkitd did not start: $(cat "$T/polkitd.log")"
on() { # on hub|laptop COMMAND: a shell command on that "machine"
	if [ "$1" = hub ]; then
		ip netns exec "$hub" bash -c "$2"
	else
		ip netns exec "$lap" unshare -m bash -c "mount --bind $L/etc /etc/trellis &&
			mount --bind $L/var /var/lib/trellis && mount --bind $L/run /run/trellis && $2"
	fi
}
shim_pids() { cat "$T"/shim/*.pid 2>/dev/null; }
cleanup_daemons() { for p in $(shim_pids); do netns_kill "$p"; done; }
trap 'cleanup_daemons; purge_on_exit; netns_cleanup; exit' EXIT

# The section's commands: "hub# ..." and "laptop# ..." lines in its code blocks.
python3 - "$README" >"$T/readme-cmds.txt" <<'PY' || fail "cannot read the README's commands"
import re, sys
text = open(sys.argv[1]).read()
section = re.search(r"^## A first network\n(.*?)(?=^## )", text, re.S | re.M).group(1)
for block in re.findall(r"^```\n(.*?)^```", section, re.S | re.M):
    for line in block.splitlines():
        m = re.match(r"^(hub|laptop)# (.*)$", line)
        if not m:
            sys.exit("not a command line in a block of 'A first network': " + line)
        print(m.group(1) + "\t" + m.group(2))
PY
[ "$(wc -l <"$T/readme-cmds.txt")" -ge 6 ] || fail "too few commands in the README: $(cat "$T/readme-cmds.txt")"
TOKEN=
i=0
while IFS=$'\t' read -r who cmd; do
	i=$((i + 1))
	cmd=${cmd//hub.example.net/198.18.4.1}
	cmd=${cmd//TOKEN/$TOKEN}
	timeout -k 5 60 bash -c "$(declare -f on); hub=$hub lap=$lap L=$L on $who \"\$1\"" _ "$cmd" \
		>"$T/readme-$i.out" 2>"$T/readme-$i.err" ||
		fail "README command $i ($who# $cmd) failed: $(cat "$T/readme-$i.out" "$T/readme-$i.err")"
	case $cmd in
	"trellis invite "*) TOKEN=$(tail -n 1 "$T/readme-$i.out") ;;
	"trellis join "*)
		grep -q "systemctl enable --now trellis-client@laptop" "$T/readme-$i.out" ||
			fail "join did not end with the README's next command: $(cat "$T/readme-$i.out")" ;;
	"trellis status"*)
		grep -q "client: connected" "$T/readme-$i.out" || fail "status on the laptop: $(cat "$T/readme-$i.out")" ;;
	esac
	echo "# $who# $cmd"
done <"$T/readme-cmds.txt"
[ -n "$TOKEN" ] || fail "the README never ran trellis invite"
[ -f /var/lib/trellis/ca.key ] && [ -f /etc/trellis/hub.conf ] && [ -f "$L/var/laptop.key" ] &&
	[ -f "$L/var/ca.crt" ] && [ -f "$L/etc/laptop.conf" ] ||
	fail "the hub's CA, the laptop's key or its configuration is not where the README says"
on hub "trellis status" >"$T/hub-status.out" 2>&1 || fail "trellis status on the hub"
grep -q "client laptop" "$T/hub-status.out" || fail "the hub's status does not show laptop: $(cat "$T/hub-status.out")"
ok "README 'A first network': $i commands as written, hub and laptop in namespaces, ping through the tunnel"

# Who the daemons are: $DUSER, CAP_NET_ADMIN and nothing more, no way to more.
# The units grant CAP_BPF as well, for loading the express queue's steering
# program at start: each daemon loaded it and then gave CAP_BPF up (only the
# bounding set, which nothing can use under NoNewPrivileges, still names it).
for unit in trellis-server@hub trellis-client@laptop; do
	pid=$(cat "$T/shim/$unit.pid")
	[ "$(ps -o user= -p "$pid" | tr -d ' ')" = $DUSER ] || fail "$unit runs as $(ps -o user= -p "$pid"), not $DUSER"
	for f in CapEff CapPrm CapAmb; do
		[ "$(sed -n "s/^$f:\t//p" /proc/"$pid"/status)" = 0000000000001000 ] ||
			fail "$unit: $f is $(sed -n "s/^$f:\t//p" /proc/"$pid"/status), not CAP_NET_ADMIN alone"
	done
	[ "$(sed -n "s/^CapBnd:\t//p" /proc/"$pid"/status)" = 0000008000001000 ] ||
		fail "$unit: CapBnd is $(sed -n "s/^CapBnd:\t//p" /proc/"$pid"/status), not CAP_NET_ADMIN and CAP_BPF"
	grep -q "^NoNewPrivs:.1" /proc/"$pid"/status || fail "$unit: NoNewPrivs is not set"
	grep -q "an express queue for short packets" "$T/shim/$unit.log" ||
		fail "$unit: no express queue under the unit: $(grep -h "express" "$T/shim/$unit.log")"
done
# The state, whoever wrote it (the hub's first run, trellis invite and trellis
# join as root), is the user's; the keys are for it alone.
for d in /var/lib/trellis "$L/var"; do
	other=$(find "$d" \! -user $DUSER -printf '%p %u\n')
	[ -z "$other" ] || fail "in $d, not $DUSER's: $other"
done
[ "$(stat -c %U:%a /var/lib/trellis/ca.key)" = $DUSER:600 ] || fail "ca.key: $(stat -c %U:%a /var/lib/trellis/ca.key)"
[ "$(stat -c %U:%a "$L/var/laptop.key")" = $DUSER:600 ] || fail "laptop.key: $(stat -c %U:%a "$L/var/laptop.key")"
ok "hub and laptop run as $DUSER with CAP_NET_ADMIN only (effective, permitted, ambient; CAP_BPF given up after loading the express queue's program, which both did), NoNewPrivs; trellis status as root reads them; every file in both state directories is $DUSER's, keys 0600"

# The system bus: each daemon owns its network's name as $DUSER (the
# installed policy); anyone reads its state (the tray); nobody else may own
# such a name; and a Disconnect from a user who is not root reaches polkitd
# through the daemon (the actions' owner annotation) and is carried out.
for net in hub laptop; do
	netns_wait_for 10 bash -c "$(declare -f bus); bus org.freedesktop.DBus.NameHasOwner org.trellisvpn.Daemon.n$net | grep -q true" ||
		fail "org.trellisvpn.Daemon.n$net is not on the bus: $(grep -h "system bus" "$T"/shim/*.log)"
	owner=$(bus org.freedesktop.DBus.GetConnectionUnixUser org.trellisvpn.Daemon.n$net | sed -n 's/.*uint32 \([0-9]*\).*/\1/p')
	[ "$owner" = "$duid" ] || fail "org.trellisvpn.Daemon.n$net is owned by uid $owner, not $DUSER ($duid)"
done
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
lap_state() {
	as_nobody gdbus call --system --dest org.trellisvpn.Daemon.nlaptop --object-path /org/trellisvpn/Daemon/laptop \
		--method org.freedesktop.DBus.Properties.Get org.trellisvpn.Daemon1 State
}
lap_state | grep -q "'connected'" || fail "the laptop's State, read by nobody: $(lap_state 2>&1)"
out=$(as_nobody gdbus call --system --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
	--method org.freedesktop.DBus.RequestName org.trellisvpn.Daemon.nimpostor 4 2>&1) &&
	fail "nobody could own org.trellisvpn.Daemon.nimpostor: $out"
echo "$out" | grep -q AccessDenied || fail "RequestName by nobody: $out"
as_nobody gdbus call --system --dest org.trellisvpn.Daemon.nlaptop --object-path /org/trellisvpn/Daemon/laptop \
	--method org.trellisvpn.Daemon1.Disconnect '' >"$T/bus-disconnect.out" 2>&1 ||
	fail "Disconnect by nobody over the bus: $(cat "$T/bus-disconnect.out")"
netns_wait_for 10 bash -c "$(declare -f as_nobody lap_state); ! lap_state | grep -q \"'connected'\"" ||
	fail "still connected after Disconnect: $(lap_state 2>&1)"
as_nobody gdbus call --system --dest org.trellisvpn.Daemon.nlaptop --object-path /org/trellisvpn/Daemon/laptop \
	--method org.trellisvpn.Daemon1.Connect >"$T/bus-connect.out" 2>&1 ||
	fail "Connect by nobody over the bus: $(cat "$T/bus-connect.out")"
netns_wait_for 15 bash -c "$(declare -f as_nobody lap_state); lap_state | grep -q \"'connected'\"" ||
	fail "not connected again after Connect: $(lap_state 2>&1)"
on laptop "ping -c 1 -W 5 198.19.0.1" >/dev/null || fail "no ping after Connect over the bus"
ok "system bus: org.trellisvpn.Daemon.nhub and .nlaptop owned by $DUSER (uid $duid), State readable by nobody, nobody refused a name of ours, Disconnect and Connect by nobody authorized by polkitd for the $DUSER daemon, ping again"

# trellis down / up on the installed units, then down for good.
on laptop "trellis down laptop" >"$T/down.out" 2>&1 || fail "trellis down laptop: $(cat "$T/down.out")"
[ -e "$L/run/trellis-client-laptop.sock" ] && fail "client control socket left after down"
on laptop "trellis up laptop" >"$T/up.out" 2>&1 || fail "trellis up laptop: $(cat "$T/up.out")"
on laptop "ping -c 1 -W 5 198.19.0.1" >/dev/null || fail "no ping after trellis up"
on hub "trellis status --json" >"$T/status.json" 2>&1 || fail "trellis status --json"
python3 - "$T/status.json" <<'PY' || fail "status --json on the hub: $(cat "$T/status.json")"
import json, sys
s = json.load(open(sys.argv[1]))
assert [d["role"] for d in s] == ["hub"], s
assert [p["identity"] for p in s[0]["peers"]] == ["laptop"], s
PY
for who in laptop hub; do
	on $who "trellis down $who" >"$T/down-$who.out" 2>&1 || fail "trellis down $who: $(cat "$T/down-$who.out")"
	on $who "trellis status --json" >"$T/status-$who.json" 2>&1
	[ "$(tr -d ' \n' <"$T/status-$who.json")" = "[]" ] || fail "status --json on $who with nothing running: $(cat "$T/status-$who.json")"
done
ok "trellis down / up laptop; status --json shows the hub with its peer laptop, then [] once down"

# ---- PAM as $DUSER: a local account's password ------------------------------------
# The hub asks PAM (/etc/pam.d/trellis: common-auth, pam_unix) for a local
# account's password. As $DUSER it cannot read /etc/shadow: it says so when
# it starts and when it refuses; with the drop-in the docs show
# (SupplementaryGroups=shadow) the same login passes.
useradd -M -s /usr/sbin/nologin "$PAMUSER" && echo "$PAMUSER:Pw-$$-test" | chpasswd || fail "test account $PAMUSER"
cp /etc/trellis/hub.conf "$T/hub.conf.orig" && cp "$L/etc/laptop.conf" "$T/laptop.conf.orig" || fail "saving the configurations"
echo "pam-service = trellis" >>/etc/trellis/hub.conf
printf 'username = %s\npassword-file = /var/lib/trellis/laptop.password\n' "$PAMUSER" >>"$L/etc/laptop.conf"
echo "Pw-$$-test" >"$L/var/laptop.password" && chmod 600 "$L/var/laptop.password" && chown $DUSER: "$L/var/laptop.password" ||
	fail "the laptop's password file"
: >"$T/shim/trellis-server@hub.log"
on hub "trellis up hub" >"$T/pam-up.out" 2>&1 || fail "trellis up hub with PAM: $(cat "$T/pam-up.out")"
grep -q "PAM service 'trellis': this server runs as user $DUSER, which cannot read /etc/shadow" "$T/shim/trellis-server@hub.log" ||
	fail "the hub did not warn that it cannot read /etc/shadow: $(cat "$T/shim/trellis-server@hub.log")"
on laptop "trellis up laptop" >"$T/pam-up-laptop.out" 2>&1 && fail "the laptop logged in through PAM without the hub reading /etc/shadow"
netns_wait_for 10 grep -q "user '$PAMUSER' at authentication: .*SupplementaryGroups=shadow" "$T/shim/trellis-server@hub.log" ||
	fail "the hub's log does not say why $PAMUSER was refused: $(tail -n 5 "$T/shim/trellis-server@hub.log")"
on laptop "trellis down laptop" >/dev/null 2>&1
on hub "trellis down hub" >/dev/null 2>&1 || fail "trellis down hub"
mkdir -p /etc/systemd/system/trellis-server@.service.d &&
	printf '[Service]\nSupplementaryGroups=shadow\n' >/etc/systemd/system/trellis-server@.service.d/test-shadow.conf ||
	fail "the drop-in"
on hub "trellis up hub" >"$T/pam-up.out" 2>&1 || fail "trellis up hub with the shadow group: $(cat "$T/pam-up.out")"
grep -q "^Groups:.*\b$(getent group shadow | cut -d: -f3)\b" /proc/"$(cat "$T/shim/trellis-server@hub.pid")"/status ||
	fail "the hub is not in the group shadow: $(grep Groups /proc/"$(cat "$T/shim/trellis-server@hub.pid")"/status)"
on laptop "trellis up laptop" >"$T/pam-up-laptop.out" 2>&1 || fail "trellis up laptop with PAM: $(cat "$T/pam-up-laptop.out")"
on laptop "ping -c 1 -W 5 198.19.0.1" >/dev/null || fail "no ping with the PAM login"
grep -q "$PAMUSER" "$T/shim/trellis-server@hub.log" || fail "the hub's log does not name $PAMUSER"
for who in laptop hub; do on $who "trellis down $who" >/dev/null 2>&1 || fail "trellis down $who"; done
rm -f /etc/systemd/system/trellis-server@.service.d/test-shadow.conf && rmdir /etc/systemd/system/trellis-server@.service.d
cp "$T/hub.conf.orig" /etc/trellis/hub.conf && cp "$T/laptop.conf.orig" "$L/etc/laptop.conf"
userdel "$PAMUSER" || fail "userdel $PAMUSER"
ok "PAM as $DUSER: without /etc/shadow the hub warns at start and its refusal names the fix; with SupplementaryGroups=shadow (drop-in) $PAMUSER's password logs in and pings"

# ---- the README's from-source install, into a scratch root ---------------------------
python3 - "$README" >"$T/source-cmds.txt" <<'PY' || fail "cannot read the from-source commands"
import re, sys
text = open(sys.argv[1]).read()
block = re.search(r"^```\n(# \./scripts/install-deps\.sh\n.*?)^```", text, re.S | re.M).group(1)
for line in block.splitlines():
    print(line[2:])
PY
D=$T/destdir
(
	cd "$T/deb/src" || exit 1
	rm -rf build
	while read -r cmd; do
		case $cmd in
		"meson install "*) cmd="$cmd --destdir $D" ;;
		"systemd-sysusers "*) cmd="systemd-sysusers --root=$D ${cmd#systemd-sysusers }" ;;
		"systemd-tmpfiles "*) cmd="systemd-tmpfiles --root=$D ${cmd#systemd-tmpfiles }" ;;
		"meson setup "*) cmd="$cmd -Dnetns_tests=disabled -Dfuzzing=disabled" ;;
		"ninja "*) cmd="$cmd -j2" ;;
		esac
		echo "# from source: $cmd"
		eval "$cmd" >>"$T/source.log" 2>&1 || { echo "failed: $cmd"; exit 1; }
	done <"$T/source-cmds.txt"
) || fail "the README's from-source install: $(tail -n 20 "$T/source.log")"
for f in /usr/sbin/trellis-server /usr/bin/trellis /etc/pam.d/trellis /usr/lib/tmpfiles.d/trellis.conf \
	/usr/share/dbus-1/system.d/org.trellisvpn.Daemon.conf /usr/lib/systemd/system/trellis-client@.service \
	/usr/lib/sysusers.d/trellis.conf \
	/usr/share/man/man8/trellis-server.8; do
	[ -e "$D$f" ] || fail "from source: $f not installed"
done
[ -d "$D/var/lib/trellis" ] && [ -d "$D/run/trellis" ] || fail "from source: tmpfiles made no state or runtime directory"
duid_src=$(sed -n "s/^$DUSER:x:\([0-9]*\):.*/\1/p" "$D/etc/passwd")
[ -n "$duid_src" ] || fail "from source: systemd-sysusers made no $DUSER in the scratch root"
[ "$(stat -c %u:%a "$D/var/lib/trellis")" = "$duid_src:700" ] && [ "$(stat -c %u "$D/run/trellis")" = "$duid_src" ] ||
	fail "from source: the state and runtime directories are not $DUSER's: $(stat -c '%n %u %a' "$D/var/lib/trellis" "$D/run/trellis")"
"$D/usr/sbin/trellis-server" --help | grep -q "(default: [^)]*/var/lib/trellis)" || fail "from source: state directory default"
ok "README from source (--prefix=/usr, into a scratch root): the same layout as the packages, $DUSER made by systemd-sysusers and owning the state and runtime directories"

# ---- the README's quick start, in the same scratch tree -----------------------------
qs=$(sed -n '/^## Quick start/,/^## /p' "$README" | sed -n '/^```$/,/^```$/p' | grep -v '^```')
[ "$qs" = "./scripts/quickstart.sh" ] || fail "the README's quick start is not one command: $qs"
(cd "$T/deb/src" && timeout -k 5 240 $qs) >"$T/quickstart.log" 2>&1 ||
	fail "the README's quick start: $(tail -n 20 "$T/quickstart.log")"
grep -q "receiver" "$T/quickstart.log" || fail "the quick start's demo measured nothing"
ok "README quick start ($qs): built, and its demo pinged and measured through a tunnel"

# ---- purge --------------------------------------------------------------------------
# hub.conf and laptop.conf are the administrator's (written by hand and by
# trellis join): purge leaves files it did not install in /etc/trellis.
rm -f /etc/trellis/hub.conf /etc/trellis/laptop.conf
# shellcheck disable=SC2086
$APT purge $PKGS >"$T/purge.log" 2>&1 </dev/null || fail "purge: $(tail -n 20 "$T/purge.log")"
installed=0
leftovers >"$T/after.txt"
left=$(comm -13 "$T/before.txt" "$T/after.txt")
[ -z "$left" ] || fail "left behind after purge: $left"
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'installed' && fail "$p still installed"
done
# Debian keeps system users on purge (files anywhere may still carry the uid);
# the test then removes the one it made.
getent passwd $DUSER >/dev/null || fail "purge removed the system user $DUSER"
remove_test_users
ok "purged: no package, no file, no directory left (/etc/trellis, /var/lib/trellis, /run/trellis gone); the user $DUSER stays, as Debian keeps system users$( [ "$had_user" = 0 ] && echo " (removed by the test, which made it)")"
echo "1..$n"
