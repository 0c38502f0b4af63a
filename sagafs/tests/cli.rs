//! The `sagafs` binary's command line and start-up errors that the host
//! can produce without the kernel module: each is one line on stderr and
//! exit status 1, in the foreground and when daemonized (the daemon's
//! copy relays its error to the waiting parent), and nothing is mounted.

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let o = Command::new(env!("CARGO_BIN_EXE_sagafs"))
        .args(args)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn binary_start_errors_are_one_clear_line() {
    let dir = format!("/tmp/sagafs-test-{}-bin", std::process::id());
    std::fs::create_dir_all(&dir).unwrap();
    let nodev = "dev=/nonexistent/sagafs,backend=module";
    // Device missing, in the foreground and daemonized (relayed).
    for fg in [true, false] {
        let mut a = vec!["-o", nodev, "sagafs", dir.as_str()];
        if fg {
            a.insert(0, "-f");
        }
        let (code, err) = run(&a);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains("not found") && err.contains("modprobe sagafs"),
            "{err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let (code, err) = run(&["-o", "colour=blue", &dir]);
    assert_eq!(code, 1);
    assert!(err.contains("unknown mount option 'colour'"), "{err}");
    let (code, err) = run(&["-o", "retain=12Q", &dir]);
    assert_eq!(code, 1);
    assert!(err.contains("retain=12Q"), "{err}");
    let (code, err) = run(&["/nonexistent/mnt"]);
    assert_eq!(code, 1);
    assert!(err.contains("does not exist"), "{err}");
    let (code, err) = run(&[]);
    assert_eq!(code, 1);
    assert!(err.to_lowercase().contains("usage"), "{err}");
    let (code, _) = run(&["--help"]);
    assert_eq!(code, 0);
    // Nothing was mounted on any path.
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap();
    assert!(!mounts.contains(&dir));
    std::fs::remove_dir(&dir).unwrap();
}
