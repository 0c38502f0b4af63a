//! Outputs: copies of every record that outlive the daemon or leave the
//! machine: rotated files (`file`), the systemd journal (`journal`), and
//! a remote syslog collector over TCP, TLS or RELP (`syslog`).
//!
//! The model: the collector builds a [`Batch`] per drain (the records as
//! the kernel's bytes, and the lost-records notices) and hands the same
//! batch to every output with [`Outputs::submit`]. That never blocks:
//! each output has its own thread behind a bounded [`queue::Queue`], and
//! a batch that does not fit is dropped and counted for that output
//! alone, which then writes a `reason=queue_full` notice where its reader
//! looks. Each output keeps [`Counters`], whose snapshot is a [`Status`].
//!
//! An output's work is a [`Sink`]: it takes batches one at a time on the
//! output's thread and is woken periodically (flush intervals, reconnect
//! backoff, spool draining).
//!
//! `validate` holds the checks of the settings the configuration gives.
//!
//! Where the daemon plugs in: the collector fills a [`Builder`] while it
//! drains the rings (`record` per record view, `lost` per ring gap) and
//! hands the finished batch to [`Outputs::submit`]; a restarted daemon
//! refills its retention from [`file::read_back`] with its `retain` as
//! the limit; `/sagafs/outputs` renders [`Outputs::render_text`] and
//! [`Outputs::render_json`]; the configuration checks every value with
//! `validate` before it starts or replaces an output.
//!
//! No `unsafe` here: sockets, memfds and descriptor passing go through
//! `std` and `nix`.

#![deny(unsafe_code)]

pub mod backoff;
pub mod batch;
pub mod fields;
pub mod file;
pub mod journal;
pub mod queue;
pub mod status;
pub mod syslog;
pub mod validate;

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use batch::{Batch, Builder, Entry};
pub use status::{Counters, State, Status};

use queue::{Offer, Queue};

/// The work of one output, run on its own thread.
pub trait Sink: Send + 'static {
    /// `file`, `journal`, `tcp`, `tls`, `relp`, `relp+tls`.
    fn kind(&self) -> &'static str;

    /// Called once on the output's thread before the first batch.
    fn start(&mut self, c: &Counters);

    /// Delivers one batch, counting every record in it in `c`.
    fn write(&mut self, batch: &Batch, c: &Counters);

    /// Periodic work: flushing, reconnecting, draining a spool.
    fn tick(&mut self, c: &Counters);

    /// How long the thread may wait for a batch before calling `tick`.
    fn tick_interval(&self) -> Duration {
        Duration::from_millis(500)
    }

    /// Called once when the output stops, after the last batch: flush,
    /// spool what could not be sent, close.
    fn stop(&mut self, c: &Counters);
}

/// The default bound of each output's queue.
pub const QUEUE_BYTES_DEFAULT: usize = 16 << 20;

/// One running output: its queue, counters and thread.
pub struct Output {
    name: String,
    kind: &'static str,
    counters: Arc<Counters>,
    queue: Arc<Queue>,
    thread: Option<JoinHandle<()>>,
}

impl Output {
    /// Starts `sink` on a thread of its own behind a queue of
    /// `queue_bytes`.
    pub fn spawn(name: &str, mut sink: Box<dyn Sink>, queue_bytes: usize) -> io::Result<Output> {
        let counters = Arc::new(Counters::default());
        let queue = Arc::new(Queue::new(queue_bytes));
        let kind = sink.kind();
        let (c, q) = (Arc::clone(&counters), Arc::clone(&queue));
        let thread = std::thread::Builder::new()
            .name(format!("out-{name}"))
            .spawn(move || run(&mut *sink, &c, &q))?;
        Ok(Output {
            name: name.to_string(),
            kind,
            counters,
            queue,
            thread: Some(thread),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Hands `batch` to the output, or counts it dropped; never blocks.
    pub fn offer(&self, batch: &Arc<Batch>) {
        let n = batch.len();
        match self.queue.offer(batch) {
            Offer::Queued => Counters::add(&self.counters.queued, n),
            Offer::Dropped => Counters::add(&self.counters.dropped_queue_full, n),
        }
    }

    pub fn status(&self) -> Status {
        self.counters.status(&self.name, self.kind)
    }

    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// Waits until the output has dealt with everything offered so far
    /// (sent, spooled or counted); true if it did within `timeout`.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        self.queue.wait_idle(timeout)
    }

    /// Stops taking batches, lets the output finish what is queued, and
    /// joins its thread.
    pub fn stop(mut self) -> Status {
        self.shutdown();
        self.status()
    }

    fn shutdown(&mut self) {
        self.queue.close();
        if let Some(t) = self.thread.take() {
            if t.join().is_err() {
                self.counters.error("the output's thread panicked");
                self.counters.set_state(State::Stopped);
            }
        }
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(sink: &mut dyn Sink, c: &Counters, q: &Queue) {
    sink.start(c);
    let mut next_tick = Instant::now() + sink.tick_interval();
    loop {
        let wait = next_tick.saturating_duration_since(Instant::now());
        let Some(taken) = q.take(wait) else { break };
        if let Some(n) = &taken.notices {
            sink.write(n, c);
        }
        if let Some(b) = &taken.batch {
            sink.write(b, c);
        }
        if Instant::now() >= next_tick {
            sink.tick(c);
            next_tick = Instant::now() + sink.tick_interval();
        }
    }
    sink.stop(c);
    c.set_state(State::Stopped);
}

/// Every configured output; what the collector hands batches to.
#[derive(Default)]
pub struct Outputs {
    list: Vec<Output>,
}

impl Outputs {
    pub fn push(&mut self, o: Output) {
        self.list.push(o);
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Hands `batch` to every output; never blocks.
    pub fn submit(&self, batch: &Arc<Batch>) {
        for o in &self.list {
            o.offer(batch);
        }
    }

    pub fn status(&self) -> Vec<Status> {
        self.list.iter().map(Output::status).collect()
    }

    /// The text form of every output's status, one line each.
    pub fn render_text(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for s in self.status() {
            s.write_text(&mut v);
        }
        v
    }

    /// The JSON Lines form of every output's status.
    pub fn render_json(&self) -> Vec<u8> {
        let mut v = Vec::new();
        for s in self.status() {
            s.write_json(&mut v);
        }
        v
    }

    pub fn iter(&self) -> impl Iterator<Item = &Output> {
        self.list.iter()
    }

    /// Stops every output (each finishes its queue) and returns their
    /// last status.
    pub fn stop(self) -> Vec<Status> {
        self.list.into_iter().map(Output::stop).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::batch::tests::rec;
    use parking_lot::Mutex;

    /// A sink that records what it gets, and can be made slow.
    struct Probe {
        seen: Arc<Mutex<Vec<String>>>,
        delay: Duration,
    }

    impl Sink for Probe {
        fn kind(&self) -> &'static str {
            "probe"
        }
        fn start(&mut self, c: &Counters) {
            c.set_state(State::Writing);
        }
        fn write(&mut self, batch: &Batch, c: &Counters) {
            std::thread::sleep(self.delay);
            for e in batch.entries() {
                self.seen.lock().push(match e {
                    Entry::Record(r) => format!("r{}", r.seq),
                    Entry::Lost { count, reason, .. } => format!("lost{count}{reason}"),
                });
            }
            Counters::add(&c.sent, batch.len());
        }
        fn tick(&mut self, _: &Counters) {}
        fn stop(&mut self, _: &Counters) {
            self.seen.lock().push("stop".into());
        }
    }

    #[test]
    fn a_slow_output_drops_and_counts_without_blocking() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = Probe {
            seen: Arc::clone(&seen),
            delay: Duration::from_millis(50),
        };
        let mut b = Builder::default();
        b.record(&rec(0, 1, 4)).unwrap();
        let one = b.finish();
        let o = Output::spawn("slow", Box::new(sink), one.bytes().len()).unwrap();
        let mut outs = Outputs::default();
        outs.push(o);
        let t0 = Instant::now();
        for _ in 0..20 {
            outs.submit(&one);
        }
        assert!(t0.elapsed() < Duration::from_millis(50), "submit waited");
        assert!(outs
            .iter()
            .next()
            .unwrap()
            .wait_idle(Duration::from_secs(10)));
        let st = outs.status().remove(0);
        assert!(st.dropped_queue_full > 0);
        assert_eq!(st.sent + st.dropped_queue_full, 20);
        assert_eq!(st.queued, st.sent);
        let last = outs.stop().remove(0);
        assert_eq!(last.state, State::Stopped);
        let seen = seen.lock();
        // Every dropped record is reported by a notice before the next
        // batch the output took.
        let reported: u64 = seen
            .iter()
            .filter_map(|s| s.strip_prefix("lost"))
            .map(|s| s.trim_end_matches("queue_full").parse::<u64>().unwrap())
            .sum();
        assert_eq!(reported, last.dropped_queue_full);
        assert_eq!(seen.last().unwrap(), "stop");
    }
}
