//! Exponential backoff between attempts to reach a journal or a
//! collector: 1 s, 2 s, 4 s ... up to a minute, back to 1 s on success.

use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
    at: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new(Duration::from_secs(1), Duration::from_secs(60))
    }
}

impl Backoff {
    pub fn new(first: Duration, max: Duration) -> Backoff {
        Backoff {
            first,
            max,
            next: first,
            at: None,
        }
    }

    /// Whether an attempt may be made now.
    pub fn due(&self) -> bool {
        self.at.map_or(true, |t| Instant::now() >= t)
    }

    /// An attempt failed: wait the current delay, and double it.
    pub fn failed(&mut self) -> Duration {
        let d = self.next;
        self.at = Some(Instant::now() + d);
        self.next = (self.next * 2).min(self.max);
        d
    }

    /// An attempt succeeded.
    pub fn reset(&mut self) {
        self.next = self.first;
        self.at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_limit_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(10), Duration::from_millis(35));
        assert!(b.due());
        assert_eq!(b.failed(), Duration::from_millis(10));
        assert!(!b.due());
        assert_eq!(b.failed(), Duration::from_millis(20));
        assert_eq!(b.failed(), Duration::from_millis(35));
        assert_eq!(b.failed(), Duration::from_millis(35));
        b.reset();
        assert!(b.due());
        assert_eq!(b.failed(), Duration::from_millis(10));
        std::thread::sleep(Duration::from_millis(12));
        assert!(b.due());
    }
}
