//! The mount point check against a real dead FUSE mount: needs root and
//! /dev/fuse (run by `make test` as root; `cargo test` leaves this target
//! out).

use std::fs;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use sagafs_mount::mountinfo;
use sagafs_mount::mountpoint::{check, detach_if_dead, Checked};

/// Mounts a sagafs-typed FUSE file system on `dir` and closes its
/// /dev/fuse descriptor: the mount is dead (ENOTCONN).
fn dead_mount(dir: &Path) {
    mount_fuse(dir);
    let e = fs::metadata(dir).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(Errno::ENOTCONN as i32));
}

/// Mounts on `dir` with a /dev/fuse descriptor that is closed on return.
fn mount_fuse(dir: &Path) {
    let fuse = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/fuse")
        .expect("open /dev/fuse (run as root, modprobe fuse)");
    let data = format!(
        "fd={},rootmode=40000,user_id=0,group_id=0",
        fuse.as_raw_fd()
    );
    nix::mount::mount(
        Some("sagafs"),
        dir,
        Some("fuse.sagafs"),
        nix::mount::MsFlags::MS_NOSUID,
        Some(data.as_str()),
    )
    .expect("mount (run as root)");
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = PathBuf::from(format!(
        "/tmp/sagafs-mountpoint-{tag}-{}",
        std::process::id()
    ));
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn mounted(dir: &Path) -> bool {
    mountinfo::sagafs_mounted_at(&mountinfo::read().unwrap(), dir)
}

#[test]
fn check_detaches_a_dead_sagafs_mount() {
    let dir = temp_dir("check");
    dead_mount(&dir);
    assert!(mounted(&dir));
    assert_eq!(
        check(&dir),
        Ok(Checked {
            path: dir.clone(),
            detached: Some(dir.clone())
        })
    );
    assert!(!mounted(&dir));
    fs::remove_dir(&dir).unwrap();
}

#[test]
fn detach_if_dead_detaches_once() {
    let dir = temp_dir("detach");
    dead_mount(&dir);
    assert_eq!(detach_if_dead(&dir), Ok(true));
    assert!(!mounted(&dir));
    assert_eq!(detach_if_dead(&dir), Ok(false));
    fs::remove_dir(&dir).unwrap();
}
