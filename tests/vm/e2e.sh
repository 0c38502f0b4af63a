#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# End-to-end test of the daemon against the real module, run inside the
# guest (the module already loaded):
#
#   make -C kmod && cargo build --release && tests/vm/run -- tests/vm/e2e.sh [CASE...]
#
# Mounts target/release/sagafs on /tmp/sagafs and checks with shell tools,
# in independent cases (each mounts, resets the configuration it relies
# on and unmounts; any one runs alone, e.g. tests/vm/e2e.sh pipe):
#
#   mount      the daemon daemonizes once the mount is live, idles without
#              CPU, lists exactly its files
#   marked     exact record counts in log and log.json
#   exclude    config exclusion while stats keep counting
#   badconfig  a bad config write fails, changes nothing, errors explains
#   rules      rules written to rules select exact records with their key,
#              cat shows hit counts, a bad rule changes nothing; a
#              container (unshare in a docker-like cgroup v2 scope) shows
#              cgroup=, container= and nspid= and container rules match it
#   newline    a file name with a newline cannot forge a line
#   nonroot    a non-root user can neither read the log nor write config
#   pipe       a live reader of pipe gets new records
#   flood      through a tiny ring every record is logged or counted dropped
#   busy       a second consumer is refused by pid
#   umount     umount ends the daemon, leaving no mount
#   sigterm    SIGTERM ends the daemon while a reader holds the pipe
#   guardian   after kill -9 the guardian removes the dead mount (or,
#              guardian killed too, mount.sagafs and sagafs detach it) so
#              that mounting again works
#   durable    (only when named) log files and the journal get every
#              marked record; after
#              kill -9 of the daemon in the middle of a marked workload a
#              new mount holds every marked record or counts it dropped,
#              the old ones reloaded from the files
#
# Prints one "ok"/"not ok" line per check and ends with "N passed, M
# failed"; exits 1 if any failed.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
. "$here/lib.sh"
bin=${SAGAFS_BIN:-$repo/target/release/sagafs}
mp=/tmp/sagafs
helper=$(dirname "$bin")/mount-sagafs
N=${E2E_N:-25}
all_cases="mount marked exclude badconfig rules newline nonroot pipe flood busy umount sigterm guardian"
# Run only when named: minutes under emulation, past the suite's budget.
extra_cases="durable"
dlog=/tmp/e2e-daemon.log

mounted() { grep -q " $mp fuse.sagafs " /proc/mounts; }
not_mounted() { ! mounted; }
count() { grep -c -F -- "$1" "$mp/log"; }
marker_count_is() { [ "$(count "path=\"$1\"")" = "$2" ]; }
gone() { ! kill -0 "$1" 2>/dev/null; }
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
log_has_lines() { [ -n "$(head -n 1 "$mp/log")" ]; }
dead() { stat "$mp" 2>&1 | grep -q "Transport endpoint is not connected"; }
# Calls of a syscall in stats.json, all ABIs.
stat_calls() {
	jq -r --arg s "$1" '[.. | objects | select(.syscall? == $s) | .calls] | add // 0' "$mp/stats.json"
}
# utime + stime of a process, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
guardian_of() { pgrep -f -- "--guardian $1 $mp\$"; }
# Whether one of the processes has $mp/pipe open.
holds_pipe() {
	local p
	for p in "$@"; do
		ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $mp/pipe\$" && return 0
	done
	return 1
}

# --- each case starts and ends with nothing mounted ---------------------

# Mount daemonized (the parent returns once the mount is live) and reset
# what earlier cases may have left in the module's configuration (it
# outlives the daemon, by design).  JOURNAL_STREAM makes the daemonized
# copy keep logging to stderr (as it does under systemd).
up() {
	JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>>"$dlog" || return 1
	daemon=$(pgrep -o -x sagafs)
	printf 'enabled = 1\nexclude =\ncomms =\nring_kb = 1024\n' >"$mp/config"
}

# Leave nothing behind, whatever the case did.
clean() {
	local p
	if mounted || dead; then
		umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null
	fi
	for p in $(pgrep -x sagafs); do
		wait_until -t 10 gone "$p" || kill -9 "$p" 2>/dev/null
	done
	wait_until -t 10 eval '! pgrep -x sagafs >/dev/null'
}

case_mount() {
	local out t0 t1 n0
	n0=$(wc -l <"$dlog")
	JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>>"$dlog"
	eq "sagafs daemonizes and exits 0 once mounted" "$?" 0
	out=$(tail -n +$((n0 + 1)) "$dlog" | head -n 1)
	check "mount shows as fuse.sagafs" mounted
	[ -n "$out" ] && diag "sagafs said: $out"
	daemon=$(pgrep -o -x sagafs)
	check "the daemon runs" test -n "$daemon"
	# With capture off nothing arrives: no timer may wake the daemon.
	echo 'enabled = 0' >"$mp/config"
	sleep 1
	t0=$(cpu_ticks "$daemon")
	sleep 3
	t1=$(cpu_ticks "$daemon")
	check "an idle daemon uses no CPU ($t0 -> $t1 ticks in 3 s)" test $((t1 - t0)) -eq 0
	echo 'enabled = 1' >"$mp/config"
	eq "the directory lists exactly the files" "$(ls "$mp" | tr '\n' ' ')" \
		"config errors log log.json outputs outputs.json pipe rules stats stats.json "
}

case_marked() {
	local marker=/tmp/e2e-marker-$$ i
	up || { not_ok "mount"; return; }
	for i in $(seq "$N"); do cat "$marker" 2>/dev/null; done
	check "N openat of the marker appear in log" wait_until marker_count_is "$marker" "$N"
	eq "exactly N lines in log" "$(count "path=\"$marker\"")" "$N"
	eq "they are openat failing with ENOENT" \
		"$(grep -F "path=\"$marker\"" "$mp/log" | grep -cE ' syscall=openat .* = -1 ENOENT( |$)')" "$N"
	eq "exactly N objects in log.json (jq)" \
		"$(jq -r --arg p "$marker" 'select(.paths[0].path? == $p) | .syscall' "$mp/log.json" | grep -c '^openat$')" "$N"
	json_parses() { jq -e . "$mp/log.json" >/dev/null; }
	check "every log.json line parses" json_parses
	eq "tail -n 1 gives one line" "$(tail -n 1 "$mp/log" | wc -l)" 1
}

case_exclude() {
	local before after marker2=/tmp/e2e-excluded-$$ marker3=/tmp/e2e-included-$$ i
	up || { not_ok "mount"; return; }
	echo 'exclude = openat' >"$mp/config"
	eq "echo 'exclude = openat' > config succeeds" "$?" 0
	check "config shows the exclusion" grep -q '^exclude = openat$' "$mp/config"
	before=$(stat_calls openat)
	for i in $(seq "$N"); do cat "$marker2" 2>/dev/null; done
	# A call that is logged, made after the excluded ones: once it shows,
	# the excluded ones would have too.
	echo 'exclude = close' >"$mp/config"
	cat "$marker3" 2>/dev/null
	wait_until marker_count_is "$marker3" 1
	eq "excluded calls are not logged" "$(count "path=\"$marker2\"")" 0
	after=$(stat_calls openat)
	check "stats keep counting excluded calls ($before -> $after)" test "$after" -ge $((before + N))
	echo 'exclude =' >>"$mp/config"
	check "config >> clears the exclusion" grep -q '^exclude = *$' "$mp/config"
}

case_badconfig() {
	local cfg_before
	up || { not_ok "mount"; return; }
	cfg_before=$(cat "$mp/config")
	/usr/bin/printf 'snaplen = 64\nno_such_key = 1\n' >"$mp/config" 2>/tmp/e2e-err
	check "a bad config write fails" test $? -ne 0
	check "with Invalid argument" grep -q 'Invalid argument' /tmp/e2e-err
	eq "and changes nothing" "$(cat "$mp/config")" "$cfg_before"
	check "errors names the bad key" grep -q 'no_such_key' "$mp/errors"
}

# The cgroup2 mount; mounted on /sys/fs/cgroup if the guest has none.
cgroup2_root() {
	local r
	r=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
	if [ -z "$r" ]; then
		mount -t cgroup2 none /sys/fs/cgroup || return 1
		r=/sys/fs/cgroup
	fi
	echo "$r"
}

# Records of path $1 logged under rule key $2 (the files' creation, made
# before the rules, is logged too, without a key).
keyed() { grep -F -- "path=\"$1\"" "$mp/log" | grep -c -E " key=$2( |\$)"; }
keyed_is() { [ "$(keyed "$1" "$2")" = "$3" ]; }
hits_of() { grep -F -- "$1" "$mp/rules" | sed -n 's/.*# hits \([0-9]*\)$/\1/p'; }

case_rules() {
	local d=/tmp/e2e-rules-$$ i cg id scope rules_before line
	cg=$(cgroup2_root) || { not_ok "cgroup2 mounted"; return; }
	up || { not_ok "mount"; return; }
	mkdir -p "$d/etc" && : >"$d/etc/f" && : >"$d/last" && : >"$d/ctr"
	printf 'always syscall=openat dir=%s/etc key=etc\nalways syscall=openat path=%s/last key=last\ndefault never\n' \
		"$d" "$d" >"$mp/rules"
	eq "a rule list written to rules is taken" "$?" 0
	for i in $(seq "$N"); do cat "$d/etc/f" "$d/other" 2>/dev/null; done
	cat "$d/last"
	check "the last rule's record arrives" wait_until keyed_is "$d/last" last 1
	eq "exactly N records under the etc rule, with its key" "$(keyed "$d/etc/f" etc)" "$N"
	eq "no record of calls the default left out" "$(count "path=\"$d/other\"")" 0
	eq "log.json carries the key" \
		"$(jq -r --arg p "$d/etc/f" 'select(.paths[0].path? == $p) | .key' "$mp/log.json" | grep -c '^etc$')" "$N"
	eq "cat rules shows the rule's hits" "$(hits_of "key=etc")" "$N"
	check "and the default's" test "$(hits_of "default never")" -gt 0

	rules_before=$(grep -v '^#' "$mp/rules" | sed 's/  # hits.*//')
	/usr/bin/printf 'always comm=a\nalways uid=abc\n' >>"$mp/rules" 2>/tmp/e2e-err
	check "a bad rule fails the write" test $? -ne 0
	check "with Invalid argument" grep -q 'Invalid argument' /tmp/e2e-err
	eq "and changes nothing" "$(grep -v '^#' "$mp/rules" | sed 's/  # hits.*//')" "$rules_before"
	check "errors names line and word" grep -q "line 2: 'uid=abc'" "$mp/errors"

	# A container: pid 1 of its own pid namespace, in a docker-like scope.
	id=$(printf '%064x' $$)
	scope="$cg/e2e.slice/docker-$id.scope"
	mkdir -p "$scope" || { not_ok "cgroup $scope made"; return; }
	printf 'always container=%s key=ctr\nalways path=%s/last key=last\ndefault never\n' \
		"$id" "$d" >"$mp/rules"
	sh -c "echo 0 >'$scope/cgroup.procs' && exec unshare --pid --mount --fork cat '$d/ctr' '$d/etc/f'"
	eq "the container ran" "$?" 0
	check "its record arrives" wait_until keyed_is "$d/ctr" ctr 1
	line=$(grep -F "path=\"$d/ctr\"" "$mp/log" | grep ' key=ctr ')
	check "with the container rule's key" eval 'case "$line" in *" key=ctr "*) ;; *) false ;; esac'
	check "with its cgroup" eval 'case "$line" in *" cgroup=/e2e.slice/docker-$id.scope "*) ;; *) false ;; esac'
	check "with its container id" eval 'case "$line" in *" container=$id") ;; *) false ;; esac'
	check "with its pid in its namespace" eval 'case "$line" in *" nspid=1 "*) ;; *) false ;; esac'
	eq "log.json names the runtime" \
		"$(jq -r --arg p "$d/ctr" 'select(.paths[0].path? == $p and .key == "ctr") | .container.runtime' "$mp/log.json")" docker
	# The same calls from the host, then a marker that is logged after
	# them: the container rule must not take the host's calls.
	cat "$d/ctr" "$d/ctr-none" "$d/last" 2>/dev/null
	check "the host's marker arrives" wait_until keyed_is "$d/last" last 2
	eq "the host's calls are left out" "$(keyed "$d/ctr" ctr)/$(count "path=\"$d/ctr-none\"")" 1/0
	[ -n "$line" ] || diag "log: $(grep -F "$d" "$mp/log" | tail -n 3)"
	echo 'default always' >"$mp/rules"
	rmdir "$scope" "$cg/e2e.slice" 2>/dev/null
	rm -rf "$d"
}

case_newline() {
	local evil="/tmp/e2e-nl-$$
1999-01-01T00:00:00.000000000Z cpu=0 seq=1 pid=1 comm=init syscall=openat path=\"/forged\" = 3"
	up || { not_ok "mount"; return; }
	cat "$evil" 2>/dev/null
	check "the hostile name is logged" wait_until grep -q "e2e-nl-$$" "$mp/log"
	# The name is also in the argv of the commands given it (cat, the
	# test's own greps): its open is one line.
	eq "its open on exactly one line" \
		"$(grep -F "e2e-nl-$$" "$mp/log" | grep -c ' syscall=openat ')" 1
	eq "no forged line" "$(grep -c '^1999-01-01' "$mp/log")" 0
	eq "JSON keeps the exact name" \
		"$(jq -r --arg p "$evil" 'select(.paths[0].path? == $p) | .syscall' "$mp/log.json" | head -n 1)" openat
}

case_nonroot() {
	up || { not_ok "mount"; return; }
	as_nobody cat "$mp/log" >/dev/null 2>&1
	check "nobody cannot read log" test $? -ne 0
	as_nobody cat "$mp/log.json" >/dev/null 2>&1
	check "nobody cannot read log.json" test $? -ne 0
	as_nobody sh -c "echo 'enabled = 0' > $mp/config" 2>/dev/null
	check "nobody cannot write config" test $? -ne 0
	check "capture is still on" grep -q '^enabled = 1$' "$mp/config"
}

case_pipe() {
	local marker3=/tmp/e2e-pipe-$$ reader i
	up || { not_ok "mount"; return; }
	timeout 20 grep -m 3 -F "path=\"$marker3\"" "$mp/pipe" >/tmp/e2e-pipe-out &
	reader=$!
	# The reader is live once it holds the pipe open (grep, under timeout).
	reader_live() { holds_pipe "$reader" $(pgrep -P "$reader"); }
	wait_until reader_live
	for i in 1 2 3; do cat "$marker3" 2>/dev/null; done
	wait "$reader"
	eq "pipe delivers new records to a reader" "$(wc -l </tmp/e2e-pipe-out)" 3
}

case_flood() {
	local k0 l0
	up || { not_ok "mount"; return; }
	cp /bin/dd /tmp/e2eflood
	printf 'comms = e2eflood\nring_kb = 32\n' >"$mp/config"
	eq "ring_kb = 32 re-arms the rings" "$(grep -c '^ring_kb = 32$' "$mp/config")" 1
	passed_total() { jq '.total.logged + .total.dropped' "$mp/stats.json"; }
	ring_dropped() {
		grep ' reason=ring_full$' "$mp/log" | sed 's/.* dropped=\([0-9]*\) .*/\1/' | awk '{ s += $1 } END { print s + 0 }'
	}
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
	printf 'comms =\nring_kb = 1024\n' >"$mp/config"
	eq "restoring ring_kb = 1024 succeeds" "$?" 0
	check "the daemon still runs after the flood" kill -0 "$daemon"
}

case_busy() {
	local out rc
	up || { not_ok "mount"; return; }
	mkdir -p /tmp/sagafs2
	out=$("$bin" sagafs /tmp/sagafs2 2>&1)
	rc=$?
	check "a second daemon fails ($out)" test $rc -eq 1
	check "it names the busy device and the pid" sh -c "echo \"\$1\" | grep -q \"busy.*pid $daemon\"" _ "$out"
}

case_umount() {
	up || { not_ok "mount"; return; }
	umount "$mp"
	eq "umount succeeds" "$?" 0
	check "the daemon exits after umount" wait_until gone "$daemon"
	check "no mount is left" not_mounted
}

case_sigterm() {
	local fg holder
	"$bin" -f sagafs "$mp" 2>/tmp/e2e-fg &
	fg=$!
	check "foreground mount comes up" wait_until mounted
	cat "$mp/pipe" >/dev/null 2>&1 &
	holder=$!
	wait_until holds_pipe "$holder"
	kill -TERM "$fg"
	check "SIGTERM ends the daemon" wait_until gone "$fg"
	wait "$fg"
	eq "with exit status 0" "$?" 0
	check "no mount is left after SIGTERM" not_mounted
	check "the pipe reader ended" wait_until gone "$holder"
}

case_guardian() {
	local guardian out
	holds() { ls -l "/proc/$1/fd/" | grep -E -q '/dev/(fuse|sagafs)'; }
	gone_within_2s() { for _ in $(seq 20); do not_mounted && return 0; sleep 0.1; done; return 1; }
	up
	eq "mount for the guardian checks" "$?" 0
	guardian=$(guardian_of "$daemon")
	check "a guardian runs ($guardian), child of the daemon" \
		test -n "$guardian" -a "$(ps -o ppid= -p "${guardian:-1}" | tr -d ' ')" = "$daemon"
	check "the guardian holds neither /dev/fuse nor /dev/sagafs" eval "! holds ${guardian:-1}"
	check "the daemon does hold them" holds "$daemon"
	check "the guardian maps no ring" eval "! grep -q /dev/sagafs /proc/${guardian:-1}/maps"
	check "the guardian ignores SIGTERM while the daemon lives" sh -c \
		"kill -TERM $guardian; sleep 0.5; kill -0 $guardian && grep -q ' $mp fuse.sagafs ' /proc/mounts"
	kill -9 "$daemon"
	check "kill -9: the mount is gone within 2 s" gone_within_2s
	check "the mount point is an ordinary directory again" sh -c \
		"test -d '$mp' && ls '$mp' >/dev/null && ! findmnt -M '$mp' >/dev/null"
	check "the guardian ended" wait_until gone "$guardian"
	grep -q "detached the dead mount on $mp" "$dlog"
	eq "the guardian logged the detach" "$?" 0
	JOURNAL_STREAM=e2e "$bin" -o allow_other sagafs "$mp" 2>>"$dlog"
	eq "mounting again after kill -9 works" "$?" 0
	check "the log is readable on the new mount" wait_until log_has_lines
	daemon=$(pgrep -o -x sagafs)
	guardian=$(guardian_of "$daemon")
	# Both killed: the dead mount stays until mount.sagafs or sagafs clears it.
	kill -9 "$guardian" && kill -9 "$daemon"
	wait_until gone "$daemon"
	check "killing guardian and daemon leaves a dead mount" wait_until dead
	out=$("$helper" sagafs "$mp" -o allow_other 2>&1)
	eq "mount.sagafs mounts over the dead mount" "$?" 0
	check "and says it detached it ($out)" sh -c "echo \"\$1\" | grep -q 'was a dead sagafs mount.*detached it'" _ "$out"
	check "the log is readable after mount.sagafs" wait_until log_has_lines
	check "exactly one sagafs mount on $mp" test "$(grep -c " $mp fuse.sagafs " /proc/mounts)" = 1
	daemon=$(pgrep -o -x sagafs)
	kill -9 "$(guardian_of "$daemon")" && kill -9 "$daemon"
	wait_until gone "$daemon"
	check "a dead mount again" wait_until dead
	out=$("$bin" sagafs "$mp" 2>&1)
	eq "sagafs itself also mounts over a dead mount" "$?" 0
	check "and says so ($out)" sh -c "echo \"\$1\" | grep -q 'was a dead sagafs mount'" _ "$out"
	daemon=$(pgrep -o -x sagafs)
	guardian=$(guardian_of "$daemon")
	umount "$mp"
	eq "clean umount" "$?" 0
	check "the daemon exits" wait_until gone "$daemon"
	check "the guardian exits quietly with it" wait_until gone "$guardian"
	check "no mount is left" not_mounted
	check "no sagafs process is left" eval "! pgrep -x sagafs"
}

# Sum of the dropped= counts in log.
dropped_in_log() {
	grep -o ' dropped=[0-9]*' "$mp/log" | awk -F= '{ n += $2 } END { print n + 0 }'
}
# Marked records in the journal (journalctl -t sagafs SAGAFS_SYSCALL=openat).
journal_count() {
	journalctl -q -t sagafs SAGAFS_SYSCALL=openat "SAGAFS_PATH0=$1" -o cat 2>/dev/null | wc -l
}
journal_count_is() { [ "$(journal_count "$1")" = "$2" ]; }
file_count_is() { [ "$(grep -c -F -- "path=\"$1\"" "$2")" = "$3" ]; }
# Present plus dropped reaches $2 for marker $1.
accounted() { [ $(($(count "path=\"$1\"") + $(dropped_in_log))) -ge "$2" ]; }

case_durable() {
	local a=/tmp/e2e-durable-a-$$ b=/tmp/e2e-durable-b-$$ conf=/tmp/e2e-durable.conf
	local logs=/tmp/e2e-logs M=${E2E_KILL_N:-200} i loader jpid= present dropped
	rm -rf "$logs"
	if [ ! -S /run/systemd/journal/socket ]; then
		/lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
		jpid=$!
		wait_until test -S /run/systemd/journal/socket
	fi
	check "journald listens" test -S /run/systemd/journal/socket
	printf 'log_dir = %s\nlog_flush = every\njournal = 1\n' "$logs" >"$conf"
	JOURNAL_STREAM=e2e "$bin" -o "allow_other,config=$conf" sagafs "$mp" 2>>"$dlog"
	eq "mount with log files and the journal" "$?" 0
	daemon=$(pgrep -o -x sagafs)
	printf 'enabled = 1\nexclude =\ncomms =\n' >"$mp/config"
	check "outputs lists the file and journal outputs" sh -c \
		"grep -q '^name=file kind=file ' '$mp/outputs' && grep -q '^name=journal kind=journal ' '$mp/outputs'"
	for i in $(seq "$N"); do cat "$a" 2>/dev/null; done
	check "N marked records in log" wait_until marker_count_is "$a" "$N"
	check "N marked records in the log file" wait_until file_count_is "$a" "$logs/sagafs.log" "$N"
	check "the log file is mode 0600" test "$(stat -c %a "$logs/sagafs.log")" = 600
	check "journalctl -t sagafs SAGAFS_SYSCALL=openat finds the N" wait_until journal_count_is "$a" "$N"
	diag "$(cat "$mp/outputs")"

	# kill -9 in the middle of a marked workload.
	rm -f /tmp/e2e-progress
	(for i in $(seq "$M"); do
		cat "$b" 2>/dev/null
		echo "$i" >/tmp/e2e-progress
	done) &
	loader=$!
	# A tenth of the way: cheap to watch (grepping a large log is not).
	wait_until -t 60 eval '[ "$(cat /tmp/e2e-progress 2>/dev/null || echo 0)" -ge $((M / 10)) ]'
	kill -9 "$daemon"
	check "the daemon died in the middle of the workload" kill -0 "$loader"
	wait "$loader"
	wait_until gone "$daemon"
	wait_until not_mounted
	JOURNAL_STREAM=e2e "$bin" -o "allow_other,config=$conf" sagafs "$mp" 2>>"$dlog"
	eq "mount again after kill -9" "$?" 0
	daemon=$(pgrep -o -x sagafs)
	check "the N from before are still in log (reloaded from the files)" \
		wait_until marker_count_is "$a" "$N"
	check "every marked record of the workload is in log or counted dropped" \
		wait_until accounted "$b" "$M"
	present=$(count "path=\"$b\"")
	dropped=$(dropped_in_log)
	diag "kill -9 during $M marked calls: $present in log, $dropped counted dropped"
	check "no marked record twice ($present of $M)" test "$present" -le "$M"
	check "the log file holds what log holds" wait_until file_count_is "$b" "$logs/sagafs.log" "$present"
	umount "$mp"
	wait_until gone "$daemon"
	[ -n "$jpid" ] && kill "$jpid"
	rm -rf "$logs" "$conf" /tmp/e2e-progress
}

[ -x "$bin" ] || { echo "e2e: $bin missing: run 'cargo build --release' on the host" >&2; exit 2; }
modprobe fuse 2>/dev/null
mkdir -p "$mp"
: >"$dlog"
cases=${*:-$all_cases}
for c in $cases; do
	case " $all_cases $extra_cases " in
	*" $c "*) ;;
	*) echo "e2e: unknown case '$c' (cases: $all_cases $extra_cases)" >&2; exit 2 ;;
	esac
done
for c in $cases; do
	daemon=
	diag "--- $c --- ($(date +%T))"
	clean
	"case_$c"
	clean
done

if [ "$t_fail" != 0 ]; then
	diag "the daemon's log:"
	diag "$(cat "$dlog")"
fi
finish
