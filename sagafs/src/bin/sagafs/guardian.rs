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

use nix::sys::signal::{SigSet, Signal};
use nix::unistd::{getpid, getppid, Pid};
use sagafs_mount::mountpoint::detach_if_dead;

use crate::logging;

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
}
