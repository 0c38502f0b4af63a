//! [`Error`]: a refused operation on the file tree as it travels up to
//! FUSE: the errno the caller's system call fails with, and the reason in
//! words that `errors` and the daemon's log show.

use std::fmt;

use nix::errno::Errno;

use crate::device::DeviceError;

/// See the module documentation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    errno: Errno,
    reason: Option<String>,
}

impl Error {
    /// An error with its reason, a message a person can act on.
    pub fn new(errno: Errno, reason: impl Into<String>) -> Error {
        Error {
            errno,
            reason: Some(reason.into()),
        }
    }

    /// The errno the system call fails with.
    pub fn errno(&self) -> Errno {
        self.errno
    }

    /// Why, when there is more to say than the errno.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// An errno that says it all (ENOENT, EACCES, ...).
impl From<Errno> for Error {
    fn from(errno: Errno) -> Error {
        Error {
            errno,
            reason: None,
        }
    }
}

impl From<DeviceError> for Error {
    fn from(e: DeviceError) -> Error {
        Error::new(e.errno(), e.to_string())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            Some(r) => write!(f, "{r} ({})", self.errno.desc()),
            None => f.write_str(self.errno.desc()),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_errno_and_reason() {
        let e = Error::new(Errno::EBUSY, "the rings are busy");
        assert_eq!(
            (e.errno(), e.reason()),
            (Errno::EBUSY, Some("the rings are busy"))
        );
        assert_eq!(
            e.to_string(),
            "the rings are busy (Device or resource busy)"
        );
        let e: Error = Errno::ENOENT.into();
        assert_eq!((e.errno(), e.reason()), (Errno::ENOENT, None));
        let e: Error = DeviceError::new(Errno::EPERM, "SET_CONFIG: permission denied").into();
        assert_eq!(e.errno(), Errno::EPERM);
        assert!(e.reason().unwrap().contains("permission denied"));
    }
}
