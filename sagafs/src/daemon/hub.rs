//! The hub between the collector and the readers: the retention buffer
//! behind its lock, the time of the last data, the poll wake-ups waiting
//! for new data, and the condition the blocked-read server sleeps on.
//!
//! The collector calls [`Hub::publish`]; readers take snapshots or read
//! from cursors.  Nothing here blocks the collector for longer than an
//! append to the retention buffer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::{Condvar, Mutex};

use super::retention::Retention;
pub use crate::clock::now_ns;
use crate::record::Items;

/// A one-shot wake-up for a `poll` waiting on a stream handle.
pub type PollWake = Box<dyn FnOnce() + Send>;

/// State shared with the blocked-read server, behind `Hub::wait_lock`.
#[derive(Default)]
pub struct WaitState {
    /// Bumped on every publish.
    pub generation: u64,
    /// Set once when the daemon shuts down.
    pub shutdown: bool,
    /// Bumped when a blocked read is queued.
    pub queued: u64,
    /// The blocked-read server holds reads that wait for data: only then
    /// does a publish need to wake it.
    pub serving: bool,
}

/// See the module documentation.
pub struct Hub {
    pub retention: Mutex<Retention>,
    last_data_ns: AtomicU64,
    pollers: Mutex<HashMap<u64, PollWake>>,
    pub wait_lock: Mutex<WaitState>,
    pub wait_cv: Condvar,
    /// Records stream readers missed because they fell behind.
    pub reader_behind: AtomicU64,
    shut: AtomicBool,
}

impl Hub {
    pub fn new(retain: usize) -> Hub {
        Hub {
            retention: Mutex::new(Retention::new(retain)),
            last_data_ns: AtomicU64::new(now_ns()),
            pollers: Mutex::new(HashMap::new()),
            wait_lock: Mutex::new(WaitState::default()),
            wait_cv: Condvar::new(),
            reader_behind: AtomicU64::new(0),
            shut: AtomicBool::new(false),
        }
    }

    /// Appends drained items (copied into retention's chunks) and wakes
    /// every reader waiting for data.
    pub fn publish(&self, items: &Items) {
        if items.is_empty() {
            return;
        }
        self.retention.lock().push(items);
        self.last_data_ns.store(now_ns(), Ordering::Release);
        self.wake_all();
    }

    /// Wakes blocked reads and pollers (new data or shutdown).  The
    /// blocked-read server is woken only when it holds reads: an idle one
    /// is not made to run for every drain.
    pub fn wake_all(&self) {
        let notify = {
            let mut w = self.wait_lock.lock();
            w.generation += 1;
            w.serving || w.shutdown
        };
        if notify {
            self.wait_cv.notify_all();
        }
        let wakes: Vec<PollWake> = self.pollers.lock().drain().map(|(_, w)| w).collect();
        for w in wakes {
            w();
        }
    }

    /// CLOCK_REALTIME of the last published data (or of the start).
    pub fn last_data_ns(&self) -> u64 {
        self.last_data_ns.load(Ordering::Acquire)
    }

    /// Registers the poll wake-up of handle `fh`, replacing an older one.
    pub fn add_poller(&self, fh: u64, wake: PollWake) {
        self.pollers.lock().insert(fh, wake);
    }

    pub fn remove_poller(&self, fh: u64) {
        self.pollers.lock().remove(&fh);
    }

    /// Ends every wait: blocked reads get end of file.
    pub fn shutdown(&self) {
        self.shut.store(true, Ordering::Release);
        self.wait_lock.lock().shutdown = true;
        self.wake_all();
    }

    pub fn is_shut_down(&self) -> bool {
        self.shut.load(Ordering::Acquire)
    }
}
