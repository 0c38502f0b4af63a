//! What the `sagafs` daemon and `mount.sagafs` both know about mounting,
//! so that the two programs apply the same rules:
//!
//! - `options`: the mount option string (`-o`).
//! - `size`: the size grammar of `retain=` (shared with the config key).
//! - `mountinfo`: the mount table and what counts as a sagafs mount.
//! - `mountpoint`: the checks of the mount point, and the detaching of a
//!   dead sagafs mount.
//!
//! It depends on nix only: the helper that links it does not carry the
//! daemon's FUSE, mmap and JSON code.

#![deny(unsafe_code)]

pub mod mountinfo;
pub mod mountpoint;
pub mod options;
pub mod size;
