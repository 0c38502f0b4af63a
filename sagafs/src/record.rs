//! Decoded syscall records: the owned form of one `struct sagafs_record`
//! and its paths, and the items a ring consumer yields.
//!
//! Decoding is safe code over a byte slice in the kernel's layout; field
//! offsets come from the `#[repr(C)]` mirror in `device::abi`, which is
//! checked against the C header.

use std::fmt;
use std::mem::{offset_of, size_of};

use crate::device::abi::{self, sagafs_record as Raw};

/// The system call ABI a record was made under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Abi {
    X86_64,
    I386,
    X32,
}

impl Abi {
    pub const ALL: [Abi; abi::NR_ABIS] = [Abi::X86_64, Abi::I386, Abi::X32];

    pub fn from_raw(v: u8) -> Option<Abi> {
        match v {
            abi::ABI_X86_64 => Some(Abi::X86_64),
            abi::ABI_I386 => Some(Abi::I386),
            abi::ABI_X32 => Some(Abi::X32),
            _ => None,
        }
    }

    /// Index into `[abi][slot]` tables.
    pub fn index(self) -> usize {
        match self {
            Abi::X86_64 => 0,
            Abi::I386 => 1,
            Abi::X32 => 2,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Abi::X86_64 => "x86_64",
            Abi::I386 => "i386",
            Abi::X32 => "x32",
        }
    }
}

impl fmt::Display for Abi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path argument as captured by the kernel.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CapturedPath {
    /// The bytes, without a terminating NUL; not necessarily UTF-8.
    pub bytes: Vec<u8>,
    /// The string was longer than the snap length and was cut.
    pub truncated: bool,
    /// The pointer could not be read without faulting; `bytes` is empty.
    pub fault: bool,
}

/// One completed system call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub cpu: u32,
    pub seq: u64,
    /// CLOCK_REALTIME, nanoseconds since the epoch.
    pub time_ns: u64,
    pub abi: Abi,
    pub nr: i32,
    /// `abi::RF_*` bits.
    pub flags: u16,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// `u32::MAX` when unset.
    pub loginuid: u32,
    /// The task's comm, NUL padding removed; not necessarily UTF-8.
    pub comm: Vec<u8>,
    pub args: [u64; 6],
    pub ret: i64,
    pub paths: [Option<CapturedPath>; 2],
}

impl Record {
    /// Taken at entry of a call that never returns (exit, exit_group).
    pub fn noreturn(&self) -> bool {
        self.flags & abi::RF_NORETURN != 0
    }

    /// execve state from entry was lost: args and paths are absent.
    pub fn entry_lost(&self) -> bool {
        self.flags & abi::RF_ENTRY_LOST != 0
    }

    /// The result is an error number (ret in [-4095, -1]).
    pub fn is_error(&self) -> bool {
        (-4095..=-1).contains(&self.ret)
    }

    /// The bytes this record takes in the kernel's layout (header, paths,
    /// padding), used to account retention memory.
    pub fn encoded_len(&self) -> usize {
        let paths: usize = self.paths.iter().flatten().map(|p| p.bytes.len()).sum();
        (size_of::<Raw>() + paths).next_multiple_of(abi::RECORD_ALIGN)
    }
}

/// A captured path borrowed from a [`Record`] or from encoded bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathRef<'a> {
    pub bytes: &'a [u8],
    pub truncated: bool,
    pub fault: bool,
}

impl PathRef<'_> {
    pub fn to_owned(self) -> CapturedPath {
        CapturedPath {
            bytes: self.bytes.to_vec(),
            truncated: self.truncated,
            fault: self.fault,
        }
    }
}

/// A record whose comm and paths are borrowed: what the formatters read.
/// [`Record::view`] gives one for a decoded record and [`decode_ref`] one
/// straight from the kernel's layout, without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub cpu: u32,
    pub seq: u64,
    pub time_ns: u64,
    pub abi: Abi,
    pub nr: i32,
    pub flags: u16,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub loginuid: u32,
    pub comm: &'a [u8],
    pub args: [u64; 6],
    pub ret: i64,
    pub paths: [Option<PathRef<'a>>; 2],
}

impl RecordRef<'_> {
    /// See [`Record::noreturn`].
    pub fn noreturn(&self) -> bool {
        self.flags & abi::RF_NORETURN != 0
    }

    /// See [`Record::entry_lost`].
    pub fn entry_lost(&self) -> bool {
        self.flags & abi::RF_ENTRY_LOST != 0
    }

    /// The owned record.
    pub fn to_record(&self) -> Record {
        Record {
            cpu: self.cpu,
            seq: self.seq,
            time_ns: self.time_ns,
            abi: self.abi,
            nr: self.nr,
            flags: self.flags,
            pid: self.pid,
            tid: self.tid,
            ppid: self.ppid,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            loginuid: self.loginuid,
            comm: self.comm.to_vec(),
            args: self.args,
            ret: self.ret,
            paths: self.paths.map(|p| p.map(PathRef::to_owned)),
        }
    }
}

impl Record {
    /// The borrowed view of this record.
    pub fn view(&self) -> RecordRef<'_> {
        fn path(p: &Option<CapturedPath>) -> Option<PathRef<'_>> {
            p.as_ref().map(|p| PathRef {
                bytes: &p.bytes,
                truncated: p.truncated,
                fault: p.fault,
            })
        }
        RecordRef {
            cpu: self.cpu,
            seq: self.seq,
            time_ns: self.time_ns,
            abi: self.abi,
            nr: self.nr,
            flags: self.flags,
            pid: self.pid,
            tid: self.tid,
            ppid: self.ppid,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            loginuid: self.loginuid,
            comm: &self.comm,
            args: self.args,
            ret: self.ret,
            paths: [path(&self.paths[0]), path(&self.paths[1])],
        }
    }
}

/// What a ring consumer yields, in time order across CPUs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    Record(Record),
    /// `count` records were lost on `cpu` (ring full, or an unreadable
    /// stretch of ring); reported where the gap is.
    Lost {
        cpu: u32,
        count: u64,
    },
}

/// Why a byte slice is not a valid record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the fixed header.
    Short { len: usize },
    /// The size field is not a multiple of 8, is smaller than the header,
    /// or exceeds the bytes given.
    BadSize { size: usize, available: usize },
    /// The type field is not `REC_SYSCALL`.
    NotSyscall { type_: u16 },
    /// Paths claim more bytes than the record holds.
    BadPathLen { lens: [u16; 2], size: usize },
    /// The abi field names no known ABI.
    BadAbi { abi: u8 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Short { len } => write!(f, "record shorter than its header ({len} bytes)"),
            DecodeError::BadSize { size, available } => {
                write!(
                    f,
                    "record size {size} invalid ({available} bytes available)"
                )
            }
            DecodeError::NotSyscall { type_ } => write!(f, "record type {type_} is not a syscall"),
            DecodeError::BadPathLen { lens, size } => {
                write!(f, "path lengths {lens:?} overflow a record of {size} bytes")
            }
            DecodeError::BadAbi { abi } => write!(f, "unknown abi {abi}"),
        }
    }
}

impl std::error::Error for DecodeError {}

#[inline]
fn u16_at(b: &[u8], off: usize) -> u16 {
    u16::from_ne_bytes([b[off], b[off + 1]])
}

#[inline]
fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_ne_bytes(b[off..off + 4].try_into().expect("4 bytes"))
}

#[inline]
fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_ne_bytes(b[off..off + 8].try_into().expect("8 bytes"))
}

/// The size and type fields of the record header at the start of `b`,
/// for walking a ring; `None` if fewer than 4 bytes are given.
pub fn peek_header(b: &[u8]) -> Option<(usize, u16)> {
    if b.len() < 4 {
        return None;
    }
    Some((
        u16_at(b, offset_of!(Raw, size)) as usize,
        u16_at(b, offset_of!(Raw, type_)),
    ))
}

/// Decodes one `SAGAFS_REC_SYSCALL` record from the start of `b`.
/// `b` may extend past the record; the record's own size bounds it.
pub fn decode(b: &[u8]) -> Result<Record, DecodeError> {
    decode_ref(b).map(|r| r.to_record())
}

/// [`decode`] without copying: comm and paths borrow from `b`.
#[inline]
pub fn decode_ref(b: &[u8]) -> Result<RecordRef<'_>, DecodeError> {
    let hdr = size_of::<Raw>();
    if b.len() < hdr {
        return Err(DecodeError::Short { len: b.len() });
    }
    let size = u16_at(b, offset_of!(Raw, size)) as usize;
    if size < hdr || size > b.len() || size % abi::RECORD_ALIGN != 0 {
        return Err(DecodeError::BadSize {
            size,
            available: b.len(),
        });
    }
    let b = &b[..size];
    let type_ = u16_at(b, offset_of!(Raw, type_));
    if type_ != abi::REC_SYSCALL {
        return Err(DecodeError::NotSyscall { type_ });
    }
    let raw_abi = b[offset_of!(Raw, abi)];
    let abi_kind = Abi::from_raw(raw_abi).ok_or(DecodeError::BadAbi { abi: raw_abi })?;
    let lens_off = offset_of!(Raw, path_len);
    let lens = [u16_at(b, lens_off), u16_at(b, lens_off + 2)];
    if hdr + lens[0] as usize + lens[1] as usize > size {
        return Err(DecodeError::BadPathLen { lens, size });
    }
    let flags = u16_at(b, offset_of!(Raw, flags));

    let comm_off = offset_of!(Raw, comm);
    let comm_raw = &b[comm_off..comm_off + abi::COMM_LEN];
    let comm_len = comm_raw
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(abi::COMM_LEN);

    let args_off = offset_of!(Raw, args);
    let mut args = [0u64; 6];
    for (i, a) in args.iter_mut().enumerate() {
        *a = u64_at(b, args_off + 8 * i);
    }

    let present = [abi::RF_PATH0, abi::RF_PATH1];
    let trunc = [abi::RF_PATH0_TRUNC, abi::RF_PATH1_TRUNC];
    let fault = [abi::RF_PATH0_FAULT, abi::RF_PATH1_FAULT];
    let mut paths: [Option<PathRef<'_>>; 2] = [None, None];
    let mut off = hdr;
    for i in 0..2 {
        let len = lens[i] as usize;
        if flags & present[i] != 0 {
            paths[i] = Some(PathRef {
                bytes: &b[off..off + len],
                truncated: flags & trunc[i] != 0,
                fault: flags & fault[i] != 0,
            });
        }
        off += len;
    }

    Ok(RecordRef {
        cpu: u32_at(b, offset_of!(Raw, cpu)),
        seq: u64_at(b, offset_of!(Raw, seq)),
        time_ns: u64_at(b, offset_of!(Raw, time_ns)),
        abi: abi_kind,
        nr: u32_at(b, offset_of!(Raw, nr)) as i32,
        flags,
        pid: u32_at(b, offset_of!(Raw, pid)),
        tid: u32_at(b, offset_of!(Raw, tid)),
        ppid: u32_at(b, offset_of!(Raw, ppid)),
        uid: u32_at(b, offset_of!(Raw, uid)),
        gid: u32_at(b, offset_of!(Raw, gid)),
        euid: u32_at(b, offset_of!(Raw, euid)),
        egid: u32_at(b, offset_of!(Raw, egid)),
        loginuid: u32_at(b, offset_of!(Raw, loginuid)),
        comm: &comm_raw[..comm_len],
        args,
        ret: u64_at(b, offset_of!(Raw, ret)) as i64,
        paths,
    })
}

/// Encodes a record in the kernel's layout (what the probe writes), for
/// the device double and for tests. `seq` and `cpu` are taken from `r`.
pub fn encode(r: &Record) -> Vec<u8> {
    let mut b = Vec::with_capacity(r.encoded_len());
    encode_into(&mut b, &r.view());
    b
}

/// Appends `r` in the kernel's layout to `out` (padding included), the
/// bytes [`decode_ref`] takes back.
pub fn encode_into(out: &mut Vec<u8>, r: &RecordRef) {
    let hdr = size_of::<Raw>();
    let paths: usize = r.paths.iter().flatten().map(|p| p.bytes.len()).sum();
    let size = (hdr + paths).next_multiple_of(abi::RECORD_ALIGN);
    let start = out.len();
    out.resize(start + size, 0);
    let b = &mut out[start..];
    let put16 =
        |b: &mut [u8], off: usize, v: u16| b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
    let put32 =
        |b: &mut [u8], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
    let put64 =
        |b: &mut [u8], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());

    let mut flags = r.flags
        & !(abi::RF_PATH0
            | abi::RF_PATH1
            | abi::RF_PATH0_TRUNC
            | abi::RF_PATH1_TRUNC
            | abi::RF_PATH0_FAULT
            | abi::RF_PATH1_FAULT);
    let mut off = hdr;
    let lens_off = offset_of!(Raw, path_len);
    let bits = [
        (abi::RF_PATH0, abi::RF_PATH0_TRUNC, abi::RF_PATH0_FAULT),
        (abi::RF_PATH1, abi::RF_PATH1_TRUNC, abi::RF_PATH1_FAULT),
    ];
    for (i, p) in r.paths.iter().enumerate() {
        if let Some(p) = p {
            flags |= bits[i].0;
            if p.truncated {
                flags |= bits[i].1;
            }
            if p.fault {
                flags |= bits[i].2;
            }
            b[off..off + p.bytes.len()].copy_from_slice(p.bytes);
            off += p.bytes.len();
            put16(b, lens_off + 2 * i, p.bytes.len() as u16);
        }
    }

    put16(b, offset_of!(Raw, size), size as u16);
    put16(b, offset_of!(Raw, type_), abi::REC_SYSCALL);
    put16(b, offset_of!(Raw, flags), flags);
    b[offset_of!(Raw, abi)] = r.abi.index() as u8;
    put32(b, offset_of!(Raw, cpu), r.cpu);
    put32(b, offset_of!(Raw, nr), r.nr as u32);
    put64(b, offset_of!(Raw, seq), r.seq);
    put64(b, offset_of!(Raw, time_ns), r.time_ns);
    put32(b, offset_of!(Raw, pid), r.pid);
    put32(b, offset_of!(Raw, tid), r.tid);
    put32(b, offset_of!(Raw, ppid), r.ppid);
    put32(b, offset_of!(Raw, uid), r.uid);
    put32(b, offset_of!(Raw, gid), r.gid);
    put32(b, offset_of!(Raw, euid), r.euid);
    put32(b, offset_of!(Raw, egid), r.egid);
    put32(b, offset_of!(Raw, loginuid), r.loginuid);
    let comm_off = offset_of!(Raw, comm);
    let n = r.comm.len().min(abi::COMM_LEN);
    b[comm_off..comm_off + n].copy_from_slice(&r.comm[..n]);
    for (i, a) in r.args.iter().enumerate() {
        put64(b, offset_of!(Raw, args) + 8 * i, *a);
    }
    put64(b, offset_of!(Raw, ret), r.ret as u64);
}

#[cfg(test)]
impl Record {
    /// A typical record (a failed openat with a cut path) for tests.
    pub(crate) fn sample() -> Record {
        Record {
            cpu: 1,
            seq: 42,
            time_ns: 1_700_000_000_123_456_789,
            abi: Abi::X86_64,
            nr: 257,
            flags: abi::RF_PATH0 | abi::RF_PATH0_TRUNC,
            pid: 100,
            tid: 101,
            ppid: 1,
            uid: 1000,
            gid: 1000,
            euid: 1000,
            egid: 1000,
            loginuid: u32::MAX,
            comm: b"cat".to_vec(),
            args: [0xffff_ff9c, 0x7fff_0000, 0, 0, 0, 0],
            ret: -2,
            paths: [
                Some(CapturedPath {
                    bytes: b"/etc/pass\nwd".to_vec(),
                    truncated: true,
                    fault: false,
                }),
                None,
            ],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let r = Record::sample();
        let b = encode(&r);
        assert_eq!(b.len() % 8, 0);
        assert_eq!(b.len(), r.encoded_len());
        let d = decode(&b).unwrap();
        assert_eq!(d, r);
        assert_eq!(decode_ref(&b).unwrap(), r.view());
        assert_eq!(r.view().to_record(), r);
        assert!(d.is_error());
    }

    #[test]
    fn rejects_bad_input() {
        let r = Record::sample();
        let b = encode(&r);
        assert!(matches!(decode(&b[..10]), Err(DecodeError::Short { .. })));
        let mut bad = b.clone();
        bad[0] = 7; // size 7: not aligned, too small
        bad[1] = 0;
        assert!(matches!(decode(&bad), Err(DecodeError::BadSize { .. })));
        let mut bad = b.clone();
        bad[offset_of!(Raw, type_)] = abi::REC_PAD as u8;
        assert!(matches!(decode(&bad), Err(DecodeError::NotSyscall { .. })));
        let mut bad = b.clone();
        bad[offset_of!(Raw, path_len)] = 0xff;
        assert!(matches!(decode(&bad), Err(DecodeError::BadPathLen { .. })));
        let mut bad = b;
        bad[offset_of!(Raw, abi)] = 9;
        assert!(matches!(decode(&bad), Err(DecodeError::BadAbi { abi: 9 })));
    }
}
