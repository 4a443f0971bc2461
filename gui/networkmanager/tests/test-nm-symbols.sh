#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# What NetworkManager and nmcli load is GTK-free and exports only its factory;
# each editor module exports only its own and links only its own toolkit.
set -u
B=$TR_BUILD_ROOT/gui/networkmanager
n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { echo "not ok - $*"; exit 1; }
command -v readelf >/dev/null && command -v nm >/dev/null || { echo "SKIP: binutils missing"; exit 77; }

exports() { nm -D --defined-only "$1" | awk '{print $3}' | sort | tr '\n' ' '; }
needed() { readelf -d "$1" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' '; }

p=$B/libnm-vpn-plugin-trellis.so
[ "$(exports "$p")" = "nm_vpn_editor_plugin_factory " ] || fail "plugin exports: $(exports "$p")"
case " $(needed "$p")" in *gtk* | *gdk* | *nma*) fail "plugin links a toolkit: $(needed "$p")" ;; esac
ok "libnm-vpn-plugin-trellis.so exports only nm_vpn_editor_plugin_factory and links no GTK ($(needed "$p"))"

s=$B/nm-trellis-service
case " $(needed "$s")" in *gtk* | *gdk* | *nma*) fail "service links a toolkit: $(needed "$s")" ;; esac
ok "nm-trellis-service links no GTK"

for m in "$B"/libnm-vpn-plugin-trellis-editor.so:libgtk-3 "$B"/libnm-gtk4-vpn-plugin-trellis-editor.so:libgtk-4; do
	f=${m%%:*} want=${m##*:}
	[ -f "$f" ] || continue
	[ "$(exports "$f")" = "tr_nm_editor_new " ] || fail "$(basename "$f") exports: $(exports "$f")"
	other=libgtk-4
	[ "$want" = libgtk-4 ] && other=libgtk-3
	d=$(needed "$f")
	case "$d" in *"$want"*) ;; *) fail "$(basename "$f") does not link $want: $d" ;; esac
	case "$d" in *"$other"*) fail "$(basename "$f") links $other too: $d" ;; esac
	ok "$(basename "$f") exports only tr_nm_editor_new and links $want only"
done
echo "1..$n"
