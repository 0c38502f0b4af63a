#!/bin/bash
# Packaging and mount.sagafs checks that need a kernel that loads modules.
# Runs inside the test VM, with the module NOT loaded:
#
#   make && tests/vm/run --no-module -- packaging/test-vm.sh
#
# 1. mount.sagafs explains a module that is not installed;
# 2. with SAGAFS_DKMS_IN_VM=1, dkms builds and installs the module;
# 3. `make install` (DESTDIR empty) installs everything, runs depmod, and
#    `mount -t sagafs` then loads the module by itself and mounts through
#    /sbin/mount.sagafs; fake mounts, bad options, a second mount and a
#    non-root caller fail with their messages;
# 4. `mount -t fuse.sagafs` through mount.fuse3 runs /usr/sbin/sagafs;
#    `make uninstall` cleans up.
#
# BIN_DIR (default target/release) holds sagafs and mount-sagafs.
set -u
cd "$(dirname "$0")/.." || exit 1
[ "${SAGAFS_IN_VM:-}" = 1 ] || { echo "run me in the VM: tests/vm/run --no-module -- $0" >&2; exit 2; }
BIN_DIR=${BIN_DIR:-target/release}
kver=$(uname -r)
mnt=/tmp/sagafs
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok - $*"; }
# expect CODE 'STDERR-SUBSTRING' DESC -- COMMAND...
expect() {
	local code=$1 want=$2 desc=$3; shift 4
	local err rc
	err=$("$@" 2>&1 >/dev/null); rc=$?
	if [ "$rc" -eq "$code" ] && [[ "$err" == *"$want"* ]]; then ok "$desc"
	else not_ok "$desc: exit $rc (want $code), stderr: $err"; fi
}
helper="$BIN_DIR/mount-sagafs"
mkdir -p $mnt

[ -e /dev/sagafs ] && { echo "the module is loaded: run with --no-module" >&2; exit 2; }

# 1. Not installed.
expect 32 "sagafs module not installed for kernel $kver: install it (make install, or the sagafs-dkms package)" \
	"missing module explained" -- "$helper" sagafs $mnt -o rw,backend=module

# 2. DKMS in the guest: slow under software emulation (the build runs
# there); packaging/test-dkms.sh builds through dkms on the host in every
# make test.  SAGAFS_DKMS_IN_VM=1 adds the in-guest add/build/install.
if [ "${SAGAFS_DKMS_IN_VM:-0}" = 1 ]; then
	src=/usr/src/sagafs-0.1.0
	rm -rf $src
	make --no-print-directory -s install-dkms-source DKMS_SRCDIR=$src
	if dkms add sagafs/0.1.0 >/tmp/dkms.log 2>&1 &&
		dkms build sagafs/0.1.0 -k "$kver" >>/tmp/dkms.log 2>&1 &&
		dkms install sagafs/0.1.0 -k "$kver" >>/tmp/dkms.log 2>&1; then
		ok "dkms add, build, install"
	else
		not_ok "dkms: $(tail -n 5 /tmp/dkms.log)"
	fi
	if modinfo -k "$kver" sagafs 2>/dev/null | grep -q "^filename:.*/updates/"; then ok "dkms module under updates/"
	else not_ok "dkms module location: $(modinfo -k "$kver" -F filename sagafs 2>&1)"; fi
	expect 0 "" "fake mount passes once the module is installed" -- "$helper" sagafs $mnt -f -o rw
	dkms remove sagafs/0.1.0 --all >>/tmp/dkms.log 2>&1 && ok "dkms remove" || not_ok "dkms remove: $(tail -n 3 /tmp/dkms.log)"
	rm -rf $src
fi

# 3. make install, then mount(8) end to end.
#
# depmod reads every module of the tree it is given: the guest sees the
# host's module tree over 9p, and its 4000 modules take depmod many
# minutes under software emulation.  make install and uninstall run here
# on a tree holding the builtin lists and the modules this test loads
# (fuse and what is loaded now), bind-mounted over the real one.
moddir=/lib/modules/$kver
trim=$(mktemp -d)
cp -a "$moddir"/modules.builtin* "$moddir"/modules.order "$trim"/
for m in fuse $(awk '{ print $1 }' /proc/modules); do
	f=$(modinfo -k "$kver" -n "$m" 2>/dev/null) || continue
	case "$f" in "$moddir"/*) ;; *) continue ;; esac
	mkdir -p "$trim/$(dirname "${f#"$moddir"/}")"
	cp "$f" "$trim/${f#"$moddir"/}"
done
mount --bind "$trim" "$moddir" || { echo "cannot bind the trimmed module tree over $moddir" >&2; exit 1; }
trap 'umount -l "$moddir"; rm -rf "$trim"' EXIT
depmod -a "$kver" || { echo "depmod on the trimmed tree failed" >&2; exit 1; }
if make --no-print-directory -s install-files KVER="$kver" RUST_OUT="$BIN_DIR" ${MAKEVARS:-} >/tmp/install.log 2>&1; then
	ok "make install-files"
else
	not_ok "make install-files: $(tail -n 5 /tmp/install.log)"
fi
[ -x /sbin/mount.sagafs ] && ok "/sbin/mount.sagafs installed" || not_ok "/sbin/mount.sagafs missing"
grep -q "updates/sagafs.ko" "/lib/modules/$kver/modules.dep" && ok "depmod ran" || not_ok "depmod did not run"
out=$(systemd-analyze verify /lib/systemd/system/sagafs.service 2>&1 | grep -v "man sagafs(5)")
[ -z "$out" ] && ok "systemd-analyze verify sagafs.service" || not_ok "systemd-analyze: $out"
expect 0 "" "mount -f through mount(8)" -- mount -f -t sagafs sagafs $mnt
[ -e /dev/sagafs ] && not_ok "fake mount loaded the module" || ok "fake mount loaded nothing"
expect 1 "mount.sagafs: retain=12Q: bad size, use e.g. 64M" "bad option through mount(8)" -- \
	mount -t sagafs -o retain=12Q sagafs $mnt
expect 1 "mount.sagafs: must be run as root (try: sudo mount ...)" "non-root caller" -- \
	setpriv --reuid=65534 --regid=65534 --clear-groups /sbin/mount.sagafs sagafs $mnt
expect 0 "" "mount -t sagafs loads the module and mounts" -- \
	mount -t sagafs -o nofail,retain=16M,config=/etc/sagafs.conf sagafs $mnt
lsmod | grep -q '^sagafs ' && ok "module loaded by the helper" || not_ok "module not loaded"
stat -c '%t:%T %a %U' /dev/sagafs 2>/dev/null | grep -q ' 600 root$' && ok "/dev/sagafs mode 0600 root" ||
	not_ok "/dev/sagafs: $(ls -l /dev/sagafs 2>&1)"
if grep -q " $mnt fuse.sagafs " /proc/mounts; then ok "mounted as fuse.sagafs"
else not_ok "not in /proc/mounts: $(grep sagafs /proc/mounts)"; fi
grep " $mnt " /proc/mounts | grep -q 'nosuid,nodev,noexec' && ok "nodev,nosuid,noexec by default" ||
	not_ok "mount flags: $(grep " $mnt " /proc/mounts)"
sleep 0.2
ls $mnt/log >/dev/null 2>&1 && ok "log file present" || not_ok "no $mnt/log: $(ls -la $mnt 2>&1)"
expect 32 "mount.sagafs: sagafs is already mounted on $mnt (unmount it first: umount $mnt)" \
	"second mount refused" -- mount -t sagafs sagafs $mnt
umount $mnt && ok "umount" || not_ok "umount"
for _ in $(seq 50); do pgrep -x sagafs >/dev/null || break; sleep 0.1; done
pgrep -x sagafs >/dev/null && not_ok "daemon still running after umount" || ok "daemon gone after umount"
# 4. mount -t fuse.sagafs: mount(8) runs mount.fuse3, which runs the
# program named by the subtype from PATH (/usr/sbin/sagafs) as
# `sagafs SOURCE DIR -o OPTS,dev,suid`.  mount.fuse3 loads no module.
modprobe sagafs && ok "modprobe sagafs" || not_ok "modprobe sagafs"
expect 0 "" "mount -t fuse.sagafs (through mount.fuse3)" -- \
	mount -t fuse.sagafs -o retain=16M,nofail sagafs $mnt
if grep -q "^sagafs $mnt fuse.sagafs " /proc/mounts; then ok "fuse.sagafs mount shows as fuse.sagafs"
else not_ok "fuse.sagafs mount: $(grep " $mnt " /proc/mounts)"; fi
fdaemon=$(pgrep -o -x sagafs)
[ "$(readlink "/proc/${fdaemon:-1}/exe")" = /usr/sbin/sagafs ] && ok "the daemon is /usr/sbin/sagafs" ||
	not_ok "daemon: pid '$fdaemon' exe $(readlink "/proc/${fdaemon:-1}/exe")"
tr '\0' ' ' <"/proc/${fdaemon:-1}/cmdline" | grep -q -- " -o \(.*,\)\?retain=16M\(,\|\s\)" && ok "retain=16M reached the daemon" ||
	not_ok "daemon command line: $(tr '\0' ' ' <"/proc/${fdaemon:-1}/cmdline")"
logged=0
for _ in $(seq 50); do [ -n "$(head -n 1 $mnt/log 2>/dev/null)" ] && { logged=1; break; }; sleep 0.1; done
[ $logged = 1 ] && grep -q ' syscall=' $mnt/log && ok "log readable through the fuse.sagafs mount" ||
	not_ok "log: $(head -c 200 $mnt/log 2>&1)"
umount $mnt && ok "umount of the fuse.sagafs mount" || not_ok "umount of the fuse.sagafs mount"
for _ in $(seq 50); do pgrep -x sagafs >/dev/null || break; sleep 0.1; done
pgrep -x sagafs >/dev/null && not_ok "daemon (or guardian) still running: $(pgrep -a sagafs)" ||
	ok "daemon and guardian gone after umount"
grep -q " $mnt " /proc/mounts && not_ok "a mount is left on $mnt" || ok "nothing left mounted on $mnt"
expect 0 "" "make uninstall" -- make --no-print-directory -s uninstall KVER="$kver" ${MAKEVARS:-}
[ -e /sbin/mount.sagafs ] && not_ok "mount.sagafs left behind" || ok "mount.sagafs removed"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
