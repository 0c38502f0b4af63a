#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The Debian packages in the systemd boot VM (tests/vm/boot/run.sh --deb):
#
#   deb.sh rootfs ROOT KVER       host: add the headers of the guest's
#                                 kernel to the cached root file system
#   deb.sh prepare ROOT KVER WORK host: install the packages in the image
#   deb.sh guest                  guest: upgrade, remove, purge, reinstall
#   deb.sh report WORK            host: both parts' lines and the summary
#
# prepare runs apt-get in a chroot of the image, so the packages'
# maintainer scripts run as they do on a real machine (systemd is not
# running there, as in an installer):
#   1. sagafs-dkms: its postinst builds the module with DKMS for the
#      guest's kernel; purging it leaves the file system as it was.
#   2. sagafs-dkms again, with the kernel's headers out of sight (the
#      build is skipped), then the headers package's own postinst, as when
#      a new kernel arrives: DKMS builds the module for it.  The headers
#      are removed then (the booted system does not need them).
#   3. sagafs: the file system is recorded just before, to compare with
#      after its purge in the guest.
# Its lines go to WORK/deb-host.log.  The guest part runs after the boot
# check (check.sh) as sagafs-boot-deb.service and writes to the virtio
# serial port sagafs-deb (WORK/deb-results.log):
#   - the image's install: unit disabled, DKMS module loaded, layout;
#   - an upgrade to the +test1 build while /sagafs is mounted keeps the
#     changed /etc/sagafs.conf, and the remounted new daemon applies it;
#   - apt-get remove unmounts /sagafs and the daemon exits;
#   - apt-get purge leaves the file system as it was before the install;
#   - a fresh install mounts again (and leaves /sagafs mounted for the
#     host's check of the clean poweroff).
# The packages come from target/deb (make deb) and target/deb-upgrade
# (make deb DEB_OUT=target/deb-upgrade DEB_VERSION_SUFFIX=+test1), or
# SAGAFS_DEB and SAGAFS_DEB_UPGRADE.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# In the image the script is /usr/local/sbin/sagafs-boot-deb: the test
# data lives in /root/sagafs-deb.
data=/root/sagafs-deb

t=0 passed=0 failed=0
ok() { t=$((t + 1)); passed=$((passed + 1)); echo "ok $t - $*"; }
not_ok() { t=$((t + 1)); failed=$((failed + 1)); echo "not ok $t - $*"; }
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# Runs a command, its output and time shown as TAP comments; returns its
# status.
run() {
	local rc start=$SECONDS
	echo "# \$ $*"
	"$@" >/tmp/sagafs-deb-run.log 2>&1
	rc=$?
	sed 's/^/#   /' /tmp/sagafs-deb-run.log
	echo "#   (exit $rc, $((SECONDS - start)) s)"
	return $rc
}
die() {
	echo "tests/vm/boot/deb.sh: $*" >&2
	exit 2
}

# The file system as a sorted list: type, mode, owner, size (files) and
# link target, per path under ROOT.  Left out: kernel and runtime file
# systems, apt's and dpkg's own records and logs (what apt itself logs),
# what the boot itself writes, and the test's own files.
snapshot() {
	(cd "$1" && find . -xdev \( \
		-path ./proc -o -path ./sys -o -path ./dev -o -path ./run -o \
		-path ./tmp -o -path ./var/tmp -o -path ./lost+found -o \
		-path ./var/log -o -path ./var/lib/dpkg -o -path ./var/lib/apt -o \
		-path ./var/cache/apt -o -path ./var/cache/debconf -o \
		-path ./var/lib/systemd/random-seed -o -path ./var/lib/systemd/timers -o \
		-path ./etc/.updated -o -path ./var/.updated -o \
		-path ./etc/fstab -o -path ./usr/local -o -path ./root/sagafs-deb -o \
		-path './etc/systemd/system/sagafs-boot-*' -o \
		-path './etc/systemd/system/multi-user.target.wants/sagafs-boot-*' \
		\) -prune -o \
		\( -type d -printf '%y %m %U:%G - %p\n' \) -o \
		\( -type l -printf '%y - %U:%G - %p -> %l\n' \) -o \
		-printf '%y %m %U:%G %s %p\n') | LC_ALL=C sort
}

# --- host: the cached root file system --------------------------------------

# chroot ROOT, with /proc, in a private mount namespace (no mount outlives it).
in_root() {
	local root=$1
	shift
	unshare --mount --propagation private -- /bin/sh -c \
		'mount -t proc proc "$0/proc" && exec chroot "$0" "$@"' "$root" \
		/usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C \
		DEBIAN_FRONTEND=noninteractive "$@" </dev/null
}

# The headers of the guest's kernel come from the host's apt sources (a
# kernel update is in bookworm-security, which debootstrap does not read).
cmd_rootfs() {
	local root=$1 kver=$2 f
	mkdir -p "$root/etc/apt/sources.list.d"
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
		/etc/apt/trusted.gpg.d/* /etc/apt/keyrings/*; do
		[ -f "$f" ] && install -D -m 0644 "$f" "$root$f"
	done
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
	in_root "$root" apt-get update -q || die "apt-get update in the image failed"
	in_root "$root" apt-get install -y -q --no-install-recommends "linux-headers-$kver" ||
		die "linux-headers-$kver is not installable from this machine's apt sources"
	in_root "$root" apt-get clean
}

# --- host: install the packages into the image -----------------------------

debs_in() {
	local dir=$1 v
	for v in sagafs sagafs-dkms; do
		ls "$dir/${v}"_*.deb >/dev/null 2>&1 ||
			die "no ${v}_*.deb in $dir: run 'make deb' (and make deb DEB_OUT=target/deb-upgrade DEB_VERSION_SUFFIX=+test1)"
	done
	[ "$(ls "$dir"/*.deb | wc -l)" = 2 ] || die "$dir holds more than one build: $(ls "$dir"/*.deb)"
}

# compare DESC BEFORE AFTER: no path added, removed or changed.
compare() {
	local diff
	diff=$(diff "$2" "$3")
	if [ -z "$diff" ] && [ "$(wc -l <"$3")" -gt 1000 ]; then
		ok "$1 ($(wc -l <"$3") paths)"
	else
		not_ok "$1: $(echo "$diff" | grep -c '^[<>]') paths differ"
		echo "$diff" | grep '^[<>]' | head -n 40 | sed 's/^/#   /'
	fi
}

cmd_prepare() {
	local root=$1 kver=$2 work=$3
	local repo v1dir v2dir ko=/lib/modules/$kver/updates/dkms/sagafs.ko
	repo=$(cd "$here/../../.." && pwd)
	v1dir=${SAGAFS_DEB:-$repo/target/deb}
	v2dir=${SAGAFS_DEB_UPGRADE:-$repo/target/deb-upgrade}
	debs_in "$v1dir"
	debs_in "$v2dir"
	exec >"$work/deb-host.log"
	echo "# host: the packages installed into the image by apt-get in a chroot"
	mkdir -p "$root$data/v1" "$root$data/v2"
	cp "$v1dir"/*.deb "$root$data/v1/"
	cp "$v2dir"/*.deb "$root$data/v2/"
	local dkms_deb sagafs_deb
	dkms_deb=$(cd "$root" && ls .$data/v1/sagafs-dkms_*.deb)
	sagafs_deb=$(cd "$root" && ls .$data/v1/sagafs_*.deb)
	dkms_deb=${dkms_deb#.}
	sagafs_deb=${sagafs_deb#.}
	[ -e "$root$(readlink "$root/lib/modules/$kver/build")/include" ] ||
		die "the image has no headers for $kver (/lib/modules/$kver/build)"

	# The module indexes, as the kernel package's postinst leaves them.
	depmod -b "$root" "$kver"
	snapshot "$root" >"$work/deb-s0.txt"
	check "apt-get install ./$(basename "$dkms_deb") (chroot)" run in_root "$root" apt-get install -y "$dkms_deb"
	if [ -f "$root$ko" ] && [ "$(modinfo -F vermagic "$root$ko" | cut -d' ' -f1)" = "$kver" ]; then
		ok "its postinst built $ko with DKMS for $kver"
	else
		not_ok "no DKMS-built $ko for $kver in the image"
	fi
	check "apt-get purge sagafs-dkms (chroot)" run in_root "$root" apt-get purge -y sagafs-dkms
	snapshot "$root" >"$work/deb-s0-after.txt"
	compare "purging sagafs-dkms leaves the file system as before its install" \
		"$work/deb-s0.txt" "$work/deb-s0-after.txt"

	# A kernel whose headers arrive after the package: hide this one's.
	mv "$root/lib/modules/$kver/build" "$root/lib/modules/$kver/build.hidden"
	check "apt-get install ./$(basename "$dkms_deb") without the headers (chroot)" \
		run in_root "$root" apt-get install -y "$dkms_deb"
	check "no module built without headers" test ! -e "$root$ko"
	mv "$root/lib/modules/$kver/build.hidden" "$root/lib/modules/$kver/build"
	check "linux-headers-$kver's postinst (a new kernel's headers) runs DKMS (chroot)" \
		run in_root "$root" "/var/lib/dpkg/info/linux-headers-$kver.postinst" configure
	if [ -f "$root$ko" ] && grep -q "updates/dkms/sagafs.ko:" "$root/lib/modules/$kver/modules.dep"; then
		ok "DKMS built and installed $ko for the new kernel (depmod ran)"
	else
		not_ok "no $ko registered in modules.dep after the headers' postinst"
	fi
	# The headers served the builds above.  The booted system runs without
	# their 17000 files: dpkg and the file system snapshots are much
	# faster under emulation.
	check "the headers go again (apt-get purge, autoremove)" run in_root "$root" \
		apt-get purge -y --autoremove "linux-headers-$kver"
	check "the module stays installed" test -f "$root$ko"

	snapshot "$root" >"$root$data/before-sagafs.txt"
	check "apt-get install ./$(basename "$sagafs_deb") (chroot)" run in_root "$root" apt-get install -y "$sagafs_deb"
	check "its postinst made the mount point /sagafs" test -d "$root/sagafs"
	check "sagafs.service is not enabled" \
		test -z "$(find "$root/etc/systemd/system" -name sagafs.service)"
	echo "# host: $passed passed, $failed failed"

	# The guest part runs after check.sh and powers off in its place.
	install -D -m 0755 "$here/deb.sh" "$root/usr/local/sbin/sagafs-boot-deb"
	cat >"$root/etc/systemd/system/sagafs-boot-deb.service" <<-'EOF'
		# sagafs boot test: the Debian packages, after the boot check.
		[Unit]
		Description=sagafs boot test: Debian packages (upgrade, remove, purge)
		After=multi-user.target sagafs-boot-check.service

		[Service]
		Type=oneshot
		ExecStart=/usr/local/sbin/sagafs-boot-deb guest
		# Slow under emulation on a busy machine: run.sh --boot-timeout
		# bounds the whole boot.
		TimeoutStartSec=1500
		# The daemons that `mount /sagafs` starts here outlive this unit,
		# as they outlive an administrator's shell.
		KillMode=process
		ExecStopPost=/bin/systemctl --no-block poweroff

		[Install]
		WantedBy=multi-user.target
	EOF
	mkdir -p "$root/etc/systemd/system/sagafs-boot-check.service.d" \
		"$root/etc/systemd/system/multi-user.target.wants"
	printf '[Service]\n# sagafs-boot-deb.service runs next and powers off.\nExecStopPost=\n' \
		>"$root/etc/systemd/system/sagafs-boot-check.service.d/deb.conf"
	ln -sf ../sagafs-boot-deb.service \
		"$root/etc/systemd/system/multi-user.target.wants/sagafs-boot-deb.service"
	mkdir -p "$root/usr/local/lib/sagafs-boot"
	echo "$ko" >"$root/usr/local/lib/sagafs-boot/module"
}

# --- guest ---------------------------------------------------------------

daemon_pids() {
	local exe pid
	for exe in /proc/[0-9]*/exe; do
		case "$(readlink "$exe" 2>/dev/null)" in
		/usr/sbin/sagafs | "/usr/sbin/sagafs (deleted)")
			pid=${exe#/proc/}
			echo "${pid%/exe}"
			;;
		esac
	done
}
wait_until() {
	local end=$((SECONDS + 30))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
mounted() { findmnt -n -t fuse.sagafs /sagafs >/dev/null; }
unmounted() { ! findmnt -n /sagafs >/dev/null; }
no_daemon() { [ -z "$(daemon_pids)" ]; }
status() { dpkg-query -W -f='${Version} ${Status}' "$1" 2>/dev/null; }
not() { ! "$@"; }
apt_get() { run env DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" </dev/null; }

cmd_guest() {
	local out=/dev/virtio-ports/sagafs-deb
	wait_until test -c "$out" || { echo "sagafs-boot-deb: no $out" >/dev/kmsg; exit 1; }
	exec >"$out" 2>&1
	export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
	export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C
	local kver v1 v2 ko src conf_sum shipped pid f id
	kver=$(uname -r)
	ko=$(cat /usr/local/lib/sagafs-boot/module)
	v1=$(dpkg-deb -f "$(ls $data/v1/sagafs_*.deb)" Version)
	v2=$(dpkg-deb -f "$(ls $data/v2/sagafs_*.deb)" Version)
	echo "# sagafs Debian packages on $(uname -r): $v1, then $v2"

	# --- what the image's install left -------------------------------------
	eq "dpkg: sagafs $v1 installed" "$(status sagafs)" "$v1 install ok installed"
	eq "dpkg: sagafs-dkms $v1 installed" "$(status sagafs-dkms)" "$v1 install ok installed"
	eq "sagafs.service is installed, not enabled" "$(systemctl is-enabled sagafs.service 2>&1)" disabled
	eq "sagafs.service is not running" "$(systemctl is-active sagafs.service 2>&1)" inactive
	src=/usr/src/sagafs-$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' /usr/src/sagafs-*/dkms.conf)
	eq "every file under $src belongs to sagafs-dkms" \
		"$(find "$src" -type f | sort)" "$(dpkg -L sagafs-dkms | grep "^$src/" | while read -r f; do
			[ -f "$f" ] && echo "$f"; done | sort)"
	check "$src holds dkms.conf, Makefile, Kbuild, the uapi header and C files" \
		test -f "$src/dkms.conf" -a -f "$src/Makefile" -a -f "$src/Kbuild" \
		-a -f "$src/include/uapi/sagafs.h" -a -f "$src/main.c"
	f=$(dkms status sagafs 2>&1)
	echo "$f" | sed 's/^/#   /'
	check "dkms status: installed for $kver" grep -q ", $kver, .*: installed" <<<"$f"
	# The build id of the DKMS-built file is in the loaded module's notes.
	id=$(readelf -n "$ko" 2>/dev/null | awk '/Build ID:/ { print $3 }')
	check "the loaded module is the DKMS-built $ko (build id ${id:-none})" \
		sh -c "[ -n '$id' ] && od -An -v -tx1 /sys/module/sagafs/notes/.note.gnu.build-id | tr -d ' \n' | grep -q '$id'"
	check "/sagafs is mounted (fstab)" mounted

	# --- upgrade while mounted, with a changed conffile ----------------------
	run cat /etc/sagafs.conf
	conf_sum=$(sha256sum /etc/sagafs.conf)
	shipped=$(dpkg-query -W -f='${Conffiles}' sagafs | awk '$1 == "/etc/sagafs.conf" { print $2 }')
	check "/etc/sagafs.conf is a conffile, changed since the install" \
		test -n "$shipped" -a "$shipped" != "$(md5sum </etc/sagafs.conf | cut -d' ' -f1)"
	pid=$(daemon_pids | sed -n 1p)
	check "apt-get install ./v2/sagafs_$v2 (upgrade, no prompt)" apt_get install "$(ls $data/v2/sagafs_*.deb)"
	eq "dpkg: sagafs $v2 installed" "$(status sagafs)" "$v2 install ok installed"
	eq "the changed /etc/sagafs.conf is kept" "$(sha256sum /etc/sagafs.conf)" "$conf_sum"
	eq "no .dpkg-new/.dpkg-dist/.dpkg-old next to it" "$(ls /etc/sagafs.conf.* 2>/dev/null)" ""
	check "the upgrade left /sagafs mounted" mounted
	check "the running daemon (pid ${pid:-none}) was left alone" test -n "$pid" -a -d "/proc/${pid:-0}"
	check "umount /sagafs" run umount /sagafs
	check "the old daemon exits after umount" wait_until no_daemon
	check "mount /sagafs (fstab) starts the new daemon" run mount /sagafs
	pid=$(daemon_pids | sed -n 1p)
	eq "the new daemon runs /usr/sbin/sagafs" "$(readlink "/proc/${pid:-0}/exe" 2>&1)" /usr/sbin/sagafs
	check "it applied the kept /etc/sagafs.conf (exclude = openat)" grep -qx 'exclude = openat' /sagafs/config

	# --- remove ------------------------------------------------------------
	# A reader holds /sagafs: the removal stops, says why, changes nothing.
	exec 7</sagafs/stats
	check "apt-get remove sagafs fails while a file on /sagafs is open" not apt_get remove sagafs
	check "prerm says why and what to do" \
		grep -q 'cannot unmount /sagafs: stop what uses it (fuser -vm /sagafs)' /tmp/sagafs-deb-run.log
	eq "dpkg: sagafs still installed" "$(dpkg-query -W -f='${Status}' sagafs | cut -d' ' -f3)" installed
	check "/sagafs still mounted, its program still there" sh -c 'findmnt -n /sagafs >/dev/null && test -x /usr/sbin/sagafs'
	exec 7<&-
	check "apt-get remove sagafs" apt_get remove sagafs
	check "/sagafs is unmounted" wait_until unmounted
	check "the daemon has exited" wait_until no_daemon
	eq "sagafs.mount is inactive, not failed" "$(systemctl is-active sagafs.mount 2>&1)" inactive
	eq "dpkg: sagafs removed, its conffile kept" "$(status sagafs)" "$v2 deinstall ok config-files"
	check "/etc/sagafs.conf is kept" test -f /etc/sagafs.conf
	check "the programs are gone" test ! -e /usr/sbin/sagafs -a ! -e /sbin/mount.sagafs
	check "the empty mount point is gone" test ! -e /sagafs

	# --- purge -------------------------------------------------------------
	check "apt-get purge sagafs" apt_get purge sagafs
	f=$(dpkg-query -W -f='${Status}' sagafs 2>/dev/null)
	check "dpkg: sagafs is purged (status '$f')" test -z "$f" -o "$f" = "unknown ok not-installed"
	check "/etc/sagafs.conf is gone" test ! -e /etc/sagafs.conf
	eq "no dpkg records of sagafs left" "$(ls /var/lib/dpkg/info/sagafs.* 2>/dev/null)" ""
	snapshot / >/tmp/after-purge.txt
	compare "the file system after the purge is the one before the install" \
		"$data/before-sagafs.txt" /tmp/after-purge.txt

	# --- install afresh on the running system --------------------------------
	check "apt-get install ./v2/sagafs_$v2 (fresh)" apt_get install "$(ls $data/v2/sagafs_*.deb)"
	check "mount /sagafs right after the install (fstab)" run mount /sagafs
	check "/sagafs/log has lines" sh -c 'head -n 1 /sagafs/log | grep " syscall=" >/dev/null'
	eq "sagafs.mount is active" "$(systemctl is-active sagafs.mount 2>&1)" active

	run systemctl --failed --no-pager
	eq "no sagafs unit failed" "$(systemctl list-units --failed --no-legend --plain 'sagafs*' | wc -l)" 0
	f=$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|KASAN|UBSAN|use-after-free|refcount_t:|circular locking|sleeping function called|scheduling while atomic|Call Trace')
	eq "the kernel logged no fault" "$f" ""
	echo "1..$t"
	echo "$passed passed, $failed failed"
	sync
}

# --- host: the report --------------------------------------------------------

cmd_report() {
	local work=$1 host=$1/deb-host.log guest=$1/deb-results.log
	local gp gf hp hf summary plan
	[ -f "$host" ] || { echo "not ok - the image preparation ran ($host missing)"; echo "0 passed, 1 failed"; return 1; }
	sed -E 's/^(ok|not ok) [0-9]+ /\1 /' "$host"
	hp=$(grep -c '^ok ' "$host")
	hf=$(grep -c '^not ok ' "$host")
	if grep -q '^# host: [0-9]* passed' "$host"; then
		echo "ok - the image preparation finished"
		hp=$((hp + 1))
	else
		echo "not ok - the image preparation finished (see $host)"
		hf=$((hf + 1))
	fi
	tr -d '\r' <"$guest" 2>/dev/null >"$work/deb-results.txt"
	sed -E -e 's/^([0-9]+ passed, [0-9]+ failed|1\.\.[0-9]+)$/# guest: \1/' \
		-e 's/^(ok|not ok) [0-9]+ /\1 /' "$work/deb-results.txt"
	gp=$(grep -c '^ok ' "$work/deb-results.txt")
	gf=$(grep -c '^not ok ' "$work/deb-results.txt")
	summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$work/deb-results.txt" | tail -n 1)
	plan=$(grep -E '^1\.\.[0-9]+$' "$work/deb-results.txt" | tail -n 1 | cut -d. -f3)
	if [ -n "$summary" ] && [ "$summary" = "$gp passed, $gf failed" ] &&
		[ "${plan:-0}" = $((gp + gf)) ] && [ "${plan:-0}" -ge 20 ]; then
		echo "ok - the guest part finished: $summary"
		gp=$((gp + 1))
	else
		echo "not ok - the guest part finished (summary '${summary:-none}', plan 1..${plan:-?}, $((gp + gf)) lines)"
		gf=$((gf + 1))
	fi
	echo "$((hp + gp)) passed, $((hf + gf)) failed"
	[ $((hf + gf)) = 0 ]
}

cmd=${1:-}
shift || true
case "$cmd" in
rootfs) [ $# = 2 ] || die "usage: deb.sh rootfs ROOT KVER"; cmd_rootfs "$@" ;;
prepare) [ $# = 3 ] || die "usage: deb.sh prepare ROOT KVER WORK"; cmd_prepare "$@" ;;
guest) cmd_guest ;;
report) [ $# = 1 ] || die "usage: deb.sh report WORK"; cmd_report "$@" ;;
*) die "usage: deb.sh rootfs|prepare|guest|report ... (see the head of $0)" ;;
esac
