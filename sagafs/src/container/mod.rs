//! Which cgroup and which container a record comes from.
//!
//! - [`layout`]: container id and runtime from a cgroup v2 path (the
//!   component rule the kernel's `container` condition shares).
//! - [`cgroups`]: cgroup id (what records carry) to cgroup path, through
//!   the cgroup2 mount, cached and bounded; [`Identity`] is what the
//!   formats show as `cgroup=` and `container=`.

pub mod cgroups;
pub mod layout;

pub use cgroups::{find_cgroup2, CgroupResolver, Identity};
pub use layout::{container_of, Container, Runtime};
