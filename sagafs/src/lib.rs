//! sagafs: every system call, as files.
//!
//! The crate is layered so that everything above `device` runs and tests
//! without the kernel module or FUSE:
//!
//! - `device`: the only code that touches `/dev/sagafs` (ioctl, mmap, poll)
//!   and the ring consumer; plus a double with the same ring layout.
//! - `record`: decoded records and the items a consumer yields.
//! - `names`: syscall names and numbers per ABI.
//! - `format`: the text and JSON renderings of records and stats, and the
//!   escaping of untrusted bytes.
//! - `config`: the `key = value` configuration language.
//! - `options`: the mount option string (`-o`), shared with mount.sagafs.
//! - `daemon`: collector, retention, stream fan-out, start-up.
//! - `output`: copies of the records that outlive the daemon or leave the
//!   machine: rotated files, the systemd journal, remote syslog.
//! - `tree`: the file tree and its semantics, without FUSE.
//! - `fuse`: the fuser adapter over `tree`.

pub mod config;
pub mod daemon;
pub mod device;
pub mod format;
pub mod fuse;
pub mod names;
pub mod options;
pub mod output;
pub mod record;
pub mod tree;
