#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A VM test suite: runs inside the guest (tests/vm/run), with sagafs.ko
# loaded, the named components in turn (default: the stock kernel's set).
# Each component's result is appended to RESULTS as
# "component: N passed, M failed (T s)" (tests/vm/lib.sh, run_component):
# a component that ends without a summary line, exits non-zero with no
# failure counted, or leaves kernel reports counts one failure more.
#
# usage (host): tests/vm/prepare.sh &&
#               tests/vm/run --rwdir DIR -- tests/vm/suite.sh DIR/RESULTS [COMPONENT...]
#
# Components:
#   rust          the Rust binding's VM tests (target/vm/bin/vm_*)
#   e2e           the daemon end to end (tests/vm/e2e.sh)
#   abi-mismatch  a module of another ABI version is refused
#   reload        the module loads again after abi-mismatch unloaded it
#   kmod          the module's own tests (tests/vm/kmod/run-in-guest.sh)
#   packaging     make install, mount(8) through mount.sagafs
#   bpf           the eBPF backend under this kernel, module unloaded: its
#                 own tests (bpf_backend, tests/tests/root_bpf_backend.rs)
#                 and the shared suite (suite_bpf, as bpf-suite)
#   fault         fault injection on the module's paths (debug kernel)
#   stress        the device stress test (debug kernel)
# default: rust e2e abi-mismatch reload kmod packaging bpf
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
. tests/vm/lib.sh
results=${1:?usage: suite.sh RESULTS [COMPONENT...]}
shift
[ $# -gt 0 ] || set -- rust e2e abi-mismatch reload kmod packaging bpf
: >"$results"
bin=target/vm/bin
rc=0

loaded() { lsmod | grep -q '^sagafs '; }

for c in "$@"; do
	case "$c" in
	rust)
		# The Rust binding against the module.
		for t in "$bin"/vm_*; do
			[ -x "$t" ] || continue
			run_component "$results" "$(basename "$t")" "$t" --test-threads=1 || rc=1
		done
		;;
	e2e)
		# The daemon starts from the configuration the module holds (it
		# outlives the daemon, by design), and the Rust tests before
		# leave theirs: start from the module's load-time defaults.
		if loaded; then rmmod sagafs || rc=1; fi
		insmod kmod/sagafs.ko || rc=1
		run_component "$results" e2e tests/vm/e2e.sh || rc=1
		;;
	abi-mismatch)
		# The ABI tests expect the module's load-time defaults: the
		# daemon tests leave their config behind (it outlives the
		# daemon, by design); the mismatch test unloads the module,
		# which also proves nothing pins it.
		run_component "$results" abi-mismatch tests/vm/abi-mismatch.sh || rc=1
		;;
	reload)
		run_component "$results" reload sh -c 'insmod kmod/sagafs.ko && echo "1 passed, 0 failed"' || rc=1
		;;
	kmod)
		loaded || insmod kmod/sagafs.ko
		run_component "$results" kmod tests/vm/kmod/run-in-guest.sh || rc=1
		;;
	packaging)
		# Installation and mount(8) through mount.sagafs, starting
		# without the module: make install, modprobe by the helper,
		# umount, make uninstall.
		rmmod sagafs 2>/dev/null
		run_component "$results" packaging packaging/test-vm.sh || rc=1
		;;
	bpf)
		# The BPF program needs no module: prove it by running
		# without one.
		rmmod sagafs 2>/dev/null
		run_component "$results" bpf "$bin/bpf_backend" --test-threads=1 || rc=1
		run_component "$results" bpf-suite "$bin/suite_bpf" --test-threads=1 || rc=1
		;;
	fault)
		loaded || insmod kmod/sagafs.ko
		run_component "$results" fault tests/vm/fault/run-in-guest.sh || rc=1
		;;
	stress)
		loaded || insmod kmod/sagafs.ko
		run_component "$results" stress tests/vm/stress/run-in-guest.sh || rc=1
		;;
	*)
		echo "$c: unknown component" >&2
		echo "$c: $(summary_line 0 1) (0 s)" >>"$results"
		rc=1
		;;
	esac
done

printf '\n======== VM results (%s kernel) ========\n' "${SAGAFS_KERNEL:-?}"
cat "$results"
exit $rc
