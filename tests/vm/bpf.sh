#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The BPF backend's tests (tests/tests/root_bpf_backend.rs) under Debian's
# kernel: build the test program and the marked workload on the host, then
# run them in one guest boot without the module (the BPF program needs
# none).  The same tests run natively on the host in `cargo test`.
#
# usage: tests/vm/bpf.sh [--kver VER] [TEST-FILTER...]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cd "$repo"

kver=""
if [ "${1:-}" = --kver ]; then
	kver=$2
	shift 2
fi
if [ -z "$kver" ]; then
	# The generic flavour Debian ships, newest first (not -rt, -cloud).
	kver=$(ls -1 /boot/vmlinuz-* 2>/dev/null | sed 's|^/boot/vmlinuz-||' |
		grep -v -e '-rt-' -e '-cloud-' | sort -V | tail -n 1)
fi
[ -n "$kver" ] || {
	echo "tests/vm/bpf.sh: no kernel in /boot: apt-get install linux-image-amd64" >&2
	exit 2
}

bin=$(cargo test --release -p sagafs-tests --test root_bpf_backend --no-run --message-format=json |
	jq -r 'select(.reason == "compiler-artifact" and .target.name == "root_bpf_backend"
		and .profile.test == true) | .executable')
[ -n "$bin" ] && [ -x "$bin" ] || {
	echo "tests/vm/bpf.sh: the root_bpf_backend test program was not built" >&2
	exit 2
}
exec "$here/run" --no-module --kver "$kver" -- "$bin" --test-threads=1 "$@"
