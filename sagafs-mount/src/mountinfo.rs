//! The mount table as `/proc/self/mountinfo` shows it (proc(5)), and the
//! one rule for what counts as a sagafs mount: file system type
//! `fuse.sagafs`, or plain `fuse` with source `sagafs` (a FUSE mount
//! whose subtype was dropped).

use std::path::{Path, PathBuf};

/// Where the mount table is read from.
pub const PATH: &str = "/proc/self/mountinfo";

/// One line of mountinfo: mount point, file system type, source.
#[derive(Debug, PartialEq, Eq)]
pub struct MountEntry {
    pub mount_point: PathBuf,
    pub fstype: String,
    pub source: String,
}

impl MountEntry {
    /// Whether this is a sagafs mount (see the module documentation).
    pub fn is_sagafs(&self) -> bool {
        self.fstype == "fuse.sagafs" || (self.fstype == "fuse" && self.source == "sagafs")
    }
}

/// Reads this process's mount table.
pub fn read() -> Result<String, String> {
    std::fs::read_to_string(PATH).map_err(|e| format!("cannot read {PATH}: {e}"))
}

/// Parses one mountinfo line; `None` if malformed.  The optional fields
/// (`shared:N`, `master:N`) end at the ` - ` separator.
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

/// True when `mountinfo` lists a sagafs mount on `dir` (an absolute path
/// with symbolic links resolved).
pub fn sagafs_mounted_at(mountinfo: &str, dir: &Path) -> bool {
    mountinfo
        .lines()
        .filter_map(parse_line)
        .any(|m| m.mount_point == dir && m.is_sagafs())
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
40 22 0:35 / /sagafs rw,nosuid,nodev,noexec,relatime shared:20 master:3 - fuse.sagafs sagafs rw,user_id=0,group_id=0
41 22 0:36 / /mnt/with\\040space rw,relatime - fuse sagafs rw,user_id=0,group_id=0
42 22 0:37 / /run/other rw,relatime - fuse.sshfs host:/ rw
43 22 0:38 / /tmp rw shared:5 master:1 - tmpfs sagafs rw
44 22 0:39 / /run/named rw,relatime - fuse.sshfs sagafs rw
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
        // Another FUSE file system whose source happens to be "sagafs".
        assert!(!sagafs_mounted_at(INFO, Path::new("/run/named")));
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

    #[test]
    fn reads_this_process_table() {
        let info = read().unwrap();
        assert!(info
            .lines()
            .filter_map(parse_line)
            .any(|m| m.mount_point == Path::new("/")));
    }
}
