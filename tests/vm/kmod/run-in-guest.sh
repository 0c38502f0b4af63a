#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Kernel module tests, run inside the test VM (one boot):
#
#   make -C kmod && tests/vm/kmod/build.sh && \
#       tests/vm/run -- tests/vm/kmod/run-in-guest.sh
#
# tests/vm/run has loaded sagafs.ko already.  This runs the trust test
# program, the raw ABI test program, the failed-SET_CONFIG cases against
# the fault injecting build, then the module lifecycle checks, printing
# TAP; exit status is non-zero if anything failed.
set -u

repo=$(cd "$(dirname "$0")/../../.." && pwd)
bin="$repo/target/vm/kmod/abi_test"
trust="$repo/target/vm/kmod/trust_test"
fault_ko="$repo/target/vm/kmod/fault/sagafs.ko"
ko="$repo/kmod/sagafs.ko"
. "$repo/tests/vm/lib.sh"

dmesg_clean() {
	local reports

	if ! reports=$(kernel_reports); then
		diag "$reports"
		return 1
	fi
}

for f in "$bin" "$trust" "$fault_ko"; do
	[ -e "$f" ] || { echo "Bail out! $f missing: run tests/vm/kmod/build.sh"; exit 1; }
done
[ -c /dev/sagafs ] || { echo "Bail out! /dev/sagafs missing (module not loaded?)"; exit 1; }

# First: its kernel log check must not see rate limiting from earlier runs.
echo "# --- trust_test ---"
if "$trust"; then ok "trust_test"; else not_ok "trust_test"; fi

echo "# --- abi_test ---"
if "$bin"; then ok "abi_test"; else not_ok "abi_test"; fi

echo "# --- failed SET_CONFIG (fault injecting build) ---"
if rmmod sagafs && insmod "$fault_ko"; then
	if "$trust" --faults; then ok "trust_test --faults"; else not_ok "trust_test --faults"; fi
	rmmod sagafs
	check "normal module back" insmod "$ko"
else
	not_ok "load the fault injecting build"
	lsmod 2>/dev/null | grep -q '^sagafs' || insmod "$ko"
fi

echo "# --- lifecycle ---"
check "device is 0600 root" test "$(stat -c '%a %u' /dev/sagafs)" = "600 0"

# rmmod while the rings are mapped must be refused; the device keeps working
ready=/tmp/sagafs-hold-ready
rm -f "$ready"
"$bin" --hold "$ready" &
holder=$!
check "holder mapped the rings" wait_until test -e "$ready"
if rmmod sagafs 2>/dev/null; then
	not_ok "rmmod refused while mapped"
	insmod "$ko"
else
	ok "rmmod refused while mapped"
fi
check "device works while mapped" "$bin" --info
kill "$holder"
wait "$holder" 2>/dev/null
check "rmmod after the consumer is gone" rmmod sagafs

# bad module parameter: clear error, nothing loaded
if insmod "$ko" ring_kb=48 2>/dev/null; then
	not_ok "insmod ring_kb=48 refused"
	rmmod sagafs
else
	ok "insmod ring_kb=48 refused"
fi
check "ring_kb error logged" bash -c "dmesg | grep -q 'ring_kb=48: must be a power of two'"

# 20 load/enable/unload cycles with a workload running
(
	while :; do
		ls -R /usr/lib >/dev/null 2>&1
		cat /proc/self/status >/dev/null
		sh -c true
	done
) &
load=$!
cycles_ok=0
for i in $(seq 20); do
	echo "# cycle $i"
	insmod "$ko" || break
	"$bin" --enable || break
	"$bin" --info >/dev/null || break
	sleep 0.2
	rmmod sagafs || break
	cycles_ok=$i
done
kill "$load"
wait "$load" 2>/dev/null
check "20 insmod/enable/rmmod cycles under load ($cycles_ok done)" test "$cycles_ok" = 20

# leave the module loaded, as found
lsmod 2>/dev/null | grep -q '^sagafs' || insmod "$ko"
check "dmesg clean" dmesg_clean

finish
