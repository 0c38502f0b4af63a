#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end test of the daemon against the real module, run inside the
# guest (the module already loaded):
#
#   make -C kmod && cargo build --release && tests/vm/run -- tests/vm/e2e.sh
#
# Mounts target/release/sagafs on /tmp/sagafs and checks with shell tools:
# exact record counts in log and log.json, config exclusion while stats
# keep counting, that a file name with a newline cannot forge a line, that
# a non-root user can neither read the log nor write config, that a second
# consumer is refused by pid, that umount and SIGTERM end the daemon
# without leaving a mount behind, and that after kill -9 the guardian
# removes the dead mount (or, guardian killed too, mount.sagafs and sagafs
# detach it) so that mounting again works.  Prints one "ok"/"not ok" line per check
# and ends with "N passed, M failed"; exits 1 if any failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
bin=${SAGAFS_BIN:-$repo/target/release/sagafs}
mp=/tmp/sagafs
helper=$(dirname "$bin")/mount-sagafs
N=${E2E_N:-25}
passed=0
failed=0
t=0

check() {
	local desc=$1
	shift
	t=$((t + 1))
	if "$@"; then
		echo "ok $t - $desc"
		passed=$((passed + 1))
	else
		echo "not ok $t - $desc"
		failed=$((failed + 1))
	fi
}

# eq DESC GOT WANT
eq() {
	t=$((t + 1))
	if [ "$2" = "$3" ]; then
		echo "ok $t - $1"
		passed=$((passed + 1))
	else
		echo "not ok $t - $1 (got '$2', want '$3')"
		failed=$((failed + 1))
	fi
}

# Runs CMD until it succeeds, for up to 20 s (the guest is emulated).
wait_until() {
	local i
	for i in $(seq 200); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

mounted() { grep -q " $mp fuse.sagafs " /proc/mounts; }
not_mounted() { ! mounted; }
count() { grep -c -F -- "$1" "$mp/log"; }
marker_count_is() { [ "$(count "path=\"$1\"")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# Calls of a syscall in stats.json, all ABIs.
stat_calls() {
	jq -r --arg s "$1" '[.. | objects | select(.syscall? == $s) | .calls] | add // 0' "$mp/stats.json"
}

[ -x "$bin" ] || { echo "e2e: $bin missing: run 'cargo build --release' on the host" >&2; exit 2; }
modprobe fuse 2>/dev/null
mkdir -p "$mp"

# --- mount (daemonized: the parent returns once the mount is live) ---
# JOURNAL_STREAM makes the daemonized copy keep logging to stderr (as it
# does under systemd): its log lands in /tmp/e2e-daemon.log.
JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>/tmp/e2e-daemon.log
eq "sagafs daemonizes and exits 0 once mounted" "$?" 0
out=$(head -n 1 /tmp/e2e-daemon.log)
check "mount shows as fuse.sagafs" mounted
[ -n "$out" ] && echo "# sagafs said: $out"
daemon=$(pgrep -o -x sagafs)
check "the daemon runs" test -n "$daemon"
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# With capture off nothing arrives: no timer may wake the daemon.
echo 'enabled = 0' >"$mp/config"
sleep 1
t0=$(cpu_ticks "$daemon")
sleep 3
t1=$(cpu_ticks "$daemon")
check "an idle daemon uses no CPU ($t0 -> $t1 ticks in 3 s)" test $((t1 - t0)) -eq 0
echo 'enabled = 1' >"$mp/config"
eq "the directory lists exactly the files" "$(ls "$mp" | tr '\n' ' ')" \
	"config errors log log.json pipe stats stats.json "

# --- N marked openat calls give exactly N lines ---
marker=/tmp/e2e-marker-$$
for i in $(seq "$N"); do cat "$marker" 2>/dev/null; done
check "N openat of the marker appear in log" wait_until marker_count_is "$marker" "$N"
eq "exactly N lines in log" "$(count "path=\"$marker\"")" "$N"
eq "they are openat failing with ENOENT" \
	"$(grep -F "path=\"$marker\"" "$mp/log" | grep -c ' syscall=openat .* = -1 ENOENT$')" "$N"
eq "exactly N objects in log.json (jq)" \
	"$(jq -r --arg p "$marker" 'select(.paths[0].path? == $p) | .syscall' "$mp/log.json" | grep -c '^openat$')" "$N"
json_parses() { jq -e . "$mp/log.json" >/dev/null; }
check "every log.json line parses" json_parses
eq "tail -n 1 gives one line" "$(tail -n 1 "$mp/log" | wc -l)" 1

# --- exclude openat: no more lines, stats keep counting ---
echo 'exclude = openat' >"$mp/config"
eq "echo 'exclude = openat' > config succeeds" "$?" 0
check "config shows the exclusion" grep -q '^exclude = openat$' "$mp/config"
before=$(stat_calls openat)
marker2=/tmp/e2e-excluded-$$
for i in $(seq "$N"); do cat "$marker2" 2>/dev/null; done
sleep 1
eq "excluded calls are not logged" "$(count "path=\"$marker2\"")" 0
after=$(stat_calls openat)
check "stats keep counting excluded calls ($before -> $after)" test "$after" -ge $((before + N))
echo 'exclude =' >>"$mp/config"
check "config >> clears the exclusion" grep -q '^exclude = *$' "$mp/config"

# --- bad config write: EINVAL, nothing changed, errors explains ---
cfg_before=$(cat "$mp/config")
/usr/bin/printf 'snaplen = 64\nno_such_key = 1\n' >"$mp/config" 2>/tmp/e2e-err
check "a bad config write fails" test $? -ne 0
check "with Invalid argument" grep -q 'Invalid argument' /tmp/e2e-err
eq "and changes nothing" "$(cat "$mp/config")" "$cfg_before"
check "errors names the bad key" grep -q 'no_such_key' "$mp/errors"

# --- a file name with a newline cannot forge a line ---
evil="/tmp/e2e-nl-$$
1999-01-01T00:00:00.000000000Z cpu=0 seq=1 pid=1 comm=init syscall=openat path=\"/forged\" = 3"
cat "$evil" 2>/dev/null
check "the hostile name is logged" wait_until grep -q "e2e-nl-$$" "$mp/log"
eq "on exactly one line" "$(count "e2e-nl-$$")" 1
eq "no forged line" "$(grep -c '^1999-01-01' "$mp/log")" 0
eq "JSON keeps the exact name" \
	"$(jq -r --arg p "$evil" 'select(.paths[0].path? == $p) | .syscall' "$mp/log.json" | head -n 1)" openat

# --- non-root ---
as_nobody cat "$mp/log" >/dev/null 2>&1
check "nobody cannot read log" test $? -ne 0
as_nobody cat "$mp/log.json" >/dev/null 2>&1
check "nobody cannot read log.json" test $? -ne 0
as_nobody sh -c "echo 'enabled = 0' > $mp/config" 2>/dev/null
check "nobody cannot write config" test $? -ne 0
check "capture is still on" grep -q '^enabled = 1$' "$mp/config"

# --- pipe: a live reader gets new records ---
marker3=/tmp/e2e-pipe-$$
timeout 20 grep -m 3 -F "path=\"$marker3\"" "$mp/pipe" >/tmp/e2e-pipe-out &
reader=$!
sleep 1
for i in 1 2 3; do cat "$marker3" 2>/dev/null; done
wait "$reader"
eq "pipe delivers new records to a reader" "$(wc -l </tmp/e2e-pipe-out)" 3

# --- a flood through a tiny ring: every record is logged or counted dropped ---
cp /bin/dd /tmp/e2eflood
printf 'comms = e2eflood\nbuffer_kb = 32\n' >"$mp/config"
eq "buffer_kb = 32 re-arms the rings" "$(grep -c '^buffer_kb = 32$' "$mp/config")" 1
passed_total() { jq '.total.logged + .total.dropped' "$mp/stats.json"; }
ring_dropped() {
	grep ' reason=ring_full$' "$mp/log" | sed 's/.* dropped=\([0-9]*\) .*/\1/' | awk '{ s += $1 } END { print s + 0 }'
}
sleep 1
k0=$(passed_total)
l0=$(ring_dropped)
/tmp/e2eflood if=/dev/zero of=/dev/null bs=1 count=${E2E_FLOOD:-30000} 2>/dev/null
flood_balanced() {
	local k1 recs l1
	k1=$(passed_total)
	recs=$(grep -c ' comm=e2eflood ' "$mp/log")
	l1=$(ring_dropped)
	echo "# flood: kernel passed $((k1 - k0)), logged lines $recs, dropped lines $((l1 - l0))"
	[ $((k1 - k0)) -gt 0 ] && [ $((recs + l1 - l0)) -eq $((k1 - k0)) ]
}
check "flood: records + ring_full drops = calls passed by the kernel" wait_until flood_balanced
printf 'comms =\nbuffer_kb = 1024\n' >"$mp/config"
eq "restoring buffer_kb = 1024 succeeds" "$?" 0
check "the daemon still runs after the flood" kill -0 "$daemon"

# --- a second consumer is refused, naming the first ---
mkdir -p /tmp/sagafs2
out=$("$bin" sagafs /tmp/sagafs2 2>&1)
rc=$?
check "a second daemon fails ($out)" test $rc -eq 1
check "it names the busy device and the pid" sh -c "echo \"\$1\" | grep -q \"busy.*pid $daemon\"" _ "$out"

# --- umount ends the daemon ---
umount "$mp"
eq "umount succeeds" "$?" 0
check "the daemon exits after umount" wait_until gone "$daemon"
check "no mount is left" not_mounted

# --- SIGTERM while a reader holds the pipe open ---
"$bin" -f sagafs "$mp" 2>/tmp/e2e-fg &
fg=$!
check "foreground mount comes up" wait_until mounted
cat "$mp/pipe" >/dev/null 2>&1 &
holder=$!
sleep 1
kill -TERM "$fg"
check "SIGTERM ends the daemon" wait_until gone "$fg"
wait "$fg"
eq "with exit status 0" "$?" 0
check "no mount is left after SIGTERM" not_mounted
check "the pipe reader ended" wait_until gone "$holder"

# --- the guardian: a killed daemon leaves no dead mount behind ---
JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>>/tmp/e2e-daemon.log
eq "mount again for the guardian checks" "$?" 0
daemon=$(pgrep -o -x sagafs)
guardian=$(pgrep -f -- "--guardian $daemon $mp\$")
check "a guardian runs ($guardian), child of the daemon" \
	test -n "$guardian" -a "$(ps -o ppid= -p "${guardian:-1}" | tr -d ' ')" = "$daemon"
log_has_lines() { [ -n "$(head -n 1 "$mp/log")" ]; }
holds() { ls -l "/proc/$1/fd/" | grep -E -q '/dev/(fuse|sagafs)'; }
check "the guardian holds neither /dev/fuse nor /dev/sagafs" eval "! holds ${guardian:-1}"
check "the daemon does hold them" holds "$daemon"
check "the guardian maps no ring" eval "! grep -q /dev/sagafs /proc/${guardian:-1}/maps"
check "the guardian ignores SIGTERM while the daemon lives" sh -c \
	"kill -TERM $guardian; sleep 0.5; kill -0 $guardian && grep -q ' $mp fuse.sagafs ' /proc/mounts"
kill -9 "$daemon"
gone_within_2s() { for _ in $(seq 20); do not_mounted && return 0; sleep 0.1; done; return 1; }
check "kill -9: the mount is gone within 2 s" gone_within_2s
check "the mount point is an ordinary directory again" sh -c \
	"test -d '$mp' && ls '$mp' >/dev/null && ! findmnt -M '$mp' >/dev/null"
check "the guardian ended" wait_until gone "$guardian"
grep -q "detached the dead mount on $mp" /tmp/e2e-daemon.log
eq "the guardian logged the detach" "$?" 0
JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>>/tmp/e2e-daemon.log
eq "mounting again after kill -9 works" "$?" 0
check "the log is readable on the new mount" wait_until log_has_lines
daemon=$(pgrep -o -x sagafs)
guardian=$(pgrep -f -- "--guardian $daemon $mp\$")
# Both killed: the dead mount stays until mount.sagafs or sagafs clears it.
kill -9 "$guardian" && kill -9 "$daemon"
wait_until gone "$daemon"
dead() { stat "$mp" 2>&1 | grep -q "Transport endpoint is not connected"; }
check "killing guardian and daemon leaves a dead mount" wait_until dead
out=$("$helper" sagafs "$mp" -o allow_other 2>&1)
eq "mount.sagafs mounts over the dead mount" "$?" 0
check "and says it detached it ($out)" sh -c "echo \"\$1\" | grep -q 'was a dead sagafs mount.*detached it'" _ "$out"
check "the log is readable after mount.sagafs" wait_until log_has_lines
check "exactly one sagafs mount on $mp" test "$(grep -c " $mp fuse.sagafs " /proc/mounts)" = 1
daemon=$(pgrep -o -x sagafs)
kill -9 "$(pgrep -f -- "--guardian $daemon $mp\$")" && kill -9 "$daemon"
wait_until gone "$daemon"
check "a dead mount again" wait_until dead
out=$("$bin" sagafs "$mp" 2>&1)
eq "sagafs itself also mounts over a dead mount" "$?" 0
check "and says so ($out)" sh -c "echo \"\$1\" | grep -q 'was a dead sagafs mount'" _ "$out"
daemon=$(pgrep -o -x sagafs)
guardian=$(pgrep -f -- "--guardian $daemon $mp\$")
umount "$mp"
eq "clean umount" "$?" 0
check "the daemon exits" wait_until gone "$daemon"
check "the guardian exits quietly with it" wait_until gone "$guardian"
check "no mount is left" not_mounted
check "no sagafs process is left" eval "! pgrep -x sagafs"

if [ "$failed" != 0 ]; then
	echo "# the daemon's log:"
	sed 's/^/# /' /tmp/e2e-daemon.log
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
