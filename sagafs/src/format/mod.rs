//! Renderings of records, dropped-record notices and statistics: the text
//! log (`text`), JSON Lines (`json`), the statistics tables (`stats`),
//! system call names as the log shows them (`syscall`) and the escaping of
//! untrusted bytes they share (`escape`).
//!
//! Every writer appends to a caller-provided buffer and allocates nothing
//! else per record. This module owns the pieces common to all of them:
//! UTC timestamps and the reasons records are reported dropped.

pub mod escape;
pub mod json;
mod line;
pub mod stats;
pub mod syscall;
pub mod text;

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::container::{CgroupResolver, Identity};
use crate::record::{ItemRef, RecordRef};
use line::Line;

/// The machine's cgroup hierarchy, once the program found it: records
/// then show their cgroup path and container (`cgroup=`, `container=`).
static CGROUPS: OnceLock<CgroupResolver> = OnceLock::new();

/// Makes the formats show each record's cgroup and container, resolved
/// by `r`; the first call wins (the hierarchy is the machine's, one per
/// process).
pub fn show_cgroups(r: CgroupResolver) {
    let _ = CGROUPS.set(r);
}

/// The cgroup of `r` as the formats show it, when known.
fn identity(r: &RecordRef) -> Option<Arc<Identity>> {
    if r.cgroup_id == 0 {
        return None;
    }
    CGROUPS.get()?.resolve(r.cgroup_id)
}

/// Why records were dropped; shown as `reason=` in the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// The kernel dropped them: the CPU's ring was full (or its tail bogus).
    RingFull,
    /// The daemon evicted them from its retention before anyone read them.
    Evicted,
    /// This reader fell behind a stream and missed them.
    ReaderBehind,
    /// An output's queue was full: the output fell behind and they were
    /// never handed to it.
    QueueFull,
    /// The file output could not write them: the disk was full.
    DiskFull,
    /// The remote output's spool was full and its oldest records went.
    SpoolFull,
    /// Written to a TCP connection that then broke: they may or may not
    /// have reached the collector (plain TCP has no acknowledgements).
    Unacknowledged,
}

impl DropReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::RingFull => "ring_full",
            DropReason::Evicted => "evicted",
            DropReason::ReaderBehind => "reader_behind",
            DropReason::QueueFull => "queue_full",
            DropReason::DiskFull => "disk_full",
            DropReason::SpoolFull => "spool_full",
            DropReason::Unacknowledged => "unacknowledged",
        }
    }
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two renderings of the log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// One `key=value` line per record (`log`, `pipe`).
    Text,
    /// One JSON object per line (`log.json`).
    Json,
}

impl Format {
    /// Appends one record, newline included.
    pub fn record(self, out: &mut Vec<u8>, r: &RecordRef) {
        let id = identity(r);
        match self {
            Format::Text => text::write_record_in(out, r, id.as_deref()),
            Format::Json => json::write_record_in(out, r, id.as_deref()),
        }
    }

    /// Appends one dropped-records notice, newline included.
    pub fn dropped(self, out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: DropReason) {
        match self {
            Format::Text => text::write_dropped(out, time_ns, cpu, count, why),
            Format::Json => json::write_dropped(out, time_ns, cpu, count, why),
        }
    }

    /// Appends one item; a drop with the reason `RingFull` (what a ring
    /// consumer reports).
    pub fn item(self, out: &mut Vec<u8>, item: &ItemRef) {
        match item {
            ItemRef::Record(r) => self.record(out, r),
            ItemRef::Dropped {
                cpu,
                count,
                time_ns,
            } => self.dropped(out, *time_ns, *cpu, *count, DropReason::RingFull),
        }
    }
}

/// Civil date (year, month 1..=12, day 1..=31) of a day count since
/// 1970-01-01, proleptic Gregorian calendar.
fn civil_from_days(days: u64) -> (u64, u32, u32) {
    // Shift the epoch to 0000-03-01 so that leap days end each cycle.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097; // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March = 0
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// Appends `ns` (nanoseconds since the epoch) as UTC ISO 8601 with nine
/// fraction digits: `2026-11-21T22:30:01.123456789Z`.
pub fn write_time(out: &mut Vec<u8>, ns: u64) {
    Line::new(out).time(ns, true);
}

/// Appends `ns` as UTC ISO 8601 to the second: `2026-11-21T22:30:01Z`.
pub fn write_time_secs(out: &mut Vec<u8>, ns: u64) {
    Line::new(out).time(ns, false);
}

/// `write_time()` as a string.
pub fn time_string(ns: u64) -> String {
    let mut v = Vec::with_capacity(30);
    write_time(&mut v, ns);
    String::from_utf8(v).expect("ASCII")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(ns: u64) -> String {
        time_string(ns)
    }

    #[test]
    fn known_times() {
        assert_eq!(t(0), "1970-01-01T00:00:00.000000000Z");
        assert_eq!(t(1), "1970-01-01T00:00:00.000000001Z");
        // date -u -d @1700000000
        assert_eq!(
            t(1_700_000_000_123_456_789),
            "2023-11-14T22:13:20.123456789Z"
        );
        // Leap days: 2000 (divisible by 400) and 2024; 2100 is not leap.
        assert_eq!(
            t(951_782_400 * 1_000_000_000),
            "2000-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            t(951_868_800 * 1_000_000_000),
            "2000-03-01T00:00:00.000000000Z"
        );
        assert_eq!(
            t(1_709_164_800 * 1_000_000_000),
            "2024-02-29T00:00:00.000000000Z"
        );
        assert_eq!(
            t(4_107_456_000 * 1_000_000_000),
            "2100-02-28T00:00:00.000000000Z"
        );
        assert_eq!(
            t(4_107_542_400 * 1_000_000_000),
            "2100-03-01T00:00:00.000000000Z"
        );
        assert_eq!(
            t(1_735_689_599_999_999_999),
            "2024-12-31T23:59:59.999999999Z"
        );
        assert_eq!(
            t(1_735_689_600 * 1_000_000_000),
            "2025-01-01T00:00:00.000000000Z"
        );
        assert_eq!(
            t(1_795_300_201_000_000_000),
            "2026-11-21T22:30:01.000000000Z"
        );
        // The largest u64: date -u -d @18446744073
        assert_eq!(t(u64::MAX), "2554-07-21T23:34:33.709551615Z");
        let mut v = Vec::new();
        write_time_secs(&mut v, 1_795_300_201_999_000_000);
        assert_eq!(v, b"2026-11-21T22:30:01Z");
    }

    #[test]
    fn days_agree_with_a_day_by_day_walk() {
        // Walk every day from 1970 to 2400 and compare with a naive count.
        let (mut y, mut m, mut d) = (1970u64, 1u32, 1u32);
        for days in 0..(430 * 366) {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
            let len = match m {
                2 if leap => 29,
                2 => 28,
                4 | 6 | 9 | 11 => 30,
                _ => 31,
            };
            d += 1;
            if d > len {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn items_in_both_formats() {
        let mut items = crate::record::Items::new();
        items
            .push_record(&crate::format::text::tests::sample().encode())
            .unwrap();
        items.push_dropped(3, 9, 1_000_000_000);
        let mut v = Vec::new();
        for it in items.iter() {
            Format::Text.item(&mut v, &it);
        }
        let text = String::from_utf8(v).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(lines[0].contains(" seq=42 "));
        assert_eq!(
            lines[1],
            "1970-01-01T00:00:01.000000000Z cpu=3 dropped=9 reason=ring_full"
        );
        let mut v = Vec::new();
        for it in items.iter() {
            Format::Json.item(&mut v, &it);
        }
        let objs: Vec<serde_json::Value> = v
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_slice(l).unwrap())
            .collect();
        assert_eq!(objs.len(), 2);
        assert_eq!(objs[0]["seq"], 42);
        assert_eq!(objs[1]["dropped"], 9);
        assert_eq!(objs[1]["reason"], "ring_full");
        assert_eq!(objs[1]["time_ns"], 1_000_000_000u64);
    }

    #[test]
    fn hex_and_ints() {
        let mut v = Vec::new();
        {
            let mut l = Line::new(&mut v);
            l.hex(0);
            l.byte(b' ');
            l.hex(0xffff_ff9c);
            l.byte(b' ');
            l.hex(u64::MAX);
            l.byte(b' ');
            l.i64(i64::MIN);
            l.byte(b' ');
            l.hex(0x10);
        }
        assert_eq!(
            v,
            b"0x0 0xffffff9c 0xffffffffffffffff -9223372036854775808 0x10".as_slice()
        );
        for n in [0, 1, 9, 10, 99, 100, 101, 12345, u64::MAX / 3, u64::MAX] {
            let mut v = Vec::new();
            Line::new(&mut v).u64(n);
            assert_eq!(v, n.to_string().as_bytes());
            let mut v = b"x".to_vec();
            Line::new(&mut v).hex(n);
            assert_eq!(v, format!("x{n:#x}").as_bytes());
        }
        for n in [0, -1, -10, i64::MAX, i64::MIN + 1] {
            let mut v = Vec::new();
            Line::new(&mut v).i64(n);
            assert_eq!(v, n.to_string().as_bytes());
        }
    }
}
