//! The ring consumer: walks every per-CPU ring of a mapping laid out as
//! the header describes (the real device's or the double's), validates
//! each record, reports drops where they happen, and merges the per-CPU
//! batches of one drain in time order.
//!
//! Protocol (see `kmod/include/uapi/sagafs.h`): per CPU, load-acquire
//! `next_seq`, then `head`; read the records in `[tail, head)`; store-release
//! the new `tail`. Nothing the ring holds is trusted: a size that is not a
//! multiple of 8, smaller than a header, past the end of the data area or
//! past `head`, a record that fails to decode or claims another CPU or an
//! older seq, and a `head` more than a ring ahead of `tail` (or behind it)
//! all make the consumer resynchronise at `head` and report what it skipped
//! as dropped. Reads never leave the ring's bytes.
//!
//! Each record is copied once, straight into the caller's [`Items`]
//! buffer, and validated there; the merge orders the items without moving
//! their bytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::mem::{offset_of, size_of};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::abi::{self, sagafs_ring_ctrl};
use crate::record::{self, Items, Slot};

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

    /// The first `RECORD_ALIGN` bytes at `off` of CPU `cpu`'s data area
    /// (a record's size and type), copied out.
    fn header(&self, cpu: usize, off: usize) -> [u8; abi::RECORD_ALIGN] {
        assert!(cpu < self.nr_cpus && off <= self.ring_size - abi::RECORD_ALIGN);
        let mut h = [0u8; abi::RECORD_ALIGN];
        // SAFETY: the source lies inside CPU `cpu`'s data area (asserted),
        // which the mapping keeps valid; `h` has room for the bytes.
        unsafe {
            ptr::copy_nonoverlapping(
                self.data.add(cpu * self.ring_size + off),
                h.as_mut_ptr(),
                h.len(),
            )
        }
        h
    }

    /// Appends a copy of the `len` bytes at `off` of CPU `cpu`'s data
    /// area to `out`.
    fn append(&self, cpu: usize, off: usize, len: usize, out: &mut Vec<u8>) {
        assert!(cpu < self.nr_cpus && off <= self.ring_size && len <= self.ring_size - off);
        out.reserve(len);
        let at = out.len();
        // SAFETY: the source lies inside CPU `cpu`'s data area (asserted),
        // which the mapping keeps valid; `out` has room for `len` more
        // bytes, which the copy initialises before `set_len`.
        unsafe {
            ptr::copy_nonoverlapping(
                self.data.add(cpu * self.ring_size + off),
                out.as_mut_ptr().add(at),
                len,
            );
            out.set_len(at + len);
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
    /// Records reported dropped (sum of the drop counts).
    pub dropped: u64,
    /// Records delivered.
    pub records: u64,
}

/// One item of a CPU's batch and the key it is merged by: a record's
/// time; a drop takes the time of the next record of its CPU (it happened
/// before it), or of the previous one when it is last.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Keyed {
    pub(crate) key: u64,
    pub(crate) slot: Slot,
}

/// The protocol walker over a `RingMem`.
pub(crate) struct RingConsumer {
    mem: RingMem,
    cpus: Vec<CpuState>,
    /// Per CPU, the items of the drain in progress (memory kept between
    /// drains: no allocation per record once warm).
    batches: Vec<Vec<Keyed>>,
    /// (next_seq, head) of every ring, read together before any is drained.
    marks: Vec<(u64, u64)>,
    stats: ConsumerStats,
}

/// A record read and validated: its slot, seq and time.
struct Read {
    slot: Slot,
    seq: u64,
    time_ns: u64,
}

enum Step {
    /// `size` bytes consumed; a record when it was one.
    Advance(usize, Option<Read>),
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
            marks: vec![(0, 0); n],
            stats: ConsumerStats::default(),
        }
    }

    pub(crate) fn nr_cpus(&self) -> usize {
        self.mem.nr_cpus
    }

    /// Sets the seq the next record of `cpu` must carry, for a consumer
    /// that takes over from one whose output (the log files) ends just
    /// before `seq`: the first drain reports what lies between as
    /// dropped.  Refused (false) when the ring never reached `seq` (the
    /// module was loaded again since) or a record at or past it was
    /// already read.
    pub(crate) fn resume(&mut self, cpu: usize, seq: u64) -> bool {
        if cpu >= self.mem.nr_cpus || seq > self.mem.next_seq(cpu) {
            return false;
        }
        let st = &mut self.cpus[cpu];
        if st.expected.is_some_and(|e| e < seq) {
            return false;
        }
        st.expected = Some(seq);
        true
    }

    pub(crate) fn stats(&self) -> ConsumerStats {
        self.stats
    }

    /// Reads one record at `tail` (`left` bytes are published) into
    /// `out`'s buffer, where it stays only if it is valid.
    fn step(&self, cpu: usize, tail: u64, left: u64, out: &mut Items) -> Step {
        let hdr = size_of::<abi::sagafs_record>();
        let off = (tail as usize) & (self.mem.ring_size - 1);
        let room = self.mem.ring_size - off;
        if left < abi::RECORD_ALIGN as u64 || off % abi::RECORD_ALIGN != 0 {
            return Step::Corrupt("misaligned or partial record");
        }
        let Some((size, type_)) = record::peek_header(&self.mem.header(cpu, off)) else {
            return Step::Corrupt("short header");
        };
        if size < abi::RECORD_ALIGN
            || size % abi::RECORD_ALIGN != 0
            || size > room
            || size as u64 > left
        {
            return Step::Corrupt("bad record size");
        }
        if type_ != abi::REC_SYSCALL {
            // Pads and types this consumer does not know: skip by size.
            return Step::Advance(size, None);
        }
        if size < hdr {
            return Step::Corrupt("syscall record shorter than its header");
        }
        // Validated in our own copy: the ring's bytes are read once.
        let bytes = out.bytes_mut();
        let start = bytes.len();
        self.mem.append(cpu, off, size, bytes);
        let read = match record::validate(&bytes[start..]) {
            Ok(_) => match record::position(&bytes[start..]) {
                (c, seq, time_ns) if c as usize == cpu => Ok(Read {
                    slot: Slot::Record {
                        off: start,
                        len: size as u32,
                        cpu: c,
                    },
                    seq,
                    time_ns,
                }),
                _ => Err("record of another CPU"),
            },
            Err(_) => Err("undecodable record"),
        };
        match read {
            Ok(read) => Step::Advance(size, Some(read)),
            Err(why) => {
                bytes.truncate(start);
                Step::Corrupt(why)
            }
        }
    }

    /// Drains CPU `cpu`: record bytes into `out`'s buffer, its items into
    /// `self.batches[cpu]`; drops are dated `now`.
    fn drain_cpu(&mut self, cpu: usize, out: &mut Items, now: u64) {
        let mut batch = std::mem::take(&mut self.batches[cpu]);
        batch.clear();
        let dropped = |count: u64| Keyed {
            key: u64::MAX,
            slot: Slot::Dropped {
                cpu: cpu as u32,
                count,
                time_ns: now,
            },
        };
        let (next_seq, head) = self.marks[cpu];
        let mut st = self.cpus[cpu];
        let start = st.tail;
        let mut corrupt = None;
        if head.wrapping_sub(st.tail) > self.mem.ring_size as u64 {
            corrupt = Some("head is more than a ring ahead of tail, or behind it");
        }
        while corrupt.is_none() && st.tail != head {
            match self.step(cpu, st.tail, head - st.tail, out) {
                Step::Corrupt(why) => corrupt = Some(why),
                Step::Advance(size, None) => st.tail += size as u64,
                Step::Advance(size, Some(r)) => {
                    // A seq may not pass next_seq as published now, and
                    // only grows.  next_seq is stored after head: the
                    // newest record may be visible before its own
                    // next_seq (seq + 1) is, but never before the
                    // previous record's (seq), so `seq == next_seq` is
                    // valid and only a larger seq is garbage.
                    let bad = if r.seq > self.mem.next_seq(cpu) {
                        Some("seq beyond next_seq")
                    } else {
                        st.expected
                            .filter(|&e| r.seq < e)
                            .map(|_| "seq went backwards")
                    };
                    if let Some(why) = bad {
                        let Slot::Record { off, .. } = r.slot else {
                            unreachable!("a record's slot")
                        };
                        out.bytes_mut().truncate(off);
                        corrupt = Some(why);
                        continue;
                    }
                    if let Some(e) = st.expected.filter(|&e| r.seq > e) {
                        batch.push(dropped(r.seq - e));
                    }
                    st.expected = Some(r.seq + 1);
                    batch.push(Keyed {
                        key: r.time_ns,
                        slot: r.slot,
                    });
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
                batch.push(dropped(next_seq - e));
                st.expected = Some(next_seq);
            }
            None if st.tail == head => st.expected = Some(next_seq),
            _ => {}
        }
        if st.tail != start {
            self.mem.set_tail(cpu, st.tail);
        }
        self.cpus[cpu] = st;
        set_drop_keys(&mut batch);
        self.batches[cpu] = batch;
    }

    /// Drains every ring once and appends the items, merged by time, to
    /// `out`; returns how many were appended.  Drops are dated `now_ns`.
    ///
    /// Every ring's head is read before any ring is drained, so that a
    /// batch holds what all CPUs had published at one moment: reading each
    /// head only when its turn came would let a later record of one CPU
    /// into this batch while an earlier one of another waits for the next.
    pub(crate) fn drain(&mut self, out: &mut Items, now_ns: u64) -> usize {
        for cpu in 0..self.mem.nr_cpus {
            // next_seq before head: the kernel stores them the other way.
            let next_seq = self.mem.next_seq(cpu);
            self.marks[cpu] = (next_seq, self.mem.head(cpu));
        }
        for cpu in 0..self.mem.nr_cpus {
            self.drain_cpu(cpu, out, now_ns);
        }
        let before = out.len();
        merge(&self.batches, out);
        for i in before..out.len() {
            match out.slot(i) {
                Slot::Record { .. } => self.stats.records += 1,
                Slot::Dropped { count, .. } => self.stats.dropped += count,
            }
        }
        out.len() - before
    }
}

/// Gives each drop of a batch its key (see [`Keyed`]).
pub(crate) fn set_drop_keys(batch: &mut [Keyed]) {
    let is_record = |k: &Keyed| matches!(k.slot, Slot::Record { .. });
    let mut next = None;
    for k in batch.iter_mut().rev() {
        if is_record(k) {
            next = Some(k.key);
        } else {
            k.key = next.unwrap_or(u64::MAX);
        }
    }
    let mut prev = 0;
    for k in batch.iter_mut() {
        if is_record(k) {
            prev = k.key;
        } else if k.key == u64::MAX {
            k.key = prev;
        }
    }
}

/// K-way merge of the per-CPU batches by key, keeping each CPU's order.
pub(crate) fn merge(batches: &[Vec<Keyed>], out: &mut Items) {
    let mut busy = batches.iter().filter(|b| !b.is_empty());
    if let (Some(only), None) = (busy.next(), busy.next()) {
        // One CPU had records (a single busy thread): nothing to merge.
        for k in only {
            out.push_slot(k.slot);
        }
        return;
    }
    let mut heap: BinaryHeap<_> = batches
        .iter()
        .enumerate()
        .filter_map(|(cpu, b)| b.first().map(|k| Reverse((k.key, cpu, 0usize))))
        .collect();
    while let Some(Reverse((_, cpu, i))) = heap.pop() {
        out.push_slot(batches[cpu][i].slot);
        if let Some(k) = batches[cpu].get(i + 1) {
            heap.push(Reverse((k.key, cpu, i + 1)));
        }
    }
}
