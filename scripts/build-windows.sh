#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Trellis for Windows, from this Debian machine, in one command:
#
#   scripts/build-windows.sh [--test] [--installer] [--tap-driver DIR]
#
# 1. the libraries (scripts/windows-deps.sh: built once, then cached),
# 2. the programs, cross-compiled with mingw-w64 into build-win/,
# 3. build-win/dist/: the programs with every DLL they load,
# 4. --installer: build-win/trellis-VERSION-setup.exe (NSIS); with
#    --tap-driver DIR the TAP-Windows6 driver files in DIR are bundled,
# 5. --test: the portable unit tests and the end-to-end tests under wine64
#    (tests/windows/test-wine.sh).
# docs/WINDOWS.md says what each step proves and what it does not.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
export PATH=/usr/bin:/bin:/usr/sbin:/sbin

run_tests=0 installer=0 tap_driver=""
while [ $# -gt 0 ]; do
	case $1 in
	--test) run_tests=1 ;;
	--installer) installer=1 ;;
	--tap-driver)
		tap_driver=${2:?--tap-driver needs a directory}
		shift
		;;
	-h | --help)
		sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "build-windows: unknown argument $1 (try --help)" >&2
		exit 2
		;;
	esac
	shift
done
host=x86_64-w64-mingw32

mapfile -t prefixes < <(scripts/windows-deps.sh)
[ ${#prefixes[@]} -gt 0 ] || exit 1
pc_dirs=$(printf '%s/lib/pkgconfig:' "${prefixes[@]}")
build=$top/build-win
mkdir -p "$build"
# The libraries' pkg-config files, on top of the compiler settings.
cat >"$build.deps.ini" <<EOF
[binaries]
pkgconfig = 'pkg-config'
[properties]
pkg_config_libdir = '${pc_dirs%:}'
EOF
# -Dopenssl=disabled: the data channel's ChaCha20-Poly1305 stays GnuTLS's on
# Windows (no OpenSSL stage; docs/WINDOWS.md).
cross=(--cross-file platform/windows/cross-mingw64.txt --cross-file "$build.deps.ini" -Dopenssl=disabled)
# meson keeps what it found: libraries from another cache (new versions or
# recipe) need a fresh build directory.
if [ "$(cat "$build/.deps-prefixes" 2>/dev/null)" != "${prefixes[*]}" ]; then
	rm -rf "$build"
	mkdir -p "$build"
fi
if [ -f "$build/build.ninja" ]; then
	meson setup --reconfigure "$build" "${cross[@]}" -Dwerror=true >"$build.setup.log" 2>&1
else
	rm -rf "$build"
	meson setup "$build" "${cross[@]}" -Dwerror=true >"$build.setup.log" 2>&1
fi || {
	cat "$build.setup.log"
	exit 1
}
sed -n '/^trellis /,$p' "$build.setup.log"
echo "${prefixes[*]}" >"$build/.deps-prefixes"
ninja -C "$build" -j"${TR_JOBS:-2}"

# ---- dist/: programs and the DLLs they need, found by their import tables ------
gcc_dir=$(dirname "$($host-gcc -print-libgcc-file-name)")
dll_path=()
for p in "${prefixes[@]}"; do
	dll_path+=("$p/bin")
done
dll_path+=("$gcc_dir" "/usr/$host/lib")
dist=$build/dist
rm -rf "$dist"
mkdir -p "$dist"
cp "$build/client/trellis-client.exe" "$build/cli/trellis.exe" \
	"$build/platform/trellis-tapctl.exe" "$build/gui/tray/trellis-tray.exe" "$dist/"
# GLib starts programs (the tray's `trellis join`) through its helpers.
for p in "${prefixes[@]}"; do
	cp "$p"/bin/gspawn-win64-helper*.exe "$dist/" 2>/dev/null || true
done
find_dll() {
	for d in "${dll_path[@]}"; do
		[ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	return 1 # a system DLL (KERNEL32, WS2_32, ...)
}
queue=("$dist"/*.exe)
while [ ${#queue[@]} -gt 0 ]; do
	file=${queue[0]}
	queue=("${queue[@]:1}")
	for dll in $($host-objdump -p "$file" | sed -n 's/^\s*DLL Name: //p'); do
		[ -f "$dist/$dll" ] && continue
		if src=$(find_dll "$dll"); then
			cp "$src" "$dist/"
			queue+=("$dist/$dll")
		fi
	done
done
cat "${prefixes[@]/%//share/trellis/versions}" >"$dist/library-versions.txt"
echo "build-windows: $(ls "$dist" | wc -l) files in $dist"
# WINEPATH for running the build tree's programs (meson test, the wine tests).
(
	IFS=';'
	printf '%s' "${dll_path[*]}"
) >"$build/winepath"

if [ "$installer" = 1 ]; then
	version=$(sed -n "s/^ *version: '\([^']*\)'.*/\1/p" meson.build | head -n1)
	nsis=(makensis -V2 -DVERSION="$version" -DDIST="$dist" -DOUTFILE="$build/trellis-$version-setup.exe")
	if [ -n "$tap_driver" ]; then
		for f in OemVista.inf tap0901.sys tap0901.cat; do
			[ -f "$tap_driver/$f" ] || {
				echo "build-windows: --tap-driver $tap_driver lacks $f" >&2
				exit 1
			}
		done
		nsis+=(-DTAP_DRIVER="$(cd "$tap_driver" && pwd)")
	fi
	"${nsis[@]}" data/windows/installer.nsi
	echo "build-windows: $build/trellis-$version-setup.exe"
fi

if [ "$run_tests" = 1 ]; then
	tests/windows/test-wine.sh "$build"
fi
