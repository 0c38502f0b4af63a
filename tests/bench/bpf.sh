#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The BPF backend's cost per system call: a getppid loop with the program
# detached (loaded, capture off), attached and logging every call (a
# consumer draining), and attached with getppid filtered out, each as a
# ratio to a baseline (nothing loaded) measured in the same run.
#
# usage: tests/bench/bpf.sh [--vm [--kver VER]]
#
#   (no option)  natively on this machine (root, BTF)
#   --vm         in one boot of the test VM (Debian's kernel, no module)
#
# Environment: BENCH_CALLS (getppid calls per run, default 300000 in the
# VM, 2000000 natively), BENCH_RUNS (interleaved rounds, default 8).
# Prints the table written to target/bench-bpf[-vm]/results.txt.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)

vm=0
kver=""
while [ $# -gt 0 ]; do
	case "$1" in
	--vm) vm=1; shift ;;
	--kver) kver=$2; shift 2 ;;
	*) echo "usage: tests/bench/bpf.sh [--vm [--kver VER]]" >&2; exit 2 ;;
	esac
done

die() {
	echo "bench-bpf: $*" >&2
	exit 1
}

out=$repo/target/bench-bpf
[ $vm = 1 ] && out=$repo/target/bench-bpf-vm
mkdir -p "$out"
rm -f "$out/results.txt" "$out/raw.txt"
${CC:-cc} -O2 -Wall -Wextra -Werror -I kmod/include/uapi \
	-o "$out/sagabench" tests/bench/sagabench.c || die "building sagabench failed"
cargo build --release --locked -p sagafs-tests --bin sagafs-bpf-bench ||
	die "building sagafs-bpf-bench failed"
cp target/release/sagafs-bpf-bench "$out/"

if [ $vm = 0 ]; then
	BENCH_CALLS=${BENCH_CALLS:-2000000} BENCH_RUNS=${BENCH_RUNS:-8} \
		tests/bench/bpf-run.sh "$out" || die "the run failed: see $out/raw.txt"
else
	if [ -z "$kver" ]; then
		kver=$(ls -1 /boot/vmlinuz-* | sed 's|^/boot/vmlinuz-||' |
			grep -v -e '-rt-' -e '-cloud-' | sort -V | tail -n 1)
	fi
	tests/vm/run --no-module --kver "$kver" --rwdir "$out" -- \
		env BENCH_CALLS="${BENCH_CALLS:-300000}" BENCH_RUNS="${BENCH_RUNS:-8}" \
		tests/bench/bpf-run.sh "$out" || die "the guest run failed: see $out/raw.txt"
fi
[ -s "$out/results.txt" ] || die "no results in $out"
cat "$out/results.txt"
