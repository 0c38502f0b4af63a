#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark, inside the test VM (started by tests/bench/run.sh with
# --no-module).  Times a getppid loop pinned to one CPU in five modes:
#
#   baseline    sagafs.ko not loaded
#   disabled    loaded, capture off
#   all         capture of every call, a consumer draining the rings
#   filtered    capture on, getppid excluded in the kernel, consumer draining
#   ftrace      raw_syscalls sys_enter + sys_exit, trace_pipe drained by cat
#   bpf-all     the eBPF backend logging every call, drained (module unloaded)
#   bpf-filtered  the eBPF backend, getppid excluded in the program
#
# The modes run in interleaved rounds, each round two back-to-back runs
# of each mode (baseline, the bpf modes, then the module's after it is
# loaded, ftrace; the module is unloaded at the round's end), so that a
# slow spell of the host hits every mode
# alike.  The first measurement of the boot is the baseline without the
# module.  Per mode the best run is kept; the table also gives the median
# over the rounds of each round's ratio to its own baseline.  Writes
# OUT/raw.txt (every run), OUT/consumer.txt (every consumer's report) and
# OUT/results.txt (the table).
#
# usage: guest.sh OUT
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
out=${1:?usage: guest.sh OUT}
bin=$out/sagabench
calls=${BENCH_CALLS:-300000}
runs=${BENCH_RUNS:-12}
per_round=2 # back-to-back runs per mode and round, the best kept
ko=$out/sagafs.ko # a copy made by run.sh
raw=$out/raw.txt
res=$out/results.txt
tmp=$(mktemp -d)
: >"$raw"
: >"$out/consumer.txt"

[ "${SAGAFS_IN_VM:-}" = 1 ] || { echo "guest.sh: runs inside the test VM (tests/bench/run.sh)" >&2; exit 2; }
[ -x "$bin" ] || { echo "guest.sh: $bin missing: run tests/bench/run.sh" >&2; exit 2; }
ncpu=$(nproc)
wl_cpu=0
bg_cpu=$((ncpu > 1 ? 1 : 0))
getppid_nr=110 # x86_64
bpfcons=$out/sagafs-bpf-bench # copied by run.sh
consumer=("$bin" consume)

note() {
	echo "bench: $*" >&2
}

# ------------------------------------------------------------- tracefs
tr=/sys/kernel/tracing
if [ ! -e "$tr/trace_pipe" ]; then
	mount -t tracefs nodev "$tr" 2>/dev/null ||
		{ tr=/sys/kernel/debug/tracing; mount -t debugfs nodev /sys/kernel/debug 2>/dev/null; }
fi
have_ftrace=0
[ -e "$tr/events/raw_syscalls/enable" ] && have_ftrace=1
[ $have_ftrace = 1 ] || note "no raw_syscalls events under $tr: the tracer mode is skipped"

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	if [ "$have_ftrace" = 1 ]; then
		echo 0 >"$tr/events/raw_syscalls/enable" 2>/dev/null
		echo >"$tr/trace" 2>/dev/null
	fi
	[ -n "${bgpid:-}" ] && kill "$bgpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

tracer_lost() {
	# overwritten + dropped events, all CPUs
	cat "$tr"/per_cpu/cpu*/stats |
		awk -F: '/^(overrun|dropped events)/ {s += $2} END {print s + 0}'
}

# ------------------------------------------------------------ one run
# Every run appends "mode round ns_per_call drops logged records_per_s
# check" to raw.txt (- where it does not apply).

loop_ns() {
	taskset -c $wl_cpu "$bin" loop -n "$calls" -r $per_round | awk '$1 == "best" {print $2}'
}

kv() { # kv FILE KEY
	awk -F= -v k="$2" '$1 == k {print $2}' "$1"
}

run_plain() {
	local mode=$1 ns
	ns=$(loop_ns)
	[ -n "$ns" ] || { note "$mode: the loop failed"; return 1; }
	echo "$mode $round $ns - - - ok" >>"$raw"
}

# with_consumer NAME CONSUMER_ARGS... -- CMD...: run CMD (its output in
# $tmp/cmd.out) while a consumer drains the rings (its report in
# $tmp/consume.out, also appended to consumer.txt).
with_consumer() {
	local name=$1 ready=$tmp/ready cons=$tmp/consume.out rc
	shift
	local args=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		args+=("$1")
		shift
	done
	shift
	rm -f "$ready"
	taskset -c $bg_cpu "${consumer[@]}" -R "$ready" "${args[@]}" >"$cons" &
	bgpid=$!
	# Loading the BPF program takes the verifier a while under emulation.
	for _ in $(seq 600); do
		[ -e "$ready" ] && break
		kill -0 $bgpid 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -e "$ready" ]; then
		note "$name: the consumer did not start"
		kill $bgpid 2>/dev/null
		wait $bgpid
		bgpid=
		return 1
	fi
	"$@" >"$tmp/cmd.out"
	kill -TERM $bgpid
	wait $bgpid
	rc=$?
	bgpid=
	[ $rc = 0 ] || { note "$name: the consumer failed (exit $rc)"; return 1; }
	sed "s/^/$name: /" "$cons" >>"$out/consumer.txt"
}

run_capture() {
	local mode=$1 cons=$tmp/consume.out ns check
	shift
	with_consumer "$mode" "$@" -- taskset -c $wl_cpu "$bin" loop -n "$calls" -r $per_round || return 1
	ns=$(awk '$1 == "best" {print $2}' "$tmp/cmd.out")
	[ -n "$ns" ] || { note "$mode: the loop failed"; return 1; }

	local got dropped gaps logged rps
	got=$(kv "$cons" getppid_records)
	dropped=$(kv "$cons" dropped)
	gaps=$(kv "$cons" seq_gaps)
	logged=$(kv "$cons" logged)
	rps=$(kv "$cons" records_per_s)
	# The records must match what the workload did: every getppid call
	# logged or counted as dropped (all), none logged (filtered), and the
	# sequence gaps the consumer saw must equal the kernel's drop count.
	check=ok
	if [ "${mode#bpf-}" = all ]; then
		[ $((got + dropped)) -ge $((calls * per_round)) ] || check="getppid:$got+$dropped<$((calls * per_round))"
	else
		[ "$got" = 0 ] || check="getppid-logged:$got"
	fi
	[ "$gaps" = "$dropped" ] || check="$check,gaps:$gaps!=dropped:$dropped"
	echo "$mode $round $ns $dropped $logged $rps $check" >>"$raw"
}

run_ftrace() {
	local ns lost0 lost1
	echo >"$tr/trace"
	lost0=$(tracer_lost)
	echo 1 >"$tr/events/raw_syscalls/enable"
	taskset -c $bg_cpu cat "$tr/trace_pipe" >/dev/null &
	bgpid=$!
	sleep 0.2
	ns=$(loop_ns)
	echo 0 >"$tr/events/raw_syscalls/enable"
	sleep 0.2
	kill $bgpid 2>/dev/null
	wait $bgpid 2>/dev/null
	bgpid=
	lost1=$(tracer_lost)
	echo >"$tr/trace"
	[ -n "$ns" ] || { note "ftrace: the loop failed"; return 1; }
	echo "ftrace $round $ns $((lost1 - lost0)) - - ok" >>"$raw"
}

# ------------------------------------------------------------ the runs
note "$calls getppid calls per run, $runs rounds of $per_round runs per mode, workload on CPU $wl_cpu, drainers on CPU $bg_cpu"
if grep -q '^sagafs ' /proc/modules; then
	note "sagafs.ko is already loaded: boot with --no-module"
	exit 2
fi
loaded() {
	grep -q '^sagafs ' /proc/modules
}

# Let the freshly booted guest settle and QEMU translate the hot paths:
# two unrecorded runs first.
taskset -c $wl_cpu "$bin" loop -n "$calls" -r 2 >/dev/null
can_unload=1
for round in $(seq "$runs"); do
	note "round $round of $runs"
	loaded || run_plain baseline
	# The eBPF backend, with the module out of the way.
	if [ -x "$bpfcons" ] && ! loaded; then
		consumer=("$bpfcons")
		run_capture bpf-all
		run_capture bpf-filtered -x $getppid_nr
		consumer=("$bin" consume)
	fi
	if ! loaded; then
		insmod "$ko" || { note "insmod $ko failed"; exit 2; }
	fi
	"$bin" ctl disable || exit 2
	run_plain disabled
	run_capture all
	run_capture filtered -x $getppid_nr
	[ $have_ftrace = 1 ] && run_ftrace
	if [ $can_unload = 1 ] && ! rmmod sagafs; then
		note "rmmod sagafs failed: the later rounds have no baseline"
		can_unload=0
	fi
done

# ------------------------------------------------- zero-drop drain rate
# The getppid workload paced at rising rates (two seconds each) with the
# consumer draining: the highest rate with no record dropped is the
# result (the rate reached, which may fall short of the one asked for).
# Stops at the first rate with drops, or once the workload falls short of
# two rates in a row.
rates=${BENCH_RATES:-25000 50000 100000 150000 200000 300000 400000}
sweep=$out/sweep.txt
: >"$sweep"
loaded || insmod "$ko" || { note "insmod $ko failed"; exit 2; }
for rate in $rates; do
	with_consumer "rate-$rate" -- taskset -c $wl_cpu "$bin" loop -n $((rate * 2)) -p "$rate" || break
	got=$(awk '$1 == "rate" {print $2}' "$tmp/cmd.out")
	dropped=$(kv "$tmp/consume.out" dropped)
	gaps=$(kv "$tmp/consume.out" seq_gaps)
	echo "$rate ${got:-0} $dropped $gaps" >>"$sweep"
	[ "$dropped" = 0 ] || break
	# Two rates in a row out of the workload's reach: it is saturated.
	if [ "${got:-0}" -lt $((rate * 9 / 10)) ]; then
		short=$((${short:-0} + 1))
		[ $short -lt 2 ] || break
	else
		short=0
	fi
done

# Hook: the daemon's benchmarks, once the daemon exists (module loaded).
if [ -x tests/bench/daemon.sh ]; then
	loaded || insmod "$ko" || { note "insmod $ko failed"; exit 2; }
	tests/bench/daemon.sh "$out" >"$out/daemon.txt" 2>&1 ||
		note "daemon benchmarks failed: see $out/daemon.txt"
fi

# ------------------------------------------------------------ the table
awk -v calls="$calls" -v runs="$runs" -v per_round="$per_round" -v ncpu="$ncpu" -f tests/bench/table.awk "$raw" >"$res"
status=$?
awk '
	{ printf "  target %7d/s  reached %7d/s  dropped %8d  (seq gaps %d)\n", $1, $2, $3, $4
	  if ($3 == 0 && $2 > best) best = $2 }
	END { if (NR) printf "zero-drop drain rate: %s\n", best ? sprintf("%d records/s sustained with no drop (paced getppid, consumer on CPU 1, default 1 MiB rings)", best) : "no rate tried ran without drops" }
' "$sweep" >"$tmp/sweep.txt"
if [ -s "$tmp/sweep.txt" ]; then
	printf '\nzero-drop rate sweep (getppid paced, 2 s per rate, every call logged):\n' >>"$res"
	cat "$tmp/sweep.txt" >>"$res"
fi
if [ -s "$out/daemon.txt" ]; then
	printf '\n' >>"$res"
	cat "$out/daemon.txt" >>"$res"
fi
cat "$res"
exit $status
