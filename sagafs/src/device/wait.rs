//! Blocking on poll(2): a data descriptor, an optional stop descriptor and
//! an optional timeout, with EINTR retried against the remaining time.

use std::io;
use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::Wake;

/// Waits until `data` or `stop` is readable, or `timeout` passes.
pub(crate) fn poll_wait(
    data: BorrowedFd<'_>,
    stop: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Wake> {
    poll_wait_many(&[data], stop, timeout)
}

/// Waits until any of `data` or `stop` is readable, or `timeout` passes.
pub(crate) fn poll_wait_many(
    data: &[BorrowedFd<'_>],
    stop: Option<BorrowedFd<'_>>,
    timeout: Option<Duration>,
) -> io::Result<Wake> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        let left = match deadline {
            None => PollTimeout::NONE,
            Some(d) => {
                let rem = d.saturating_duration_since(Instant::now());
                // Round up so a sub-millisecond rest does not spin.
                let ms = rem.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128);
                PollTimeout::try_from(ms).unwrap_or(PollTimeout::MAX)
            }
        };
        let mut fds = Vec::with_capacity(data.len() + 1);
        if let Some(s) = stop {
            fds.push(PollFd::new(s, PollFlags::POLLIN));
        }
        fds.extend(data.iter().map(|&d| PollFd::new(d, PollFlags::POLLIN)));
        let first = usize::from(stop.is_some());
        match poll(&mut fds, left) {
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
            Ok(0) => {
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    return Ok(Wake::Timeout);
                }
            }
            Ok(_) => {
                let bad = PollFlags::POLLERR | PollFlags::POLLNVAL;
                if stop.is_some() {
                    let r = fds[0].revents().unwrap_or(PollFlags::empty());
                    if r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | bad) {
                        return Ok(Wake::Stopped);
                    }
                }
                let mut data_ready = false;
                for fd in &fds[first..] {
                    let r = fd.revents().unwrap_or(PollFlags::empty());
                    if r.intersects(bad) {
                        return Err(io::Error::other(format!(
                            "poll on the capture device failed ({r:?})"
                        )));
                    }
                    data_ready |= r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP);
                }
                if data_ready {
                    return Ok(Wake::Data);
                }
            }
        }
    }
}
