#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Cross-builds the libraries Trellis needs on Windows with mingw-w64 from
# Debian's own source packages, at the very versions this machine's -dev
# packages come from, into a cache. The work is split in stages, each cached
# on its own under a key made of its libraries' versions, the compiler and its
# recipe (the stage's function and the helpers it uses), so that adding a
# stage or changing one rebuilds that stage only:
#
#   base      LZO, GMP, nettle, GnuTLS, PCRE2, libffi, GLib, json-glib
#   portmap   miniupnpc (UPnP-IGD port mapping)
#   json      jansson (the tray's reading of the daemons' status)
#
#   scripts/windows-deps.sh            build what is missing; print each
#                                      stage's prefix, one per line
#   scripts/windows-deps.sh --key      print "STAGE KEY" lines only
#
# A complete stage is reused without touching the network. The cache lives in
# $TR_WIN_DEPS_CACHE, else /var/cache/trellis-win-deps when writable, else
# ~/.cache/trellis-win-deps. About 25 minutes cold on 2 cores (base), well
# under a minute for portmap and json. Progress goes to stderr.
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

# Each stage's libraries: the Debian source package, the installed -dev
# package whose source version is built, and "optional" when Trellis builds
# without it. Order is build order.
stages=(base portmap json)
libs_base=(
	"lzo2 liblzo2-dev"
	"gmp libgmp-dev"
	"nettle nettle-dev"
	"gnutls28 libgnutls28-dev"
	"pcre2 libpcre2-dev"
	"libffi libffi-dev"
	"glib2.0 libglib2.0-dev"
	"json-glib libjson-glib-dev optional"
)
libs_portmap=(
	"miniupnpc libminiupnpc-dev"
)
libs_json=(
	"jansson libjansson-dev"
)

source_version() { # source_version DEVPKG: the version of the source it was built from
	local v
	v=$(dpkg-query -W -f='${source:Version}' "$1" 2>/dev/null) ||
		die "$1 is not installed (run scripts/install-deps.sh)"
	[ -n "$v" ] || die "no source version for $1"
	printf '%s' "$v"
}

# ---- Building blocks (part of every stage's key) ------------------------------

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

autotools() { # autotools SOURCE CONFIGURE-ARGS...
	local src=$1 dir
	shift
	dir=$(srcdir "$src")
	say "build $src"
	run "$src" sh -c "cd '$dir' && ./configure --host=$host --prefix='$prefix' \
		--enable-shared --disable-static $* && make -j$jobs && make install"
}

mesonlib() { # mesonlib SOURCE MESON-ARGS...
	local src=$1 dir
	shift
	dir=$(srcdir "$src")
	say "build $src"
	run "$src" meson setup "$dir/_w64" "$dir" --cross-file "$prefix/share/trellis/cross.txt" \
		--prefix="$prefix" --libdir=lib --buildtype=release --wrap-mode=nodownload "$@"
	run "$src" ninja -C "$dir/_w64" -j"$jobs"
	run "$src" ninja -C "$dir/_w64" install
}

cmakelib() { # cmakelib SOURCE CMAKE-ARGS...
	local src=$1 dir
	shift
	dir=$(srcdir "$src")
	say "build $src"
	run "$src" cmake -S "$dir" -B "$dir/_w64" -DCMAKE_SYSTEM_NAME=Windows \
		-DCMAKE_C_COMPILER=$host-gcc -DCMAKE_RC_COMPILER=$host-windres \
		-DCMAKE_FIND_ROOT_PATH=/usr/$host -DCMAKE_INSTALL_PREFIX="$prefix" \
		-DCMAKE_INSTALL_LIBDIR=lib -DCMAKE_BUILD_TYPE=Release "$@"
	run "$src" cmake --build "$dir/_w64" -j "$jobs"
	run "$src" cmake --install "$dir/_w64"
}

write_cross_file() { # the meson cross file for the stage's meson builds, and Trellis
	mkdir -p "$prefix/share/trellis"
	cat >"$prefix/share/trellis/cross.txt" <<EOF
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
}

# ---- The stages -----------------------------------------------------------------

stage_base() {
	autotools lzo2
	# Debian's gmp source (+dfsg) has no doc/ (the manual is non-free), which
	# its configure still lists: give it an empty one.
	local gmp_doc
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

	# GLib links libintl; Debian has no mingw gettext: a stub that does not translate.
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
	local mingw=/usr/$host zlib_version
	zlib_version=$(source_version libz-mingw-w64-dev)
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
	built_versions+="zlib=$zlib_version (libz-mingw-w64-dev)"$'\n'

	write_cross_file
	mesonlib glib2.0 -Dtests=false -Dinstalled_tests=false -Dgtk_doc=false -Dman=false \
		-Dnls=disabled -Dlibelf=disabled -Dsysprof=disabled
	[[ " $skipped " == *" json-glib "* ]] ||
		mesonlib json-glib -Dintrospection=disabled -Dgtk_doc=disabled -Dtests=false -Dman=false
}

stage_portmap() {
	# A DLL (the import library is what miniupnpc.pc names).
	cmakelib miniupnpc -DUPNPC_BUILD_SHARED=ON -DUPNPC_BUILD_STATIC=OFF \
		-DUPNPC_BUILD_TESTS=OFF -DUPNPC_BUILD_SAMPLE=OFF
}

stage_json() {
	# A DLL, like on Linux (jansson.pc names the import library).
	cmakelib jansson -DJANSSON_BUILD_SHARED_LIBS=ON -DJANSSON_BUILD_DOCS=OFF \
		-DJANSSON_EXAMPLES=OFF -DJANSSON_WITHOUT_TESTS=ON
}

# ---- Keys ---------------------------------------------------------------------------

compiler=$($host-gcc --version 2>/dev/null | head -n1) || die "$host-gcc missing (install-deps.sh)"

stage_libs() { # stage_libs STAGE: its library lines
	local -n list="libs_$1"
	printf '%s\n' "${list[@]}"
}

stage_key() { # stage_key STAGE: versions, compiler and recipe, hashed
	local stage=$1 src dev _
	{
		while read -r src dev _; do
			printf '%s=%s\n' "$src" "$(source_version "$dev")"
		done < <(stage_libs "$stage")
		printf '%s\n' "$compiler"
		declare -f srcdir run autotools mesonlib cmakelib write_cross_file "stage_$stage"
		if [ "$stage" = base ]; then
			printf 'zlib=%s\n' "$(source_version libz-mingw-w64-dev)"
			cat "$here/windows/intl-stub.c" "$here/windows/libintl.h"
		fi
	} | sha256sum | cut -c1-16
}

if [ "${1:-}" = "--key" ]; then
	for stage in "${stages[@]}"; do
		echo "$stage $(stage_key "$stage")"
	done
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

# One build at a time per cache; a second caller waits (bounded) and reuses it.
exec 9>"$cache/.lock"
flock -w 3600 9 || die "waited an hour for $cache/.lock"

work=""
wineprefix=""
cleanup() {
	if [ -n "$wineprefix" ] && [ -d "$wineprefix" ]; then
		WINEPREFIX=$wineprefix wineserver -k 2>/dev/null || true
	fi
	[ -n "$work" ] && rm -rf "$work"
	return 0
}
trap cleanup EXIT

# Fetches the sources of a stage's libraries into $src_dir: apt-get source
# with a deb-src list made from this machine's configured mirrors, in a
# private apt state (nothing under /etc changes).
fetch_sources() { # fetch_sources STAGE
	local apt_dir=$work/apt codename src dev optional version built
	local apt_opts=(-o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt_dir/parts"
		-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache::Archives=$apt_dir/archives"
		-o "APT::Sandbox::User=root" -o "Acquire::Retries=3" -q)

	mkdir -p "$apt_dir"/{lists/partial,parts,archives/partial} "$src_dir"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		sed 's/^Types: *deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>"$apt_dir/parts/src.sources"
	fi
	if [ -f /etc/apt/sources.list ]; then
		sed -n 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list >"$apt_dir/parts/src.list"
	fi
	say "apt-get update (deb-src)"
	apt-get "${apt_opts[@]}" update >"$work/apt-update.log" 2>&1 || {
		tail -n 20 "$work/apt-update.log" >&2
		die "apt-get update for the deb-src list failed"
	}
	codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
	while read -r src dev optional; do
		version=$(source_version "$dev")
		say "source $src $version"
		# The security archive's mirror may lack the source of an update (404):
		# then the release's own version, and the cache records which was built.
		if ! (cd "$src_dir" && apt-get "${apt_opts[@]}" source "$src=$version") \
			>"$work/source-$src.log" 2>&1; then
			say "  $src $version has no source on this mirror: using $src/$codename"
			if ! (cd "$src_dir" && apt-get "${apt_opts[@]}" source "$src/$codename") \
				>>"$work/source-$src.log" 2>&1; then
				tail -n 20 "$work/source-$src.log" >&2
				[ -n "$optional" ] || die "apt-get source $src failed"
				# Optional: Trellis builds without it (docs/WINDOWS.md says what is missing).
				say "  $src is optional: building without it"
				skipped+=" $src"
				built_versions+="$src=(no source on this mirror: not built)"$'\n'
				continue
			fi
		fi
		built=$(cd "$src_dir" && ls "${src}"_*.dsc | head -n1)
		built=${built#"${src}"_}
		built_versions+="$src=${built%.dsc}"$'\n'
	done < <(stage_libs "$1")
}

for stage in "${stages[@]}"; do
	key=$(stage_key "$stage")
	prefix=$cache/$stage-$key
	if [ ! -f "$prefix/.complete" ]; then
		say "stage $stage: building into $prefix"
		rm -rf "$prefix"
		mkdir -p "$prefix"/{bin,include,lib/pkgconfig,share/trellis}
		work=$(mktemp -d "$cache/work.XXXXXX")
		wineprefix=$work/wine
		src_dir=$work/src
		skipped=""
		built_versions=""
		export PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig PKG_CONFIG_PATH=
		export CPPFLAGS="-I$prefix/include" LDFLAGS="-L$prefix/lib"
		export WINEPREFIX=$wineprefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
		fetch_sources "$stage"
		"stage_$stage"
		printf '%s' "$built_versions" >"$prefix/share/trellis/versions"
		touch "$prefix/.complete"
		cleanup
		work=""
		wineprefix=""
		say "stage $stage: done"
	fi
	# Older builds of this stage (other versions or recipes) are not reused.
	find "$cache" -mindepth 1 -maxdepth 1 -type d -name "$stage-*" ! -name "$stage-$key" \
		-exec rm -rf {} +
	echo "$prefix"
done
# Directories of stages this script does not know are left alone: branches
# with other stages may share the cache.
exit 0
}
