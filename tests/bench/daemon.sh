#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The daemon's benchmarks, inside the test VM with sagafs.ko loaded
# (called by tests/bench/guest.sh after the kernel-side runs):
#
#   - `cat log > /dev/null` throughput against `cat` of a tmpfs file
#     holding the same bytes (target: ratio >= 0.3), and the records per
#     second formatted into text on the way;
#   - getppid calls logged through the daemon (it is the consumer): drops;
#   - the daemon's RSS with the default retention (64 MiB) full;
#   - the daemon's CPU time over 10 idle seconds (target: 0 ticks).
#
# Prints its section of the results table on stdout; exits 1 if the
# daemon could not be measured.
#
# usage: daemon.sh OUT
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
out=${1:?usage: daemon.sh OUT}
bin=$out/sagabench
daemon=target/release/sagafs
mnt=/tmp/sagafs-bench
tmpfs=/tmp/sagafs-bench-tmpfs
calls=${BENCH_DAEMON_CALLS:-1000000}

fail() {
	echo "daemon: $*"
	exit 1
}

now() {
	date +%s.%N
}

[ -x "$daemon" ] || fail "$daemon missing: not measured"
modprobe fuse 2>/dev/null
mkdir -p "$mnt" "$tmpfs"
mount -t tmpfs none "$tmpfs" || fail "cannot mount a tmpfs on $tmpfs"
"$daemon" -o defaults sagafs "$mnt" || fail "the daemon did not mount"
cleanup() {
	umount "$mnt" 2>/dev/null
	umount "$tmpfs" 2>/dev/null
}
trap cleanup EXIT
pid=$(pgrep -o -x sagafs) # the daemon, older than its guardian
[ -n "$pid" ] || fail "no sagafs process"

stat_of() { # stat_of KEY: a value of the stats file's first block
	awk -v k="$1" '$1 == k {print $2; exit}' "$mnt/stats"
}

# ------------------------------------------------------ fill the log
dropped0=$(stat_of dropped)
taskset -c 0 "$bin" loop -n "$calls" -r 1 >"$out/daemon-loop.txt"
sleep 2
dropped1=$(stat_of dropped)
# Keep the workload going until the retention is full (records evicted).
for _ in $(seq 10); do
	[ "$(stat_of evicted)" -gt 0 ] 2>/dev/null && break
	taskset -c 0 "$bin" loop -n 500000 -r 1 >/dev/null
	sleep 1
done
retained=$(stat_of retained)
retained_bytes=$(stat_of retained_bytes)
limit=$(stat_of retain_limit)
evicted=$(stat_of evicted)
rss_kb=$(awk '$1 == "VmRSS:" {print $2}' "/proc/$pid/status")
hwm_kb=$(awk '$1 == "VmHWM:" {print $2}' "/proc/$pid/status")
loop_ns=$(awk '$1 == "best" {print $2}' "$out/daemon-loop.txt")

# ------------------------------------------------- cat log vs tmpfs
cat "$mnt/log" >"$tmpfs/log.txt"
bytes=$(stat -c %s "$tmpfs/log.txt")
lines=$(wc -l <"$tmpfs/log.txt")
# min_elapsed BEST START END: the smaller of BEST (may be empty) and END - START
min_elapsed() {
	awk -v m="$1" -v a="$2" -v b="$3" 'BEGIN {d = b - a; print (m == "" || d < m) ? d : m}'
}
best_fuse=
best_tmpfs=
for _ in 1 2 3; do
	a=$(now)
	cat "$mnt/log" >/dev/null
	b=$(now)
	cat "$tmpfs/log.txt" >/dev/null
	c=$(now)
	best_fuse=$(min_elapsed "$best_fuse" "$a" "$b")
	best_tmpfs=$(min_elapsed "$best_tmpfs" "$b" "$c")
done

# ------------------------------------------------------ idle CPU
ticks() {
	awk '{print $14 + $15}' "/proc/$pid/stat"
}
sleep 3 # let the reads above finish their work
k0=$(ticks)
sleep 10
k1=$(ticks)
hz=$(getconf CLK_TCK)

awk -v calls="$calls" -v loop_ns="$loop_ns" -v d0="$dropped0" -v d1="$dropped1" \
	-v retained="$retained" -v rbytes="$retained_bytes" -v limit="$limit" -v evicted="$evicted" \
	-v rss="$rss_kb" -v hwm="$hwm_kb" \
	-v bytes="$bytes" -v lines="$lines" -v tf="$best_fuse" -v tt="$best_tmpfs" \
	-v k0="$k0" -v k1="$k1" -v hz="$hz" '
BEGIN {
	printf "daemon (target/release/sagafs, default options, mounted at /tmp/sagafs-bench):\n"
	printf "  getppid loop with the daemon as consumer: %.1f ns/call, %d of %d calls dropped (ring full)\n",
		loop_ns, d1 - d0, calls
	fr = bytes / tf; tr = bytes / tt
	printf "  cat log > /dev/null: %d bytes, %d lines in %.3f s = %.1f MB/s, %.0f records/s formatted\n",
		bytes, lines, tf, fr / 1e6, lines / tf
	printf "  cat of the same bytes on tmpfs: %.3f s = %.1f MB/s\n", tt, tr / 1e6
	printf "  log read throughput ratio (sagafs / tmpfs): %.3f   target >= 0.3: %s\n",
		fr / tr, (fr / tr >= 0.3) ? "pass" : "MISS"
	printf "  retention: %d records, %d of %d bytes, %d evicted (%s)\n",
		retained, rbytes, limit, evicted, (evicted > 0) ? "full" : "NOT full: RSS below is not at the limit"
	printf "  daemon RSS with the retention full: %.1f MiB (peak %.1f MiB)\n", rss / 1024, hwm / 1024
	printf "  daemon CPU over 10 idle seconds: %d ticks (%.2f s)   target 0: %s\n",
		k1 - k0, (k1 - k0) / hz, (k1 == k0) ? "pass" : "MISS"
}'
