#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Fails when a tracked C file differs from .clang-format (clang-format 14,
# Debian 12's). Lists each such file and how to fix it.
set -eu
cd "$(dirname "$0")/.."
bad=0
for f in $(git ls-files '*.c' '*.h'); do
	if ! clang-format-14 --dry-run -Werror "$f" >/dev/null 2>&1; then
		echo "check-format: $f differs from .clang-format" >&2
		bad=$((bad + 1))
	fi
done
if [ "$bad" -ne 0 ]; then
	echo "check-format: $bad file(s); fix with: clang-format-14 -i FILE (or scripts/check-format.sh --fix)" >&2
	[ "${1:-}" = --fix ] && git ls-files '*.c' '*.h' | xargs clang-format-14 -i && exit 0
	exit 1
fi
echo "check-format: $(git ls-files '*.c' '*.h' | wc -l) files match .clang-format"
