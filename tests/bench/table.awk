# SPDX-License-Identifier: GPL-2.0
#
# The benchmark table, from raw.txt lines "mode round ns_per_call drops
# logged records_per_s check" (- where a field does not apply).
# Variables: calls, runs, per_round, ncpu.  Exits 1 if any run failed its check.
# verdict(LABEL, MODE, LIMIT_MODE): MODE's ratio against LIMIT_MODE's (or
# 1.02 when LIMIT_MODE is empty), on the best runs and on the medians.
function verdict(label, m, lim,    lb, lm, s1, s2) {
	lb = (lim == "") ? 1.02 : ratio[lim]
	lm = (lim == "") ? 1.02 : medr[lim]
	if (!(m in ratio)) { printf "  %-30s n/a\n", label; return }
	s1 = sprintf("%.3fx vs %.3fx %s", ratio[m], lb, ratio[m] <= lb ? "pass" : "MISS")
	s2 = (medr[m] > 0 && lm > 0) ? sprintf("%.3fx vs %.3fx %s", medr[m], lm, medr[m] <= lm ? "pass" : "MISS") : "n/a"
	printf "  %-30s %-25s %s\n", label, s1, s2
}
function median(m,    i, j, k, t, v) {
	k = 0
	for (i in rr) { split(i, t, SUBSEP); if (t[1] == m) v[++k] = rr[i] }
	if (!k) return -1
	for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t[0] = v[j]; v[j] = v[j - 1]; v[j - 1] = t[0] }
	return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
}
{
	m = $1; r = $2; ns = $3 + 0
	if (!(m in b) || ns < b[m]) b[m] = ns
	nsr[m, r] = ns
	n[m]++
	if ($4 != "-") { drops[m] += $4; hasdrops[m] = 1 }
	if ($5 != "-") logged[m] += $5
	if ($6 != "-" && $6 + 0 > rps[m]) rps[m] = $6 + 0
	if ($7 != "ok") bad[m] = bad[m] " " $7
}
END {
	for (i in nsr) {
		split(i, t, SUBSEP)
		if (t[1] != "baseline" && (("baseline", t[2]) in nsr))
			rr[t[1], t[2]] = nsr[i] / nsr["baseline", t[2]]
	}
	base = b["baseline"]
	split("baseline disabled all filtered ftrace bpf-all bpf-filtered", order, " ")
	desc["baseline"] = "baseline (sagafs.ko not loaded)"
	desc["disabled"] = "sagafs loaded, capture off"
	desc["all"] = "sagafs logging every call, drained"
	desc["filtered"] = "sagafs on, getppid filtered out"
	desc["ftrace"] = "ftrace raw_syscalls, trace_pipe"
	desc["bpf-all"] = "BPF backend logging every call"
	desc["bpf-filtered"] = "BPF backend, getppid filtered out"
	printf "sagafs benchmark: getppid loop pinned to CPU 0, %d calls per run, %d interleaved rounds of %d runs per mode, %d guest CPUs (software emulation)\n\n", calls, runs, per_round, ncpu
	printf "%-36s %8s %8s %10s %12s\n", "mode", "ns/call", "ratio", "med.ratio", "drops"
	for (i = 1; i <= 7; i++) {
		m = order[i]
		if (!(m in b)) { printf "%-36s %8s %8s %10s %12s\n", desc[m], "-", "-", "-", "not run"; continue }
		d = (m in hasdrops) ? drops[m] : "-"
		med = (m == "baseline") ? 1 : median(m)
		medr[m] = med
		ratio[m] = (base > 0) ? b[m] / base : -1
		printf "%-36s %8.1f %7.3fx %9s %12s\n", desc[m], b[m], ratio[m], (med > 0) ? sprintf("%.3fx", med) : "-", d
	}
	printf "\nns/call: best run; ratio: best run / best baseline; med.ratio: median over the rounds of the round's best / that round's baseline\n"
	printf "drops: sagafs = records that passed the filters but found the ring full (kernel count, equal to the sequence gaps the consumer saw), summed over the runs; ftrace = overrun + dropped events\n"
	if ("all" in rps)
		printf "consumer (CPU 1, poll): drained up to %.0f records/s while logging every call (%d records in all, %s dropped); that is the rate the workload produced, a lower bound of the zero-drop rate only when drops is 0\n",
			rps["all"], logged["all"], drops["all"]
	printf "\n%-32s%-26s%s\n", "targets", "on the best runs", "on the medians"
	verdict("capture off      <= 1.02x", "disabled", "")
	if ("ftrace" in ratio) {
		verdict("getppid filtered <= ftrace", "filtered", "ftrace")
		verdict("logging all      <= ftrace", "all", "ftrace")
	} else {
		printf "  filtered / logging all vs ftrace: n/a (the tracer was not measured)\n"
	}
	if ("bpf-all" in ratio) {
		if ("all" in ratio) {
			ratio["all15"] = 1.5 * ratio["all"]
			medr["all15"] = 1.5 * medr["all"]
			verdict("BPF all     <= 1.5x module's", "bpf-all", "all15")
		}
		if ("ftrace" in ratio)
			verdict("BPF all     <= ftrace", "bpf-all", "ftrace")
	}
	nb = 0
	for (m in bad) { printf "CHECK FAILED (%s):%s\n", m, bad[m]; nb++ }
	if (!nb) printf "\nchecks: in every logging run each getppid call was logged or counted as dropped; no getppid record in the filtered runs; sequence gaps = kernel drop counts\n"
	exit nb ? 1 : 0
}