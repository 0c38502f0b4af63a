//! The bounded queue between the collector and one output's thread.
//!
//! `offer` never waits for the output: it takes a short lock, and a batch
//! that does not fit under the byte limit is dropped at once. What a
//! dropped batch held is not forgotten: its records, and the losses its
//! own notices reported, become notices the output writes before the
//! next batch it does take, so the gap shows where its reader looks.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::batch::{Batch, Builder, Tally};
use super::status::now_ns;
use crate::format::DropReason;

#[derive(Debug, Default)]
struct Inner {
    batches: VecDeque<Arc<Batch>>,
    bytes: usize,
    /// Records dropped here, per CPU.
    dropped: Tally,
    /// Losses reported by notices in dropped batches, per reason.
    carried: Vec<(DropReason, Tally)>,
    closed: bool,
    /// Batches taken by the output and not yet reported done.
    busy: bool,
}

/// What the output takes: notices for what was dropped first, then the
/// next batch.
#[derive(Debug, Default)]
pub struct Taken {
    /// Lost-records notices for what the queue dropped since the last
    /// take (empty if nothing was).
    pub notices: Option<Arc<Batch>>,
    pub batch: Option<Arc<Batch>>,
    /// Records the notices report as dropped by the queue.
    pub dropped: u64,
}

/// A bounded queue of batches.
#[derive(Debug)]
pub struct Queue {
    inner: Mutex<Inner>,
    /// Signalled on offer and close (the output waits on it) and when the
    /// output finishes a batch (`wait_idle` waits on it).
    cond: Condvar,
    max_bytes: usize,
}

/// What `offer` did with a batch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Offer {
    Queued,
    /// Dropped: the queue was full (or closed).
    Dropped,
}

impl Queue {
    /// A queue holding at most `max_bytes` of batches (at least one batch
    /// is always taken, however large, when the queue is empty).
    pub fn new(max_bytes: usize) -> Queue {
        Queue {
            inner: Mutex::new(Inner::default()),
            cond: Condvar::new(),
            max_bytes,
        }
    }

    /// Queues `batch` or drops it; never waits for the output.
    pub fn offer(&self, batch: &Arc<Batch>) -> Offer {
        let len = batch.bytes().len();
        let mut q = self.inner.lock();
        let fits = q.batches.is_empty() || q.bytes + len <= self.max_bytes;
        if q.closed || !fits {
            q.dropped.merge(batch.records());
            for &(cpu, n, why) in batch.notices() {
                match q.carried.iter_mut().find(|(r, _)| *r == why) {
                    Some((_, t)) => t.add(cpu, n),
                    None => {
                        let mut t = Tally::default();
                        t.add(cpu, n);
                        q.carried.push((why, t));
                    }
                }
            }
            return Offer::Dropped;
        }
        q.bytes += len;
        q.batches.push_back(Arc::clone(batch));
        drop(q);
        self.cond.notify_all();
        Offer::Queued
    }

    /// Takes the pending notices and the next batch, waiting up to
    /// `timeout` for one. Returns `None` once closed and empty.
    pub fn take(&self, timeout: Duration) -> Option<Taken> {
        let deadline = Instant::now() + timeout;
        let mut q = self.inner.lock();
        q.busy = false;
        self.cond.notify_all();
        while q.batches.is_empty() && q.dropped.is_empty() && q.carried.is_empty() {
            if q.closed {
                return None;
            }
            if self.cond.wait_until(&mut q, deadline).timed_out() {
                return Some(Taken::default());
            }
        }
        let mut taken = Taken::default();
        if !q.dropped.is_empty() || !q.carried.is_empty() {
            let mut b = Builder::default();
            let now = now_ns();
            for (why, t) in q.carried.drain(..) {
                t.push_notices_into(&mut b, now, why);
            }
            taken.dropped = q.dropped.total();
            std::mem::take(&mut q.dropped).push_notices_into(&mut b, now, DropReason::QueueFull);
            taken.notices = Some(b.finish());
        }
        if let Some(batch) = q.batches.pop_front() {
            q.bytes -= batch.bytes().len();
            taken.batch = Some(batch);
        }
        q.busy = true;
        Some(taken)
    }

    /// Refuses further batches; `take` returns what is left, then `None`.
    pub fn close(&self) {
        self.inner.lock().closed = true;
        self.cond.notify_all();
    }

    /// Waits until the queue is empty and the output finished the last
    /// batch it took (or `timeout` passes); true if it did.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut q = self.inner.lock();
        while q.busy || !q.batches.is_empty() || !q.dropped.is_empty() || !q.carried.is_empty() {
            if self.cond.wait_until(&mut q, deadline).timed_out() {
                return false;
            }
        }
        true
    }

    /// Bytes queued now.
    pub fn bytes(&self) -> usize {
        self.inner.lock().bytes
    }
}

impl Tally {
    fn push_notices_into(&self, b: &mut Builder, time_ns: u64, why: DropReason) {
        for (cpu, n) in self.iter() {
            b.lost(time_ns, cpu, n, why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::batch::tests::rec;
    use crate::output::batch::Entry;

    fn batch(cpu: u32, n: u64) -> Arc<Batch> {
        let mut b = Builder::default();
        for i in 0..n {
            b.record(&rec(cpu, i, 8)).unwrap();
        }
        b.finish()
    }

    #[test]
    fn drops_what_does_not_fit_and_reports_it() {
        let one = batch(0, 2);
        let q = Queue::new(one.bytes().len() * 2);
        assert_eq!(q.offer(&one), Offer::Queued);
        assert_eq!(q.offer(&batch(1, 2)), Offer::Queued);
        assert_eq!(q.offer(&batch(1, 3)), Offer::Dropped);
        let mut with_notice = Builder::default();
        with_notice.lost(1, 2, 40, DropReason::RingFull);
        with_notice.record(&rec(2, 9, 1)).unwrap();
        assert_eq!(q.offer(&with_notice.finish()), Offer::Dropped);

        let t = q.take(Duration::ZERO).unwrap();
        assert_eq!(t.dropped, 4);
        let notices: Vec<Entry> = t.notices.as_ref().unwrap().entries().collect();
        let want = [
            (2, 40, DropReason::RingFull),
            (1, 3, DropReason::QueueFull),
            (2, 1, DropReason::QueueFull),
        ];
        assert_eq!(notices.len(), want.len());
        for (e, (c, n, r)) in notices.iter().zip(want) {
            assert!(
                matches!(e, Entry::Lost { cpu, count, reason, .. } if *cpu == c && *count == n && *reason == r),
                "{e:?}"
            );
        }
        assert!(Arc::ptr_eq(t.batch.as_ref().unwrap(), &one));
        let t = q.take(Duration::ZERO).unwrap();
        assert!(t.notices.is_none());
        assert_eq!(t.batch.unwrap().len(), 2);
        // Nothing left: a take times out empty.
        let t = q.take(Duration::from_millis(1)).unwrap();
        assert!(t.batch.is_none() && t.notices.is_none());
        assert!(q.wait_idle(Duration::from_millis(1)));
        q.close();
        assert!(q.take(Duration::ZERO).is_none());
        assert_eq!(q.offer(&one), Offer::Dropped);
    }

    #[test]
    fn an_oversized_batch_passes_an_empty_queue() {
        let big = batch(0, 10);
        let q = Queue::new(1);
        assert_eq!(q.offer(&big), Offer::Queued);
        assert_eq!(q.offer(&big), Offer::Dropped);
        assert_eq!(q.bytes(), big.bytes().len());
    }
}
