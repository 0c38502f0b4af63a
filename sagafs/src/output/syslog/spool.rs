//! The remote output's spool: records waiting on disk while the collector
//! is unreachable, bounded in bytes, oldest first out.
//!
//! A spool is a directory of segments, each a record file (the file
//! output's `.rec` format) named by a 16-digit hexadecimal sequence
//! number: new records are appended to the newest segment; records that
//! were sent but never acknowledged go back in front, in a segment
//! numbered below the oldest. When the spool would pass its limit, the
//! oldest segments go, and their records are counted (`spool_full`) and
//! reported by a notice. It survives a restart of the daemon: a new
//! spool on the same directory starts with what the old one left.
//!
//! Segments are not synced to the disk: the spool survives a crash of
//! the daemon, not a crash of the machine.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::output::batch::{Batch, Entry, Tally};
use crate::output::file::recfile;

/// The first sequence number: half way, so that segments can be put in
/// front of the oldest for a long time.
const FIRST_SEQ: u64 = 1 << 63;

#[derive(Debug)]
struct Segment {
    seq: u64,
    bytes: u64,
    records: Tally,
}

/// What was removed to make room.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Evicted {
    pub records: Tally,
    /// Losses the evicted notices reported.
    pub carried: Tally,
}

/// A spool directory.
#[derive(Debug)]
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    segment_bytes: u64,
    /// Oldest first.
    segments: Vec<Segment>,
    bytes: u64,
    /// What the segments that could not be read held, found at open.
    pub problems: Vec<String>,
}

fn segment_name(seq: u64) -> String {
    format!("{seq:016x}.rec")
}

fn parse_name(name: &str) -> Option<u64> {
    let hex = name.strip_suffix(".rec")?;
    if hex.len() != 16
        || !hex
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        return None;
    }
    u64::from_str_radix(hex, 16).ok()
}

impl Spool {
    /// Opens (creating it, mode 0700) the spool in `dir`, holding at most
    /// `max_bytes`, and counts what an earlier daemon left in it.
    pub fn open(dir: &Path, max_bytes: u64) -> io::Result<Spool> {
        if !dir.is_dir() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| {
                    io::Error::new(
                        e.kind(),
                        format!("cannot create spool {}: {e}", dir.display()),
                    )
                })?;
        }
        let mut s = Spool {
            dir: dir.to_path_buf(),
            max_bytes,
            // Segments of a sixteenth of the limit (64 KiB to 4 MiB), so
            // that dropping the oldest frees a small part of it.
            segment_bytes: (max_bytes / 16)
                .min(4 << 20)
                .max((64 << 10).min(max_bytes / 4)),
            segments: Vec::new(),
            bytes: 0,
            problems: Vec::new(),
        };
        let mut seqs: Vec<u64> = fs::read_dir(dir)?
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().to_str().and_then(parse_name))
            .collect();
        seqs.sort_unstable();
        for seq in seqs {
            let (frames, problem) = s.read(seq)?;
            if problem.is_some() || frames.is_empty() {
                // Keep the valid part only, so appends follow whole frames.
                fs::remove_file(s.path(seq))?;
                if !frames.is_empty() {
                    s.create(seq, &frames)?;
                }
            }
            if let Some(p) = problem {
                s.problems.push(p);
            }
            if frames.is_empty() {
                continue;
            }
            let records = Tally::of_frames(&frames);
            let bytes = (recfile::HEADER_LEN + frames.len()) as u64;
            s.bytes += bytes;
            s.segments.push(Segment {
                seq,
                bytes,
                records,
            });
        }
        Ok(s)
    }

    fn path(&self, seq: u64) -> PathBuf {
        self.dir.join(segment_name(seq))
    }

    pub fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// Records held.
    pub fn records(&self) -> u64 {
        self.segments.iter().map(|s| s.records.total()).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    fn create(&self, seq: u64, frames: &[u8]) -> io::Result<()> {
        let path = self.path(seq);
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)?;
        let mut data = Vec::with_capacity(recfile::HEADER_LEN + frames.len());
        data.extend_from_slice(&recfile::header());
        data.extend_from_slice(frames);
        if let Err(e) = f.write_all(&data) {
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(())
    }

    /// Adds the valid frames `frames` after everything held; returns
    /// what had to go to stay within the limit.
    pub fn append(&mut self, frames: &[u8]) -> io::Result<Evicted> {
        if frames.is_empty() {
            return Ok(Evicted::default());
        }
        let records = Tally::of_frames(frames);
        let n = frames.len() as u64;
        match self.segments.last_mut() {
            Some(last) if last.bytes + n <= self.segment_bytes => {
                let path = self.dir.join(segment_name(last.seq));
                let mut f = OpenOptions::new()
                    .append(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                    .open(&path)?;
                if let Err(e) = f.write_all(frames) {
                    let _ = f.set_len(last.bytes);
                    return Err(e);
                }
                last.bytes += n;
                last.records.merge(&records);
            }
            _ => {
                let seq = self.segments.last().map_or(FIRST_SEQ, |s| s.seq + 1);
                self.create(seq, frames)?;
                self.segments.push(Segment {
                    seq,
                    bytes: recfile::HEADER_LEN as u64 + n,
                    records,
                });
                self.bytes += recfile::HEADER_LEN as u64;
            }
        }
        self.bytes += n;
        self.trim()
    }

    /// Puts the valid frames `frames` in front of everything held (they
    /// were sent and not acknowledged); returns what had to go.
    pub fn prepend(&mut self, frames: &[u8]) -> io::Result<Evicted> {
        if frames.is_empty() {
            return Ok(Evicted::default());
        }
        let seq = self.segments.first().map_or(FIRST_SEQ, |s| s.seq - 1);
        self.create(seq, frames)?;
        let bytes = (recfile::HEADER_LEN + frames.len()) as u64;
        self.segments.insert(
            0,
            Segment {
                seq,
                bytes,
                records: Tally::of_frames(frames),
            },
        );
        self.bytes += bytes;
        self.trim()
    }

    /// Removes the oldest segments while over the limit (never the only
    /// one, so a batch larger than the limit still waits).
    fn trim(&mut self) -> io::Result<Evicted> {
        let mut ev = Evicted::default();
        while self.bytes > self.max_bytes && self.segments.len() > 1 {
            let seg = self.segments.remove(0);
            let (frames, _) = self.read(seg.seq)?;
            for (e, _) in crate::output::batch::Frames::new(&frames, 0).flatten() {
                if let Entry::Lost { cpu, count, .. } = e {
                    ev.carried.add(cpu, count);
                }
            }
            fs::remove_file(self.path(seg.seq))?;
            self.bytes -= seg.bytes;
            ev.records.merge(&seg.records);
        }
        Ok(ev)
    }

    /// Reads segment `seq`: its valid frames, and what was wrong with the
    /// rest, if anything.
    fn read(&self, seq: u64) -> io::Result<(Vec<u8>, Option<String>)> {
        let path = self.path(seq);
        let data = fs::read(&path)?;
        if let Err(e) = recfile::check_header(&data) {
            return Ok((
                Vec::new(),
                Some(format!("spool segment {}: {e}", path.display())),
            ));
        }
        let (batch, err) = Batch::from_frames(data[recfile::HEADER_LEN..].to_vec());
        let problem = err.map(|e| format!("spool segment {}: {e}", path.display()));
        Ok((batch.bytes().to_vec(), problem))
    }

    /// The oldest segment's frames, to send; `None` when empty.
    pub fn oldest(&self) -> io::Result<Option<(u64, Vec<u8>)>> {
        match self.segments.first() {
            None => Ok(None),
            Some(s) => Ok(Some((s.seq, self.read(s.seq)?.0))),
        }
    }

    /// Removes segment `seq` once its frames are sent.
    pub fn remove(&mut self, seq: u64) -> io::Result<()> {
        if let Some(i) = self.segments.iter().position(|s| s.seq == seq) {
            let s = self.segments.remove(i);
            fs::remove_file(self.path(seq))?;
            self.bytes -= s.bytes;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::DropReason;
    use crate::output::batch::tests::rec;
    use crate::output::batch::{Builder, Frames};
    use crate::output::file::tests::tempdir;

    fn frames(cpu: u32, seqs: std::ops::Range<u64>) -> Vec<u8> {
        let mut b = Builder::default();
        for s in seqs {
            b.record(&rec(cpu, s, 20)).unwrap();
        }
        b.finish().bytes().to_vec()
    }

    fn seqs(frames: &[u8]) -> Vec<u64> {
        Frames::new(frames, 0)
            .filter_map(|f| match f.unwrap().0 {
                Entry::Record(r) => Some(r.seq),
                Entry::Lost { .. } => None,
            })
            .collect()
    }

    #[test]
    fn keeps_order_survives_reopen_and_drops_the_oldest() {
        let d = tempdir("spool");
        let one = frames(0, 0..1).len() as u64;
        let mut s = Spool::open(&d, 200 * one).unwrap();
        assert!(s.is_empty());
        for i in 0..10 {
            assert_eq!(
                s.append(&frames(0, i * 10..i * 10 + 10)).unwrap(),
                Evicted::default()
            );
        }
        // Sent and not acknowledged: back in front.
        s.prepend(&frames(1, 1000..1003)).unwrap();
        assert_eq!(s.records(), 103);
        let s = Spool::open(&d, 200 * one).unwrap();
        assert_eq!(s.records(), 103);
        let mut s = s;
        let mut all = Vec::new();
        while let Some((seq, f)) = s.oldest().unwrap() {
            all.extend(seqs(&f));
            s.remove(seq).unwrap();
        }
        let mut want: Vec<u64> = (1000..1003).collect();
        want.extend(0..100);
        assert_eq!(all, want);
        assert_eq!((s.records(), s.bytes()), (0, 0));

        // Over the limit: whole oldest segments go, counted.
        let mut s = Spool::open(&d, 10 * one).unwrap();
        let mut gone = Tally::default();
        let mut b = Builder::default();
        b.lost(1, 4, 7, DropReason::RingFull);
        s.append(b.finish().bytes()).unwrap();
        for i in 0..30 {
            let ev = s.append(&frames(2, i..i + 1)).unwrap();
            gone.merge(&ev.records);
            if !ev.carried.is_empty() {
                assert_eq!(ev.carried.iter().collect::<Vec<_>>(), vec![(4, 7)]);
            }
        }
        assert!(s.bytes() <= 10 * one + recfile::HEADER_LEN as u64 * 2 + one);
        assert_eq!(gone.total() + s.records(), 30);
        assert!(gone.total() > 0);
        // What is left is the newest.
        let (_, f) = s.oldest().unwrap().unwrap();
        assert!(seqs(&f)[0] >= gone.total());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_damaged_segment_keeps_its_valid_part() {
        let d = tempdir("spool-torn");
        let mut s = Spool::open(&d, 1 << 20).unwrap();
        s.append(&frames(0, 0..5)).unwrap();
        let seg = fs::read_dir(&d).unwrap().next().unwrap().unwrap().path();
        let len = fs::metadata(&seg).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&seg)
            .unwrap()
            .set_len(len - 8)
            .unwrap();
        fs::write(d.join("junk.rec"), b"not a segment").unwrap();
        let s = Spool::open(&d, 1 << 20).unwrap();
        assert_eq!(s.records(), 4);
        assert_eq!(s.problems.len(), 1);
        fs::remove_dir_all(&d).unwrap();
    }
}
