//! The eBPF capture backend: the capture program of `bpf/` loaded with
//! libbpf (through libbpf-rs), behind the same [`Backend`] and
//! [`Consumer`] as the module, producing the module's records.
//!
//! - `load`: checks, loading, attach type.
//! - `layout`: the maps' value types (mirrors of `bpf/sagafs_bpf.h`).
//! - `slots`: the call table the program reads.
//! - `mem`: the mmap'd maps and ring buffers (the only `unsafe` here).
//! - `consumer`: [`BpfRings`], the ring buffer consumer.
//! - `clock`: the offsets that make the program's clock CLOCK_REALTIME.
//!
//! Capture on is the programs attached; off, detached.  A configuration
//! is validated as the module validates it and published by writing the
//! spare one of two config slots, flipping the control word and waiting
//! for an RCU grace period (a map-in-map update waits for every running
//! program), so a program never sees half of one.  Counters are the
//! program's, read through mmap; RESET_STATS keeps a baseline to subtract
//! (the program's counters never go backwards).

mod clock;
mod consumer;
mod layout;
#[cfg(test)]
mod layout_check;
mod load;
mod mem;
mod slots;

use std::io;
use std::mem::size_of;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use libbpf_rs::{Link, MapCore, MapFlags, MapHandle, MapType, Object};
use nix::errno::Errno;
use parking_lot::Mutex;

pub use consumer::BpfRings;
pub use load::{preflight, Attach};

use self::layout::{bytes_of, sagafs_bpf_config, sagafs_bpf_cpu, sagafs_bpf_ctl, SLOTS};
use self::mem::{ArrayMem, RingbufMem};
use super::abi::{self, sagafs_config, sagafs_counts, sagafs_cpu_stats, sagafs_info};
use super::{wait, Backend, Consumer, DeviceError, Stats, Wake};
use crate::rules::{RuleSet, RulesInForce};

/// How to load the backend.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BpfOptions {
    /// Attach with plain raw tracepoints even where `tp_btf` works.
    pub force_raw_tp: bool,
}

/// Counter values subtracted since the last reset.
#[derive(Clone, Default)]
struct Baseline {
    cpus: Vec<sagafs_bpf_cpu>,
    counts: Vec<sagafs_counts>,
}

struct Inner {
    // Links before the object: detached before the programs go.
    links: Vec<Link>,
    obj: Object,
    rings: Vec<MapHandle>,
    ring_mem: Vec<RingbufMem>,
    ring_size: usize,
    cfg: sagafs_config,
    active: u32,
    epoch: u32,
    base: Baseline,
    reset_ns: u64,
    enabled_sum_ns: u64,
    enabled_since_ns: u64,
}

/// The loaded capture program.
pub struct BpfBackend {
    inner: Mutex<Inner>,
    attach: Attach,
    nr_cpus: usize,
    page: usize,
    cpus: Arc<ArrayMem>,
    counts: ArrayMem,
    control: Arc<ArrayMem>,
    live: Arc<AtomicBool>,
}

fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn bpf_err(what: &str, e: &libbpf_rs::Error) -> DeviceError {
    DeviceError::new(load::errno_of(e), format!("BPF backend: {what}: {e}"))
}

fn map<'a>(obj: &'a Object, name: &str) -> Result<libbpf_rs::Map<'a>, DeviceError> {
    obj.maps().find(|m| m.name() == name).ok_or_else(|| {
        DeviceError::new(
            Errno::ENOENT,
            format!("BPF backend: the capture program has no map '{name}'"),
        )
    })
}

fn page_size() -> usize {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .map_or(4096, |p| p as usize)
}

/// The module's defaults (kmod/control.c): everything logged, own
/// process excluded, capture off.
fn default_config() -> sagafs_config {
    let mut c = sagafs_config {
        size: size_of::<sagafs_config>() as u32,
        flags: abi::CFG_EXCLUDE_SELF,
        result: abi::RESULT_ANY,
        snaplen: abi::SNAPLEN_DEFAULT,
        ring_kb: abi::RING_KB_DEFAULT,
        ..Default::default()
    };
    for w in c.syscalls.iter_mut().flatten() {
        *w = u64::MAX;
    }
    c
}

fn invalid(msg: String) -> DeviceError {
    DeviceError::new(
        Errno::EINVAL,
        format!("SET_CONFIG: {msg}; nothing was changed"),
    )
}

fn check_ids(ids: &mut [u32], n: u32, bad: u32, what: &str) -> Result<(), DeviceError> {
    if n as usize > abi::MAX_IDS {
        return Err(invalid(format!(
            "{what}: {n} entries, at most {}",
            abi::MAX_IDS
        )));
    }
    if let Some(i) = ids[..n as usize].iter().position(|&v| v == bad) {
        return Err(invalid(format!("{what}[{i}] = {bad} is not valid")));
    }
    ids[n as usize..].fill(0);
    Ok(())
}

fn check_comms(comms: &mut [[u8; abi::COMM_LEN]], n: u32, what: &str) -> Result<(), DeviceError> {
    if n as usize > abi::MAX_COMMS {
        return Err(invalid(format!(
            "{what}: {n} entries, at most {}",
            abi::MAX_COMMS
        )));
    }
    for (i, c) in comms.iter_mut().enumerate() {
        if i >= n as usize {
            *c = [0; abi::COMM_LEN];
            continue;
        }
        let len = c.iter().position(|&b| b == 0).unwrap_or(abi::COMM_LEN);
        if len == 0 || len == abi::COMM_LEN {
            return Err(invalid(format!(
                "{what}[{i}] is empty or not NUL terminated"
            )));
        }
        c[len..].fill(0);
    }
    Ok(())
}

/// The module's SET_CONFIG validation and normalisation (kmod/control.c).
pub fn validate(cfg: &sagafs_config) -> Result<sagafs_config, DeviceError> {
    let mut c = *cfg;
    if c.flags & !abi::CFG_FLAGS_ALL != 0 {
        return Err(invalid(format!(
            "unknown flags {:#x}",
            c.flags & !abi::CFG_FLAGS_ALL
        )));
    }
    if c.result > abi::RESULT_FAILURE {
        return Err(invalid(format!("result {} is not 0, 1 or 2", c.result)));
    }
    if c.snaplen > abi::SNAPLEN_MAX {
        return Err(invalid(format!(
            "snaplen {} above {}",
            c.snaplen,
            abi::SNAPLEN_MAX
        )));
    }
    if !(abi::RING_KB_MIN..=abi::RING_KB_MAX).contains(&c.ring_kb) || !c.ring_kb.is_power_of_two() {
        return Err(invalid(format!(
            "ring_kb {} is not a power of two in [{}, {}]",
            c.ring_kb,
            abi::RING_KB_MIN,
            abi::RING_KB_MAX
        )));
    }
    check_ids(&mut c.pids, c.nr_pids, 0, "pids")?;
    check_ids(&mut c.exclude_pids, c.nr_exclude_pids, 0, "exclude_pids")?;
    check_ids(&mut c.uids, c.nr_uids, u32::MAX, "uids")?;
    check_ids(
        &mut c.exclude_uids,
        c.nr_exclude_uids,
        u32::MAX,
        "exclude_uids",
    )?;
    check_comms(&mut c.comms, c.nr_comms, "comms")?;
    check_comms(&mut c.exclude_comms, c.nr_exclude_comms, "exclude_comms")?;
    c.size = size_of::<sagafs_config>() as u32;
    Ok(c)
}

impl BpfBackend {
    /// Loads the capture program (capture off, the module's default
    /// configuration).
    pub fn open(opts: BpfOptions) -> Result<BpfBackend, DeviceError> {
        let nr_cpus = libbpf_rs::num_possible_cpus()
            .map_err(|e| bpf_err("counting the possible CPUs", &e))?;
        let (obj, attach) = load::load(nr_cpus as u32, opts.force_raw_tp)?;
        let page = page_size();
        let mmap_len = |bytes: usize| bytes.next_multiple_of(page);
        let mapped = |name: &str, len: usize| -> Result<ArrayMem, DeviceError> {
            let m = map(&obj, name)?;
            ArrayMem::new(m.as_fd(), mmap_len(len)).map_err(|e| {
                DeviceError::new(
                    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                    format!("BPF backend: cannot map the '{name}' map: {e}"),
                )
            })
        };
        let cpus = mapped("cpus", nr_cpus * size_of::<sagafs_bpf_cpu>())?;
        let counts = mapped("counts", nr_cpus * SLOTS * size_of::<sagafs_counts>())?;
        let control = mapped("control", size_of::<sagafs_bpf_ctl>())?;
        let table = slots::table();
        let slots_map = map(&obj, "slots")?;
        for (i, s) in table.iter().enumerate() {
            slots_map
                .update(&(i as u32).to_ne_bytes(), bytes_of(s), MapFlags::ANY)
                .map_err(|e| bpf_err("filling the call table", &e))?;
        }
        clock::publish(&control);
        let cfg = default_config();
        let now = now_ns();
        let inner = Inner {
            links: Vec::new(),
            obj,
            rings: Vec::new(),
            ring_mem: Vec::new(),
            ring_size: 0,
            cfg,
            active: 0,
            epoch: 0,
            base: Baseline::default(),
            reset_ns: now,
            enabled_sum_ns: 0,
            enabled_since_ns: now,
        };
        let be = BpfBackend {
            inner: Mutex::new(inner),
            attach,
            nr_cpus,
            page,
            cpus: Arc::new(cpus),
            counts,
            control: Arc::new(control),
            live: Arc::new(AtomicBool::new(false)),
        };
        {
            let mut g = be.inner.lock();
            be.make_rings(&mut g, cfg.ring_kb as usize * 1024)?;
            be.publish(&mut g, &cfg)?;
        }
        Ok(be)
    }

    /// How the programs attach (`tp_btf` or `raw_tp`).
    pub fn attach_type(&self) -> Attach {
        self.attach
    }

    /// Creates one ring buffer per CPU of `size` bytes and installs them;
    /// on failure the old ones stay.
    fn make_rings(&self, g: &mut Inner, size: usize) -> Result<(), DeviceError> {
        let opts = libbpf_rs::libbpf_sys::bpf_map_create_opts {
            sz: size_of::<libbpf_rs::libbpf_sys::bpf_map_create_opts>() as _,
            ..Default::default()
        };
        let mut rings = Vec::with_capacity(self.nr_cpus);
        let mut mems = Vec::with_capacity(self.nr_cpus);
        for cpu in 0..self.nr_cpus {
            let r = MapHandle::create(
                MapType::RingBuf,
                Some("sagafs_ring"),
                0,
                0,
                size as u32,
                &opts,
            )
            .map_err(|e| {
                let errno = load::errno_of(&e);
                DeviceError::new(
                    errno,
                    format!(
                        "BPF backend: cannot create the ring buffer of cpu {cpu} \
                             ({} KiB): {e}",
                        size / 1024
                    ),
                )
            })?;
            let m = RingbufMem::new(r.as_fd(), size, self.page).map_err(|e| {
                DeviceError::new(
                    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                    format!("BPF backend: cannot map the ring buffer of cpu {cpu}: {e}"),
                )
            })?;
            rings.push(r);
            mems.push(m);
        }
        let outer = map(&g.obj, "rings")?;
        for (cpu, r) in rings.iter().enumerate() {
            outer
                .update(
                    &(cpu as u32).to_ne_bytes(),
                    &(r.as_fd().as_raw_fd() as u32).to_ne_bytes(),
                    MapFlags::ANY,
                )
                .map_err(|e| bpf_err("installing a ring buffer", &e))?;
        }
        g.rings = rings;
        g.ring_mem = mems;
        g.ring_size = size;
        Ok(())
    }

    /// Waits until no program still runs with what it read before: an
    /// update of a map-in-map returns only after an RCU grace period.
    fn grace_period(&self, g: &Inner) -> Result<(), DeviceError> {
        let outer = map(&g.obj, "rings")?;
        let fd = g.rings[0].as_fd().as_raw_fd() as u32;
        outer
            .update(&0u32.to_ne_bytes(), &fd.to_ne_bytes(), MapFlags::ANY)
            .map_err(|e| bpf_err("waiting for running programs", &e))
    }

    fn control_u32(&self, off: usize) -> &std::sync::atomic::AtomicU32 {
        self.control.u32_at(off)
    }

    /// Writes `cfg` into the spare config slot and makes it the one in
    /// force.
    fn publish(&self, g: &mut Inner, cfg: &sagafs_config) -> Result<(), DeviceError> {
        let mut k = sagafs_bpf_config {
            eff: [[0; abi::BITMAP_WORDS]; abi::NR_ABIS],
            self_tgid: std::process::id(),
            __pad0: 0,
            user: *cfg,
        };
        for a in 0..abi::NR_ABIS {
            for w in 0..abi::BITMAP_WORDS {
                k.eff[a][w] = cfg.syscalls[a][w] & !cfg.exclude_syscalls[a][w];
            }
        }
        let spare = g.active ^ 1;
        map(&g.obj, "configs")?
            .update(&spare.to_ne_bytes(), bytes_of(&k), MapFlags::ANY)
            .map_err(|e| bpf_err("writing the configuration", &e))?;
        self.control_u32(std::mem::offset_of!(sagafs_bpf_ctl, active))
            .store(spare, Ordering::Release);
        g.active = spare;
        // The old slot is free for the next change only after this.
        self.grace_period(g)
    }

    fn attach_locked(&self, g: &mut Inner) -> Result<(), DeviceError> {
        if !g.links.is_empty() {
            return Ok(());
        }
        g.epoch = g.epoch.wrapping_add(1);
        self.control_u32(std::mem::offset_of!(sagafs_bpf_ctl, epoch))
            .store(g.epoch, Ordering::Release);
        clock::publish(&self.control);
        let (enter, exit) = self.attach.programs();
        let mut links = Vec::with_capacity(2);
        for name in [enter, exit] {
            let prog = g
                .obj
                .progs_mut()
                .find(|p| p.name() == name)
                .ok_or_else(|| {
                    DeviceError::new(Errno::ENOENT, format!("BPF backend: no program {name}"))
                })?;
            let link = prog.attach().map_err(|e| {
                bpf_err(
                    &format!(
                        "attaching {name} ({}) to the syscall tracepoint",
                        self.attach.as_str()
                    ),
                    &e,
                )
            })?;
            links.push(link);
        }
        g.links = links;
        g.enabled_since_ns = now_ns();
        Ok(())
    }

    fn detach_locked(&self, g: &mut Inner) {
        if g.links.is_empty() {
            return;
        }
        // sys_exit first, so that no exit is seen without its entry.
        while let Some(l) = g.links.pop() {
            drop(l);
        }
        g.enabled_sum_ns += now_ns().saturating_sub(g.enabled_since_ns);
    }

    fn read_cpus(&self) -> Vec<sagafs_bpf_cpu> {
        let mut w = [0u64; 8];
        (0..self.nr_cpus)
            .map(|cpu| {
                self.cpus
                    .read_u64s(cpu * size_of::<sagafs_bpf_cpu>(), &mut w);
                sagafs_bpf_cpu {
                    next_seq: w[0],
                    calls: w[1],
                    errors: w[2],
                    logged: w[3],
                    filtered: w[4],
                    dropped: w[5],
                    bytes: w[6],
                    untracked: w[7],
                }
            })
            .collect()
    }

    /// `[abi][slot]` counts summed over CPUs.
    fn read_counts(&self) -> Vec<sagafs_counts> {
        let mut out = vec![sagafs_counts::default(); SLOTS];
        let mut w = [0u64; size_of::<sagafs_counts>() / 8];
        for cpu in 0..self.nr_cpus {
            for (i, c) in out.iter_mut().enumerate() {
                let off = (cpu * SLOTS + i) * size_of::<sagafs_counts>();
                self.counts.read_u64s(off, &mut w);
                c.calls += w[0];
                c.errors += w[1];
                c.logged += w[2];
                c.filtered += w[3];
                c.dropped += w[4];
                c.skipped += w[5];
            }
        }
        out
    }

    /// Task marks the program could not store (an allocation failed):
    /// those tasks' calls cannot be checked for a skipped entry.
    pub fn untracked(&self) -> u64 {
        self.read_cpus().iter().map(|c| c.untracked).sum()
    }
}

fn sub_counts(a: &sagafs_counts, b: &sagafs_counts) -> sagafs_counts {
    sagafs_counts {
        calls: a.calls.saturating_sub(b.calls),
        errors: a.errors.saturating_sub(b.errors),
        logged: a.logged.saturating_sub(b.logged),
        filtered: a.filtered.saturating_sub(b.filtered),
        dropped: a.dropped.saturating_sub(b.dropped),
        skipped: a.skipped.saturating_sub(b.skipped),
    }
}

impl Backend for BpfBackend {
    fn kind(&self) -> &'static str {
        "bpf"
    }

    fn info(&self) -> Result<sagafs_info, DeviceError> {
        let g = self.inner.lock();
        Ok(sagafs_info {
            size: size_of::<sagafs_info>() as u32,
            abi_version: abi::ABI_VERSION,
            nr_cpus: self.nr_cpus as u32,
            page_size: self.page as u32,
            ring_size: g.ring_size as u64,
            record_align: abi::RECORD_ALIGN as u32,
            record_max: abi::RECORD_MAX as u32,
            nr_slots: abi::NR_SLOTS as u32,
            nr_abis: abi::NR_ABIS as u32,
            snaplen_max: abi::SNAPLEN_MAX,
            consumer_pid: if self.live.load(Ordering::Acquire) {
                std::process::id()
            } else {
                0
            },
            ..Default::default()
        })
    }

    fn config(&self) -> Result<sagafs_config, DeviceError> {
        let g = self.inner.lock();
        let mut c = g.cfg;
        if g.links.is_empty() {
            c.flags &= !abi::CFG_ENABLED;
        } else {
            c.flags |= abi::CFG_ENABLED;
        }
        Ok(c)
    }

    /// The program evaluates the configuration's filters only: an empty
    /// list with the default `always` (what every mount starts with) is
    /// accepted, anything else is refused with the reason.
    fn set_rules(&self, set: &RuleSet) -> Result<(), DeviceError> {
        if set.rules.is_empty() && set.flags == 0 {
            return Ok(());
        }
        Err(DeviceError::new(
            Errno::EOPNOTSUPP,
            "rules need the module backend: the eBPF backend applies only the \
             configuration's filters (mount with backend=module; sagafs(8))"
                .to_string(),
        ))
    }

    fn rules(&self) -> Result<RulesInForce, DeviceError> {
        Ok(RulesInForce::default())
    }

    fn set_config(&self, cfg: &sagafs_config) -> Result<(), DeviceError> {
        let new = validate(cfg)?;
        let mut g = self.inner.lock();
        let size = new.ring_kb as usize * 1024;
        if size != g.ring_size {
            if !g.links.is_empty() || self.live.load(Ordering::Acquire) {
                return Err(DeviceError::new(
                    Errno::EBUSY,
                    "SET_CONFIG: ring_kb can change only while capture is off and no \
                     consumer maps the rings; nothing was changed",
                ));
            }
            self.make_rings(&mut g, size)?;
        }
        let old = g.cfg;
        self.publish(&mut g, &new)?;
        let r = if new.flags & abi::CFG_ENABLED != 0 {
            self.attach_locked(&mut g)
        } else {
            self.detach_locked(&mut g);
            Ok(())
        };
        if let Err(e) = r {
            // Back to the old configuration; the ring size stays new (no
            // record was lost: capture was off and nothing mapped).
            let _ = self.publish(&mut g, &old);
            return Err(e);
        }
        g.cfg = new;
        Ok(())
    }

    fn stats(&self) -> Result<Stats, DeviceError> {
        let g = self.inner.lock();
        let cpus = self.read_cpus();
        let counts = self.read_counts();
        let base_cpu = |i: usize| g.base.cpus.get(i).copied().unwrap_or_default();
        let mut total = sagafs_counts::default();
        let mut bytes = 0;
        let cpu_stats = cpus
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let b = base_cpu(i);
                let s = sagafs_cpu_stats {
                    calls: c.calls.saturating_sub(b.calls),
                    logged: c.logged.saturating_sub(b.logged),
                    filtered: c.filtered.saturating_sub(b.filtered),
                    dropped: c.dropped.saturating_sub(b.dropped),
                    bytes: c.bytes.saturating_sub(b.bytes),
                    bad_tail: 0,
                    ring_used: g
                        .ring_mem
                        .get(i)
                        .map_or(0, |r| r.producer_pos().saturating_sub(r.consumer_pos())),
                    ring_size: g.ring_size as u64,
                };
                total.calls += s.calls;
                total.errors += c.errors.saturating_sub(b.errors);
                total.logged += s.logged;
                total.filtered += s.filtered;
                total.dropped += s.dropped;
                bytes += s.bytes;
                s
            })
            .collect();
        let flat: Vec<sagafs_counts> = counts
            .iter()
            .enumerate()
            .map(|(i, c)| match g.base.counts.get(i) {
                Some(b) => sub_counts(c, b),
                None => *c,
            })
            .collect();
        // Skipped calls are counted per syscall only.
        total.skipped = flat.iter().map(|c| c.skipped).sum();
        let syscalls = flat
            .chunks(abi::NR_SLOTS)
            .map(<[sagafs_counts]>::to_vec)
            .collect();
        let mut enabled_ns = g.enabled_sum_ns;
        if !g.links.is_empty() {
            enabled_ns += now_ns().saturating_sub(g.enabled_since_ns);
        }
        Ok(Stats {
            total,
            bytes,
            bad_tail: 0,
            // The program sees every skipped call: none goes unflagged.
            skip_unflagged: 0,
            reset_ns: g.reset_ns,
            enabled_ns,
            cpus: cpu_stats,
            syscalls,
        })
    }

    fn reset_stats(&self) -> Result<(), DeviceError> {
        let mut g = self.inner.lock();
        g.base = Baseline {
            cpus: self.read_cpus(),
            counts: self.read_counts(),
        };
        let now = now_ns();
        g.reset_ns = now;
        g.enabled_sum_ns = 0;
        g.enabled_since_ns = now;
        Ok(())
    }

    fn map(&self) -> Result<Box<dyn Consumer>, DeviceError> {
        Ok(Box::new(self.map_rings()?))
    }

    fn wait(&self, stop: Option<BorrowedFd<'_>>, timeout: Option<Duration>) -> io::Result<Wake> {
        let fds = self.ring_fds().map_err(io::Error::from)?;
        let b: Vec<BorrowedFd<'_>> = fds.iter().map(|f| f.as_fd()).collect();
        wait::poll_wait_many(&b, stop, timeout)
    }
}

impl BpfBackend {
    fn ring_fds(&self) -> Result<Vec<OwnedFd>, DeviceError> {
        let g = self.inner.lock();
        g.rings
            .iter()
            .map(|r| {
                r.as_fd().try_clone_to_owned().map_err(|e| {
                    DeviceError::new(
                        Errno::from_raw(e.raw_os_error().unwrap_or(libc::EMFILE)),
                        format!("BPF backend: cannot duplicate a ring buffer descriptor: {e}"),
                    )
                })
            })
            .collect()
    }

    /// The consumer (the concrete type behind [`Backend::map`]).
    pub fn map_rings(&self) -> Result<BpfRings, DeviceError> {
        if self.live.swap(true, Ordering::AcqRel) {
            return Err(DeviceError::busy(std::process::id()));
        }
        let made = (|| {
            let fds = self.ring_fds()?;
            let size = self.inner.lock().ring_size;
            let mems = fds
                .iter()
                .enumerate()
                .map(|(cpu, fd)| {
                    RingbufMem::new(fd.as_fd(), size, self.page).map_err(|e| {
                        DeviceError::new(
                            Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)),
                            format!("BPF backend: cannot map the ring buffer of cpu {cpu}: {e}"),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(BpfRings::new(
                mems,
                fds,
                self.cpus.clone(),
                self.control.clone(),
                self.live.clone(),
            ))
        })();
        if made.is_err() {
            self.live.store(false, Ordering::Release);
        }
        made
    }
}

impl Drop for BpfBackend {
    fn drop(&mut self) {
        let mut g = self.inner.lock();
        self.detach_locked(&mut g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_is_the_modules() {
        let good = default_config();
        assert_eq!(validate(&good).unwrap(), good);
        let bad = |f: &dyn Fn(&mut sagafs_config), what: &str| {
            let mut c = good;
            f(&mut c);
            let e = validate(&c).unwrap_err();
            assert_eq!(e.errno(), Errno::EINVAL, "{what}");
            assert!(e.message().contains(what), "{what}: {e}");
        };
        bad(&|c| c.flags = 1 << 7, "unknown flags");
        bad(&|c| c.result = 3, "result 3");
        bad(&|c| c.snaplen = abi::SNAPLEN_MAX + 1, "snaplen");
        bad(&|c| c.ring_kb = 48, "ring_kb 48");
        bad(&|c| c.ring_kb = abi::RING_KB_MAX * 2, "ring_kb");
        bad(&|c| c.nr_pids = abi::MAX_IDS as u32 + 1, "pids: 65 entries");
        bad(&|c| c.nr_pids = 1, "pids[0] = 0");
        bad(
            &|c| {
                c.nr_uids = 1;
                c.uids[0] = u32::MAX;
            },
            "uids[0]",
        );
        bad(&|c| c.nr_comms = 1, "comms[0] is empty");
        bad(
            &|c| {
                c.nr_exclude_comms = 1;
                c.exclude_comms[0] = [b'a'; abi::COMM_LEN];
            },
            "exclude_comms[0]",
        );
        // Normalised as the module does: NUL padding, unused entries zero.
        let mut c = good;
        c.nr_comms = 1;
        c.comms[0] = *b"sh\0garbage\0\0\0\0\0\0";
        c.comms[1] = *b"unused\0\0\0\0\0\0\0\0\0\0";
        c.pids[3] = 9;
        c.size = 1;
        let n = validate(&c).unwrap();
        assert_eq!(&n.comms[0], b"sh\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        assert_eq!(n.comms[1], [0; abi::COMM_LEN]);
        assert_eq!(n.pids[3], 0);
        assert_eq!(n.size as usize, size_of::<sagafs_config>());
    }
}
