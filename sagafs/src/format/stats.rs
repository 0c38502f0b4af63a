//! The statistics the daemon shows in `stats` (aligned text tables in the
//! spirit of `strace -c`) and `stats.json` (the same data, one object).
//!
//! The daemon fills `Stats` from GET_STATS and its own counters;
//! `syscall_rows()` and `rate()` turn two successive kernel snapshots into
//! per-second rates.

use std::fmt::Write as _;

use serde_json::{json, Value};

use super::{syscall, time_string};
use crate::abi::{sagafs_counts, sagafs_cpu_stats};
use crate::names;
use crate::record::Abi;

/// Counters of one syscall slot or of everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub calls: u64,
    pub errors: u64,
    pub logged: u64,
    pub filtered: u64,
    pub dropped: u64,
    /// Calls not executed (seccomp, ptrace): counted, never run.
    pub skipped: u64,
}

impl From<&sagafs_counts> for Counts {
    fn from(c: &sagafs_counts) -> Counts {
        Counts {
            calls: c.calls,
            errors: c.errors,
            logged: c.logged,
            filtered: c.filtered,
            dropped: c.dropped,
            skipped: c.skipped,
        }
    }
}

/// One CPU's ring.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuRow {
    pub cpu: u32,
    pub calls: u64,
    pub logged: u64,
    pub filtered: u64,
    pub dropped: u64,
    pub bytes: u64,
    pub bad_tail: u64,
    /// Unread bytes now.
    pub ring_used: u64,
    pub ring_size: u64,
}

impl CpuRow {
    pub fn from_kernel(cpu: u32, c: &sagafs_cpu_stats) -> CpuRow {
        CpuRow {
            cpu,
            calls: c.calls,
            logged: c.logged,
            filtered: c.filtered,
            dropped: c.dropped,
            bytes: c.bytes,
            bad_tail: c.bad_tail,
            ring_used: c.ring_used,
            ring_size: c.ring_size,
        }
    }

    /// Ring use in percent, 0 for an empty ring size.
    pub fn used_percent(&self) -> f64 {
        if self.ring_size == 0 {
            0.0
        } else {
            self.ring_used as f64 * 100.0 / self.ring_size as f64
        }
    }
}

/// One syscall slot of one ABI.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SyscallRow {
    pub abi: Abi,
    pub slot: usize,
    pub counts: Counts,
    /// Calls per second over the last interval.
    pub rate: f64,
}

/// The daemon's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DaemonCounts {
    /// Records held for readers of `log` now, and their bytes.
    pub retained: u64,
    pub retained_bytes: u64,
    /// The `retain` setting, bytes.
    pub retain_limit: u64,
    /// Records evicted from retention before anyone read them.
    pub evicted: u64,
    /// Records stream readers missed because they fell behind.
    pub reader_behind: u64,
}

/// Everything `stats` shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Stats {
    /// CLOCK_REALTIME of module load or of the last reset.
    pub since_ns: u64,
    /// CLOCK_REALTIME now.
    pub now_ns: u64,
    /// Time capture has been on since `since_ns`.
    pub enabled_ns: u64,
    /// Length of the interval the rates are measured over.
    pub interval_ns: u64,
    pub total: Counts,
    /// Calls per second over the last interval, all syscalls.
    pub total_rate: f64,
    /// Record bytes written to the rings.
    pub bytes: u64,
    /// Records dropped because a consumer tail was bogus (part of dropped).
    pub bad_tail: u64,
    /// Calls seccomp may have skipped without being flagged as skipped.
    pub skip_unflagged: u64,
    pub daemon: DaemonCounts,
    pub cpus: Vec<CpuRow>,
    /// Slots with at least one call (any order; shown by calls, descending).
    pub syscalls: Vec<SyscallRow>,
}

/// Events per second between two counter readings `interval_ns` apart
/// (0 for an empty interval or a counter that went backwards, as after a
/// reset).
pub fn rate(cur: u64, prev: u64, interval_ns: u64) -> f64 {
    if interval_ns == 0 || cur < prev {
        return 0.0;
    }
    (cur - prev) as f64 * 1e9 / interval_ns as f64
}

/// Rows for every slot with calls, from GET_STATS' `[abi][slot]` array
/// (`nr_slots` entries per ABI) and optionally the previous snapshot for
/// the rates; sorted by calls, descending.
pub fn syscall_rows(
    cur: &[sagafs_counts],
    prev: Option<&[sagafs_counts]>,
    nr_slots: usize,
    interval_ns: u64,
) -> Vec<SyscallRow> {
    let mut rows = Vec::new();
    for abi in Abi::ALL {
        for slot in 0..nr_slots.min(crate::abi::NR_SLOTS) {
            let i = abi.index() * nr_slots + slot;
            let Some(c) = cur.get(i) else { continue };
            if c.calls == 0 {
                continue;
            }
            let p = prev.and_then(|p| p.get(i)).map_or(0, |p| p.calls);
            rows.push(SyscallRow {
                abi,
                slot,
                counts: c.into(),
                rate: if prev.is_some() {
                    rate(c.calls, p, interval_ns)
                } else {
                    0.0
                },
            });
        }
    }
    sort_rows(&mut rows);
    rows
}

fn sort_rows(rows: &mut [SyscallRow]) {
    rows.sort_by(|a, b| {
        b.counts
            .calls
            .cmp(&a.counts.calls)
            .then(a.abi.cmp(&b.abi))
            .then(a.slot.cmp(&b.slot))
    });
}

fn secs(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// Appends aligned columns: the first left-aligned, the rest right-aligned,
/// two spaces apart.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let mut width: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        for (i, (c, w)) in cells.zip(&width).enumerate() {
            if i == 0 {
                let _ = write!(out, "{c:<w$}");
            } else {
                let _ = write!(out, "  {c:>w$}");
            }
        }
        let trimmed = out.trim_end_matches(' ').len();
        out.truncate(trimmed);
        out.push('\n');
    };
    line(out, &mut header.iter().copied());
    for r in rows {
        line(out, &mut r.iter().map(String::as_str));
    }
}

/// Appends the text form:
///
/// ```text
/// # sagafs statistics since 2026-11-21T22:00:00Z (uptime 3600.0 s, capture on 3600.0 s, rates over 1.0 s)
/// calls           1234567  (342.9/s)
/// logged          1200000
/// ...
///
/// cpu  ring_used  ring_size  calls  logged  filtered  dropped  bad_tail
/// 0        12.5%    1048576  ...
///
/// syscall  calls  errors  logged  filtered  dropped  rate/s
/// openat   500000    120  500000         0        0   138.9
/// ```
pub fn write_text(out: &mut String, s: &Stats) {
    let mut since = Vec::new();
    super::write_time_secs(&mut since, s.since_ns);
    let _ = writeln!(
        out,
        "# sagafs statistics since {} (uptime {:.1} s, capture on {:.1} s, rates over {:.1} s)",
        String::from_utf8_lossy(&since),
        secs(s.now_ns.saturating_sub(s.since_ns)),
        secs(s.enabled_ns),
        secs(s.interval_ns),
    );
    let t = &s.total;
    let d = &s.daemon;
    let totals: [(&str, u64); 15] = [
        ("calls", t.calls),
        ("logged", t.logged),
        ("filtered", t.filtered),
        ("dropped", t.dropped),
        ("errors", t.errors),
        ("skipped", t.skipped),
        ("bad_tail", s.bad_tail),
        ("skip_unflagged", s.skip_unflagged),
        ("bytes", s.bytes),
        ("retained", d.retained),
        ("retained_bytes", d.retained_bytes),
        ("retain_limit", d.retain_limit),
        ("evicted", d.evicted),
        ("reader_behind", d.reader_behind),
        ("cpus", s.cpus.len() as u64),
    ];
    let kw = totals.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let vw = totals
        .iter()
        .map(|(_, v)| v.to_string().len())
        .max()
        .unwrap_or(0);
    for (k, v) in totals {
        let _ = write!(out, "{k:<kw$}  {v:>vw$}");
        if k == "calls" {
            let _ = write!(out, "  ({:.1}/s)", s.total_rate);
        }
        out.push('\n');
    }

    out.push('\n');
    let rows: Vec<Vec<String>> = s
        .cpus
        .iter()
        .map(|c| {
            vec![
                c.cpu.to_string(),
                format!("{:.1}%", c.used_percent()),
                c.ring_size.to_string(),
                c.calls.to_string(),
                c.logged.to_string(),
                c.filtered.to_string(),
                c.dropped.to_string(),
                c.bad_tail.to_string(),
            ]
        })
        .collect();
    table(
        out,
        &[
            "cpu",
            "ring_used",
            "ring_size",
            "calls",
            "logged",
            "filtered",
            "dropped",
            "bad_tail",
        ],
        &rows,
    );

    out.push('\n');
    let mut sorted = s.syscalls.clone();
    sort_rows(&mut sorted);
    let rows: Vec<Vec<String>> = sorted
        .iter()
        .map(|r| {
            let c = &r.counts;
            vec![
                syscall::slot_display(r.abi, r.slot).to_string(),
                c.calls.to_string(),
                c.errors.to_string(),
                c.logged.to_string(),
                c.filtered.to_string(),
                c.dropped.to_string(),
                format!("{:.1}", r.rate),
            ]
        })
        .collect();
    table(
        out,
        &[
            "syscall", "calls", "errors", "logged", "filtered", "dropped", "rate/s",
        ],
        &rows,
    );
}

fn counts_json(c: &Counts) -> Value {
    json!({
        "calls": c.calls,
        "errors": c.errors,
        "logged": c.logged,
        "filtered": c.filtered,
        "dropped": c.dropped,
        "skipped": c.skipped,
    })
}

/// The JSON form, one object (no trailing newline):
/// `{"since":..,"since_ns":..,"now_ns":..,"uptime_s":..,"enabled_s":..,
/// "interval_s":..,"total":{calls,errors,logged,filtered,dropped,skipped,rate},
/// "bytes":..,"bad_tail":..,"skip_unflagged":..,"daemon":{..},"cpus":[..],"syscalls":[..]}`.
pub fn to_json(s: &Stats) -> Value {
    let mut total = counts_json(&s.total);
    total["rate"] = json!(s.total_rate);
    let d = &s.daemon;
    let mut sorted = s.syscalls.clone();
    sort_rows(&mut sorted);
    json!({
        "since": time_string(s.since_ns),
        "since_ns": s.since_ns,
        "now_ns": s.now_ns,
        "uptime_s": secs(s.now_ns.saturating_sub(s.since_ns)),
        "enabled_s": secs(s.enabled_ns),
        "interval_s": secs(s.interval_ns),
        "total": total,
        "bytes": s.bytes,
        "bad_tail": s.bad_tail,
        "skip_unflagged": s.skip_unflagged,
        "daemon": {
            "retained": d.retained,
            "retained_bytes": d.retained_bytes,
            "retain_limit": d.retain_limit,
            "evicted": d.evicted,
            "reader_behind": d.reader_behind,
        },
        "cpus": s.cpus.iter().map(|c| json!({
            "cpu": c.cpu,
            "ring_used": c.ring_used,
            "ring_size": c.ring_size,
            "ring_used_percent": c.used_percent(),
            "calls": c.calls,
            "logged": c.logged,
            "filtered": c.filtered,
            "dropped": c.dropped,
            "bytes": c.bytes,
            "bad_tail": c.bad_tail,
        })).collect::<Vec<_>>(),
        "syscalls": sorted.iter().map(|r| {
            let mut v = counts_json(&r.counts);
            v["abi"] = json!(r.abi.as_str());
            v["syscall"] = json!(names::slot_name(r.abi, r.slot));
            v["slot"] = json!(r.slot);
            v["rate"] = json!(r.rate);
            v
        }).collect::<Vec<_>>(),
    })
}

/// Appends the JSON form and a newline.
pub fn write_json(out: &mut String, s: &Stats) {
    out.push_str(&to_json(s).to_string());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::NR_SLOTS;

    fn counts(calls: u64) -> sagafs_counts {
        sagafs_counts {
            calls,
            errors: calls / 10,
            logged: calls - calls / 5,
            filtered: calls / 5,
            dropped: 0,
            skipped: 0,
        }
    }

    fn sample() -> Stats {
        let mut cur = vec![sagafs_counts::default(); 3 * NR_SLOTS];
        let mut prev = cur.clone();
        cur[257] = counts(500_000); // openat
        prev[257] = counts(499_000);
        cur[0] = counts(1_234); // read
        cur[NR_SLOTS + 5] = counts(90); // i386:open
        cur[2 * NR_SLOTS + 1023] = counts(1_234); // x32:other, ties read
        Stats {
            since_ns: 1_795_296_600_000_000_000,
            now_ns: 1_795_300_200_000_000_000,
            enabled_ns: 3_500_000_000_000,
            interval_ns: 2_000_000_000,
            total: Counts {
                calls: 502_558,
                errors: 50_000,
                logged: 400_000,
                filtered: 100_000,
                dropped: 2_558,
                skipped: 7,
            },
            total_rate: 500.0,
            bytes: 123_456_789,
            bad_tail: 3,
            skip_unflagged: 0,
            daemon: DaemonCounts {
                retained: 1000,
                retained_bytes: 200_000,
                retain_limit: 64 << 20,
                evicted: 5,
                reader_behind: 0,
            },
            cpus: vec![
                CpuRow {
                    cpu: 0,
                    ring_used: 131_072,
                    ring_size: 1 << 20,
                    calls: 10,
                    ..Default::default()
                },
                CpuRow {
                    cpu: 1,
                    ring_size: 1 << 20,
                    dropped: 2_558,
                    bad_tail: 3,
                    ..Default::default()
                },
            ],
            syscalls: syscall_rows(&cur, Some(&prev), NR_SLOTS, 2_000_000_000),
        }
    }

    #[test]
    fn rows_and_rates() {
        let s = sample();
        let names: Vec<&str> = s
            .syscalls
            .iter()
            .map(|r| syscall::slot_display(r.abi, r.slot))
            .collect();
        assert_eq!(names, ["openat", "read", "x32:other", "i386:open"]);
        assert_eq!(s.syscalls[0].rate, 500.0);
        assert_eq!(s.syscalls[1].rate, 617.0);
        assert_eq!(rate(5, 10, 1_000_000_000), 0.0);
        assert_eq!(rate(10, 5, 0), 0.0);
        // A short array (capacity smaller than NR_SLOTS) is read as far as it goes.
        let short = vec![counts(1); 10];
        let rows = syscall_rows(&short, None, 10, 1);
        assert_eq!(rows.len(), 10);
        assert!(rows.iter().all(|r| r.abi == Abi::X86_64 && r.rate == 0.0));
    }

    #[test]
    fn text_layout() {
        let mut out = String::new();
        write_text(&mut out, &sample());
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "# sagafs statistics since 2026-11-21T21:30:00Z (uptime 3600.0 s, \
             capture on 3500.0 s, rates over 2.0 s)"
        );
        assert_eq!(lines[1], "calls              502558  (500.0/s)");
        assert_eq!(lines[4], "dropped              2558");
        // awk-style access: key in $1, value in $2.
        let get = |k: &str| -> u64 {
            lines
                .iter()
                .map(|l| l.split_whitespace().collect::<Vec<_>>())
                .find(|f| f.first() == Some(&k))
                .unwrap()[1]
                .parse()
                .unwrap()
        };
        assert_eq!(get("evicted"), 5);
        assert_eq!(get("bad_tail"), 3);
        assert_eq!(get("skipped"), 7);
        assert_eq!(get("skip_unflagged"), 0);
        assert_eq!(get("retain_limit"), 64 << 20);
        let cpu_hdr = lines.iter().position(|l| l.starts_with("cpu ")).unwrap();
        assert_eq!(
            lines[cpu_hdr],
            "cpu  ring_used  ring_size  calls  logged  filtered  dropped  bad_tail"
        );
        assert_eq!(
            lines[cpu_hdr + 1],
            "0        12.5%    1048576     10       0         0        0         0"
        );
        let sc = lines
            .iter()
            .position(|l| l.starts_with("syscall "))
            .unwrap();
        assert_eq!(
            &lines[sc..],
            [
                "syscall     calls  errors  logged  filtered  dropped  rate/s",
                "openat     500000   50000  400000    100000        0   500.0",
                "read         1234     123     988       246        0   617.0",
                "x32:other    1234     123     988       246        0   617.0",
                "i386:open      90       9      72        18        0    45.0",
            ]
        );
        // Every table line has as many fields as its header.
        for l in &lines[sc..] {
            assert_eq!(l.split_whitespace().count(), 7, "{l}");
        }
    }

    #[test]
    fn json_form() {
        let mut out = String::new();
        write_json(&mut out, &sample());
        assert!(out.ends_with('\n'));
        assert_eq!(out.matches('\n').count(), 1);
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["since"], "2026-11-21T21:30:00.000000000Z");
        assert_eq!(v["total"]["calls"], 502_558);
        assert_eq!(v["total"]["rate"], 500.0);
        assert_eq!(v["daemon"]["evicted"], 5);
        assert_eq!(v["cpus"][0]["ring_used_percent"], 12.5);
        assert_eq!(v["cpus"][1]["bad_tail"], 3);
        assert_eq!(v["total"]["skipped"], 7);
        assert_eq!(v["skip_unflagged"], 0);
        assert_eq!(v["syscalls"][0]["syscall"], "openat");
        assert_eq!(v["syscalls"][0]["abi"], "x86_64");
        assert_eq!(v["syscalls"][0]["slot"], 257);
        assert_eq!(v["syscalls"][3]["syscall"], "open");
        assert_eq!(v["syscalls"][3]["abi"], "i386");
        assert_eq!(v["syscalls"].as_array().unwrap().len(), 4);
    }
}
