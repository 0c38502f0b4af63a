#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the booted guest (sagafs-boot-check.service, after
# multi-user.target): checks what the fstab line
#     sagafs /sagafs sagafs defaults,nofail,config=/etc/sagafs.conf 0 0
# left behind at boot, writes TAP lines, the plan and "N passed, M failed"
# to OUT (default /dev/ttyS1, the host's results.log).  The unit powers
# the guest off afterwards.
#
# usage: sagafs-boot-check [OUT]
set -u
out=${1:-/dev/ttyS1}
exec >"$out" 2>&1
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C

mp=/sagafs
t=0 passed=0 failed=0
ok() { t=$((t + 1)); passed=$((passed + 1)); echo "ok $t - $*"; }
not_ok() { t=$((t + 1)); failed=$((failed + 1)); echo "not ok $t - $*"; }
# eq DESC GOT WANT
eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1 (got '$2', want '$3')"; fi
}
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}
# Shows a command's output as TAP comments.
show() {
	echo "# \$ $*"
	"$@" 2>&1 | sed 's/^/#   /'
}
# Runs CMD until it succeeds, for up to 20 s (the guest is emulated).
wait_until() {
	local end=$((SECONDS + 20))
	until "$@"; do
		[ $SECONDS -lt $end ] || return 1
		sleep 0.2
	done
}
prop() { systemctl show -P "$2" "$1" 2>/dev/null; }

echo "# sagafs boot check on $(uname -r), systemd $(systemctl --version | awk 'NR==1{print $2}')"
show cat /etc/fstab
show cat /etc/sagafs.conf

# --- the mount unit --------------------------------------------------------
eq "sagafs.mount is generated from /etc/fstab" "$(prop sagafs.mount SourcePath)" /etc/fstab
eq "systemctl is-active sagafs.mount" "$(systemctl is-active sagafs.mount)" active
show systemctl status --no-pager --full sagafs.mount
eq "sagafs.mount result" "$(prop sagafs.mount Result)" success
# Started during boot, not by this check: active before this unit began.
mount_at=$(prop sagafs.mount ActiveEnterTimestampMonotonic)
self_at=$(prop sagafs-boot-check.service ExecMainStartTimestampMonotonic)
if [ "${mount_at:-0}" -gt 0 ] && [ "${self_at:-0}" -gt "$mount_at" ]; then
	ok "sagafs.mount was active at boot ($((mount_at / 1000)) ms), before this check ($((self_at / 1000)) ms)"
else
	not_ok "sagafs.mount active at boot (mount at '$mount_at' us, check at '$self_at' us)"
fi
show journalctl -b --no-pager -o short-monotonic -u sagafs.mount

# --- the mount itself ------------------------------------------------------
show findmnt "$mp"
eq "findmnt $mp: type" "$(findmnt -n -o FSTYPE "$mp")" fuse.sagafs
eq "findmnt $mp: source" "$(findmnt -n -o SOURCE "$mp")" sagafs
# The daemon mount.sagafs started stays in the mount unit's cgroup.
daemons=
while read -r pid; do
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sagafs ] && daemons="$daemons $pid"
done </sys/fs/cgroup/system.slice/sagafs.mount/cgroup.procs
check "the sagafs daemon runs in sagafs.mount's cgroup (pid${daemons:- none})" test -n "$daemons"

# --- the module and the device ---------------------------------------------
show lsmod
check "lsmod lists sagafs" sh -c 'lsmod | grep -q "^sagafs "'
# Where the install put it: make install, or DKMS (the --deb image says).
want_ko=$(cat /usr/local/lib/sagafs-boot/module 2>/dev/null) ||
	want_ko=/lib/modules/$(uname -r)/updates/sagafs.ko
eq "sagafs.ko is the installed one ($want_ko)" "$(modinfo -F filename sagafs 2>&1)" "$want_ko"
# By identifier, not unit: the service exits before journald has looked
# up its unit.
show journalctl -b --no-pager -o short-monotonic -t systemd-modules-load
check "systemd-modules-load inserted sagafs at boot (modules-load.d/sagafs.conf)" \
	sh -c "journalctl -b -t systemd-modules-load | grep -q \"Inserted module 'sagafs'\""
show ls -l /dev/sagafs
eq "/dev/sagafs: character device, mode 0600, root:root" \
	"$(stat -c '%F %a %U:%G' /dev/sagafs 2>&1)" "character special file 600 root:root"
show udevadm info /dev/sagafs
# TAG+="systemd" comes only from 60-sagafs.rules: proof the rule ran.
check "udev applied 60-sagafs.rules (device tagged for systemd)" \
	sh -c 'udevadm info /dev/sagafs | grep -q "^E: TAGS=.*:systemd:"'
eq "dev-sagafs.device is active" "$(systemctl is-active dev-sagafs.device)" active

# --- config= applied ---------------------------------------------------------
show cat "$mp/config"
check "$mp/config shows 'exclude = openat' (config= applied)" grep -qx 'exclude = openat' "$mp/config"
check "$mp/config shows capture enabled" grep -qx 'enabled = 1' "$mp/config"

# --- the log ---------------------------------------------------------------
# One snapshot per look: every read of the log formats all of it again,
# slow under emulation.
snap=/tmp/sagafs-log.txt
cat "$mp/log" >"$snap" 2>/tmp/sagafs-log.err
rc=$?
echo "# cat $mp/log: exit $rc, $(wc -l <"$snap") lines; the first 3:"
head -n 3 "$snap" | sed 's/^/#   /'
check "$mp/log is readable and has lines" test "$rc" = 0 -a -s "$snap"
# Live capture: an openat of a marker is not logged (exclude = openat), a
# later mkdir of another marker is, and no openat was logged since boot.
marker=/tmp/sagafs-boot-marker-$$
cat "$marker.open" >/dev/null 2>&1
mkdir "$marker" && rmdir "$marker"
marker_logged() { cat "$mp/log" >"$snap" && grep -qF "\"$marker\"" "$snap"; }
check "a mkdir of a marker shows up in $mp/log" wait_until marker_logged
grep -F "\"$marker" "$snap" | sed 's/^/#   /'
# (The name is in the argv of cat's execve, which is logged: its open is not.)
eq "the opened marker is not logged" "$(grep -cF "path=\"$marker.open\"" "$snap")" 0
eq "no openat in $mp/log since boot" "$(grep -c ' syscall=openat ' "$snap")" 0
show head -n 20 "$mp/stats"
show cat "$mp/errors"

# --- the boot as a whole -----------------------------------------------------
show systemctl --failed --no-pager
faults=$(dmesg | grep -E 'BUG:|WARNING:|Oops|general protection|KASAN|UBSAN|use-after-free|refcount_t:|circular locking|sleeping function called|scheduling while atomic|Call Trace')
if [ -z "$faults" ]; then ok "the kernel logged no fault"; else
	not_ok "the kernel logged a fault"
	dmesg | sed 's/^/#   /'
fi

echo "1..$t"
echo "$passed passed, $failed failed"
sync
