#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The whole test suite, from a bare Debian 12 machine: installs dependencies,
# builds with -Werror, runs every meson suite (unit + netns), repeats the unit
# suite under valgrind memcheck and under ASan+UBSan, the threaded tests under
# ThreadSanitizer, runs the linter and each
# fuzzer for a bounded time, and builds, installs, uses and purges the Debian
# packages (tests/package/test-debian.sh, which also runs the README's commands).
# Idempotent; safe after `git clean -xfd`. Ends with one summary line:
#   tests: N passed, N failed, N skipped
set -u
cd "$(dirname "$0")/.."
top=$PWD

FUZZ_SECONDS=${TR_FUZZ_SECONDS:-20}
passed=0 failed=0 skipped=0
failures=()

note() { printf '\n==== %s\n' "$*"; }

# Adds up meson's results from a build directory's testlog.json.
count_meson() {
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || { failed=$((failed + 1)); failures+=("$1: no test log"); return; }
	local counts
	counts=$(python3 - "$log" <<'PY'
import json, sys
p = f = s = 0
names = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    res = r.get("result")
    if res in ("OK", "EXPECTEDFAIL"):
        p += 1
    elif res == "SKIP":
        s += 1
    else:
        f += 1
        names.append(r.get("name", "?"))
print(p, f, s, " ".join(names))
PY
)
	read -r p f s names <<<"$counts"
	passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
	[ "$f" -eq 0 ] || failures+=("$1: $names")
}

check() { # check NAME CMD...: one pass/fail entry
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failures+=("$name")
	fi
}

setup() { # setup DIR [meson args...]: configure once, reconfigure when present
	local dir=$1
	shift
	if [ -f "$dir/build.ninja" ]; then
		meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1
	else
		rm -rf "$dir"
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1
	fi || { cat "$dir.setup.log"; return 1; }
	sed -n '/^trellis /,$p' "$dir.setup.log"
}

note "dependencies"
if ! ./scripts/install-deps.sh; then
	echo "tests: 0 passed, 1 failed, 0 skipped"
	exit 1
fi

note "format (clang-format, .clang-format)"
check format scripts/check-format.sh
note "layers (scripts/check-layers.sh)"
check layers scripts/check-layers.sh

note "build (-Werror)"
if setup build -Dwerror=true -Dfuzzing=disabled && ninja -C build; then
	note "meson test: unit + netns suites"
	meson test -C build --print-errorlogs --num-processes 2
	count_meson build
	note "lint (cppcheck)"
	check lint ninja -C build lint
	# No suppressions: the suite is clean without any. dc-noalloc skips itself
	# (valgrind replaces malloc too); forked children are checked as well.
	note "valgrind memcheck: unit suite"
	check valgrind env G_SLICE=always-malloc G_DEBUG=gc-friendly \
		meson test -C build --suite unit --no-suite script --print-errorlogs --num-processes 2 --timeout-multiplier 10 \
		--wrapper 'valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --track-origins=no'
else
	failed=$((failed + 1)); failures+=("build")
fi

note "Debian packages: build, lintian, install, the README's commands, purge"
# Installs the packages on this machine and purges them again (CI runs as
# root on a throwaway machine); skips itself when Trellis is installed here.
bash tests/package/test-debian.sh
case $? in
0) passed=$((passed + 1)) ;;
77) skipped=$((skipped + 1)) ;;
*) failed=$((failed + 1)); failures+=("packages (tests/package/test-debian.sh)") ;;
esac

note "Windows (mingw-w64): libraries (cached), programs, installer, tests under wine64"
# The libraries take 12-35 minutes on 2 cores the first time on a machine
# (the whole step 16-40 minutes cold, 3-4 warm: docs/WINDOWS.md), and
# come from the cache (/var/cache/trellis-win-deps) after that.
win_start=$SECONDS
check windows scripts/build-windows.sh --installer --test
echo "Windows: $((SECONDS - win_start)) s"

note "ASan+UBSan build: unit suite"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
if setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
	-Dfuzzing=disabled -Dnetns_tests=disabled -Dgtk=disabled -Dnetworkmanager=disabled &&
	ninja -C build-asan; then
	meson test -C build-asan --suite unit --print-errorlogs --num-processes 2
	count_meson build-asan
else
	failed=$((failed + 1)); failures+=("asan build")
fi

note "ThreadSanitizer: the tests that run threads (data plane, link, RCU, handshake threads)"
# Only these targets are built: the rest of the tree has no threads of its own.
if setup build-tsan -Dwerror=true -Db_sanitize=thread -Dfuzzing=disabled \
	-Dnetns_tests=disabled -Dgtk=disabled -Dnetworkmanager=disabled &&
	ninja -C build-tsan tests/test-dataplane tests/test-link tests/test-rcu tests/test-ctrl; then
	# GLib's slice allocator hands memory between threads' magazines in ways
	# TSan cannot see (GThreads starting and ending: the handshake threads).
	G_SLICE=always-malloc TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		meson test -C build-tsan --no-rebuild --print-errorlogs dataplane link rcu ctrl
	count_meson build-tsan
else
	failed=$((failed + 1)); failures+=("tsan build")
fi

note "fuzzers (clang, libFuzzer, ${FUZZ_SECONDS}s each)"
if command -v clang-14 >/dev/null &&
	CC=clang-14 setup build-fuzz -Dfuzzing=enabled -Db_sanitize=address,undefined -Db_lundef=false \
		-Dnetns_tests=disabled -Dgtk=disabled -Dnetworkmanager=disabled &&
	ninja -C build-fuzz; then
	for fuzzer in build-fuzz/tests/fuzz-*; do
		# Skip meson's fuzz-NAME.p object folders: directories are "executable" too.
		[ -f "$fuzzer" ] && [ -x "$fuzzer" ] || continue
		name=${fuzzer##*/fuzz-}
		case "$name" in replay-*) continue ;; esac
		work=$(mktemp -d)
		# New inputs go to a scratch corpus; the seeds in the repo stay as they are.
		# No pipe into grep: check must run in this shell for its counts to stick.
		check "fuzz-$name" "$fuzzer" -max_total_time="$FUZZ_SECONDS" -timeout=10 \
			-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$top/build-fuzz/crash-$name-" \
			"$work" "tests/fuzz/corpus/$name" >"$work.log" 2>&1
		grep -E '^(stat::number_of_executed_(runs|units)|==|SUMMARY|#[0-9]+ *DONE)' "$work.log"
		rm -rf "$work" "$work.log"
	done
else
	failed=$((failed + 1)); failures+=("fuzz build")
fi

note "summary"
for f in "${failures[@]}"; do
	echo "failed: $f"
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
