#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, on the host, everything the VM suite runs inside the guest (the
# guest sees the repository read-only): the C ABI test programs and the
# Rust VM test binaries (tests/tests/vm_*.rs, cargo targets with
# test = false), copied to target/vm/bin/.
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=target/vm/bin
rm -rf "$bin"
mkdir -p "$bin"

tests/vm/kmod/build.sh

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
