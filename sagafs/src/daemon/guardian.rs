//! The guardian: a small process that removes the daemon's mount when the
//! daemon dies without unmounting (SIGKILL, a crash), so that no dead
//! mount (ENOTCONN) stays behind.
//!
//! Once the mount is live the daemon's main thread starts its own binary
//! again as `sagafs [--daemon-child] --guardian PID MOUNTPOINT`.  The
//! guardian holds no descriptor of the daemon (everything the daemon opens
//! is close-on-exec: not the device, not /dev/fuse), asks for SIGTERM when
//! its parent dies (PR_SET_PDEATHSIG), re-checks its parent afterwards
//! (the parent may have died before the request), and waits.  When the
//! parent is gone it detaches (MNT_DETACH) the mount point only if it is
//! still a sagafs mount there and that mount is dead (statfs fails with
//! ENOTCONN); a live mount, e.g. a new daemon's, is left alone.  After a
//! clean unmount it finds nothing and exits quietly.  SIGTERM, SIGINT and
//! SIGHUP sent to it while the daemon lives (a terminal's Ctrl-C, systemd
//! stopping the unit) are ignored: it ends with the daemon.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};

use nix::errno::Errno;
use nix::mount::{umount2, MntFlags};
use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{getpid, getppid, Pid};

use super::logging;

/// The hidden command-line flag that runs the guardian.
pub const FLAG: &str = "--guardian";

/// A guardian request read from the command line.
#[derive(Debug, PartialEq, Eq)]
pub struct Request {
    pub parent: Pid,
    pub mountpoint: PathBuf,
    pub daemonized: bool,
}

/// Recognises `sagafs [--daemon-child] --guardian PID MOUNTPOINT`
/// (`args` without the program name); `None` for any other command line.
pub fn request(args: &[OsString]) -> Option<Request> {
    let (daemonized, rest) = match args.first() {
        Some(a) if a == "--daemon-child" => (true, &args[1..]),
        _ => (false, args),
    };
    match rest {
        [flag, pid, mp] if flag == FLAG => {
            let pid: i32 = pid.to_str()?.parse().ok()?;
            if pid <= 1 || !Path::new(mp).is_absolute() {
                return None;
            }
            Some(Request {
                parent: Pid::from_raw(pid),
                mountpoint: PathBuf::from(mp),
                daemonized,
            })
        }
        _ => None,
    }
}

/// Starts the guardian of `mountpoint` (canonical) for this process.
/// Call it from the thread that lives as long as the process (the main
/// thread): the kernel sends the parent-death signal when the thread that
/// started the child ends.
pub fn spawn(mountpoint: &Path, daemonized: bool) -> std::io::Result<Child> {
    let exe = std::env::current_exe()?;
    let mut cmd = Command::new(exe);
    if daemonized {
        cmd.arg("--daemon-child");
    }
    cmd.arg(FLAG)
        .arg(getpid().to_string())
        .arg(mountpoint)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
}

/// The guardian process.
pub fn run(req: &Request) -> ExitCode {
    logging::init(req.daemonized);
    let mut sigs = SigSet::empty();
    sigs.add(Signal::SIGTERM);
    sigs.add(Signal::SIGINT);
    sigs.add(Signal::SIGHUP);
    if let Err(e) = sigs.thread_block() {
        log::error!("guardian: cannot block signals: {e}");
        return ExitCode::from(1);
    }
    if let Err(e) = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM) {
        log::error!("guardian: cannot ask for the parent-death signal: {e}");
        return ExitCode::from(1);
    }
    // Checked after the request: a parent that died before it sent
    // nothing, but the guardian has been re-parented by then.
    while getppid() == req.parent {
        if let Err(e) = sigs.wait() {
            log::error!("guardian: waiting for signals failed: {e}");
            return ExitCode::from(1);
        }
    }
    match detach_if_dead(&req.mountpoint) {
        Ok(true) => {
            log::warn!(
                "the daemon (pid {}) ended without unmounting: detached the dead mount on {}",
                req.parent,
                req.mountpoint.display()
            );
            ExitCode::SUCCESS
        }
        Ok(false) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::from(1)
        }
    }
}

/// Detaches the sagafs mount on `mountpoint` (an absolute path with
/// symbolic links resolved) if it is dead.  Returns whether it did;
/// nothing happens when there is no sagafs mount there or when it is live.
pub fn detach_if_dead(mountpoint: &Path) -> Result<bool, String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| format!("cannot read /proc/self/mountinfo: {e}"))?;
    if !sagafs_mounted_at(&info, mountpoint) {
        return Ok(false);
    }
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

/// True when `mountinfo` (proc(5) format) lists a `fuse.sagafs` mount on
/// `dir`.
pub fn sagafs_mounted_at(mountinfo: &str, dir: &Path) -> bool {
    let target = escape(&dir.to_string_lossy());
    mountinfo.lines().any(|line| {
        let Some((left, right)) = line.split_once(" - ") else {
            return false;
        };
        left.split(' ').nth(4) == Some(target.as_str())
            && right.split(' ').next() == Some("fuse.sagafs")
    })
}

/// The kernel's octal escaping of mount points in mountinfo.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            ' ' => out.push_str("\\040"),
            '\t' => out.push_str("\\011"),
            '\n' => out.push_str("\\012"),
            '\\' => out.push_str("\\134"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    #[test]
    fn recognises_only_its_command_line() {
        assert_eq!(
            request(&os(&["--guardian", "42", "/sagafs"])),
            Some(Request {
                parent: Pid::from_raw(42),
                mountpoint: PathBuf::from("/sagafs"),
                daemonized: false
            })
        );
        let r = request(&os(&["--daemon-child", "--guardian", "42", "/a b"])).unwrap();
        assert!(r.daemonized);
        assert_eq!(r.mountpoint, PathBuf::from("/a b"));
        for bad in [
            &["--guardian", "x", "/m"][..],
            &["--guardian", "1", "/m"],
            &["--guardian", "42", "rel"],
            &["--guardian", "42"],
            &["--guardian", "42", "/m", "extra"],
            &["-f", "--guardian", "42", "/m"],
            &["/m"],
            &[],
        ] {
            assert_eq!(request(&os(bad)), None, "{bad:?}");
        }
    }

    #[test]
    fn finds_sagafs_mounts_in_mountinfo() {
        let info = "\
22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
40 22 0:35 / /sagafs rw,nosuid shared:20 master:3 - fuse.sagafs sagafs rw,user_id=0
41 22 0:36 / /mnt/with\\040space rw,relatime - fuse.sagafs sagafs rw
42 22 0:37 / /run/other rw,relatime - fuse.sshfs sagafs rw
";
        assert!(sagafs_mounted_at(info, Path::new("/sagafs")));
        assert!(sagafs_mounted_at(info, Path::new("/mnt/with space")));
        assert!(!sagafs_mounted_at(info, Path::new("/run/other")));
        assert!(!sagafs_mounted_at(info, Path::new("/")));
        assert!(!sagafs_mounted_at(info, Path::new("/sagafs/log")));
    }

    #[test]
    fn leaves_paths_without_a_sagafs_mount_alone() {
        assert_eq!(detach_if_dead(Path::new("/tmp")), Ok(false));
        assert_eq!(detach_if_dead(Path::new("/nonexistent/x")), Ok(false));
    }
}
