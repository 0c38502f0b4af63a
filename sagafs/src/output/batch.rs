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

use crate::abi;
use crate::format::DropReason;
use crate::record::{self, DecodeError, Items, RecordRef, Slot};

/// The frame type of a lost-records notice; the kernel's types are 1
/// (`REC_SYSCALL`) and 2 (`REC_PAD`).
pub const FRAME_LOST: u16 = 0x100;
/// The size of a lost-records notice frame.
pub const LOST_FRAME_LEN: usize = 32;

/// One entry of a batch: a record borrowed from the batch's bytes, or a
/// notice that `count` records of `cpu` were lost.
// A transient view made while walking a batch: boxing the record would
// allocate per entry, which is what this type exists to avoid.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry<'a> {
    Record(RecordRef<'a>),
    Lost {
        time_ns: u64,
        cpu: u32,
        count: u64,
        reason: DropReason,
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

fn reason_code(r: DropReason) -> u16 {
    match r {
        DropReason::RingFull => 1,
        DropReason::Evicted => 2,
        DropReason::ReaderBehind => 3,
        DropReason::QueueFull => 4,
        DropReason::DiskFull => 5,
        DropReason::SpoolFull => 6,
        DropReason::Unacknowledged => 7,
    }
}

fn reason_from_code(c: u16) -> Option<DropReason> {
    Some(match c {
        1 => DropReason::RingFull,
        2 => DropReason::Evicted,
        3 => DropReason::ReaderBehind,
        4 => DropReason::QueueFull,
        5 => DropReason::DiskFull,
        6 => DropReason::SpoolFull,
        7 => DropReason::Unacknowledged,
        _ => return None,
    })
}

/// Appends a lost-records notice frame to `out`.
pub fn push_lost_frame(out: &mut Vec<u8>, time_ns: u64, cpu: u32, count: u64, why: DropReason) {
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
    pub fn push_notices(&self, out: &mut Vec<u8>, time_ns: u64, why: DropReason) {
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
    notices: Vec<(u32, u64, DropReason)>,
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
    pub fn notices(&self) -> &[(u32, u64, DropReason)] {
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
    notices: Vec<(u32, u64, DropReason)>,
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

    /// Adds the record at the start of `b`, in the kernel's layout (its
    /// own size; `b` may extend past it), after validating it.
    pub fn record(&mut self, b: &[u8]) -> Result<(), DecodeError> {
        let r = record::decode_ref(b)?;
        let (size, _) = record::peek_header(b).expect("a validated record");
        self.records.add(r.cpu, 1);
        self.bytes.extend_from_slice(&b[..size]);
        Ok(())
    }

    /// Adds every item of `items`, in order: its records as they are, its
    /// drop counts as `ring_full` notices (what a ring consumer reports).
    pub fn items(&mut self, items: &Items) {
        for i in 0..items.len() {
            match items.slot(i) {
                Slot::Record { cpu, .. } => {
                    self.bytes
                        .extend_from_slice(items.record_bytes(i).expect("a record slot"));
                    self.records.add(cpu, 1);
                }
                Slot::Dropped {
                    cpu,
                    count,
                    time_ns,
                } => self.lost(time_ns, cpu, count, DropReason::RingFull),
            }
        }
    }

    /// Adds a notice that `count` records of `cpu` were lost.
    pub fn lost(&mut self, time_ns: u64, cpu: u32, count: u64, why: DropReason) {
        push_lost_frame(&mut self.bytes, time_ns, cpu, count, why);
        self.notices.push((cpu, count, why));
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
    use crate::record::{Builder as Rec, PathSpec};

    /// A record with the given cpu and seq and a path of `path_len` bytes,
    /// in the kernel's layout.
    pub(crate) fn rec(cpu: u32, seq: u64, path_len: usize) -> Vec<u8> {
        rec_fields(cpu, seq, path_len).encode()
    }

    /// [`rec`]'s fields.
    pub(crate) fn rec_fields(cpu: u32, seq: u64, path_len: usize) -> Rec {
        let mut r = Rec::sample();
        r.cpu = cpu;
        r.seq = seq;
        r.time_ns += seq;
        let path: Vec<u8> = (0..path_len).map(|i| b'a' + (i % 26) as u8).collect();
        r.paths = [Some(PathSpec::new(&path)), None];
        r.flags = 0;
        r
    }

    /// The view of record bytes.
    pub(crate) fn view(b: &[u8]) -> RecordRef<'_> {
        record::decode_ref(b).expect("a valid record")
    }

    #[test]
    fn builds_and_walks() {
        let mut b = Builder::default();
        let r1 = rec(0, 1, 5);
        let r2 = rec(3, 2, 0);
        b.record(&r1).unwrap();
        b.lost(77, 1, 9, DropReason::RingFull);
        b.record(&r2).unwrap();
        let batch = b.finish();
        assert_eq!(batch.len(), 2);
        assert_eq!(batch.notices(), &[(1, 9, DropReason::RingFull)]);
        assert_eq!(
            batch.records().iter().collect::<Vec<_>>(),
            vec![(0, 1), (3, 1)]
        );
        let e: Vec<Entry> = batch.entries().collect();
        assert_eq!(e[0], Entry::Record(view(&r1)));
        assert_eq!(
            e[1],
            Entry::Lost {
                time_ns: 77,
                cpu: 1,
                count: 9,
                reason: DropReason::RingFull
            }
        );
        assert_eq!(e[2], Entry::Record(view(&r2)));
        assert_eq!(Tally::of_frames(batch.bytes()), *batch.records());
    }

    #[test]
    fn every_reason_round_trips() {
        for why in [
            DropReason::RingFull,
            DropReason::Evicted,
            DropReason::ReaderBehind,
            DropReason::QueueFull,
            DropReason::DiskFull,
            DropReason::SpoolFull,
            DropReason::Unacknowledged,
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
        b.record(&rec(0, 1, 3)).unwrap();
        b.record(&rec(0, 2, 3)).unwrap();
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
        push_lost_frame(&mut v, 1, 1, 1, DropReason::DiskFull);
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
        t.push_notices(&mut v, 9, DropReason::QueueFull);
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
