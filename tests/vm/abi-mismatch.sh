#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A module that speaks another ABI version: the daemon and mount.sagafs
# refuse it with one line naming both versions, and nothing is mounted.
# Runs in the guest (tests/vm/suite.sh) after tests/vm/prepare.sh built
# target/vm/abi2/sagafs.ko; leaves that module unloaded.
set -u
cd "$(dirname "$0")/../.." || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
want="sagafs.ko speaks ABI 2, this sagafs speaks ABI 1: install matching versions"
mnt=/tmp/sagafs-abi
mkdir -p $mnt

if rmmod sagafs; then ok "the module unloads once no daemon holds it"; else not_ok "rmmod sagafs"; fi
if insmod target/vm/abi2/sagafs.ko; then ok "module claiming ABI 2 loaded"; else not_ok "insmod abi2"; fi

for prog in target/release/sagafs target/release/mount-sagafs; do
	if [ "$prog" = target/release/sagafs ]; then
		err=$("$prog" -o rw sagafs $mnt 2>&1 >/dev/null); rc=$?
	else
		err=$("$prog" sagafs $mnt -o rw 2>&1 >/dev/null); rc=$?
	fi
	name=$(basename "$prog")
	if [ $rc != 0 ] && [[ "$err" == *"$want"* ]] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then
		ok "$name refuses the ABI 2 module: $err"
	else
		not_ok "$name: exit $rc, stderr: $err"
	fi
	if grep -q " $mnt " /proc/mounts; then not_ok "$name left a mount"; umount -l $mnt; else ok "$name mounted nothing"; fi
done

if rmmod sagafs; then ok "ABI 2 module unloaded"; else not_ok "rmmod"; fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
