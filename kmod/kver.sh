#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Print the kernel release to build sagafs.ko for, then a tab and why it
# was chosen.  In order:
#   1. the running kernel, if its build tree is installed;
#   2. the newest Debian generic flavour (e.g. 6.1.0-56-amd64), so that
#      installing -rt-amd64, -cloud-amd64 headers or a local debug tree
#      never silently changes the target;
#   3. the newest installed build tree of any flavour.
# Exits 1, printing nothing, when no build tree is installed.
#
# kver.sh KDIR prints the release that build tree was configured for
# (include/generated/utsrelease.h: Debian's include/config/kernel.release
# holds the upstream version, not the package's release).
# SAGAFS_MODULES_DIR (default /lib/modules) and SAGAFS_UNAME_R replace the
# system's for tests.
set -u

if [ $# -gt 0 ]; then
	rel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$1/include/generated/utsrelease.h" 2>/dev/null)
	[ -n "$rel" ] || exit 1
	printf '%s\tKDIR=%s\n' "$rel" "$1"
	exit 0
fi

mods=${SAGAFS_MODULES_DIR:-/lib/modules}
run=${SAGAFS_UNAME_R:-$(uname -r)}
if [ -d "$mods/$run/build" ]; then
	printf '%s\trunning kernel\n' "$run"
	exit 0
fi

trees=$(for d in "$mods"/*/build; do
	[ -d "$d" ] || continue
	d=${d%/build}
	echo "${d##*/}"
done | sort -V)
[ -n "$trees" ] || exit 1

arch=$(dpkg --print-architecture 2>/dev/null || uname -m)
generic=$(echo "$trees" | grep -E "^[0-9]+\.[0-9]+(\.[0-9]+)?-[0-9]+-$arch\$" | tail -n 1)
if [ -n "$generic" ]; then
	printf '%s\tnewest generic-flavour tree\n' "$generic"
else
	printf '%s\tnewest tree (no generic -%s tree installed)\n' \
		"$(echo "$trees" | tail -n 1)" "$arch"
fi
