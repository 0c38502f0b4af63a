#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite, as `make test` runs it: build, lint, host tests
# (the plain `cargo test`, which needs no privilege, then as root the FUSE
# tests against the device double, the BPF backend on this kernel and the
# helper's root tests), packaging checks, one VM boot running every test
# against the real module and the BPF backend (tests/vm/suite.sh), the
# Debian packages (built, linted, inspected), and one systemd boot that
# installs them, proves the fstab line and upgrades, removes and purges
# them.
#
# Each stage's counts are collected from its runners' closing lines and
# summed; the last line is "total: N passed, M failed".  Any failure, or a
# stage that ran no test, fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

logdir=target/test-logs
rm -rf "$logdir"
mkdir -p "$logdir"

passed=0
failed=0
declare -a summary

die() {
	echo "test: $*" >&2
	exit 1
}

# Sum "N passed; M failed" (cargo) and "[word: ]N passed, M failed" lines.
count() {
	local file=$1 stage=$2 p f
	read -r p f < <(awk '
		match($0, /^(test result: [a-z]+\. |[A-Za-z0-9_-]+: )?[0-9]+ passed[;,] [0-9]+ failed/) {
			s = substr($0, RSTART, RLENGTH)
			sub(/^(test result: [a-z]+\. |[A-Za-z0-9_-]+: )/, "", s)
			split(s, a, /[^0-9]+/)
			p += a[1]; f += a[2]
		}
		END { print p + 0, f + 0 }' "$file")
	p=${p:-0}
	f=${f:-0}
	passed=$((passed + p))
	failed=$((failed + f))
	summary+=("$(printf '%-28s %6d passed, %d failed' "$stage" "$p" "$f")")
	if [ "$p" = 0 ] && [ "$f" = 0 ]; then
		echo "test: stage '$stage' ran no test" >&2
		failed=$((failed + 1))
	fi
}

stage() {
	printf '\n======== %s ========\n' "$*"
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

stage "build"
make all || die "build failed"
cargo test --workspace --release --locked --no-run || die "building the tests failed"
cargo test --workspace --release --locked --no-run "${privileged[@]}" "${suites[@]}" ||
	die "building the tests failed"

stage "lint"
tests/lint.sh || die "lint failed"
# lint rebuilt the module with W=1/C=2: rebuild the plain module for the VM.
make module >/dev/null || die "module rebuild failed"

stage "host tests"
# A plain `cargo test` needs no privilege (it passes as any user).
cargo test --workspace --release --locked 2>&1 | tee "$logdir/host.log"
host_rc=${PIPESTATUS[0]}
count "$logdir/host.log" "host (cargo test)"
[ "$host_rc" = 0 ] || failed=$((failed + 1))
cargo test --release --locked -p sagafs-tests --test suite_double 2>&1 | tee "$logdir/suite-double.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
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
[ "$host_rc" = 0 ] || failed=$((failed + 1))
if [ "$bpf_host" = 1 ]; then
	cargo test --release --locked -p sagafs-tests --test root_bpf_backend --test root_suite_bpf \
		2>&1 | tee "$logdir/host-bpf.log"
	[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
	count "$logdir/host-bpf.log" "BPF backend (host)"
else
	echo "test: this kernel has no BTF (/sys/kernel/btf/vmlinux): the BPF backend runs in the VM only"
fi

stage "packaging (host)"
packaging/test-install.sh 2>&1 | tee "$logdir/install.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
count "$logdir/install.log" "make install/uninstall"
packaging/test-dkms.sh ${KVER:-} 2>&1 | tee "$logdir/dkms.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
count "$logdir/dkms.log" "dkms build"

stage "Debian packages (host)"
deb_start=$(date +%s)
packaging/test-deb.sh 2>&1 | tee "$logdir/deb.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
deb_secs=$(($(date +%s) - deb_start))

stage "VM tests (one boot)"
tests/vm/prepare.sh || die "preparing the VM tests failed"
tests/vm/run --rwdir "$repo/$logdir" -- tests/vm/suite.sh "$repo/$logdir/vm-results.log" 2>&1 | tee "$logdir/vm.log"
vm_rc=${PIPESTATUS[0]}
[ -f "$logdir/vm-results.log" ] || die "the VM produced no results (exit $vm_rc): see $logdir/vm.log"
# Each backend counted on its own: the bpf* components are the eBPF
# backend's.
grep -v '^bpf' "$logdir/vm-results.log" >"$logdir/vm-module.log"
grep '^bpf' "$logdir/vm-results.log" >"$logdir/vm-bpf.log"
count "$logdir/vm-module.log" "VM (real module)"
count "$logdir/vm-bpf.log" "VM (BPF backend)"
[ "$vm_rc" = 0 ] || { echo "test: the VM run exited $vm_rc" >&2; failed=$((failed + 1)); }

stage "boot: the packages and the fstab mount under systemd (VM)"
boot_start=$(date +%s)
tests/vm/boot/run.sh --no-build --deb --boot-timeout 1800 --timeout 3600 2>&1 | tee "$logdir/boot.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
count "$logdir/boot.log" "boot (systemd, fstab)"
echo "# the packages in the boot VM (tests/vm/boot/deb.sh):" | tee -a "$logdir/deb.log"
tests/vm/boot/deb.sh report target/boot/work 2>&1 | tee -a "$logdir/deb.log"
[ "${PIPESTATUS[0]}" = 0 ] || failed=$((failed + 1))
echo "# Debian packages: ${deb_secs}s on the host, $(($(date +%s) - boot_start))s for the boot with them"
count "$logdir/deb.log" "Debian packages"

stage "summary"
for line in "${summary[@]}"; do
	echo "$line"
done
echo "total: $passed passed, $failed failed"
[ "$failed" = 0 ]
