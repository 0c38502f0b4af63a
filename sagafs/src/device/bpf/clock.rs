//! The offsets the capture program turns its clock into CLOCK_REALTIME
//! with (the module reads CLOCK_REALTIME directly; BPF has no helper for
//! it): CLOCK_TAI − CLOCK_REALTIME for kernels with
//! `bpf_ktime_get_tai_ns()` (6.1 and later: exact, the kernel steps TAI
//! with REALTIME), else CLOCK_REALTIME − CLOCK_MONOTONIC, refreshed at
//! every drain so that a step of the clock shows within one drain.

use std::mem::offset_of;
use std::sync::atomic::Ordering;

use nix::time::{clock_gettime, ClockId};

use super::layout::sagafs_bpf_ctl;
use super::mem::ArrayMem;

fn ns(c: ClockId) -> i64 {
    clock_gettime(c)
        .map(|t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
        .unwrap_or(0)
}

/// (CLOCK_TAI − CLOCK_REALTIME, CLOCK_REALTIME − CLOCK_MONOTONIC), ns.
pub fn offsets() -> (i64, i64) {
    let m0 = ns(ClockId::CLOCK_MONOTONIC);
    let real = ns(ClockId::CLOCK_REALTIME);
    let m1 = ns(ClockId::CLOCK_MONOTONIC);
    let tai = ns(ClockId::CLOCK_TAI);
    let real2 = ns(ClockId::CLOCK_REALTIME);
    // The TAI offset is a whole number of seconds: round the sampling
    // delay away.
    let tai_off = (tai - real2 + 500_000_000).div_euclid(1_000_000_000) * 1_000_000_000;
    (tai_off, real - (m0 + (m1 - m0) / 2))
}

/// Stores fresh offsets in the control word.
pub fn publish(control: &ArrayMem) {
    let (tai, mono) = offsets();
    control
        .u64_at(offset_of!(sagafs_bpf_ctl, tai_offset_ns))
        .store(tai as u64, Ordering::Relaxed);
    control
        .u64_at(offset_of!(sagafs_bpf_ctl, mono_offset_ns))
        .store(mono as u64, Ordering::Relaxed);
}
