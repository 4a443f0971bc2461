#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Quick start: installs dependencies, builds, and runs Trellis on a built-in
# default. Idempotent; safe after `git clean -xfd`.
set -eu
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build

./build/server/trellis-server --version
./build/client/trellis-client --version
./build/cli/trellis --version
