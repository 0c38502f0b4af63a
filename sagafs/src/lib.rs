//! sagafs: every system call, as files.
//!
//! The crate is layered one way: each module below uses only those
//! listed before it, and everything but `device` runs and tests without
//! the kernel module or FUSE:
//!
//! - `abi`: the kernel ABI mirrored from the module's UAPI header.
//! - `clock`: the wall clock the log is dated with.
//! - `record`: records in the kernel's layout, validated once and read in
//!   place, and the item buffers they travel in from ring to reader.
//! - `names`: syscall names and numbers per ABI.
//! - `device`: the only code that touches `/dev/sagafs` (ioctl, mmap, poll)
//!   and the ring consumer; plus a double with the same ring layout.
//! - `format`: the text and JSON renderings of records and stats, syscall
//!   names as the log shows them, and the escaping of untrusted bytes.
//! - `config`: the `key = value` configuration language.
//! - `options`: the mount option string (`-o`), shared with mount.sagafs.
//! - `error`: a refused file operation: its errno and its reason.
//! - `daemon`: collector, retention, stream fan-out (and, for now, the
//!   program's start-up, which also mounts `tree` over `fuse`).
//! - `tree`: the file tree and its semantics, without FUSE.
//! - `fuse`: the fuser adapter over `tree`.

pub mod abi;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod device;
pub mod error;
pub mod format;
pub mod fuse;
pub mod names;
pub mod options;
pub mod record;
pub mod tree;
