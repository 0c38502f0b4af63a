//! The mount point: it must exist, be a directory, and not already carry
//! a live sagafs mount.  A dead sagafs mount there (its daemon was
//! killed: every access fails with ENOTCONN) is detached first.  Both
//! `mount.sagafs` and the daemon check with [`check`]; the daemon's
//! guardian uses [`detach_if_dead`].

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};

use crate::mountinfo;

/// A mount point that passed [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The directory, absolute with symbolic links resolved.
    pub path: PathBuf,
    /// The dead sagafs mount detached on the way, if any: the caller
    /// tells the user with [`detached_notice`].
    pub detached: Option<PathBuf>,
}

/// What to tell the user when a dead mount on `p` was detached.
pub fn detached_notice(p: &Path) -> String {
    format!(
        "{} was a dead sagafs mount (its daemon had ended): detached it (umount -l)",
        p.display()
    )
}

/// Checks `dir` (see the module documentation).  The mount table is
/// read before `dir` is touched: stat on a live or dead FUSE mount may
/// fail.  Every error is one line that says what to do.
pub fn check(dir: &Path) -> Result<Checked, String> {
    let mut info = mountinfo::read()?;
    let mut detached = None;
    if let Some(p) = resolve_parent(dir) {
        if mountinfo::sagafs_mounted_at(&info, &p) && detach_dead(&p)? {
            info = mountinfo::read()?;
            detached = Some(p.clone());
        }
        refuse_mounted(&info, &p)?;
    }
    let d = dir.display();
    let meta = fs::metadata(dir).map_err(|e| match e.kind() {
        ErrorKind::NotFound => format!("mount point {d} does not exist (create it: mkdir -p {d})"),
        _ if e.raw_os_error() == Some(Errno::ENOTCONN as i32) => {
            format!("mount point {d}: {e} (a dead FUSE mount: umount -l {d})")
        }
        _ => format!("mount point {d}: {e}"),
    })?;
    if !meta.is_dir() {
        return Err(format!(
            "mount point {d} is not a directory (give a directory, e.g. /sagafs)"
        ));
    }
    let path = fs::canonicalize(dir).map_err(|e| format!("mount point {d}: {e}"))?;
    refuse_mounted(&info, &path)?;
    Ok(Checked { path, detached })
}

fn refuse_mounted(info: &str, p: &Path) -> Result<(), String> {
    if mountinfo::sagafs_mounted_at(info, p) {
        let p = p.display();
        return Err(format!(
            "sagafs is already mounted on {p} (unmount it first: umount {p})"
        ));
    }
    Ok(())
}

/// DIR with its parent resolved but DIR itself not looked at.
fn resolve_parent(dir: &Path) -> Option<PathBuf> {
    let name = dir.file_name()?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    Some(fs::canonicalize(parent).ok()?.join(name))
}

/// Detaches the sagafs mount on `mountpoint` (absolute, symbolic links
/// resolved) if it is dead.  Returns whether it did; nothing happens when
/// there is no sagafs mount there or when it is live.
pub fn detach_if_dead(mountpoint: &Path) -> Result<bool, String> {
    let info = mountinfo::read()?;
    if !mountinfo::sagafs_mounted_at(&info, mountpoint) {
        return Ok(false);
    }
    detach_dead(mountpoint)
}

/// Detaches the mount on `mountpoint`, known to be sagafs, if it is dead.
fn detach_dead(mountpoint: &Path) -> Result<bool, String> {
    // statfs always asks the file system (no cached answer), so it fails
    // on a connection whose daemon is gone.
    match nix::sys::statvfs::statvfs(mountpoint) {
        Ok(_) => Ok(false),
        Err(Errno::ENOTCONN | Errno::ECONNABORTED) => {
            umount2(mountpoint, MntFlags::MNT_DETACH).map_err(|e| {
                format!(
                    "cannot detach the dead sagafs mount on {}: {e}",
                    mountpoint.display()
                )
            })?;
            Ok(true)
        }
        Err(e) => Err(format!(
            "sagafs mount on {}: statfs: {e}",
            mountpoint.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_directory() {
        assert_eq!(
            check(Path::new("/nonexistent/sagafs")),
            Err("mount point /nonexistent/sagafs does not exist \
                 (create it: mkdir -p /nonexistent/sagafs)"
                .into())
        );
        assert_eq!(
            check(Path::new("/proc/self/mountinfo")),
            Err("mount point /proc/self/mountinfo is not a directory \
                 (give a directory, e.g. /sagafs)"
                .into())
        );
        let c = check(Path::new("/tmp/.")).unwrap();
        assert_eq!(
            c,
            Checked {
                path: PathBuf::from("/tmp"),
                detached: None
            }
        );
    }

    #[test]
    fn leaves_paths_without_a_sagafs_mount_alone() {
        assert_eq!(detach_if_dead(Path::new("/tmp")), Ok(false));
        assert_eq!(detach_if_dead(Path::new("/nonexistent/x")), Ok(false));
    }

    #[test]
    fn notice_names_the_path() {
        assert_eq!(
            detached_notice(Path::new("/sagafs")),
            "/sagafs was a dead sagafs mount (its daemon had ended): detached it (umount -l)"
        );
    }
}
