# SPDX-License-Identifier: GPL-2.0
#
# The shell library of the test scripts (source it; bash).
#
# Results, as TAP lines and one closing summary:
#   ok DESC / not_ok DESC        one result
#   check DESC CMD [ARG...]      ok if CMD succeeds
#   eq DESC GOT WANT             ok if GOT = WANT (shows both if not)
#   diag TEXT                    a "# TEXT" comment line
#   finish                       prints "1..N" and "N passed, M failed";
#                                returns 1 if anything failed or nothing ran
#   relay CMD [ARG...]           runs a TAP program: its results become
#                                this script's (renumbered), the rest of
#                                its output passes through; one failure
#                                more if it reported nothing or exited
#                                non-zero without reporting a failure
#
# The summary line "N passed, M failed" is the one format every runner
# ends with; parse_results is the one place that reads it back (and
# cargo's "test result: ok. N passed; M failed").
#
# Waiting, instead of fixed sleeps:
#   wait_until [-t SECONDS] CMD [ARG...]   polls CMD every 0.1 s until it
#                                          succeeds (default 20 s: the guest
#                                          is emulated); 1 on timeout
#
# The kernel's own reports (guest side):
#   kernel_log_mark                        the kernel log's current length
#   kernel_reports [-s MARK] [-f FILE] [alloc-failures-ok]
#                                          prints the report lines in the
#                                          kernel log (after line MARK; or
#                                          in FILE, a saved log or console);
#                                          0 if there are none
#   kmemleak_start / kmemleak_leaks        forget the leaks suspected so
#                                          far / scan and print new ones
#                                          (0 if none; 2 if no kmemleak)
#
# Suites (guest side):
#   run_component RESULTS NAME CMD [ARG...]
#                                          runs CMD, then appends
#                                          "NAME: N passed, M failed (T s)"
#                                          to RESULTS: its own summary,
#                                          plus one failure if it printed
#                                          none, exited non-zero with no
#                                          failure counted, or left kernel
#                                          reports

t_n=0
t_pass=0
t_fail=0

ok() {
	t_n=$((t_n + 1))
	t_pass=$((t_pass + 1))
	echo "ok $t_n - $*"
}

not_ok() {
	t_n=$((t_n + 1))
	t_fail=$((t_fail + 1))
	echo "not ok $t_n - $*"
}

diag() {
	printf '%s\n' "$@" | sed 's/^/# /'
}

check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1 (got '$2', want '$3')"
	fi
}

relay() {
	local line seen=0 fail0=$t_fail rc=
	while IFS= read -r line; do
		case "$line" in
		"ok "*) seen=1; ok "$(printf '%s' "$line" | sed -E 's/^ok [0-9]+ (- )?//')" ;;
		"not ok "*) seen=1; not_ok "$(printf '%s' "$line" | sed -E 's/^not ok [0-9]+ (- )?//')" ;;
		"relay-exit "*) rc=${line#relay-exit } ;;
		1..* | *" passed, "*" failed") ;;
		*) printf '%s\n' "$line" ;;
		esac
	done < <("$@" 2>&1; echo "relay-exit $?")
	if [ "$seen" = 0 ]; then
		not_ok "$1 reported no result (exit ${rc:-?})"
	elif [ "${rc:-1}" != 0 ] && [ "$t_fail" = "$fail0" ]; then
		not_ok "$1 exited ${rc:-?} without reporting a failure"
	fi
}

summary_line() {
	echo "$1 passed, $2 failed"
}

finish() {
	echo "1..$t_n"
	summary_line "$t_pass" "$t_fail"
	[ "$t_fail" = 0 ] && [ "$t_n" -gt 0 ]
}

wait_until() {
	local limit=20 i
	if [ "$1" = -t ]; then
		limit=$2
		shift 2
	fi
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# parse_results FILE...: "P F", the sum of every summary line in FILEs,
# with or without a "name: " prefix, and cargo's "test result:" lines.
parse_results() {
	awk '
		match($0, /^(test result: [a-z]+\. |[A-Za-z0-9_.-]+: )?[0-9]+ passed[;,] [0-9]+ failed/) {
			s = substr($0, RSTART, RLENGTH)
			sub(/^(test result: [a-z]+\. |[A-Za-z0-9_.-]+: )/, "", s)
			split(s, a, /[^0-9]+/)
			p += a[1]; f += a[2]; n++
		}
		END { print p + 0, f + 0, n + 0 }' "$@" | cut -d' ' -f1,2
}

# has_results FILE...: true if FILEs hold at least one summary line.
has_results() {
	[ "$(awk '/^(test result: [a-z]+\. |[A-Za-z0-9_.-]+: )?[0-9]+ passed[;,] [0-9]+ failed/ { n++ } END { print n + 0 }' "$@")" -gt 0 ]
}

# A line that starts one of the kernel's reports: oops and BUG (KASAN,
# KFENCE, soft lockup, workqueue lockup, sleeping in atomic context),
# WARNING (lockdep, suspicious RCU usage, WARN_ON), UBSAN, DEBUG_OBJECTS,
# RCU stalls, hung tasks, list and refcount corruption, kmemleak.
KERNEL_REPORT_RE='BUG:|WARNING:|Oops|general protection|kernel BUG at|Kernel panic|UBSAN:|KASAN|KFENCE|ODEBUG:|use-after-free|refcount_t:|list_(add|del) corruption|possible (recursive|circular) locking|inconsistent lock state|suspicious RCU usage|sleeping function called|scheduling while atomic|rcu: INFO:|rcu_(sched|preempt|bh) (self-)?detected stall|detected stalls on CPUs|INFO: task .* blocked for more than|soft lockup|hard LOCKUP|workqueue lockup|suspected memory leak|stack-protector|stack guard page|double fault'

kernel_log_mark() {
	dmesg 2>/dev/null | wc -l
}

# A stack dump with no report line of its own (dump_stack()) is a report
# too, except after an allocation failure the test injected on purpose.
kernel_reports() {
	local alloc_ok=0 since=0 file=
	while [ $# -gt 0 ]; do
		case "$1" in
		-s) since=$2; shift 2 ;;
		-f) file=$2; shift 2 ;;
		alloc-failures-ok) alloc_ok=1; shift ;;
		*) echo "kernel_reports: unknown argument $1" >&2; return 2 ;;
		esac
	done
	{ if [ -n "$file" ]; then cat "$file"; else dmesg 2>/dev/null; fi; } | tail -n +$((since + 1)) |
		awk -v re="$KERNEL_REPORT_RE" -v alloc_ok="$alloc_ok" '
		$0 ~ re { print; bad = 1; next }
		/allocation failure|vmalloc error|FAULT_INJECTION: forcing a failure/ {
			if (alloc_ok) { quiet = 60; next }
			print; bad = 1; next
		}
		/Call Trace:/ {
			if (quiet > 0) next
			print; bad = 1
		}
		{ if (quiet > 0) quiet-- }
		END { exit bad ? 1 : 0 }'
	[ "${PIPESTATUS[2]}" = 0 ]
}

kmemleak_file=/sys/kernel/debug/kmemleak

kmemleak_ready() {
	[ -e "$kmemleak_file" ] ||
		mount -t debugfs none /sys/kernel/debug 2>/dev/null
	[ -w "$kmemleak_file" ]
}

kmemleak_start() {
	kmemleak_ready || return 2
	echo scan >"$kmemleak_file" && echo clear >"$kmemleak_file"
}

# Objects younger than 5 s are never reported: wait, then scan twice
# (the second scan confirms what the first found).
kmemleak_leaks() {
	local out
	kmemleak_ready || return 2
	sleep 6
	echo scan >"$kmemleak_file"
	echo scan >"$kmemleak_file"
	out=$(cat "$kmemleak_file")
	[ -z "$out" ] && return 0
	printf '%s\n' "$out"
	return 1
}

run_component() {
	local results=$1 name=$2 log stamp status p f t0 secs mark reports allow
	shift 2
	printf '\n======== %s ========\n' "$name"
	log=$(mktemp)
	stamp=$(mktemp)
	mark=$(kernel_log_mark)
	t0=$(date +%s)
	"$@" 2>&1 | tee "$log"
	status=${PIPESTATUS[0]}
	secs=$(($(date +%s) - t0))
	if has_results "$log"; then
		read -r p f < <(parse_results "$log")
	else
		p=0 f=1
		echo "suite: $name printed no result line (exit $status)" >&2
	fi
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		f=1
		echo "suite: $name exited $status" >&2
	fi
	# Injected allocation failures are expected only in the component
	# that injected them (it creates the marker file).
	allow=
	[ /run/sagafs-alloc-failures-ok -nt "$stamp" ] && allow=alloc-failures-ok
	if ! reports=$(kernel_reports -s "$mark" $allow); then
		f=$((f + 1))
		echo "suite: $name left kernel reports:" >&2
		printf '%s\n' "$reports" | sed 's/^/suite:   /' >&2
	fi
	echo "$name: $(summary_line "$p" "$f") (${secs} s)" >>"$results"
	rm -f "$log" "$stamp"
	[ "$f" = 0 ]
}
