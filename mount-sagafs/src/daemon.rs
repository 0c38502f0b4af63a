//! Finding and starting the daemon.  The helper execs it, so the process
//! mount(8) waits for is the daemon's parent, which exits 0 only once the
//! mount is live and otherwise prints the daemon's own one-line error.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::failure::Failure;

pub const INSTALLED: &str = "/usr/sbin/sagafs";
/// PATH given to the daemon when mount(8) cleared it.
const SAFE_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";

/// The daemon next to this executable (dev builds, tests), else the
/// installed one.
pub fn find() -> Result<PathBuf, Failure> {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|d| d.join("sagafs")));
    candidates(beside.as_deref())
}

fn candidates(beside: Option<&Path>) -> Result<PathBuf, Failure> {
    if let Some(p) = beside.filter(|p| is_executable(p)) {
        return Ok(p.to_path_buf());
    }
    if is_executable(Path::new(INSTALLED)) {
        return Ok(PathBuf::from(INSTALLED));
    }
    Err(Failure::mount(format!(
        "daemon {INSTALLED} not found or not executable: install it (make install)"
    )))
}

fn is_executable(p: &Path) -> bool {
    fs::metadata(p)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// The daemon's command line: `-o OPTS` (left out when empty), then
/// SOURCE and the mount point.
pub fn command_line(options: &str, source: &OsString, dir: &Path) -> Vec<OsString> {
    let mut args = Vec::new();
    if !options.is_empty() {
        args.push(OsString::from("-o"));
        args.push(OsString::from(options));
    }
    args.push(source.clone());
    args.push(dir.as_os_str().to_owned());
    args
}

/// Replaces this process with the daemon; returns only on failure.
pub fn exec(daemon: &Path, args: &[OsString]) -> Failure {
    let mut cmd = Command::new(daemon);
    cmd.args(args);
    if std::env::var_os("PATH").unwrap_or_default().is_empty() {
        cmd.env("PATH", SAFE_PATH);
    }
    let e = cmd.exec();
    Failure::mount(format!("cannot run {}: {e}", daemon.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_layout() {
        let a = command_line("ro,retain=1M", &"sagafs".into(), Path::new("/sagafs"));
        assert_eq!(
            a,
            ["-o", "ro,retain=1M", "sagafs", "/sagafs"].map(OsString::from)
        );
        let a = command_line("", &"none".into(), Path::new("/mnt"));
        assert_eq!(a, ["none", "/mnt"].map(OsString::from));
    }

    #[test]
    fn prefers_the_daemon_beside_the_helper() {
        // /bin/sh is an executable regular file (via symlink) everywhere.
        let sh = fs::canonicalize("/bin/sh").unwrap();
        assert_eq!(candidates(Some(&sh)), Ok(sh));
        // Not executable: falls through to the installed path.
        let r = candidates(Some(Path::new("/etc/passwd")));
        if is_executable(Path::new(INSTALLED)) {
            assert_eq!(r, Ok(PathBuf::from(INSTALLED)));
        } else {
            assert_eq!(
                r.unwrap_err().message,
                "daemon /usr/sbin/sagafs not found or not executable: install it (make install)"
            );
        }
    }
}
