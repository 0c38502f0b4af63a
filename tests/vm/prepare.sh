#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, on the host, everything the VM suite runs inside the guest (the
# guest sees the repository read-only): the C ABI test programs and the
# Rust VM test binaries (tests/tests/vm_*.rs, cargo targets with
# test = false), copied to target/vm/bin/, and a module claiming another
# ABI version (target/vm/abi2/sagafs.ko).
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=target/vm/bin
rm -rf "$bin"
mkdir -p "$bin"

tests/vm/kmod/build.sh

# A module that claims ABI version 2, for the mismatch test.
abi2=target/vm/abi2
rm -rf "$abi2"
mkdir -p "$abi2"
cp -r kmod/Makefile kmod/Kbuild kmod/include kmod/*.c kmod/*.h "$abi2/"
rm -f "$abi2"/*.mod.c
kver=$(modinfo -F vermagic kmod/sagafs.ko | awk '{print $1}')
make -s -C "$abi2" KVER="$kver" SAGAFS_TEST_ABI=2 >/dev/null

for src in tests/tests/vm_*.rs; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .rs)
	exe=$(cargo test --release --locked -p sagafs-tests --test "$name" --no-run \
		--message-format=json 2>/dev/null |
		jq -r 'select(.reason == "compiler-artifact" and .executable != null
			and .target.name == "'"$name"'") | .executable' | tail -n 1)
	[ -n "$exe" ] && [ -x "$exe" ] || { echo "prepare: building $name failed" >&2; exit 1; }
	cp "$exe" "$bin/$name"
done
ls "$bin"
