//! Reading one open `log` or `log.json`: the retention snapshot taken at
//! open, rendered lazily as reads come so that `cat` starts at once and a
//! large log never needs its whole text in memory.
//!
//! Sequential reads (what cat, grep, tail and less do) render forward;
//! already rendered bytes are kept up to a bound so re-reads of the
//! recent past are served from memory, and a read before that restarts
//! the rendering from the top (the snapshot does not change, so neither
//! does the text).

use crate::daemon::retention::Snapshot;
use crate::format::{Format, LostReason};

/// Entries rendered per step.
const STEP: usize = 512;
/// Rendered bytes kept behind the read position.
const KEEP_BEHIND: usize = 1 << 20;

/// See the module documentation.
pub struct LogReader {
    snap: Snapshot,
    format: Format,
    /// The `reason=evicted` lines at the top.
    head: Vec<u8>,
    chunk: usize,
    entry: usize,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    buf_start: u64,
    started: bool,
    done: bool,
}

impl LogReader {
    /// `now_ns` dates the eviction notice when nothing is retained.
    pub fn new(snap: Snapshot, format: Format, now_ns: u64) -> LogReader {
        let mut head = Vec::new();
        let first_time = snap.entries().next().map_or(now_ns, |e| e.time_ns);
        for (cpu, &n) in snap.evicted.0.iter().enumerate() {
            if n > 0 {
                format.lost(&mut head, first_time, cpu as u32, n, LostReason::Evicted);
            }
        }
        LogReader {
            snap,
            format,
            head,
            chunk: 0,
            entry: 0,
            buf: Vec::new(),
            buf_start: 0,
            started: false,
            done: false,
        }
    }

    fn restart(&mut self) {
        self.chunk = 0;
        self.entry = 0;
        self.buf.clear();
        self.buf_start = 0;
        self.started = false;
        self.done = false;
    }

    fn step(&mut self) {
        if !self.started {
            self.buf.extend_from_slice(&self.head);
            self.started = true;
            return;
        }
        let mut n = 0;
        while n < STEP {
            let Some(c) = self.snap.chunks.get(self.chunk) else {
                self.done = true;
                return;
            };
            if self.entry >= c.entries.len() {
                self.chunk += 1;
                self.entry = 0;
                continue;
            }
            let e = &c.entries[self.entry];
            e.render(self.format, &mut self.buf);
            self.entry += 1;
            n += 1;
        }
    }

    /// The bytes at `[offset, offset + size)`; short or empty at the end.
    pub fn read(&mut self, offset: u64, size: usize) -> Vec<u8> {
        if offset < self.buf_start {
            self.restart();
        }
        let want = offset.saturating_add(size as u64);
        while self.buf_start + (self.buf.len() as u64) < want && !self.done {
            self.step();
        }
        let end_of_buf = self.buf_start + self.buf.len() as u64;
        if offset >= end_of_buf {
            return Vec::new();
        }
        let rel = (offset - self.buf_start) as usize;
        let out = self.buf[rel..(rel + size).min(self.buf.len())].to_vec();
        if rel > KEEP_BEHIND {
            let cut = rel - KEEP_BEHIND / 2;
            self.buf.drain(..cut);
            self.buf_start += cut as u64;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::retention::{Entry, Retention};
    use crate::record::{Abi, Item, Record};

    fn rec(seq: u64) -> Entry {
        Entry::new(
            Item::Record(Record {
                cpu: (seq % 2) as u32,
                seq,
                time_ns: 1_795_300_201_000_000_000 + seq,
                abi: Abi::X86_64,
                nr: 257,
                flags: 0,
                pid: 1,
                tid: 1,
                ppid: 0,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                loginuid: u32::MAX,
                comm: b"t".to_vec(),
                args: [0; 6],
                ret: 3,
                paths: [None, None],
            }),
            0,
        )
    }

    fn read_all(r: &mut LogReader, size: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let d = r.read(out.len() as u64, size);
            if d.is_empty() {
                return out;
            }
            out.extend_from_slice(&d);
        }
    }

    #[test]
    fn renders_every_entry_in_order_at_any_read_size() {
        let mut ret = Retention::new(1 << 30);
        ret.push((0..3000).map(rec));
        let snap = ret.snapshot();
        let mut whole = LogReader::new(snap.clone(), Format::Text, 0);
        let a = read_all(&mut whole, 1 << 20);
        let text = String::from_utf8(a.clone()).unwrap();
        assert_eq!(text.lines().count(), 3000);
        for (i, l) in text.lines().enumerate() {
            assert!(l.contains(&format!(" seq={i} ")), "{l}");
        }
        let mut small = LogReader::new(snap.clone(), Format::Text, 0);
        assert_eq!(read_all(&mut small, 7), a);
        // A read from the start again (re-read) gives the same bytes.
        assert_eq!(small.read(0, 100), a[..100].to_vec());
        let mut json = LogReader::new(snap, Format::Json, 0);
        let j = read_all(&mut json, 4096);
        for l in String::from_utf8(j).unwrap().lines() {
            serde_json::from_str::<serde_json::Value>(l).unwrap();
        }
    }

    #[test]
    fn evicted_records_show_at_the_top() {
        let cost = {
            let mut r = Retention::new(usize::MAX);
            r.push([rec(0)]);
            r.bytes()
        };
        let mut ret = Retention::new(300 * cost);
        ret.push((0..1000).map(rec));
        let snap = ret.snapshot();
        let oldest = ret.oldest();
        let mut r = LogReader::new(snap, Format::Text, 0);
        let text = String::from_utf8(read_all(&mut r, 65536)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains(" cpu=0 lost=") && lines[0].ends_with(" reason=evicted"));
        assert!(lines[1].contains(" cpu=1 lost=") && lines[1].ends_with(" reason=evicted"));
        let lost: u64 = lines[..2]
            .iter()
            .map(|l| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix("lost="))
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(lost, oldest);
        assert_eq!(lines.len() as u64, 2 + 1000 - oldest);
        assert!(lines[2].contains(&format!(" seq={oldest} ")));
    }

    #[test]
    fn empty_log_reads_empty() {
        let mut ret = Retention::new(1 << 20);
        let mut r = LogReader::new(ret.snapshot(), Format::Text, 0);
        assert!(r.read(0, 4096).is_empty());
        assert!(r.read(4096, 4096).is_empty());
    }
}
