//! Syscall records as the kernel writes them: one model from the ring to
//! the readers.
//!
//! A record stays in the kernel's layout (`struct sagafs_record`, its
//! paths and key) all the way: the ring consumer validates it once, when
//! it copies it out of the ring into an [`Items`] buffer, and everything
//! after reads it in place through a [`RecordRef`], a borrowed view whose
//! comm, paths and key point into those bytes.  Nothing on the way
//! decodes a record into an owned form or encodes it again.
//!
//! - [`decode_ref`] validates bytes and gives their view;
//! - [`Items`] holds records and drop counts in order, the unit the
//!   consumer fills, retention keeps and readers render;
//! - [`Builder`] writes a record in the kernel's layout from its fields,
//!   for the device double and for tests.
//!
//! Decoding is safe code over a byte slice; field offsets come from the
//! `#[repr(C)]` mirror in `abi`, which is checked against the C header.

mod builder;
mod items;

pub use builder::{Builder, PathSpec};
pub(crate) use items::Slot;

pub use items::{ItemRef, Items};

use std::fmt;
use std::mem::{offset_of, size_of};

use crate::abi::{self, sagafs_record as Raw};

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

/// A captured path: bytes borrowed from the record, and its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PathRef<'a> {
    pub bytes: &'a [u8],
    pub truncated: bool,
    pub fault: bool,
    pub resolved: bool,
}

/// The fields of one completed system call (see `struct sagafs_record`),
/// with comm, paths and key of type `B`, `P` and `B`: borrowed from the
/// record's bytes in a [`RecordRef`], owned in a [`Builder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fields<B, P> {
    pub cpu: u32,
    pub seq: u64,
    /// CLOCK_REALTIME, nanoseconds since the epoch.
    pub time_ns: u64,
    pub abi: Abi,
    pub nr: i32,
    /// `abi::RF_*` bits.
    pub flags: u32,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// `u32::MAX` when unset.
    pub loginuid: u32,
    /// pid and tid as the task's own pid namespace sees them.
    pub ns_pid: u32,
    pub ns_tid: u32,
    /// Inode numbers of the task's pid and mount namespaces.
    pub pidns: u32,
    pub mntns: u32,
    /// The task's cgroup v2 id (0 without cgroup v2).
    pub cgroup_id: u64,
    /// The task's comm, NUL padding removed; not necessarily UTF-8.
    pub comm: B,
    pub args: [u64; 6],
    pub ret: i64,
    pub paths: [Option<P>; 2],
    /// The key of the rule that logged the record; empty: none.
    pub key: B,
}

/// One completed system call, read in place: the fixed fields copied out
/// of the header, comm, paths and key borrowed from the record's bytes.
/// What the formats render; [`decode_ref`] gives one, without allocating.
pub type RecordRef<'a> = Fields<&'a [u8], PathRef<'a>>;

impl<'a> RecordRef<'a> {
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

    /// The call was not executed: seccomp or a tracer skipped it.
    pub fn skipped(&self) -> bool {
        self.flags & abi::RF_SKIPPED != 0
    }

    /// The new program's arguments (`RF_ARGV`: path 1 holds them, each
    /// NUL terminated), or `None` when the record carries none.
    pub fn argv(&self) -> Option<Argv<'a>> {
        if self.flags & abi::RF_ARGV == 0 || self.entry_lost() {
            return None;
        }
        self.paths[1].map(|p| Argv {
            rest: p.bytes,
            truncated: p.truncated,
        })
    }

    /// How path 0 came about: resolved by the kernel, or a copy of user
    /// memory where the backend could not resolve it.
    pub fn resolution(&self) -> Resolution {
        if self.flags & abi::RF_PATH0_RESOLVED != 0 {
            Resolution::Resolved
        } else if self.flags & abi::RF_UNRESOLVED != 0 {
            Resolution::Unavailable
        } else {
            Resolution::Copied
        }
    }
}

/// See [`RecordRef::resolution`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolution {
    /// Path 0 is the path the kernel resolved (`RF_PATH0_RESOLVED`).
    Resolved,
    /// The backend could not resolve it (`RF_UNRESOLVED`): a copy of user
    /// memory where the module would have resolved it.
    Unavailable,
    /// A copy of user memory, as the call gave it.
    Copied,
}

/// The arguments of an exec record, in order.  The last one may lack its
/// NUL when the kernel cut the list at the snap length (`truncated`).
#[derive(Clone, Copy, Debug)]
pub struct Argv<'a> {
    rest: &'a [u8],
    /// The list was cut: arguments (or the end of the last one) are missing.
    pub truncated: bool,
}

impl<'a> Iterator for Argv<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let end = self.rest.iter().position(|&b| b == 0);
        let arg = &self.rest[..end.unwrap_or(self.rest.len())];
        self.rest = &self.rest[end.map_or(self.rest.len(), |e| e + 1)..];
        Some(arg)
    }
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
    /// Paths and key claim more bytes than the record holds.
    BadPathLen { lens: [u16; 2], size: usize },
    /// The abi field names no known ABI.
    BadAbi { abi: u8 },
    /// The key is longer than `abi::KEY_MAX`.
    BadKeyLen { len: usize },
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
            DecodeError::BadKeyLen { len } => {
                write!(f, "key of {len} bytes (at most {})", abi::KEY_MAX)
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The ids from `pid` to `mntns` are eleven consecutive u32 of the
/// header, read and written as one array.
pub(crate) const IDS_AT: usize = offset_of!(Raw, pid);
const _: () = assert!(offset_of!(Raw, mntns) == IDS_AT + 4 * 10);

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

/// Validates one `SAGAFS_REC_SYSCALL` record at the start of `b` and
/// gives its view; comm, paths and key borrow from `b`.  `b` may extend
/// past the record; the record's own size bounds it.
#[inline]
pub fn decode_ref(b: &[u8]) -> Result<RecordRef<'_>, DecodeError> {
    let size = validate(b)?;
    Ok(view_valid(&b[..size]))
}

/// Checks the record at the start of `b` (size, type, ABI, path and key
/// lengths) and returns its size.
#[inline]
pub(crate) fn validate(b: &[u8]) -> Result<usize, DecodeError> {
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
    let type_ = u16_at(b, offset_of!(Raw, type_));
    if type_ != abi::REC_SYSCALL {
        return Err(DecodeError::NotSyscall { type_ });
    }
    let raw_abi = b[offset_of!(Raw, abi)];
    if Abi::from_raw(raw_abi).is_none() {
        return Err(DecodeError::BadAbi { abi: raw_abi });
    }
    let key_len = b[offset_of!(Raw, key_len)] as usize;
    if key_len > abi::KEY_MAX {
        return Err(DecodeError::BadKeyLen { len: key_len });
    }
    let lens_off = offset_of!(Raw, path_len);
    let lens = [u16_at(b, lens_off), u16_at(b, lens_off + 2)];
    if hdr + lens[0] as usize + lens[1] as usize + key_len > size {
        return Err(DecodeError::BadPathLen { lens, size });
    }
    Ok(size)
}

/// (cpu, seq, time_ns) of a record [`validate`] accepted: what the ring
/// consumer checks and merges by, without reading the rest.
#[inline]
pub(crate) fn position(b: &[u8]) -> (u32, u64, u64) {
    (
        u32_at(b, offset_of!(Raw, cpu)),
        u64_at(b, offset_of!(Raw, seq)),
        u64_at(b, offset_of!(Raw, time_ns)),
    )
}

/// The view of a record [`validate`] accepted, `b` being exactly its
/// bytes.  Other bytes make it panic (bounds are still checked), never
/// read past `b`.
#[inline]
pub(crate) fn view_valid(b: &[u8]) -> RecordRef<'_> {
    let hdr = size_of::<Raw>();
    let raw_abi = b[offset_of!(Raw, abi)];
    let abi_kind = Abi::from_raw(raw_abi).expect("a validated record");
    let lens_off = offset_of!(Raw, path_len);
    let lens = [u16_at(b, lens_off), u16_at(b, lens_off + 2)];
    let key_len = b[offset_of!(Raw, key_len)] as usize;
    let flags = u32_at(b, offset_of!(Raw, flags));

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
    let resolved = [abi::RF_PATH0_RESOLVED, abi::RF_PATH1_RESOLVED];
    let mut paths: [Option<PathRef<'_>>; 2] = [None, None];
    let mut off = hdr;
    for i in 0..2 {
        let len = lens[i] as usize;
        if flags & present[i] != 0 {
            paths[i] = Some(PathRef {
                bytes: &b[off..off + len],
                truncated: flags & trunc[i] != 0,
                fault: flags & fault[i] != 0,
                resolved: flags & resolved[i] != 0,
            });
        }
        off += len;
    }
    let key = &b[off..off + key_len];

    let [pid, tid, ppid, uid, gid, euid, egid, loginuid, ns_tid, pidns, mntns] =
        std::array::from_fn(|i| u32_at(b, IDS_AT + 4 * i));
    RecordRef {
        cpu: u32_at(b, offset_of!(Raw, cpu)),
        seq: u64_at(b, offset_of!(Raw, seq)),
        time_ns: u64_at(b, offset_of!(Raw, time_ns)),
        abi: abi_kind,
        nr: u32_at(b, offset_of!(Raw, nr)) as i32,
        flags,
        pid,
        tid,
        ppid,
        uid,
        gid,
        euid,
        egid,
        loginuid,
        ns_pid: u32_at(b, offset_of!(Raw, ns_pid)),
        ns_tid,
        pidns,
        mntns,
        cgroup_id: u64_at(b, offset_of!(Raw, cgroup_id)),
        comm: &comm_raw[..comm_len],
        args,
        ret: u64_at(b, offset_of!(Raw, ret)) as i64,
        paths,
        key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut r = Builder::sample();
        r.key = b"rule-1".to_vec();
        r.paths[1] = Some(PathSpec {
            resolved: true,
            ..PathSpec::new(b"/b")
        });
        r.flags |= abi::RF_SKIPPED;
        let b = r.encode();
        assert_eq!(b.len() % 8, 0);
        assert_eq!(b.len(), r.encoded_len());
        let v = decode_ref(&b).unwrap();
        assert_eq!(
            (v.cpu, v.seq, v.time_ns, v.abi, v.nr),
            (r.cpu, r.seq, r.time_ns, r.abi, r.nr)
        );
        assert_eq!(
            [v.pid, v.tid, v.ppid, v.uid, v.gid, v.euid, v.egid, v.loginuid],
            [r.pid, r.tid, r.ppid, r.uid, r.gid, r.euid, r.egid, r.loginuid]
        );
        assert_eq!(
            (v.ns_pid, v.ns_tid, v.pidns, v.mntns, v.cgroup_id),
            (r.ns_pid, r.ns_tid, r.pidns, r.mntns, r.cgroup_id)
        );
        assert_eq!(
            (v.comm, v.args, v.ret, v.key),
            (&r.comm[..], r.args, r.ret, &r.key[..])
        );
        for (p, q) in v.paths.iter().zip(&r.paths) {
            let (p, q) = (p.unwrap(), q.as_ref().unwrap());
            assert_eq!(
                (p.bytes, p.truncated, p.fault, p.resolved),
                (&q.bytes[..], q.truncated, q.fault, q.resolved)
            );
        }
        assert_eq!(
            v.flags,
            abi::RF_SKIPPED
                | abi::RF_PATH0
                | abi::RF_PATH0_TRUNC
                | abi::RF_PATH1
                | abi::RF_PATH1_RESOLVED
        );
        assert!(v.is_error() && v.skipped() && !v.noreturn() && !v.entry_lost());
        assert_eq!(v.resolution(), Resolution::Copied);
        assert!(v.argv().is_none());
    }

    #[test]
    fn argv_and_resolution() {
        let mut r = Builder::new(0, 1);
        r.nr = 59;
        r.flags = abi::RF_ARGV;
        r.paths[0] = Some(PathSpec {
            resolved: true,
            ..PathSpec::new(b"/usr/bin/ls")
        });
        r.paths[1] = Some(PathSpec::new(b"ls\0-l\0\0a b\0"));
        let b = r.encode();
        let v = decode_ref(&b).unwrap();
        let argv = v.argv().unwrap();
        assert!(!argv.truncated);
        assert_eq!(argv.collect::<Vec<_>>(), [&b"ls"[..], b"-l", b"", b"a b"]);
        assert_eq!(v.resolution(), Resolution::Resolved);
        // Cut inside the last argument: it comes without its NUL.
        r.paths[1] = Some(PathSpec {
            truncated: true,
            ..PathSpec::new(b"sh\0-c\0ech")
        });
        r.flags = abi::RF_ARGV | abi::RF_UNRESOLVED;
        r.paths[0] = Some(PathSpec::new(b"ls"));
        let b = r.encode();
        let v = decode_ref(&b).unwrap();
        let argv = v.argv().unwrap();
        assert!(argv.truncated);
        assert_eq!(argv.collect::<Vec<_>>(), [&b"sh"[..], b"-c", b"ech"]);
        assert_eq!(v.resolution(), Resolution::Unavailable);
        // An empty list, and no list once the entry state was lost.
        r.paths[1] = Some(PathSpec::new(b""));
        let b = r.encode();
        assert_eq!(decode_ref(&b).unwrap().argv().unwrap().count(), 0);
        r.flags |= abi::RF_ENTRY_LOST;
        let b = r.encode();
        assert!(decode_ref(&b).unwrap().argv().is_none());
    }

    #[test]
    fn rejects_bad_input() {
        let b = Builder::sample().encode();
        assert!(matches!(
            decode_ref(&b[..10]),
            Err(DecodeError::Short { .. })
        ));
        let mut bad = b.clone();
        bad[0] = 7; // size 7: not aligned, too small
        bad[1] = 0;
        assert!(matches!(decode_ref(&bad), Err(DecodeError::BadSize { .. })));
        let mut bad = b.clone();
        bad[offset_of!(Raw, type_)] = abi::REC_PAD as u8;
        assert!(matches!(
            decode_ref(&bad),
            Err(DecodeError::NotSyscall { .. })
        ));
        let mut bad = b.clone();
        bad[offset_of!(Raw, path_len)] = 0xff;
        assert!(matches!(
            decode_ref(&bad),
            Err(DecodeError::BadPathLen { .. })
        ));
        let mut bad = b.clone();
        bad[offset_of!(Raw, key_len)] = abi::KEY_MAX as u8 + 1;
        assert!(matches!(
            decode_ref(&bad),
            Err(DecodeError::BadKeyLen { len: 64 })
        ));
        let mut bad = b;
        bad[offset_of!(Raw, abi)] = 9;
        assert!(matches!(
            decode_ref(&bad),
            Err(DecodeError::BadAbi { abi: 9 })
        ));
    }
}
