#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, on the host, everything the VM suites run inside the guest (the
# guest sees the repository read-only): the C ABI test programs, the
# stress and fault injection programs (target/vm/stress/stress,
# target/vm/fault/fault), the Rust VM test binaries (tests/tests/vm_*.rs,
# cargo targets with test = false) and the BPF backend's tests
# (tests/tests/root_bpf_backend.rs, as bpf_backend), copied to
# target/vm/bin/, and a module claiming another ABI version
# (target/vm/abi-other/sagafs.ko).
set -euo pipefail
cd "$(dirname "$0")/../.."

bin=target/vm/bin
rm -rf "$bin"
mkdir -p "$bin"

tests/vm/kmod/build.sh

cflags=(-O2 -Wall -Wextra -Werror -pthread -I kmod/include/uapi -I tests/vm/stress)
mkdir -p target/vm/stress target/vm/fault
cc "${cflags[@]}" -o target/vm/stress/stress tests/vm/stress/stress.c tests/vm/stress/ring.c
cc "${cflags[@]}" -o target/vm/fault/fault tests/vm/fault/fault.c tests/vm/stress/ring.c

# A module that claims the next ABI version, for the mismatch test.
other=target/vm/abi-other
rm -rf target/vm/abi2 "$other"
mkdir -p "$other"
cp -r kmod/Makefile kmod/Kbuild kmod/include kmod/*.c kmod/*.h "$other/"
rm -f "$other"/*.mod.c
kver=$(modinfo -F vermagic kmod/sagafs.ko | awk '{print $1}')
abi=$(awk '$2 == "SAGAFS_ABI_VERSION" {print $3}' kmod/include/uapi/sagafs.h)
make -s -C "$other" KVER="$kver" SAGAFS_TEST_ABI=$((abi + 1)) >/dev/null

# test_exe NAME: the path of the test program of target NAME, built.
test_exe() {
	cargo test --release --locked -p sagafs-tests --test "$1" --no-run \
		--message-format=json 2>/dev/null |
		jq -r 'select(.reason == "compiler-artifact" and .executable != null
			and .target.name == "'"$1"'") | .executable' | tail -n 1
}

for src in tests/tests/vm_*.rs; do
	[ -e "$src" ] || continue
	name=$(basename "$src" .rs)
	exe=$(test_exe "$name")
	[ -n "$exe" ] && [ -x "$exe" ] || { echo "prepare: building $name failed" >&2; exit 1; }
	cp "$exe" "$bin/$name"
done
# Not vm_*: the bpf components run them, apart from the module's tests.
for name in root_bpf_backend root_suite_bpf; do
	exe=$(test_exe "$name")
	[ -n "$exe" ] && [ -x "$exe" ] || { echo "prepare: building $name failed" >&2; exit 1; }
	cp "$exe" "$bin/${name#root_}"
done
ls "$bin"
