#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build, for another kernel, every module the VM suites load:
#
#   tests/vm/kernel/modules.sh KDIR OUT
#
# OUT becomes a shadow of the repository: OUT/kmod is a copy of kmod/
# built against KDIR, OUT/tests points at tests/, and the module builds
# of tests/vm/kmod/build.sh (run from OUT/tests, so it sees OUT as the
# repository) land in OUT/target/.  tests/vm/run --modules OUT then
# bind-mounts every *.ko under OUT over the same path in the guest's view
# of the repository: every script that loads kmod/sagafs.ko (or another
# build) loads the one for the booted kernel.  Run tests/vm/prepare.sh
# first (the stock kernel's builds).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
kdir=${1:?usage: modules.sh KDIR OUT}
out=${2:?usage: modules.sh KDIR OUT}
[ -d "$kdir" ] || { echo "modules.sh: no kernel build tree at $kdir" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out/kmod" "$out/target"
(cd "$repo/kmod" && tar -cf - --exclude='*.o' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='.*.cmd' --exclude=Module.symvers \
	--exclude=modules.order --exclude=.tmp_versions .) | tar -xf - -C "$out/kmod"
ln -s "$repo/tests" "$out/tests"
export KDIR=$kdir
unset KVER KVER_WHY
make -s -C "$out/kmod" >"$out/build.log" 2>&1 ||
	{ cat "$out/build.log" >&2; echo "modules.sh: building sagafs.ko against $kdir failed" >&2; exit 1; }
grep '^kmod: building for' "$out/build.log" || true
if [ -x "$repo/tests/vm/kmod/build.sh" ]; then
	# Logical paths: the script finds the repository at OUT.
	(cd "$out/tests/vm/kmod" && ./build.sh) >>"$out/build.log" 2>&1 ||
		{ tail -n 20 "$out/build.log" >&2; echo "modules.sh: tests/vm/kmod/build.sh failed for $kdir" >&2; exit 1; }
fi
find "$out" -name '*.ko' -not -path "$out/tests/*" | sed "s|^$out/|modules.sh: built |"
