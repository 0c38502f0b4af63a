#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The whole test suite, as `make test` runs it: build, lint, host tests
# (the plain `cargo test`, which needs no privilege, then as root the FUSE
# tests against the device double and the helper's root tests), packaging
# checks, one VM boot running every test against the real module
# (tests/vm/suite.sh), the Debian packages (built, linted, inspected), and
# one systemd boot that installs them, proves the fstab line and upgrades,
# removes and purges them.
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

stage "build"
make all || die "build failed"
cargo test --workspace --release --locked --no-run || die "building the tests failed"
cargo test --workspace --release --locked --no-run "${privileged[@]}" || die "building the tests failed"

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
# The targets that mount over /dev/fuse or need root, as root.
[ "$(id -u)" = 0 ] || die "the root and FUSE tests need root: run make test as root"
cargo test --workspace --release --locked "${privileged[@]}" 2>&1 | tee "$logdir/host-root.log"
host_rc=${PIPESTATUS[0]}
count "$logdir/host-root.log" "host (root, FUSE)"
[ "$host_rc" = 0 ] || failed=$((failed + 1))

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
count "$logdir/vm-results.log" "VM (real module)"
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
