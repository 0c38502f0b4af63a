//! [`Builder`]: a record described by its fields and written in the
//! kernel's layout, as the probe writes it.  The device double makes its
//! ring bytes with it and tests make their records with it; the daemon's
//! data path never builds one.

use std::mem::{offset_of, size_of};

use super::{Abi, Fields, IDS_AT};
use crate::abi::{self, sagafs_record as Raw};

/// A path argument as the probe captured it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PathSpec {
    /// The bytes, without a terminating NUL; any bytes.
    pub bytes: Vec<u8>,
    /// Longer than the snap length and cut (`RF_PATHn_TRUNC`).
    pub truncated: bool,
    /// The pointer could not be read (`RF_PATHn_FAULT`); `bytes` empty.
    pub fault: bool,
    /// Resolved by the kernel (`RF_PATHn_RESOLVED`).
    pub resolved: bool,
}

impl PathSpec {
    /// A path copied from the caller's memory, not cut.
    pub fn new(bytes: &[u8]) -> PathSpec {
        PathSpec {
            bytes: bytes.to_vec(),
            ..PathSpec::default()
        }
    }
}

/// One completed system call, field by field: the fields of a
/// [`RecordRef`](super::RecordRef), owned.  When encoded, the path bits of
/// `flags` come from `paths` and the other bits are written as given; at
/// most `abi::COMM_LEN` bytes of comm and `abi::KEY_MAX` of key are
/// written.
pub type Builder = Fields<Vec<u8>, PathSpec>;

const PATH_BITS: [(u32, u32, u32, u32); 2] = [
    (
        abi::RF_PATH0,
        abi::RF_PATH0_TRUNC,
        abi::RF_PATH0_FAULT,
        abi::RF_PATH0_RESOLVED,
    ),
    (
        abi::RF_PATH1,
        abi::RF_PATH1_TRUNC,
        abi::RF_PATH1_FAULT,
        abi::RF_PATH1_RESOLVED,
    ),
];

impl Builder {
    /// A plausible record to adjust: an `openat` of `/tmp/x` by pid 1000
    /// (uid 0, in the host's namespaces) on `cpu` at `time_ns`.
    pub fn new(cpu: u32, time_ns: u64) -> Builder {
        Builder {
            cpu,
            seq: 0,
            time_ns,
            abi: Abi::X86_64,
            nr: 257,
            flags: 0,
            pid: 1000,
            tid: 1000,
            ppid: 1,
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            loginuid: u32::MAX,
            // The initial pid namespace's fixed inode number, the first
            // dynamic one, the root cgroup.
            ns_pid: 1000,
            ns_tid: 1000,
            pidns: 0xefff_fffc,
            mntns: 0xf000_0000,
            cgroup_id: 1,
            comm: b"test".to_vec(),
            args: [0xffff_ff9c, 0x1000, 0, 0, 0, 0],
            ret: 3,
            paths: [Some(PathSpec::new(b"/tmp/x")), None],
            key: Vec::new(),
        }
    }

    /// The result is an error number (ret in [-4095, -1]).
    pub fn is_error(&self) -> bool {
        (-4095..=-1).contains(&self.ret)
    }

    fn comm_len(&self) -> usize {
        self.comm.len().min(abi::COMM_LEN)
    }

    fn key_len(&self) -> usize {
        self.key.len().min(abi::KEY_MAX)
    }

    /// The bytes the record takes in the kernel's layout (header, paths,
    /// key, padding to 8).
    pub fn encoded_len(&self) -> usize {
        let paths: usize = self.paths.iter().flatten().map(|p| p.bytes.len()).sum();
        (size_of::<Raw>() + paths + self.key_len()).next_multiple_of(abi::RECORD_ALIGN)
    }

    /// The record in the kernel's layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut b);
        b
    }

    /// Appends the record in the kernel's layout to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.resize(start + self.encoded_len(), 0);
        let b = &mut out[start..];
        let put16 =
            |b: &mut [u8], off: usize, v: u16| b[off..off + 2].copy_from_slice(&v.to_ne_bytes());
        let put32 =
            |b: &mut [u8], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        let put64 =
            |b: &mut [u8], off: usize, v: u64| b[off..off + 8].copy_from_slice(&v.to_ne_bytes());

        let all_path_bits = PATH_BITS
            .iter()
            .fold(0, |m, &(a, b, c, d)| m | a | b | c | d);
        let mut flags = self.flags & !all_path_bits;
        let mut off = size_of::<Raw>();
        for (i, p) in self.paths.iter().enumerate() {
            let Some(p) = p else { continue };
            let (present, trunc, fault, resolved) = PATH_BITS[i];
            flags |= present;
            for (set, bit) in [
                (p.truncated, trunc),
                (p.fault, fault),
                (p.resolved, resolved),
            ] {
                if set {
                    flags |= bit;
                }
            }
            b[off..off + p.bytes.len()].copy_from_slice(&p.bytes);
            off += p.bytes.len();
            put16(b, offset_of!(Raw, path_len) + 2 * i, p.bytes.len() as u16);
        }
        let key_len = self.key_len();
        b[off..off + key_len].copy_from_slice(&self.key[..key_len]);
        b[offset_of!(Raw, key_len)] = key_len as u8;

        let size = b.len();
        put16(b, offset_of!(Raw, size), size as u16);
        put16(b, offset_of!(Raw, type_), abi::REC_SYSCALL);
        put32(b, offset_of!(Raw, flags), flags);
        b[offset_of!(Raw, abi)] = self.abi.index() as u8;
        put32(b, offset_of!(Raw, cpu), self.cpu);
        put32(b, offset_of!(Raw, nr), self.nr as u32);
        put64(b, offset_of!(Raw, seq), self.seq);
        put64(b, offset_of!(Raw, time_ns), self.time_ns);
        put32(b, offset_of!(Raw, ns_pid), self.ns_pid);
        let ids = [
            self.pid,
            self.tid,
            self.ppid,
            self.uid,
            self.gid,
            self.euid,
            self.egid,
            self.loginuid,
            self.ns_tid,
            self.pidns,
            self.mntns,
        ];
        for (i, v) in ids.into_iter().enumerate() {
            put32(b, IDS_AT + 4 * i, v);
        }
        put64(b, offset_of!(Raw, cgroup_id), self.cgroup_id);
        let comm_off = offset_of!(Raw, comm);
        let n = self.comm_len();
        b[comm_off..comm_off + n].copy_from_slice(&self.comm[..n]);
        for (i, a) in self.args.iter().enumerate() {
            put64(b, offset_of!(Raw, args) + 8 * i, *a);
        }
        put64(b, offset_of!(Raw, ret), self.ret as u64);
    }
}

#[cfg(test)]
impl Builder {
    /// Record `seq` of `cpu` at `time_ns`: [`Builder::sample`]'s process,
    /// a successful call without paths.
    pub(crate) fn numbered(cpu: u32, seq: u64, time_ns: u64) -> Builder {
        Builder {
            cpu,
            seq,
            time_ns,
            ret: 3,
            paths: [None, None],
            ..Builder::sample()
        }
    }

    /// A typical record (a failed openat with a cut path) for tests.
    pub(crate) fn sample() -> Builder {
        Builder {
            cpu: 1,
            seq: 42,
            time_ns: 1_700_000_000_123_456_789,
            pid: 100,
            tid: 101,
            ns_pid: 100,
            ns_tid: 101,
            uid: 1000,
            gid: 1000,
            euid: 1000,
            egid: 1000,
            comm: b"cat".to_vec(),
            args: [0xffff_ff9c, 0x7fff_0000, 0, 0, 0, 0],
            ret: -2,
            paths: [
                Some(PathSpec {
                    truncated: true,
                    ..PathSpec::new(b"/etc/pass\nwd")
                }),
                None,
            ],
            ..Builder::new(1, 0)
        }
    }
}
