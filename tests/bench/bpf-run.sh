#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The BPF benchmark's runs (started by tests/bench/bpf.sh, natively or in
# the VM).  Interleaved rounds of four modes, two back-to-back runs each,
# the best kept: baseline (nothing loaded), detached (program loaded,
# capture off), all (every call logged, a consumer draining on another
# CPU), filtered (capture on, getppid excluded in the program).  Writes
# OUT/raw.txt ("mode round ns_per_call drops logged check") and
# OUT/results.txt (the table); exits 1 if a check failed.
#
# usage: bpf-run.sh OUT
set -uo pipefail
out=${1:?usage: bpf-run.sh OUT}
bench=$out/sagabench
cons=$out/sagafs-bpf-bench
calls=${BENCH_CALLS:-300000}
runs=${BENCH_RUNS:-8}
per_round=2
raw=$out/raw.txt
tmp=$(mktemp -d)
: >"$raw"
ncpu=$(nproc)
wl_cpu=0
bg_cpu=$((ncpu > 1 ? 1 : 0))
getppid_nr=110
bgpid=

note() {
	echo "bench-bpf: $*" >&2
}

# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	[ -n "$bgpid" ] && kill "$bgpid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

loop_ns() {
	taskset -c $wl_cpu "$bench" loop -n "$calls" -r $per_round | awk '$1 == "best" {print $2}'
}

kv() {
	awk -F= -v k="$2" '$1 == k {print $2}' "$1"
}

run_plain() {
	local ns
	ns=$(loop_ns)
	[ -n "$ns" ] || { note "$1: the loop failed"; return 1; }
	echo "$1 $round $ns - - ok" >>"$raw"
}

# run_with MODE CONSUMER-ARGS...: the loop while the consumer runs.
run_with() {
	local mode=$1 ready=$tmp/ready rep=$tmp/consumer.out ns rc
	shift
	rm -f "$ready"
	taskset -c $bg_cpu "$cons" -R "$ready" "$@" >"$rep" &
	bgpid=$!
	for _ in $(seq 600); do
		[ -e "$ready" ] && break
		kill -0 $bgpid 2>/dev/null || break
		sleep 0.1
	done
	if [ ! -e "$ready" ]; then
		note "$mode: the consumer did not start"
		wait $bgpid
		bgpid=
		return 1
	fi
	ns=$(loop_ns)
	kill -TERM $bgpid
	wait $bgpid
	rc=$?
	bgpid=
	[ $rc = 0 ] || { note "$mode: the consumer failed (exit $rc)"; return 1; }
	[ -n "$ns" ] || { note "$mode: the loop failed"; return 1; }
	sed "s/^/$mode $round: /" "$rep" >>"$out/consumer.txt"
	local got dropped gaps logged check=ok
	got=$(kv "$rep" getppid_records)
	dropped=$(kv "$rep" dropped)
	gaps=$(kv "$rep" seq_gaps)
	logged=$(kv "$rep" logged)
	case $mode in
	all) [ $((got + dropped)) -ge $((calls * per_round)) ] ||
		check="getppid:$got+$dropped<$((calls * per_round))" ;;
	filtered | detached) [ "$got" = 0 ] || check="getppid-logged:$got" ;;
	esac
	[ "$gaps" = "$dropped" ] || check="$check,gaps:$gaps!=dropped:$dropped"
	echo "$mode $round $ns $dropped $logged $check" >>"$raw"
}

note "$calls getppid calls per run, $runs rounds, workload on CPU $wl_cpu, consumer on CPU $bg_cpu, kernel $(uname -r)"
: >"$out/consumer.txt"
taskset -c $wl_cpu "$bench" loop -n "$calls" -r 2 >/dev/null
for round in $(seq "$runs"); do
	note "round $round of $runs"
	run_plain baseline
	run_with detached -D
	run_with all
	run_with filtered -x $getppid_nr
done

awk -v calls="$calls" -v runs="$runs" -v ncpu="$ncpu" -v kernel="$(uname -r)" \
	-v attach="$(awk -F= '$1 ~ /attach$/ {print $2; exit}' "$out/consumer.txt")" '
function median(m,    i, k, v, t, j) {
	k = 0
	for (i = 1; i <= runs; i++) if ((m, i) in nsr && ("baseline", i) in nsr) v[++k] = nsr[m, i] / nsr["baseline", i]
	if (!k) return -1
	for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
}
{
	m = $1; ns = $3 + 0
	if (!(m in b) || ns < b[m]) b[m] = ns
	nsr[m, $2] = ns
	if ($4 != "-") drops[m] += $4
	if ($6 != "ok") bad[m] = bad[m] " " $6
}
END {
	split("baseline detached all filtered", order, " ")
	desc["baseline"] = "baseline (nothing loaded)"
	desc["detached"] = "BPF loaded, detached (capture off)"
	desc["all"] = "BPF logging every call, drained"
	desc["filtered"] = "BPF on, getppid filtered out"
	printf "sagafs BPF benchmark: kernel %s, %s programs, getppid loop on CPU 0, %d calls per run, %d rounds, %d CPUs\n\n", kernel, attach, calls, runs, ncpu
	printf "%-36s %8s %8s %10s %10s\n", "mode", "ns/call", "ratio", "med.ratio", "drops"
	for (i = 1; i <= 4; i++) {
		m = order[i]
		if (!(m in b)) { printf "%-36s not run\n", desc[m]; continue }
		med = (m == "baseline") ? 1 : median(m)
		printf "%-36s %8.1f %7.3fx %9.3fx %10s\n", desc[m], b[m], b[m] / b["baseline"], med, (m in drops) ? drops[m] : "-"
	}
	printf "\nratio: best run / best baseline; med.ratio: median over the rounds of the round best / that round baseline\n"
	nb = 0
	for (m in bad) { printf "CHECK FAILED (%s):%s\n", m, bad[m]; nb++ }
	if (!nb) printf "checks: every getppid call logged or counted dropped (all); none logged (detached, filtered); sequence gaps = drop counts\n"
	exit nb ? 1 : 0
}' "$raw" >"$out/results.txt"
