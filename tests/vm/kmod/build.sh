#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build, on the host, what the kernel module suite runs in the guest (which
# sees the same paths): the test programs target/vm/kmod/abi_test and
# trust_test, and a fault injecting build of the module,
# target/vm/kmod/fault/sagafs.ko, for the kernel kmod/sagafs.ko was built
# for (run 'make -C kmod' first).
set -eu
repo=$(cd "$(dirname "$0")/../../.." && pwd)
src="$repo/tests/vm/kmod"
out="$repo/target/vm/kmod"
mkdir -p "$out"
for t in abi_test trust_test; do
	cc -O2 -Wall -Wextra -Werror -pthread -I "$repo/kmod/include/uapi" \
		-o "$out/$t" "$src/$t.c" "$src/common.c"
	echo "built $out/$t"
done

ko="$repo/kmod/sagafs.ko"
[ -f "$ko" ] || { echo "build.sh: $ko missing: run 'make -C kmod' first" >&2; exit 1; }
kver=$(modinfo -F vermagic "$ko" | awk '{print $1}')
fault="$out/fault"
rm -rf "$fault"
mkdir -p "$fault"
cp -r "$repo/kmod/Makefile" "$repo/kmod/Kbuild" "$repo/kmod/include" \
	"$repo"/kmod/*.c "$repo"/kmod/*.h "$fault/"
rm -f "$fault"/*.mod.c
make -s -C "$fault" KVER="$kver" SAGAFS_FAULT_INJECT=1 >/dev/null
echo "built $fault/sagafs.ko ($kver)"
