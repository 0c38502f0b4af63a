//! Which container a record comes from.
//!
//! - [`layout`]: container id and runtime from a cgroup v2 path (the
//!   component rule the kernel's `container` condition shares).

pub mod layout;

pub use layout::{container_of, Container, Runtime};
