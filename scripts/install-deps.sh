#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Installs every Debian package that building Trellis, its tests and its demo
# need. Non-interactive and idempotent: when everything is present it changes
# nothing and touches no network. Debian 12 (bookworm), as root.
set -eu

PACKAGES="
  build-essential meson ninja-build pkg-config
  libglib2.0-dev libjson-glib-dev libjansson-dev libgnutls28-dev gnutls-bin liblzo2-dev libssl-dev
  libgcrypt20-dev
  libgtk-3-dev libnm-dev
  network-manager dbus-daemon libnma-dev libnma-gtk4-dev libgtk-4-dev libsecret-1-dev
  network-manager-gnome xvfb imagemagick xdotool
  libayatana-appindicator3-dev libpolkit-gobject-1-dev polkitd gettext
  desktop-file-utils appstream libxml2-utils
  x11-utils trayer dbus python3-gi util-linux gnome-keyring pkexec
  libpam0g-dev libcrypt-dev
  clang-14 libclang-rt-14-dev llvm-14 clang-format-14
  cppcheck valgrind
  gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev libz-mingw-w64-dev
  dpkg-dev cmake wine wine64 nsis
  iproute2 iputils-ping nftables iperf3 tcpdump procps psmisc kmod bc
  dnsmasq-base busybox
  python3 systemd
  debhelper dpkg-dev lintian man-db git dbus-bin
  libminiupnpc-dev libnatpmp-dev
  miniupnpd-nftables stun-server miniupnpc natpmpc
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing" >&2
	echo "install-deps: run as root (or: sudo $0)" >&2
	exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
# Some packages ship services (stun-server: stund) that the tests start
# themselves, in namespaces. Nothing may start on the machine while they are
# installed: policy-rc.d answering 101 ("action forbidden") makes invoke-rc.d
# and deb-systemd-invoke skip every start. Only when the machine has none of
# its own (container images often do); removed again afterwards.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# install-deps.sh: start no service while installing\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 130' INT TERM
fi
apt-get -o DPkg::Lock::Timeout=600 update -q
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends $missing
