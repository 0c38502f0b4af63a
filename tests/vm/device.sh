#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The device binding's VM tests (tests/tests/vm_device.rs): build the test
# program and the workload on the host, then run them in one guest boot
# against the freshly built sagafs.ko.
#
# usage: tests/vm/device.sh [TEST-FILTER...]     (extra args go to the
#                                                 test program)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

[ -f kmod/sagafs.ko ] || make -C kmod
bin=$(cargo test --release -p sagafs-tests --test vm_device --no-run --message-format=json |
	jq -r 'select(.reason == "compiler-artifact" and .target.name == "vm_device"
		and .profile.test == true) | .executable')
[ -n "$bin" ] && [ -x "$bin" ] || {
	echo "tests/vm/device.sh: the vm_device test program was not built" >&2
	exit 2
}
exec "$here/run" -- "$bin" --test-threads=1 "$@"
