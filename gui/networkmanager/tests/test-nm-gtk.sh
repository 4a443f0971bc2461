#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The GTK parts on a real X server (Xvfb), driven as a person would: the GTK 3
# and GTK 4 editors (test-nm-editor.c), and the auth dialog's password window,
# typed into with xdotool. Screenshots in the build tree
# (gui/networkmanager/screenshots/) as test artifacts.
set -u
B=$TR_BUILD_ROOT/gui/networkmanager
OUT=$B/screenshots
for p in Xvfb import xdotool; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
mkdir -p "$OUT"
rm -f "$OUT"/*.png
T=$(mktemp -d)
xvfb_pid=
dialog_pid=
cleanup() {
	[ -n "$dialog_pid" ] && kill "$dialog_pid" 2>/dev/null && wait "$dialog_pid" 2>/dev/null
	[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
# A display number no other run uses.
for d in $(seq 90 140); do
	[ -e "/tmp/.X11-unix/X$d" ] || [ -e "/tmp/.X$d-lock" ] || break
done
Xvfb ":$d" -screen 0 800x700x24 -nolisten tcp >"$OUT/xvfb.log" 2>&1 &
xvfb_pid=$!
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X$d" ] && break; sleep 0.1; done
[ -e "/tmp/.X11-unix/X$d" ] || { echo "not ok - Xvfb did not start"; exit 1; }
export DISPLAY=":$d" GDK_BACKEND=x11 GSK_RENDERER=cairo NO_AT_BRIDGE=1
unset WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS
ran=0
for tk in gtk3 gtk4; do
	prog=$B/test-nm-editor-$tk
	[ -x "$prog" ] || continue
	ran=1
	timeout 60 "$prog" "$B/libnm-vpn-plugin-trellis.so" \
		"$TR_SOURCE_ROOT/gui/networkmanager/tests/fixtures/full.conf" "$OUT" || exit 1
done
[ "$ran" = 1 ] || { echo "SKIP: no editor was built (libnma-dev, libnma-gtk4-dev)"; exit 77; }

# ---- The auth dialog's own window (GTK 3, libnma) ---------------------------------------
n=0
ok() { n=$((n + 1)); echo "ok $n - auth dialog: $*"; }
fail() { echo "not ok - auth dialog: $*"; cat "$T/err" 2>/dev/null; exit 1; }
request='DATA_KEY=connect\nDATA_VAL=198.18.60.1\n\nDATA_KEY=username\nDATA_VAL=alice\n\nDATA_KEY=cert\nDATA_VAL=/a/c.crt\n\nDONE\n\n'
# ask SHOT TEXT-TO-TYPE KEY [HINT...]: runs the dialog with -i, types, presses KEY
ask() {
	local shot=$1 text=$2 key=$3 wid i
	shift 3
	rm -f "$T/in" "$T/out" "$T/err"
	mkfifo "$T/in"
	exec 3<>"$T/in"
	printf "$request" >&3
	"$B/nm-trellis-auth-dialog" -u 0b8d5c4e-0000-4c8e-9a53-000000000001 -n office \
		-s org.freedesktop.NetworkManager.trellis -i "$@" <"$T/in" >"$T/out" 2>"$T/err" &
	dialog_pid=$!
	wid=$(timeout 15 xdotool search --sync --onlyvisible --name "Authenticate VPN" | head -1)
	[ -n "$wid" ] || fail "no window appeared"
	sleep 0.5
	import -window root "$OUT/auth-dialog-$shot.png" || fail "screenshot"
	echo "# screenshot $OUT/auth-dialog-$shot.png"
	xdotool windowfocus --sync "$wid" || fail "focus"
	[ -n "$text" ] && xdotool type --delay 10 "$text"
	xdotool key "$key"
	for i in $(seq 1 100); do
		grep -q . "$T/out" && break
		kill -0 "$dialog_pid" 2>/dev/null || break
		sleep 0.1
	done
	printf 'QUIT\n' >&3
	for i in $(seq 1 100); do kill -0 "$dialog_pid" 2>/dev/null || break; sleep 0.1; done
	wait "$dialog_pid"
	rc=$?
	dialog_pid=
	exec 3>&-
}
ask password wonderland Return
[ "$rc" = 0 ] || fail "exit status $rc"
[ "$(cat "$T/out")" = "$(printf 'password\nwonderland\n\n')" ] || fail "answer: $(od -c "$T/out")"
ok "typed 'wonderland', Enter: answered 'password\nwonderland' and left on QUIT"
ask cancelled "" Escape
[ "$rc" = 1 ] && [ ! -s "$T/out" ] || fail "cancel: status $rc, answer $(od -c "$T/out")"
ok "Escape: cancelled, exit status 1, nothing answered"
ask refused wonderland Return -t password -t "x-vpn-message:The hub refused the login to “office”: invalid username or password. Try again."
[ "$rc" = 0 ] || fail "exit status $rc"
[ "$(cat "$T/out")" = "$(printf 'password\nwonderland\n\n')" ] || fail "answer: $(od -c "$T/out")"
ok "with the service's hints (-t password -t x-vpn-message:...): answered; the window's message is the hub's reason (look at auth-dialog-refused.png)"
echo "1..$n"
exit 0
