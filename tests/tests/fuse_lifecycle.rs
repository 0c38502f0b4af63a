//! Host FUSE tests of the mount's life: how it shows in the mount table,
//! that `umount` and `fusermount3 -u` end the daemon cleanly, and that a
//! second consumer or a second mount on the same place is refused.
//! (The binary's start-up errors are tested in sagafs/tests/cli.rs.)

mod fuse_support;

use std::path::PathBuf;

use fuse_support::mount;
use sagafs::abi;
use sagafs::device::Backend;

#[test]
fn mount_shows_as_fuse_sagafs_with_safe_flags() {
    let m = mount("");
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    let d = m.dir.to_string_lossy().into_owned();
    let line = mounts
        .lines()
        .find(|l| l.split(' ').nth(1) == Some(d.as_str()))
        .expect("mounted");
    let f: Vec<&str> = line.split(' ').collect();
    assert_eq!(f[0], "sagafs");
    assert_eq!(f[2], "fuse.sagafs");
    for o in ["nodev", "nosuid", "noexec"] {
        assert!(f[3].split(',').any(|x| x == o), "{line}");
    }
}

#[test]
fn umount_ends_the_daemon_and_turns_capture_off() {
    let mut m = mount("");
    m.inject(1, b"/x");
    let cmd = format!("umount {}", m.dir.display());
    m.unmount_with(&cmd).unwrap();
    assert!(!m.is_mounted());
    assert_eq!(m.dev.config().unwrap().flags & abi::CFG_ENABLED, 0);
    // The rings are free for the next consumer.
    assert_eq!(m.dev.consumer_pid(), 0);
}

#[test]
fn fusermount_u_ends_the_daemon() {
    let mut m = mount("");
    let cmd = format!("fusermount3 -u {}", m.dir.display());
    m.unmount_with(&cmd).unwrap();
    assert!(!m.is_mounted());
}

#[test]
fn a_second_mount_on_the_same_device_is_refused_by_name() {
    let m = mount("");
    let dir2 = PathBuf::from(format!("/tmp/sagafs-test-{}-second", std::process::id()));
    std::fs::create_dir_all(&dir2).unwrap();
    let o = sagafs_mount::options::parse("").unwrap();
    let backend: std::sync::Arc<dyn Backend> = std::sync::Arc::new(m.dev.clone());
    let e = sagafs::mount::mount(backend, &o, &dir2).err().unwrap();
    assert!(
        e.contains("busy") && e.contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    let e = sagafs::mount::mount(
        std::sync::Arc::new(sagafs::device::double::DeviceDouble::new(1, 32)),
        &o,
        &m.dir,
    )
    .err()
    .unwrap();
    assert!(e.contains("sagafs is already mounted on"), "{e}");
    std::fs::remove_dir(&dir2).unwrap();
}
