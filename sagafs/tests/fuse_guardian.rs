//! The guardian (`sagafs --guardian PID MOUNTPOINT`) on the host, as root
//! with /dev/fuse: when its parent dies it detaches a dead sagafs mount,
//! and leaves a live sagafs mount alone.

use std::fs::OpenOptions;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::mount::MsFlags;
use sagafs_mount::mountinfo::sagafs_mounted_at;

const BIN: &str = env!("CARGO_BIN_EXE_sagafs");

fn temp_dir(tag: &str) -> PathBuf {
    let d = PathBuf::from(format!("/tmp/sagafs-guardian-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.canonicalize().unwrap()
}

fn is_sagafs_mount(dir: &Path) -> bool {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    sagafs_mounted_at(&info, dir)
}

/// Runs a guardian of `mp` under a `sh` that exits after 0.3 s; returns
/// the guardian's pid once it has ended.
fn guardian_outlives_its_parent(mp: &Path, err: &Path) -> i32 {
    let out = Command::new("sh")
        .arg("-c")
        .arg(r#""$0" --guardian $$ "$1" 2>"$2" & echo $!; sleep 0.3"#)
        .arg(BIN)
        .arg(mp)
        .arg(err)
        .output()
        .unwrap();
    assert!(out.status.success());
    let pid: i32 = String::from_utf8(out.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let t = Instant::now();
    loop {
        let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let ended = state.is_empty() || state.rsplit(") ").next().unwrap().starts_with('Z');
        if ended {
            return pid;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "guardian {pid} still runs"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_dead_mount_is_detached_when_the_parent_dies() {
    let mp = temp_dir("dead");
    // A sagafs mount whose /dev/fuse descriptor is closed: dead (ENOTCONN).
    {
        let fuse = OpenOptions::new()
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
            &mp,
            Some("fuse.sagafs"),
            MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
            Some(data.as_str()),
        )
        .unwrap();
    }
    assert!(is_sagafs_mount(&mp));
    let e = std::fs::metadata(&mp).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc_enotconn()), "{e}");
    let err = mp.with_extension("err");
    guardian_outlives_its_parent(&mp, &err);
    assert!(!is_sagafs_mount(&mp), "the dead mount is still there");
    assert!(std::fs::metadata(&mp).unwrap().is_dir());
    let said = std::fs::read_to_string(&err).unwrap();
    assert!(said.contains("detached the dead mount on"), "{said}");
    std::fs::remove_dir(&mp).unwrap();
    std::fs::remove_file(&err).unwrap();
}

fn libc_enotconn() -> i32 {
    nix::errno::Errno::ENOTCONN as i32
}

#[test]
fn a_live_mount_and_a_clean_path_are_left_alone() {
    let mp = temp_dir("live");
    let err = mp.with_extension("err");
    // Nothing mounted: the guardian exits quietly.
    guardian_outlives_its_parent(&mp, &err);
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "");

    let dev = sagafs::device::double::DeviceDouble::new(1, 32);
    let opts = sagafs_mount::options::parse("").unwrap();
    let mut m = sagafs::mount::mount(Arc::new(dev), &opts, &mp).unwrap();
    let mut unmounter = m.unmounter();
    let served = std::thread::spawn(move || m.run());
    assert!(is_sagafs_mount(&mp));
    guardian_outlives_its_parent(&mp, &err);
    assert!(is_sagafs_mount(&mp), "a live mount was detached");
    assert!(std::fs::read_dir(&mp).unwrap().count() > 0);
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "");
    unmounter.unmount().unwrap();
    served.join().unwrap().unwrap();
    std::fs::remove_dir(&mp).unwrap();
    std::fs::remove_file(&err).unwrap();
}
