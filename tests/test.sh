#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite, as `make test` runs it, in stages:
#
#   build           make all, the test binaries
#   lint            tests/lint.sh
#   host            the plain `cargo test` (no privilege needed), the
#                   shared suite on the device double, then as root the
#                   FUSE tests, the root tests (outputs against rsyslogd
#                   and journald, mount.sagafs) and the BPF backend on this
#                   kernel when it has BTF; which kernel tree make builds
#                   for (tests/kver.sh)
#   packaging       make install/uninstall, the DKMS build
#   deb             the Debian packages built, linted, inspected
#   vm-stock        one boot of Debian's kernel: every component of
#                   tests/vm/suite.sh (module and BPF backend)
#   boot            one systemd boot that installs the packages, proves
#                   the fstab line, upgrades, removes and purges them
#   vm-rt           one boot of Debian's PREEMPT_RT kernel: kmod suite
#
# Every VM boot runs under multi-threaded TCG with 2 vCPUs and the
# kernel's hang detectors on; any kernel report fails it.  Each stage's
# counts come from its runners' closing lines (tests/vm/lib.sh,
# parse_results); each VM suite component is counted on its own line.
# The summary gives every stage's wall time and the total, and the last
# line is "total: N passed, M failed".  Any failure, or a stage that ran
# no test, fails the run.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
repo=$(pwd)
. tests/vm/lib.sh

logdir=target/test-logs
rm -rf "$logdir"
mkdir -p "$logdir"

passed=0
failed=0
t_start=$(date +%s)
declare -a summary times

die() {
	echo "test: $*" >&2
	exit 1
}

fmt_time() {
	printf '%dm%02ds' $(($1 / 60)) $(($1 % 60))
}

stage_name=
stage_t0=0
stage() {
	stage_end
	stage_name=$1
	stage_t0=$(date +%s)
	printf '\n======== %s ========\n' "$1"
}
stage_end() {
	[ -n "$stage_name" ] || return 0
	local secs=$(($(date +%s) - stage_t0))
	times+=("$(printf '%-16s %8s' "$stage_name" "$(fmt_time "$secs")")")
	echo "test: stage $stage_name took $(fmt_time "$secs")"
	stage_name=
}

# add LABEL P F: one summary line.
add() {
	passed=$((passed + $2))
	failed=$((failed + $3))
	summary+=("$(printf '%-34s %6d passed, %d failed' "$1" "$2" "$3")")
}

# count FILE LABEL: the sum of FILE's summary lines, as one line.
count() {
	local p f
	if ! has_results "$1"; then
		echo "test: '$2' ran no test" >&2
		add "$2" 0 1
		return
	fi
	read -r p f < <(parse_results "$1")
	add "$2" "$p" "$f"
}

# count_vm RESULTS LABEL RC: one line per component of a VM suite.
count_vm() {
	local results=$1 label=$2 rc=$3 line name p f
	if [ ! -s "$results" ]; then
		echo "test: the $label VM produced no results (exit $rc)" >&2
		add "$label" 0 1
		return
	fi
	while IFS= read -r line; do
		name=${line%%:*}
		read -r p f < <(printf '%s\n' "$line" | parse_results /dev/stdin)
		add "$label: $name" "$p" "$f"
	done <"$results"
	if [ "$rc" != 0 ]; then
		read -r p f < <(parse_results "$results")
		if [ "$f" = 0 ]; then
			echo "test: the $label VM exited $rc" >&2
			add "$label: exit status" 0 1
		fi
	fi
}

# The test targets a plain `cargo test` leaves out (`test = false` in
# their Cargo.toml): fuse_* mount over /dev/fuse, root_* need root.
privileged=(--test 'fuse_*' --test 'root_*')
# The shared behaviour suite, once per backend (tests/src/suite.rs),
# each counted on its own line: the double here, the BPF backend here as
# root when this kernel has BTF, the module and BPF in the VM.
suites=(--test 'suite_*')
bpf_host=1
[ -e /sys/kernel/btf/vmlinux ] || bpf_host=0

stage build
make all || die "build failed"
cargo test --workspace --release --locked --no-run || die "building the tests failed"
cargo test --workspace --release --locked --no-run "${privileged[@]}" "${suites[@]}" ||
	die "building the tests failed"

stage lint
tests/lint.sh || die "lint failed"
# lint rebuilt the module with W=1/C=2: rebuild the plain module for the VM.
make module >/dev/null || die "module rebuild failed"

stage host
cargo test --workspace --release --locked 2>&1 | tee "$logdir/host.log"
host_rc=${PIPESTATUS[0]}
count "$logdir/host.log" "host (cargo test)"
[ "$host_rc" = 0 ] || add "host: cargo exit status" 0 1
cargo test --release --locked -p sagafs-tests --test suite_double 2>&1 | tee "$logdir/suite-double.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "suite (device double): exit status" 0 1
count "$logdir/suite-double.log" "suite (device double)"
# The targets that mount over /dev/fuse or need root, as root; the BPF
# backend's (root_*bpf*) only where this kernel can load it.
[ "$(id -u)" = 0 ] || die "the root and FUSE tests need root: run make test as root"
cargo test --workspace --release --locked --test 'fuse_*' --test 'root_*' --no-run \
	--message-format=json 2>/dev/null |
	jq -r 'select(.reason == "compiler-artifact" and .profile.test == true) | .target.name' |
	grep '^root_' | grep -v bpf | sort -u >"$logdir/root-targets" ||
	die "listing the root test targets failed"
root_targets=(--test 'fuse_*')
while read -r t; do root_targets+=(--test "$t"); done <"$logdir/root-targets"
cargo test --workspace --release --locked "${root_targets[@]}" 2>&1 | tee "$logdir/host-root.log"
host_rc=${PIPESTATUS[0]}
count "$logdir/host-root.log" "host (root, FUSE)"
[ "$host_rc" = 0 ] || add "host (root): cargo exit status" 0 1
if [ "$bpf_host" = 1 ]; then
	cargo test --release --locked -p sagafs-tests --test root_bpf_backend --test root_suite_bpf \
		2>&1 | tee "$logdir/host-bpf.log"
	[ "${PIPESTATUS[0]}" = 0 ] || add "BPF backend (host): exit status" 0 1
	count "$logdir/host-bpf.log" "BPF backend (host)"
else
	echo "test: this kernel has no BTF (/sys/kernel/btf/vmlinux): the BPF backend runs in the VM only"
fi
tests/kver.sh 2>&1 | tee "$logdir/kver.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "kver: exit status" 0 1
count "$logdir/kver.log" "kernel tree choice (kver)"

stage packaging
packaging/test-install.sh 2>&1 | tee "$logdir/install.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "make install: exit status" 0 1
count "$logdir/install.log" "make install/uninstall"
packaging/test-dkms.sh ${KVER:-} 2>&1 | tee "$logdir/dkms.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "dkms: exit status" 0 1
count "$logdir/dkms.log" "dkms build"

stage deb
packaging/test-deb.sh 2>&1 | tee "$logdir/deb.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "Debian packages: exit status" 0 1

# Every component of the suite runs under the stock kernel: the Rust
# binding and the shared suite against the module, the BPF backend, the
# daemon end to end, the ABI mismatch and reload, the kmod suite, make
# install with mount(8).  The bpf* components are the eBPF backend's and
# are counted on lines of their own.
stage vm-stock
tests/vm/prepare.sh || die "preparing the VM tests failed"
tests/vm/run --rwdir "$repo/$logdir" -- tests/vm/suite.sh "$repo/$logdir/vm-stock.results" \
	2>&1 | tee "$logdir/vm-stock.log"
count_vm "$logdir/vm-stock.results" "VM stock" "${PIPESTATUS[0]}"

stage boot
tests/vm/boot/run.sh --no-build --deb --boot-timeout 1800 --timeout 3600 2>&1 | tee "$logdir/boot.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "boot: exit status" 0 1
count "$logdir/boot.log" "boot (systemd, fstab)"
echo "# the packages in the boot VM (tests/vm/boot/deb.sh):" | tee -a "$logdir/deb.log"
tests/vm/boot/deb.sh report target/boot/work 2>&1 | tee -a "$logdir/deb.log"
[ "${PIPESTATUS[0]}" = 0 ] || add "Debian packages (boot VM): exit status" 0 1
count "$logdir/deb.log" "Debian packages"

stage vm-rt
rt=$(ls -d /lib/modules/*-rt-*/build 2>/dev/null | sort -V | tail -n 1 | cut -d/ -f4)
if [ -z "$rt" ]; then
	echo "test: no PREEMPT_RT kernel tree installed (make deps installs linux-headers-rt-amd64)" >&2
	add "VM rt" 0 1
elif tests/vm/kernel/modules.sh "/lib/modules/$rt/build" target/vm/kernels/rt; then
	tests/vm/run --kver "$rt" --modules target/vm/kernels/rt --rwdir "$repo/$logdir" \
		-- tests/vm/suite.sh "$repo/$logdir/vm-rt.results" kmod 2>&1 | tee "$logdir/vm-rt.log"
	count_vm "$logdir/vm-rt.results" "VM rt" "${PIPESTATUS[0]}"
else
	add "VM rt: module build" 0 1
fi
stage_end

printf '\n======== summary ========\n'
for line in "${summary[@]}"; do
	echo "$line"
done
echo
echo "stage times:"
for line in "${times[@]}"; do
	echo "  $line"
done
echo "  $(printf '%-16s %8s' total "$(fmt_time $(($(date +%s) - t_start)))")"
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]
