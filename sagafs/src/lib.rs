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
//! - `daemon`: collector, retention, stream fan-out.
//! - `tree`: the file tree and its semantics, without FUSE.
//! - `fuse`: the fuser adapter over `tree`.
//! - `mount`: a live mount: the daemon on a backend, the tree over FUSE.
//!
//! The `sagafs` program (command line, daemonizing, the guardian,
//! logging) is `src/bin/sagafs/`; the mount options and the mount table
//! are the `sagafs-mount` crate's, shared with `mount.sagafs`.

pub mod config;
pub mod daemon;
pub mod device;
pub mod format;
pub mod fuse;
pub mod mount;
pub mod names;
pub mod record;
pub mod tree;
