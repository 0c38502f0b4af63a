//! The one-line failure a step reports, with mount(8)'s exit code.

use std::fmt;

/// mount(8) exit code: incorrect invocation or permissions.
pub const USAGE: i32 = 1;
/// mount(8) exit code: mount failure.
pub const MOUNT_FAILURE: i32 = 32;

/// A failed step: the exit code and the message (without the
/// `mount.sagafs: ` prefix, which `main` adds).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: i32,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    pub fn mount(message: impl Into<String>) -> Self {
        Failure {
            code: MOUNT_FAILURE,
            message: message.into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // One line, whatever the message carries.
        f.write_str(&self.message.replace('\n', " "))
    }
}

/// Fails unless the effective user is root.
pub fn check_root(euid: u32) -> Result<(), Failure> {
    if euid == 0 {
        Ok(())
    } else {
        Err(Failure::usage("must be run as root (try: sudo mount ...)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_check() {
        assert_eq!(check_root(0), Ok(()));
        let e = check_root(1000).unwrap_err();
        assert_eq!(e.code, USAGE);
        assert_eq!(e.to_string(), "must be run as root (try: sudo mount ...)");
    }

    #[test]
    fn display_is_one_line() {
        assert_eq!(Failure::mount("a\nb").to_string(), "a b");
    }
}
