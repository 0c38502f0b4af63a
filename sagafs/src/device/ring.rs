//! The ring consumer: walks every per-CPU ring of a mapping laid out as
//! the header describes (the real device's or the double's), validates
//! each record, reports losses where they happen, and merges the per-CPU
//! batches of one drain in time order.
//!
//! Protocol (see `kmod/include/uapi/sagafs.h`): per CPU, load-acquire
//! `next_seq`, then `head`; read the records in `[tail, head)`; store-release
//! the new `tail`. Nothing the ring holds is trusted: a size that is not a
//! multiple of 8, smaller than a header, past the end of the data area or
//! past `head`, a record that fails to decode or claims another CPU or an
//! older seq, and a `head` more than a ring ahead of `tail` (or behind it)
//! all make the consumer resynchronise at `head` and report what it skipped
//! as `Item::Lost`. Reads never leave the ring's bytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem::{offset_of, size_of};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use super::abi::{self, sagafs_ring_ctrl};
use crate::record::{self, Item};

/// Raw view of the two mmap regions. Only this type dereferences them.
pub(crate) struct RingMem {
    ctrl: *mut u8,
    ctrl_stride: usize,
    data: *const u8,
    ring_size: usize,
    nr_cpus: usize,
}

// SAFETY: RingMem is a pair of pointers into shared mappings; every access
// goes through atomics (control words) or byte copies of the data area,
// both valid from any thread. The owner keeps the mappings alive.
unsafe impl Send for RingMem {}

impl RingMem {
    /// # Safety
    /// `ctrl` must be valid for reads and writes of `nr_cpus * ctrl_stride`
    /// bytes, 8-aligned, `ctrl_stride >= size_of::<sagafs_ring_ctrl>()` and
    /// a multiple of 8; `data` valid for reads of `nr_cpus * ring_size`
    /// bytes; both for the whole life of the returned value.
    pub(crate) unsafe fn new(
        ctrl: *mut u8,
        ctrl_stride: usize,
        data: *const u8,
        ring_size: usize,
        nr_cpus: usize,
    ) -> Self {
        debug_assert!(ring_size.is_power_of_two());
        debug_assert!(ctrl_stride >= size_of::<sagafs_ring_ctrl>());
        debug_assert_eq!(ctrl as usize % 8, 0);
        RingMem {
            ctrl,
            ctrl_stride,
            data,
            ring_size,
            nr_cpus,
        }
    }

    fn word(&self, cpu: usize, offset: usize) -> &AtomicU64 {
        assert!(cpu < self.nr_cpus && offset + 8 <= size_of::<sagafs_ring_ctrl>());
        // SAFETY: cpu and offset are in bounds (asserted above and by the
        // contract of `new`), the address is 8-aligned (aligned base,
        // stride and field offsets), and the mapping outlives `self`.
        unsafe { AtomicU64::from_ptr(self.ctrl.add(cpu * self.ctrl_stride + offset).cast()) }
    }

    pub(crate) fn head(&self, cpu: usize) -> u64 {
        self.word(cpu, offset_of!(sagafs_ring_ctrl, head))
            .load(Ordering::Acquire)
    }

    pub(crate) fn next_seq(&self, cpu: usize) -> u64 {
        self.word(cpu, offset_of!(sagafs_ring_ctrl, next_seq))
            .load(Ordering::Acquire)
    }

    pub(crate) fn tail(&self, cpu: usize) -> u64 {
        self.word(cpu, offset_of!(sagafs_ring_ctrl, tail))
            .load(Ordering::Acquire)
    }

    pub(crate) fn set_tail(&self, cpu: usize, tail: u64) {
        self.word(cpu, offset_of!(sagafs_ring_ctrl, tail))
            .store(tail, Ordering::Release)
    }

    /// Copies `len` bytes at `off` of CPU `cpu`'s data area into `out`.
    fn copy(&self, cpu: usize, off: usize, len: usize, out: &mut Vec<u8>) {
        assert!(cpu < self.nr_cpus && off <= self.ring_size && len <= self.ring_size - off);
        out.clear();
        out.reserve(len);
        // SAFETY: the source lies inside CPU `cpu`'s data area (asserted),
        // which the mapping keeps valid; `out` has room for `len` bytes,
        // which are initialised by the copy before `set_len`.
        unsafe {
            ptr::copy_nonoverlapping(
                self.data.add(cpu * self.ring_size + off),
                out.as_mut_ptr(),
                len,
            );
            out.set_len(len);
        }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct CpuState {
    /// Our consumer position (free running).
    tail: u64,
    /// The seq the next record must carry; `None` until known.
    expected: Option<u64>,
}

/// The consumer's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConsumerStats {
    /// Times a ring was resynchronised because its content or head made
    /// no sense.
    pub resyncs: u64,
    /// Records reported lost (sum of `Item::Lost` counts).
    pub lost: u64,
    /// Records delivered.
    pub records: u64,
}

/// The protocol walker over a `RingMem`.
pub(crate) struct RingConsumer {
    mem: RingMem,
    cpus: Vec<CpuState>,
    batches: Vec<Vec<Item>>,
    keys: Vec<Vec<u64>>,
    /// (next_seq, head) of every ring, read together before any is drained.
    marks: Vec<(u64, u64)>,
    scratch: Vec<u8>,
    stats: ConsumerStats,
}

enum Step {
    Advance(usize, Option<Item>),
    Corrupt(&'static str),
}

impl RingConsumer {
    pub(crate) fn new(mem: RingMem) -> Self {
        let n = mem.nr_cpus;
        let cpus = (0..n)
            .map(|cpu| {
                let next = mem.next_seq(cpu);
                let head = mem.head(cpu);
                let tail = mem.tail(cpu);
                // An empty ring: whatever happened before belongs to the
                // history the kernel's counters keep. A ring with unread
                // records: the first one read sets the expectation.
                let expected = (head == tail).then_some(next);
                CpuState { tail, expected }
            })
            .collect();
        RingConsumer {
            mem,
            cpus,
            batches: vec![Vec::new(); n],
            keys: vec![Vec::new(); n],
            marks: vec![(0, 0); n],
            scratch: Vec::new(),
            stats: ConsumerStats::default(),
        }
    }

    pub(crate) fn nr_cpus(&self) -> usize {
        self.mem.nr_cpus
    }

    pub(crate) fn stats(&self) -> ConsumerStats {
        self.stats
    }

    /// Reads one record at `tail`; `left` bytes are published.
    fn step(&mut self, cpu: usize, tail: u64, left: u64) -> Step {
        let hdr = size_of::<abi::sagafs_record>();
        let off = (tail as usize) & (self.mem.ring_size - 1);
        let room = self.mem.ring_size - off;
        if left < abi::RECORD_ALIGN as u64 || off % abi::RECORD_ALIGN != 0 {
            return Step::Corrupt("misaligned or partial record");
        }
        self.mem
            .copy(cpu, off, abi::RECORD_ALIGN, &mut self.scratch);
        let Some((size, type_)) = record::peek_header(&self.scratch) else {
            return Step::Corrupt("short header");
        };
        if size < abi::RECORD_ALIGN
            || size % abi::RECORD_ALIGN != 0
            || size > room
            || size as u64 > left
        {
            return Step::Corrupt("bad record size");
        }
        match type_ {
            abi::REC_SYSCALL => {
                if size < hdr {
                    return Step::Corrupt("syscall record shorter than its header");
                }
                self.mem.copy(cpu, off, size, &mut self.scratch);
                match record::decode(&self.scratch) {
                    Ok(r) if r.cpu as usize == cpu => Step::Advance(size, Some(Item::Record(r))),
                    Ok(_) => Step::Corrupt("record of another CPU"),
                    Err(_) => Step::Corrupt("undecodable record"),
                }
            }
            // Pads and types this consumer does not know: skip by size.
            _ => Step::Advance(size, None),
        }
    }

    /// Drains CPU `cpu` into `self.batches[cpu]`.
    fn drain_cpu(&mut self, cpu: usize) {
        let mut batch = std::mem::take(&mut self.batches[cpu]);
        batch.clear();
        let (next_seq, head) = self.marks[cpu];
        let mut st = self.cpus[cpu];
        let start = st.tail;
        let mut corrupt = None;
        if head.wrapping_sub(st.tail) > self.mem.ring_size as u64 {
            corrupt = Some("head is more than a ring ahead of tail, or behind it");
        }
        while corrupt.is_none() && st.tail != head {
            match self.step(cpu, st.tail, head - st.tail) {
                Step::Corrupt(why) => corrupt = Some(why),
                Step::Advance(size, item) => {
                    if let Some(Item::Record(r)) = item {
                        // A seq must lie below next_seq as published
                        // now (next_seq is stored after head).
                        if r.seq >= self.mem.next_seq(cpu) {
                            corrupt = Some("seq beyond next_seq");
                            continue;
                        }
                        match st.expected {
                            Some(e) if r.seq < e => {
                                corrupt = Some("seq went backwards");
                                continue;
                            }
                            Some(e) if r.seq > e => push_lost(&mut batch, cpu, r.seq - e),
                            _ => {}
                        }
                        st.expected = Some(r.seq + 1);
                        batch.push(Item::Record(r));
                    }
                    st.tail += size as u64;
                }
            }
        }
        if let Some(why) = corrupt {
            log::warn!(
                "sagafs: ring of cpu {cpu} unreadable at {} (head {head}): {why}; resynchronised",
                st.tail
            );
            self.stats.resyncs += 1;
            st.tail = head;
        }
        // Drained up to `head`: every seq below `next_seq` (read before
        // head) was either read or dropped.
        match st.expected {
            Some(e) if next_seq > e => {
                push_lost(&mut batch, cpu, next_seq - e);
                st.expected = Some(next_seq);
            }
            None if st.tail == head => st.expected = Some(next_seq),
            _ => {}
        }
        if st.tail != start {
            self.mem.set_tail(cpu, st.tail);
        }
        self.cpus[cpu] = st;
        self.batches[cpu] = batch;
    }

    /// Drains every ring once and appends the items, merged by time, to
    /// `out`; returns how many were appended.
    ///
    /// Every ring's head is read before any ring is drained, so that a
    /// batch holds what all CPUs had published at one moment: reading each
    /// head only when its turn came would let a later record of one CPU
    /// into this batch while an earlier one of another waits for the next.
    pub(crate) fn drain(&mut self, out: &mut Vec<Item>) -> usize {
        for cpu in 0..self.mem.nr_cpus {
            // next_seq before head: the kernel stores them the other way.
            let next_seq = self.mem.next_seq(cpu);
            self.marks[cpu] = (next_seq, self.mem.head(cpu));
        }
        for cpu in 0..self.mem.nr_cpus {
            self.drain_cpu(cpu);
        }
        let before = out.len();
        merge(&mut self.batches, &mut self.keys, out);
        for it in &out[before..] {
            match it {
                Item::Record(_) => self.stats.records += 1,
                Item::Lost { count, .. } => self.stats.lost += count,
            }
        }
        out.len() - before
    }
}

pub(crate) fn push_lost(batch: &mut Vec<Item>, cpu: usize, count: u64) {
    batch.push(Item::Lost {
        cpu: cpu as u32,
        count,
    });
}

/// Sort keys for one batch: a record's time; a loss takes the time of the
/// next record of its CPU (it happened before it), or of the previous one
/// when it is last.
fn batch_keys(batch: &[Item], keys: &mut Vec<u64>) {
    keys.clear();
    keys.resize(batch.len(), 0);
    let mut next: Option<u64> = None;
    for (i, it) in batch.iter().enumerate().rev() {
        if let Item::Record(r) = it {
            next = Some(r.time_ns);
        }
        keys[i] = next.unwrap_or(u64::MAX);
    }
    let mut prev = 0;
    for (i, it) in batch.iter().enumerate() {
        match it {
            Item::Record(r) => prev = r.time_ns,
            Item::Lost { .. } if keys[i] == u64::MAX => keys[i] = prev,
            Item::Lost { .. } => {}
        }
    }
}

/// K-way merge of the per-CPU batches by key, keeping each CPU's order.
pub(crate) fn merge(batches: &mut [Vec<Item>], keys: &mut [Vec<u64>], out: &mut Vec<Item>) {
    let mut heap = BinaryHeap::new();
    for (cpu, b) in batches.iter().enumerate() {
        batch_keys(b, &mut keys[cpu]);
        if !b.is_empty() {
            heap.push(Reverse((keys[cpu][0], cpu, 0usize)));
        }
    }
    let total: usize = batches.iter().map(Vec::len).sum();
    out.reserve(total);
    let mut iters: Vec<_> = batches.iter_mut().map(|b| b.drain(..)).collect();
    while let Some(Reverse((_, cpu, i))) = heap.pop() {
        out.push(iters[cpu].next().expect("batch item"));
        if i + 1 < keys[cpu].len() {
            heap.push(Reverse((keys[cpu][i + 1], cpu, i + 1)));
        }
    }
}
