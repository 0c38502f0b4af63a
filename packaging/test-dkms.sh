#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kmod/dkms.conf builds sagafs.ko through dkms, on the host, in private
# dkms and source trees (nothing under /var/lib/dkms or /usr/src is
# touched): the module rebuild dkms performs for every new kernel.
#
#   packaging/test-dkms.sh [KVER]
set -u
cd "$(dirname "$0")/.." || exit 1
kver=${1:-${KVER:-$(ls -1 /lib/modules | sort -V | tail -n 1)}}
version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' kmod/dkms.conf)
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }

command -v dkms >/dev/null || { echo "dkms not installed (make deps)"; echo "0 passed, 1 failed"; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/tree"
make --no-print-directory -s install-dkms-source DESTDIR="$work/src" DKMS_SRCDIR="/sagafs-$version" ||
	{ echo "make install-dkms-source failed"; echo "0 passed, 1 failed"; exit 1; }
trees=(--sourcetree "$work/src" --dkmstree "$work/tree")

if dkms add -m sagafs -v "$version" "${trees[@]}" >"$work/log" 2>&1; then ok "dkms add"
else not_ok "dkms add: $(tail -n 3 "$work/log")"; fi
if dkms build -m sagafs -v "$version" -k "$kver" "${trees[@]}" >>"$work/log" 2>&1; then
	ok "dkms build for $kver"
else
	not_ok "dkms build: $(tail -n 5 "$work/log")"
fi
ko=$(find "$work/tree/sagafs/$version/$kver" -name 'sagafs.ko*' 2>/dev/null | head -n 1)
if [ -n "$ko" ] && modinfo -F vermagic "$ko" | grep -q "^$kver "; then
	ok "built module is for $kver"
else
	not_ok "no module for $kver in the dkms tree"
fi
if dkms status -m sagafs "${trees[@]}" 2>/dev/null | grep -q "$kver.*built"; then ok "dkms status: built"
else not_ok "dkms status: $(dkms status -m sagafs "${trees[@]}" 2>&1)"; fi
if dkms remove -m sagafs -v "$version" --all "${trees[@]}" >>"$work/log" 2>&1; then ok "dkms remove"
else not_ok "dkms remove: $(tail -n 3 "$work/log")"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
