#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make bench`: the cost per system call of sagafs, its module and its
# eBPF backend, side by side with the kernel's own tracer, measured in one
# boot of the test VM.  Builds the
# benchmark program on the host (the guest sees the repository read-only),
# boots the guest without the module (tests/bench/guest.sh loads it after
# the baseline) and prints the table the guest wrote to
# target/bench/results.txt.
#
# Environment: BENCH_CALLS (getppid calls per run, default 300000),
# BENCH_RUNS (interleaved rounds, default 12), BENCH_CPUS (guest
# CPUs, default 2).  Software emulation distorts absolute times: the
# ratios to the baseline measured in the same boot are the result.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
out=$repo/target/bench

die() {
	echo "bench: $*" >&2
	exit 1
}

[ -f kmod/sagafs.ko ] || die "kmod/sagafs.ko is missing: run 'make' first"
mkdir -p "$out"
rm -f "$out/results.txt" "$out/raw.txt" "$out/guest.log"
# The guest loads a copy: a rebuild of kmod/ during the run must not
# pull the module from under it.
cp kmod/sagafs.ko "$out/sagafs.ko"
${CC:-cc} -O2 -Wall -Wextra -Werror -I kmod/include/uapi \
	-o "$out/sagabench" tests/bench/sagabench.c || die "building sagabench failed"
# The BPF backend's consumer (guest.sh's bpf-* modes).
cargo build --release --locked -p sagafs-tests --bin sagafs-bpf-bench ||
	die "building sagafs-bpf-bench failed"
cp target/release/sagafs-bpf-bench "$out/"

set +e
tests/vm/run --no-module --cpus "${BENCH_CPUS:-2}" --rwdir "$out" -- \
	env BENCH_CALLS="${BENCH_CALLS:-300000}" BENCH_RUNS="${BENCH_RUNS:-12}" \
	tests/bench/guest.sh "$out" 2>&1 | tee "$out/guest.log"
rc=${PIPESTATUS[0]}
set -e

[ -s "$out/results.txt" ] || die "the guest wrote no results (exit $rc): see $out/guest.log"
printf '\n'
cat "$out/results.txt"
[ "$rc" = 0 ] || die "the guest run exited $rc: see $out/guest.log"
