# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# The start of a netns test: the namespace helper (netns.sh: cleanup at exit
# by PID, namespaces named per run) and TAP output (tap.sh: ok, fail,
# tap_plan), a skip (exit 77) unless root, and
#   B  the build root, where the programs are
#   T  the test's scratch directory (logs, sockets; removed at exit)
# Source it first:  . "$TR_SOURCE_ROOT/tests/lib/lab.sh"
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
B=$TR_BUILD_ROOT
T=$(netns_tmpdir)
. "$TR_SOURCE_ROOT/tests/lib/tap.sh"
