//! The kernel ABI, mirrored from `kmod/include/uapi/sagafs.h`.
//!
//! Every constant, structure and request number here has a twin in the C
//! header; `check` (a test compiled against that header) fails the build's
//! tests if any size, field offset or request number disagrees.  Field
//! documentation lives in the header and in sagafs(4).
//!
//! Plain data: the record layout is read by `record`, the structures are
//! passed by `device`, which alone issues the requests.

#![allow(non_camel_case_types)]

pub const ABI_VERSION: u32 = 2;
pub const DEVICE_PATH: &str = "/dev/sagafs";

pub const ABI_X86_64: u8 = 0;
pub const ABI_I386: u8 = 1;
pub const ABI_X32: u8 = 2;
pub const NR_ABIS: usize = 3;

pub const NR_SLOTS: usize = 1024;
pub const SLOT_OTHER: usize = NR_SLOTS - 1;
pub const BITMAP_WORDS: usize = NR_SLOTS / 64;

pub const COMM_LEN: usize = 16;
pub const MAX_IDS: usize = 64;
pub const MAX_COMMS: usize = 32;

pub const SNAPLEN_DEFAULT: u32 = 256;
pub const SNAPLEN_MAX: u32 = 4096;
pub const RING_KB_DEFAULT: u32 = 1024;
pub const RING_KB_MIN: u32 = 32;
pub const RING_KB_MAX: u32 = 262_144;

pub const REC_SYSCALL: u16 = 1;
pub const REC_PAD: u16 = 2;

pub const RF_NORETURN: u32 = 1 << 0;
pub const RF_ENTRY_LOST: u32 = 1 << 1;
pub const RF_PATH0: u32 = 1 << 2;
pub const RF_PATH1: u32 = 1 << 3;
pub const RF_PATH0_TRUNC: u32 = 1 << 4;
pub const RF_PATH1_TRUNC: u32 = 1 << 5;
pub const RF_PATH0_FAULT: u32 = 1 << 6;
pub const RF_PATH1_FAULT: u32 = 1 << 7;
pub const RF_PATH0_RESOLVED: u32 = 1 << 8;
pub const RF_PATH1_RESOLVED: u32 = 1 << 9;
pub const RF_ARGV: u32 = 1 << 10;
pub const RF_SKIPPED: u32 = 1 << 11;
pub const RF_UNRESOLVED: u32 = 1 << 12;

pub const KEY_MAX: usize = 63;
pub const RECORD_ALIGN: usize = 8;
pub const RECORD_MAX: usize =
    (std::mem::size_of::<sagafs_record>() + 2 * SNAPLEN_MAX as usize + KEY_MAX + 7) & !7;

pub const CFG_ENABLED: u32 = 1 << 0;
pub const CFG_EXCLUDE_SELF: u32 = 1 << 1;
pub const CFG_FLAGS_ALL: u32 = CFG_ENABLED | CFG_EXCLUDE_SELF;

pub const RESULT_ANY: u32 = 0;
pub const RESULT_SUCCESS: u32 = 1;
pub const RESULT_FAILURE: u32 = 2;

pub const IOC_MAGIC: u8 = 0xE4;
pub const IOC_NR_ABI_VERSION: u8 = 0x00;
pub const IOC_NR_GET_INFO: u8 = 0x01;
pub const IOC_NR_GET_CONFIG: u8 = 0x02;
pub const IOC_NR_SET_CONFIG: u8 = 0x03;
pub const IOC_NR_GET_STATS: u8 = 0x04;
pub const IOC_NR_RESET_STATS: u8 = 0x05;

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_record {
    pub size: u16,
    pub type_: u16,
    pub flags: u32,
    pub abi: u8,
    pub key_len: u8,
    pub __pad0: u16,
    pub cpu: u32,
    pub nr: i32,
    pub ns_pid: u32,
    pub seq: u64,
    pub time_ns: u64,
    pub pid: u32,
    pub tid: u32,
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub loginuid: u32,
    pub ns_tid: u32,
    pub pidns: u32,
    pub mntns: u32,
    pub __pad1: u32,
    pub cgroup_id: u64,
    pub comm: [u8; COMM_LEN],
    pub args: [u64; 6],
    pub ret: i64,
    pub path_len: [u16; 2],
    pub __pad2: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_ring_ctrl {
    pub head: u64,
    pub __pad0: [u64; 7],
    pub tail: u64,
    pub __pad1: [u64; 7],
    pub ring_size: u64,
    pub next_seq: u64,
    pub dropped: u64,
    pub logged: u64,
    pub bad_tail: u64,
    pub cpu: u32,
    pub __pad2: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_info {
    pub size: u32,
    pub abi_version: u32,
    pub nr_cpus: u32,
    pub page_size: u32,
    pub ring_size: u64,
    pub ctrl_offset: u64,
    pub ctrl_stride: u64,
    pub ctrl_len: u64,
    pub data_offset: u64,
    pub data_len: u64,
    pub record_align: u32,
    pub record_max: u32,
    pub nr_slots: u32,
    pub nr_abis: u32,
    pub snaplen_max: u32,
    pub consumer_pid: u32,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct sagafs_config {
    pub size: u32,
    pub flags: u32,
    pub result: u32,
    pub snaplen: u32,
    pub ring_kb: u32,
    pub wakeup_bytes: u32,
    pub nr_pids: u32,
    pub nr_exclude_pids: u32,
    pub nr_uids: u32,
    pub nr_exclude_uids: u32,
    pub nr_comms: u32,
    pub nr_exclude_comms: u32,
    pub syscalls: [[u64; BITMAP_WORDS]; NR_ABIS],
    pub exclude_syscalls: [[u64; BITMAP_WORDS]; NR_ABIS],
    pub pids: [u32; MAX_IDS],
    pub exclude_pids: [u32; MAX_IDS],
    pub uids: [u32; MAX_IDS],
    pub exclude_uids: [u32; MAX_IDS],
    pub comms: [[u8; COMM_LEN]; MAX_COMMS],
    pub exclude_comms: [[u8; COMM_LEN]; MAX_COMMS],
}

impl Default for sagafs_config {
    /// An all-zero structure with its size set (what GET_CONFIG fills).
    fn default() -> Self {
        sagafs_config {
            size: std::mem::size_of::<Self>() as u32,
            flags: 0,
            result: 0,
            snaplen: 0,
            ring_kb: 0,
            wakeup_bytes: 0,
            nr_pids: 0,
            nr_exclude_pids: 0,
            nr_uids: 0,
            nr_exclude_uids: 0,
            nr_comms: 0,
            nr_exclude_comms: 0,
            syscalls: [[0; BITMAP_WORDS]; NR_ABIS],
            exclude_syscalls: [[0; BITMAP_WORDS]; NR_ABIS],
            pids: [0; MAX_IDS],
            exclude_pids: [0; MAX_IDS],
            uids: [0; MAX_IDS],
            exclude_uids: [0; MAX_IDS],
            comms: [[0; COMM_LEN]; MAX_COMMS],
            exclude_comms: [[0; COMM_LEN]; MAX_COMMS],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_counts {
    pub calls: u64,
    pub errors: u64,
    pub logged: u64,
    pub filtered: u64,
    pub dropped: u64,
    pub skipped: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_cpu_stats {
    pub calls: u64,
    pub logged: u64,
    pub filtered: u64,
    pub dropped: u64,
    pub bytes: u64,
    pub bad_tail: u64,
    pub ring_used: u64,
    pub ring_size: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_stats {
    pub size: u32,
    pub nr_cpus: u32,
    pub nr_slots: u32,
    pub __pad0: u32,
    pub cpus: u64,
    pub syscalls: u64,
    pub total: sagafs_counts,
    pub bytes: u64,
    pub bad_tail: u64,
    pub reset_ns: u64,
    pub enabled_ns: u64,
    pub skip_unflagged: u64,
}

/// Request numbers as nix encodes them (`_IOR`, `_IOWR`, `_IOW`, `_IO`);
/// `check` compares each with the header's.
pub mod request {
    use super::*;
    use nix::sys::ioctl::ioctl_num_type;
    use std::mem::size_of;

    pub const ABI_VERSION: ioctl_num_type =
        nix::request_code_read!(IOC_MAGIC, IOC_NR_ABI_VERSION, size_of::<u32>());
    pub const GET_INFO: ioctl_num_type =
        nix::request_code_readwrite!(IOC_MAGIC, IOC_NR_GET_INFO, size_of::<sagafs_info>());
    pub const GET_CONFIG: ioctl_num_type =
        nix::request_code_readwrite!(IOC_MAGIC, IOC_NR_GET_CONFIG, size_of::<sagafs_config>());
    pub const SET_CONFIG: ioctl_num_type =
        nix::request_code_write!(IOC_MAGIC, IOC_NR_SET_CONFIG, size_of::<sagafs_config>());
    pub const GET_STATS: ioctl_num_type =
        nix::request_code_readwrite!(IOC_MAGIC, IOC_NR_GET_STATS, size_of::<sagafs_stats>());
    pub const RESET_STATS: ioctl_num_type = nix::request_code_none!(IOC_MAGIC, IOC_NR_RESET_STATS);
}

// Reads the table the C compiler made from the header (FFI statics).
#[cfg(test)]
#[allow(unsafe_code)]
mod check;
