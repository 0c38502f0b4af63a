#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A module that speaks another ABI version: the daemon and mount.sagafs
# refuse it with one line naming both versions, and nothing is mounted.
# Runs in the guest (tests/vm/suite.sh) after tests/vm/prepare.sh built
# target/vm/abi-other/sagafs.ko (claiming the header's version + 1);
# leaves that module unloaded.
set -u
cd "$(dirname "$0")/../.." || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
abi=$(awk '$2 == "SAGAFS_ABI_VERSION" {print $3}' kmod/include/uapi/sagafs.h)
other=$((abi + 1))
want="sagafs.ko speaks ABI $other, this sagafs speaks ABI $abi: install matching versions"
mnt=/tmp/sagafs-abi
mkdir -p $mnt

if rmmod sagafs; then ok "the module unloads once no daemon holds it"; else not_ok "rmmod sagafs"; fi
if insmod target/vm/abi-other/sagafs.ko; then ok "module claiming ABI $other loaded"; else not_ok "insmod abi-other"; fi

for prog in target/release/sagafs target/release/mount-sagafs; do
	if [ "$prog" = target/release/sagafs ]; then
		err=$("$prog" -o rw sagafs $mnt 2>&1 >/dev/null); rc=$?
	else
		err=$("$prog" sagafs $mnt -o rw 2>&1 >/dev/null); rc=$?
	fi
	name=$(basename "$prog")
	if [ $rc != 0 ] && [[ "$err" == *"$want"* ]] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ]; then
		ok "$name refuses the ABI $other module: $err"
	else
		not_ok "$name: exit $rc, stderr: $err"
	fi
	if grep -q " $mnt " /proc/mounts; then not_ok "$name left a mount"; umount -l $mnt; else ok "$name mounted nothing"; fi
done

if rmmod sagafs; then ok "ABI $other module unloaded"; else not_ok "rmmod"; fi
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
