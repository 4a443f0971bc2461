#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The GTK 3 and GTK 4 editors on a real X server (Xvfb), screenshots saved in
# the build tree (gui/networkmanager/screenshots/) as test artifacts.
set -u
B=$TR_BUILD_ROOT/gui/networkmanager
OUT=$B/screenshots
for p in Xvfb import; do
	command -v "$p" >/dev/null || { echo "SKIP: $p is not installed (scripts/install-deps.sh installs it)"; exit 77; }
done
mkdir -p "$OUT"
rm -f "$OUT"/editor-*.png
xvfb_pid=
cleanup() {
	[ -n "$xvfb_pid" ] && kill "$xvfb_pid" 2>/dev/null && wait "$xvfb_pid" 2>/dev/null
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
exit 0
