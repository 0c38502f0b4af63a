#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make demo`: load a capture backend, mount the file system with the
# daemon, run a small workload and show /sagafs/stats and the end of
# /sagafs/log.
#
# On a machine whose kernel loads modules (and has its build tree), this
# happens here: the module is loaded without installing it (insmod), the
# mount is /sagafs and both stay in place afterwards.  On a kernel without
# module support that has BPF and BTF (/sys/kernel/btf/vmlinux), it also
# happens here, natively: the daemon loads the eBPF backend
# (backend=bpf), mounts /sagafs, the demo shows it and unmounts.
# Elsewhere the test VM is booted and the module demo happens inside it,
# mounted at /tmp/sagafs (the guest's / is read-only); with a terminal on
# stdin a shell in the VM follows, else the VM powers off once the demo
# is shown.
#
# usage: tests/demo.sh
#        tests/demo.sh --in-vm MOUNTPOINT     (inside the VM, by the above)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
daemon=$repo/target/release/sagafs
ko=$repo/kmod/sagafs.ko

die() {
	echo "demo: $*" >&2
	exit 1
}

say() {
	printf '\n\033[1m%s\033[0m\n' "$*"
}

# A few commands whose calls are easy to spot in the log.
workload() {
	say "# a small workload: ls, cat, a failed open, a file written and removed"
	ls / >/dev/null
	cat /etc/os-release >/dev/null
	cat /nonexistent/sagafs-demo 2>/dev/null || true
	local f
	f=$(mktemp /tmp/sagafs-demo.XXXXXX)
	echo "hello from the sagafs demo" >"$f"
	rm -f "$f"
	# The daemon drains the rings as records arrive; give it a moment.
	sleep 1
}

# mount_and_show MOUNTPOINT [OPTIONS]: mount (unless already mounted), run
# the workload, show the files.
mount_and_show() {
	local mnt=$1 opts=${2:-defaults}
	[ -x "$daemon" ] || die "$daemon is missing: run 'make' first"
	case "$opts" in
	*backend=bpf*) ;;
	*) [ -e /dev/sagafs ] || die "/dev/sagafs is missing: the module did not load" ;;
	esac
	if grep -q " $mnt fuse" /proc/mounts; then
		say "# $mnt is already mounted: using it"
	else
		mkdir -p "$mnt"
		say "# $daemon -o $opts sagafs $mnt"
		"$daemon" -o "$opts" sagafs "$mnt" || die "mounting $mnt failed"
		grep " $mnt " /proc/mounts || die "$mnt is not in /proc/mounts after the daemon returned"
	fi
	workload
	say "# cat $mnt/stats"
	cat "$mnt/stats"
	say "# tail -n 20 $mnt/log"
	tail -n 20 "$mnt/log"
	say "# grep sagafs-demo $mnt/log   (the calls of the workload, with their paths)"
	grep -a 'sagafs-demo' "$mnt/log" | tail -n 8 || echo "(none found)"
}

if [ "${1:-}" = --in-vm ]; then
	mnt=${2:?usage: demo.sh --in-vm MOUNTPOINT}
	[ "${SAGAFS_IN_VM:-}" = 1 ] || die "--in-vm runs inside the test VM (tests/vm/run)"
	modprobe fuse 2>/dev/null || true
	# The guest's serial console may come non-blocking: a long write to
	# it then fails with EAGAIN.  Make it blocking.
	if [ -t 1 ]; then
		perl -MFcntl -e 'my $f = fcntl(STDOUT, F_GETFL, 0) or exit 0;
			fcntl(STDOUT, F_SETFL, $f & ~O_NONBLOCK)' || true
	fi
	mount_and_show "$mnt"
	if [ "${SAGAFS_DEMO_SHELL:-0}" = 1 ]; then
		say "# $mnt stays mounted; try:"
		cat <<EOF
    cat $mnt/stats
    tail -f $mnt/pipe          (Ctrl-C to stop)
    echo 'exclude = read,write' > $mnt/config; cat $mnt/config
    jq -r .syscall $mnt/log.json | sort | uniq -c | sort -n | tail
  umount $mnt unmounts it; exit (or Ctrl-D) powers the VM off.
EOF
	else
		umount "$mnt" || die "umount $mnt failed"
		say "# unmounted $mnt; the VM powers off (run 'make demo' on a terminal for a shell in it)"
	fi
	exit 0
fi

# The native BPF demo needs no module.
need_ko=1
[ ! -e /proc/modules ] && [ -e /sys/kernel/btf/vmlinux ] && need_ko=0
if [ ! -x "$daemon" ] || { [ "$need_ko" = 1 ] && [ ! -f "$ko" ]; }; then
	make -C "$repo" all
fi

if [ -e /proc/modules ] && [ -d "/lib/modules/$(uname -r)/build" ]; then
	[ "$(id -u)" = 0 ] || die "loading the module and mounting need root: sudo make demo"
	if grep -q '^sagafs ' /proc/modules; then
		say "# sagafs.ko is already loaded: using it"
	else
		say "# insmod $ko"
		insmod "$ko" || die "insmod $ko failed (see dmesg)"
		for _ in $(seq 50); do
			[ -e /dev/sagafs ] && break
			sleep 0.1
		done
	fi
	modprobe fuse 2>/dev/null || true
	mount_and_show /sagafs
	say "# /sagafs stays mounted and the module loaded.  To undo: umount /sagafs && rmmod sagafs"
	exit 0
fi

if [ ! -e /proc/modules ] && [ -e /sys/kernel/btf/vmlinux ]; then
	[ "$(id -u)" = 0 ] || die "loading the BPF program and mounting need root: sudo make demo"
	say "# this kernel cannot load modules but has BPF and BTF: the eBPF backend, natively"
	modprobe fuse 2>/dev/null || true
	grep -q ' /sagafs fuse' /proc/mounts && die "/sagafs is already mounted: umount /sagafs first"
	mount_and_show /sagafs defaults,backend=bpf
	say "# umount /sagafs"
	umount /sagafs || die "umount /sagafs failed"
	grep -q ' /sagafs ' /proc/mounts && die "/sagafs is still mounted"
	say "# unmounted /sagafs"
	exit 0
fi

say "# this kernel cannot load modules (no /proc/modules): booting the test VM (about 20 s)"
if [ -t 0 ] && [ -t 1 ]; then
	exec "$repo/tests/vm/run" --interactive -- \
		env SAGAFS_DEMO_SHELL=1 "$repo/tests/demo.sh" --in-vm /tmp/sagafs
fi
# QEMU truncates a regular file given as its output or error: pipe both
# instead, so that what came before stays when they go to a file.
set +e
"$repo/tests/vm/run" -- env SAGAFS_DEMO_SHELL=0 "$repo/tests/demo.sh" --in-vm /tmp/sagafs 2>&1 | cat
exit "${PIPESTATUS[0]}"
