//! The capture device: when it is missing, load the module with
//! `/sbin/modprobe sagafs` (PATH is cleared under mount(8)) and wait for
//! udev to create the node.

use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::failure::Failure;

pub const MODPROBE: &str = "/sbin/modprobe";
pub const MODULE: &str = "sagafs";
/// How long udev gets to create the node after the module loads.
const NODE_WAIT: Duration = Duration::from_secs(5);

/// Makes sure `device` exists, loading the module if needed.  With
/// `fake`, only checks that modprobe could load it (`modprobe -n`).
pub fn ensure_device(device: &Path, fake: bool, verbose: bool) -> Result<(), Failure> {
    if device.exists() {
        return Ok(());
    }
    let mut cmd = Command::new(MODPROBE);
    if fake {
        cmd.arg("-n");
    }
    cmd.arg(MODULE);
    if verbose {
        println!(
            "mount.sagafs: {} missing, running {MODPROBE}{} {MODULE}",
            device.display(),
            if fake { " -n" } else { "" }
        );
    }
    let out = cmd
        .output()
        .map_err(|e| Failure::mount(format!("cannot run {MODPROBE}: {e} (install kmod)")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(modprobe_failure(&stderr, &kernel_release()));
    }
    if fake {
        return Ok(());
    }
    let start = Instant::now();
    while !device.exists() {
        if start.elapsed() > NODE_WAIT {
            return Err(Failure::mount(format!(
                "module {MODULE} is loaded but {} did not appear (is udev running? see dmesg)",
                device.display()
            )));
        }
        sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// Turns modprobe's complaint into one line that says what to do.
pub fn modprobe_failure(stderr: &str, release: &str) -> Failure {
    if stderr.contains("not found in directory") {
        return Failure::mount(format!(
            "sagafs module not installed for kernel {release}: install it (make install, or the sagafs-dkms package)"
        ));
    }
    let first = stderr
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("no message");
    Failure::mount(format!("{MODPROBE} {MODULE} failed: {first} (see dmesg)"))
}

/// `uname -r`.
pub fn kernel_release() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_else(|_| "(unknown)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_installed_message() {
        let f = modprobe_failure(
            "modprobe: FATAL: Module sagafs not found in directory /lib/modules/6.1.0-56-amd64\n",
            "6.1.0-56-amd64",
        );
        assert_eq!(f.code, crate::failure::MOUNT_FAILURE);
        assert_eq!(
            f.message,
            "sagafs module not installed for kernel 6.1.0-56-amd64: install it (make install, or the sagafs-dkms package)"
        );
    }

    #[test]
    fn other_modprobe_errors_are_passed_on() {
        let f = modprobe_failure(
            "\nmodprobe: ERROR: could not insert 'sagafs': Exec format error\n",
            "6.1.0",
        );
        assert_eq!(
            f.message,
            "/sbin/modprobe sagafs failed: modprobe: ERROR: could not insert 'sagafs': Exec format error (see dmesg)"
        );
        assert_eq!(
            modprobe_failure("", "x").message,
            "/sbin/modprobe sagafs failed: no message (see dmesg)"
        );
    }

    #[test]
    fn existing_device_needs_nothing() {
        assert_eq!(ensure_device(Path::new("/dev/null"), false, false), Ok(()));
    }

    #[test]
    fn release_is_known() {
        let r = kernel_release();
        assert!(!r.is_empty() && r != "(unknown)");
    }
}
