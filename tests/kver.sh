#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Which kernel tree 'make' builds for (kmod/kver.sh), with several trees
# installed: fake /lib/modules trees, each case's expected choice.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/vm/lib.sh
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
arch=$(dpkg --print-architecture 2>/dev/null || uname -m)

# trees VER...: a fresh /lib/modules with a build tree for each VER (a
# VER ending in ! gets a dangling build link, as after removing headers).
trees() {
	rm -rf "$root/m"
	mkdir -p "$root/m"
	for v in "$@"; do
		mkdir -p "$root/m/${v%!}"
		if [ "${v%!}" != "$v" ]; then
			ln -s /nonexistent "$root/m/${v%!}/build"
		else
			mkdir "$root/m/$v/build"
		fi
	done
}
pick() { SAGAFS_MODULES_DIR=$root/m SAGAFS_UNAME_R=${1:-6.18.0-host} kmod/kver.sh | cut -f1; }

trees "6.1.0-56-$arch" "6.1.0-56-rt-$arch"
eq "generic preferred over rt of the same version" "$(pick)" "6.1.0-56-$arch"
trees "6.1.0-9-$arch" "6.1.0-56-rt-$arch" "6.1.0-56-cloud-$arch" "6.1.0-56-$arch" "6.1.0-10-$arch"
eq "the newest generic among several versions and flavours" "$(pick)" "6.1.0-56-$arch"
trees "6.1.0-56-$arch" "6.1.192-sagafs-debug" "6.6.0-1-rt-$arch"
eq "a newer local or rt tree does not win over the generic one" "$(pick)" "6.1.0-56-$arch"
trees "6.1.0-56-$arch" "6.1.0-57-${arch}!"
eq "a dangling build link is no tree" "$(pick)" "6.1.0-56-$arch"
trees "6.1.0-56-rt-$arch" "6.1.0-9-rt-$arch"
eq "no generic tree: the newest of any flavour" "$(pick)" "6.1.0-56-rt-$arch"
trees "6.1.0-56-$arch" "6.1.0-56-rt-$arch"
eq "the running kernel's tree comes first" "$(pick "6.1.0-56-rt-$arch")" "6.1.0-56-rt-$arch"
trees
SAGAFS_MODULES_DIR=$root/m SAGAFS_UNAME_R=x kmod/kver.sh >"$root/out"
eq "no tree at all: exit 1, nothing printed" "$?:$(cat "$root/out")" "1:"
trees "6.1.0-56-$arch"
eq "the reason names the choice" "$(SAGAFS_MODULES_DIR=$root/m SAGAFS_UNAME_R=x kmod/kver.sh | cut -f2)" "newest generic-flavour tree"
# KVER= and KDIR= override, and make says what it chose.
out=$(make -s -n -C kmod KVER=9.9.9-test 2>&1)
check "make -C kmod KVER= builds for that release" sh -c "echo \"\$1\" | grep -q 'building for 9.9.9-test (KVER=): /lib/modules/9.9.9-test/build'" _ "$out"
mkdir -p "$root/kdir/include/generated"
echo '#define UTS_RELEASE "7.7.7-kdir"' >"$root/kdir/include/generated/utsrelease.h"
out=$(make -s -n -C kmod KDIR="$root/kdir" 2>&1)
check "make -C kmod KDIR= takes the release from the tree" sh -c "echo \"\$1\" | grep -q 'building for 7.7.7-kdir (KDIR=): $root/kdir'" _ "$out"
out=$(make -s -n module KVER=9.9.9-test 2>&1)
check "top-level make passes KVER= on" sh -c "echo \"\$1\" | grep -q 'building for 9.9.9-test (KVER=)'" _ "$out"
finish
