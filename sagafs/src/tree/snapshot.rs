//! Reading one open `log` or `log.json`: the retention snapshot taken at
//! open, rendered lazily as reads come so that `cat` starts at once and a
//! large log never needs its whole text in memory.
//!
//! Sequential reads (what cat, grep, tail and less do) render forward;
//! already rendered bytes are kept up to a bound so re-reads of the
//! recent past are served from memory, and a read before that restarts
//! the rendering from the top (the snapshot does not change, so neither
//! does the text).

use std::collections::VecDeque;
use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread;

use crate::daemon::retention::{Chunk, Snapshot};
use crate::format::{DropReason, Format};

/// Rendered bytes kept behind the read position.
const KEEP_BEHIND: usize = 1 << 20;
/// Chunks rendered on the reading thread before rendering moves to
/// threads of its own: a short read (`head`) never starts them.
const INLINE_CHUNKS: usize = 4;
/// Chunks per block a render thread renders and hands over at once.
const AHEAD_CHUNKS: usize = 8;
/// Render threads per reader, taking blocks in turn.
const AHEAD_THREADS: usize = 2;
/// Finished blocks each render thread may hold ahead of the reader.
const AHEAD_DEPTH: usize = 2;

/// Renders every entry of `chunks` to `out`.
fn render_chunks(chunks: &[Arc<Chunk>], format: Format, out: &mut Vec<u8>) {
    for c in chunks {
        for e in c.items.iter() {
            format.item(out, &e);
        }
    }
}

/// Blocks of [`AHEAD_CHUNKS`] chunks rendered by [`AHEAD_THREADS`]
/// threads, block `i` by thread `i % AHEAD_THREADS`, so that rendering
/// runs on other cores while the reading thread hands bytes to the
/// kernel. The threads end when their blocks are done or when this is
/// dropped (a send to a dropped receiver fails).
struct Ahead {
    rx: Vec<Receiver<Vec<u8>>>,
    turn: usize,
}

impl Ahead {
    /// Starts rendering `chunks`; `None` if no thread could be started.
    fn start(chunks: &[Arc<Chunk>], format: Format) -> Option<Ahead> {
        let mut rx = Vec::with_capacity(AHEAD_THREADS);
        for t in 0..AHEAD_THREADS {
            let (tx, r) = sync_channel::<Vec<u8>>(AHEAD_DEPTH);
            let chunks = chunks.to_vec();
            let spawned = thread::Builder::new()
                .name("sagafs-render".into())
                .spawn(move || {
                    let blocks = chunks.chunks(AHEAD_CHUNKS);
                    // Sized after the last block, so that it rarely grows.
                    let mut last = 0;
                    for block in blocks.skip(t).step_by(AHEAD_THREADS) {
                        let mut out = Vec::with_capacity(last + last / 8);
                        render_chunks(block, format, &mut out);
                        last = out.len();
                        if tx.send(out).is_err() {
                            return;
                        }
                    }
                });
            if let Err(e) = spawned {
                log::warn!("cannot start a render thread ({e}): rendering in place");
                return None;
            }
            rx.push(r);
        }
        Some(Ahead { rx, turn: 0 })
    }

    /// The next block in order; `None` after the last.
    fn next(&mut self) -> Option<Vec<u8>> {
        let block = self.rx[self.turn].recv().ok();
        self.turn = (self.turn + 1) % self.rx.len();
        block
    }
}

/// See the module documentation.
pub struct LogReader {
    snap: Snapshot,
    format: Format,
    /// The `reason=evicted` lines at the top.
    head: Vec<u8>,
    /// The next chunk to render on this thread (before `ahead` starts).
    chunk: usize,
    ahead: Option<Ahead>,
    /// Rendering ahead could not start: stay on this thread.
    inline_only: bool,
    /// Rendered text not yet dropped, in order, none empty.
    blocks: VecDeque<Vec<u8>>,
    /// File offset of `blocks[0][0]`.
    blocks_start: u64,
    /// File offset one past the last rendered byte.
    blocks_end: u64,
    started: bool,
    done: bool,
}

impl LogReader {
    /// `now_ns` dates the eviction notice when nothing is retained.
    pub fn new(snap: Snapshot, format: Format, now_ns: u64) -> LogReader {
        let mut head = Vec::new();
        let first_time = snap.entries().next().map_or(now_ns, |e| e.time_ns());
        for (cpu, &n) in snap.evicted.0.iter().enumerate() {
            if n > 0 {
                format.dropped(&mut head, first_time, cpu as u32, n, DropReason::Evicted);
            }
        }
        LogReader {
            snap,
            format,
            head,
            chunk: 0,
            ahead: None,
            inline_only: false,
            blocks: VecDeque::new(),
            blocks_start: 0,
            blocks_end: 0,
            started: false,
            done: false,
        }
    }

    fn restart(&mut self) {
        self.chunk = 0;
        self.ahead = None;
        self.blocks.clear();
        self.blocks_start = 0;
        self.blocks_end = 0;
        self.started = false;
        self.done = false;
    }

    fn push(&mut self, block: Vec<u8>) {
        if !block.is_empty() {
            self.blocks_end += block.len() as u64;
            self.blocks.push_back(block);
        }
    }

    /// Renders the next piece of the log (or finds that there is none).
    fn step(&mut self) {
        if !self.started {
            self.started = true;
            let head = self.head.clone();
            self.push(head);
            return;
        }
        if let Some(a) = &mut self.ahead {
            match a.next() {
                Some(block) => self.push(block),
                None => self.done = true,
            }
            return;
        }
        let rest = self.snap.chunks.len() - self.chunk;
        if rest == 0 {
            self.done = true;
            return;
        }
        if self.chunk >= INLINE_CHUNKS && rest > AHEAD_CHUNKS && !self.inline_only {
            self.ahead = Ahead::start(&self.snap.chunks[self.chunk..], self.format);
            self.inline_only = self.ahead.is_none();
            if self.ahead.is_some() {
                self.chunk = self.snap.chunks.len();
                return;
            }
        }
        let mut out = Vec::new();
        render_chunks(
            &self.snap.chunks[self.chunk..self.chunk + 1],
            self.format,
            &mut out,
        );
        self.chunk += 1;
        self.push(out);
    }

    /// The bytes at `[offset, offset + size)`; short or empty at the end.
    pub fn read(&mut self, offset: u64, size: usize) -> Vec<u8> {
        if offset < self.blocks_start {
            self.restart();
        }
        let want = offset.saturating_add(size as u64);
        while self.blocks_end < want && !self.done {
            self.step();
        }
        if offset >= self.blocks_end {
            return Vec::new();
        }
        let end = want.min(self.blocks_end);
        let mut out = Vec::with_capacity((end - offset) as usize);
        let mut at = self.blocks_start;
        for b in &self.blocks {
            let b_end = at + b.len() as u64;
            if b_end > offset {
                let from = offset.max(at) - at;
                let to = end.min(b_end) - at;
                out.extend_from_slice(&b[from as usize..to as usize]);
            }
            if b_end >= end {
                break;
            }
            at = b_end;
        }
        // Drop blocks that lie wholly more than KEEP_BEHIND behind.
        while let Some(b) = self.blocks.front() {
            let b_end = self.blocks_start + b.len() as u64;
            if b_end.saturating_add(KEEP_BEHIND as u64) > offset {
                break;
            }
            self.blocks_start = b_end;
            self.blocks.pop_front();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::retention::Retention;
    use crate::record::{Builder, Items};

    fn recs(seqs: impl IntoIterator<Item = u64>) -> Items {
        Items::of(
            seqs.into_iter().map(|seq| {
                Builder::numbered((seq % 2) as u32, seq, 1_795_300_201_000_000_000 + seq)
            }),
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
        ret.push(&recs(0..3000));
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
    fn rendering_ahead_gives_the_same_bytes() {
        let mut ret = Retention::new(1 << 30);
        let n = 256 * (INLINE_CHUNKS + 3 * AHEAD_CHUNKS + 1) as u64 + 77;
        ret.push(&recs(0..n));
        let snap = ret.snapshot();
        for format in [Format::Text, Format::Json] {
            let mut expect = Vec::new();
            for e in snap.entries() {
                format.item(&mut expect, &e);
            }
            for size in [4096, 100_000, 3 << 20] {
                let mut r = LogReader::new(snap.clone(), format, 0);
                assert_eq!(read_all(&mut r, size), expect, "{format:?} {size}");
                assert!(r.ahead.is_some(), "rendering ahead did not start");
                // Back to the top after the end, then a jump into the middle.
                assert_eq!(r.read(0, 1000), expect[..1000].to_vec());
                let mid = expect.len() as u64 / 2;
                assert_eq!(r.read(mid, 5000), expect[mid as usize..][..5000].to_vec());
            }
            // A reader dropped halfway ends its render threads (a send to a
            // dropped receiver fails) without blocking the drop.
            let mut r = LogReader::new(snap.clone(), format, 0);
            assert!(!r.read(0, 4 << 20).is_empty());
            drop(r);
        }
    }

    #[test]
    fn evicted_records_show_at_the_top() {
        let cost = {
            let mut r = Retention::new(usize::MAX);
            r.push(&recs([0]));
            r.bytes()
        };
        let mut ret = Retention::new(300 * cost);
        ret.push(&recs(0..1000));
        let snap = ret.snapshot();
        let oldest = ret.oldest();
        let mut r = LogReader::new(snap, Format::Text, 0);
        let text = String::from_utf8(read_all(&mut r, 65536)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains(" cpu=0 dropped=") && lines[0].ends_with(" reason=evicted"));
        assert!(lines[1].contains(" cpu=1 dropped=") && lines[1].ends_with(" reason=evicted"));
        let dropped: u64 = lines[..2]
            .iter()
            .map(|l| {
                l.split(' ')
                    .find_map(|f| f.strip_prefix("dropped="))
                    .unwrap()
                    .parse::<u64>()
                    .unwrap()
            })
            .sum();
        assert_eq!(dropped, oldest);
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
