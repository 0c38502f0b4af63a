//! The journal output: one systemd journal entry per record through
//! journald's native protocol (a datagram per entry to
//! `/run/systemd/journal/socket`; an entry too large for a datagram goes
//! in a sealed memfd passed along with `SCM_RIGHTS`).
//!
//! The `libsystemd` crate speaks this protocol too, but it fixes the
//! socket path (no journald namespace, no test double), takes only UTF-8
//! values (paths are bytes) and brings a second `nix` and a hashing stack
//! along; the protocol is small and documented, so it is spoken here.
//!
//! Each entry: `MESSAGE` is the log line, `PRIORITY` 6 (info; 4 for a
//! lost-records notice), `SYSLOG_IDENTIFIER=sagafs`, and every field of
//! the record as `SAGAFS_*` (see [`write_entry`]). Comm and paths are
//! sent as their raw bytes, so `journalctl SAGAFS_PATH0=/etc/passwd`
//! matches exactly.
//!
//! While journald is unreachable, entries wait in a bounded backlog in
//! memory and the output retries with backoff; what does not fit is
//! counted (`queue_full`) and reported by a notice once it is back.
//!
//! journald rate-limits each service (10000 entries per 30 s by default)
//! and counts what it suppresses only in its own log: the unit that runs
//! the daemon with this output on must set `LogRateLimitIntervalSec=0`
//! (systemd.exec(5)), or every entry past the burst is lost unseen.

use std::io::{self, IoSlice, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::fcntl::{fcntl, FcntlArg, SealFlag};
use nix::sys::memfd::{memfd_create, MFdFlags};
use nix::sys::socket::{sendmsg, setsockopt, sockopt, ControlMessage, MsgFlags, UnixAddr};

use super::backoff::Backoff;
use super::batch::{Batch, Builder, Entry, Frames, Tally};
use super::fields::{self, Value};
use super::status::{now_ns, Counters, State};
use super::Sink;
use crate::format::{DropReason, Format};

/// journald's socket for native-protocol entries.
pub const SOCKET_DEFAULT: &str = "/run/systemd/journal/socket";
/// The most bytes of entries held while journald is unreachable.
pub const BACKLOG_MAX: usize = 16 << 20;

/// The journal output's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// The socket (`/run/systemd/journal.NAMESPACE/socket` for a journal
    /// namespace).
    pub socket: PathBuf,
}

impl Default for JournalConfig {
    fn default() -> Self {
        JournalConfig {
            socket: PathBuf::from(SOCKET_DEFAULT),
        }
    }
}

/// Appends one field: `NAME=value\n`, or the binary form (`NAME\n`, the
/// length as 64-bit little endian, the bytes, `\n`) when the value holds
/// a newline.
pub fn field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A number: never holds a newline; written without an allocation.
fn field_num(out: &mut Vec<u8>, name: &str, v: impl std::fmt::Display) {
    out.extend_from_slice(name.as_bytes());
    out.push(b'=');
    let _ = writeln!(out, "{v}");
}

/// Appends one field of the shared list.
fn put(out: &mut Vec<u8>, name: &str, v: Value) {
    match v {
        Value::U64(n) => field_num(out, name, n),
        Value::I64(n) => field_num(out, name, n),
        Value::Str(t) => field(out, name, t.as_bytes()),
        Value::Bytes(b) => field(out, name, b),
        Value::Args(a) => {
            out.extend_from_slice(name.as_bytes());
            out.push(b'=');
            fields::write_args(out, a);
            out.push(b'\n');
        }
        Value::Flag => field(out, name, b"1"),
    }
}

/// Appends the journal entry of `e` (its fields, in the native protocol)
/// to `out`; `line` is scratch space for the log line.
pub fn write_entry(out: &mut Vec<u8>, line: &mut Vec<u8>, e: &Entry) {
    line.clear();
    let priority: &[u8] = match e {
        Entry::Record(r) => {
            Format::Text.record(line, r);
            b"6"
        }
        Entry::Lost {
            time_ns,
            cpu,
            count,
            reason,
        } => {
            Format::Text.dropped(line, *time_ns, *cpu, *count, *reason);
            b"4"
        }
    };
    line.pop();
    field(out, "MESSAGE", line);
    field(out, "PRIORITY", priority);
    field(out, "SYSLOG_IDENTIFIER", b"sagafs");
    let mut each = |n: fields::Name, v: Value| put(out, n.journal, v);
    match e {
        Entry::Record(r) => {
            let name = fields::syscall_name(r);
            fields::record(r, &name, &mut each);
        }
        Entry::Lost {
            time_ns,
            cpu,
            count,
            reason,
        } => fields::lost(*time_ns, *cpu, *count, *reason, &mut each),
    }
}

/// A datagram socket to journald.
pub struct Journal {
    sock: UnixDatagram,
    path: PathBuf,
}

impl Journal {
    /// A socket for sending to `path`; `sndbuf` sets its send buffer
    /// (entries larger than it go through a memfd).
    pub fn new(path: &Path, sndbuf: usize) -> io::Result<Journal> {
        let sock = UnixDatagram::unbound()?;
        setsockopt(&sock, sockopt::SndBuf, &sndbuf).map_err(io::Error::from)?;
        // A journald that stops reading must not hold the output forever.
        sock.set_write_timeout(Some(Duration::from_secs(1)))?;
        Ok(Journal {
            sock,
            path: path.to_path_buf(),
        })
    }

    /// Sends one entry.
    pub fn send(&self, entry: &[u8]) -> io::Result<()> {
        match self.sock.send_to(entry, &self.path) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EMSGSIZE) => self.send_memfd(entry),
            Err(e) => Err(e),
        }
    }

    /// The large-entry path: the entry in a sealed memfd, its descriptor
    /// sent alone.
    fn send_memfd(&self, entry: &[u8]) -> io::Result<()> {
        let fd = memfd_create(
            c"sagafs-journal",
            MFdFlags::MFD_ALLOW_SEALING | MFdFlags::MFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        let mut f = std::fs::File::from(fd);
        f.write_all(entry)?;
        fcntl(f.as_fd(), FcntlArg::F_ADD_SEALS(SealFlag::all())).map_err(io::Error::from)?;
        let addr = UnixAddr::new(&self.path).map_err(io::Error::from)?;
        let fds = [f.as_raw_fd()];
        let iov: [IoSlice; 0] = [];
        sendmsg(
            self.sock.as_raw_fd(),
            &iov,
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            Some(&addr),
        )
        .map_err(io::Error::from)?;
        Ok(())
    }
}

/// The journal output.
pub struct JournalSink {
    cfg: JournalConfig,
    sndbuf: usize,
    journal: Option<Journal>,
    entry: Vec<u8>,
    line: Vec<u8>,
    /// Frames not yet delivered (journald unreachable), oldest first.
    backlog: Vec<u8>,
    /// Records dropped because the backlog was full, per CPU.
    dropped: Tally,
    backoff: Backoff,
    /// journald's own processes: their records are not sent.
    own: Vec<u32>,
    own_at: Option<Instant>,
}

/// How often journald's processes are looked up again (it may restart).
const OWN_REFRESH: Duration = Duration::from_secs(10);

/// The processes running systemd-journald, by their executable (which a
/// process cannot fake by renaming itself, as it can its comm).
pub fn journald_pids() -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|p| p.file_name().is_some_and(|n| n == "systemd-journald"))
        })
        .collect()
}

impl JournalSink {
    pub fn new(cfg: JournalConfig) -> JournalSink {
        JournalSink::with_send_buffer(cfg, 8 << 20)
    }

    /// With a send buffer of `sndbuf` bytes (the kernel caps it at
    /// `net.core.wmem_max`).
    pub fn with_send_buffer(cfg: JournalConfig, sndbuf: usize) -> JournalSink {
        JournalSink {
            cfg,
            sndbuf,
            journal: None,
            entry: Vec::with_capacity(4096),
            line: Vec::with_capacity(1024),
            backlog: Vec::new(),
            dropped: Tally::default(),
            backoff: Backoff::default(),
            own: Vec::new(),
            own_at: None,
        }
    }

    /// Sends the valid frames `bytes`; on failure, the offset of the
    /// first frame not sent.
    fn deliver(&mut self, bytes: &[u8], c: &Counters) -> Result<(), (usize, io::Error)> {
        if self.journal.is_none() {
            let j = Journal::new(&self.cfg.socket, self.sndbuf).map_err(|e| (0, e))?;
            self.journal = Some(j);
        }
        let stale = match self.own_at {
            Some(t) => t.elapsed() >= OWN_REFRESH,
            None => true,
        };
        if stale {
            self.own = journald_pids();
            self.own_at = Some(Instant::now());
        }
        let j = self.journal.as_ref().expect("opened above");
        for (e, range) in Frames::new(bytes, 0).flatten() {
            if let Entry::Record(r) = &e {
                // journald's calls to write an entry would each make a
                // new record, and that one a new entry, without end.
                if self.own.contains(&r.pid) {
                    Counters::add(&c.skipped, 1);
                    continue;
                }
            }
            self.entry.clear();
            write_entry(&mut self.entry, &mut self.line, &e);
            j.send(&self.entry).map_err(|err| (range.start, err))?;
            match e {
                Entry::Record(_) => Counters::add(&c.sent, 1),
                Entry::Lost { .. } => Counters::add(&c.notices, 1),
            }
        }
        Ok(())
    }

    /// Sends the notice for dropped records, then the backlog; keeps what
    /// could not be sent.
    fn drain(&mut self, c: &Counters) -> bool {
        if !self.dropped.is_empty() {
            let mut b = Builder::default();
            for (cpu, n) in self.dropped.iter() {
                b.lost(now_ns(), cpu, n, DropReason::QueueFull);
            }
            let notices = b.finish();
            let mut v = notices.bytes().to_vec();
            v.extend_from_slice(&self.backlog);
            self.backlog = v;
            self.dropped = Tally::default();
        }
        let backlog = std::mem::take(&mut self.backlog);
        match self.deliver(&backlog, c) {
            Ok(()) => {
                self.backoff.reset();
                c.set_state(State::Writing);
                true
            }
            Err((pos, e)) => {
                self.backlog = backlog[pos..].to_vec();
                self.journal = None;
                let d = self.backoff.failed();
                c.error(format!(
                    "journal output: {}: {e}; retrying in {:.1} s",
                    self.cfg.socket.display(),
                    d.as_secs_f64()
                ));
                c.set_state(State::Retrying);
                false
            }
        }
    }

    fn keep(&mut self, batch: &Batch, c: &Counters) {
        if self.backlog.len() + batch.bytes().len() > BACKLOG_MAX {
            Counters::add(&c.dropped_queue_full, batch.len());
            self.dropped.merge(batch.records());
            for &(cpu, n, _) in batch.notices() {
                self.dropped.add(cpu, n);
            }
        } else {
            self.backlog.extend_from_slice(batch.bytes());
        }
    }
}

impl Sink for JournalSink {
    fn kind(&self) -> &'static str {
        "journal"
    }

    fn start(&mut self, c: &Counters) {
        c.set_state(State::Writing);
    }

    fn write(&mut self, batch: &Batch, c: &Counters) {
        self.keep(batch, c);
        if self.backoff.due() {
            self.drain(c);
        }
    }

    fn tick(&mut self, c: &Counters) {
        if (!self.backlog.is_empty() || !self.dropped.is_empty()) && self.backoff.due() {
            self.drain(c);
        }
    }

    fn stop(&mut self, c: &Counters) {
        if !self.backlog.is_empty() && !self.drain(c) {
            let left = Tally::of_frames(&self.backlog).total();
            Counters::add(&c.dropped_error, left);
            c.error(format!(
                "journal output: stopped with {left} records not delivered"
            ));
        }
    }
}

#[cfg(test)]
mod tests;
