//! The `errors` file: the most recent errors (refused configuration
//! writes, device failures), one line each with its UTC time, oldest
//! first.  Every error is also logged.

use std::collections::VecDeque;

use parking_lot::Mutex;

use super::hub::now_ns;
use crate::format::write_time;

/// Lines kept.
pub const KEEP: usize = 32;

/// See the module documentation.
#[derive(Default)]
pub struct ErrorLog {
    lines: Mutex<VecDeque<(u64, String)>>,
}

impl ErrorLog {
    /// Records `msg` (one line; newlines are replaced) and logs it.
    pub fn push(&self, msg: &str) {
        let msg = msg.replace(['\n', '\r'], " ");
        log::warn!("{msg}");
        let mut l = self.lines.lock();
        if l.len() == KEEP {
            l.pop_front();
        }
        l.push_back((now_ns(), msg));
    }

    /// Time of the last error, if any.
    pub fn last_ns(&self) -> Option<u64> {
        self.lines.lock().back().map(|(t, _)| *t)
    }

    /// The file's content: `TIME message` lines.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (t, m) in self.lines.lock().iter() {
            write_time(&mut out, *t);
            out.push(b' ');
            out.extend_from_slice(m.as_bytes());
            out.push(b'\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_lines_one_per_error() {
        let e = ErrorLog::default();
        assert!(e.render().is_empty());
        assert!(e.last_ns().is_none());
        for i in 0..KEEP + 3 {
            e.push(&format!("error {i}\nsecond line"));
        }
        let text = String::from_utf8(e.render()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), KEEP);
        assert!(lines[0].ends_with("Z error 3 second line"), "{}", lines[0]);
        assert!(lines[KEEP - 1].ends_with(&format!(" error {} second line", KEEP + 2)));
        assert!(e.last_ns().is_some());
    }
}
