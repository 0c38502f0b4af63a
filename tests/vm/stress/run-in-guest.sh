#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The device stress test, in the guest (tests/vm/suite.sh runs it with
# sagafs.ko loaded; meant for the debug kernel):
#
#   1. target/vm/stress/stress for STRESS_SECONDS (default 60): many
#      threads hammering the device and making hostile system calls, then
#      a marked workload that must be logged exactly;
#   2. STRESS_CYCLES (default 50) load/enable/unload cycles while a
#      workload runs;
#   3. no kernel report and no new kmemleak suspect (where built in).
#
# Prints the figures, TAP lines and "N passed, M failed".
set -u
cd "$(dirname "$0")/../../.." || exit 1
. tests/vm/lib.sh
bin=target/vm/stress/stress
ko=kmod/sagafs.ko
secs=${STRESS_SECONDS:-60}
cycles=${STRESS_CYCLES:-50}

[ -x "$bin" ] || { echo "Bail out! $bin missing: run tests/vm/prepare.sh"; exit 1; }
lsmod | grep -q '^sagafs ' || { echo "Bail out! sagafs.ko is not loaded"; exit 1; }
leaks=1
kmemleak_start || { leaks=0; diag "no kmemleak in this kernel ($SAGAFS_KERNEL)"; }
mark=$(kernel_log_mark)

relay "$bin" --seconds "$secs" --marked 1000
n=$(kernel_reports -s "$mark" | wc -l)
diag "stress: kernel reports after the stress: $n"
eq "no kernel report during the stress" "$n" 0

# Load, enable, unload under load.
"$bin" --workload 0 &
load=$!
rmmod sagafs || not_ok "rmmod before the cycles"
done=0
t0=$(date +%s)
for i in $(seq "$cycles"); do
	insmod "$ko" || { diag "cycle $i: insmod failed"; break; }
	out=$("$bin" --cycle) || { diag "cycle $i: $out"; rmmod sagafs; break; }
	wait_until -t 10 rmmod sagafs || { diag "cycle $i: rmmod failed"; break; }
	done=$i
done
kill "$load"
wait "$load" 2>/dev/null
diag "stress: $done load/enable/unload cycles in $(($(date +%s) - t0)) s under load"
eq "$cycles load/enable/unload cycles under load" "$done" "$cycles"
lsmod | grep -q '^sagafs ' || insmod "$ko"

n=$(kernel_reports -s "$mark" | wc -l)
diag "stress: kernel reports in all: $n"
eq "no kernel report in all" "$n" 0
if [ "$leaks" = 1 ]; then
	if out=$(kmemleak_leaks); then
		ok "kmemleak: no new suspected leak"
	else
		not_ok "kmemleak: new suspected leaks"
		diag "$out"
	fi
fi
finish
