//! Per-output counters and their snapshot, [`Status`], with its text and
//! JSON renderings (the future `/sagafs/outputs` and `outputs.json`).
//!
//! Counters are atomics the output's thread and the collector update
//! without locks; the state and the last error sit behind a small lock.
//! Every record handed to an output ends in exactly one of: `sent`,
//! `spooled` (for now), or one of the `dropped_*` counters; the remote
//! output adds `unacknowledged` for records sent over plain TCP whose
//! fate is unknown, and `acked` for what RELP confirmed.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

use crate::format::{self, escape};

/// What an output is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Not yet running.
    Starting = 0,
    /// Writing to its files, or sending to the journal.
    Writing = 1,
    /// Connected to the collector.
    Connected = 2,
    /// Waiting to retry (journal unreachable, disk error); records wait
    /// in the queue.
    Retrying = 3,
    /// The collector is unreachable: records go to the spool.
    Spooling = 4,
    /// The disk is full and the action is to stop: records are counted
    /// as dropped until space comes back.
    DiskFull = 5,
    /// Stopped for good.
    Stopped = 6,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Starting => "starting",
            State::Writing => "writing",
            State::Connected => "connected",
            State::Retrying => "retrying",
            State::Spooling => "spooling",
            State::DiskFull => "disk_full",
            State::Stopped => "stopped",
        }
    }

    fn from_u8(v: u8) -> State {
        match v {
            1 => State::Writing,
            2 => State::Connected,
            3 => State::Retrying,
            4 => State::Spooling,
            5 => State::DiskFull,
            6 => State::Stopped,
            _ => State::Starting,
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Nanoseconds since the epoch, now.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// The live counters of one output.
#[derive(Debug, Default)]
pub struct Counters {
    state: AtomicU8,
    /// Records handed to the output's queue.
    pub queued: AtomicU64,
    /// Records written to the files, the journal or the connection.
    pub sent: AtomicU64,
    /// Records the collector acknowledged (RELP).
    pub acked: AtomicU64,
    /// Records in the spool now.
    pub spooled: AtomicU64,
    /// Lost-records notices delivered.
    pub notices: AtomicU64,
    /// Records deliberately not sent: the journal's own (they would
    /// come back as new records without end).
    pub skipped: AtomicU64,
    /// Records dropped because the output's queue was full.
    pub dropped_queue_full: AtomicU64,
    /// Records not written because the disk was full.
    pub dropped_disk_full: AtomicU64,
    /// Records dropped from a full spool.
    pub dropped_spool_full: AtomicU64,
    /// Records written to a TCP connection that then broke.
    pub unacknowledged: AtomicU64,
    /// Records that could not be written for another reason (a bad
    /// file, a refused entry); the last error says why.
    pub dropped_error: AtomicU64,
    last_error: Mutex<Option<(u64, String)>>,
}

impl Counters {
    pub fn state(&self) -> State {
        State::from_u8(self.state.load(Relaxed))
    }

    pub fn set_state(&self, s: State) {
        self.state.store(s as u8, Relaxed);
    }

    /// Records `msg` as the last error, stamped now, and logs it.
    pub fn error(&self, msg: impl Into<String>) {
        let msg = msg.into();
        log::warn!("output: {msg}");
        *self.last_error.lock() = Some((now_ns(), msg));
    }

    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Relaxed);
    }

    /// Records dropped, all reasons.
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full.load(Relaxed)
            + self.dropped_disk_full.load(Relaxed)
            + self.dropped_spool_full.load(Relaxed)
            + self.dropped_error.load(Relaxed)
    }

    /// A snapshot under `name` and `kind`.
    pub fn status(&self, name: &str, kind: &str) -> Status {
        Status {
            name: name.to_string(),
            kind: kind.to_string(),
            state: self.state(),
            queued: self.queued.load(Relaxed),
            sent: self.sent.load(Relaxed),
            acked: self.acked.load(Relaxed),
            spooled: self.spooled.load(Relaxed),
            notices: self.notices.load(Relaxed),
            skipped: self.skipped.load(Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Relaxed),
            dropped_disk_full: self.dropped_disk_full.load(Relaxed),
            dropped_spool_full: self.dropped_spool_full.load(Relaxed),
            dropped_error: self.dropped_error.load(Relaxed),
            unacknowledged: self.unacknowledged.load(Relaxed),
            last_error: self.last_error.lock().clone(),
        }
    }
}

/// A snapshot of one output's counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    pub name: String,
    /// `file`, `journal`, `tcp`, `tls`, `relp`, `relp+tls`.
    pub kind: String,
    pub state: State,
    pub queued: u64,
    pub sent: u64,
    pub acked: u64,
    pub spooled: u64,
    pub notices: u64,
    pub skipped: u64,
    pub dropped_queue_full: u64,
    pub dropped_disk_full: u64,
    pub dropped_spool_full: u64,
    pub dropped_error: u64,
    pub unacknowledged: u64,
    /// When (ns since the epoch) and what.
    pub last_error: Option<(u64, String)>,
}

impl Status {
    pub fn dropped(&self) -> u64 {
        self.dropped_queue_full
            + self.dropped_disk_full
            + self.dropped_spool_full
            + self.dropped_error
    }

    /// One line, `key=value` fields as in the log, the error escaped and
    /// quoted:
    ///
    /// ```text
    /// name=remote kind=relp state=connected queued=10 sent=10 acked=10 spooled=0 notices=0 skipped=0 dropped=0 queue_full=0 disk_full=0 spool_full=0 error_dropped=0 unacknowledged=0 error_time=- error=-
    /// ```
    pub fn write_text(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"name=");
        escape::escape_into(out, self.name.as_bytes());
        let fields = [
            ("queued", self.queued),
            ("sent", self.sent),
            ("acked", self.acked),
            ("spooled", self.spooled),
            ("notices", self.notices),
            ("skipped", self.skipped),
            ("dropped", self.dropped()),
            ("queue_full", self.dropped_queue_full),
            ("disk_full", self.dropped_disk_full),
            ("spool_full", self.dropped_spool_full),
            ("error_dropped", self.dropped_error),
            ("unacknowledged", self.unacknowledged),
        ];
        out.extend_from_slice(format!(" kind={} state={}", self.kind, self.state).as_bytes());
        for (k, v) in fields {
            out.extend_from_slice(format!(" {k}={v}").as_bytes());
        }
        match &self.last_error {
            None => out.extend_from_slice(b" error_time=- error=-"),
            Some((t, msg)) => {
                out.extend_from_slice(b" error_time=");
                format::write_time(out, *t);
                out.extend_from_slice(b" error=\"");
                escape::escape_into(out, msg.as_bytes());
                out.push(b'"');
            }
        }
        out.push(b'\n');
    }

    /// The JSON object (one line, newline included).
    pub fn write_json(&self, out: &mut Vec<u8>) {
        let err = match &self.last_error {
            None => serde_json::Value::Null,
            Some((t, msg)) => serde_json::json!({
                "time": format::time_string(*t),
                "time_ns": t,
                "message": msg,
            }),
        };
        let v = serde_json::json!({
            "name": self.name,
            "kind": self.kind,
            "state": self.state.as_str(),
            "queued": self.queued,
            "sent": self.sent,
            "acked": self.acked,
            "spooled": self.spooled,
            "notices": self.notices,
            "skipped": self.skipped,
            "dropped": self.dropped(),
            "dropped_by_reason": {
                "queue_full": self.dropped_queue_full,
                "disk_full": self.dropped_disk_full,
                "spool_full": self.dropped_spool_full,
                "error": self.dropped_error,
            },
            "unacknowledged": self.unacknowledged,
            "last_error": err,
        });
        serde_json::to_writer(&mut *out, &v).expect("writing to a Vec");
        out.push(b'\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_both_forms() {
        let c = Counters::default();
        c.set_state(State::Spooling);
        Counters::add(&c.queued, 10);
        Counters::add(&c.sent, 6);
        Counters::add(&c.spooled, 3);
        Counters::add(&c.dropped_spool_full, 1);
        let s = c.status("central", "relp");
        let mut t = Vec::new();
        s.write_text(&mut t);
        assert_eq!(
            String::from_utf8(t).unwrap(),
            "name=central kind=relp state=spooling queued=10 sent=6 acked=0 spooled=3 notices=0 skipped=0 \
             dropped=1 queue_full=0 disk_full=0 spool_full=1 error_dropped=0 unacknowledged=0 \
             error_time=- error=-\n"
        );
        c.error("connect to 127.0.0.1:1: Connection refused\n(os error 111)");
        let s = c.status("central", "relp");
        let mut t = Vec::new();
        s.write_text(&mut t);
        let t = String::from_utf8(t).unwrap();
        assert_eq!(t.lines().count(), 1);
        assert!(t.contains("error=\"connect\\x20to\\x20127.0.0.1:1:"), "{t}");
        let mut j = Vec::new();
        s.write_json(&mut j);
        let v: serde_json::Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["state"], "spooling");
        assert_eq!(v["dropped"], 1);
        assert_eq!(v["dropped_by_reason"]["spool_full"], 1);
        assert!(v["last_error"]["message"]
            .as_str()
            .unwrap()
            .contains("refused"));
    }
}
