#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start: installs dependencies, builds, and runs Trellis on a built-in
# default: a real tunnel between a hub and two clients in throwaway network
# namespaces. Idempotent; safe after `git clean -xfd`. Needs root.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build

# A hub and two clients in throwaway network namespaces: ping and throughput
# through a real tunnel, then everything is removed again.
./scripts/demo.sh
