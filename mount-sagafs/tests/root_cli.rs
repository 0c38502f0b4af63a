//! mount.sagafs as mount(8) runs it, as root: the daemon it execs and
//! with what, its checks (options, mount point, module, namespace, config
//! file) and their one-line errors, and a second mount refused over a
//! real FUSE mount (/dev/fuse).  `make test` runs this target as root; a
//! plain `cargo test` leaves it out.

mod bed;

use std::fs;
use std::os::unix::process::CommandExt;
use std::process::Command;

use bed::{expect, output, stderr, stdout, Bed, RECORD};

#[test]
fn execs_the_daemon_with_canonical_options() {
    let bed = Bed::new("exec", RECORD);
    let mnt = bed.mnt();
    let o = bed.mount(&["-o", "nofail,retain=65536K,ro,dev=/dev/null,_netdev"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    let args = fs::read_to_string(bed.dir.join("args")).unwrap();
    assert_eq!(
        args,
        format!(
            "-o\nro,retain=64M,dev=/dev/null\nsagafs\n{mnt}\nPATH=/usr/sbin:/usr/bin:/sbin:/bin\n"
        )
    );
}

#[test]
fn no_options_means_no_dash_o() {
    let bed = Bed::new("noopt", RECORD);
    // The default device is absent on the host: give one that exists.
    let mnt = bed.mnt();
    let o = bed.run(&[
        "none",
        &format!("{mnt}/."),
        "-n",
        "-o",
        "dev=/dev/null,nofail",
        "-v",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let args = fs::read_to_string(bed.dir.join("args")).unwrap();
    assert_eq!(
        args.lines().take(4).collect::<Vec<_>>(),
        ["-o", "dev=/dev/null", "none", mnt.as_str()]
    );
    assert_eq!(
        stdout(&o),
        format!(
            "mount.sagafs: running {}/sagafs -o dev=/dev/null none {mnt}\n",
            bed.dir.display()
        )
    );
}

#[test]
fn daemon_failure_reaches_the_user() {
    let bed = Bed::new("busy", "echo 'sagafs: /dev/null is busy: another sagafs daemon (pid 42) is reading it' >&2; exit 1");
    let o = bed.mount(&["-o", "dev=/dev/null"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stderr(&o),
        "sagafs: /dev/null is busy: another sagafs daemon (pid 42) is reading it\n"
    );
}

#[test]
fn fake_mount_checks_and_runs_nothing() {
    let bed = Bed::new("fake", RECORD);
    let mnt = bed.mnt();
    let o = bed.mount(&["-f", "-v", "-o", "dev=/dev/null,gid=0"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "mount.sagafs: would run {}/sagafs -o gid=0,dev=/dev/null sagafs {mnt}\n",
            bed.dir.display()
        )
    );
    assert!(!bed.dir.join("args").exists());
}

#[test]
fn sloppy_skips_unknown_options() {
    let bed = Bed::new("sloppy", RECORD);
    let mnt = bed.mnt();
    let o = bed.mount(&["-o", "foo,dev=/dev/null,bar=2", "-f", "-s", "-v"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!(
            "mount.sagafs: ignoring unknown option 'foo' (-s)\n\
             mount.sagafs: ignoring unknown option 'bar=2' (-s)\n\
             mount.sagafs: would run {}/sagafs -o dev=/dev/null sagafs {mnt}\n",
            bed.dir.display()
        )
    );
    let o = bed.mount(&["-o", "foo,dev=/dev/null", "-f"]);
    expect(&o, 1, "unknown mount option 'foo'");
    let o = bed.mount(&["-s", "-o", "foo,retain=12Q"]);
    expect(&o, 1, "retain=12Q: bad size, use e.g. 64M");
}

#[test]
fn must_be_root() {
    let bed = Bed::new("root", RECORD);
    let o = output(bed.helper().uid(65534).gid(65534).args([
        "sagafs",
        &bed.mnt(),
        "-o",
        "dev=/dev/null",
    ]));
    expect(&o, 1, "must be run as root (try: sudo mount ...)");
    assert!(!bed.dir.join("args").exists());
}

#[test]
fn bad_mount_points_exit_32() {
    let bed = Bed::new("mnt", RECORD);
    let missing = bed.dir.join("nope").display().to_string();
    expect(
        &bed.run(&["sagafs", &missing, "-o", "dev=/dev/null"]),
        32,
        &format!("mount point {missing} does not exist (create it: mkdir -p {missing})"),
    );
    let file = bed.dir.join("sagafs").display().to_string();
    expect(
        &bed.run(&["sagafs", &file, "-o", "dev=/dev/null"]),
        32,
        &format!("mount point {file} is not a directory (give a directory, e.g. /sagafs)"),
    );
    assert!(!bed.dir.join("args").exists());
}

/// A real FUSE mount of type fuse.sagafs on the host (root, /dev/fuse).
struct Empty;
impl fuser::Filesystem for Empty {}

#[test]
fn refuses_a_second_mount() {
    let bed = Bed::new("twice", RECORD);
    let mnt = bed.mnt();
    let mut config = fuser::Config::default();
    config.mount_options = vec![
        fuser::MountOption::FSName("sagafs".into()),
        fuser::MountOption::CUSTOM("subtype=sagafs".into()),
    ];
    let session =
        fuser::spawn_mount(Empty, &mnt, &config).expect("FUSE mount (needs root and /dev/fuse)");
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(info.contains(&format!(" {mnt} ")), "{info}");
    let o = bed.mount(&["-o", "dev=/dev/null"]);
    drop(session);
    expect(
        &o,
        32,
        &format!("sagafs is already mounted on {mnt} (unmount it first: umount {mnt})"),
    );
    assert!(!bed.dir.join("args").exists());
}

#[test]
fn missing_module_is_explained() {
    let bed = Bed::new("module", RECORD);
    // What modprobe itself says decides the expectation.
    let probe = Command::new("/sbin/modprobe")
        .args(["-n", "sagafs"])
        .output()
        .unwrap();
    let o = bed.mount(&["-f", "-o", "dev=/nonexistent/sagafs"]);
    if probe.status.success() {
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    } else if stderr(&probe).contains("not found in directory") {
        let release =
            String::from_utf8(Command::new("uname").arg("-r").output().unwrap().stdout).unwrap();
        expect(
            &o,
            32,
            &format!(
                "sagafs module not installed for kernel {}: install it (make install, or the sagafs-dkms package)",
                release.trim()
            ),
        );
    } else {
        assert_eq!(o.status.code(), Some(32));
        assert!(stderr(&o).starts_with("mount.sagafs: /sbin/modprobe sagafs failed: "));
    }
}

#[test]
fn mount_namespace_option() {
    let bed = Bed::new("ns", RECORD);
    let o = bed.mount(&["-f", "-v", "-N", "/proc/self/ns/mnt", "-o", "dev=/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("mount.sagafs: entered mount namespace /proc/self/ns/mnt\n"));
    let pid = std::process::id().to_string();
    let o = bed.mount(&["-f", &format!("-N{pid}"), "-o", "dev=/dev/null"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    expect(
        &bed.mount(&["-N", "/nonexistent/ns"]),
        32,
        "cannot open mount namespace /nonexistent/ns: No such file or directory (os error 2)",
    );
}

#[test]
fn config_file_is_checked() {
    let bed = Bed::new("config", RECORD);
    let conf = bed.dir.join("sagafs.conf");
    fs::write(&conf, "exclude = open,openat\n").unwrap();
    let o = bed.mount(&[
        "-f",
        "-o",
        &format!("dev=/dev/null,config={}", conf.display()),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    expect(
        &bed.mount(&["-o", "config=/nonexistent.conf,dev=/dev/null"]),
        1,
        "config=/nonexistent.conf: cannot open: No such file or directory (os error 2)",
    );
}
