//! The maps of the capture program, mirrored from `bpf/sagafs_bpf.h`;
//! `layout_check` compares every size and offset with the C header.

#![allow(non_camel_case_types)]

use crate::device::abi::{sagafs_config, BITMAP_WORDS, NR_ABIS, NR_SLOTS};

pub const SLOTS: usize = NR_ABIS * NR_SLOTS;

pub const KIND_PLAIN: u8 = 0;
pub const KIND_NORETURN: u8 = 1;
pub const KIND_EXEC: u8 = 2;
pub const KIND_SIGRETURN: u8 = 3;
pub const KIND_FORK: u8 = 4;

pub const FD_PATH: u8 = 1 << 0;
pub const TRACK: u8 = 1 << 1;

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct sagafs_bpf_slot {
    pub kind: u8,
    pub flags: u8,
    pub path: [i8; 2],
}

impl Default for sagafs_bpf_slot {
    fn default() -> Self {
        sagafs_bpf_slot {
            kind: KIND_PLAIN,
            flags: 0,
            path: [-1, -1],
        }
    }
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_bpf_cpu {
    pub next_seq: u64,
    pub calls: u64,
    pub errors: u64,
    pub logged: u64,
    pub filtered: u64,
    pub dropped: u64,
    pub bytes: u64,
    pub untracked: u64,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct sagafs_bpf_config {
    pub eff: [[u64; BITMAP_WORDS]; NR_ABIS],
    pub self_tgid: u32,
    pub __pad0: u32,
    pub user: sagafs_config,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_bpf_ctl {
    pub active: u32,
    pub epoch: u32,
    pub tai_offset_ns: i64,
    pub mono_offset_ns: i64,
}

/// Private to the program (task storage); mirrored for the layout check.
#[cfg_attr(not(test), allow(dead_code))]
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct sagafs_bpf_task {
    pub epoch: u32,
    pub key: u32,
    pub nr: i32,
    pub state: u32,
}

/// Bytes of a value as the kernel takes them.
pub fn bytes_of<T: Copy>(v: &T) -> &[u8] {
    // SAFETY: T is one of the plain #[repr(C)] structs above (integers
    // and arrays of integers, no padding the kernel would read as
    // uninitialised: checked by layout_check); the slice covers exactly v.
    unsafe { std::slice::from_raw_parts((v as *const T).cast::<u8>(), std::mem::size_of::<T>()) }
}
