#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the raw ABI test program on the host (the guest runs it from the
# same path).  Output: target/vm/kmod/abi_test
set -eu
repo=$(cd "$(dirname "$0")/../../.." && pwd)
out="$repo/target/vm/kmod"
mkdir -p "$out"
cc -O2 -Wall -Wextra -Werror -I "$repo/kmod/include/uapi" \
	-o "$out/abi_test" "$repo/tests/vm/kmod/abi_test.c"
echo "built $out/abi_test"
