//! Who may do what in the file tree.  The daemon checks every open and
//! access itself, whatever the kernel checked, because a mount with
//! `allow_other` but without `default_permissions` lets every user's
//! request through to the daemon.
//!
//! The rules follow the modes the files show: root may read everything
//! and write `config`; a member of the file's group (the `gid=` option,
//! else root) may read; nobody else may do anything but list the
//! directory.  Group membership counts the primary group of the request
//! and the supplementary groups of the calling thread
//! (`/proc/TID/status`, `Groups:`).

use nix::errno::Errno;

/// The caller of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    pub gid: u32,
    /// Thread id of the caller (FUSE's `pid`).
    pub pid: u32,
}

impl Cred {
    pub const ROOT: Cred = Cred {
        uid: 0,
        gid: 0,
        pid: 0,
    };

    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// Whether the caller is in group `gid`.
    pub fn in_group(&self, gid: u32) -> bool {
        self.gid == gid || supplementary_groups(self.pid).contains(&gid)
    }
}

/// The supplementary groups of thread `tid`; empty if it is gone.
pub fn supplementary_groups(tid: u32) -> Vec<u32> {
    if tid == 0 {
        return Vec::new();
    }
    std::fs::read_to_string(format!("/proc/{tid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("Groups:").map(|g| {
                    g.split_whitespace()
                        .filter_map(|x| x.parse().ok())
                        .collect()
                })
            })
        })
        .unwrap_or_default()
}

/// What a request wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Want {
    pub read: bool,
    pub write: bool,
}

/// Checks `want` on a file with `mode` (permission bits) owned by root
/// and group `gid`.  Root gets what the owner bits give; others what the
/// group bits give if they are in the group, else the other bits.
pub fn check(cred: &Cred, mode: u16, gid: u32, want: Want) -> Result<(), Errno> {
    let bits = if cred.is_root() {
        (mode >> 6) & 7
    } else if cred.in_group(gid) {
        (mode >> 3) & 7
    } else {
        mode & 7
    };
    if (want.read && bits & 4 == 0) || (want.write && bits & 2 == 0) {
        return Err(Errno::EACCES);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: Want = Want {
        read: true,
        write: false,
    };
    const W: Want = Want {
        read: false,
        write: true,
    };

    fn user(uid: u32, gid: u32) -> Cred {
        // pid 0: no supplementary groups are looked up.
        Cred { uid, gid, pid: 0 }
    }

    #[test]
    fn modes_decide() {
        assert_eq!(check(&Cred::ROOT, 0o440, 0, R), Ok(()));
        assert_eq!(check(&Cred::ROOT, 0o440, 0, W), Err(Errno::EACCES));
        assert_eq!(check(&Cred::ROOT, 0o640, 0, W), Ok(()));
        assert_eq!(check(&user(1000, 1000), 0o440, 0, R), Err(Errno::EACCES));
        assert_eq!(check(&user(1000, 50), 0o440, 50, R), Ok(()));
        assert_eq!(check(&user(1000, 50), 0o640, 50, W), Err(Errno::EACCES));
        assert_eq!(check(&user(65534, 65534), 0o755, 0, R), Ok(()));
    }

    #[test]
    fn supplementary_groups_of_this_thread_are_read() {
        let tid = nix::unistd::gettid().as_raw() as u32;
        let mine: Vec<u32> = nix::unistd::getgroups()
            .unwrap()
            .into_iter()
            .map(|g| g.as_raw())
            .collect();
        let mut seen = supplementary_groups(tid);
        let mut want = mine;
        seen.sort_unstable();
        want.sort_unstable();
        want.dedup();
        seen.dedup();
        assert_eq!(seen, want);
        assert!(supplementary_groups(0x7fff_fff0).is_empty());
    }
}
