//! The device binding: the only module that touches `/dev/sagafs` (ioctl,
//! mmap, poll) and the only one with `unsafe` code.
//!
//! - [`Backend`]: what the daemon needs from a capture device: `info`,
//!   `config`/`set_config` (capture on and off included, see
//!   [`set_capture`]), `rules`/`set_rules`, `stats`/`reset_stats`, `map`
//!   (the ring consumer) and `wait`. [`Device`] is the real one;
//!   [`bpf::BpfBackend`] the eBPF capture program behind the same
//!   interface;
//!   [`double::DeviceDouble`] a test double with the same ring bytes.
//! - [`Consumer`]: what `map` returns: `drain` every ring into
//!   [`Items`] (records as the kernel's bytes, validated, and drop
//!   counts), `wait` for data. [`Rings`] implements it for both.
//! - [`DeviceError`]: errno plus a message a person can act on.
//!
//! Items of one `drain` are merged in timestamp order across CPUs; the
//! order across two drains is best effort (a record of one CPU may be
//! published after a later record of another CPU was already returned).
//! A drain reads at most what the rings held when it started (one ring's
//! worth per CPU) and keeps nothing back: bounded work per call.

// The binding proper: the only modules allowed `unsafe` (workspace lint
// `unsafe_code = "deny"`), each block with its SAFETY comment.
#[allow(unsafe_code)]
pub mod bpf;
#[allow(unsafe_code)]
pub mod double;
mod error;
#[allow(unsafe_code)]
mod ioctl;
#[allow(unsafe_code)]
mod real;
#[allow(unsafe_code)]
mod ring;
mod select;
mod wait;

use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::abi;
pub use crate::abi::{sagafs_config, sagafs_counts, sagafs_cpu_stats, sagafs_info};
pub use error::DeviceError;
pub use real::Device;
pub use ring::ConsumerStats;
pub use select::open_backend;

use crate::clock::now_ns;
use crate::record::Items;
use crate::rules::{RuleSet, RulesInForce};

/// Why `wait` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wake {
    /// A ring holds more unread bytes than the wakeup watermark.
    Data,
    /// The stop descriptor became readable.
    Stopped,
    /// The timeout passed.
    Timeout,
}

/// Counters from GET_STATS, with the arrays owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// All syscalls, summed over CPUs.
    pub total: sagafs_counts,
    /// Record bytes written, all CPUs.
    pub bytes: u64,
    /// Records dropped because a consumer wrote a bogus tail.
    pub bad_tail: u64,
    /// Calls seccomp may have skipped without the skipped flag.
    pub skip_unflagged: u64,
    /// CLOCK_REALTIME of module load or last reset, ns.
    pub reset_ns: u64,
    /// Time capture has been on since `reset_ns`, ns.
    pub enabled_ns: u64,
    /// One entry per ring (possible CPU).
    pub cpus: Vec<sagafs_cpu_stats>,
    /// `[abi][slot]`: `abi::NR_ABIS` vectors of `abi::NR_SLOTS` counts.
    pub syscalls: Vec<Vec<sagafs_counts>>,
}

/// A capture device: the real module or its double.
pub trait Backend: Send + Sync {
    /// Which backend this is, as `stats` names it: `module`, `bpf`, or
    /// `double` for the test double.
    fn kind(&self) -> &'static str;
    /// Geometry of the rings and limits (GET_INFO).
    fn info(&self) -> Result<sagafs_info, DeviceError>;
    /// The capture configuration in force (GET_CONFIG).
    fn config(&self) -> Result<sagafs_config, DeviceError>;
    /// Applies a whole configuration atomically, or changes nothing.
    fn set_config(&self, cfg: &sagafs_config) -> Result<(), DeviceError>;
    /// Replaces the rule set atomically (SET_RULES), or changes nothing.
    fn set_rules(&self, set: &RuleSet) -> Result<(), DeviceError>;
    /// The rule set in force with its hit counts (GET_RULES).
    fn rules(&self) -> Result<RulesInForce, DeviceError>;
    /// All counters, with per-CPU and per-syscall arrays.
    fn stats(&self) -> Result<Stats, DeviceError>;
    /// Zeroes the counters and restarts `reset_ns`.
    fn reset_stats(&self) -> Result<(), DeviceError>;
    /// Maps the rings: the one consumer (EBUSY while another exists).
    fn map(&self) -> Result<Box<dyn Consumer>, DeviceError>;
    /// Blocks until a ring has data, `stop` is readable or `timeout`
    /// passes (`None`: no timeout). EINTR is retried.
    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake>;
}

/// Turns capture on or off and leaves the rest of the configuration as
/// it is: GET_CONFIG, then SET_CONFIG with `CFG_ENABLED` changed (nothing
/// when it already has that value).
pub fn set_capture(backend: &dyn Backend, on: bool) -> Result<(), DeviceError> {
    let mut cfg = backend.config()?;
    let flags = if on {
        cfg.flags | abi::CFG_ENABLED
    } else {
        cfg.flags & !abi::CFG_ENABLED
    };
    if flags == cfg.flags {
        return Ok(());
    }
    cfg.flags = flags;
    backend.set_config(&cfg)
}

/// The reader of the mapped rings.
pub trait Consumer: Send {
    /// Reads every ring once, appends records and drops merged in time
    /// order to `out`, returns how many items were appended.
    fn drain(&mut self, out: &mut Items) -> usize;
    /// Same as [`Backend::wait`].
    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake>;
    /// Number of rings.
    fn nr_cpus(&self) -> usize;
    /// The consumer's own counters (records, drops, resyncs).
    fn stats(&self) -> ConsumerStats;
    /// Expects `seq` as the next record of `cpu`: what a previous
    /// consumer drained but never kept is then reported dropped.  False
    /// when the ring's sequence never reached it (see `RingConsumer`).
    fn resume(&mut self, cpu: u32, seq: u64) -> bool;
}

/// Something that can block until a ring has data.
pub(crate) trait Waiter: Send + Sync {
    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake>;
}

/// A mapping of the rings and its consumer state. Unmapped on drop.
pub struct Rings {
    ring: ring::RingConsumer,
    waiter: std::sync::Arc<dyn Waiter>,
    // Dropped last: owns the memory `ring` points into.
    _keep: Box<dyn Send>,
}

impl Rings {
    pub(crate) fn new(
        ring: ring::RingConsumer,
        waiter: std::sync::Arc<dyn Waiter>,
        keep: Box<dyn Send>,
    ) -> Self {
        Rings {
            ring,
            waiter,
            _keep: keep,
        }
    }
}

impl Consumer for Rings {
    fn drain(&mut self, out: &mut Items) -> usize {
        self.ring.drain(out, now_ns())
    }

    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        self.waiter.wait(stop, timeout)
    }

    fn nr_cpus(&self) -> usize {
        self.ring.nr_cpus()
    }

    fn stats(&self) -> ConsumerStats {
        self.ring.stats()
    }

    fn resume(&mut self, cpu: u32, seq: u64) -> bool {
        self.ring.resume(cpu as usize, seq)
    }
}
#[cfg(test)]
mod tests;
