#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the raw ABI test programs on the host (the guest runs them from the
# same path).  Output: target/vm/kmod/abi_test, target/vm/kmod/rules_test
set -eu
repo=$(cd "$(dirname "$0")/../../.." && pwd)
out="$repo/target/vm/kmod"
mkdir -p "$out"
cc -O2 -Wall -Wextra -Werror -I "$repo/kmod/include/uapi" \
	-o "$out/abi_test" "$repo/tests/vm/kmod/abi_test.c"
# Its malformed-set table passes every mutator both the set and the header.
cc -O2 -Wall -Wextra -Werror -Wno-unused-parameter -I "$repo/kmod/include/uapi" \
	-o "$out/rules_test" "$repo/tests/vm/kmod/rules_test.c"
echo "built $out/abi_test $out/rules_test"
