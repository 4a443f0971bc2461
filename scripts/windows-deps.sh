#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-builds the libraries Trellis needs on Windows (LZO, GMP, nettle,
# GnuTLS, PCRE2, libffi, GLib, json-glib) with mingw-w64 from Debian's own
# source packages, at the very versions this machine's -dev packages come
# from, into a cache directory keyed by those versions, the compiler and this
# script. A complete cache is reused without touching the network.
#
#   scripts/windows-deps.sh            build when missing; print the prefix
#   scripts/windows-deps.sh --key      print the cache key only
#
# The cache lives in $TR_WIN_DEPS_CACHE, else /var/cache/trellis-win-deps when
# writable, else ~/.cache/trellis-win-deps. About 25 minutes cold on 2 cores.
# Progress goes to stderr; the only line on stdout is the prefix.
set -euo pipefail
# The whole script is one compound command: bash reads it completely before
# running it, so editing the file during a build cannot disturb that build.
{

here=$(cd "$(dirname "$0")" && pwd)
host=x86_64-w64-mingw32
jobs=${TR_JOBS:-2}
# Debian's meson runs with /usr/bin/python3; a python3 earlier on the PATH
# (pyenv) lacks its modules.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin

say() { printf 'windows-deps: %s\n' "$*" >&2; }
die() {
	say "error: $*"
	exit 1
}

# Each library: the Debian source package and the installed -dev package whose
# source version we build. Order is build order.
libs=(
	"lzo2 liblzo2-dev"
	"gmp libgmp-dev"
	"nettle nettle-dev"
	"gnutls28 libgnutls28-dev"
	"pcre2 libpcre2-dev"
	"libffi libffi-dev"
	"glib2.0 libglib2.0-dev"
	"json-glib libjson-glib-dev optional"
)

source_version() { # source_version DEVPKG: the version of the source it was built from
	local v
	v=$(dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null) ||
		die "$1 is not installed (run scripts/install-deps.sh)"
	[ -n "$v" ] || die "no source version for $1"
	printf '%s' "$v"
}

versions=""
for entry in "${libs[@]}"; do
	read -r src dev _ <<<"$entry"
	versions+="$src=$(source_version "$dev")"$'\n'
done
zlib_version=$(source_version libz-mingw-w64-dev)
compiler=$($host-gcc --version 2>/dev/null | head -n1) || die "$host-gcc missing (install-deps.sh)"
# The recipe is this script without its comments, and the libintl stub.
key=$({
	printf '%s%s\n%s\n' "$versions" "zlib=$zlib_version" "$compiler"
	grep -v '^[[:space:]]*#' "$0"
	cat "$here/windows/intl-stub.c" "$here/windows/libintl.h"
} | sha256sum | cut -c1-16)

if [ "${1:-}" = "--key" ]; then
	echo "$key"
	exit 0
fi

cache=${TR_WIN_DEPS_CACHE:-}
if [ -z "$cache" ]; then
	if mkdir -p /var/cache/trellis-win-deps 2>/dev/null && [ -w /var/cache/trellis-win-deps ]; then
		cache=/var/cache/trellis-win-deps
	else
		cache=${XDG_CACHE_HOME:-$HOME/.cache}/trellis-win-deps
	fi
fi
mkdir -p "$cache"
prefix=$cache/$key

# One build at a time per cache; a second caller waits (bounded) and reuses it.
exec 9>"$cache/.lock"
flock -w 3600 9 || die "waited an hour for $cache/.lock"

if [ -f "$prefix/.complete" ]; then
	echo "$prefix"
	exit 0
fi

say "building into $prefix"
printf '%s' "$versions" | sed 's/^/  /' >&2
rm -rf "$prefix"
mkdir -p "$prefix"/{bin,include,lib/pkgconfig,share/trellis}
work=$(mktemp -d "$cache/work.XXXXXX")
wineprefix=$work/wine
cleanup() {
	[ -d "$wineprefix" ] && WINEPREFIX=$wineprefix wineserver -k 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

# ---- Sources: apt-get source with a deb-src list made from this machine's
# configured mirrors, in a private apt state (nothing under /etc changes).
apt_dir=$work/apt
mkdir -p "$apt_dir"/{lists/partial,parts,archives/partial}
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
	sed 's/^Types: *deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources >"$apt_dir/parts/src.sources"
fi
if [ -f /etc/apt/sources.list ]; then
	sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >"$apt_dir/parts/src.list"
fi
apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/parts"
	-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
	-o "APT::Sandbox::User=root" -o "Acquire::Retries=3" -q)
say "apt-get update (deb-src)"
apt-get "${apt_opts[@]}" update >"$work/apt-update.log" 2>&1 || {
	tail -n 20 "$work/apt-update.log" >&2
	die "apt-get update for the deb-src list failed"
}
src_dir=$work/src
mkdir -p "$src_dir"
codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
built_versions=""
skipped=""
for entry in "${libs[@]}"; do
	read -r src dev optional <<<"$entry"
	version=$(source_version "$dev")
	say "source $src $version"
	# The security archive's mirror may lack the source of an update (404):
	# then the release's own version, and the cache records which one was built.
	if ! (cd "$src_dir" && apt-get "${apt_opts[@]}" source "$src=$version") >"$work/source-$src.log" 2>&1; then
		say "  $src $version has no source on this mirror: using $src/$codename"
		if ! (cd "$src_dir" && apt-get "${apt_opts[@]}" source "$src/$codename") >>"$work/source-$src.log" 2>&1; then
			tail -n 20 "$work/source-$src.log" >&2
			[ -n "$optional" ] || die "apt-get source $src failed"
			# Optional: Trellis builds without it (docs/WINDOWS.md says what is missing then).
			say "  $src is optional: building without it"
			skipped+=" $src"
			built_versions+="$src=(no source on this mirror: not built)"$'\n'
			continue
		fi
	fi
	built=$(cd "$src_dir" && ls "${src}"_*.dsc | head -n1)
	built=${built#"${src}"_}
	built_versions+="$src=${built%.dsc}"$'\n'
done

srcdir() { # srcdir SOURCE: the unpacked tree of that source package
	local d
	d=$(find "$src_dir" -maxdepth 1 -mindepth 1 -type d -name "$1-*" | head -n1)
	[ -n "$d" ] || die "no unpacked source for $1"
	printf '%s' "$d"
}

run() { # run NAME CMD...: quiet unless it fails
	local log=$work/build-$1.log
	shift
	if ! "$@" >>"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "step failed, see above (full log was $log)"
	fi
}

export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
export CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib"
export WINEPREFIX=$wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="

autotools() { # autotools SOURCE CONFIGURE-ARGS...
	local src=$1 dir
	shift
	dir=$(srcdir "$src")
	say "build $src"
	run "$src" sh -c "cd '$dir' && ./configure --host=$host --prefix='$prefix' \
		--enable-shared --disable-static $* && make -j$jobs && make install"
}

autotools lzo2
# Debian's gmp source (+dfsg) has no doc/ (the manual is non-free), which its
# configure still lists: give it an empty one.
gmp_doc=$(srcdir gmp)/doc
if [ ! -e "$gmp_doc/Makefile.in" ]; then
	mkdir -p "$gmp_doc"
	printf 'all install install-data install-exec install-strip uninstall check installcheck clean distclean mostlyclean maintainer-clean:\n' \
		>"$gmp_doc/Makefile.in"
fi
autotools gmp
autotools nettle --disable-documentation --disable-openssl
autotools gnutls28 --with-included-libtasn1 --with-included-unistring --without-p11-kit \
	--without-idn --without-brotli --without-zstd --without-tpm --without-tpm2 --disable-tests \
	--disable-doc --disable-manpages --disable-tools --disable-cxx --disable-guile --without-zlib
autotools pcre2 --disable-pcre2grep-jit
autotools libffi --disable-docs

say "build libintl stub"
run intl $host-gcc -O2 -Wall -c "$here/windows/intl-stub.c" -I"$here/windows" -o "$work/intl.o"
run intl $host-ar rcs "$prefix/lib/libintl.a" "$work/intl.o"
cp "$here/windows/libintl.h" "$prefix/include/"
cat >"$prefix/lib/pkgconfig/intl.pc" <<EOF
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: intl
Description: untranslated libintl stub (scripts/windows/intl-stub.c)
Version: 0.21
Libs: -L\${libdir} -lintl
Cflags: -I\${includedir}
EOF

# zlib is Debian's own mingw-w64 build (libz-mingw-w64-dev), without a .pc file.
mingw=/usr/$host
cat >"$prefix/lib/pkgconfig/zlib.pc" <<EOF
prefix=$mingw
libdir=\${prefix}/lib
includedir=\${prefix}/include
Name: zlib
Description: zlib from libz-mingw-w64-dev
Version: ${zlib_version%%+*}
Libs: -L\${libdir} -lz
Cflags: -I\${includedir}
EOF
cp "$mingw/lib/zlib1.dll" "$prefix/bin/"

# The meson cross file for the dependencies, and for Trellis itself.
cross=$prefix/share/trellis/cross.txt
cat >"$cross" <<EOF
# Written by scripts/windows-deps.sh: mingw-w64 with the libraries in $prefix
[binaries]
c = '$host-gcc'
cpp = '$host-g++'
ar = '$host-ar'
strip = '$host-strip'
windres = '$host-windres'
pkgconfig = 'pkg-config'
exe_wrapper = 'wine'

[properties]
pkg_config_libdir = '$prefix/lib/pkgconfig'

[host_machine]
system = 'windows'
cpu_family = 'x86_64'
cpu = 'x86_64'
endian = 'little'

[built-in options]
c_args = ['-I$prefix/include']
c_link_args = ['-L$prefix/lib']
EOF

mesonlib() { # mesonlib SOURCE MESON-ARGS...
	local src=$1 dir
	shift
	dir=$(srcdir "$src")
	say "build $src"
	run "$src" meson setup "$dir/_w64" "$dir" --cross-file "$cross" --prefix="$prefix" \
		--libdir=lib --buildtype=release --wrap-mode=nodownload "$@"
	run "$src" ninja -C "$dir/_w64" -j"$jobs"
	run "$src" ninja -C "$dir/_w64" install
}

mesonlib glib2.0 -Dtests=false -Dinstalled_tests=false -Dgtk_doc=false -Dman=false \
	-Dnls=disabled -Dlibelf=disabled -Dsysprof=disabled
[[ " $skipped " == *" json-glib "* ]] ||
	mesonlib json-glib -Dintrospection=disabled -Dgtk_doc=disabled -Dtests=false -Dman=false

printf '%s' "$built_versions" >"$prefix/share/trellis/versions"
touch "$prefix/.complete"
WINEPREFIX=$wineprefix wineserver -k 2>/dev/null || true
# Older caches (other versions) are not reused: remove them.
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "${work##*/}" -exec rm -rf {} +
say "done: $prefix"
echo "$prefix"
exit 0
}
