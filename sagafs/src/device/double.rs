//! A test double of the capture device, for the daemon's and the tests'
//! host runs: heap memory laid out exactly like the kernel's mmap regions
//! (one control page per CPU, then one data area per CPU) and a producer
//! that writes the same ring bytes the kernel does (records from
//! `record::Builder::encode_into`, pads at the wrap, head then next_seq published with
//! store-release, a seq taken by every record that passes the filters,
//! drops counted when the ring is full or the tail is bogus). The real
//! consumer code reads it.
//!
//! It applies the configuration as the kernel does (syscall bitmaps and
//! their exclusions, pid/uid/comm lists, result, exclude-self), validates
//! SET_CONFIG the same way, and keeps the same counters with the same
//! invariants (calls = logged + filtered + dropped, per syscall and per
//! CPU). Records enter through [`DeviceDouble::inject`]; `wait` is woken
//! through a pipe once a ring holds more than `wakeup_bytes`.
//!
//! The `poke_*` methods write raw bytes or control words to simulate a
//! corrupt ring or a misbehaving consumer.

use std::alloc::{self, Layout};
use std::io;
use std::mem::{offset_of, size_of};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use parking_lot::Mutex;

use super::ring::{RingConsumer, RingMem};
use super::{wait, Backend, Consumer, DeviceError, Rings, Stats, Waiter, Wake};
use crate::abi::{
    self, sagafs_config, sagafs_counts, sagafs_cpu_stats, sagafs_info, sagafs_ring_ctrl,
};
use crate::clock::now_ns;
use crate::names;
use crate::record::{Abi, Builder};

const PAGE: usize = 4096;

/// What happened to an injected record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Written to its ring with this seq.
    Logged { seq: u64 },
    /// Rejected by the configuration (counted as filtered).
    Filtered,
    /// Passed the filters but the ring was full (counted, seq taken).
    Dropped { seq: u64 },
    /// Dropped because the consumer's tail is bogus (counted, seq taken).
    BadTail { seq: u64 },
    /// Capture is off: not seen, not counted.
    Off,
}

/// Zeroed, page-aligned memory shaped like the device's mapping.
struct Region {
    ptr: *mut u8,
    layout: Layout,
    nr_cpus: usize,
    ring_size: usize,
}

// SAFETY: the region is plain memory; shared access goes through atomics
// (control words) and byte copies ordered by them (data), as with the
// kernel's mapping.
unsafe impl Send for Region {}
// SAFETY: as above.
unsafe impl Sync for Region {}

impl Region {
    fn new(nr_cpus: usize, ring_size: usize) -> Region {
        let len = nr_cpus * PAGE + nr_cpus * ring_size;
        let layout = Layout::from_size_align(len, PAGE).expect("region layout");
        // SAFETY: `layout` has a non-zero size (nr_cpus >= 1).
        let ptr = unsafe { alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            alloc::handle_alloc_error(layout);
        }
        Region {
            ptr,
            layout,
            nr_cpus,
            ring_size,
        }
    }

    fn ctrl_len(&self) -> usize {
        self.nr_cpus * PAGE
    }

    fn word(&self, cpu: usize, offset: usize) -> &AtomicU64 {
        assert!(cpu < self.nr_cpus && offset + 8 <= size_of::<sagafs_ring_ctrl>());
        // SAFETY: in bounds (asserted), 8-aligned (page-aligned base,
        // page stride, 8-aligned field), alive as long as `self`.
        unsafe { AtomicU64::from_ptr(self.ptr.add(cpu * PAGE + offset).cast()) }
    }

    fn set_cpu_field(&self, cpu: usize, v: u32) {
        // SAFETY: the u32 `cpu` field of CPU `cpu`'s control block, in
        // bounds and 4-aligned; only this producer writes it.
        unsafe {
            ptr::write_volatile(
                self.ptr
                    .add(cpu * PAGE + offset_of!(sagafs_ring_ctrl, cpu))
                    .cast::<u32>(),
                v,
            )
        }
    }

    fn write(&self, cpu: usize, off: usize, bytes: &[u8]) {
        assert!(cpu < self.nr_cpus && off <= self.ring_size && bytes.len() <= self.ring_size - off);
        // SAFETY: the destination lies inside CPU `cpu`'s data area
        // (asserted); the consumer reads it only after the head that
        // covers it is published with release ordering.
        unsafe {
            ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.ptr.add(self.ctrl_len() + cpu * self.ring_size + off),
                bytes.len(),
            )
        }
    }

    /// A consumer view of this region.
    fn ring_mem(&self) -> RingMem {
        // SAFETY: the control blocks are PAGE apart from a page-aligned
        // base, the data areas follow them, and the `Rings` holding the
        // view also holds an `Arc` of this region.
        unsafe {
            RingMem::new(
                self.ptr,
                PAGE,
                self.ptr.add(self.ctrl_len()),
                self.ring_size,
                self.nr_cpus,
            )
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: allocated in `new` with this layout.
        unsafe { alloc::dealloc(self.ptr, self.layout) }
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct CpuProd {
    head: u64,
    next_seq: u64,
    logged: u64,
    dropped: u64,
    bad_tail_ever: u64,
    stats: sagafs_cpu_stats,
}

struct State {
    region: Arc<Region>,
    config: sagafs_config,
    cpus: Vec<CpuProd>,
    syscalls: Vec<sagafs_counts>,
    reset_ns: u64,
    enabled_ns: u64,
    enabled_since: Option<u64>,
    consumer_pid: u32,
    signaled: bool,
    /// The record being written (kept to reuse its memory).
    scratch: Vec<u8>,
}

struct Inner {
    nr_cpus: usize,
    state: Mutex<State>,
    wake_r: OwnedFd,
    wake_w: OwnedFd,
}

/// The device double (cheap to clone: clones share one device).
#[derive(Clone)]
pub struct DeviceDouble {
    inner: Arc<Inner>,
}

fn bit(map: &[[u64; abi::BITMAP_WORDS]; abi::NR_ABIS], abi: Abi, slot: usize) -> bool {
    map[abi.index()][slot / 64] & (1u64 << (slot % 64)) != 0
}

fn comm_of(entry: &[u8; abi::COMM_LEN]) -> &[u8] {
    let n = entry.iter().position(|&c| c == 0).unwrap_or(abi::COMM_LEN);
    &entry[..n]
}

fn ids(list: &[u32], n: u32) -> &[u32] {
    &list[..(n as usize).min(list.len())]
}

/// The kernel's filter decision for `r`.
fn passes(cfg: &sagafs_config, r: &Builder, self_pid: u32) -> bool {
    let s = names::slot_of(r.abi, r.nr);
    if !bit(&cfg.syscalls, r.abi, s) || bit(&cfg.exclude_syscalls, r.abi, s) {
        return false;
    }
    if cfg.flags & abi::CFG_EXCLUDE_SELF != 0 && self_pid != 0 && r.pid == self_pid {
        return false;
    }
    let pids = ids(&cfg.pids, cfg.nr_pids);
    if !pids.is_empty() && !pids.contains(&r.pid) {
        return false;
    }
    if ids(&cfg.exclude_pids, cfg.nr_exclude_pids).contains(&r.pid) {
        return false;
    }
    let uids = ids(&cfg.uids, cfg.nr_uids);
    if !uids.is_empty() && !uids.contains(&r.uid) {
        return false;
    }
    if ids(&cfg.exclude_uids, cfg.nr_exclude_uids).contains(&r.uid) {
        return false;
    }
    let comm = &r.comm[..r.comm.len().min(abi::COMM_LEN - 1)];
    let comms = &cfg.comms[..(cfg.nr_comms as usize).min(abi::MAX_COMMS)];
    if !comms.is_empty() && !comms.iter().any(|c| comm_of(c) == comm) {
        return false;
    }
    let ex = &cfg.exclude_comms[..(cfg.nr_exclude_comms as usize).min(abi::MAX_COMMS)];
    if ex.iter().any(|c| comm_of(c) == comm) {
        return false;
    }
    match cfg.result {
        abi::RESULT_SUCCESS => !r.is_error(),
        abi::RESULT_FAILURE => r.is_error(),
        _ => true,
    }
}

/// Validates a configuration the way SET_CONFIG does.
pub fn validate_config(c: &sagafs_config) -> Result<(), DeviceError> {
    let inval = |m: String| {
        Err(DeviceError::new(
            Errno::EINVAL,
            format!("invalid configuration: {m}"),
        ))
    };
    if c.size as usize != size_of::<sagafs_config>() {
        return inval(format!(
            "size {} (expected {})",
            c.size,
            size_of::<sagafs_config>()
        ));
    }
    if c.flags & !abi::CFG_FLAGS_ALL != 0 {
        return inval(format!(
            "unknown flags {:#x}",
            c.flags & !abi::CFG_FLAGS_ALL
        ));
    }
    if c.result > abi::RESULT_FAILURE {
        return inval(format!("result {} (0 any, 1 success, 2 failure)", c.result));
    }
    if c.snaplen > abi::SNAPLEN_MAX {
        return inval(format!("snaplen {} above {}", c.snaplen, abi::SNAPLEN_MAX));
    }
    if !c.ring_kb.is_power_of_two() || c.ring_kb < abi::RING_KB_MIN || c.ring_kb > abi::RING_KB_MAX
    {
        return inval(format!(
            "ring_kb {} (a power of two in [{}, {}])",
            c.ring_kb,
            abi::RING_KB_MIN,
            abi::RING_KB_MAX
        ));
    }
    let counts = [
        ("pids", c.nr_pids, abi::MAX_IDS),
        ("exclude_pids", c.nr_exclude_pids, abi::MAX_IDS),
        ("uids", c.nr_uids, abi::MAX_IDS),
        ("exclude_uids", c.nr_exclude_uids, abi::MAX_IDS),
        ("comms", c.nr_comms, abi::MAX_COMMS),
        ("exclude_comms", c.nr_exclude_comms, abi::MAX_COMMS),
    ];
    for (name, n, max) in counts {
        if n as usize > max {
            return inval(format!("{n} {name} (at most {max})"));
        }
    }
    let pids = c.pids[..c.nr_pids as usize]
        .iter()
        .chain(&c.exclude_pids[..c.nr_exclude_pids as usize]);
    if pids.clone().any(|&p| p == 0) {
        return inval("pid 0 in a pid list".to_string());
    }
    let uids = c.uids[..c.nr_uids as usize]
        .iter()
        .chain(&c.exclude_uids[..c.nr_exclude_uids as usize]);
    if uids.clone().any(|&u| u == u32::MAX) {
        return inval("uid 4294967295 in a uid list".to_string());
    }
    let comms = c.comms[..c.nr_comms as usize]
        .iter()
        .chain(&c.exclude_comms[..c.nr_exclude_comms as usize]);
    for comm in comms {
        if comm[0] == 0 || !comm.contains(&0) {
            return inval("a comm is empty or not NUL terminated".to_string());
        }
    }
    Ok(())
}

impl DeviceDouble {
    /// A double with `nr_cpus` rings of `ring_kb` KiB each. Its starting
    /// configuration is the module's (every syscall of every ABI selected,
    /// no lists, exclude-self, default snaplen, wakeup on any record)
    /// except that capture is on, so that `inject` records at once.
    pub fn new(nr_cpus: usize, ring_kb: u32) -> DeviceDouble {
        assert!(nr_cpus >= 1, "a device has at least one ring");
        let mut config = sagafs_config {
            flags: abi::CFG_ENABLED | abi::CFG_EXCLUDE_SELF,
            snaplen: abi::SNAPLEN_DEFAULT,
            ring_kb,
            ..Default::default()
        };
        config.syscalls = [[u64::MAX; abi::BITMAP_WORDS]; abi::NR_ABIS];
        validate_config(&config).expect("ring_kb must be a power of two in [32, 262144]");
        let ring_size = ring_kb as usize * 1024;
        let (wake_r, wake_w) =
            nix::unistd::pipe2(OFlag::O_CLOEXEC | OFlag::O_NONBLOCK).expect("pipe for the double");
        let now = now_ns();
        let state = State {
            region: Arc::new(Region::new(nr_cpus, ring_size)),
            config,
            cpus: vec![CpuProd::default(); nr_cpus],
            syscalls: vec![sagafs_counts::default(); abi::NR_ABIS * abi::NR_SLOTS],
            reset_ns: now,
            enabled_ns: 0,
            enabled_since: Some(now),
            consumer_pid: 0,
            signaled: false,
            scratch: Vec::new(),
        };
        state.publish_all();
        DeviceDouble {
            inner: Arc::new(Inner {
                nr_cpus,
                state: Mutex::new(state),
                wake_r,
                wake_w,
            }),
        }
    }

    /// Feeds one completed syscall to the probe on CPU `r.cpu`
    /// (`seq` is assigned; `cpu` must be below the number of rings).
    pub fn inject(&self, r: Builder) -> Outcome {
        assert!(
            (r.cpu as usize) < self.inner.nr_cpus,
            "cpu {} out of range",
            r.cpu
        );
        let mut st = self.inner.state.lock();
        let out = st.produce(r);
        st.maybe_wake(&self.inner);
        out
    }

    /// `inject` for each record, in order.
    pub fn inject_many(&self, rs: impl IntoIterator<Item = Builder>) -> Vec<Outcome> {
        rs.into_iter().map(|r| self.inject(r)).collect()
    }

    /// Writes raw bytes at the head of CPU `cpu`'s ring and publishes
    /// them, as if the kernel wrote a record of a type this consumer may
    /// not know. Takes no seq. Panics if they do not fit before the end.
    pub fn inject_raw(&self, cpu: usize, bytes: &[u8]) {
        let mut st = self.inner.state.lock();
        let region = st.region.clone();
        let c = &mut st.cpus[cpu];
        let off = (c.head as usize) & (region.ring_size - 1);
        region.write(cpu, off, bytes);
        c.head += bytes.len() as u64;
        region
            .word(cpu, offset_of!(sagafs_ring_ctrl, head))
            .store(c.head, Ordering::Release);
        st.maybe_wake(&self.inner);
    }

    /// Overwrites bytes of CPU `cpu`'s data area at byte offset `off`.
    pub fn poke_data(&self, cpu: usize, off: usize, bytes: &[u8]) {
        self.inner.state.lock().region.write(cpu, off, bytes);
    }

    /// Overwrites the published head of CPU `cpu` (the producer keeps
    /// its own and republishes it with the next record).
    pub fn poke_head(&self, cpu: usize, head: u64) {
        let st = self.inner.state.lock();
        st.region
            .word(cpu, offset_of!(sagafs_ring_ctrl, head))
            .store(head, Ordering::Release);
    }

    /// Overwrites the published next_seq of CPU `cpu`, e.g. with what it
    /// was before the last record: the moment between the producer's
    /// store of head and its store of next_seq.
    pub fn poke_next_seq(&self, cpu: usize, next_seq: u64) {
        let st = self.inner.state.lock();
        st.region
            .word(cpu, offset_of!(sagafs_ring_ctrl, next_seq))
            .store(next_seq, Ordering::Release);
    }

    /// Writes the consumer's tail of CPU `cpu`, as a misbehaving consumer would.
    pub fn poke_tail(&self, cpu: usize, tail: u64) {
        let st = self.inner.state.lock();
        st.region
            .word(cpu, offset_of!(sagafs_ring_ctrl, tail))
            .store(tail, Ordering::Release);
    }

    /// The producer's head and the tail in the control block of `cpu`.
    pub fn head_tail(&self, cpu: usize) -> (u64, u64) {
        let st = self.inner.state.lock();
        (
            st.cpus[cpu].head,
            st.region
                .word(cpu, offset_of!(sagafs_ring_ctrl, tail))
                .load(Ordering::Acquire),
        )
    }

    /// The pid recorded as the consumer (this process while mapped).
    pub fn consumer_pid(&self) -> u32 {
        self.inner.state.lock().consumer_pid
    }
}

impl State {
    fn ring_size(&self) -> usize {
        self.region.ring_size
    }

    fn tail(&self, cpu: usize) -> u64 {
        self.region
            .word(cpu, offset_of!(sagafs_ring_ctrl, tail))
            .load(Ordering::Acquire)
    }

    /// Writes the reader's copies of CPU `cpu`'s counters.
    fn publish(&self, cpu: usize) {
        let c = &self.cpus[cpu];
        let w = |f, v| self.region.word(cpu, f).store(v, Ordering::Release);
        w(offset_of!(sagafs_ring_ctrl, head), c.head);
        w(offset_of!(sagafs_ring_ctrl, next_seq), c.next_seq);
        w(
            offset_of!(sagafs_ring_ctrl, ring_size),
            self.ring_size() as u64,
        );
        w(offset_of!(sagafs_ring_ctrl, dropped), c.dropped);
        w(offset_of!(sagafs_ring_ctrl, logged), c.logged);
        w(offset_of!(sagafs_ring_ctrl, bad_tail), c.bad_tail_ever);
        self.region.set_cpu_field(cpu, cpu as u32);
    }

    fn publish_all(&self) {
        for cpu in 0..self.cpus.len() {
            self.publish(cpu);
        }
    }

    fn enabled(&self) -> bool {
        self.config.flags & abi::CFG_ENABLED != 0
    }

    fn set_enabled(&mut self, on: bool) {
        let now = now_ns();
        if on && self.enabled_since.is_none() {
            self.enabled_since = Some(now);
        } else if !on {
            if let Some(t) = self.enabled_since.take() {
                self.enabled_ns += now.saturating_sub(t);
            }
        }
        if on {
            self.config.flags |= abi::CFG_ENABLED;
        } else {
            self.config.flags &= !abi::CFG_ENABLED;
        }
    }

    fn produce(&mut self, mut r: Builder) -> Outcome {
        if !self.enabled() {
            return Outcome::Off;
        }
        let cpu = r.cpu as usize;
        let s = names::slot_of(r.abi, r.nr);
        let counts = &mut self.syscalls[r.abi.index() * abi::NR_SLOTS + s];
        counts.calls += 1;
        self.cpus[cpu].stats.calls += 1;
        if r.is_error() {
            counts.errors += 1;
        }
        if !passes(&self.config, &r, self.consumer_pid) {
            counts.filtered += 1;
            self.cpus[cpu].stats.filtered += 1;
            return Outcome::Filtered;
        }
        // Paths are cut to the snap length, or not captured at all.
        let snaplen = self.config.snaplen as usize;
        for p in r.paths.iter_mut() {
            if snaplen == 0 {
                *p = None;
            } else if let Some(p) = p {
                if p.bytes.len() > snaplen {
                    p.bytes.truncate(snaplen);
                    p.truncated = true;
                }
            }
        }
        let region = self.region.clone();
        let ring = region.ring_size;
        let tail = self.tail(cpu);
        let c = &mut self.cpus[cpu];
        let seq = c.next_seq;
        c.next_seq += 1;
        r.seq = seq;
        let mut bytes = std::mem::take(&mut self.scratch);
        bytes.clear();
        r.encode_into(&mut bytes);
        let used = c.head.wrapping_sub(tail);
        let off = (c.head as usize) & (ring - 1);
        let pad = if off + bytes.len() > ring {
            ring - off
        } else {
            0
        };
        let counts = &mut self.syscalls[r.abi.index() * abi::NR_SLOTS + s];
        let bogus = used > ring as u64 || tail % abi::RECORD_ALIGN as u64 != 0;
        let out = if bogus {
            c.dropped += 1;
            c.bad_tail_ever += 1;
            c.stats.dropped += 1;
            c.stats.bad_tail += 1;
            counts.dropped += 1;
            Outcome::BadTail { seq }
        } else if used as usize + pad + bytes.len() > ring {
            c.dropped += 1;
            c.stats.dropped += 1;
            counts.dropped += 1;
            Outcome::Dropped { seq }
        } else {
            if pad > 0 {
                let mut p = [0u8; abi::RECORD_ALIGN];
                p[..2].copy_from_slice(&(pad as u16).to_ne_bytes());
                p[2..4].copy_from_slice(&abi::REC_PAD.to_ne_bytes());
                region.write(cpu, off, &p);
                c.head += pad as u64;
            }
            region.write(cpu, (c.head as usize) & (ring - 1), &bytes);
            c.head += bytes.len() as u64;
            c.logged += 1;
            c.stats.logged += 1;
            c.stats.bytes += bytes.len() as u64;
            counts.logged += 1;
            Outcome::Logged { seq }
        };
        // head first, then next_seq, both store-release (in `publish`).
        self.publish(cpu);
        self.scratch = bytes;
        out
    }

    /// Unread bytes, 0 when the consumer's tail is bogus.
    fn ring_used(&self, cpu: usize) -> u64 {
        let tail = self.tail(cpu);
        let used = self.cpus[cpu].head.wrapping_sub(tail);
        if used > self.ring_size() as u64 || tail % abi::RECORD_ALIGN as u64 != 0 {
            0
        } else {
            used
        }
    }

    fn data_ready(&self) -> bool {
        (0..self.cpus.len()).any(|cpu| self.ring_used(cpu) > self.config.wakeup_bytes as u64)
    }

    fn maybe_wake(&mut self, inner: &Inner) {
        if !self.signaled && self.data_ready() {
            // A full pipe already wakes every poller; nothing to do then.
            let _ = nix::unistd::write(&inner.wake_w, &[1]);
            self.signaled = true;
        }
    }
}

struct DoubleWaiter(Arc<Inner>);

impl Waiter for DoubleWaiter {
    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        {
            let mut st = self.0.state.lock();
            let mut buf = [0u8; 64];
            while matches!(nix::unistd::read(&self.0.wake_r, &mut buf), Ok(n) if n > 0) {}
            st.signaled = false;
            if st.data_ready() {
                return Ok(Wake::Data);
            }
        }
        wait::poll_wait(self.0.wake_r.as_fd(), stop, timeout)
    }
}

/// Clears the consumer mark when the mapping goes away.
struct MapGuard(Arc<Inner>);

impl Drop for MapGuard {
    fn drop(&mut self) {
        self.0.state.lock().consumer_pid = 0;
    }
}

impl Backend for DeviceDouble {
    fn info(&self) -> Result<sagafs_info, DeviceError> {
        let st = self.inner.state.lock();
        let n = self.inner.nr_cpus as u64;
        let ring = st.ring_size() as u64;
        Ok(sagafs_info {
            size: size_of::<sagafs_info>() as u32,
            abi_version: abi::ABI_VERSION,
            nr_cpus: n as u32,
            page_size: PAGE as u32,
            ring_size: ring,
            ctrl_offset: 0,
            ctrl_stride: PAGE as u64,
            ctrl_len: n * PAGE as u64,
            data_offset: n * PAGE as u64,
            data_len: n * ring,
            record_align: abi::RECORD_ALIGN as u32,
            record_max: abi::RECORD_MAX as u32,
            nr_slots: abi::NR_SLOTS as u32,
            nr_abis: abi::NR_ABIS as u32,
            snaplen_max: abi::SNAPLEN_MAX,
            consumer_pid: st.consumer_pid,
        })
    }

    fn config(&self) -> Result<sagafs_config, DeviceError> {
        Ok(self.inner.state.lock().config)
    }

    fn set_config(&self, cfg: &sagafs_config) -> Result<(), DeviceError> {
        validate_config(cfg)?;
        let mut st = self.inner.state.lock();
        if cfg.ring_kb != st.config.ring_kb {
            if st.enabled() || st.consumer_pid != 0 {
                return Err(DeviceError::request("SET_CONFIG", Errno::EBUSY));
            }
            let n = self.inner.nr_cpus;
            st.region = Arc::new(Region::new(n, cfg.ring_kb as usize * 1024));
            for c in st.cpus.iter_mut() {
                c.head = 0;
            }
            st.publish_all();
        }
        let on = cfg.flags & abi::CFG_ENABLED != 0;
        st.config = *cfg;
        st.set_enabled(on);
        Ok(())
    }

    fn stats(&self) -> Result<Stats, DeviceError> {
        let st = self.inner.state.lock();
        let mut total = sagafs_counts::default();
        for c in &st.syscalls {
            total.calls += c.calls;
            total.errors += c.errors;
            total.logged += c.logged;
            total.filtered += c.filtered;
            total.dropped += c.dropped;
        }
        let cpus: Vec<sagafs_cpu_stats> = (0..st.cpus.len())
            .map(|cpu| {
                let mut s = st.cpus[cpu].stats;
                s.ring_used = st.ring_used(cpu);
                s.ring_size = st.ring_size() as u64;
                s
            })
            .collect();
        let running = st.enabled_since.map_or(0, |t| now_ns().saturating_sub(t));
        Ok(Stats {
            total,
            bytes: cpus.iter().map(|c| c.bytes).sum(),
            bad_tail: cpus.iter().map(|c| c.bad_tail).sum(),
            skip_unflagged: 0,
            reset_ns: st.reset_ns,
            enabled_ns: st.enabled_ns + running,
            cpus,
            syscalls: st
                .syscalls
                .chunks(abi::NR_SLOTS)
                .map(<[_]>::to_vec)
                .collect(),
        })
    }

    fn reset_stats(&self) -> Result<(), DeviceError> {
        let mut st = self.inner.state.lock();
        let now = now_ns();
        for c in st.cpus.iter_mut() {
            c.stats = sagafs_cpu_stats::default();
        }
        st.syscalls.fill(sagafs_counts::default());
        st.reset_ns = now;
        st.enabled_ns = 0;
        if st.enabled_since.is_some() {
            st.enabled_since = Some(now);
        }
        Ok(())
    }

    fn map(&self) -> Result<Box<dyn Consumer>, DeviceError> {
        let mut st = self.inner.state.lock();
        if st.consumer_pid != 0 {
            return Err(DeviceError::busy(st.consumer_pid));
        }
        st.consumer_pid = std::process::id();
        let region = st.region.clone();
        let consumer = RingConsumer::new(region.ring_mem());
        drop(st);
        Ok(Box::new(Rings::new(
            consumer,
            Arc::new(DoubleWaiter(self.inner.clone())),
            Box::new((region, MapGuard(self.inner.clone()))),
        )))
    }

    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        DoubleWaiter(self.inner.clone()).wait(stop, timeout)
    }
}
