//! `BpfRings`: the consumer of the per-CPU BPF ring buffers.  Same
//! contract as the module's ring consumer: every ring's `next_seq` and
//! producer position are read before any ring is drained, each ring is
//! drained up to that position, a gap in seq (or a `next_seq` beyond the
//! last seq read) is reported as a drop where it happened, and the
//! batches are merged by time.  A record still being written (BUSY), or
//! one whose seq is not below the `next_seq` read (committed after it),
//! ends that ring's drain and is read by the next one: `next_seq` is
//! published only after a record is committed, so such a record cannot be
//! mistaken for a loss.

use std::mem::size_of;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use std::{io, mem};

use super::clock;
use super::layout::sagafs_bpf_cpu;
use super::mem::{ArrayMem, RingbufMem, BUSY, DISCARD, HDR};
use crate::abi;
use crate::clock::now_ns;
use crate::device::ring::{merge, set_drop_keys, Keyed};
use crate::device::{wait, Consumer, ConsumerStats, Wake};
use crate::record::{self, Items, Slot};

#[derive(Clone, Copy, Debug, Default)]
struct CpuState {
    pos: u64,
    expected: Option<u64>,
}

/// The mapped ring buffers and the consumer's position in each.
pub struct BpfRings {
    rings: Vec<RingbufMem>,
    fds: Vec<OwnedFd>,
    cpus: Arc<ArrayMem>,
    control: Arc<ArrayMem>,
    state: Vec<CpuState>,
    batches: Vec<Vec<Keyed>>,
    marks: Vec<(u64, u64)>,
    stats: ConsumerStats,
    /// Cleared on drop: the backend allows one consumer at a time.
    live: Arc<AtomicBool>,
}

pub(super) fn next_seq(cpus: &ArrayMem, cpu: usize) -> u64 {
    cpus.u64_at(cpu * size_of::<sagafs_bpf_cpu>())
        .load(Ordering::Acquire)
}

impl BpfRings {
    pub(super) fn new(
        rings: Vec<RingbufMem>,
        fds: Vec<OwnedFd>,
        cpus: Arc<ArrayMem>,
        control: Arc<ArrayMem>,
        live: Arc<AtomicBool>,
    ) -> BpfRings {
        let n = rings.len();
        let state = (0..n)
            .map(|cpu| {
                let next = next_seq(&cpus, cpu);
                let pos = rings[cpu].consumer_pos();
                let empty = rings[cpu].producer_pos() == pos;
                CpuState {
                    pos,
                    expected: empty.then_some(next),
                }
            })
            .collect();
        BpfRings {
            rings,
            fds,
            cpus,
            control,
            state,
            batches: vec![Vec::new(); n],
            marks: vec![(0, 0); n],
            stats: ConsumerStats::default(),
            live,
        }
    }

    /// Drains CPU `cpu`: record bytes into `out`'s buffer, its items into
    /// `self.batches[cpu]`; drops are dated `now`.
    fn drain_cpu(&mut self, cpu: usize, out: &mut Items, now: u64) {
        let mut batch = mem::take(&mut self.batches[cpu]);
        batch.clear();
        let dropped = |count: u64| Keyed {
            key: u64::MAX,
            slot: Slot::Dropped {
                cpu: cpu as u32,
                count,
                time_ns: now,
            },
        };
        let (next_seq, prod) = self.marks[cpu];
        let ring = &self.rings[cpu];
        let mut st = self.state[cpu];
        let start = st.pos;
        let mut corrupt = None;
        let mut complete = true;
        if prod.wrapping_sub(st.pos) > ring.size() as u64 {
            corrupt = Some("producer more than a ring ahead of the consumer, or behind it");
        }
        while corrupt.is_none() && st.pos < prod {
            let hdr = ring.header(st.pos);
            if hdr & BUSY != 0 {
                complete = false;
                break;
            }
            let len = (hdr & !(BUSY | DISCARD)) as usize;
            let total = (len + HDR).next_multiple_of(8) as u64;
            if len > ring.size() - HDR || st.pos + total > prod {
                corrupt = Some("bad record length");
                continue;
            }
            if hdr & DISCARD == 0 {
                // Validated in our own copy: the ring's bytes are read once.
                let bytes = out.bytes_mut();
                let start = bytes.len();
                ring.copy_sample(st.pos, len, bytes);
                let read = match record::validate(&bytes[start..]) {
                    Ok(size) => {
                        bytes.truncate(start + size);
                        match record::position(&bytes[start..]) {
                            (c, ..) if c as usize != cpu => Err("record of another CPU"),
                            (c, seq, time_ns) => Ok((size, c, seq, time_ns)),
                        }
                    }
                    Err(_) => Err("undecodable record"),
                };
                match read {
                    Err(why) => {
                        bytes.truncate(start);
                        corrupt = Some(why);
                    }
                    // Committed after the marks were read (next_seq is
                    // stored right after the commit): the next drain's.
                    Ok((_, _, seq, _)) if seq >= next_seq => {
                        bytes.truncate(start);
                        complete = false;
                        break;
                    }
                    Ok((size, c, seq, time_ns)) => match st.expected {
                        Some(e) if seq < e => {
                            bytes.truncate(start);
                            corrupt = Some("seq went backwards");
                        }
                        e => {
                            if let Some(e) = e.filter(|&e| seq > e) {
                                batch.push(dropped(seq - e));
                            }
                            st.expected = Some(seq + 1);
                            batch.push(Keyed {
                                key: time_ns,
                                slot: Slot::Record {
                                    off: start,
                                    len: size as u32,
                                    cpu: c,
                                },
                            });
                        }
                    },
                }
                if corrupt.is_some() {
                    continue;
                }
            }
            st.pos += total;
        }
        if let Some(why) = corrupt {
            log::warn!(
                "sagafs: BPF ring of cpu {cpu} unreadable at {} (producer {prod}): {why}; resynchronised",
                st.pos
            );
            self.stats.resyncs += 1;
            st.pos = prod;
        }
        // Every seq below next_seq (read before the producer position)
        // was committed before it: read above, or dropped.
        match st.expected {
            Some(e) if next_seq > e => {
                batch.push(dropped(next_seq - e));
                st.expected = Some(next_seq);
            }
            None if complete && st.pos == prod => st.expected = Some(next_seq),
            _ => {}
        }
        if st.pos != start {
            ring.set_consumer_pos(st.pos);
        }
        self.state[cpu] = st;
        set_drop_keys(&mut batch);
        self.batches[cpu] = batch;
    }
}

impl Consumer for BpfRings {
    fn drain(&mut self, out: &mut Items) -> usize {
        let now = now_ns();
        for cpu in 0..self.rings.len() {
            // next_seq before the producer position: the program stores
            // them the other way round.
            let next = next_seq(&self.cpus, cpu);
            self.marks[cpu] = (next, self.rings[cpu].producer_pos());
        }
        for cpu in 0..self.rings.len() {
            self.drain_cpu(cpu, out, now);
        }
        clock::publish(&self.control);
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

    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        let fds: Vec<BorrowedFd<'_>> = self.fds.iter().map(|f| f.as_fd()).collect();
        wait::poll_wait_many(&fds, stop, timeout)
    }

    fn nr_cpus(&self) -> usize {
        self.rings.len()
    }

    fn stats(&self) -> ConsumerStats {
        self.stats
    }

    /// The program and its rings live and die with the daemon that
    /// loaded them: a new daemon's rings start at sequence 0 and hold
    /// nothing a previous one left, so there is never a position to
    /// resume from.
    fn resume(&mut self, _cpu: u32, _seq: u64) -> bool {
        false
    }
}

impl Drop for BpfRings {
    fn drop(&mut self) {
        self.live.store(false, Ordering::Release);
    }
}

// The record size the program writes never exceeds this.
const _: () = assert!(abi::RECORD_MAX + HDR < abi::RING_KB_MIN as usize * 1024);
