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
//! - `container`: cgroup ids to cgroup paths and container identity.
//! - `rules`: the rule language, its compiled (kernel) form and evaluator,
//!   and the auditd import.
//! - `device`: the only code that touches `/dev/sagafs` (ioctl, mmap, poll)
//!   and the ring consumer; plus a double with the same ring layout.
//! - `format`: the text and JSON renderings of records and stats, syscall
//!   names as the log shows them, and the escaping of untrusted bytes.
//! - `config`: the `key = value` configuration language.
//! - `error`: a refused file operation: its errno and its reason.
//! - `daemon`: collector, retention, stream fan-out.
//! - `output`: copies of the records that outlive the daemon or leave the
//!   machine: rotated files, the systemd journal, remote syslog.
//! - `tree`: the file tree and its semantics, without FUSE.
//! - `fuse`: the fuser adapter over `tree`.
//! - `mount`: a live mount: the daemon on a backend, the tree over FUSE.
//!
//! The `sagafs` program (command line, daemonizing, the guardian,
//! logging) is `src/bin/sagafs/`; the mount options and the mount table
//! are the `sagafs-mount` crate's, shared with `mount.sagafs`.

pub mod abi;
pub mod clock;
pub mod config;
pub mod container;
pub mod daemon;
pub mod device;
pub mod error;
pub mod format;
pub mod fuse;
pub mod mount;
pub mod names;
pub mod output;
pub mod record;
pub mod rules;
pub mod tree;
