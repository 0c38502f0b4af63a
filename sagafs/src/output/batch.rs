//! Batches: what the collector hands to every output at once, and the
//! frame format they share with the file output's `.rec` files and the
//! remote output's spool.
//!
//! A batch is a run of frames in one buffer. A frame is either a record
//! in the kernel's own layout (`struct sagafs_record` and its paths,
//! 8-byte aligned, exactly as it sat in the ring) or a lost-records
//! notice of 32 bytes:
//!
//! ```text
//! u16 size = 32 | u16 type = FRAME_LOST | u16 reason | u16 0
//! u32 cpu       | u32 0
//! u64 count
//! u64 time_ns
//! ```
//!
//! Both start with the size and type fields, so one walk reads them.
//! Walking validates every frame ([`record::decode_ref`] for records):
//! bytes from a file or a spool are as hostile as any other input.

use std::fmt;
use std::sync::Arc;

use crate::device::abi;
use crate::format::LostReason;
use crate::record::{self, DecodeError, RecordRef};

/// The frame type of a lost-records notice; the kernel's types are 1
/// (`REC_SYSCALL`) and 2 (`REC_PAD`).
pub const FRAME_LOST: u16 = 0x100;
/// The size of a lost-records notice frame.
pub const LOST_FRAME_LEN: usize = 32;

/// One entry of a batch: a record borrowed from the batch's bytes, or a
/// notice that `count` records of `cpu` were lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Record(RecordRef<'a>),
    Lost {
        time_ns: u64,
        cpu: u32,
        count: u64,
        reason: LostReason,
    },
}

impl Entry<'_> {
    /// The CPU the entry belongs to.
    pub fn cpu(&self) -> u32 {
        match self {
            Entry::Record(r) => r.cpu,
            Entry::Lost { cpu, .. } => *cpu,
        }
    }
}

fn reason_code(r: LostReason) -> u16 {
    match r {
        LostReason::RingFull => 1,
        LostReason::Evicted => 2,
        LostReason::ReaderBehind => 3,
        LostReason::QueueFull => 4,
        LostReason::DiskFull => 5,
        LostReason::SpoolFull => 6,
        LostReason::Unacknowledged => 7,
    }
}

fn reason_from_code(c: u16) -> Option<LostReason> {
    Some(match c {
        1 => LostReason::RingFull,
        2 => LostReason::Evicted,
        3 => LostReason::ReaderBehind,
        4 => LostReason::QueueFull,
        5 => LostReason::DiskFull,
        6 => LostReason::SpoolFull,
        7 => LostReason::Unacknowledged,
        _ => return None,
    })
}

/// Appends a lost-records notice frame to `out`.
pub fn push_lost_frame(out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: LostReason) {
    let mut f = [0u8; LOST_FRAME_LEN];
    f[0..2].copy_from_slice(&(LOST_FRAME_LEN as u16).to_ne_bytes());
    f[2..4].copy_from_slice(&FRAME_LOST.to_ne_bytes());
    f[4..6].copy_from_slice(&reason_code(why).to_ne_bytes());
    f[8..12].copy_from_slice(&cpu.to_ne_bytes());
    f[16..24].copy_from_slice(&count.to_ne_bytes());
    f[24..32].copy_from_slice(&time_ns.to_ne_bytes());
    out.extend_from_slice(&f);
}

/// Why bytes are not a valid run of frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// A record frame that does not decode.
    Record { offset: usize, error: DecodeError },
    /// A frame whose size runs past the end of the bytes (a torn write).
    Torn { offset: usize, size: usize },
    /// A frame of an unknown type or a malformed notice.
    Bad { offset: usize, what: String },
}

impl FrameError {
    /// The offset of the first byte that is not a whole valid frame.
    pub fn offset(&self) -> usize {
        match self {
            FrameError::Record { offset, .. }
            | FrameError::Torn { offset, .. }
            | FrameError::Bad { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Record { offset, error } => {
                write!(f, "bad record at byte {offset}: {error}")
            }
            FrameError::Torn { offset, size } => {
                write!(f, "frame of {size} bytes at byte {offset} is cut short")
            }
            FrameError::Bad { offset, what } => write!(f, "bad frame at byte {offset}: {what}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Decodes the frame at the start of `b`: the entry and its size.
pub fn decode_frame(b: &[u8], offset: usize) -> Result<(Entry<'_>, usize), FrameError> {
    let Some((size, type_)) = record::peek_header(b) else {
        return Err(FrameError::Torn {
            offset,
            size: b.len(),
        });
    };
    if size > b.len() {
        return Err(FrameError::Torn { offset, size });
    }
    if size < 8 || size % abi::RECORD_ALIGN != 0 {
        return Err(FrameError::Bad {
            offset,
            what: format!("size {size} is not a positive multiple of 8"),
        });
    }
    match type_ {
        abi::REC_SYSCALL => match record::decode_ref(&b[..size]) {
            Ok(r) => Ok((Entry::Record(r), size)),
            Err(error) => Err(FrameError::Record { offset, error }),
        },
        FRAME_LOST if size == LOST_FRAME_LEN => {
            let u16_at = |o: usize| u16::from_ne_bytes([b[o], b[o + 1]]);
            let u64_at = |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().expect("8 bytes"));
            let code = u16_at(4);
            let reason = reason_from_code(code).ok_or_else(|| FrameError::Bad {
                offset,
                what: format!("unknown lost reason {code}"),
            })?;
            Ok((
                Entry::Lost {
                    time_ns: u64_at(24),
                    cpu: u32::from_ne_bytes(b[8..12].try_into().expect("4 bytes")),
                    count: u64_at(16),
                    reason,
                },
                size,
            ))
        }
        t => Err(FrameError::Bad {
            offset,
            what: format!("frame type {t} of {size} bytes"),
        }),
    }
}

/// Iterates over the frames of `bytes`; stops at the first bad one.
pub struct Frames<'a> {
    bytes: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Frames<'a> {
    /// Frames of `bytes`; `base` is added to offsets in errors (the
    /// position of `bytes` in its file).
    pub fn new(bytes: &'a [u8], base: usize) -> Frames<'a> {
        Frames {
            bytes,
            pos: 0,
            base,
        }
    }

    /// Bytes consumed so far (whole valid frames).
    pub fn pos(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Frames<'a> {
    /// An entry with the byte range of its frame.
    type Item = Result<(Entry<'a>, std::ops::Range<usize>), FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.bytes.len() {
            return None;
        }
        match decode_frame(&self.bytes[self.pos..], self.base + self.pos) {
            Ok((e, size)) => {
                let range = self.pos..self.pos + size;
                self.pos += size;
                Some(Ok((e, range)))
            }
            Err(err) => {
                self.pos = self.bytes.len();
                Some(Err(err))
            }
        }
    }
}

/// Records per CPU: how many a batch holds, or how many went lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Index: CPU number.
    per_cpu: Vec<u64>,
}

impl Tally {
    pub fn add(&mut self, cpu: u32, n: u64) {
        let i = cpu as usize;
        if i >= self.per_cpu.len() {
            // CPU numbers come from validated records; the kernel caps
            // them at nr_cpu_ids (at most a few thousand).
            self.per_cpu.resize(i + 1, 0);
        }
        self.per_cpu[i] += n;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (cpu, n) in other.iter() {
            self.add(cpu, n);
        }
    }

    pub fn total(&self) -> u64 {
        self.per_cpu.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    /// (cpu, count) for every CPU with a non-zero count.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        self.per_cpu
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| (c as u32, n))
    }

    /// Appends one lost-records notice per CPU for this tally.
    pub fn push_notices(&self, out: &mut Vec<u8>, time_ns: u64, why: LostReason) {
        for (cpu, n) in self.iter() {
            push_lost_frame(out, time_ns, cpu, n, why);
        }
    }

    /// The tally of the records (not the notices) in `bytes`, whose frames
    /// must be valid.
    pub fn of_frames(bytes: &[u8]) -> Tally {
        let mut t = Tally::default();
        for (e, _) in Frames::new(bytes, 0).flatten() {
            if let Entry::Record(r) = e {
                t.add(r.cpu, 1);
            }
        }
        t
    }
}

/// A batch of frames, immutable once built; shared by every output.
#[derive(Debug, Default)]
pub struct Batch {
    bytes: Vec<u8>,
    records: Tally,
    /// The lost-records notices in the batch: (cpu, count, reason).
    notices: Vec<(u32, u64, LostReason)>,
}

impl Batch {
    /// The frames, in the format of [`Frames`].
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Records per CPU.
    pub fn records(&self) -> &Tally {
        &self.records
    }

    /// How many records the batch holds.
    pub fn len(&self) -> u64 {
        self.records.total()
    }

    /// Whether the batch holds no frame at all.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The lost-records notices the batch holds: (cpu, count, reason).
    pub fn notices(&self) -> &[(u32, u64, LostReason)] {
        &self.notices
    }

    /// The entries; the builder only puts valid frames in.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        Frames::new(&self.bytes, 0).map(|f| f.expect("a built batch holds valid frames").0)
    }

    /// A batch of frames read from a file or spool: every frame is
    /// checked, and the valid prefix is kept.
    pub fn from_frames(bytes: Vec<u8>) -> (Batch, Option<FrameError>) {
        let mut b = Builder::default();
        let mut err = None;
        let mut end = 0;
        for f in Frames::new(&bytes, 0) {
            match f {
                Ok((e, range)) => {
                    b.count(&e);
                    end = range.end;
                }
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        let mut bytes = bytes;
        bytes.truncate(end);
        b.bytes = bytes;
        (b.finish_batch(), err)
    }
}

/// Builds a batch; the collector's side of the hand-over.
#[derive(Debug, Default)]
pub struct Builder {
    bytes: Vec<u8>,
    records: Tally,
    notices: Vec<(u32, u64, LostReason)>,
}

impl Builder {
    pub fn with_capacity(bytes: usize) -> Builder {
        Builder {
            bytes: Vec::with_capacity(bytes),
            ..Builder::default()
        }
    }

    fn count(&mut self, e: &Entry) {
        match e {
            Entry::Record(r) => self.records.add(r.cpu, 1),
            Entry::Lost {
                cpu, count, reason, ..
            } => self.notices.push((*cpu, *count, *reason)),
        }
    }

    /// Adds a record (a view into the ring, or any decoded record).
    pub fn record(&mut self, r: &RecordRef) {
        record::encode_into(&mut self.bytes, r);
        self.records.add(r.cpu, 1);
    }

    /// Adds a notice that `count` records of `cpu` were lost.
    pub fn lost(&mut self, time_ns: u64, cpu: u32, count: u64, why: LostReason) {
        push_lost_frame(&mut self.bytes, time_ns, cpu, count, why);
        self.notices.push((cpu, count, why));
    }

    /// Adds any entry.
    pub fn entry(&mut self, e: &Entry) {
        match e {
            Entry::Record(r) => self.record(r),
            Entry::Lost {
                time_ns,
                cpu,
                count,
                reason,
            } => self.lost(*time_ns, *cpu, *count, *reason),
        }
    }

    /// Bytes held so far.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn finish_batch(self) -> Batch {
        Batch {
            bytes: self.bytes,
            records: self.records,
            notices: self.notices,
        }
    }

    /// The batch, ready to share.
    pub fn finish(self) -> Arc<Batch> {
        Arc::new(self.finish_batch())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::record::{CapturedPath, Record};

    /// A record with the given cpu and seq and a path of `path_len` bytes.
    pub(crate) fn rec(cpu: u32, seq: u64, path_len: usize) -> Record {
        let mut r = Record::sample();
        r.cpu = cpu;
        r.seq = seq;
        r.time_ns += seq;
        r.paths[0] = Some(CapturedPath {
            bytes: (0..path_len).map(|i| b'a' + (i % 26) as u8).collect(),
            truncated: false,
            fault: false,
        });
        r.flags = abi::RF_PATH0;
        r
    }

    #[test]
    fn builds_and_walks() {
        let mut b = Builder::default();
        let r1 = rec(0, 1, 5);
        let r2 = rec(3, 2, 0);
        b.record(&r1.view());
        b.lost(77, 1, 9, LostReason::RingFull);
        b.record(&r2.view());
        let batch = b.finish();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.notices(), &[(1, 9, LostReason::RingFull)]);
        assert_eq!(
            batch.records().iter().collect::<Vec<_>>(),
            vec![(0, 1), (3, 1)]
        );
        let e: Vec<Entry> = batch.entries().collect();
        assert_eq!(e[0], Entry::Record(r1.view()));
        assert_eq!(
            e[1],
            Entry::Lost {
                time_ns: 77,
                cpu: 1,
                count: 9,
                reason: LostReason::RingFull
            }
        );
        assert_eq!(e[2], Entry::Record(r2.view()));
        assert_eq!(Tally::of_frames(batch.bytes()), *batch.records());
    }

    #[test]
    fn every_reason_round_trips() {
        for why in [
            LostReason::RingFull,
            LostReason::Evicted,
            LostReason::ReaderBehind,
            LostReason::QueueFull,
            LostReason::DiskFull,
            LostReason::SpoolFull,
            LostReason::Unacknowledged,
        ] {
            let mut v = Vec::new();
            push_lost_frame(&mut v, 5, 2, 3, why);
            let (e, n) = decode_frame(&v, 0).unwrap();
            assert_eq!(n, LOST_FRAME_LEN);
            assert_eq!(
                e,
                Entry::Lost {
                    time_ns: 5,
                    cpu: 2,
                    count: 3,
                    reason: why
                }
            );
        }
    }

    #[test]
    fn hostile_frames_are_refused() {
        let mut b = Builder::default();
        b.record(&rec(0, 1, 3).view());
        b.record(&rec(0, 2, 3).view());
        let good = b.finish().bytes().to_vec();
        let one = good.len() / 2;
        // Cut in the middle of the second frame: the first is kept.
        let (batch, err) = Batch::from_frames(good[..good.len() - 8].to_vec());
        assert_eq!(batch.len(), 1);
        assert_eq!(batch.bytes().len(), one);
        assert!(matches!(err, Some(FrameError::Torn { offset, .. }) if offset == one));
        // An unknown type.
        let mut bad = good.clone();
        bad[one + 2] = 0x77;
        let (batch, err) = Batch::from_frames(bad);
        assert_eq!(batch.len(), 1);
        assert!(matches!(err, Some(FrameError::Bad { .. })));
        // A notice with an unknown reason.
        let mut v = Vec::new();
        push_lost_frame(&mut v, 1, 1, 1, LostReason::DiskFull);
        v[4] = 99;
        assert!(matches!(decode_frame(&v, 0), Err(FrameError::Bad { .. })));
        // A size of zero would loop forever if accepted.
        let z = [0u8; 16];
        assert!(decode_frame(&z, 0).is_err());
        // A record whose path lengths overflow it.
        let mut bad = good;
        bad[std::mem::offset_of!(abi::sagafs_record, path_len)] = 0xff;
        assert!(matches!(
            decode_frame(&bad, 0),
            Err(FrameError::Record { .. })
        ));
    }

    #[test]
    fn tally_notices_per_cpu() {
        let mut t = Tally::default();
        t.add(2, 5);
        t.add(0, 1);
        t.add(2, 1);
        let mut v = Vec::new();
        t.push_notices(&mut v, 9, LostReason::QueueFull);
        let got: Vec<Entry> = Frames::new(&v, 0).map(|f| f.unwrap().0).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].cpu(), 0);
        assert!(matches!(
            got[1],
            Entry::Lost {
                cpu: 2,
                count: 6,
                ..
            }
        ));
    }
}
