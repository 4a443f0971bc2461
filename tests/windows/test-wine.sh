#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Windows build under wine64, in a private wine prefix:
#   1. the portable unit tests as Windows programs (meson test --suite wine);
#   2. trellis.exe pki init/issue, read back by the Linux trellis;
#   3. (root) in a network namespace: a Linux hub on 127.0.0.1, trellis.exe
#      join with a token from the Linux `trellis invite`, then
#      trellis-client.exe with the configuration join wrote: TLS handshake,
#      pushed configuration, and ICMP echo to the hub's tunnel address and
#      back through the client's device. Wine has no TAP driver: the device
#      is the test device on a loopback UDP port (--device-path udp:...),
#      held by a small Python program playing the TAP adapter; then the
#      same network as a Windows service (wine's Service Control Manager):
#      install, start, trellis status over the control interface, stop, remove;
#      then trellis-server.exe as the hub (its device the test device too): a
#      Linux trellis-client with the shared key, handshake, configuration and
#      ICMP echo through it; password-file refused with the reason;
#      then the tray (trellis-tray.exe) on an Xvfb display in wine's desktop
#      with its taskbar, driven with xdotool: its icon, its menu, Disconnect,
#      Connect, starting a stopped service, Details, a password asked with the
#      credentials dialog and kept in the Credential Manager, Join a
#      network…, Quit (screenshots in BUILD-WIN-DIR/test-artifacts/tray-wine/);
#   4. the installer (when built), silently installed with a network's
#      service, checked (files, registry, service), silently uninstalled;
#      twice: with the group Trellis Users (the calls that make and delete
#      it, which wine's netapi32 only pretends to do: its trace shows them),
#      and with a group an administrator named (UsersGroup = Users, a group
#      wine knows): the installing user put in it, the group kept.
#   From step 3 on, the group that may use Trellis besides the
#   Administrators (docs/WINDOWS.md, "Who may use it") is wine's Users: the
#   service, its control and nonce files and `trellis access` use it. Wine
#   keeps no file or service ACLs (file ACLs become Unix mode bits, service
#   ACLs are dropped) and enforces none: what they say is checked as built
#   (test-win-platform /win/access-acls), not as Windows would apply it.
# Usage: tests/windows/test-wine.sh BUILD-WIN-DIR [LINUX-BUILD-DIR]
# Ends with "wine tests: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
W=$(cd "${1:?usage: test-wine.sh BUILD-WIN-DIR [LINUX-BUILD-DIR]}" && pwd)
L=${2:-$top/build}
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
T=$(mktemp -d /tmp/tr-wine.XXXXXX)
export WINEPREFIX=$T/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
export WINEPATH
WINEPATH=$(cat "$W/winepath")
D=$W/dist
passed=0 failed=0
pids=()
netns=""

cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${pids[@]}"; do
		timeout 5 tail --pid="$pid" -f /dev/null 2>/dev/null
		kill -KILL "$pid" 2>/dev/null
	done
	if [ -n "$netns" ]; then
		for pid in $(ip netns pids "$netns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$netns" 2>/dev/null
	fi
	# Our prefix's wineserver only (it ends the prefix's processes too).
	[ -d "$WINEPREFIX" ] && timeout 20 wineserver -k 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
not_ok() {
	failed=$((failed + 1))
	echo "not ok - $*"
	for f in "$T"/*.log; do [ -f "$f" ] && { echo "---- $f"; tail -n 25 "$f"; }; done
}
wait_for() { # wait_for SECONDS CMD...
	local i
	for i in $(seq 1 $(($1 * 10))); do
		"${@:2}" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}
winpath() { printf 'Z:%s' "${1//\//\\}"; }

# ---- 0. the prefix ---------------------------------------------------------------
if ! timeout 180 wineboot -i >"$T/wineboot.log" 2>&1; then
	not_ok "wineboot could not make a prefix"
	echo "wine tests: $passed passed, $failed failed"
	exit 1
fi
ok "wine prefix ready ($(wine --version))"

# ---- 1. the portable unit tests ------------------------------------------------------
if meson test -C "$W" --no-rebuild --suite wine --num-processes 2 --print-errorlogs >"$T/meson.log" 2>&1; then
	ok "unit tests under wine: $(grep -c '^ *[0-9]*/[0-9]* .* OK ' "$T/meson.log") passed"
else
	not_ok "unit tests under wine: $(grep -E '^ *[0-9]+/[0-9]+ .* (FAIL|TIMEOUT|ERROR)' "$T/meson.log" | tr -s ' ' | tr '\n' ';')"
fi

# ---- 2. pki init/issue on Windows, read on Linux ---------------------------------------
S=$T/win-pki
if timeout 120 wine "$D/trellis.exe" pki init --network wine-test --state-dir "$(winpath "$S")" >"$T/pki.log" 2>&1 &&
	timeout 120 wine "$D/trellis.exe" pki issue laptop --state-dir "$(winpath "$S")" >>"$T/pki.log" 2>&1 &&
	[ -f "$S/ca.crt" ] && [ -f "$S/issued/laptop.crt" ] &&
	certtool --verify --load-ca-certificate "$S/ca.crt" --infile "$S/issued/laptop.crt" >"$T/certtool.log" 2>&1 &&
	"$L/cli/trellis" pki list --state-dir "$S" >"$T/pki-list.log" 2>&1 && grep -q laptop "$T/pki-list.log"; then
	ok "trellis.exe pki init + issue: certtool verifies the chain; the Linux trellis lists it"
else
	not_ok "trellis.exe pki init/issue"
fi

# ---- the tray (3b) -------------------------------------------------------------------
# trellis-tray.exe in wine's desktop with its taskbar (explorer's "shell"
# desktop) on an Xvfb display, in the namespace: the network winbox as its
# Windows service; the icon found on the screen by its colour and clicked
# (xdotool), its menu read from the tray's log (each item's text and place,
# logged when the menu opens) and from screenshots, Disconnect and Connect
# clicked and the daemon's state checked with `trellis status`; the service
# stopped, then started again from the tray's Connect; Details; Quit.
# Screenshots: BUILD-WIN/test-artifacts/tray-wine/.
A=$W/test-artifacts/tray-wine
display=""
tray_pid=""
shot() { import -display ":$display" -window root "$A/$1.png" 2>/dev/null; }
# The credentials dialog comes up centred on the 1024x768 desktop; on a busy
# machine it may come up without the keyboard focus (the typed password went
# nowhere), so a click in its Password field gives it first.
click_password() { xdotool mousemove 575 402 click 1 >/dev/null 2>&1 && sleep 0.3; }
# The centre of the pixels of colour $1 (#RRGGBB) in the bottom 48 rows.
find_colour() {
	shot find
	convert "$A/find.png" -crop 1024x48+0+720 +repage txt:- 2>/dev/null |
		awk -v c="$1" 'toupper($0) ~ toupper(c) { split($1, p, "[,:]"); x += p[1]; y += p[2]; n++ }
			END { if (n) printf "%d %d\n", x / n, 720 + y / n; else exit 1 }'
}
click_at() { DISPLAY=:$display xdotool mousemove --sync "$1" "$2" click 1 >/dev/null 2>&1; }
# Opens the menu (a click on the icon) and waits until it has been logged.
open_menu() {
	local before
	before=$(grep -c "menu opened" "$T/tray.log")
	click_at $icon_x $icon_y
	# Away from the icon: its tooltip would cover the menu's last item.
	DISPLAY=:$display xdotool mousemove 500 300 >/dev/null 2>&1
	wait_for 15 menus_opened_since "$before" && wait_for 10 menu_logged && sleep 0.3
}
menus_opened_since() { [ "$(grep -c "menu opened" "$T/tray.log")" -gt "$1" ]; }
# The last menu's items are in the log (they are logged once it is on the screen).
menu_logged() { sed -n '/menu opened/h; /menu opened/!H; ${x;p}' "$T/tray.log" | grep -q "menu item"; }
# The last menu's item $1 (its text): clicks its centre.
click_item() {
	local line x y w h
	line=$(sed -n '/menu opened/h; /menu opened/!H; ${x;p}' "$T/tray.log" | grep -F ": $1" | grep "menu item" | tail -n1)
	[ -n "$line" ] || return 1
	read -r x y w h < <(sed -n 's/.*at \(-\{0,1\}[0-9]*\),\(-\{0,1\}[0-9]*\) \([0-9]*\)x\([0-9]*\).*/\1 \2 \3 \4/p' <<<"$line")
	click_at $((x + w / 2)) $((y + h / 2))
}
last_menu() { sed -n '/menu opened/h; /menu opened/!H; ${x;p}' "$T/tray.log" | sed -n 's/.*menu item [0-9]* at [^:]*: //p' | tr -d '\r' | tr '\n' '|'; }
status_is() { trellis status 2>/dev/null | grep -q "\"state\":\"$1\""; }

# A hub that asks for a password (127.0.0.1:3211, alice): the client waits for
# it (ask-password = bus) and the tray asks with the credentials dialog: a
# wrong password refused and asked again, the right one with "Remember"
# connects; the client started again connects with the kept password, no dialog.
tray_password_test() {
	local H2=$T/hub-pw pw_conf=$WINEPREFIX/drive_c/ProgramData/Trellis/winpw.conf pw_pid
	cp -a "$H" "$H2"
	printf 'alice:%s\n' "$(python3 -W ignore -c 'import crypt; print(crypt.crypt("wonderland", crypt.mksalt(crypt.METHOD_SHA512)))')" >"$T/passwd"
	chmod 600 "$T/passwd"
	ip netns exec "$netns" "$L/server/trellis-server" --state-dir "$H2" --listen 3211 \
		--pool 198.19.78.0/24 --pool6 none --keepalive 2 --control-socket none \
		--password-file "$T/passwd" >"$T/hubpw.log" 2>&1 &
	pids+=($!)
	grep -v '^log-file' "$CONF" | sed 's/^connect *=.*/connect = 127.0.0.1:3211/' >"$pw_conf"
	printf 'username = alice\nask-password = bus\n' >>"$pw_conf"
	if ! wait_for 20 grep -q "listening on port 3211" "$T/hubpw.log"; then
		not_ok "tray: the password hub did not start"
		return
	fi
	ip netns exec "$netns" wine "$D/trellis-client.exe" --config 'C:\ProgramData\Trellis\winpw.conf' \
		-v >"$T/winpw.log" 2>&1 &
	pw_pid=$!
	pids+=($pw_pid)
	if wait_for 40 grep -q "winpw asks for a password" "$T/tray.log" && sleep 3 && shot 10-password &&
		click_password && xdotool type --delay 2 looking-glass >/dev/null 2>&1 && xdotool key Return >/dev/null 2>&1 &&
		wait_for 30 grep -q "refused" "$T/hubpw.log" &&
		wait_for 30 bash -c "[ \$(grep -c 'winpw asks for a password' '$T/tray.log') -ge 2 ]" && sleep 3 &&
		shot 11-password-again && click_password && xdotool type --delay 2 wonderland >/dev/null 2>&1 &&
		xdotool key alt+r >/dev/null 2>&1 && sleep 0.5 && shot 12-password-remember &&
		xdotool key Return >/dev/null 2>&1 &&
		wait_for 30 grep -q "winpw: Connected (198.19.78" "$T/tray.log" &&
		! grep -q -e looking-glass -e wonderland "$T/tray.log" "$T/winpw.log"; then
		ok "tray: a hub asking for a password: the credentials dialog, a wrong one refused and asked again, the right one connects; no password in the logs"
	else
		not_ok "tray: password (tray: $(grep -E 'password|winpw' "$T/tray.log" | tail -n 4 | tr -d '\r' | tr '\n' '|'))"
	fi
	kill -INT "$pw_pid" 2>/dev/null
	timeout 10 tail --pid="$pw_pid" -f /dev/null
	if grep -q "kept the password of winpw in the Credential Manager" "$T/tray.log" &&
		wait_for 20 grep -q "winpw: Off" "$T/tray.log"; then
		ip netns exec "$netns" wine "$D/trellis-client.exe" --config 'C:\ProgramData\Trellis\winpw.conf' \
			-v >"$T/winpw2.log" 2>&1 &
		pw_pid=$!
		pids+=($pw_pid)
	else
		pw_pid=""
	fi
	if [ -n "$pw_pid" ] && wait_for 40 grep -q "the password of winpw comes from the Credential Manager" "$T/tray.log" &&
		wait_for 30 bash -c "[ \$(grep -c 'winpw: Connected (198.19.78' '$T/tray.log') -ge 2 ]"; then
		ok "tray: kept in the Credential Manager (\"Remember\"): the client started again connects with it, no dialog"
	else
		not_ok "tray: the kept password (tray: $(grep -E 'Credential|winpw' "$T/tray.log" | tail -n 3 | tr -d '\r' | tr '\n' '|'))"
	fi
	[ -n "$pw_pid" ] && kill -INT "$pw_pid" 2>/dev/null && timeout 10 tail --pid="$pw_pid" -f /dev/null
}

tray_test() {
	local n icon
	if [ ! -f "$D/trellis-tray.exe" ]; then
		not_ok "trellis-tray.exe is not in $D"
		return
	fi
	rm -rf "$A"
	mkdir -p "$A"
	for n in $(seq 70 99); do
		[ -e "/tmp/.X$n-lock" ] || [ -e "/tmp/.X11-unix/X$n" ] || { display=$n; break; }
	done
	ip netns exec "$netns" Xvfb ":$display" -screen 0 1024x768x24 -nolisten tcp >"$T/xvfb.log" 2>&1 &
	pids+=($!)
	if ! wait_for 20 test -e "/tmp/.X11-unix/X$display"; then
		not_ok "Xvfb :$display did not start"
		return
	fi
	# Programs open in the desktop "shell": wine's explorer with a taskbar
	# and its notification area, on our display (whichever wine program
	# first uses the desktop starts it, with its DISPLAY).
	export DISPLAY=:$display
	wine reg add 'HKCU\Software\Wine\Explorer' /v Desktop /d shell /f >/dev/null 2>&1
	wine reg add 'HKCU\Software\Wine\Explorer\Desktops' /v shell /d 1024x768 /f >/dev/null 2>&1
	# The network as installed: C:\ProgramData\Trellis\winbox.conf, its service.
	mkdir -p "$WINEPREFIX/drive_c/ProgramData/Trellis"
	cp "$CONF" "$WINEPREFIX/drive_c/ProgramData/Trellis/winbox.conf"
	if ! { trellis service install winbox >"$T/svc-tray.log" 2>&1 &&
		trellis service start winbox >>"$T/svc-tray.log" 2>&1 && wait_for 30 status_is connected; }; then
		not_ok "the service winbox for the tray did not connect"
		return
	fi
	ip netns exec "$netns" wine "$D/trellis-tray.exe" >"$T/tray.log" 2>&1 &
	tray_pid=$!
	pids+=($tray_pid)
	if wait_for 60 grep -q "icon trellis-tray-connected-symbolic: winbox: Connected (198.19.77.2)" "$T/tray.log" &&
		sleep 2 && icon=$(find_colour '#2EA043'); then
		read -r icon_x icon_y <<<"$icon"
		shot 01-connected
		ok "tray: found the daemon through its control file; the green (connected) icon is in the taskbar's notification area at $icon_x,$icon_y"
	else
		shot 01-connected
		not_ok "tray: no connected icon on the screen (screenshot $A/01-connected.png)"
		return
	fi
	if open_menu && last_menu | grep -q "winbox — Connected|Address: 198.19.77.2|Hub: 127.0.0.1.*|Disconnect|Copy address|Join a network…|Details…|Quit|"; then
		shot 02-menu-connected
		ok "tray: a click on the icon opens its menu: $(last_menu)"
	else
		shot 02-menu-connected
		not_ok "tray: menu: $(last_menu)"
	fi
	if click_item Disconnect && wait_for 20 status_is stopped &&
		wait_for 15 grep -q "icon trellis-tray-disconnected-symbolic: winbox: Disconnected" "$T/tray.log" &&
		wait_for 10 grep -q "notification: Disconnected from winbox" "$T/tray.log"; then
		sleep 1
		shot 03-disconnected
		ok "tray: Disconnect clicked: the daemon stopped (trellis status: \"stopped\"), grey icon, notification \"Disconnected from winbox\""
	else
		shot 03-disconnected
		not_ok "tray: Disconnect (tray log: $(grep -E 'chosen|icon|notification' "$T/tray.log" | tail -n 4 | tr '\n' '|'))"
	fi
	if open_menu && last_menu | grep -q "winbox — Disconnected|Connect|" && shot 04-menu-disconnected &&
		click_item Connect && wait_for 30 status_is connected &&
		wait_for 15 grep -q "notification: Connected to winbox: Your address is 198.19.77.2." "$T/tray.log"; then
		sleep 1
		shot 05-connected-again
		ok "tray: Connect clicked: connected again (trellis status: \"connected\"), notification with the address"
	else
		not_ok "tray: Connect (menu: $(last_menu))"
	fi
	# The service stopped: the network is Off; the tray's Connect starts it (SCM).
	if trellis service stop winbox >>"$T/svc-tray.log" 2>&1 &&
		wait_for 20 grep -q "icon trellis-tray-disconnected-symbolic: winbox: Off" "$T/tray.log" &&
		open_menu && last_menu | grep -q "winbox — Off|Connect|" && shot 06-menu-off &&
		click_item Connect && wait_for 20 grep -q 'started the service TrellisClient$winbox' "$T/tray.log" &&
		wait_for 40 status_is connected &&
		wait_for 20 grep -q "icon trellis-tray-connected-symbolic: winbox: Connected" "$T/tray.log"; then
		ok "tray: service stopped → winbox Off; Connect clicked → the tray started TrellisClient\$winbox through the SCM, connected"
	else
		not_ok "tray: Connect of a stopped service (menu: $(last_menu); $(tail -n 3 "$T/tray.log" | tr '\n' '|'))"
	fi
	if open_menu && click_item "Details…" && wait_for 10 grep -q "chosen: Details…" "$T/tray.log"; then
		sleep 2
		shot 07-details
		ok "tray: Details… opens the Details window (screenshot 07-details.png)"
	else
		not_ok "tray: Details…"
	fi
	tray_password_test
	# Join a network…: the invite typed into the tray's window, Enter;
	# trellis.exe join runs with it on its standard input.
	local invite
	invite=$("$L/cli/trellis" invite winjoin --server 127.0.0.1 --state-dir "$H" 2>>"$T/invite.log")
	if [ -n "$invite" ] && open_menu && click_item "Join a network…" &&
		wait_for 10 grep -q "chosen: Join a network…" "$T/tray.log" && sleep 1 &&
		xdotool type --delay 2 "$invite" >/dev/null 2>&1 && shot 08-join && xdotool key Return >/dev/null 2>&1 &&
		wait_for 60 grep -q "joined: " "$T/tray.log" &&
		[ -f "$WINEPREFIX/drive_c/ProgramData/Trellis/winjoin.conf" ] &&
		wait_for 15 grep -q "winjoin: Off" "$T/tray.log" &&
		open_menu && last_menu | grep -q "winjoin — Off|Connect|" && shot 09-menu-joined &&
		DISPLAY=:$display xdotool key Escape >/dev/null 2>&1; then
		ok "tray: Join a network…: the invite typed, trellis.exe join redeemed it at the hub ($(grep -o 'joined: .*' "$T/tray.log" | tr -d '\r')); winjoin appears in the menu, Off"
	else
		shot 08-join
		not_ok "tray: Join a network… ($(grep -E 'join' "$T/tray.log" | tail -n 3 | tr -d '\r' | tr '\n' '|'))"
	fi
	if open_menu && click_item Quit && timeout 20 tail --pid="$tray_pid" -f /dev/null &&
		grep -q "quitting" "$T/tray.log"; then
		ok "tray: Quit ends it"
	else
		not_ok "tray: Quit"
	fi
	trellis service stop winbox >>"$T/svc-tray.log" 2>&1
	trellis service remove winbox >>"$T/svc-tray.log" 2>&1
	cp "$T/tray.log" "$A/tray.log"
	rm -f "$A/find.png"
	wine reg delete 'HKCU\Software\Wine\Explorer' /v Desktop /f >/dev/null 2>&1
	unset DISPLAY
}

# ---- 3. join and connect to a Linux hub, packets through the test device -------------
if [ "$(id -u)" -ne 0 ]; then
	echo "skip - join/connect to a Linux hub: needs root (a network namespace for the hub's tun device)"
elif [ ! -x "$L/server/trellis-server" ]; then
	not_ok "no Linux build in $L (trellis-server) for the hub"
else
	netns=trwine$$
	ip netns add "$netns" && ip -n "$netns" link set lo up
	# Wine's sockets are made by the wineserver, in its network namespace:
	# end the prefix's server, so that the next one starts inside ours.
	timeout 20 wineserver -k 2>/dev/null
	timeout 20 wineserver -w 2>/dev/null
	H=$T/hub-state
	ip netns exec "$netns" "$L/server/trellis-server" --state-dir "$H" --pool 198.19.77.0/24 \
		--pool6 none --keepalive 2 --control-socket none >"$T/hub.log" 2>&1 &
	pids+=($!)
	if ! wait_for 20 grep -q "listening on port 3210" "$T/hub.log"; then
		not_ok "the Linux hub did not start"
	else
		token=$("$L/cli/trellis" invite winbox --server 127.0.0.1 --state-dir "$H" 2>"$T/invite.log")
		C=$T/win-join
		CONF=$T/win-conf/winbox.conf
		mkdir -p "$T/win-conf"
		if TRELLIS_CONFIG_DIR=$(winpath "$T/win-conf") ip netns exec "$netns" timeout 120 \
			wine "$D/trellis.exe" join "$token" --state-dir "$(winpath "$C")" >"$T/join.log" 2>&1 &&
			[ -f "$CONF" ] && [ -f "$C/winbox.key" ] && cmp -s "$C/ca.crt" "$H/ca.crt" &&
			grep -q "trellis service install winbox" "$T/join.log"; then
			ok "trellis.exe join: token from the Linux hub redeemed; CA, certificate, key, configuration written; it says how to install the service"
		else
			not_ok "trellis.exe join"
		fi
		# The TAP adapter's stand-in: a UDP port on 127.0.0.1 that sends an ICMP echo
		# request from the client's address to the hub's and waits for the reply.
		cat >"$T/tap.py" <<'PY'
import socket, struct, sys, time
port_file, src, dst = sys.argv[1], sys.argv[2], sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
open(port_file, "w").write(str(s.getsockname()[1]))
def csum(b):
    if len(b) % 2: b += b"\0"
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    t = (t >> 16) + (t & 0xffff); t += t >> 16
    return ~t & 0xffff
def echo(seq):
    icmp = struct.pack("!BBHHH", 8, 0, 0, 0x7472, seq) + b"trellis-wine" * 4
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + icmp
s.settimeout(0.5)
peer = None
deadline = time.time() + 60
seq = 0
while time.time() < deadline:
    try:
        data, peer = s.recvfrom(65535)
    except socket.timeout:
        data = None
    if data and len(data) >= 28 and data[9] == 1 and data[20] == 0 and \
       socket.inet_ntoa(data[12:16]) == dst and socket.inet_ntoa(data[16:20]) == src:
        print("echo reply %s -> %s, %d bytes, seq %d" % (dst, src, len(data), struct.unpack("!H", data[26:28])[0]), flush=True)
        sys.exit(0)
    if peer:  # the device announced itself with an empty datagram
        seq += 1
        s.sendto(echo(seq), peer)
sys.exit(1)
PY
		rm -f "$T/tap.port"
		ip netns exec "$netns" python3 "$T/tap.py" "$T/tap.port" 198.19.77.2 198.19.77.1 >"$T/tap.log" 2>&1 &
		tap_pid=$!
		pids+=($tap_pid)
		wait_for 10 test -s "$T/tap.port"
		ip netns exec "$netns" wine "$D/trellis-client.exe" --config "$(winpath "$CONF")" \
			--device-path "udp:127.0.0.1:$(cat "$T/tap.port")" --control-socket none --retry-max 2 \
			-v >"$T/client.log" 2>&1 &
		client_pid=$!
		pids+=($client_pid)
		if wait_for 60 grep -q "connected to" "$T/client.log" &&
			grep -q "client winbox connected from 127.0.0.1" "$T/hub.log"; then
			ok "trellis-client.exe: TLS handshake with the Linux hub, configuration received: $(grep -o 'connected to .*' "$T/client.log" | head -n1 | tr -d '\r')"
		else
			not_ok "trellis-client.exe did not connect to the Linux hub"
		fi
		if timeout 70 tail --pid="$tap_pid" -f /dev/null && wait "$tap_pid"; then
			ok "packets through the tunnel: $(cat "$T/tap.log")"
		else
			not_ok "no ICMP echo reply through trellis-client.exe's device"
		fi
		kill -INT "$client_pid" 2>/dev/null
		timeout 10 tail --pid="$client_pid" -f /dev/null

		# The same network as a Windows service: the Service Control Manager
		# (wine's services.exe) starts it, `service start` returns once it is
		# connected, `trellis status` asks it over the control interface.
		printf 'device-path=udp:127.0.0.1:%s\nlog-file=%s\n' "$(cat "$T/tap.port")" \
			"$(winpath "$T/service.log")" | sed 's/\\/\\\\/g' >>"$CONF"
		trellis() { ip netns exec "$netns" timeout 90 wine "$D/trellis.exe" "$@"; }
		# The group that may use Trellis: Users, which wine knows (it knows
		# no group Trellis makes), as an administrator would name one.
		wine reg add 'HKLM\Software\Trellis' /v UsersGroup /d Users /f >/dev/null 2>&1
		if trellis service install wintest --config "$(winpath "$CONF")" >"$T/svc.log" 2>&1 &&
			grep -q "the group 'Users' may start and stop it" "$T/svc.log" &&
			wine reg query 'HKLM\System\CurrentControlSet\Services\TrellisClient$wintest' /v ImagePath >>"$T/svc.log" 2>&1 &&
			trellis service start wintest >>"$T/svc.log" 2>&1 &&
			trellis service list >>"$T/svc.log" 2>&1 && grep -q "^wintest *running" "$T/svc.log" &&
			trellis status >"$T/status.log" 2>&1 &&
			grep -q '"state":"connected"' "$T/status.log" && grep -q '"identity":"winbox"' "$T/status.log"; then
			ok "service: installed, started by the SCM (running once connected), trellis status answers over the control interface: $(grep -o '"addresses":\[[^]]*\]' "$T/status.log")"
		else
			not_ok "the network as a Windows service"
		fi
		# Who may use it: the group's ACE on the service, on its control file
		# and on GDBus's nonce file (found through the control file's address).
		if trellis access show >"$T/access.log" 2>&1 &&
			grep -q "^group: Users (S-1-5-32-545)" "$T/access.log" &&
			grep -q 'run\\trellis-client-[a-z]*\.sock: D:' "$T/access.log" &&
			grep -q 'gdbus-nonce-file-[^:]*: D:' "$T/access.log" &&
			grep -q "control: SYSTEM, the Administrators and the group 'Users' may use it" "$T/service.log"; then
			ok "access: the service's ACL was given the group Users (S-1-5-32-545); the daemon gave its control file and its nonce file ($(grep -o 'gdbus-nonce-file-[^:]*' "$T/access.log" | head -n1 | tr -d '\r')) the group's read ACE"
		else
			not_ok "access: the group in the service's ACLs ($(tr -d '\r' <"$T/access.log" | tr '\n' '|'))"
		fi
		if trellis service stop wintest >>"$T/svc.log" 2>&1 && grep -q "stopped" "$T/svc.log" &&
			wait_for 10 grep -q "shutting down" "$T/service.log" &&
			trellis service remove wintest >>"$T/svc.log" 2>&1 &&
			! wine reg query 'HKLM\System\CurrentControlSet\Services\TrellisClient$wintest' >/dev/null 2>&1; then
			ok "service: stopped (the client said goodbye), removed"
		else
			not_ok "stopping and removing the service"
		fi

		# ---- 3c. the hub as a Windows program (before the tray, 3b) ------------------
		# trellis-server.exe (the build tree's; not installed: docs/WINDOWS.md) on
		# 127.0.0.1:3212 with a shared key; its device the test device, held by
		# tap.py (wine has no TAP driver). A Linux trellis-client with the key
		# (a real tun device in the namespace) connects; tap.py's echo request
		# from the hub's address reaches the Linux kernel through the tunnel
		# and the reply comes back. A password option is refused, naming why.
		(umask 077 && "$L/cli/trellis" genkey >"$T/hub3.key")
		rm -f "$T/tap.port"
		ip netns exec "$netns" python3 "$T/tap.py" "$T/tap.port" 198.19.78.1 198.19.78.2 >"$T/tap3.log" 2>&1 &
		tap_pid=$!
		pids+=($tap_pid)
		wait_for 10 test -s "$T/tap.port"
		ip netns exec "$netns" wine "$W/server/trellis-server.exe" --listen 127.0.0.1:3212 \
			--shared-key-file "$(winpath "$T/hub3.key")" --state-dir "$(winpath "$T/hub3")" \
			--pool 198.19.78.0/24 --pool6 none --keepalive 2 --control-socket none \
			--device-path "udp:127.0.0.1:$(cat "$T/tap.port")" >"$T/hub3.log" 2>&1 &
		pids+=($!)
		wait_for 60 grep -q "listening on port 3212" "$T/hub3.log"
		ip netns exec "$netns" "$L/client/trellis-client" -c 127.0.0.1:3212 --name linbox \
			--shared-key-file "$T/hub3.key" --control-socket none --device trlin%d \
			--retry-max 2 -v >"$T/client3.log" 2>&1 &
		pids+=($!)
		if wait_for 60 grep -q "connected to" "$T/client3.log" &&
			wait_for 10 grep -q "client psk:linbox connected from 127.0.0.1" "$T/hub3.log"; then
			ok "trellis-server.exe: a Linux trellis-client with the shared key: TLS handshake, configuration received: $(grep -o 'connected to .*' "$T/client3.log" | head -n1)"
		else
			not_ok "the Linux client did not connect to trellis-server.exe"
		fi
		if timeout 70 tail --pid="$tap_pid" -f /dev/null && wait "$tap_pid"; then
			ok "packets through trellis-server.exe's tunnel to the Linux client and back: $(cat "$T/tap3.log")"
		else
			not_ok "no ICMP echo reply from the Linux client through trellis-server.exe"
		fi
		printf '[server]\nlisten = 3213\npassword-file = C:\\users.txt\n' >"$T/hub3.conf"
		if ! ip netns exec "$netns" timeout 60 wine "$W/server/trellis-server.exe" \
			--config "$(winpath "$T/hub3.conf")" >"$T/hub3pw.log" 2>&1 &&
			grep -q 'hub3.conf:3: password authentication is not available in the Windows build' "$T/hub3pw.log"; then
			ok "trellis-server.exe refuses password-file: $(grep -o 'hub3.conf:3: .*crypt(3)[^;]*' "$T/hub3pw.log" | tr -d '\r')"
		else
			not_ok "trellis-server.exe and a password-file"
		fi

		# ---- 3b. the tray, as a person uses it -----------------------------------------
		tray_test
	fi
fi

# ---- 4. the installer --------------------------------------------------------------------
if [ -n "$netns" ]; then # back out of the namespace (see above)
	timeout 20 wineserver -k 2>/dev/null
	timeout 20 wineserver -w 2>/dev/null
fi
setup=$(ls "$W"/trellis-*-setup.exe 2>/dev/null | head -n1)
# install_test GROUP: a silent install and uninstall; GROUP is "" (the
# default, Trellis Users, made by the installer) or the group an
# administrator named beforehand (HKLM\Software\Trellis, UsersGroup).
install_test() {
	local group=$1 what inst=$WINEPREFIX/drive_c/Trellis
	local conf='C:\ProgramData\Trellis\wintest.conf'
	local svc_key='HKLM\System\CurrentControlSet\Services\TrellisClient$wintest'
	what=${group:-Trellis Users}
	mkdir -p "$WINEPREFIX/drive_c/ProgramData/Trellis"
	printf '[client]\nconnect=127.0.0.1:3210\n' >"$WINEPREFIX/drive_c/ProgramData/Trellis/wintest.conf"
	wine reg delete 'HKLM\Software\Trellis' /f >/dev/null 2>&1
	[ -n "$group" ] && wine reg add 'HKLM\Software\Trellis' /v UsersGroup /d "$group" /f >/dev/null 2>&1
	# netapi32's local groups are stubs in wine: its trace shows the calls.
	if WINEDEBUG=fixme+netapi32,-all timeout 180 wine "$setup" /S /NETWORK=wintest "/CONFIG=$conf" '/D=C:\Trellis' >"$T/setup.log" 2>&1 &&
		[ -f "$inst/trellis-client.exe" ] && [ -f "$inst/trellis.exe" ] && [ -f "$inst/uninstall.exe" ] &&
		ls "$inst"/libglib-2.0-0.dll "$inst"/libgnutls-30.dll >/dev/null 2>&1 &&
		wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Trellis' /v DisplayName >"$T/reg.log" 2>&1 &&
		wine reg query "$svc_key" /v ImagePath >>"$T/reg.log" 2>&1 &&
		grep -q 'trellis-client.exe.*--daemon --config' "$T/reg.log" &&
		wine reg query 'HKLM\System\CurrentControlSet\Services\EventLog\Application\trellis-client' >>"$T/reg.log" 2>&1 &&
		[ -d "$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Trellis" ] &&
		[ -f "$inst/trellis-tray.exe" ] &&
		[ -f "$WINEPREFIX/drive_c/ProgramData/Microsoft/Windows/Start Menu/Programs/Trellis/Trellis.lnk" ] &&
		wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Run' /v Trellis >>"$T/reg.log" 2>&1 &&
		grep -q 'trellis-tray.exe' "$T/reg.log"; then
		ok "installer /S ($what): programs and DLLs, uninstall entry, Event Log source, Start menu, the tray (Start menu, autostart), service TrellisClient\$wintest registered"
	else
		not_ok "silent install ($what)"
	fi
	if [ -z "$group" ] && grep -q 'NetLocalGroupAdd ((null) 1 ' "$T/setup.log"; then
		ok "installer: trellis access setup asked Windows to make the local group (NetLocalGroupAdd, level 1: name and comment; a stub in wine, which then knows no such group: the installer went on with administrators-only ACLs)"
	elif [ -n "$group" ] && ! grep -q 'NetLocalGroupAdd (' "$T/setup.log" &&
		grep -q "NetLocalGroupAddMembers ((null) L\"$group\" 0 " "$T/setup.log"; then
		ok "installer: the group $group an administrator named was used, not made; the installing user was put in it (NetLocalGroupAddMembers, by SID)"
	else
		not_ok "installer: the group's calls ($(grep -o 'NetLocalGroup[A-Za-z]* ([^)]*)' "$T/setup.log" | tr '\n' '|'))"
	fi
	# The uninstaller copies itself to %TEMP% and returns at once: wait for it.
	WINEDEBUG=fixme+netapi32,-all timeout 120 wine "$inst/uninstall.exe" /S >"$T/uninstall.log" 2>&1
	if wait_for 90 test ! -e "$inst/trellis-client.exe" && wait_for 30 test ! -d "$inst" &&
		! wine reg query "$svc_key" >/dev/null 2>&1 &&
		! wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\Trellis' >/dev/null 2>&1 &&
		! wine reg query 'HKLM\Software\Microsoft\Windows\CurrentVersion\Run' /v Trellis >/dev/null 2>&1; then
		ok "uninstaller /S ($what): programs, directory, uninstall entry, the tray's autostart and the service removed"
	else
		not_ok "silent uninstall ($what) left something behind: $(ls "$inst" 2>&1 | tr '\n' ' ')"
	fi
	if [ -z "$group" ] && grep -q 'NetLocalGroupDel ((null) L"Trellis Users")' "$T/uninstall.log" &&
		! wine reg query 'HKLM\Software\Trellis' >/dev/null 2>&1; then
		ok "uninstaller: trellis access remove deleted the local group Trellis Users (NetLocalGroupDel; a stub in wine)"
	elif [ -n "$group" ] && ! grep -q 'NetLocalGroupDel' "$T/uninstall.log" &&
		wine reg query 'HKLM\Software\Trellis' /v UsersGroup 2>/dev/null | grep -q "$group"; then
		ok "uninstaller: the administrator's group $group kept, and its name (UsersGroup) too"
	else
		not_ok "uninstaller: the group ($(grep -o 'NetLocalGroup[A-Za-z]* ([^)]*)' "$T/uninstall.log" | tr '\n' '|'))"
	fi
	wine reg delete 'HKLM\Software\Trellis' /f >/dev/null 2>&1
}
if [ -z "$setup" ]; then
	echo "skip - installer: not built (scripts/build-windows.sh --installer)"
else
	install_test ""
	install_test Users
fi

echo "wine tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
