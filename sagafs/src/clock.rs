//! The wall clock the log is dated with.

use std::time::{SystemTime, UNIX_EPOCH};

/// CLOCK_REALTIME now, in nanoseconds since the epoch (0 before it).
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos().min(u64::MAX as u128) as u64)
}
