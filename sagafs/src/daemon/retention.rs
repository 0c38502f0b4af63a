//! Retention: the bounded buffer of the most recent log entries that
//! `log`, `log.json` and `pipe` are served from.
//!
//! Every entry gets a global, monotonically increasing index.  Entries are
//! kept in chunks shared by `Arc`, so a snapshot (what one `open` of `log`
//! sees) costs one reference per chunk and stays valid while the collector
//! keeps appending and evicting.  A chunk holds its entries as one
//! [`Items`] buffer: records exactly as the kernel wrote them (what the
//! ring consumer validated), copied in with one copy each and no
//! allocation of their own, so the memory `retain` accounts for is the
//! memory they take; the oldest chunks are evicted once the total exceeds
//! the limit.
//!
//! Nothing is lost silently:
//! - entries evicted before any reader saw them are counted per CPU
//!   ([`Retention::evicted`]); `log` shows them as `reason=evicted` lines;
//! - every chunk knows how many records each CPU had before it
//!   (`cum_before`), so a stream reader whose cursor fell behind the
//!   oldest chunk learns exactly how many records per CPU it missed.

use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;

use crate::record::{ItemRef, Items, Slot};

/// Entries per chunk: a snapshot clones at most this many from the chunk
/// that is still being filled.
const CHUNK_ENTRIES: usize = 256;
/// Record bytes a new chunk has room for before it grows.
const CHUNK_BYTES: usize = 64 << 10;
/// Accounted size of a drop entry.
const DROPPED_COST: usize = 32;

/// The memory item `i` of `items` is accounted for.
fn cost(items: &Items, i: usize) -> usize {
    match items.slot(i) {
        Slot::Record { len, .. } => len as usize,
        Slot::Dropped { .. } => DROPPED_COST,
    }
}

/// Per-CPU record counts, indexed by CPU, grown on demand.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PerCpu(pub Vec<u64>);

impl PerCpu {
    pub fn add(&mut self, cpu: u32, n: u64) {
        let i = cpu as usize;
        if self.0.len() <= i {
            self.0.resize(i + 1, 0);
        }
        self.0[i] += n;
    }

    pub fn get(&self, cpu: usize) -> u64 {
        self.0.get(cpu).copied().unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// `(cpu, self - earlier)` for every CPU where it is non-zero.
    pub fn minus(&self, earlier: &PerCpu) -> Vec<(u32, u64)> {
        (0..self.0.len())
            .filter_map(|c| {
                let d = self.get(c).saturating_sub(earlier.get(c));
                (d > 0).then_some((c as u32, d))
            })
            .collect()
    }
}

/// A run of consecutive entries.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Index of the first entry.
    pub first: u64,
    /// Records per CPU in all entries before this chunk.
    pub cum_before: PerCpu,
    pub items: Items,
    /// Bytes accounted for the entries.
    cost: usize,
}

impl Chunk {
    /// Index one past the last entry.
    pub fn end(&self) -> u64 {
        self.first + self.items.len() as u64
    }
}

/// What one `open` of `log` sees: the retained entries at that moment.
#[derive(Clone, Debug, Default)]
pub struct Snapshot {
    pub chunks: Vec<Arc<Chunk>>,
    /// Records evicted before anyone read them, per CPU, up to now.
    pub evicted: PerCpu,
    /// Index one past the last entry.
    pub end: u64,
}

impl Snapshot {
    pub fn entries(&self) -> impl Iterator<Item = ItemRef<'_>> {
        self.chunks.iter().flat_map(|c| c.items.iter())
    }

    pub fn len(&self) -> usize {
        self.chunks.iter().map(|c| c.items.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Where a stream reader is: the next index it wants and how many records
/// per CPU came before it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cursor {
    pub index: u64,
    pub cum: PerCpu,
}

/// The result of reading from a cursor: the entries are ranges of
/// chunks, read (rendered) after the retention lock is released.
#[derive(Debug, Default)]
pub struct Batch {
    /// Records per CPU that were evicted before this reader got them.
    pub missed: Vec<(u32, u64)>,
    pieces: Vec<(Arc<Chunk>, Range<usize>)>,
}

impl Batch {
    /// The entries, in order.
    pub fn entries(&self) -> impl Iterator<Item = ItemRef<'_>> {
        self.pieces
            .iter()
            .flat_map(|(c, r)| c.items.range(r.clone()))
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.pieces.iter().map(|(_, r)| r.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The bounded buffer itself.  Not synchronised: the daemon wraps it in
/// a lock.
#[derive(Debug)]
pub struct Retention {
    chunks: VecDeque<Arc<Chunk>>,
    limit: usize,
    bytes: usize,
    next: u64,
    /// Records per CPU in every entry ever pushed.
    cum: PerCpu,
    /// Entries below this index have been seen by some reader.
    read_mark: u64,
    evicted: PerCpu,
    evicted_entries: u64,
    /// The memory of an evicted chunk nobody else held, for the next one:
    /// no allocation, no fresh pages, as retention turns over.
    spare: Option<Items>,
}

impl Retention {
    pub fn new(limit: usize) -> Retention {
        Retention {
            chunks: VecDeque::new(),
            limit,
            bytes: 0,
            next: 0,
            cum: PerCpu::default(),
            read_mark: 0,
            evicted: PerCpu::default(),
            evicted_entries: 0,
            spare: None,
        }
    }

    /// Bytes accounted now.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn limit(&self) -> usize {
        self.limit
    }

    /// Changes the limit, evicting at once if needed.
    pub fn set_limit(&mut self, limit: usize) {
        self.limit = limit;
        self.evict();
    }

    /// Index of the oldest retained entry (== `next()` when empty).
    pub fn oldest(&self) -> u64 {
        self.chunks.front().map_or(self.next, |c| c.first)
    }

    /// Index the next entry will take.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Entries retained.
    pub fn len(&self) -> u64 {
        self.next - self.oldest()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Records per CPU evicted before any reader saw them.
    pub fn evicted(&self) -> &PerCpu {
        &self.evicted
    }

    /// Entries evicted in all (read or not).
    pub fn evicted_entries(&self) -> u64 {
        self.evicted_entries
    }

    /// A cursor at the current end: a stream opened now.
    pub fn cursor_at_end(&self) -> Cursor {
        Cursor {
            index: self.next,
            cum: self.cum.clone(),
        }
    }

    /// Appends a copy of every item of `items` and evicts the oldest
    /// chunks beyond the limit.
    pub fn push(&mut self, items: &Items) {
        let mut i = 0;
        while i < items.len() {
            let full = self
                .chunks
                .back()
                .map_or(true, |c| c.items.len() >= CHUNK_ENTRIES);
            if full {
                let items = match self.spare.take() {
                    Some(mut spare) => {
                        spare.clear();
                        spare
                    }
                    None => Items::with_capacity(CHUNK_ENTRIES, CHUNK_BYTES),
                };
                self.chunks.push_back(Arc::new(Chunk {
                    first: self.next,
                    cum_before: self.cum.clone(),
                    items,
                    cost: 0,
                }));
            }
            let last = self.chunks.back_mut().expect("a chunk was just ensured");
            // Clones the chunk only if a snapshot or a reader holds it.
            let chunk = Arc::make_mut(last);
            let take = (CHUNK_ENTRIES - chunk.items.len()).min(items.len() - i);
            for k in i..i + take {
                let c = cost(items, k);
                let (cpu, n) = items.weight(k);
                self.cum.add(cpu, n);
                chunk.items.push_from(items, k);
                chunk.cost += c;
                self.bytes += c;
            }
            self.next += take as u64;
            i += take;
        }
        self.evict();
    }

    fn evict(&mut self) {
        // Never evict the chunk being filled: a limit below one chunk
        // still keeps the newest entries.
        while self.bytes > self.limit && self.chunks.len() > 1 {
            let c = self.chunks.pop_front().expect("len > 1");
            self.bytes -= c.cost;
            self.evicted_entries += c.items.len() as u64;
            if c.end() > self.read_mark {
                let skip = self.read_mark.saturating_sub(c.first) as usize;
                for k in skip..c.items.len() {
                    let (cpu, n) = c.items.weight(k);
                    self.evicted.add(cpu, n);
                }
                self.read_mark = c.end();
            }
            if let Ok(c) = Arc::try_unwrap(c) {
                self.spare = Some(c.items);
            }
        }
        if self.bytes > self.limit && self.chunks.len() == 1 {
            self.trim_last();
        }
    }

    /// One chunk bigger than the limit (a tiny limit): drops its oldest
    /// entries, keeping at least the newest.
    fn trim_last(&mut self) {
        let last = self.chunks.back_mut().expect("len == 1");
        let chunk = Arc::make_mut(last);
        let mut drop_n = 0;
        let mut freed = 0;
        while chunk.cost - freed > self.limit && drop_n + 1 < chunk.items.len() {
            freed += cost(&chunk.items, drop_n);
            drop_n += 1;
        }
        if drop_n == 0 {
            return;
        }
        for k in 0..drop_n {
            let (cpu, n) = chunk.items.weight(k);
            chunk.cum_before.add(cpu, n);
            if chunk.first + k as u64 >= self.read_mark {
                self.evicted.add(cpu, n);
            }
        }
        chunk.items.drain_front(drop_n);
        chunk.first += drop_n as u64;
        chunk.cost -= freed;
        self.bytes -= freed;
        self.evicted_entries += drop_n as u64;
        self.read_mark = self.read_mark.max(chunk.first);
    }

    /// Everything retained, for one `open` of `log`; counts as read.
    pub fn snapshot(&mut self) -> Snapshot {
        self.read_mark = self.next;
        Snapshot {
            chunks: self.chunks.iter().cloned().collect(),
            evicted: self.evicted.clone(),
            end: self.next,
        }
    }

    /// Whether a reader at `cursor` has something to read (entries or a
    /// gap notice).
    pub fn has_data(&self, cursor: &Cursor) -> bool {
        cursor.index < self.next
    }

    /// Up to `max` entries from `cursor`, advancing it.  A cursor below
    /// the oldest entry first jumps forward, and `missed` says how many
    /// records per CPU it lost.
    pub fn read_from(&mut self, cursor: &mut Cursor, max: usize) -> Batch {
        let mut batch = Batch::default();
        let oldest = self.oldest();
        if cursor.index < oldest {
            let front_cum = self
                .chunks
                .front()
                .map_or_else(|| self.cum.clone(), |c| c.cum_before.clone());
            batch.missed = front_cum.minus(&cursor.cum);
            cursor.index = oldest;
            cursor.cum = front_cum;
        }
        // Find the chunk holding cursor.index (chunks are contiguous).
        let pos = self.chunks.partition_point(|c| c.end() <= cursor.index);
        let mut left = max;
        for c in self.chunks.iter().skip(pos) {
            if left == 0 {
                break;
            }
            let start = (cursor.index - c.first) as usize;
            let take = left.min(c.items.len() - start);
            for k in start..start + take {
                let (cpu, n) = c.items.weight(k);
                cursor.cum.add(cpu, n);
            }
            batch.pieces.push((c.clone(), start..start + take));
            cursor.index += take as u64;
            left -= take;
        }
        self.read_mark = self.read_mark.max(cursor.index);
        batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Builder;

    fn rec(cpu: u32, seq: u64) -> Builder {
        Builder::numbered(cpu, seq, 1_000 + seq)
    }

    fn items(rs: impl IntoIterator<Item = Builder>) -> Items {
        Items::of(rs)
    }

    fn cost() -> usize {
        rec(0, 0).encoded_len()
    }

    /// (cpu, seq) of a record entry.
    fn id(e: ItemRef) -> (u32, u64) {
        match e {
            ItemRef::Record(r) => (r.cpu, r.seq),
            ItemRef::Dropped { .. } => panic!("a drop where a record was expected"),
        }
    }

    #[test]
    fn keeps_everything_under_the_limit() {
        let mut r = Retention::new(1 << 20);
        r.push(&items((0..1000).map(|i| rec(0, i))));
        assert_eq!(r.len(), 1000);
        assert_eq!(r.bytes(), 1000 * cost());
        let s = r.snapshot();
        let seqs: Vec<u64> = s.entries().map(|e| id(e).1).collect();
        assert_eq!(seqs, (0..1000).collect::<Vec<_>>());
        assert_eq!(r.evicted().total(), 0);
    }

    #[test]
    fn evicts_oldest_and_counts_unread() {
        let limit = 600 * cost();
        let mut r = Retention::new(limit);
        r.push(&items((0..1000).map(|i| rec(i as u32 % 2, i))));
        assert!(r.bytes() <= limit, "{} > {}", r.bytes(), limit);
        // Whole chunks of 256 go: 1000 - 512 = 488 remain.
        assert_eq!(r.oldest(), 512);
        assert_eq!(r.evicted().total(), 512);
        assert_eq!(r.evicted().get(0), 256);
        assert_eq!(r.evicted().get(1), 256);
        // After a snapshot, evictions of what it saw are not "unread".
        let s = r.snapshot();
        assert_eq!(s.len(), 488);
        assert_eq!(s.evicted.total(), 512);
        r.push(&items((1000..1300).map(|i| rec(0, i))));
        assert_eq!(r.evicted().total(), 512);
        assert_eq!(r.evicted_entries(), 768);
        // The snapshot still holds its entries.
        assert_eq!(s.len(), 488);
    }

    #[test]
    fn snapshot_is_stable_while_appending() {
        let mut r = Retention::new(1 << 20);
        r.push(&items((0..10).map(|i| rec(0, i))));
        let s = r.snapshot();
        r.push(&items((10..20).map(|i| rec(0, i))));
        assert_eq!(s.len(), 10);
        assert_eq!(s.end, 10);
        assert_eq!(r.snapshot().len(), 20);
    }

    #[test]
    fn stream_cursor_reads_in_order_and_in_batches() {
        let mut r = Retention::new(1 << 20);
        r.push(&items((0..5).map(|i| rec(0, i))));
        let mut c = r.cursor_at_end();
        assert!(!r.has_data(&c));
        r.push(&items((5..305).map(|i| rec(0, i))));
        assert!(r.has_data(&c));
        let b = r.read_from(&mut c, 100);
        assert!(b.missed.is_empty());
        assert_eq!(b.len(), 100);
        assert_eq!(b.entries().next().map(id), Some((0, 5)));
        let b = r.read_from(&mut c, 1000);
        assert_eq!(b.len(), 200);
        assert_eq!(b.entries().nth(199).map(id), Some((0, 304)));
        assert!(!r.has_data(&c));
        assert!(r.read_from(&mut c, 10).is_empty());
    }

    #[test]
    fn reader_behind_learns_exact_missed_counts() {
        let limit = 300 * cost();
        let mut r = Retention::new(limit);
        let mut c = r.cursor_at_end();
        r.push(&items((0..100).map(|i| rec(0, i))));
        let b = r.read_from(&mut c, 10);
        assert_eq!(b.len(), 10);
        // Flood: 3 CPUs, the slow reader is at index 10.
        r.push(&items((100..1100).map(|i| rec((i % 3) as u32, i))));
        let oldest = r.oldest();
        assert!(oldest > 10);
        let b = r.read_from(&mut c, usize::MAX);
        let missed: u64 = b.missed.iter().map(|(_, n)| n).sum();
        assert_eq!(missed, oldest - 10);
        assert_eq!(missed + b.len() as u64 + 10, 1100);
        // Per CPU: what was missed plus what was read equals what was pushed.
        for cpu in 0..3u32 {
            let m = b.missed.iter().find(|(c, _)| *c == cpu).map_or(0, |x| x.1);
            let read = b.entries().filter(|e| e.cpu() == cpu).count() as u64;
            let first10 = if cpu == 0 { 10 } else { 0 };
            let pushed = if cpu == 0 { 100 } else { 0 }
                + (100..1100u64).filter(|i| i % 3 == cpu as u64).count() as u64;
            assert_eq!(m + read + first10, pushed, "cpu {cpu}");
        }
    }

    #[test]
    fn dropped_items_count_their_records() {
        let mut r = Retention::new(1 << 20);
        let mut c = r.cursor_at_end();
        let mut it = Items::new();
        it.push_dropped(2, 17, 99);
        it.push_from(&items([rec(2, 20)]), 0);
        r.push(&it);
        let b = r.read_from(&mut c, 10);
        assert_eq!(b.entries().next().map(|e| e.time_ns()), Some(99));
        assert_eq!(c.cum.get(2), 18);
    }

    #[test]
    fn shrinking_the_limit_evicts_now_and_a_tiny_limit_keeps_the_newest() {
        let mut r = Retention::new(1 << 20);
        r.push(&items((0..600).map(|i| rec(0, i))));
        r.set_limit(10 * cost());
        assert!(r.bytes() <= 10 * cost());
        assert_eq!(r.next(), 600);
        assert_eq!(r.oldest(), 590);
        assert_eq!(r.evicted().total(), 590);
        let s = r.snapshot();
        assert_eq!(s.entries().next().map(id), Some((0, 590)));
        assert_eq!(s.entries().map(id).last(), Some((0, 599)));
    }
}
