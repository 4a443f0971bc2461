#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Tun offloads (IFF_VNET_HDR, TUNSETOFFLOAD) on a real device, inside a
# namespace made for this run: tr-tun-offload opens a tun with
# TR_DEVICE_OFFLOAD at 198.19.77.1/24 and plays the far end (198.19.77.2) of
# a TCP connection and of UDP traffic the kernel makes through it.
#
#   [ns o] TCP/UDP sockets <-> tun tro0 (vnet header) <-> tr-tun-offload
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root
[ -e /dev/net/tun ] || netns_skip "no /dev/net/tun on this machine"

tool=$TR_BUILD_ROOT/tests/tr-tun-offload
tmp=$(netns_tmpdir)
netns_new o off || netns_fail "netns_new"

# In the background with its PID recorded (cleanup kills it by PID), and
# bounded: it has 30 s, its own waits are shorter.
netns_spawn "$o" timeout 30 "$tool" >"$tmp/out" 2>"$tmp/err"
pid=$NETNS_LAST_PID
wait "$pid"
rc=$?
cat "$tmp/out"
[ -s "$tmp/err" ] && cat "$tmp/err" >&2
[ "$rc" -eq 0 ] || netns_fail "tr-tun-offload exited with $rc"
grep -q '^1\.\.[0-9]' "$tmp/out" || netns_fail "tr-tun-offload did not finish"
ip -n "$o" link show tro0 >/dev/null 2>&1 && netns_fail "tro0 outlived the tool"
exit 0
