//! The mount point: it must exist, be a directory, and not already carry
//! a live sagafs mount (read from /proc/self/mountinfo).  A dead sagafs
//! mount (its daemon was killed) is detached first, with a message.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::failure::Failure;

/// Checks DIR and returns its canonical absolute path.  mountinfo is read
/// before DIR is touched: stat on a live or dead FUSE mount may fail.
pub fn check(dir: &Path) -> Result<PathBuf, Failure> {
    let d = dir.display();
    let mountinfo = fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Failure::mount(format!("cannot read /proc/self/mountinfo: {e}")))?;
    let mounted = |info: &str, p: &Path| {
        if sagafs_mounted_at(info, p) {
            Err(Failure::mount(format!(
                "sagafs is already mounted on {} (unmount it first: umount {})",
                p.display(),
                p.display()
            )))
        } else {
            Ok(())
        }
    };
    let mut mountinfo = mountinfo;
    if let Some(p) = resolve_parent(dir) {
        if sagafs_mounted_at(&mountinfo, &p) && remove_dead(&p)? {
            mountinfo = fs::read_to_string("/proc/self/mountinfo")
                .map_err(|e| Failure::mount(format!("cannot read /proc/self/mountinfo: {e}")))?;
        }
        mounted(&mountinfo, &p)?;
    }
    let meta = fs::metadata(dir).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            Failure::mount(format!(
                "mount point {d} does not exist (create it: mkdir -p {d})"
            ))
        } else if e.raw_os_error() == Some(Errno::ENOTCONN as i32) {
            Failure::mount(format!(
                "mount point {d}: {e} (a dead FUSE mount: umount -l {d})"
            ))
        } else {
            Failure::mount(format!("mount point {d}: {e}"))
        }
    })?;
    if !meta.is_dir() {
        return Err(Failure::mount(format!(
            "mount point {d} is not a directory (give a directory, e.g. /sagafs)"
        )));
    }
    let canon =
        fs::canonicalize(dir).map_err(|e| Failure::mount(format!("mount point {d}: {e}")))?;
    mounted(&mountinfo, &canon)?;
    Ok(canon)
}

/// Detaches the sagafs mount on `p` if its daemon is gone (a dead mount:
/// statfs fails with ENOTCONN), saying so on stderr.  Returns whether it
/// did; a live mount is left for the "already mounted" check.
fn remove_dead(p: &Path) -> Result<bool, Failure> {
    let done = sagafs::daemon::guardian::detach_if_dead(p).map_err(Failure::mount)?;
    if done {
        eprintln!(
            "mount.sagafs: {} was a dead sagafs mount (its daemon had ended): detached it (umount -l)",
            p.display()
        );
    }
    Ok(done)
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

/// One line of mountinfo: mount point, file system type, source.
#[derive(Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
}

/// Parses one mountinfo line (proc(5)); `None` if malformed.
pub fn parse_line(line: &str) -> Option<MountEntry> {
    let (left, right) = line.split_once(" - ")?;
    let mount_point = left.split(' ').nth(4)?;
    let mut right = right.split(' ');
    let fstype = right.next()?;
    let source = right.next()?;
    Some(MountEntry {
        mount_point: PathBuf::from(unescape(mount_point)),
        fstype: unescape(fstype),
        source: unescape(source),
    })
}

/// True when mountinfo lists a sagafs mount on `dir`.
pub fn sagafs_mounted_at(mountinfo: &str, dir: &Path) -> bool {
    mountinfo
        .lines()
        .filter_map(parse_line)
        .any(|m| m.mount_point == dir && is_sagafs(&m))
}

fn is_sagafs(m: &MountEntry) -> bool {
    m.fstype == "fuse.sagafs" || (m.fstype.starts_with("fuse") && m.source == "sagafs")
}

/// Undoes the kernel's octal escapes (`\040` for a space and so on).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            let v = b[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
            if let Ok(byte) = u8::try_from(v) {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /sagafs rw,nosuid,nodev,noexec,relatime shared:20 - fuse.sagafs sagafs rw,user_id=0,group_id=0
41 22 0:36 / /mnt/with\\040space rw,relatime - fuse sagafs rw,user_id=0,group_id=0
42 22 0:37 / /run/other rw,relatime - fuse.sshfs host:/ rw
43 22 0:38 / /tmp rw shared:5 master:1 - tmpfs sagafs rw
";

    #[test]
    fn parses_lines() {
        let e = parse_line(INFO.lines().nth(2).unwrap()).unwrap();
        assert_eq!(
            e,
            MountEntry {
                mount_point: PathBuf::from("/mnt/with space"),
                fstype: "fuse".into(),
                source: "sagafs".into(),
            }
        );
        // Optional fields (shared:, master:) do not shift the split.
        let e = parse_line(INFO.lines().nth(4).unwrap()).unwrap();
        assert_eq!(e.fstype, "tmpfs");
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(parse_line("1 2 3 - x"), None);
    }

    #[test]
    fn finds_sagafs_mounts_only() {
        assert!(sagafs_mounted_at(INFO, Path::new("/sagafs")));
        assert!(sagafs_mounted_at(INFO, Path::new("/mnt/with space")));
        assert!(!sagafs_mounted_at(INFO, Path::new("/run/other")));
        assert!(!sagafs_mounted_at(INFO, Path::new("/tmp")));
        assert!(!sagafs_mounted_at(INFO, Path::new("/")));
        assert!(!sagafs_mounted_at(INFO, Path::new("/sagafs/log")));
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("a\\040b\\011c\\134d"), "a b\tc\\d");
        assert_eq!(unescape("trail\\04"), "trail\\04");
        assert_eq!(unescape("\\777"), "\\777");
    }

    /// Needs root and /dev/fuse, like the other FUSE tests.
    #[test]
    fn a_dead_sagafs_mount_is_detached() {
        use std::os::fd::AsRawFd;
        let dir = PathBuf::from(format!("/tmp/mount-sagafs-dead-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        {
            // Mounted, then its /dev/fuse descriptor closed: dead.
            let fuse = fs::OpenOptions::new()
                .read(true)
                .write(true)
                .open("/dev/fuse")
                .unwrap();
            let data = format!(
                "fd={},rootmode=40000,user_id=0,group_id=0",
                fuse.as_raw_fd()
            );
            nix::mount::mount(
                Some("sagafs"),
                &dir,
                Some("fuse.sagafs"),
                nix::mount::MsFlags::MS_NOSUID,
                Some(data.as_str()),
            )
            .unwrap();
        }
        let e = fs::metadata(&dir).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(Errno::ENOTCONN as i32));
        assert_eq!(check(&dir), Ok(dir.clone()));
        let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
        assert!(!sagafs_mounted_at(&info, &dir));
        fs::remove_dir(&dir).unwrap();
    }

    #[test]
    fn checks_the_directory() {
        let e = check(Path::new("/nonexistent/sagafs")).unwrap_err();
        assert_eq!(e.code, crate::failure::MOUNT_FAILURE);
        assert_eq!(
            e.message,
            "mount point /nonexistent/sagafs does not exist (create it: mkdir -p /nonexistent/sagafs)"
        );
        let e = check(Path::new("/proc/self/mountinfo")).unwrap_err();
        assert_eq!(
            e.message,
            "mount point /proc/self/mountinfo is not a directory (give a directory, e.g. /sagafs)"
        );
        assert_eq!(check(Path::new("/tmp/.")), Ok(PathBuf::from("/tmp")));
    }
}
