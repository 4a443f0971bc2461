#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The netns helper itself: namespaces and veth are made, traffic crosses, and
# everything is gone afterwards -- after success, failure and interruption.
#
#   [ns a] 198.18.1.1/24 --veth-- 198.18.1.2/24 [ns b]
set -u
. "$TR_SOURCE_ROOT/tests/lib/netns.sh"
netns_require_root

netns_new a a || netns_fail "netns_new a"
netns_new b b || netns_fail "netns_new b"
netns_link "$a" 198.18.1.1/24 "$b" 198.18.1.2/24 || netns_fail "netns_link"
[ "$NETNS_IFA" = veth1a ] && [ "$NETNS_IFB" = veth1b ] || netns_fail "veth names not reported"
netns_exec "$b" ping -c 2 -i 0.2 -W 2 198.18.1.1 >/dev/null || netns_fail "no ping across the veth"
echo "ok 1 - ping across the veth pair"

# Names are unique per run: a second helper instance gets different names.
other=$(bash -c ". '$TR_SOURCE_ROOT/tests/lib/netns.sh'; netns_new x a; echo \$x")
[ "$other" != "$a" ] || netns_fail "namespace names repeat across runs"
ip netns list | grep -q "^$other\b" && netns_fail "child's namespace $other outlived the child"
echo "ok 2 - names unique per run; a child's namespace removed when it exits"

# A child test that fails, and one that is killed mid-way, leave nothing behind.
tmp=$(netns_tmpdir)
cat >"$tmp/child.sh" <<CHILD
. '$TR_SOURCE_ROOT/tests/lib/netns.sh'
netns_new x x
echo "\$x" > '$tmp/name.'\$1
scratch=\$(netns_tmpdir)
echo "\$scratch" > '$tmp/scratch.'\$1
netns_spawn "\$x" sleep 300
echo \$NETNS_LAST_PID > '$tmp/pid.'\$1
[ "\$1" = fail ] && exit 1
# bash runs traps only between commands: wait, don't sleep in the foreground.
sleep 300 &
wait \$!
CHILD
bash "$tmp/child.sh" fail && netns_fail "child should have failed"
bash "$tmp/child.sh" kill &
child=$!
netns_wait_for 10 test -s "$tmp/pid.kill" || netns_fail "child did not start"
kill -TERM "$child"
wait "$child"
for how in fail kill; do
	ns=$(cat "$tmp/name.$how")
	pid=$(cat "$tmp/pid.$how")
	ip netns list | grep -q "^$ns\b" && netns_fail "namespace $ns left behind after $how"
	kill -0 "$pid" 2>/dev/null && netns_fail "process $pid left behind after $how"
	scratch=$(cat "$tmp/scratch.$how")
	[ -n "$scratch" ] && [ ! -e "$scratch" ] || netns_fail "scratch directory '$scratch' left behind after $how"
done
echo "ok 3 - cleanup after a failing and an interrupted test (namespaces, processes, scratch)"

netns_spawn "$a" sleep 300
p=$NETNS_LAST_PID
netns_kill "$p"
kill -0 "$p" 2>/dev/null && netns_fail "netns_kill left $p running"
echo "ok 4 - netns_kill stops a spawned process"
echo "1..4"
