//! The file output: every record written to files under a directory
//! (default `/var/log/sagafs`), rotated by size and count as auditd does,
//! and read back by a restarted daemon (`reload`).
//!
//! Each generation is a pair (see `names`): the log in the chosen format
//! for people and their tools, and a record file (`recfile`) holding the
//! same entries as the kernel's bytes. The text line leaves fields out
//! (euid, egid, the raw result), so reading it back could not be exact;
//! JSON Lines could, but would tie the reload to one of two formats and
//! to a parser. The record file is exact by construction, costs one copy
//! per record (the batch's bytes are written as they are), and reads
//! back at the speed of the disk.
//!
//! Writes go in batches: one `write(2)` per file per batch (more only
//! where a rotation falls inside it). The record file is written first,
//! so a crash between the two leaves the log a person reads, never the
//! read-back copy, short of an entry.

mod names;
pub(crate) mod recfile;
mod reload;

pub use names::{log_name, JSON_NAME, REC_NAME, TEXT_NAME};
pub use reload::{read_back, ReadBack};

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::batch::{Batch, Builder, Entry, Tally};
use super::status::{now_ns, Counters, State};
use super::Sink;
use crate::format::{DropReason, Format};

/// The default directory.
pub const DIR_DEFAULT: &str = "/var/log/sagafs";
/// The default size at which a log is rotated (auditd's `max_log_file`
/// is 8 MiB too).
pub const MAX_FILE_DEFAULT: u64 = 8 << 20;
/// The default number of generations kept, the current one included.
pub const NUM_LOGS_DEFAULT: u32 = 5;

/// When written data is forced to the disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flush {
    /// Never forced: the kernel writes it back in its own time (within
    /// about 30 s). A crash of the daemon loses nothing that was written;
    /// a crash of the machine can lose the last seconds.
    None,
    /// `fdatasync(2)` of both files at most this long after a write.
    Interval(Duration),
    /// `fdatasync(2)` after every batch, before the next is taken: what
    /// the daemon has written is on the disk. A batch is every record the
    /// collector drained at once, so this is "every record" without a
    /// system call per record.
    Every,
}

/// What to do when the file system is full.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiskFull {
    /// Stop writing and count what is not written; try again every
    /// second, and write a `reason=disk_full` notice when space is back.
    Stop,
    /// Remove the oldest generation and go on; if there is none left to
    /// remove, stop as above.
    RemoveOldest,
}

/// The file output's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileConfig {
    pub dir: PathBuf,
    pub format: Format,
    /// Rotate when the log would grow past this many bytes.
    pub max_file_bytes: u64,
    /// Generations kept, the current one included (at least 1).
    pub num_logs: u32,
    pub flush: Flush,
    pub disk_full: DiskFull,
    /// Files mode 0640 and this group; `None`: mode 0600.
    pub group: Option<u32>,
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig {
            dir: PathBuf::from(DIR_DEFAULT),
            format: Format::Text,
            max_file_bytes: MAX_FILE_DEFAULT,
            num_logs: NUM_LOGS_DEFAULT,
            flush: Flush::Interval(Duration::from_secs(1)),
            disk_full: DiskFull::Stop,
            group: None,
        }
    }
}

impl FileConfig {
    fn file_mode(&self) -> u32 {
        if self.group.is_some() {
            0o640
        } else {
            0o600
        }
    }
}

/// The files being appended to.
struct Current {
    log: File,
    rec: File,
    log_len: u64,
    rec_len: u64,
}

/// The file output.
pub struct FileSink {
    cfg: FileConfig,
    cur: Option<Current>,
    /// The rendered log lines of the chunk being written.
    text: Vec<u8>,
    /// Records not written for want of space, per CPU, not yet reported.
    unwritten: Tally,
    /// When to try writing again after a failure.
    retry_at: Option<Instant>,
    /// Written since the last fdatasync.
    dirty: bool,
    last_sync: Instant,
}

/// Whether `e` means the file system (or the quota) is full.
fn is_disk_full(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOSPC) | Some(libc::EDQUOT))
}

impl FileSink {
    pub fn new(cfg: FileConfig) -> FileSink {
        FileSink {
            cfg,
            cur: None,
            text: Vec::with_capacity(1 << 20),
            unwritten: Tally::default(),
            retry_at: None,
            dirty: false,
            last_sync: Instant::now(),
        }
    }

    fn open_file(&self, path: &Path) -> io::Result<File> {
        let f = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(self.cfg.file_mode())
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot open {}: {e}", path.display()))
            })?;
        // The mode and group hold whatever the umask or an earlier
        // configuration left.
        f.set_permissions(fs::Permissions::from_mode(self.cfg.file_mode()))?;
        if let Some(gid) = self.cfg.group {
            std::os::unix::fs::fchown(&f, None, Some(gid)).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("cannot give {} to group {gid}: {e}", path.display()),
                )
            })?;
        }
        Ok(f)
    }

    fn ensure_dir(&self) -> io::Result<()> {
        let d = &self.cfg.dir;
        if d.is_dir() {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(if self.cfg.group.is_some() {
                0o750
            } else {
                0o700
            })
            .create(d)
            .map_err(|e| io::Error::new(e.kind(), format!("cannot create {}: {e}", d.display())))?;
        if let Some(gid) = self.cfg.group {
            std::os::unix::fs::chown(d, None, Some(gid))?;
        }
        Ok(())
    }

    /// Opens generation 0 for appending, repairing a torn end left by a
    /// crash.
    fn open(&mut self, c: &Counters) -> io::Result<()> {
        self.ensure_dir()?;
        let dir = self.cfg.dir.clone();
        let rec_path = names::path(&dir, REC_NAME, 0);
        let mut rec = self.open_file(&rec_path)?;
        let rec_len = match recfile::repair(&mut rec, &rec_path) {
            Ok((len, cut)) => {
                if let Some(why) = cut {
                    c.error(why);
                }
                len
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                // Not ours or another version: keep it as an old
                // generation and start a new pair.
                c.error(format!("{e}; rotated away"));
                drop(rec);
                names::rotate(&dir, self.cfg.num_logs.max(2))?;
                return self.open(c);
            }
            Err(e) => return Err(e),
        };
        let log_path = names::path(&dir, log_name(self.cfg.format), 0);
        let mut log = self.open_file(&log_path)?;
        let log_len = cut_partial_line(&mut log)?;
        self.cur = Some(Current {
            log,
            rec,
            log_len,
            rec_len,
        });
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if let Some(cur) = self.cur.take() {
            if self.cfg.flush != Flush::None {
                cur.rec.sync_data()?;
                cur.log.sync_data()?;
            }
        }
        names::rotate(&self.cfg.dir, self.cfg.num_logs)
    }

    /// Appends one chunk (whole frames and their lines) to both files;
    /// on failure both are cut back to where they were.
    fn append(&mut self, frames: &[u8], records: u64, c: &Counters) -> io::Result<()> {
        let cur = self.cur.as_mut().expect("open before append");
        if let Err(e) = cur.rec.write_all(frames) {
            let _ = cur.rec.set_len(cur.rec_len);
            return Err(e);
        }
        if let Err(e) = cur.log.write_all(&self.text) {
            let _ = cur.rec.set_len(cur.rec_len);
            let _ = cur.log.set_len(cur.log_len);
            return Err(e);
        }
        cur.rec_len += frames.len() as u64;
        cur.log_len += self.text.len() as u64;
        self.dirty = true;
        Counters::add(&c.sent, records);
        Ok(())
    }

    /// Renders and writes the valid frames `bytes`, rotating where the
    /// log would pass its size limit. On failure, says how far it got:
    /// the frames before that offset are written and counted.
    fn write_frames(&mut self, bytes: &[u8], c: &Counters) -> Result<(), (usize, io::Error)> {
        if self.cur.is_none() {
            self.open(c).map_err(|e| (0, e))?;
        }
        let max = self.cfg.max_file_bytes;
        self.text.clear();
        let (mut chunk_start, mut records, mut notices) = (0, 0u64, 0u64);
        for (e, range) in super::batch::Frames::new(bytes, 0).flatten() {
            let before = self.text.len();
            render(self.cfg.format, &mut self.text, &e);
            let log_len = self.cur.as_ref().map_or(0, |c| c.log_len);
            if log_len + self.text.len() as u64 > max && log_len + before as u64 > 0 {
                // This entry starts the next generation.
                let line = self.text.split_off(before);
                if before > 0 {
                    self.append(&bytes[chunk_start..range.start], records, c)
                        .map_err(|e| (chunk_start, e))?;
                    Counters::add(&c.notices, notices);
                }
                chunk_start = range.start;
                (records, notices) = (0, 0);
                self.rotate().map_err(|e| (chunk_start, e))?;
                self.open(c).map_err(|e| (chunk_start, e))?;
                self.text = line;
            }
            match e {
                Entry::Record(_) => records += 1,
                Entry::Lost { .. } => notices += 1,
            }
        }
        self.append(&bytes[chunk_start..], records, c)
            .map_err(|e| (chunk_start, e))?;
        Counters::add(&c.notices, notices);
        if self.cfg.flush == Flush::Every {
            self.sync().map_err(|e| (bytes.len(), e))?;
        }
        Ok(())
    }

    fn sync(&mut self) -> io::Result<()> {
        if let Some(cur) = &self.cur {
            if self.dirty {
                cur.rec.sync_data()?;
                cur.log.sync_data()?;
            }
        }
        self.dirty = false;
        self.last_sync = Instant::now();
        Ok(())
    }

    /// Frees space by removing the oldest generation; false if there was
    /// none to remove.
    fn remove_oldest(&mut self, c: &Counters) -> io::Result<bool> {
        let oldest = names::oldest_generation(&self.cfg.dir)?;
        if oldest == 0 {
            return Ok(false);
        }
        names::remove_generation(&self.cfg.dir, oldest)?;
        c.error(format!(
            "disk full: removed generation {oldest} of the log in {}",
            self.cfg.dir.display()
        ));
        Ok(true)
    }

    /// Counts the valid frames `bytes` as not written.
    fn drop_frames(&mut self, bytes: &[u8], c: &Counters, disk_full: bool) {
        let mut records = 0;
        for (e, _) in super::batch::Frames::new(bytes, 0).flatten() {
            match e {
                Entry::Record(r) => {
                    records += 1;
                    self.unwritten.add(r.cpu, 1);
                }
                // Losses the batch's own notices reported are carried.
                Entry::Lost { cpu, count, .. } => self.unwritten.add(cpu, count),
            }
        }
        if disk_full {
            Counters::add(&c.dropped_disk_full, records);
        } else {
            Counters::add(&c.dropped_error, records);
        }
    }

    /// Writes the notice for what was not written, if any is pending.
    fn write_unwritten(&mut self, c: &Counters) -> io::Result<()> {
        if self.unwritten.is_empty() {
            return Ok(());
        }
        let mut b = Builder::default();
        for (cpu, n) in self.unwritten.iter() {
            b.lost(now_ns(), cpu, n, DropReason::DiskFull);
        }
        let b = b.finish();
        match self.write_frames(b.bytes(), c) {
            Ok(()) => {
                self.unwritten = Tally::default();
                Ok(())
            }
            // A notice is one frame per CPU: if only some went out, the
            // rest is reported again (better twice than never).
            Err((_, e)) => Err(e),
        }
    }

    /// Writes `bytes` (after any pending notice), freeing space or
    /// counting as the configuration says.
    fn write_or_count(&mut self, bytes: &[u8], c: &Counters) {
        let mut pos = 0;
        loop {
            let r = match self.write_unwritten(c) {
                Ok(()) => self.write_frames(&bytes[pos..], c),
                Err(e) => Err((0, e)),
            };
            let e = match r {
                Ok(()) => {
                    self.retry_at = None;
                    c.set_state(State::Writing);
                    return;
                }
                Err((done, e)) => {
                    pos += done;
                    e
                }
            };
            let full = is_disk_full(&e);
            if full && self.cfg.disk_full == DiskFull::RemoveOldest {
                match self.remove_oldest(c) {
                    Ok(true) => continue,
                    Ok(false) => {}
                    Err(e) => c.error(format!("file output: {e}")),
                }
            }
            if full {
                c.error(format!(
                    "file output: disk full in {}: not writing, counting",
                    self.cfg.dir.display()
                ));
                c.set_state(State::DiskFull);
            } else {
                c.error(format!("file output: {e}"));
                c.set_state(State::Retrying);
                // Reopen on the next try: the file may be gone.
                self.cur = None;
            }
            self.drop_frames(&bytes[pos..], c, full);
            self.retry_at = Some(Instant::now() + Duration::from_secs(1));
            return;
        }
    }
}

/// Appends the log line of `e` in `format`.
fn render(format: Format, out: &mut Vec<u8>, e: &Entry) {
    match e {
        Entry::Record(r) => format.record(out, r),
        Entry::Lost {
            time_ns,
            cpu,
            count,
            reason,
        } => format.dropped(out, *time_ns, *cpu, *count, *reason),
    }
}

/// Cuts a partial last line (a crash in the middle of a write) off `f`;
/// returns the new length.
fn cut_partial_line(f: &mut File) -> io::Result<u64> {
    let len = f.metadata()?.len();
    if len == 0 {
        return Ok(0);
    }
    // Look back for the last newline, 64 KiB at a time.
    let mut end = len;
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let n = (end - start) as usize;
        f.seek(SeekFrom::Start(start))?;
        f.read_exact(&mut buf[..n])?;
        if let Some(i) = buf[..n].iter().rposition(|&b| b == b'\n') {
            let keep = start + i as u64 + 1;
            if keep < len {
                f.set_len(keep)?;
            }
            return Ok(keep);
        }
        end = start;
    }
    f.set_len(0)?;
    Ok(0)
}

impl Sink for FileSink {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn start(&mut self, c: &Counters) {
        match self.open(c) {
            Ok(()) => c.set_state(State::Writing),
            Err(e) => {
                c.error(format!("file output: {e}"));
                c.set_state(State::Retrying);
                self.retry_at = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }

    fn write(&mut self, batch: &Batch, c: &Counters) {
        if self.retry_at.is_some_and(|t| Instant::now() < t) {
            let full = c.state() == State::DiskFull;
            self.drop_frames(batch.bytes(), c, full);
            return;
        }
        self.write_or_count(batch.bytes(), c);
    }

    fn tick(&mut self, c: &Counters) {
        if let Flush::Interval(d) = self.cfg.flush {
            if self.dirty && self.last_sync.elapsed() >= d {
                if let Err(e) = self.sync() {
                    c.error(format!("file output: fdatasync: {e}"));
                }
            }
        }
        // After a failure, report what was not written as soon as
        // writing works again, even if no batch comes.
        if self.retry_at.is_some_and(|t| Instant::now() >= t) && !self.unwritten.is_empty() {
            self.write_or_count(&[], c);
        }
    }

    fn tick_interval(&self) -> Duration {
        match self.cfg.flush {
            Flush::Interval(d) => d.min(Duration::from_millis(500)),
            _ => Duration::from_millis(500),
        }
    }

    fn stop(&mut self, c: &Counters) {
        if let Err(e) = self.sync() {
            c.error(format!("file output: fdatasync: {e}"));
        }
        self.cur = None;
    }
}

#[cfg(test)]
pub(crate) mod tests;
