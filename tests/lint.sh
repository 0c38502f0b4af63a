#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Static checks, each a hard failure:
#   Rust: cargo fmt --check, cargo clippy --all-targets -D warnings
#   kernel module: W=1 build and sparse (C=2) with no warnings,
#                  checkpatch --strict with no errors or warnings
#   man pages: mandoc -Tlint with no warnings
set -uo pipefail
cd "$(dirname "$0")/.."

failed=0
step() { printf '\n== lint: %s\n' "$*"; }
fail() { echo "lint: FAILED: $*" >&2; failed=1; }

step "cargo fmt"
cargo fmt --all -- --check || fail "cargo fmt (run: cargo fmt --all)"

step "cargo clippy"
cargo clippy --workspace --all-targets --locked --release -- -D warnings || fail "cargo clippy"
# --all-targets leaves out the targets with `test = false` (the root, FUSE
# and VM tests), and naming them beside it changes nothing: a second run.
cargo clippy --workspace --test 'fuse_*' --test 'root_*' --test 'vm_*' \
	--locked --release -- -D warnings || fail "cargo clippy (root, FUSE and VM tests)"

kver=${KVER:-}
step "kernel module, W=1"
make -s -C kmod clean >/dev/null
out=$(make -C kmod ${kver:+KVER=$kver} W=1 2>&1); rc=$?
echo "$out" | grep -E 'warning:|error:' && fail "W=1 build reports warnings"
[ $rc = 0 ] || { echo "$out"; fail "W=1 build"; }

step "kernel module, sparse (C=2)"
out=$(make -C kmod ${kver:+KVER=$kver} C=2 2>&1); rc=$?
echo "$out" | grep -E 'warning:|error:' && fail "sparse reports problems"
[ $rc = 0 ] || { echo "$out"; fail "sparse build"; }

step "checkpatch"
cp=target/tools/scripts/checkpatch.pl
if [ -x "$cp" ]; then
	# An out-of-tree module builds against several kernels: its one
	# LINUX_VERSION_CODE test (vm_flags_mod() from 6.3) is deliberate.
	out=$("$cp" --no-tree --strict --terse --show-types \
		--ignore SPDX_LICENSE_TAG,FILE_PATH_CHANGES,LINUX_VERSION_CODE,CONSTANT_COMPARISON \
		-f $(ls kmod/*.c kmod/*.h | grep -v '\.mod\.c$') kmod/include/uapi/sagafs.h 2>&1)
	echo "$out" | grep -E ': (ERROR|WARNING):' && fail "checkpatch reports errors or warnings"
	echo "$out" | grep -c ': CHECK:' | sed 's/^/checkpatch CHECK notes: /'
else
	fail "checkpatch.pl missing (run: make deps)"
fi

step "mandoc -Tlint"
for m in man/*.[1-9]; do
	mandoc -Tlint -W warning "$m" || fail "mandoc: $m"
done

if [ $failed != 0 ]; then
	echo "lint: some checks failed" >&2
	exit 1
fi
echo "lint: all checks passed"
