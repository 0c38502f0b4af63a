#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The VM test suite: runs inside the guest (tests/vm/run), with sagafs.ko
# loaded, every component in turn.  Each component's closing line
# ("N passed, M failed", or cargo's "test result:") is written as
# "component: N passed, M failed" to RESULTS_DIR/vm-results.log; a
# component that ends without one counts as one failure.
#
# usage (host): tests/vm/prepare.sh &&
#               tests/vm/run --rwdir DIR -- tests/vm/suite.sh DIR
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: suite.sh RESULTS_DIR}
results=$out/vm-results.log
: >"$results"
bin=target/vm/bin
rc=0

run() {
	local name=$1
	shift
	printf '\n======== VM: %s ========\n' "$name"
	local log
	log=$(mktemp)
	"$@" 2>&1 | tee "$log"
	local status=${PIPESTATUS[0]}
	local line
	line=$(grep -E '^(test result: [a-z]+\. )?[0-9]+ passed[;,] [0-9]+ failed' "$log" |
		sed -E 's/^test result: [a-z]+\. //; s/^([0-9]+) passed[;,] ([0-9]+) failed.*/\1 passed, \2 failed/' |
		awk '{p += $1; f += $3} END {if (NR) print p " passed, " f " failed"}')
	if [ -z "$line" ]; then
		line="0 passed, 1 failed"
		echo "suite: $name printed no result line (exit $status)" >&2
	elif [ "$status" != 0 ] && [ "$(echo "$line" | awk '{print $3}')" = 0 ]; then
		line="$(echo "$line" | awk '{print $1}') passed, 1 failed"
		echo "suite: $name exited $status" >&2
	fi
	echo "$name: $line" >>"$results"
	[ "$status" = 0 ] || rc=1
	rm -f "$log"
}

# The Rust binding against the module, then the daemon end to end, then
# the module's own ABI tests and lifecycle checks (last: they unload and
# reload the module).
for t in "$bin"/vm_*; do
	[ -x "$t" ] || continue
	run "$(basename "$t")" "$t" --test-threads=1
done
# Raw SET_RULES/GET_RULES: malformed and random sets; leaves no rules.
run kmod-rules target/vm/kmod/rules_test
run e2e tests/vm/e2e.sh
# The ABI tests expect the module's load-time defaults: the daemon tests
# leave their config behind (it outlives the daemon, by design); the
# mismatch test unloads the module, which also proves nothing pins it.
run abi-mismatch tests/vm/abi-mismatch.sh
run reload sh -c 'insmod kmod/sagafs.ko && echo "1 passed, 0 failed"'
run kmod tests/vm/kmod/run-in-guest.sh
# Installation and mount(8) through mount.sagafs, starting without the
# module: make install, modprobe by the helper, umount, make uninstall.
rmmod sagafs 2>/dev/null
run packaging packaging/test-vm.sh

printf '\n======== VM results ========\n'
cat "$results"
exit $rc
