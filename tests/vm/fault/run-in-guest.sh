#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Fault injection on the module's paths, in the guest (tests/vm/suite.sh
# runs it with sagafs.ko loaded; needs the debug kernel: fail-nth,
# failslab, fail_page_alloc, kmemleak).  target/vm/fault/fault fails
# every injection point of each path in turn; then kmemleak must find no
# new suspect.
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/vm/lib.sh
bin=target/vm/fault/fault
dbg=/sys/kernel/debug

[ -x "$bin" ] || { echo "Bail out! $bin missing: run tests/vm/prepare.sh"; exit 1; }
[ -e /proc/self/fail-nth ] ||
	{ echo "Bail out! no /proc/self/fail-nth: this kernel ($SAGAFS_KERNEL) has no fault injection"; exit 1; }
mountpoint -q "$dbg" || mount -t debugfs none "$dbg"
for f in failslab fail_page_alloc; do
	[ -d "$dbg/$f" ] || { echo "Bail out! $dbg/$f missing"; exit 1; }
done
# Fail sleeping allocations too, and single pages: every allocation
# counts as a point.  One line per injected failure, no stack.
echo N >"$dbg/failslab/ignore-gfp-wait"
echo N >"$dbg/fail_page_alloc/ignore-gfp-wait"
echo N >"$dbg/fail_page_alloc/ignore-gfp-highmem"
echo 0 >"$dbg/fail_page_alloc/min-order"
for f in failslab fail_page_alloc fail_usercopy; do
	[ -e "$dbg/$f/verbose" ] && echo 1 >"$dbg/$f/verbose"
done
# The warnings of the failures injected here are not reports.
touch /run/sagafs-alloc-failures-ok

leaks=1
kmemleak_start || { leaks=0; not_ok "kmemleak is built in"; }
relay "$bin" "$(pwd)/kmod/sagafs.ko"
lsmod | grep -q '^sagafs ' || insmod kmod/sagafs.ko
if [ "$leaks" = 1 ]; then
	if out=$(kmemleak_leaks); then
		ok "kmemleak: no new suspected leak"
	else
		not_ok "kmemleak: new suspected leaks"
		diag "$out"
	fi
fi
finish
