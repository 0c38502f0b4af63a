#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The fstab boot path, proved in a VM that boots with systemd as init:
#
#   tests/vm/boot/run.sh [--no-build] [--rebuild-rootfs] [--boot-timeout S]
#                        [--timeout S] [--keep] [--deb]
#
# 1. Builds sagafs (make module rust) unless --no-build.
# 2. Builds a Debian 12 (bookworm) minbase root file system with systemd,
#    udev, kmod and fuse3 by debootstrap, from the mirror apt already uses,
#    and caches it as a tarball under target/boot/ (rebuilt when the
#    recipe changes or with --rebuild-rootfs).
# 3. Unpacks it and installs sagafs the way an administrator would: `make
#    install-files DESTDIR=...`, the guest kernel's modules, depmod, this
#    /etc/fstab line and nothing else in fstab:
#        sagafs /sagafs sagafs defaults,nofail,config=/etc/sagafs.conf 0 0
#    and /etc/sagafs.conf holding `exclude = openat`.  The only test
#    addition is a oneshot unit that runs check.sh after multi-user.target
#    and powers the guest off.
#    --deb installs the Debian packages instead (target/deb, built by make
#    deb, with apt-get in a chroot) and tests upgrade, remove and purge in
#    the same boot after check.sh: tests/vm/boot/deb.sh, whose results go
#    to a virtio serial port (target/boot/work/deb-results.log; print
#    them with tests/vm/boot/deb.sh report target/boot/work).
# 4. Boots Debian's kernel (/boot/vmlinuz-VER with its initrd) on an ext4
#    image of that tree with plain qemu-system-x86_64 -accel tcg.  The
#    console goes to target/boot/work/console.log, check.sh's TAP lines to
#    a second serial port (target/boot/work/results.log).
# 5. Prints the guest's TAP lines, adds the host's own (the guest powered
#    itself off, its summary matches its lines, the shutdown unmounted
#    /sagafs cleanly), then "N passed, M failed"; exits 0 only if every
#    check passed.  target/boot/work/ keeps the logs (--keep: the image
#    and the unpacked tree too).
#
# Runs as root, unattended, on a Debian 12 machine; installs debootstrap,
# qemu-system-x86, e2fsprogs and the kernel image if they are missing.
# The whole run is bounded by --timeout (default 1800 s, covering a first
# build); the boot itself by --boot-timeout (default 300 s).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../../.." && pwd)
. "$repo/tests/vm/lib.sh"

build=1
rebuild_rootfs=0
boot_timeout=300
total_timeout=1800
keep=0
deb=0

die() {
	echo "tests/vm/boot/run.sh: $*" >&2
	exit 2
}

args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) build=0; shift ;;
	--rebuild-rootfs) rebuild_rootfs=1; shift ;;
	--boot-timeout) boot_timeout=$2; shift 2 ;;
	--timeout) total_timeout=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--deb) deb=1; shift ;;
	-h | --help) sed -n '4,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done
for n in "$boot_timeout" "$total_timeout"; do
	[[ "$n" =~ ^[1-9][0-9]*$ ]] || die "timeouts are whole seconds, got '$n'"
done

# Bound the whole run: re-run this script under timeout(1) once.
if [ -z "${SAGAFS_BOOT_BOUNDED:-}" ]; then
	set +e
	SAGAFS_BOOT_BOUNDED=1 timeout --kill-after=30 "$total_timeout" "$0" "${args[@]}" </dev/null
	rc=$?
	[ $rc = 124 ] && echo "tests/vm/boot/run.sh: gave up after ${total_timeout}s (--timeout)" >&2
	exit $rc
fi

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, device nodes in the image)"

cache=$repo/target/boot
work=$cache/work
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 60 9 || die "another run holds $cache/.lock"

log() { echo "# boot: $*"; }

# --- host packages -----------------------------------------------------
need=()
for pair in debootstrap:debootstrap qemu-system-x86_64:qemu-system-x86 \
	mkfs.ext4:e2fsprogs depmod:kmod; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
	log "installing ${need[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi

# --- sagafs itself -----------------------------------------------------
if [ "$build" = 1 ]; then
	log "building sagafs (make module rust)"
	make -C "$repo" --no-print-directory -s module rust >"$cache/build.log" 2>&1 ||
		{ tail -n 30 "$cache/build.log" >&2; die "build failed (log: $cache/build.log)"; }
fi
ko=$repo/kmod/sagafs.ko
# With --deb the programs come from the packages; the module names the kernel.
bins=("$repo/target/release/sagafs" "$repo/target/release/mount-sagafs")
[ "$deb" = 0 ] || bins=()
for f in "$ko" "${bins[@]}"; do
	[ -f "$f" ] || die "$f is missing: run 'make' (or drop --no-build)"
done
kver=$(modinfo -F vermagic "$ko" | awk '{print $1}')
kernel=/boot/vmlinuz-$kver
initrd=/boot/initrd.img-$kver
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ] || [ ! -d "/lib/modules/$kver/kernel" ]; then
	log "installing linux-image-$kver"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q "linux-image-$kver" >/dev/null ||
		die "cannot install linux-image-$kver (sagafs.ko was built for $kver)"
fi
[ -f "$initrd" ] || die "$initrd is missing (update-initramfs -c -k $kver)"

# --- the cached root file system ----------------------------------------
suite=bookworm
# dkms and the guest kernel's headers: the sagafs-dkms package (--deb)
# builds the module in the image.  libelf1: the sagafs package links it
# (the eBPF loader), and apt installs the packages from their files alone,
# since the image keeps no package lists.
packages=systemd,systemd-sysv,udev,kmod,fuse3,dkms,libelf1
# The mirror apt already uses (deb822 URIs: or one-line deb entries).
mirror=${SAGAFS_BOOT_MIRROR:-$(
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n -E -e 's/^URIs:[[:space:]]*//p' -e 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?//p' |
		awk '{print $1}' | grep -E '/debian/?$' | head -n 1 || true
)}
mirror=${mirror:-http://deb.debian.org/debian}
# Bump when the recipe below changes: the key names the tarball.
recipe=3
key=$(printf '%s\n' "$recipe" "$suite" "$packages" "$mirror" "$kver" | sha256sum | cut -c1-12)
tarball=$cache/rootfs-$suite-$key.tar

make_rootfs() {
	local tmp=$cache/rootfs.tmp
	rm -rf "$tmp"
	mkdir -p "$tmp"
	log "debootstrap $suite minbase +$packages from $mirror (once; cached as $(basename "$tarball"))"
	if ! debootstrap --variant=minbase --include="$packages" "$suite" "$tmp/root" "$mirror" \
		>"$tmp/debootstrap.log" 2>&1; then
		tail -n 20 "$tmp/debootstrap.log" >&2
		die "debootstrap failed (log: $tmp/debootstrap.log)"
	fi
	local r=$tmp/root
	log "adding linux-headers-$kver to the image"
	"$here/deb.sh" rootfs "$r" "$kver" >"$tmp/headers.log" 2>&1 ||
		{ tail -n 20 "$tmp/headers.log" >&2; die "installing linux-headers-$kver in the image failed"; }
	echo sagafs-boot >"$r/etc/hostname"
	# A set machine id: no first-boot prompts on the console.
	od -An -tx1 -N16 /dev/urandom | tr -d ' \n' >"$r/etc/machine-id"
	echo >>"$r/etc/machine-id"
	# Nothing at boot needs these; leaving them out keeps the image small.
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* \
		"$r"/usr/share/doc/* "$r"/usr/share/man/* "$r"/usr/share/locale/*
	tar --numeric-owner --xattrs -C "$r" -cf "$tarball.part" .
	mv "$tarball.part" "$tarball"
	rm -rf "$tmp"
	find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "$(basename "$tarball")" -delete
}
if [ "$rebuild_rootfs" = 1 ] || [ ! -f "$tarball" ]; then
	make_rootfs
else
	log "reusing $(basename "$tarball")"
fi

# --- this run's tree: sagafs installed as an administrator would ---------
rm -rf "$work"
mkdir -p "$work"
root=$work/root
mkdir "$root"
tar --numeric-owner --xattrs -C "$root" -xpf "$tarball"

# The guest kernel's own modules (fuse among them).
mkdir -p "$root/lib/modules/$kver"
cp -a "/lib/modules/$kver/kernel" "/lib/modules/$kver"/modules.order \
	"/lib/modules/$kver"/modules.builtin* "$root/lib/modules/$kver/"
if [ "$deb" = 1 ]; then
	log "apt-get install of the packages in the image (tests/vm/boot/deb.sh prepare)"
	"$here/deb.sh" prepare "$root" "$kver" "$work" || die "installing the packages failed (log: $work/deb-host.log)"
else
	log "make install-files DESTDIR=$root KVER=$kver"
	make -C "$repo" --no-print-directory -s install-files DESTDIR="$root" KVER="$kver" \
		>"$work/install.log" 2>&1 || { cat "$work/install.log" >&2; die "make install-files failed"; }
	# depmod, as the package scripts would.
	depmod -b "$root" "$kver"
fi
grep -q 'updates/\(dkms/\)\?sagafs.ko:' "$root/lib/modules/$kver/modules.dep" ||
	die "depmod did not register updates/sagafs.ko"

echo 'sagafs /sagafs sagafs defaults,nofail,config=/etc/sagafs.conf 0 0' >"$root/etc/fstab"
printf "# sagafs boot test\nexclude = openat\n" >"$root/etc/sagafs.conf"

install -D -m 0755 "$here/check.sh" "$root/usr/local/sbin/sagafs-boot-check"
install -D -m 0644 "$here/sagafs-boot-check.service" \
	"$root/etc/systemd/system/sagafs-boot-check.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf ../sagafs-boot-check.service \
	"$root/etc/systemd/system/multi-user.target.wants/sagafs-boot-check.service"

# --- the disk image --------------------------------------------------------
image=$work/root.img
size_mb=$(($(du -sm "$root" | cut -f1) * 5 / 4 + 256))
truncate -s "${size_mb}M" "$image"
mkfs.ext4 -q -F -L sagafs-root -d "$root" "$image" ||
	die "mkfs.ext4 -d failed"
[ "$keep" = 1 ] || rm -rf "$root"

# --- boot ----------------------------------------------------------------
console=$work/console.log
results=$work/results.log
: >"$console"
: >"$results"
log "booting $kernel with systemd as init (multi-threaded tcg, timeout ${boot_timeout}s)"
start=$(date +%s)
set +e
timeout --kill-after=10 "$boot_timeout" qemu-system-x86_64 \
	-accel tcg,thread=multi -m 1G -smp 2 -nodefaults -no-reboot \
	-display none -vga none -monitor none \
	-kernel "$kernel" -initrd "$initrd" \
	-append "root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 noresume panic=-1 systemd.firstboot=off net.ifnames=0 softlockup_all_cpu_backtrace=1 sysctl.kernel.hung_task_timeout_secs=60 rcupdate.rcu_cpu_stall_timeout=21" \
	-drive "file=$image,format=raw,if=virtio" \
	-nic none \
	-serial "file:$console" -serial "file:$results" \
	-device virtio-serial-pci,id=vser -chardev "file,id=deb,path=$work/deb-results.log" \
	-device virtserialport,bus=vser.0,chardev=deb,name=sagafs-deb </dev/null
qrc=$?
set -e
log "qemu exited $qrc after $(($(date +%s) - start))s"
[ "$keep" = 1 ] || rm -f "$image"

tr -d '\r' <"$results" >"$results.txt"
# The guest's lines; its plan and summary shown as comments.
sed -E 's/^([0-9]+ passed, [0-9]+ failed|1\.\.[0-9]+)$/# guest: \1/' "$results.txt"
gpass=$(grep -c '^ok ' "$results.txt" || true)
gfail=$(grep -c '^not ok ' "$results.txt" || true)
summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results.txt" | tail -n 1 || true)
pass=$gpass fail=$gfail n=$((gpass + gfail))
host_ok() { n=$((n + 1)); pass=$((pass + 1)); echo "ok $n - $*"; }
host_not_ok() { n=$((n + 1)); fail=$((fail + 1)); echo "not ok $n - $*"; }
if [ $qrc = 0 ]; then
	host_ok "the guest powered itself off"
elif [ $qrc = 124 ] || [ $qrc = 137 ]; then
	host_not_ok "the guest did not power off within ${boot_timeout}s (--boot-timeout)"
else
	host_not_ok "qemu exited with status $qrc"
fi
plan=$(grep -E '^1\.\.[0-9]+$' "$results.txt" | tail -n 1 | cut -d. -f3)
if [ -z "$summary" ]; then
	host_not_ok "the guest check finished (no summary line on the second serial port)"
elif [ "$summary" != "$gpass passed, $gfail failed" ] || [ "${plan:-0}" != $((gpass + gfail)) ] ||
	[ "${plan:-0}" -lt 10 ]; then
	host_not_ok "the guest's summary '$summary' and plan 1..${plan:-?} match its $((gpass + gfail)) lines"
else
	host_ok "the guest check finished: $summary"
fi
# The clean shutdown after the check unmounts /sagafs through the unit.
plain=$work/console.txt
tr -d '\r' <"$console" | sed 's/\x1b\[[0-9;]*m//g' >"$plain"
if grep -q 'Unmounted sagafs.mount' "$plain" && ! grep -qE 'Failed[^.]*(sagafs\.mount|/sagafs)' "$plain"; then
	host_ok "poweroff unmounted sagafs.mount cleanly (console)"
else
	host_not_ok "poweroff unmounted sagafs.mount cleanly: $(grep -i 'sagafs.mount' "$plain" | tail -n 3 | tr '\n' ' ')"
fi
# The hang detectors and the rest of the kernel's reports, on the console.
if reports=$(kernel_reports -f "$plain"); then
	host_ok "the guest kernel reported no fault, stall or hang (console)"
else
	host_not_ok "the guest kernel reported: $(printf '%s\n' "$reports" | head -n 5 | tr '\n' ' ')"
fi
if [ "$fail" != 0 ]; then
	echo "# last 60 console lines ($plain):"
	tail -n 60 "$plain" | sed 's/^/#   /'
fi
echo "1..$n"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
