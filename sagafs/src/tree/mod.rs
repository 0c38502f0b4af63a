//! The file tree `/sagafs`, independent of FUSE: inodes and attributes,
//! permission checks, per-open handles and the read/write semantics of
//! every file.  `fuse.rs` only translates between this and fuser.
//!
//! | file         | mode | content                                       |
//! |--------------|------|-----------------------------------------------|
//! | `log`        | 0440 | text log, snapshot taken at open              |
//! | `log.json`   | 0440 | the same as JSON Lines                         |
//! | `pipe`       | 0440 | live text stream from the moment of open       |
//! | `config`     | 0640 | `key = value` settings; root writes            |
//! | `rules`      | 0640 | the rule list with hit counts; root writes     |
//! | `stats`      | 0440 | counters and rates, snapshot at open           |
//! | `stats.json` | 0440 | the same as one JSON object                    |
//! | `errors`     | 0440 | the last errors, one line each                 |
//! | `outputs`    | 0440 | each output's state and counters, one line each |
//! | `outputs.json` | 0440 | the same as JSON Lines                      |
//!
//! Every file is owned by root, group `gid=` (else root).  All report size
//! 0 and are opened with direct I/O: the content is built per open.
//!
//! Writes to `config`: the bytes of one open are collected; whenever a
//! write ends with a newline, everything collected so far is applied as
//! one atomic change (a refused change fails that write with its errno,
//! EINVAL for invalid input, and changes nothing); a last line without a
//! newline is applied when the file is closed (flush), and an error then
//! fails the close.
//!
//! Writes to `rules` are applied the same way, each as one atomic change
//! of the rule list: the first change of an open replaces the list
//! (opened with O_APPEND, `>>`: adds to it), the later ones of the same
//! open add to it, so that a rule file written in several pieces ends up
//! whole.

mod perm;
pub mod snapshot;

use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use nix::errno::Errno;
use nix::fcntl::OFlag;
use parking_lot::Mutex;

pub use perm::Cred;
use perm::Want;

use crate::daemon::hub::{now_ns, PollWake};
use crate::daemon::stream::{ReadReply, StreamReader};
use crate::daemon::Daemon;
use crate::error::Error;
use crate::format::Format;
use snapshot::LogReader;

/// Largest text one open of `config` may write.
pub const CONFIG_WRITE_MAX: usize = 64 * 1024;

/// The inodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Node {
    Root,
    Log,
    LogJson,
    Pipe,
    Config,
    Stats,
    StatsJson,
    Errors,
    Rules,
    Outputs,
    OutputsJson,
}

impl Node {
    pub const FILES: [Node; 10] = [
        Node::Log,
        Node::LogJson,
        Node::Pipe,
        Node::Config,
        Node::Rules,
        Node::Stats,
        Node::StatsJson,
        Node::Errors,
        Node::Outputs,
        Node::OutputsJson,
    ];

    pub fn ino(self) -> u64 {
        match self {
            Node::Root => 1,
            Node::Log => 2,
            Node::LogJson => 3,
            Node::Pipe => 4,
            Node::Config => 5,
            Node::Stats => 6,
            Node::StatsJson => 7,
            Node::Errors => 8,
            Node::Rules => 9,
            Node::Outputs => 10,
            Node::OutputsJson => 11,
        }
    }

    pub fn from_ino(ino: u64) -> Option<Node> {
        std::iter::once(Node::Root)
            .chain(Node::FILES)
            .find(|n| n.ino() == ino)
    }

    pub fn name(self) -> &'static str {
        match self {
            Node::Root => "/",
            Node::Log => "log",
            Node::LogJson => "log.json",
            Node::Pipe => "pipe",
            Node::Config => "config",
            Node::Stats => "stats",
            Node::StatsJson => "stats.json",
            Node::Errors => "errors",
            Node::Rules => "rules",
            Node::Outputs => "outputs",
            Node::OutputsJson => "outputs.json",
        }
    }

    /// `config` and `rules`: root may write them.
    pub fn writable(self) -> bool {
        matches!(self, Node::Config | Node::Rules)
    }

    pub fn mode(self) -> u16 {
        match self {
            Node::Root => 0o755,
            Node::Config | Node::Rules => 0o640,
            _ => 0o440,
        }
    }
}

/// Attributes of one inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr {
    pub node: Node,
    pub is_dir: bool,
    pub perm: u16,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    /// CLOCK_REALTIME ns.
    pub mtime_ns: u64,
}

/// Options that shape the tree.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TreeOptions {
    /// Group of the files (`gid=`).
    pub gid: u32,
    /// `ro`: `config` and `rules` cannot be written (EROFS).
    pub read_only: bool,
}

enum Handle {
    Log(LogReader),
    Static(Vec<u8>),
    Pipe(Arc<Mutex<StreamReader>>),
    /// `config` or `rules`, opened for writing or not.
    Edit {
        node: Node,
        content: Vec<u8>,
        wbuf: Vec<u8>,
        /// `rules`: the next change adds to the list.
        append: bool,
    },
}

/// See the module documentation.
pub struct Tree {
    daemon: Arc<Daemon>,
    opts: TreeOptions,
    start_ns: u64,
    handles: Mutex<HashMap<u64, Arc<Mutex<Handle>>>>,
    next_fh: AtomicU64,
}

impl Tree {
    pub fn new(daemon: Arc<Daemon>, opts: TreeOptions) -> Tree {
        Tree {
            daemon,
            opts,
            start_ns: now_ns(),
            handles: Mutex::new(HashMap::new()),
            next_fh: AtomicU64::new(1),
        }
    }

    pub fn daemon(&self) -> &Arc<Daemon> {
        &self.daemon
    }

    fn node(ino: u64) -> Result<Node, Errno> {
        Node::from_ino(ino).ok_or(Errno::ENOENT)
    }

    /// Attributes of `ino`.
    pub fn getattr(&self, ino: u64) -> Result<Attr, Errno> {
        let node = Self::node(ino)?;
        let d = &self.daemon;
        let mtime_ns = match node {
            Node::Root => self.start_ns,
            Node::Log | Node::LogJson | Node::Pipe | Node::Stats | Node::StatsJson => {
                d.hub.last_data_ns()
            }
            Node::Config | Node::Rules => d.config_mtime_ns(),
            Node::Errors => d.errors.last_ns().unwrap_or(self.start_ns),
            Node::Outputs | Node::OutputsJson => now_ns(),
        };
        Ok(Attr {
            node,
            is_dir: node == Node::Root,
            perm: node.mode(),
            nlink: if node == Node::Root { 2 } else { 1 },
            uid: 0,
            gid: self.opts.gid,
            size: 0,
            mtime_ns,
        })
    }

    /// The entry `name` in directory `parent`.
    pub fn lookup(&self, parent: u64, name: &OsStr) -> Result<Attr, Errno> {
        if Self::node(parent)? != Node::Root {
            return Err(Errno::ENOTDIR);
        }
        let node = Node::FILES
            .into_iter()
            .find(|n| OsStr::new(n.name()) == name)
            .ok_or(Errno::ENOENT)?;
        self.getattr(node.ino())
    }

    /// The directory listing, `.` and `..` included.
    pub fn readdir(&self, ino: u64) -> Result<Vec<(u64, bool, &'static str)>, Errno> {
        if Self::node(ino)? != Node::Root {
            return Err(Errno::ENOTDIR);
        }
        let mut v = vec![(1, true, "."), (1, true, "..")];
        v.extend(Node::FILES.iter().map(|n| (n.ino(), false, n.name())));
        Ok(v)
    }

    /// access(2): `mask` of R_OK/W_OK/X_OK bits (F_OK is 0).
    pub fn access(&self, ino: u64, mask: i32, cred: &Cred) -> Result<(), Errno> {
        let node = Self::node(ino)?;
        let want = Want {
            read: mask & libc::R_OK != 0,
            write: mask & libc::W_OK != 0,
        };
        if mask & libc::X_OK != 0 && node != Node::Root {
            return Err(Errno::EACCES);
        }
        if want.write && node.writable() && self.opts.read_only {
            return Err(Errno::EROFS);
        }
        perm::check(cred, node.mode(), self.opts.gid, want)
    }

    /// Opens `ino` with open(2) `flags`; returns the handle.
    pub fn open(&self, ino: u64, flags: i32, cred: &Cred) -> Result<u64, Errno> {
        let node = Self::node(ino)?;
        if node == Node::Root {
            return Err(Errno::EISDIR);
        }
        let acc = flags & libc::O_ACCMODE;
        let want = Want {
            read: acc == libc::O_RDONLY || acc == libc::O_RDWR,
            write: acc == libc::O_WRONLY || acc == libc::O_RDWR,
        };
        if want.write && node.writable() && self.opts.read_only {
            return Err(Errno::EROFS);
        }
        perm::check(cred, node.mode(), self.opts.gid, want)?;
        let d = &self.daemon;
        let handle = match node {
            Node::Root => unreachable!("refused above"),
            Node::Log | Node::LogJson => {
                let fmt = if node == Node::Log {
                    Format::Text
                } else {
                    Format::Json
                };
                let snap = d.hub.retention.lock().snapshot();
                Handle::Log(LogReader::new(snap, fmt, now_ns()))
            }
            Node::Pipe => Handle::Pipe(Arc::new(Mutex::new(StreamReader::new(
                &d.hub,
                Format::Text,
            )))),
            Node::Config => Handle::Edit {
                node,
                content: d.config_text(),
                wbuf: Vec::new(),
                append: false,
            },
            Node::Rules => Handle::Edit {
                node,
                content: d.rules_file(),
                wbuf: Vec::new(),
                append: flags & libc::O_APPEND != 0,
            },
            Node::Stats => Handle::Static(d.stats_file(false)),
            Node::StatsJson => Handle::Static(d.stats_file(true)),
            Node::Errors => Handle::Static(d.errors.render()),
            Node::Outputs => Handle::Static(d.outputs_file(false)),
            Node::OutputsJson => Handle::Static(d.outputs_file(true)),
        };
        let fh = self.next_fh.fetch_add(1, Ordering::Relaxed);
        self.handles.lock().insert(fh, Arc::new(Mutex::new(handle)));
        Ok(fh)
    }

    fn handle(&self, fh: u64) -> Result<Arc<Mutex<Handle>>, Errno> {
        self.handles.lock().get(&fh).cloned().ok_or(Errno::EBADF)
    }

    /// Reads `size` bytes at `offset`.  `flags` are the file's current
    /// flags (O_NONBLOCK is honoured on `pipe`); `tid` is the caller's
    /// thread, watched for signals while a `pipe` read waits.  `reply` is
    /// called exactly once, maybe later from another thread.
    pub fn read(&self, fh: u64, offset: u64, size: u32, flags: i32, tid: u32, reply: ReadReply) {
        let h = match self.handle(fh) {
            Ok(h) => h,
            Err(e) => return reply(Err(e)),
        };
        let mut g = h.lock();
        let slice = |b: &[u8]| -> Vec<u8> {
            let start = usize::try_from(offset).unwrap_or(usize::MAX).min(b.len());
            let end = start.saturating_add(size as usize).min(b.len());
            b[start..end].to_vec()
        };
        match &mut *g {
            Handle::Log(r) => reply(Ok(r.read(offset, size as usize))),
            Handle::Static(b) => reply(Ok(slice(b))),
            Handle::Edit { content, .. } => reply(Ok(slice(content))),
            Handle::Pipe(s) => {
                let s = s.clone();
                drop(g);
                let got = s.lock().read(&self.daemon.hub, size as usize);
                match got {
                    Some(d) => reply(Ok(d)),
                    None if self.daemon.hub.is_shut_down() => reply(Ok(Vec::new())),
                    None if OFlag::from_bits_retain(flags).contains(OFlag::O_NONBLOCK) => {
                        reply(Err(Errno::EAGAIN))
                    }
                    None => self.daemon.blocked.wait(s, size as usize, tid, reply),
                }
            }
        }
    }

    /// Writes `data` (only `config` and `rules` are writable; the offset
    /// is ignored: writes are commands; on `config` `>` and `>>` behave
    /// the same).  A refused change carries its errno and reason (also in
    /// `errors`).
    pub fn write(&self, fh: u64, data: &[u8], cred: &Cred) -> Result<u32, Error> {
        let h = self.handle(fh)?;
        let mut g = h.lock();
        let Handle::Edit {
            node, wbuf, append, ..
        } = &mut *g
        else {
            return Err(Errno::EACCES.into());
        };
        if !cred.is_root() {
            return Err(Errno::EACCES.into());
        }
        if wbuf.len() + data.len() > CONFIG_WRITE_MAX {
            wbuf.clear();
            return Err(self.daemon.refuse(
                Errno::EFBIG,
                format!(
                    "{}: write refused: more than {} KiB in one open; nothing changed",
                    node.name(),
                    CONFIG_WRITE_MAX / 1024
                ),
            ));
        }
        wbuf.extend_from_slice(data);
        if wbuf.ends_with(b"\n") {
            let text = std::mem::take(wbuf);
            self.edit(*node, &text, append)?;
        }
        Ok(data.len() as u32)
    }

    /// Applies the text of a write to `config` or `rules`.
    fn edit(&self, node: Node, text: &[u8], append: &mut bool) -> Result<(), Error> {
        if node == Node::Rules {
            self.daemon.apply_rules(text, *append)?;
            *append = true;
            Ok(())
        } else {
            self.daemon.apply_config(text)
        }
    }

    /// Truncation (`>` opens with O_TRUNC): allowed on `config` and
    /// `rules` as a no-op (a write to `rules` replaces the list anyway),
    /// refused elsewhere.
    pub fn truncate(&self, ino: u64, size: u64, cred: &Cred) -> Result<Attr, Errno> {
        let node = Self::node(ino)?;
        if !node.writable() {
            return Err(if node == Node::Root {
                Errno::EISDIR
            } else {
                Errno::EACCES
            });
        }
        if self.opts.read_only {
            return Err(Errno::EROFS);
        }
        if !cred.is_root() {
            return Err(Errno::EACCES);
        }
        if size != 0 {
            return Err(Errno::EINVAL);
        }
        self.getattr(ino)
    }

    /// close(2) of one descriptor: applies a pending last line of
    /// `config` or `rules` (refused: its errno and reason).
    pub fn flush(&self, fh: u64) -> Result<(), Error> {
        let h = self.handle(fh)?;
        let mut g = h.lock();
        if let Handle::Edit {
            node, wbuf, append, ..
        } = &mut *g
        {
            if !wbuf.is_empty() {
                let text = std::mem::take(wbuf);
                self.edit(*node, &text, append)?;
            }
        }
        Ok(())
    }

    /// The last close: drops the handle (after a final flush).
    pub fn release(&self, fh: u64) -> Result<(), Error> {
        let r = self.flush(fh);
        self.handles.lock().remove(&fh);
        self.daemon.hub.remove_poller(fh);
        r.or_else(|e| {
            if e.errno() == Errno::EBADF {
                Ok(())
            } else {
                Err(e)
            }
        })
    }

    /// poll(2): whether a read would not block now.  `wake`, if given, is
    /// called once when that changes (new data).
    pub fn poll(&self, fh: u64, wake: Option<PollWake>) -> Result<bool, Errno> {
        let h = self.handle(fh)?;
        let g = h.lock();
        let Handle::Pipe(s) = &*g else {
            return Ok(true);
        };
        if let Some(w) = wake {
            // Registered before the check: data that comes in between
            // still wakes the poller.
            self.daemon.hub.add_poller(fh, w);
        }
        Ok(s.lock().ready(&self.daemon.hub) || self.daemon.hub.is_shut_down())
    }

    /// Handles open now.
    pub fn open_handles(&self) -> usize {
        self.handles.lock().len()
    }
}

#[cfg(test)]
mod tests;
